"""What the file readers of other agents share: their roots, their walk, their records.

Each reader (``copilot``, ``amp``, ``pi``, ``openclaw``, ``codebuff``, ``droid``)
turns one agent's files into records of exactly the shape the Codex reader gives
(``ccspend.sources.codex``), so the store, its deduplication and the pricing treat
every agent alike. What differs between agents (where the files are, how their
counts relate, which copies must count once) is in each reader; only plumbing is
here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from ccspend.sources import logfiles
from ccspend.sources.agents.record import env_paths
from ccspend.sources.agents.record import record as agent_record
from ccspend.sources.claude_record import BAD, count, micros, request_time
from ccspend.sources.logfiles import LogFile

__all__ = ["BAD", "LogFile", "env_list", "files_below", "jsonl_objects", "record", "tokens",
           "when_us"]


def env_list(env: Mapping[str, str], name: str) -> list[Path] | None:
    """The folders an override names (``agents.record.env_paths``), None when unset."""
    return [Path(p) for p in env_paths(env, name)] or None


def files_below(roots: Iterable[Path], suffix: str, keep) -> Iterator[LogFile]:
    """Every regular file below ``roots`` whose name ends with ``suffix`` and that ``keep``
    (given the base name) accepts; a root that is itself a file is taken as it is (an
    override may name one file, as Copilot's exporter path does)."""
    folders: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for root in roots:
        try:
            st = os.stat(root)
        except OSError:
            continue
        if st.st_mode & 0o170000 == 0o100000:
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                yield LogFile(os.fspath(root), st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)
        else:
            folders.append(root)
    for path, size, mtime_ns, dev, ino in logfiles.stat_logs(folders, suffix=suffix):
        if (dev, ino) in seen or not keep(os.path.basename(path)):
            continue
        seen.add((dev, ino))
        yield LogFile(path, size, mtime_ns, dev, ino)


def tokens(*values: object) -> tuple[int, ...] | None:
    """The counts as ints (absent is 0), or None when one is no plausible count (the
    record is then a bad line, as an implausible Claude Code count is)."""
    out = tuple(count(v) for v in values)
    return None if any(c is BAD for c in out) else out


def when_us(value: object) -> int | None:
    """A timestamp as microseconds: an ISO 8601 string, or epoch seconds or milliseconds
    as a number; None when it is none or implausible (``claude_record.request_time``)."""
    if value.__class__ in (int, float) and value.__class__ is not bool:
        seconds = value / 1000 if value > 10**11 else value
        try:
            value = datetime.fromtimestamp(seconds, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    dt = request_time(value)
    return None if dt is None else micros(dt)


def record(ent: str, ts: int, sid: str | None, mid: str, model: str | None, *, inp: int = 0,
           out: int = 0, cw: int = 0, cr: int = 0, cwd: str | None = None,
           cu: float | None = None, ver: str | None = None, aid: str | None = None,
           f: int = 0, o: int = 0) -> dict:
    """One usage record in the store's shape (``agents.record.record``, the one builder),
    placed at file index ``f`` and offset ``o``. ``inp`` is uncached input, ``cw`` cache
    writes (billed at the 5-minute rate: no agent here tells the two apart), ``cu`` a
    cost the log states in USD."""
    rec = agent_record(ts=ts, sid=sid, mid=mid, model=model, inp=inp, out=out,
                       cache_read=cr, cache_write=cw, cwd=cwd, version=ver, entrypoint=ent,
                       agent_id=aid, cost=cu)
    rec["f"], rec["o"] = f, o
    return rec


def json_document(path: str, kind: type):
    """The JSON document a whole file holds, if it is a ``kind`` (dict or list), else None:
    not JSON (being rewritten, or garbage) or another shape. Amp's threads, Codebuff's
    chats and Droid's settings are such files; the caller counts a None as one bad record."""
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        doc = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None
    return doc if doc.__class__ is kind else None


def jsonl_objects(path: str, wanted: tuple[bytes, ...] = ()) -> tuple[list[tuple[int, dict]], int]:
    """The JSON objects of a JSONL file with each line's byte offset, and how many lines
    are bad (not JSON, not an object). A last line without its newline is being written:
    it is taken if it already parses, else left alone and not counted. With ``wanted``,
    a line holding none of those byte strings is stepped over undecoded."""
    with open(path, "rb") as fh:
        buf = fh.read()
    out: list[tuple[int, dict]] = []
    bad = 0
    pos = 0
    size = len(buf)
    while pos < size:
        nl = buf.find(b"\n", pos)
        last = nl < 0
        end = size if last else nl
        line = buf[pos:end].strip()
        if line.startswith(b"\xef\xbb\xbf"):
            line = line[3:].strip()
        if not line:
            pass
        elif not (line.startswith(b"{") and line.endswith(b"}")):
            bad += 0 if last else 1  # garbage, or a line cut short
        elif not wanted or any(w in line for w in wanted):
            try:
                obj = msgspec.json.decode(line)
            except (msgspec.DecodeError, RecursionError):
                obj = None
            if obj.__class__ is dict:
                out.append((pos, obj))
            elif not last:
                bad += 1
        pos = end + 1
    return out, bad
