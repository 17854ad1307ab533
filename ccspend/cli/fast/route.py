"""``ccspend route``'s front end: read the task, print the tier, why, and each tier's cost.

Standard library only: the console entry sends ``route`` here, and it answers
in well under 150 ms. The decision is ``ccspend.route.decide``'s; the typer
command of the same name serves ``--help`` and completions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ccspend.core.errors import UsageError
from ccspend.pricing.today import today_prices
from ccspend.route.decide import DEFAULT_OUTPUT_TOKENS, decide, tier_costs

OPTIONS = {"--stakes": "stakes", "--type": "task_type", "--context-tokens": "context_tokens",
           "--task-file": "task_file", "--json": "json", "--explain": "explain",
           "--estimate": "estimate"}  # fmt: skip
FLAGS = {"--json", "--explain", "--estimate"}


def parse(args: list[str]) -> dict:
    opts: dict = {"stakes": "medium", "task_type": None, "context_tokens": None,
                  "task_file": None, "json": False, "explain": False, "estimate": False,
                  "words": []}  # fmt: skip
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=")
        if arg == "--":
            opts["words"] += args[i + 1 :]
            break
        if name in FLAGS and not eq:
            opts[OPTIONS[name]] = True
            i += 1
        elif name in OPTIONS:
            if not eq and i + 1 >= len(args):
                raise UsageError(f"{name} needs a value")
            value = inline if eq else args[i + 1]
            i += 1 if eq else 2
            if name == "--context-tokens":
                try:
                    value = int(value)
                except ValueError:
                    raise UsageError("--context-tokens takes a whole number") from None
            opts[OPTIONS[name]] = value
        elif arg.startswith("--"):
            raise UsageError(f"no such option for route: {name}")
        else:
            opts["words"].append(arg)
            i += 1
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
    if args[:1] == ["review"] and (len(args) == 1 or args[1].startswith("-")):
        # `ccspend route review [--since 7d] …`; a task that starts with the word
        # "review" still routes (`ccspend route review the auth PR`)
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
