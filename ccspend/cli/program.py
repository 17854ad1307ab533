"""The typer program: every command registered on the app, and ``main``.

stdout is data (tables, JSON); stderr is talk (progress, warnings, errors).
Exit codes are an API (see the README): 0 ok, 1 error, 2 usage, 3 store busy
or too new, 130 interrupted.

One module per group of commands, all registered on the app in ``cli.common``:
``report_cmds`` (reports and the HTML page), ``live_cmds`` (blocks, watch,
status line), ``cap_cmds`` (interactive caps as hooks), ``data_cmds`` (sql, import, export),
``settings_cmds`` (budgets,
config, rates, completions).
"""

from __future__ import annotations

import importlib
import sys

import typer

from ccspend.cli.common import app
from ccspend.cli.exits import say
from ccspend.core.errors import ExitCode

# Importing a module registers its commands; this order is ``ccspend --help``'s.
for _module in ("report_cmds", "live_cmds", "route_cmds", "cap_cmds", "data_cmds",
                "settings_cmds"):
    importlib.import_module(f"ccspend.cli.{_module}")

__all__ = ["app", "main"]


def main(args: list[str] | None = None, command=None) -> None:
    """Console entry point: every ccspend error becomes one line and an exit code.

    ``args`` (default: the command line) and ``command`` (the app's click
    command, which typer otherwise builds anew on each call: the tests build it
    once and run many commands in one process).
    """
    try:
        # standalone_mode=False: returns typer.Exit's code instead of raising
        code = (command or app)(args, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - the last line of defence
        _unexpected(exc)


def _unexpected(exc: BaseException) -> None:
    if isinstance(exc, typer.Exit):
        sys.exit(exc.exit_code)
    if isinstance(exc, typer.Abort):
        sys.stderr.write("ccspend: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    if isinstance(exc, typer.TyperException) and hasattr(exc, "format_message"):
        from ccspend.core.text import inert

        sys.stderr.write(f"ccspend: error: {inert(exc.format_message())} (see ccspend --help)\n")
        sys.exit(int(ExitCode.USAGE))
    sys.exit(say(exc))
