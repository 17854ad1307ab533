"""The console entry point: a cached answer if one is still right, else the full CLI.

Kept to the standard library so that a repeated report never pays for
importing DuckDB, typer or rich (see ``ccspend.fastpath``).
"""

import sys


def main() -> None:
    from ccspend.fastpath import serve

    try:
        if serve(sys.argv[1:]):
            return
    except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
        pass
    from ccspend.cli import main as cli_main

    cli_main()
