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
import zlib
from pathlib import Path

from ccspend.core import paths
from ccspend.core.files import write_cache
from ccspend.pricing.index import price_responses

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


# -- this session, from its transcript ------------------------------------------


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


def session_cost(transcript: str, folder: Path, summary: dict) -> float:
    """This session's cost, subagents included: remembered while neither its files nor the
    prices changed."""
    tag = f"{zlib.crc32(transcript.encode()):08x}"
    memo_file = folder / f"cost-{tag}.json"
    files = session_files(transcript)
    key: list = [summary.get("prices_id")]
    for f in files:
        try:
            st = os.stat(f)
            key.append([f, st.st_size, st.st_mtime_ns])
        except OSError:
            key.append([f, None])
    try:
        memo = json.loads(memo_file.read_text())
        if memo["key"] == key:
            return memo["cost"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    responses: dict = {}
    for f in files:
        for k, row in session_usage(f, folder).items():
            old = responses.get(k)
            if old is None or row[3] > old[3]:
                responses[k] = row
    cost, _unknown = price_responses(responses, summary.get("prices", {}))
    write_cache(memo_file, json.dumps({"key": key, "cost": cost}))
    return cost


def session_usage(transcript: str, folder: Path | None, memory: dict | None = None) -> dict:
    """The responses of one transcript, read incrementally and deduplicated.

    Returns ``{key: [ts_us, model, input, output, cache5m, cache1h, cache_read, searches]}``
    with, per response, the line of largest output (as the store counts). Where it
    stopped is kept in a small state file in ``folder`` (the status line: one call per
    process), or in ``memory`` (a long-lived caller such as ``ccspend run``).
    """
    tag = f"{zlib.crc32(transcript.encode()):08x}"
    state_file = folder / f"session-{tag}.json" if folder is not None else None
    try:
        st = os.stat(transcript)
    except OSError:
        return {}
    try:
        if memory is not None:
            state = memory[transcript]
        elif state_file is not None:
            state = json.loads(state_file.read_text())
        else:
            raise KeyError(transcript)
        if state.get("path") != transcript or state.get("ino") != st.st_ino or (
            st.st_size < state.get("offset", 0)
        ):
            raise ValueError("another file")
    except (OSError, ValueError, KeyError):
        state = {"path": transcript, "ino": st.st_ino, "offset": 0, "responses": {}}
    if memory is not None:
        memory[transcript] = state
    if st.st_size > state["offset"]:
        try:
            with open(transcript, "rb") as fh:
                fh.seek(state["offset"])
                data = fh.read(st.st_size - state["offset"])
        except OSError:
            return state["responses"]
        records, end = scan_appended(data, state["offset"])
        responses = state["responses"]
        for r in records:
            if r["err"] or r["model"] == "<synthetic>":
                continue
            key = f"{r['mid']}|{r['rid'] or ''}" if r["mid"] else f"#{r['o']}"
            row = [r["ts"], r["model"], r["in"], r["out"], r["c5"], r["c1"], r["cr"], r["ws"]]
            old = responses.get(key)
            if old is None or row[3] > old[3]:
                responses[key] = row
        state["offset"] = end
        if state_file is None or memory is not None:
            return state["responses"]
        write_cache(state_file, json.dumps(state))
    return state["responses"]


SMALL_READ = 1 << 20  # below this, the standard library's json is quicker than importing msgspec


def scan_appended(data: bytes, base: int) -> tuple[list[dict], int]:
    """Usage records of the complete lines of ``data`` (read from offset ``base``), and
    the offset after the last complete line. A session's new lines since the last call
    are few: they are parsed with ``json``; a large first read uses the ingest's scanner."""
    if len(data) > SMALL_READ:
        from ccspend.sources.claude_code import scan

        result = scan(data, base, 0)
        return result.records, result.end
    from ccspend.sources.claude_record import extract

    records = []
    pos = 0
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        line = data[pos:nl]
        if b'"usage"' in line:
            try:
                rec = extract(json.loads(line.strip().removeprefix(b"\xef\xbb\xbf")))
            except (ValueError, RecursionError):
                rec = None
            if rec:
                rec["o"] = base + pos
                records.append(rec)
        pos = nl + 1
    return records, base + pos


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
        folder.mkdir(parents=True, exist_ok=True)
        try:
            if now - lock.stat().st_mtime < REFRESH_STALE:
                return  # one is running
        except FileNotFoundError:
            pass
        lock.write_text(str(now))
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
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / "readings.jsonl", "a") as fh:
                fh.write("\n".join(lines) + "\n")
            write_cache(last_file, json.dumps(last))  # only once the readings are kept


def pace(used_pct: float, resets_at: float, window_s: float, now: float) -> float:
    """Points ahead (+) of or behind (-) an even spend across the window."""
    start = resets_at - window_s
    elapsed = min(max((now - start) / window_s, 0.0), 1.0) * 100
    return used_pct - elapsed


