"""Live session costs read straight from Claude Code's logs, and the summary file.

What the status line, the cap hook and ``ccspend run`` share, all without the
database and with the standard library only:

- a session's cost from its transcript (and its subagents' files), read
  incrementally and deduplicated as everywhere else, priced with the price
  index kept in the summary;
- the summary file itself (today's cost, the active block, the prices), and
  the background refresh that rewrites it every few seconds;
- the official ``rate_limits`` readings, appended to a small file that the
  refresh moves into the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from ccspend.core import paths
from ccspend.core.files import append_private, private_folder, write_atomic, write_cache
from ccspend.live.lines import (  # noqa: F401 - the readers of appended lines, used from here
    first_timestamp,
    response_key,
    response_row,
    scan_appended,
)

REFRESH_EVERY = 5.0  # seconds between background refreshes of the summary
REFRESH_STALE = 60.0  # a refresh lock older than this is from a process that died


def state_dir(db: Path | None = None) -> Path:
    db = db or paths.default_db_path()
    return Path(str(db) + ".cache") / "statusline"


def field_at(obj: object, *keys: str):
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


# -- this session, from its project folder --------------------------------------


def session_files(transcript: str) -> list[str]:
    """The transcript and its subagents' (``<session>/subagents/agent-*.jsonl``): their
    spend is the session's spend."""
    files = [transcript]
    sub = Path(transcript[: -len(".jsonl")] if transcript.endswith(".jsonl") else transcript)
    with contextlib.suppress(OSError):
        files += sorted(
            str(p) for p in (sub / "subagents").iterdir()
            if p.name.startswith("agent-") and p.name.endswith(".jsonl")
        )  # fmt: skip
    return files


def session_id_of(transcript: str, session_id: object) -> str:
    """The session a transcript is for: the id Claude Code gives, else its file's name."""
    if isinstance(session_id, str) and session_id:
        return session_id
    return os.path.basename(transcript).removesuffix(".jsonl")


def session_cost(transcript: str, session_id: object, folder: Path, prices: dict,
                 prices_id: object) -> float:  # fmt: skip
    """This session's cost as the session report counts it: every response whose counted
    line carries this session's id, subagents included (``live.project_state``: per call,
    the work of this session's new lines, whatever the size of the history)."""
    from ccspend.live.project_state import session_total

    transcript = os.path.abspath(transcript)
    return session_total(transcript, session_id_of(transcript, session_id), folder, prices,
                         prices_id)  # fmt: skip


def project_costs(project: str, folder: Path, prices: dict, prices_id: object) -> dict:
    """USD per session id of every transcript below a Claude Code project folder, counted
    as the reports count (``store.queries.PRICED``): a response (``message_id|request_id``)
    counts once, at its line of most output, not a sidechain, in the file that started
    first (its first timestamp, then its newest request, then its path), at the lowest
    offset, for the session of that line. So a resumed session's copies of an earlier
    session's lines count in the earlier one, whatever session id the copies carry, and a
    response streamed over several lines counts at its final line. Every file of the
    folder is looked at (``live.project_state``'s slow path); ``session_cost`` is the
    per-call form."""
    from ccspend.live.project_state import project_totals

    return project_totals(project, folder, prices, prices_id)


# -- the summary, refreshed in the background ------------------------------------


def read_summary(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return None


def maybe_refresh(folder: Path, summary: dict | None, now: float) -> None:
    """Start ``ccspend statusline --refresh`` in the background if the summary is stale."""
    if summary is not None and now - summary.get("written_at", 0) < REFRESH_EVERY:
        return
    if os.environ.get("CCSPEND_NO_BACKGROUND"):  # tests that refresh by hand
        return
    lock = folder / "refresh.lock"
    try:
        private_folder(folder)
        try:
            if now - lock.stat().st_mtime < REFRESH_STALE:
                return  # one is running
        except FileNotFoundError:
            pass
        write_atomic(lock, str(now))
        import subprocess  # only when a refresh is due: its import costs milliseconds

        subprocess.Popen(
            [sys.executable, "-m", "ccspend", "statusline", "--refresh"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            # at a low priority: the refresh (a second or so of CPU on a big history)
            # must not slow the status line calls and the agent it runs beside
            preexec_fn=_lower_priority,
        )
    except OSError:
        pass


def _lower_priority() -> None:
    import contextlib  # in the child only: the status line itself never imports it

    with contextlib.suppress(OSError):
        os.nice(10)


READING_EVERY = 60.0  # an unchanged reading is recorded again at most this often


def record_readings(obj: dict, folder: Path, now: float) -> None:
    """Append the official window readings; the refresh moves them into the database.

    The status line runs several times a second, so a reading is kept only when
    it changed, or once a minute while it holds (enough for a 30-minute rate).
    """
    current = {}
    for window in ("five_hour", "seven_day"):
        r = field_at(obj, "rate_limits", window)
        used = field_at(r, "used_percentage")
        if isinstance(used, (int, float)) and not isinstance(used, bool):
            resets = field_at(r, "resets_at")
            reset_s = float(resets) if isinstance(resets, (int, float)) else None
            current[window] = [float(used), reset_s]
    if not current:
        return
    last_file = folder / "last-readings.json"
    try:
        last = json.loads(last_file.read_text())
    except (OSError, ValueError):
        last = {}
    lines = []
    for window, value in current.items():
        seen = last.get(window)
        if seen and seen[0] == value and now - seen[1] < READING_EVERY:
            continue
        last[window] = [value, now]
        lines.append(json.dumps([int(now * 1e6), field_at(obj, "session_id"), window, *value]))
    if lines:
        with contextlib.suppress(OSError):
            append_private(folder / "readings.jsonl", "\n".join(lines) + "\n")
            write_cache(last_file, json.dumps(last))  # only once the readings are kept


def pace(used_pct: float, resets_at: float, window_s: float, now: float) -> float:
    """Points ahead (+) of or behind (-) an even spend across the window."""
    start = resets_at - window_s
    elapsed = min(max((now - start) / window_s, 0.0), 1.0) * 100
    return used_pct - elapsed


