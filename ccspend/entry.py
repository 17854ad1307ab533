"""The console entry point: a cached answer if one is still right, else the full CLI.

Kept to the standard library so that a repeated report never pays for
importing DuckDB, typer or rich (see ``ccspend.fastpath``).
"""

import sys


def main() -> None:
    args = sys.argv[1:]
    if args == ["statusline"]:  # every keystroke: never import the heavy CLI
        from ccspend.statusline import run

        sys.exit(run())
    if args == ["cap", "hook"]:  # every tool call of a capped session: stdlib only
        from ccspend.cap_hook import run as hook

        sys.exit(hook())
    if args[:1] == ["route"] and "--help" not in args:  # answers in well under 150 ms
        from ccspend.route_main import main as route_main

        sys.exit(route_main(args[1:]))
    if args[:1] == ["run"] and not _asks_help(args[1:]):  # the agent waits for our start
        from ccspend.run_main import main as run_main

        sys.exit(run_main(args[1:]))
    from ccspend.fastpath import serve

    try:
        if serve(args):
            return
    except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
        pass
    from ccspend.cli import main as cli_main

    cli_main()


def _asks_help(args: list[str]) -> bool:
    """``--help`` among run's own options (before the command): the full CLI answers."""
    for arg in args:
        if arg == "--help":
            return True
        if arg == "--" or not arg.startswith("-"):
            return False
    return False
