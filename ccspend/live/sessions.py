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

import os
import sys

from ccspend.core import paths
from ccspend.core.fastjson import loads
from ccspend.core.files import append_private, private_folder, write_atomic, write_cache
from ccspend.live.lines import (  # noqa: F401 - the readers of appended lines, used from here
    first_timestamp,
    response_key,
    response_row,
    scan_appended,
)

REFRESH_EVERY = 5.0  # seconds between background refreshes of the summary
REFRESH_STALE = 60.0  # a refresh lock older than this is from a process that died

# pathlib is imported only where a ``Path`` is asked for (``state_dir``): the status
# line, which runs on every keystroke, works on strings (the import costs it 5 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def state_dir(db: Path | None = None) -> Path:
    from pathlib import Path

    return Path(state_folder(None if db is None else str(db)))


def state_folder(db: str | None = None) -> str:
    """``state_dir`` as a string, without pathlib (the status line's)."""
    return os.path.join((db or paths.default_db_str()) + ".cache", "statusline")


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
    sub = os.path.join(paths.norm(transcript.removesuffix(".jsonl")), "subagents")
    try:  # noqa: SIM105 - contextlib is an import the status line need not pay for
        files += sorted(
            os.path.join(sub, n) for n in os.listdir(sub)
            if n.startswith("agent-") and n.endswith(".jsonl")
        )  # fmt: skip
    except OSError:
        pass
    return files


def session_id_of(transcript: str, session_id: object) -> str:
    """The session a transcript is for: the id Claude Code gives, else its file's name."""
    if isinstance(session_id, str) and session_id:
        return session_id
    return os.path.basename(transcript).removesuffix(".jsonl")


def session_cost(transcript: str, session_id: object, folder: str | Path, prices: dict,
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


def read_summary(folder: str | Path) -> dict | None:
    try:
        with open(os.path.join(folder, "summary.json"), encoding="utf-8") as fh:
            return loads(fh.read())
    except (OSError, ValueError):
        return None


def maybe_refresh(folder: str | Path, summary: dict | None, now: float) -> None:
    """Start ``ccspend statusline --refresh`` in the background if the summary is stale."""
    if summary is not None and now - summary.get("written_at", 0) < REFRESH_EVERY:
        return
    if os.environ.get("CCSPEND_NO_BACKGROUND"):  # tests that refresh by hand
        return
    lock = os.path.join(folder, "refresh.lock")
    try:
        private_folder(folder)
        try:
            if now - os.stat(lock).st_mtime < REFRESH_STALE:
                return  # one is running
        except FileNotFoundError:
            pass
        write_atomic(lock, str(now))
        _spawn_refresh()
    except OSError:
        pass


REFRESH_ARGS = ("statusline", "--refresh")


def _spawn_refresh() -> None:
    """``ccspend statusline --refresh``, detached (its own session, no stdin or output),
    never waited for; it lowers its own priority first (``lower_priority``).

    ``os.posix_spawn``: no ``subprocess`` import and no fork of this process (the
    status line's budget is a few milliseconds; ``subprocess`` with a ``preexec_fn``
    cost it both whenever a refresh was due)."""
    argv = [sys.executable, "-m", "ccspend", *REFRESH_ARGS]
    if not hasattr(os, "posix_spawn"):  # Windows
        import subprocess

        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)  # fmt: skip
        return
    null = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    os.posix_spawn(sys.executable, argv, os.environ, file_actions=null, setsid=True)


def lower_priority() -> None:
    """The background refresh, at a low priority: a second or so of CPU on a big history
    must not slow the status line calls and the agent it runs beside."""
    try:  # noqa: SIM105 - contextlib is an import the status line need not pay for
        os.nice(10)
    except OSError:
        pass


READING_EVERY = 60.0  # an unchanged reading is recorded again at most this often


def record_readings(obj: dict, folder: str | Path, now: float) -> None:
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
    last_file = os.path.join(folder, "last-readings.json")
    try:
        with open(last_file, encoding="utf-8") as fh:
            last = loads(fh.read())
    except (OSError, ValueError):
        last = {}
    lines = []
    for window, value in current.items():
        seen = last.get(window)
        if seen and seen[0] == value and now - seen[1] < READING_EVERY:
            continue
        last[window] = [value, now]
        lines.append([int(now * 1e6), field_at(obj, "session_id"), window, *value])
    if lines:
        import json  # a reading to keep: at most once a minute while it holds (fastjson)

        lines = [json.dumps(line) for line in lines]
        try:  # noqa: SIM105 - contextlib is an import the status line need not pay for
            append_private(os.path.join(folder, "readings.jsonl"), "\n".join(lines) + "\n")
            write_cache(last_file, json.dumps(last))  # only once the readings are kept
        except OSError:
            pass


def pace(used_pct: float, resets_at: float, window_s: float, now: float) -> float:
    """Points ahead (+) of or behind (-) an even spend across the window."""
    start = resets_at - window_s
    elapsed = min(max((now - start) / window_s, 0.0), 1.0) * 100
    return used_pct - elapsed


