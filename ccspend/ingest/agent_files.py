"""Incremental ingest of the file-based agents' logs (Codex CLI, Gemini CLI, ...) into the store.

One front end for every agent of kind ``files`` in the registry
(``ccspend.sources.agents``): their records have the Claude Code records'
shape, so they land in ``requests`` beside them, under files whose source is
the agent's name, and every report, the deduplication and the pricing treat
all agents alike (``--source <agent>`` picks one out).

Unlike a Claude Code line, an agent's line often only means something after
the lines before it (Codex: the model comes from an earlier ``turn_context``,
a call is the difference between two running totals; Gemini CLI: a message is
appended again each time it changes, and the last copy is the one that
counts), so a log that changed is read again from its start and its rows
replaced, in one transaction. A log is a few megabytes at most and an
unchanged one is never opened, so this costs little; each reader gives a
record the same id on every read of the file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import msgspec

from ccspend.ingest.claude import IngestReport, Writer, temp_folder
from ccspend.sources.logfiles import storable
from ccspend.store import FileUpdate, Store


def _complete_end(path: str, size: int) -> int:
    """The offset just past the file's last newline (its last complete line)."""
    with open(path, "rb") as fh:
        step = 64 * 1024
        pos = size
        while pos > 0:
            start = max(0, pos - step)
            fh.seek(start)
            chunk = fh.read(pos - start)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                return start + nl + 1
            pos = start
    return 0


def ingest_agent_files(store: Store, agent, reader, roots: list[Path]) -> IngestReport:
    """Bring the store up to date with every log of ``agent`` (a registry ``Agent`` of kind
    ``files``; ``reader``: its module) below ``roots``."""
    source = agent.name
    # where the complete part of a log ends: a reader of whole JSON documents says its own
    end_of = getattr(reader, "complete_end", _complete_end)
    report = IngestReport(roots=list(roots))
    files, misnamed = storable(reader.discover(roots))
    report.unreadable.update(misnamed)
    report.files = files
    report.files_seen = len(files)
    if not files:
        return report
    states = store.file_states(source, [f.path for f in files])
    changed = [
        f for f in files
        if (st := states.get(f.path)) is None
        or (st.size, st.mtime_ns, st.ino) != (f.size, f.mtime_ns, f.ino)
    ]  # fmt: skip
    if not changed:
        return report
    tmpdir = temp_folder("ccspend-agent-")
    writer = Writer(store, "records")
    encode = msgspec.json.Encoder().encode
    try:
        updates: list[FileUpdate] = []
        sink_path = os.path.join(tmpdir, "records.ndjson")
        with open(sink_path, "wb") as sink:
            for index, log in enumerate(changed):
                try:
                    end = end_of(log.path, log.size)
                    records, skipped = reader.read(log.path, index)
                except OSError as exc:
                    report.unreadable[log.path] = exc.strerror or type(exc).__name__
                    continue
                # a last line still being written is read again with the rest next time
                records = [r for r in records if r["o"] < end]
                if records:
                    sink.write(b"\n".join(encode(r) for r in records) + b"\n")
                expected = states.get(log.path)
                updates.append(FileUpdate(
                    path=log.path, source=source, dev=log.dev, ino=log.ino, size=log.size,
                    mtime_ns=log.mtime_ns, start=0, end=end, head_hash=None, skipped=skipped,
                    agent_id=None, agent_type=None, replace=expected is not None,
                    expected=expected, tmp_id=index,
                    first_ts_us=min((r["ts"] for r in records), default=None),
                    last_ts_us=max((r["ts"] for r in records), default=None),
                ))  # fmt: skip
                report.files_read += 1
                report.bytes_read += end
                report.records += len(records)
                if skipped:
                    report.skipped[log.path] = skipped
        if updates:
            paths = [sink_path] if os.path.getsize(sink_path) else []
            writer.write(updates, paths)
    finally:
        writer.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
    return report

