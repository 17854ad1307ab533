"""Which tier a task should run on, in the situation at hand.

The library behind ``ccspend route`` and ``ccspend run --route``.

Standard library only (``route`` must answer fast): the policy is TOML, the
rules are pure (``ccspend.route``), and prices come from the status line's
summary when there is one, else from the rate card. The token count is a
quick estimate (about four bytes a token) unless ``--estimate`` loads
tiktoken, or the prompt is long enough to come near a tier's context window,
where the count can change the answer.

Budget-aware: when the daily budget is past a soft alert level (from the
summary), the task goes one tier lower where the rules allow; when Claude Code's
recent logs show a rate-limit error, the heavy tier is routed around.
"""

from __future__ import annotations

import time
from pathlib import Path

from ccspend.core.files import write_cache

DEFAULT_OUTPUT_TOKENS = 2_000  # stated in the output when no history says otherwise
NEAR_CONTEXT = 150_000  # a quick estimate above this is recounted with tiktoken
RATE_LIMIT_WINDOW_S = 15 * 60
LIVE_SESSION_S = 60 * 60  # a session written this recently may have subagents writing


def _summary() -> dict | None:
    from ccspend.live.sessions import read_summary, state_dir

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

    from ccspend.core import paths
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
    write_cache(cache, pickle.dumps((key, policy), protocol=pickle.HIGHEST_PROTOCOL))
    return policy


def estimate(text: str, exact: bool) -> tuple[int, str]:
    from ccspend.core.tokens import estimate_tokens, quick_estimate

    quick = quick_estimate(text)
    if exact or quick > NEAR_CONTEXT:
        return estimate_tokens(text), "tiktoken cl100k_base estimate"
    return quick, "quick estimate (4 bytes a token; --estimate for tiktoken)"


def tier_costs(policy, prices: dict, input_tokens: int, output_tokens: int) -> list[dict]:
    from ccspend.pricing.index import model_usd

    rows = []
    for t in policy.tiers:
        if not t.usable:
            continue
        usd = model_usd(prices, t.model, input_tokens, output_tokens)
        rows.append({"tier": t.name, "model": t.model, "estimated_usd": usd, "cap_usd": t.cap_usd})
    return rows


def decide(text: str, opts: dict, now: float | None = None):
    """The decision and its context (library entry for route and run --route)."""
    from ccspend.core import paths
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


