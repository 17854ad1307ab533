"""``ccspend run``'s front end: read its options and the agent's command, then run it.

The wrapper's start is time the agent waits, so run's options are read with
the standard library here, by the spec of ``ccspend.cli.options`` (``RUN``).
This is run's only parser: the console entry sends ``run`` here, and the typer
command of the same name hands its argv here too (it serves ``--help`` and
completions, declared from the same spec). The run itself is ``ccspend.run.execute``.
"""

from __future__ import annotations

import sys

from ccspend.cli import options
from ccspend.cli.exits import say
from ccspend.core.errors import CcspendError, UsageError
from ccspend.run.execute import Ledger, RunOptions, execute

OPTIONS = options.by_name(options.RUN)  # each spelling of run's options, to its spec


HELP = ("--help", "-h")


def asks_help(args: list[str]) -> bool:
    """``--help`` (or ``-h``) among run's own options (before the command): typer prints
    the help."""
    takes_value = False
    for arg in args:
        if takes_value:  # the value of the option before, whatever it looks like
            takes_value = False
            continue
        if arg in HELP:
            return True
        if arg == "--" or not arg.startswith("-") or arg == "-":
            return False
        o = OPTIONS.get(arg)
        takes_value = o is not None and o["kind"] != options.FLAG
    return False


def parse(args: list[str]) -> RunOptions:
    """``run``'s options, then the command (after ``--``, or from the first non-option)."""
    values, argv = options.parse(options.RUN, args, "run", UsageError, positional="rest",
                                 hint=options.RUN_HINT)  # fmt: skip
    if not argv:
        raise UsageError("give the command after --, e.g. ccspend run --cap 2 -- claude -p '...'")
    return RunOptions(argv=argv, **values)


def main(args: list[str]) -> int:
    """``ccspend run …`` from the console entry: one-line errors, exit codes as documented.

    The run is journaled as soon as its options are read: from then on a killed
    wrapper still leaves its row (``interrupted``).
    """
    try:
        opts = parse(args)
        return execute(opts, sys.stdout, sys.stderr, Ledger.open(opts, sys.stderr))
    except (CcspendError, KeyboardInterrupt) as exc:  # an interrupt before the agent
        return say(exc)  # started leaves the journal, as interrupted
