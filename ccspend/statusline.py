"""``ccspend statusline``: one line for Claude Code's status bar, on every update.

Claude Code runs the command several times a second with a JSON object on
stdin. So this path never opens the database and imports nothing heavy:

- this session's cost comes from the transcript Claude Code names, read
  incrementally (a small per-session state file remembers the offset and the
  responses seen, deduplicated as everywhere else);
- today's cost and the active 5-hour block come from a summary file that a
  background ``ccspend statusline --refresh`` rewrites, started at most every
  few seconds and never waited for;
- the official ``rate_limits`` readings are appended to a small file that the
  refresh moves into the database.

A missing or malformed input prints a short fallback and exits 0: a status
line must never break the status bar.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import zlib
from pathlib import Path

from ccspend import paths
from ccspend.pricing.names import normalise_model, strip_iso_date

REFRESH_EVERY = 5.0  # seconds between background refreshes of the summary
REFRESH_STALE = 60.0  # a refresh lock older than this is from a process that died
FALLBACK = "ccspend: no status input"
WARN_AT = 80.0  # percent of a limit: warning colour
ALERT_AT = 95.0


def state_dir(db: Path | None = None) -> Path:
    db = db or paths.default_db_path()
    return Path(str(db) + ".cache") / "statusline"


# -- input ---------------------------------------------------------------------


def read_input(stream) -> dict | None:
    """Claude Code's status object, or None when there is none to read."""
    try:
        if stream is None or stream.isatty():
            return None
        data = stream.read()
    except (OSError, ValueError):
        return None
    try:
        obj = json.loads(data) if data and data.strip() else None
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _get(obj: object, *keys: str):
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
    with contextlib.suppress(OSError):
        memo_file.write_text(json.dumps({"key": key, "cost": cost}))
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
        records, end = _scan(data, state["offset"])
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
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = state_file.with_suffix(f".{os.getpid()}")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, state_file)
        except OSError:
            pass
    return state["responses"]


SMALL_READ = 1 << 20  # below this, the standard library's json is quicker than importing msgspec


def _scan(data: bytes, base: int) -> tuple[list[dict], int]:
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


def price_response(row: list, prices: dict) -> float | None:
    """USD of one response row at the summary's prices (None: the model has no price)."""
    _ts, model, inp, out, c5, c1, cr, ws = row
    raw = (model or "").lower()
    p = prices.get(raw) or prices.get(normalise_model(raw))
    if p is None:
        p = prices.get(strip_iso_date(normalise_model(raw)))
    if p is None:
        return None
    tier = p["base"]
    threshold = p.get("lc_threshold")
    if threshold is not None and inp + c5 + c1 + cr > threshold and p.get("lc"):
        tier = p["lc"]
    return (
        inp * tier[0] + out * tier[1] + c5 * tier[2] + c1 * tier[3] + cr * tier[4]
    ) / 1e6 + ws * p.get("ws", 0.0) / 1000


def price_responses(responses: dict, prices: dict) -> tuple[float, list[str]]:
    """USD of the responses at the summary's prices; and the models it had no price for."""
    total = 0.0
    unknown: list[str] = []
    for row in responses.values():
        usd = price_response(row, prices)
        if usd is None:
            if row[1] not in unknown:
                unknown.append(row[1])
            continue
        total += usd
    return total, unknown


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
        r = _get(obj, "rate_limits", window)
        used = _get(r, "used_percentage")
        if isinstance(used, (int, float)) and not isinstance(used, bool):
            resets = _get(r, "resets_at")
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
        lines.append(json.dumps([int(now * 1e6), _get(obj, "session_id"), window, *value]))
    if lines:
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / "readings.jsonl", "a") as fh:
                fh.write("\n".join(lines) + "\n")
            last_file.write_text(json.dumps(last))


# -- the line --------------------------------------------------------------------


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


def pace(used_pct: float, resets_at: float, window_s: float, now: float) -> float:
    """Points ahead (+) of or behind (-) an even spend across the window."""
    start = resets_at - window_s
    elapsed = min(max((now - start) / window_s, 0.0), 1.0) * 100
    return used_pct - elapsed


def render(obj: dict, session_cost: float | None, summary: dict | None, now: float,
           colour: bool) -> str:  # fmt: skip
    """The status line's text, from the input, this session's cost and the summary."""
    parts = []
    model = _get(obj, "model", "display_name") or _get(obj, "model", "id")
    if isinstance(model, str) and model:
        parts.append(model)
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
        used = _get(obj, "rate_limits", window, "used_percentage")
        if not isinstance(used, (int, float)) or isinstance(used, bool):
            continue
        text = f"{label} {used:.0f}%"
        resets = _get(obj, "rate_limits", window, "resets_at")
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
        folder = state_dir()
        summary = read_summary(folder)
        record_readings(obj, folder, now)
        maybe_refresh(folder, summary, now)
        this_session = None
        transcript = obj.get("transcript_path")
        if isinstance(transcript, str) and transcript and summary is not None:
            this_session = session_cost(transcript, folder, summary)
        colour = not os.environ.get("NO_COLOR")
        stdout.write(render(obj, this_session, summary, now, colour) + "\n")
    except Exception:  # noqa: BLE001 - a status line must never break the status bar
        stdout.write(FALLBACK + "\n")
    return 0


def shell_line(now: float | None = None) -> str:
    """For a shell prompt: today's cost and the block, from the summary (no stdin)."""
    now = time.time() if now is None else now
    folder = state_dir()
    summary = read_summary(folder)
    maybe_refresh(folder, summary, now)
    if not summary:
        return "ccspend …"
    text = f"${summary.get('today_cost_usd', 0):.2f} today"
    block = summary.get("block")
    if block and block.get("end_s", 0) > now:
        text += f" · block ${block['cost_usd']:.2f} {_left(block['end_s'] - now)} left"
    return text
