"""The command line: parse options, call one library function, hand rows to the output layer.

``app`` and ``main`` (the typer program, ``cli.program``) load on first use:
the output layer (``cli.render``, ``cli.consoles``: rich, never typer) serves
reports run without typer too (``ccspend.cli.fast.reports``), and importing it must
not build the command tree.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name in ("app", "main"):
        from ccspend.cli import program

        return getattr(program, name)
    raise AttributeError(f"module 'ccspend.cli' has no attribute {name!r}")
