"""``ccspend route``: which tier a task should run on, why, and what each tier would cost.

Answered with the standard library (the console entry sends ``route`` here; the
typer command of the same name serves ``--help`` and completions and calls
``main`` too): the policy is TOML, the rules are pure (``ccspend.route``), and
prices come from the status line's summary when there is one, else from the
rate card. The token count is a quick estimate (about four bytes a token)
unless ``--estimate`` loads tiktoken, or the prompt is long enough to come near
a tier's context window, where the count can change the answer.

Budget-aware: when the daily budget is past a soft alert level (from the
summary), the task goes one tier lower where the rules allow; when Claude Code's
recent logs show a rate-limit error, the heavy tier is routed around.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ccspend.errors import UsageError
from ccspend.pricing.today import today_prices

DEFAULT_OUTPUT_TOKENS = 2_000  # stated in the output when no history says otherwise
NEAR_CONTEXT = 150_000  # a quick estimate above this is recounted with tiktoken
RATE_LIMIT_WINDOW_S = 15 * 60
LIVE_SESSION_S = 60 * 60  # a session written this recently may have subagents writing

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


def _summary() -> dict | None:
    from ccspend.statusline import read_summary, state_dir

    return read_summary(state_dir())


def budget_past_soft(summary: dict | None, levels: tuple[int, ...] = (50, 80)) -> str | None:
    """The daily budget past its first soft alert level, as the summary saw it."""
    if not summary or not summary.get("daily_budget_usd"):
        return None
    used, cap = summary.get("today_cost_usd", 0.0), summary["daily_budget_usd"]
    pct = used / cap * 100
    top = max((lv for lv in levels if pct >= lv), default=None)
    return f"the daily budget (${used:.2f} of ${cap:.2f}, past {top}%)" if top else None


def recent_logs(roots: list[Path], now: float):
    """Transcripts written in the last ``RATE_LIMIT_WINDOW_S``: (path, size, mtime), newest first.

    Not the full walk of ``discover``: each project's top-level transcripts are
    stat'ed (one call each), and a session's ``subagents`` folder is listed only
    when the session's own transcript was written in the last ``LIVE_SESSION_S``
    (a subagent runs inside a live session). On the 1 GiB corpus this is a third
    of the time of the full walk.
    """
    import os

    out = []
    for root in roots:
        try:
            projects = [e for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        for proj in projects:
            try:
                entries = list(os.scandir(proj.path))
            except OSError:
                continue
            live, folders = set(), []
            for e in entries:
                try:
                    if e.is_dir(follow_symlinks=False):
                        folders.append(e)
                        continue
                    if not e.name.endswith(".jsonl"):
                        continue
                    st = e.stat()
                except OSError:
                    continue
                if st.st_mtime > now - LIVE_SESSION_S:
                    live.add(e.name[: -len(".jsonl")])
                    if st.st_mtime > now - RATE_LIMIT_WINDOW_S:
                        out.append((e.path, st.st_size, st.st_mtime))
            for d in folders:
                if d.name not in live:
                    continue
                try:
                    agents = list(os.scandir(os.path.join(d.path, "subagents")))
                except OSError:
                    continue
                for a in agents:
                    if not a.name.endswith(".jsonl"):
                        continue
                    try:
                        st = a.stat()
                    except OSError:
                        continue
                    if st.st_mtime > now - RATE_LIMIT_WINDOW_S:
                        out.append((a.path, st.st_size, st.st_mtime))
    out.sort(key=lambda f: -f[2])
    return out


RATE_LIMITED = "rate-limited"
# "Request rejected (429)", "Error: 429 {...}", "status": 429 -- never the 429 inside a
# uuid, a request id or a timestamp's milliseconds
_HTTP_429 = rb'(?:\(429\)|[:\s"]429[\s,)"}])'
NO_CREDITS = "out of credits"
_TS = b'"timestamp":"'


def _api_error_kind(line: bytes) -> str | None:
    """What a Claude Code API-error line says: rate-limited, out of credits, or neither.

    Claude Code writes a failed request as an assistant line with
    ``"isApiErrorMessage": true`` (model ``<synthetic>``), its text the error:
    "API Error: Rate limit reached", "Request rejected (429)", "You've hit your
    limit", or "Credit balance is too low" when a key's prepaid credits are spent.
    """
    text = line.lower()
    if b"credit balance" in text or b"billing_error" in text or b"insufficient credit" in text:
        return NO_CREDITS
    import re  # only here: a route with no API error in its logs never needs it

    if (re.search(_HTTP_429, text) or b"rate limit" in text or b"rate_limit" in text
            or b"hit your limit" in text or b"usage limit" in text):
        return RATE_LIMITED
    return None


def recent_unavailable(roots: list[Path], now: float) -> str | None:
    """Why the heavy tier cannot be used now: an API error in the last 15 minutes of the
    most recently written logs saying rate-limited (HTTP 429) or out of credits; else None.
    """
    from datetime import datetime

    found = None
    for path, size, _ in recent_logs(roots, now)[:20]:
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, size - 65536))
                tail = fh.read()
        except OSError:
            continue
        if b"isApiErrorMessage" not in tail:
            continue
        for line in tail.split(b"\n"):
            compact = line.replace(b" ", b"")
            if b'"isApiErrorMessage":true' not in compact:
                continue
            kind = _api_error_kind(line)
            at = compact.find(_TS)
            if kind is None or at < 0:
                continue
            stamp = compact[at + len(_TS): at + len(_TS) + 19].decode("ascii", "replace")
            try:
                when = datetime.fromisoformat(stamp + "+00:00").timestamp()
            except ValueError:
                continue
            if now - RATE_LIMIT_WINDOW_S <= when <= now + 60:
                if kind == NO_CREDITS:
                    return kind
                found = kind
    return found


def cached_policy():
    """The policy in force, from a pickle beside the database while its files are unchanged.

    Parsing and compiling the policy takes about 20 ms, a pickle about 6 ms. The
    key is the size and mtime of every file the policy depends on: the built-in
    and user policy files and the modules whose classes the pickle holds. The
    cache is the user's own (owner-only folder, checked before loading).
    """
    import os
    import pickle

    from ccspend import paths
    from ccspend.route import policy as policy_mod

    here = Path(policy_mod.__file__).parent
    key = []
    for f in (policy_mod.DEFAULT_POLICY_FILE, policy_mod.user_policy_path(),
              here / "policy.py", here / "text.py", here / "choose.py"):
        try:
            st = os.stat(f)
            key.append((str(f), st.st_size, st.st_mtime_ns))
        except OSError:
            key.append((str(f), None, None))
    cache = Path(f"{paths.default_db_path()}.cache") / "route-policy.pickle"
    try:
        with open(cache, "rb") as fh:
            if os.fstat(fh.fileno()).st_uid == os.getuid():
                stored_key, policy = pickle.load(fh)
                if stored_key == key:
                    return policy
    except Exception:  # noqa: BLE001 - a cache that cannot be read is rebuilt
        pass
    policy = policy_mod.load_policy()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = cache.with_suffix(f".{os.getpid()}")
        with open(tmp, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            pickle.dump((key, policy), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass
    return policy


def estimate(text: str, exact: bool) -> tuple[int, str]:
    from ccspend.tokens import estimate_tokens, quick_estimate

    quick = quick_estimate(text)
    if exact or quick > NEAR_CONTEXT:
        return estimate_tokens(text), "tiktoken cl100k_base estimate"
    return quick, "quick estimate (4 bytes a token; --estimate for tiktoken)"


def tier_costs(policy, prices: dict, input_tokens: int, output_tokens: int) -> list[dict]:
    from ccspend.run_main import model_price

    rows = []
    for t in policy.tiers:
        if not t.usable:
            continue
        p = model_price(prices, t.model)
        usd = None
        if p is not None:
            usd = (input_tokens * p["base"][0] + output_tokens * p["base"][1]) / 1e6
        rows.append({"tier": t.name, "model": t.model, "estimated_usd": usd, "cap_usd": t.cap_usd})
    return rows


def decide(text: str, opts: dict, now: float | None = None):
    """The decision and its context (library entry for route and run --route)."""
    from ccspend import paths
    from ccspend.route import choose

    now = time.time() if now is None else now
    policy = cached_policy()
    summary = _summary()
    tokens, how = estimate(text, opts.get("estimate", False))
    context = opts.get("context_tokens") or (tokens if tokens > NEAR_CONTEXT else None)
    unavailable = {}
    why = recent_unavailable(paths.claude_project_roots(), now)
    if why == RATE_LIMITED:
        unavailable["heavy"] = "rate-limited (HTTP 429 in the last 15 minutes of logs)"
    elif why == NO_CREDITS:
        unavailable["heavy"] = "out of credits (credit balance too low in the last 15 minutes)"
    d = choose(text, policy, stakes=opts.get("stakes", "medium"),
               task_type=opts.get("task_type"), context_tokens=context,
               budget_soft=budget_past_soft(summary) or False,
               unavailable=unavailable)  # fmt: skip
    return d, policy, summary, tokens, how


def main(args: list[str], stdin=None, stdout=None) -> int:
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    if args[:1] == ["review"] and (len(args) == 1 or args[1].startswith("-")):
        # `ccspend route review [--since 7d] …`; a task that starts with the word
        # "review" still routes (`ccspend route review the auth PR`)
        from ccspend.cli.route_cmds import review_main

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
        from ccspend.errors import say

        return say(exc)
