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
and answers from what the status line already keeps: this session's cost from
its transcript (read incrementally), today's cost and the prices from the
summary the background refresh writes. It fails open: any error, a missing
summary, an unreadable input, and the hook says nothing and exits 0, so a
broken hook never blocks the user's work. Decisions other than a silent
"allow" are journaled to a file; the next refresh moves them into the ledger
(``cap_decisions``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

OVERRIDE_WORD = "#ccspend-override"
HOOK_COMMAND = "ccspend cap hook"


@dataclass(frozen=True)
class Caps:
    session_usd: float | None = None
    daily_usd: float | None = None
    alert_at: tuple[int, ...] = (50, 80)


@dataclass(frozen=True)
class Verdict:
    decision: str  # allow, warn, deny, block, override
    reason: str = ""
    level: int | None = None  # the soft level a warning is for


def load_caps(config_file: Path) -> Caps:
    """``[cap]`` of the config file: session_usd, daily_usd, alert_at."""
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


def _state(folder: Path, session: str) -> dict:
    try:
        return json.loads((folder / f"cap-{_tag(session)}.json").read_text())
    except (OSError, ValueError):
        return {}


def _save_state(folder: Path, session: str, state: dict) -> None:
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"cap-{_tag(session)}.json"
        tmp = path.with_suffix(f".{os.getpid()}")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, path)


def _tag(session: str) -> str:
    import zlib

    return f"{zlib.crc32(session.encode()):08x}"


def _today(tz: str | None, now: float) -> str:
    from datetime import datetime

    try:
        from zoneinfo import ZoneInfo

        return datetime.fromtimestamp(now, ZoneInfo(tz)).date().isoformat()
    except Exception:  # noqa: BLE001 - no zone: the machine's day
        return time.strftime("%Y-%m-%d", time.localtime(now))


def day_override_file(folder: Path, day: str) -> Path:
    return folder / f"cap-override-{day}"


def journal(folder: Path, row: list) -> None:
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "cap-decisions.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")


def run(stdin=None, stdout=None, now: float | None = None) -> int:
    """One hook call. Always exits 0; anything unexpected means 'allow' (fail open)."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    now = time.time() if now is None else now
    try:
        from ccspend import paths
        from ccspend.statusline import maybe_refresh, read_summary, session_cost, state_dir

        obj = json.loads(stdin.read() or "{}")
        if not isinstance(obj, dict):
            return 0
        event = obj.get("hook_event_name")
        if event not in ("PreToolUse", "UserPromptSubmit"):
            return 0
        caps = load_caps(paths.config_dir() / "config.toml")
        if not (caps.session_usd or caps.daily_usd):
            return 0
        folder = state_dir()
        summary = read_summary(folder)
        maybe_refresh(folder, summary, now)
        if summary is None:
            return 0  # no prices yet: the first refresh is on its way; fail open
        session = str(obj.get("session_id") or "")
        transcript = obj.get("transcript_path")
        spent = None
        if caps.session_usd and isinstance(transcript, str) and transcript:
            spent = session_cost(transcript, folder, summary)
        today = _today(summary.get("timezone"), now)
        today_usd = summary.get("today_cost_usd") if summary.get("today") == today else 0.0
        state = _state(folder, session)
        overridden = bool(state.get("override")) or day_override_file(folder, today).exists()
        prompt = obj.get("prompt") if isinstance(obj.get("prompt"), str) else ""
        verdict = judge(event, spent, today_usd, caps, overridden,
                        set(state.get("warned", [])), prompt)  # fmt: skip
        if verdict.decision == "override":
            state["override"] = True
        if verdict.decision == "warn":
            state["warned"] = sorted({*state.get("warned", []), *[
                lv for lv in caps.alert_at if lv <= verdict.level]})  # fmt: skip
        if verdict.decision != "allow":
            if verdict.decision in ("override", "warn"):
                _save_state(folder, session, state)
            cap = caps.session_usd if spent is not None else caps.daily_usd
            journal(folder, [now, session, event, verdict.decision, verdict.reason,
                             spent if spent is not None else today_usd, cap])  # fmt: skip
        out = answer(event, verdict)
        if out is not None:
            stdout.write(json.dumps(out) + "\n")
    except Exception:  # noqa: BLE001 - fail open: a broken hook never blocks the user
        return 0
    return 0
