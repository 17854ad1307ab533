"""Incremental, idempotent ingest of the SQLite agents (OpenCode, Kilo, Goose, Hermes,
Copilot CLI's session store).

Why it looks like this:

- **Never change or lock the agent's database.** The store's ``agent_db`` opens
  it read-only (no ``-wal``/``-shm`` created, no lock held after the read; a
  busy database is a warning and is read next time), and an unchanged database
  (its and its WAL's size, mtime and inode: ``signature``) is not opened at all.
- **Only what changed.** Each database has a row in ``files`` (its path) whose
  ``read_offset`` is the watermark of the last read (ms, or an event id) and
  whose ``head_hash`` is its signature. A read asks for the sessions with rows
  written after the watermark (less the reader's ``SLACK``) and gets each such
  session whole.
- **A changed row replaces its record.** Each session's records are stored as
  a file of their own, ``<database>#<session>``, whose ``head_hash`` is a hash
  of its records: a session read again is written only when its records
  differ, and then replaces the stored ones in one transaction. The old rows
  are retired, not dropped (``FileUpdate.retire``): a record the new read still
  holds (same id, at least its output) is pruned, and one the agent deleted (an
  OpenCode revert removes messages that were billed) stays counted, as a
  rewound Claude Code session's do.
- A record's id is the reader's, the same on every read (and, for OpenCode's
  forks, the same as the original's), so the store's deduplication counts a
  call once whichever file holds it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from pathlib import Path

import msgspec

from ccspend.ingest.claude import IngestReport, Writer
from ccspend.sources.logfiles import LogFile
from ccspend.store import FileUpdate, Store, agent_db

SESSION_MARK = "#"  # a session's pseudo-file: ``<database>#<session id>``


def read_db(module, path: str, since: int | None) -> tuple[list[dict], int | None, int]:
    """The records of the sessions of ``path`` changed since the watermark ``since``
    (None: all), the new watermark, and how many rows were bad."""
    rows = agent_db.fetch(module.FAMILY, path, since)
    records, bad = module.records(rows)
    return records, rows["watermark"], bad


def ingest_agent_db(store: Store, agent, roots: list[Path]) -> IngestReport:
    """Bring the store up to date with the databases of ``agent`` below ``roots``."""
    module = importlib.import_module(agent.module)
    report = IngestReport(roots=list(roots))
    dbs = []
    for db in module.discover(roots):
        path = str(db)
        try:
            path.encode("utf-8")
            st = os.stat(path)
        except (UnicodeEncodeError, OSError) as exc:
            report.unreadable[path.encode("utf-8", "surrogateescape").decode(
                "utf-8", "backslashreplace")] = getattr(exc, "strerror", None) or "bad name"
            continue
        dbs.append((path, st))
        report.files.append(LogFile(path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino))
    report.files_seen = len(dbs)
    if not dbs:
        return report
    states = store.file_states(agent.name, [p for p, _ in dbs])
    for path, st in dbs:
        _ingest_one(store, agent.name, module, path, st, states.get(path), report)
    return report


def _ingest_one(store: Store, source: str, module, path: str, st: os.stat_result,
                state, report: IngestReport) -> None:
    sig = agent_db.signature(path)
    if state is not None and state.head_hash == sig:
        return  # nothing written since the last read
    since = None
    if state is not None and state.read_offset > 0:
        since = max(0, state.read_offset - getattr(module, "SLACK", 0))
    try:
        records, mark, bad = read_db(module, path, since)
    except agent_db.Busy as exc:
        report.unreadable[path] = f"{exc}; read next time"
        return
    except agent_db.NotSqlite as exc:
        report.unreadable[path] = f"not a readable SQLite database ({exc})"
        return
    except OSError as exc:
        report.unreadable[path] = exc.strerror or type(exc).__name__
        return
    sessions: dict[str, list[dict]] = {}
    for rec in records:
        sessions.setdefault(rec["sid"] or "", []).append(rec)
    names = {sid: f"{path}{SESSION_MARK}{sid}" for sid in sessions}
    known = store.file_states(source, list(names.values())) if names else {}
    updates: list[FileUpdate] = []
    rows: list[dict] = []
    for sid, recs in sorted(sessions.items()):
        recs.sort(key=lambda r: (r["ts"], r["mid"]))
        digest = _digest(recs)
        name = names[sid]
        was = known.get(name)
        if was is not None and was.head_hash == digest:
            continue  # read again (the slack, a sibling's change) but the same
        index = len(updates)
        for offset, rec in enumerate(recs):
            rec["f"] = index
            rec["o"] = offset
        rows.extend(recs)
        updates.append(FileUpdate(
            path=name, source=source, dev=st.st_dev, ino=st.st_ino, size=len(recs),
            mtime_ns=st.st_mtime_ns, start=0, end=len(recs), head_hash=digest, skipped=0,
            agent_id=None, agent_type=None, replace=was is not None, retire=True, expected=was,
            tmp_id=index, first_ts_us=recs[0]["ts"], last_ts_us=max(r["ts"] for r in recs),
        ))  # fmt: skip
    watermark = max(mark or 0, state.read_offset if state is not None else 0)
    # The database's own row: its signature and watermark, with the bad rows of this read.
    updates.append(FileUpdate(
        path=path, source=source, dev=st.st_dev, ino=st.st_ino, size=st.st_size,
        mtime_ns=st.st_mtime_ns, start=0, end=watermark, head_hash=sig, skipped=bad,
        agent_id=None, agent_type=None, replace=state is not None, expected=state,
        tmp_id=len(updates),
    ))  # fmt: skip
    fd, sink = tempfile.mkstemp(prefix="ccspend-agentdb-", suffix=".ndjson")
    writer = Writer(store, "records")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(msgspec.json.Encoder().encode_lines(rows))
        writer.write(updates, [sink] if rows else [])
    finally:
        writer.close()
        os.unlink(sink)
    report.files_read += 1
    report.records += len(rows)
    if bad:
        report.skipped[path] = bad


def _digest(records: list[dict]) -> str:
    """What a session's records hold: when a read gives the same, nothing is written."""
    return "rec:" + hashlib.blake2b(msgspec.json.encode(records), digest_size=12).hexdigest()
