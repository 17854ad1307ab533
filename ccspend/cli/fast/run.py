"""``ccspend run``'s front end: read its options and the agent's command, then run it.

The wrapper's start is time the agent waits, so run's options are read with
the standard library here (the console entry sends ``run`` here; the typer
command of the same name serves ``--help`` and completions, and builds its
options from the same ``OPTIONS``). The run itself is ``ccspend.run.execute``.
"""

from __future__ import annotations

from ccspend.cli.exits import say
from ccspend.core.errors import CcspendError, UsageError
from ccspend.run.execute import Ledger, RunOptions, execute

# option -> (attribute, kind); kind: 'usd', 'int', 'float', 'str', 'levels', 'flag', 'path+'
OPTIONS: dict[str, tuple[str, str]] = {
    "--cap": ("cap", "usd"),
    "--cap-tokens": ("cap_tokens", "int"),
    "--task": ("task", "str"),
    "--warn": ("warn", "levels"),
    "--grace": ("grace", "float"),
    "--force": ("force", "flag"),
    "--prompt-file": ("prompt_file", "str"),
    "--max-requests-per-minute": ("max_rpm", "int"),
    "--max-usd-per-hour": ("max_usd_per_hour", "usd"),
    "--route": ("route", "str"),
    "--json": ("json", "flag"),
    "--db": ("db", "str"),
    "--claude-dir": ("claude_dirs", "path+"),
}


def option_value(opt: str, kind: str, raw: str):
    try:
        if kind == "usd":
            v = float(raw.lstrip("$"))
            if not v > 0:
                raise ValueError
            return v
        if kind == "int":
            v = int(raw)
            if v <= 0:
                raise ValueError
            return v
        if kind == "float":
            v = float(raw)
            if v < 0:
                raise ValueError
            return v
        if kind == "levels":
            v = tuple(sorted({int(x) for x in raw.split(",") if x.strip()}))
            if not all(0 < x < 100 for x in v):
                raise ValueError
            return v
    except ValueError:
        what = {
            "usd": "a positive amount of dollars", "int": "a positive whole number",
            "float": "a number of seconds", "levels": "percentages, e.g. 50,80",
        }[kind]  # fmt: skip
        raise UsageError(f"{opt} takes {what}, not {raw!r}") from None
    return raw


def parse(args: list[str]) -> RunOptions:
    """``run``'s options, then the command (after ``--``, or from the first non-option)."""
    opts = RunOptions()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            opts.argv = args[i + 1 :]
            break
        if not arg.startswith("-") or arg == "-":
            opts.argv = args[i:]
            break
        name, eq, inline = arg.partition("=")
        if name not in OPTIONS:
            raise UsageError(f"no such option for run: {name}",
                             hint="put the agent's own options after --")  # fmt: skip
        attr, kind = OPTIONS[name]
        if kind == "flag":
            if eq:
                raise UsageError(f"{name} takes no value")
            setattr(opts, attr, True)
            i += 1
            continue
        if eq:
            raw = inline
            i += 1
        else:
            if i + 1 >= len(args):
                raise UsageError(f"{name} needs a value")
            raw = args[i + 1]
            i += 2
        if kind == "path+":
            opts.claude_dirs.append(raw)
        else:
            setattr(opts, attr, option_value(name, kind, raw))
    if not opts.argv:
        raise UsageError("give the command after --, e.g. ccspend run --cap 2 -- claude -p '...'")
    return opts


def main(args: list[str]) -> int:
    """``ccspend run …`` from the console entry: one-line errors, exit codes as documented.

    The run is journaled as soon as its options are read: from then on a killed
    wrapper still leaves its row (``interrupted``).
    """
    try:
        opts = parse(args)
        return execute(opts, Ledger.open(opts))
    except (CcspendError, KeyboardInterrupt) as exc:  # an interrupt before the agent
        return say(exc)  # started leaves the journal, as interrupted
