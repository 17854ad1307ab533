"""Spend caps for interactive Claude Code sessions, as Claude Code hooks.

Claude Code has no spend cap for interactive sessions. ``ccspend cap install``
adds two hooks to its settings, both running ``ccspend cap hook``:

- ``PreToolUse``: once the session (or today) has reached its cap, every tool
  call is denied with a reason the model and the user see; past a soft level the
  call goes through with a warning passed to the model (once per level).
- ``UserPromptSubmit``: past a hard cap a new prompt is blocked, unless it carries
  ``#ccspend-override`` (or ``ccspend cap override`` was run), which lifts the
  caps for the rest of that session (or day).

The hooks run on every tool call, so this module is the standard library only
and answers from small files: this session's cost is the status line's
(``live.sessions.project_costs``: what the session report counts for it, read
incrementally from its project folder), priced with today's card from a cached
index, so the first call after ``ccspend cap install`` holds the cap; today's
cost comes from the summary the background refresh writes. It fails open: any
error, an unreadable input, and the hook says nothing and exits 0, so a broken
hook never blocks the user's work. Decisions other than a silent
"allow" are journaled to a file; the next refresh moves them into the ledger
(``cap_decisions``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import namedtuple
from pathlib import Path

from ccspend.core.files import append_private, write_cache

OVERRIDE_WORD = "#ccspend-override"
HOOK_COMMAND = "ccspend cap hook"

# Named tuples rather than dataclasses: ``dataclasses`` imports ``inspect``, a tenth
# of the hook's time, on every tool call.


class Caps(namedtuple("Caps", "session_usd daily_usd alert_at", defaults=(None, None, (50, 80)))):
    """The caps in force: USD per session, USD per day, soft levels (percent)."""

    __slots__ = ()


class Verdict(namedtuple("Verdict", "decision reason level", defaults=("", None))):
    """What the hook answers: allow, warn, deny, block or override; why; and the soft
    level a warning is for."""

    __slots__ = ()


def load_caps(config_file: Path) -> Caps:
    """``[cap]`` of the config file: session_usd, daily_usd, alert_at."""
    import tomllib

    try:
        data = tomllib.loads(config_file.read_text("utf-8")).get("cap", {})
    except (OSError, ValueError):
        return Caps()
    if not isinstance(data, dict):
        return Caps()

    def usd(key: str) -> float | None:
        v = data.get(key)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
        return float(v) if ok else None

    levels = data.get("alert_at", [50, 80])
    if not (isinstance(levels, list) and all(isinstance(x, int) and 0 < x < 100 for x in levels)):
        levels = [50, 80]
    return Caps(usd("session_usd"), usd("daily_usd"), tuple(sorted(levels)))


def cached_caps(config_file: Path, folder: Path) -> Caps:
    """``load_caps``, remembered in ``folder`` while the config file is unchanged: reading
    TOML means importing ``tomllib`` (and ``typing``), which no tool call should wait for."""
    try:
        st = os.stat(config_file)
    except OSError:
        return Caps()  # no config file: no cap
    key = [st.st_size, st.st_mtime_ns, st.st_ino]
    memo = folder / "cap-config.json"
    try:
        data = json.loads(memo.read_text())
        if data["key"] == key:
            session_usd, daily_usd, alert_at = data["caps"]
            return Caps(session_usd, daily_usd, tuple(alert_at))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    caps = load_caps(config_file)
    write_cache(memo, json.dumps({"key": key, "caps": list(caps)}))
    return caps


def judge(event: str, session_usd: float | None, today_usd: float | None, caps: Caps,
          overridden: bool, warned: set[int], prompt: str = "") -> Verdict:  # fmt: skip
    """What the hook answers (pure): deny or block at a hard cap, warn at a new soft level."""
    hard = []
    pcts = []
    if caps.session_usd and session_usd is not None:
        pcts.append(session_usd / caps.session_usd * 100)
        if session_usd >= caps.session_usd:
            hard.append(f"this session has spent ${session_usd:.2f} of its "
                        f"${caps.session_usd:.2f} cap")  # fmt: skip
    if caps.daily_usd and today_usd is not None:
        pcts.append(today_usd / caps.daily_usd * 100)
        if today_usd >= caps.daily_usd:
            hard.append(f"today's spend is ${today_usd:.2f} of the ${caps.daily_usd:.2f} daily cap")
    if event == "UserPromptSubmit" and OVERRIDE_WORD in prompt:
        return Verdict("override", "; ".join(hard) or "no cap reached")
    if hard and not overridden:
        how = (f"to go on, send a prompt containing {OVERRIDE_WORD} or run "
               "`ccspend cap override`")  # fmt: skip
        reason = f"ccspend: {'; '.join(hard)}. Stopped by the spend cap; {how}."
        return Verdict("block" if event == "UserPromptSubmit" else "deny", reason)
    top = max(pcts, default=0.0)
    due = [lv for lv in caps.alert_at if top >= lv and lv not in warned]
    if due and not hard:
        return Verdict("warn", f"ccspend: spend is at {top:.0f}% of its cap "
                       f"({'; '.join(_describe(session_usd, today_usd, caps))}). "
                       "Prefer cheap steps and wrap up soon.", max(due))  # fmt: skip
    return Verdict("allow")


def _describe(session_usd, today_usd, caps: Caps) -> list[str]:
    out = []
    if caps.session_usd and session_usd is not None:
        out.append(f"session ${session_usd:.2f} of ${caps.session_usd:.2f}")
    if caps.daily_usd and today_usd is not None:
        out.append(f"today ${today_usd:.2f} of ${caps.daily_usd:.2f}")
    return out


def answer(event: str, verdict: Verdict) -> dict | None:
    """The JSON Claude Code reads on the hook's stdout (None: say nothing, carry on)."""
    if verdict.decision == "deny":
        return {"hookSpecificOutput": {
            "hookEventName": "PreToolUse", "permissionDecision": "deny",
            "permissionDecisionReason": verdict.reason,
        }}  # fmt: skip
    if verdict.decision == "block":
        return {"decision": "block", "reason": verdict.reason}
    if verdict.decision == "warn":
        return {"hookSpecificOutput": {"hookEventName": event,
                                       "additionalContext": verdict.reason}}  # fmt: skip
    return None


# -- the hook process -------------------------------------------------------------


def session_state(folder: Path, session: str) -> dict:
    try:
        return json.loads((folder / f"cap-{_tag(session)}.json").read_text())
    except (OSError, ValueError):
        return {}


def save_session_state(folder: Path, session: str, state: dict) -> None:
    write_cache(folder / f"cap-{_tag(session)}.json", json.dumps(state))


def _tag(session: str) -> str:
    import zlib

    return f"{zlib.crc32(session.encode()):08x}"


def local_day(tz: str | None, now: float) -> str:
    from datetime import datetime

    try:
        from zoneinfo import ZoneInfo

        return datetime.fromtimestamp(now, ZoneInfo(tz)).date().isoformat()
    except Exception:  # noqa: BLE001 - no zone: the machine's day
        return time.strftime("%Y-%m-%d", time.localtime(now))


def today_cached(folder: Path, tz: str | None, now: float) -> str:
    """``local_day``, with the day's bounds remembered in ``folder``: ``zoneinfo`` loads
    once a day, not on every tool call."""
    memo = folder / "cap-day.json"
    try:
        d = json.loads(memo.read_text())
        if d["tz"] == tz and d["from"] <= now < d["to"]:
            return d["day"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    day = local_day(tz, now)
    try:
        from datetime import date, datetime, timedelta
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(tz)
        first = date.fromisoformat(day)
        start = datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()
        nxt = first + timedelta(days=1)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).timestamp()
    except Exception:  # noqa: BLE001 - no zone: local_day used the machine's day; ask again
        return day
    write_cache(memo, json.dumps({"tz": tz, "day": day, "from": start, "to": end}))
    return day


def day_override_file(folder: Path, day: str) -> Path:
    return folder / f"cap-override-{day}"


def journal(folder: Path, row: list) -> None:
    with contextlib.suppress(OSError):
        append_private(folder / "cap-decisions.jsonl", json.dumps(row) + "\n")


def respond(obj: dict, now: float) -> dict | None:
    """Claude Code's answer to one hook call ``obj``, or None to let it go on.

    Fails open: without caps, or for another event, the answer is None; the daily
    cap holds once the background summary has today's cost. State (warnings given,
    an override) is kept per session.
    """
    from ccspend.core import paths
    from ccspend.live.sessions import maybe_refresh, read_summary, session_cost, state_dir
    from ccspend.pricing.today import today_price_index

    event = obj.get("hook_event_name")
    if event not in ("PreToolUse", "UserPromptSubmit"):
        return None
    folder = state_dir()
    caps = cached_caps(Path(paths.config_dir_str(), "config.toml"), folder)
    if not (caps.session_usd or caps.daily_usd):
        return None
    summary = read_summary(folder)
    maybe_refresh(folder, summary, now)
    session = str(obj.get("session_id") or "")
    transcript = obj.get("transcript_path")
    state = session_state(folder, session)
    state.pop("spent", None)  # an older version's running total: the project state holds it
    before = json.dumps(state)
    spent = None
    if caps.session_usd and isinstance(transcript, str) and transcript:
        # priced with today's card, not the summary's copy: the first call after
        # ``ccspend cap install`` has no summary yet, and must hold the cap all the same
        prices_id, prices = today_price_index()
        spent = session_cost(transcript, session, folder, prices, prices_id)
    # today's cost is the summary's (the database's): until the first refresh has
    # written it, the daily cap cannot be judged and only the session cap holds
    today = today_cached(folder, summary.get("timezone") if summary else None, now)
    today_usd = None
    if summary is not None:
        today_usd = summary.get("today_cost_usd") if summary.get("today") == today else 0.0
    overridden = bool(state.get("override")) or day_override_file(folder, today).exists()
    prompt = obj.get("prompt") if isinstance(obj.get("prompt"), str) else ""
    verdict = judge(event, spent, today_usd, caps, overridden,
                    set(state.get("warned", [])), prompt)  # fmt: skip
    if verdict.decision == "override":
        state["override"] = True
    if verdict.decision == "warn":
        state["warned"] = sorted({*state.get("warned", []), *[
            lv for lv in caps.alert_at if lv <= verdict.level]})  # fmt: skip
    if json.dumps(state) != before:
        save_session_state(folder, session, state)
    if verdict.decision != "allow":
        cap = caps.session_usd if spent is not None else caps.daily_usd
        journal(folder, [now, session, event, verdict.decision, verdict.reason,
                         spent if spent is not None else today_usd, cap])  # fmt: skip
    return answer(event, verdict)
