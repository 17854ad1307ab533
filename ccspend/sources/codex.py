"""Codex CLI session logs ("rollouts"): find them, and turn their token counts into records.

Codex writes one JSON line per event to
``${CODEX_HOME:-~/.codex}/sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl``, each
``{timestamp, type, payload}``. Records come out in exactly the shape of the
Claude Code parser's (``ccspend.sources.claude_code.extract``), so the store,
the deduplication and the pricing treat both agents alike.

What a record is made of:

- ``session_meta`` gives the session id, cwd, CLI version and git branch;
  ``turn_context`` the model (and cwd) of the turns that follow it.
- An ``event_msg`` of type ``token_count`` reports usage after each model call:
  ``info.last_token_usage`` (that call) and ``info.total_token_usage`` (the
  session so far). Codex's ``input_tokens`` include ``cached_input_tokens``, so
  uncached input is the difference; ``reasoning_output_tokens`` are already a
  part of ``output_tokens`` and are never added.
- Not every ``token_count`` is a new call. One with ``info: null`` carries only
  rate limits; Codex also repeats the last reading (the same cumulative total)
  when only its rate limits changed. A reading whose total equals the previous
  one is therefore skipped, whatever its ``last_token_usage`` says. Where only
  the total is given, the call is the difference from the previous total (from
  zero at the start, or after the total went down).
- A call's id is ``<session>:<n>``, n counting the calls of the file from 1: the
  same on every read of the file, so re-reading never counts a call twice.

Bad lines (garbage, blank, truncated, a timestamp that does not parse) are
skipped and counted. A last line without its newline is being written: it is
read if it already parses, else left alone and not counted. Logs written before
September 2025 carry no token counts and give no records. Like the Claude Code
scanner, only lines that can matter are decoded: the rest (tool output, most of
a log's bytes) is stepped over.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import msgspec

from ccspend.sources import logfiles
from ccspend.sources.claude_code import BOM, parse_timestamp_us
from ccspend.sources.claude_record import BAD, MAX_TOKENS, count
from ccspend.sources.logfiles import LogFile

ENTRYPOINT = "codex"
# A session's running totals may pass one call's bound (claude_record.MAX_TOKENS) over
# a long session; past this they are no reading at all. Both keep BIGINT sums safe.
MAX_TOTAL = 10**13

_WANTED = (b'"token_count"', b'"turn_context"', b'"session_meta"')
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TAIL = 256 * 1024


def default_roots(env: Mapping[str, str] | None = None, home: Path | None = None) -> list[Path]:
    """``$CODEX_HOME/sessions``, else ``~/.codex/sessions`` (``env`` and ``home``: the
    registry's, ``ccspend.sources.agents``; by default this process's)."""
    if env is None and home is None:
        from ccspend.core import paths

        return [Path(paths.codex_sessions_str())]
    env = os.environ if env is None else env
    given = env.get("CODEX_HOME", "").strip()
    base = Path(given).expanduser() if given else Path(home or Path.home()) / ".codex"
    return [base / "sessions"]


SUFFIX = ".jsonl"


def accept(path: str) -> bool:
    """Whether a ``SUFFIX`` file found below the roots is a rollout (what ``discover`` keeps)."""
    return logfiles.is_rollout(path)


def discover(roots: list[Path]) -> Iterator[LogFile]:
    """Every ``rollout-*.jsonl`` below the given ``sessions`` folders."""
    for log in logfiles.discover(roots):
        if logfiles.is_rollout(log.path):
            yield log


def _usage(obj: object, most: int = MAX_TOKENS) -> tuple[int, int, int, int] | None | bool:
    """(input, cached, output, reasoning) of a TokenUsage object; None when there is none;
    False when a count is implausible (negative, over ``most``, not a whole number: the
    line is skipped and counted, as a Claude Code line with such a count is)."""
    if obj.__class__ is not dict:
        return None
    g = obj.get
    counts = tuple(count(g(k)) for k in ("input_tokens", "cached_input_tokens", "output_tokens",
                                         "reasoning_output_tokens"))  # fmt: skip
    if any(c is BAD or c > most for c in counts):
        return False
    return counts


def _str(value: object) -> str | None:
    return value if value.__class__ is str and value else None


class _Session:
    """What a file has said so far: who, where, which model, the last total."""

    def __init__(self, path: str) -> None:
        stem = os.path.basename(path)[: -len(".jsonl")]
        match = _UUID.search(stem)
        self.sid: str | None = match.group(0) if match else None
        self.meta_cwd: str | None = None
        self.cwd: str | None = None
        self.branch: str | None = None
        self.version: str | None = None
        self.model: str | None = None
        self.total: tuple[int, int, int, int] | None = None
        self.calls = 0

    def meta(self, payload: dict) -> None:
        self.sid = _str(payload.get("id")) or self.sid
        self.meta_cwd = _str(payload.get("cwd")) or self.meta_cwd
        self.version = _str(payload.get("cli_version")) or self.version
        self.model = self.model or _str(payload.get("model"))
        git = payload.get("git")
        if git.__class__ is dict:
            self.branch = _str(git.get("branch"))

    def context(self, payload: dict) -> None:
        self.model = _str(payload.get("model")) or self.model
        self.cwd = _str(payload.get("cwd")) or self.cwd

    def call(self, info: dict) -> tuple[int, int, int, int] | None | bool:
        """The usage of the model call a ``token_count`` reports, None when it is no new
        call, False when its counts are implausible (a bad line)."""
        total = _usage(info.get("total_token_usage"), MAX_TOTAL)
        last = _usage(info.get("last_token_usage"))
        if total is False or last is False:
            return False
        previous = self.total
        if total is not None:
            if total == previous:
                return None  # Codex repeated its last reading
            self.total = total
        if last is not None:
            used = last
        elif total is None:
            return None
        elif previous is None or any(t < p for t, p in zip(total, previous, strict=True)):
            used = total
        else:
            used = tuple(t - p for t, p in zip(total, previous, strict=True))
        return used if any(used) else None


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    """The usage records of one rollout file, and how many bad lines it has."""
    with open(path, "rb") as fh:
        buf = fh.read()
    session = _Session(path)
    records: list[dict] = []
    skipped = 0
    pos = 0
    size = len(buf)
    while pos < size:
        nl = buf.find(b"\n", pos)
        last = nl < 0
        end = size if last else nl
        obj = _decode(buf, pos, end)
        if obj is False:
            skipped += 0 if last else 1  # an unfinished last line is not bad (yet)
        elif obj is not None:
            rec = _apply(session, obj)
            if rec is False:
                skipped += 1
            elif rec is not None:
                rec["f"] = file_id
                rec["o"] = pos
                records.append(rec)
        pos = end + 1
    return records, skipped


def _decode(buf: bytes, start: int, end: int) -> dict | None | bool:
    """The line's object when it can matter, None when it cannot, False when it is bad."""
    line = buf[start:end].strip()
    if line.startswith(BOM):
        line = line[len(BOM):].strip()
    if not (line.startswith(b"{") and line.endswith(b"}")):
        return False
    if not any(marker in line for marker in _WANTED):
        return None  # a line that carries no usage: not decoded
    try:
        obj = msgspec.json.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return False
    return obj if obj.__class__ is dict else False


def _apply(session: _Session, obj: dict) -> dict | None | bool:
    """Fold a line into the session; the record of a new model call, else None (False: bad)."""
    payload = obj.get("payload")
    if payload.__class__ is not dict:
        return None
    kind = obj.get("type")
    if kind == "session_meta":
        session.meta(payload)
        return None
    if kind == "turn_context":
        session.context(payload)
        return None
    if kind != "event_msg" or payload.get("type") != "token_count":
        return None
    info = payload.get("info")
    if info.__class__ is not dict:
        return None  # rate limits only
    used = session.call(info)
    if used is None or used is False:
        return used
    ts = parse_timestamp_us(obj.get("timestamp"))
    if ts is None:
        return False
    session.calls += 1
    inp, cached, out, _reasoning = used  # reasoning is inside out
    sid = session.sid
    return {
        "ts": ts,
        "sid": sid,
        "mid": f"{sid}:{session.calls}",
        "rid": None,
        "model": session.model,
        "in": inp - cached if inp > cached else 0,
        "out": out,
        "c5": 0,
        "c1": 0,
        "cr": cached,
        "ws": 0,
        "cwd": session.cwd or session.meta_cwd,
        "br": session.branch,
        "ver": session.version,
        "ent": ENTRYPOINT,
        "sc": False,
        "aid": None,
        "err": False,
        "cu": None,
        "sp": None,
        "geo": None,
        "ki": 0,
        "ko": 0,
        "k5": 0,
        "k1": 0,
        "kr": 0,
    }


def latest_rate_limits(path: str) -> dict | None:
    """The last rate-limit reading in a rollout, read from the file's tail only.

    ``{"ts": microseconds, "primary": {...}, "secondary": {...}}`` with each window
    as Codex wrote it (``used_percent``, ``window_minutes``, ``resets_at``); None
    when the tail holds none.
    """
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - _TAIL))
            tail = fh.read()
    except OSError:
        return None
    for line in reversed(tail.split(b"\n")):
        if b'"rate_limits"' not in line or b'"token_count"' not in line:
            continue
        try:
            obj = msgspec.json.decode(line.strip())
        except (msgspec.DecodeError, RecursionError):
            continue
        payload = obj.get("payload") if obj.__class__ is dict else None
        limits = payload.get("rate_limits") if payload.__class__ is dict else None
        if limits.__class__ is not dict:
            continue
        reading = {"ts": parse_timestamp_us(obj.get("timestamp"))}
        for window in ("primary", "secondary"):
            if limits.get(window).__class__ is dict:
                reading[window] = limits[window]
        return reading
    return None
