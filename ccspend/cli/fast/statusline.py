"""``ccspend statusline``: one line for Claude Code's status bar, on every update.

Claude Code runs the command several times a second with a JSON object on
stdin. So this path never opens the database and imports nothing heavy:

- this session's cost is what the session report counts for it: the
  responses of the transcripts of its project folder (subagents and resumed
  sessions included) whose counted line is this session's, read incrementally
  (``live.project_state``: a call reads this session's new lines and a small
  hot layer, not the folder's history) and priced with today's card from a
  small cached index (``pricing.today``), so the first call shows it too;
- today's cost and the active 5-hour block come from a summary file that a
  background ``ccspend statusline --refresh`` rewrites, started at most every
  few seconds and never waited for;
- the official ``rate_limits`` readings are appended to a small file that the
  refresh moves into the database.

A missing or malformed input prints a short fallback and exits 0: a status
line must never break the status bar.
"""

from __future__ import annotations

import os
import sys
import time

from ccspend.core.fastjson import loads
from ccspend.core.text import inert
from ccspend.live.sessions import (
    field_at,
    maybe_refresh,
    pace,
    read_summary,
    record_readings,
    session_cost,
    state_folder,
)
from ccspend.pricing.today import today_price_index

FALLBACK = "ccspend: no status input"
WARN_AT = 80.0  # percent of a limit: warning colour
ALERT_AT = 95.0


def read_input(stream) -> dict | None:
    """Claude Code's status object, or None when there is none to read."""
    try:
        if stream is None or stream.isatty():
            return None
        data = stream.read()
    except (OSError, ValueError):
        return None
    try:
        obj = loads(data) if data and data.strip() else None
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _colour(text: str, pct: float, colour: bool) -> str:
    if not colour:
        return text
    if pct >= ALERT_AT:
        return f"\033[31m{text}\033[0m"
    if pct >= WARN_AT:
        return f"\033[33m{text}\033[0m"
    return text


def _left(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, m = divmod(seconds // 60, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m"


def render(obj: dict, session_cost: float | None, summary: dict | None, now: float,
           colour: bool) -> str:  # fmt: skip
    """The status line's text, from the input, this session's cost and the summary."""
    parts = []
    model = field_at(obj, "model", "display_name") or field_at(obj, "model", "id")
    if isinstance(model, str) and model:
        parts.append(inert(model))  # Claude Code's input is data: no escape reaches the bar
    if session_cost is not None:
        parts.append(f"session ${session_cost:.2f}")
    if summary:
        today = summary.get("today_cost_usd", 0)
        budget = summary.get("daily_budget_usd")
        if budget:
            pct = today / budget * 100
            parts.append(_colour(f"today ${today:.2f}/${budget:.0f}", pct, colour))
        else:
            parts.append(f"today ${today:.2f}")
        block = summary.get("block")
        if block and block.get("end_s", 0) > now:
            parts.append(f"block ${block['cost_usd']:.2f} ({_left(block['end_s'] - now)} left)")
            parts.append(f"${block.get('burn_usd_per_hour', 0):.2f}/h")
    windows = []
    for window, label, span in (("five_hour", "5h", 5 * 3600), ("seven_day", "7d", 7 * 86400)):
        used = field_at(obj, "rate_limits", window, "used_percentage")
        if not isinstance(used, (int, float)) or isinstance(used, bool):
            continue
        text = f"{label} {used:.0f}%"
        resets = field_at(obj, "rate_limits", window, "resets_at")
        if isinstance(resets, (int, float)) and not isinstance(resets, bool):
            p = pace(float(used), float(resets), span, now)
            text += f" {'▲' if p > 0 else '▼'}{abs(p):.0f}"
        windows.append(_colour(text, float(used), colour))
    if windows:
        parts.append(" ".join(windows))
    return " │ ".join(parts) if parts else FALLBACK


def run(stdin=None, stdout=None, now: float | None = None) -> int:
    """The status line for one update. Never raises, always exits 0."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    now = time.time() if now is None else now
    try:
        obj = read_input(stdin)
        if obj is None:
            stdout.write(FALLBACK + "\n")
            return 0
        if obj.get("hook_event_name") == "ccspend-probe":  # claude_settings.PROBE_EVENT
            from ccspend.live.claude_settings import probe_reply

            stdout.write(probe_reply() + "\n")  # does the installed command run? nothing else
            return 0
        folder = state_folder()
        summary = read_summary(folder)
        record_readings(obj, folder, now)
        maybe_refresh(folder, summary, now)
        this_session = None
        transcript = obj.get("transcript_path")
        if isinstance(transcript, str) and transcript:
            # today's card, not the summary's copy of it: the first call has no summary yet
            prices_id, prices = today_price_index()
            this_session = session_cost(transcript, obj.get("session_id"), folder, prices,
                                        prices_id)  # fmt: skip
        colour = not os.environ.get("NO_COLOR")
        stdout.write(render(obj, this_session, summary, now, colour) + "\n")
    except Exception:  # noqa: BLE001 - a status line must never break the status bar
        stdout.write(FALLBACK + "\n")
    return 0


def refresh_summary() -> int:
    """``ccspend statusline --refresh``: bring the store up to date and rewrite the
    summary (``live.summary.refresh``); the exit code.

    The status line starts it in the background every few seconds, at a low
    priority, beside the agent it runs with: without typer and rich, which
    cost it a quarter of a second of CPU before any work, each time. Errors end
    as every command's do (one line, its exit code); the lock is always released.
    """
    from ccspend.cli.exits import say
    from ccspend.live.sessions import lower_priority, state_dir

    lower_priority()  # started in the background by the status line, beside the agent
    folder = state_dir()
    try:
        from ccspend.core import paths
        from ccspend.core.timeutil import check_timezone
        from ccspend.live.summary import refresh
        from ccspend.pricing import load_card
        from ccspend.store import Store

        refresh(Store(paths.default_db_path()), paths.claude_project_roots(),
                load_card(paths.rate_overrides_path()), check_timezone(None), folder)
        return 0
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one line, as the CLI's
        return say(exc)
    finally:
        (folder / "refresh.lock").unlink(missing_ok=True)


def shell_line(now: float | None = None) -> str:
    """For a shell prompt: today's cost and the block, from the summary (no stdin)."""
    now = time.time() if now is None else now
    folder = state_folder()
    summary = read_summary(folder)
    maybe_refresh(folder, summary, now)
    if not summary:
        return "ccspend …"
    text = f"${summary.get('today_cost_usd', 0):.2f} today"
    block = summary.get("block")
    if block and block.get("end_s", 0) > now:
        text += f" · block ${block['cost_usd']:.2f} {_left(block['end_s'] - now)} left"
    return text
