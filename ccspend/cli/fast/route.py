"""``ccspend route``'s front end: read the task, print the tier, why, and each tier's cost.

Standard library only: the console entry sends ``route`` here, and it answers
in well under 150 ms. Its options are read by the spec of ``ccspend.cli.options``
(``ROUTE``); this is route's only parser: the typer command of the same name
hands its argv here too, and serves ``--help`` and completions. The decision
is ``ccspend.route.decide``'s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ccspend.cli import options
from ccspend.core.errors import UsageError
from ccspend.pricing.today import today_prices
from ccspend.route.decide import DEFAULT_OUTPUT_TOKENS, decide, tier_costs

OPTIONS = options.by_name(options.ROUTE)  # each spelling of route's options, to its spec
FLAGS = {name for name, o in OPTIONS.items() if o["kind"] == options.FLAG}


def is_review(args: list[str]) -> bool:
    """``route review [OPTIONS]``; a task that starts with the word "review" still routes
    (``ccspend route review the auth PR``)."""
    return args[:1] == ["review"] and (len(args) == 1 or args[1].startswith("-"))


def asks_help(args: list[str]) -> bool:
    """``--help`` or ``-h`` anywhere, as a word of its own (route's words and options mix;
    a task is never just "-h"): typer prints route's help.
    ``route review --help`` is the review's own."""
    return any(a in ("--help", "-h") for a in args) and not is_review(args)


def parse(args: list[str]) -> dict:
    """Route's options by their dests, and the task's words (``"words"``)."""
    opts, words = options.parse(options.ROUTE, args, "route", UsageError, positional="words")
    opts["words"] = words
    return opts


def task_text(opts: dict, stdin) -> str:
    if opts["task_file"]:
        try:
            return Path(opts["task_file"]).read_text("utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"--task-file {opts['task_file']}: {exc.strerror}") from None
    if opts["words"]:
        return " ".join(opts["words"])
    if stdin is not None and not stdin.isatty():
        return stdin.read()
    raise UsageError("describe the task: ccspend route \"rename this function across 200 files\"")


def main(args: list[str], stdin=None, stdout=None) -> int:
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    if is_review(args):  # `ccspend route review [--since 7d] …`
        from ccspend.cli.route_review_cmds import review_main

        return review_main(args[1:])
    try:
        if args[:1] == ["policy"]:
            from ccspend.route import load_policy, render_policy

            stdout.write(render_policy(load_policy()))
            return 0
        opts = parse(args)
        text = task_text(opts, stdin)
        if not text.strip():
            raise UsageError("the task is empty: describe it in words, --task-file or stdin")
        d, policy, summary, tokens, how = decide(text, opts)
        costs = tier_costs(policy, today_prices(), tokens, DEFAULT_OUTPUT_TOKENS)
        if opts["json"]:
            out = {**d.to_dict(), "input_tokens": tokens, "input_tokens_method": how,
                   "output_tokens_assumed": DEFAULT_OUTPUT_TOKENS, "costs": costs,
                   "policy": str(policy.source)}  # fmt: skip
            stdout.write(json.dumps(out, indent=2, default=str) + "\n")
            return 0
        stdout.write(f"{d.tier}: {d.model}  (cap ${d.cap_usd:.2f} per run)\n")
        for r in d.reasons:
            stdout.write(f"  - {r}\n")
        if opts["explain"]:
            stdout.write(d.explain().rstrip("\n") + "\n")
        stdout.write(f"cost of one request at each tier ({tokens:,} input tokens, {how}; "
                     f"{DEFAULT_OUTPUT_TOKENS:,} output tokens assumed):\n")  # fmt: skip
        for c in costs:
            mark = "  <-" if c["tier"] == d.tier else ""
            usd = "unpriced" if c["estimated_usd"] is None else f"${c['estimated_usd']:.4f}"
            stdout.write(f"  {c['tier']:<9} {c['model']:<10} {usd}{mark}\n")
        return 0
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one line, as the CLI's
        from ccspend.cli.exits import say

        return say(exc)
