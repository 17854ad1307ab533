"""Incremental, idempotent ingest of Claude Code logs into the store.

The store remembers, per file, its identity (device, inode, a fingerprint of
its first bytes), size, and the offset just past its last complete line. A run
reads only the bytes added since; a file that shrank or was replaced is read
again from the start, its old rows kept under a retired file where the new
content lacks them (``store.write_ingest``); an incomplete last line is left
for the next run. Rows and the offset that covers them are committed in one
transaction, so a run killed half-way leaves the store consistent and the next
run reads the interrupted file again.

Parsing happens with the database closed; the database is opened only to write
a batch, so other ccspend processes (a status line, a report) are never kept
waiting for long. Large cold ingests are spread over the machine's cores.
"""

from __future__ import annotations

import errno
import gc
import mmap
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ccspend.core import timing
from ccspend.core.digest import blake2b
from ccspend.core.errors import CcspendError
from ccspend.core.records import Factory, Frozen, Record
from ccspend.sources import claude_record
from ccspend.sources.logfiles import LogFile, discover, log_files_of, storable
from ccspend.store import FileState, FileUpdate, Store

SOURCE = "claude-code"
HEAD_BYTES = 4096
CHUNK = 8 << 20  # bytes read at a time: bounds memory whatever the file size
# below this, a second process costs more than it saves (tests lower it: CCSPEND_PARALLEL_MIN_BYTES)
PARALLEL_MIN_BYTES = int(os.environ.get("CCSPEND_PARALLEL_MIN_BYTES", 48 << 20))
BATCH_BYTES = int(os.environ.get("CCSPEND_BATCH_BYTES", 64 << 20))  # per parse job, at most
# Parsed records wait on disk and are written in one transaction per this many
# log bytes: the database is held once, briefly, instead of once per parse job,
# and the parse workers keep both cores while nothing is being written.
FLUSH_BYTES = int(os.environ.get("CCSPEND_FLUSH_BYTES", 1 << 30))
HOLD_SECONDS = 0.5  # a writer releases the database at least this often
# New bytes up to this many are read with ``json`` (``claude_record.scan_plain``) and
# written as flat records: importing msgspec and the fast scanner costs a report after
# a new line more (some 25 ms) than it saves on a few lines (tests: CCSPEND_PLAIN_MAX_BYTES)
PLAIN_MAX_BYTES = int(os.environ.get("CCSPEND_PLAIN_MAX_BYTES", 1 << 20))

Progress = Callable[[int, int, int, int], None]  # bytes_done, bytes_total, files_done, files_total


class IngestReport(Record):
    """What an ingest run saw and did."""

    roots: list[Path]
    files: list[LogFile] = Factory(list)  # as found, before reading
    files_seen: int = 0
    files_read: int = 0
    bytes_read: int = 0
    records: int = 0
    # bad lines read this run, per file
    skipped: dict[str, int] = Factory(dict)
    unreadable: dict[str, str] = Factory(dict)  # path -> reason
    seconds: float = 0.0


class _Task(Frozen):
    log: LogFile
    start: int
    replace: bool
    expected: FileState | None
    index: int = 0  # unique within a run: ties a file's records to its state


def _head_hash(path: str, length: int, head: bytes | None = None) -> str | None:
    """Fingerprint of a file's first ``length`` bytes, stored with the length it covers.

    ``head``: the file's first bytes, when a read from its start has them
    already (no second open).
    """
    if length <= 0:
        return None
    if head is None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(length)
        except OSError:
            return None
    if len(head) < length:
        return None
    return f"{length}:{blake2b(head[:length], digest_size=8).hexdigest()}"


def plan(files: list[LogFile], states: dict[str, FileState]) -> list[_Task]:
    """Which files need reading, and from where."""
    tasks: list[_Task] = []
    for log in files:
        st = states.get(log.path)
        if st is None:
            tasks.append(_Task(log, 0, False, None))
            continue
        if log.size == st.size and log.mtime_ns == st.mtime_ns and (log.dev, log.ino) == (
            st.dev,
            st.ino,
        ):
            continue  # unchanged
        same_file = (log.dev, log.ino) == (st.dev, st.ino) and log.size >= st.read_offset
        if same_file and st.head_hash:
            length = int(st.head_hash.split(":", 1)[0])
            same_file = _head_hash(log.path, length) == st.head_hash
        if same_file:
            tasks.append(_Task(log, st.read_offset, False, st))
        else:
            tasks.append(_Task(log, 0, True, st))
    return [
        _Task(t.log, t.start, t.replace, t.expected, i) for i, t in enumerate(tasks)
    ]


class ReadBuffer:
    """A page-aligned buffer that file pieces are read into, reused from file to file.

    Why not ``fh.read()``: each read makes a fresh object (a large one is
    fresh pages, which the kernel faults in and zeroes). Why page-aligned (an
    anonymous ``mmap``, not a ``bytearray``): the kernel copies from the page
    cache with ``rep movsb``, which on this project's AMD machines runs at under
    1 GB/s when the destination sits 8 to 24 bytes past a page boundary, where a
    bytearray's data does (malloc's header), against 11 to 14 GB/s aligned. A
    reused bytearray made the parse slower than ``read()``; this buffer makes it
    some 4% faster (the copy of a 1 GiB history is then bound by the memory's
    pace: about 0.28 s of a core).
    """

    def __init__(self, size: int) -> None:
        self.map = mmap.mmap(-1, max(size, mmap.PAGESIZE))

    def fill(self, fh, size: int) -> int:
        """Read up to ``size`` bytes of ``fh`` into the buffer's start; the count read."""
        if len(self.map) < size:
            self.map.close()
            self.map = mmap.mmap(-1, size)
        with memoryview(self.map) as view:
            return fh.readinto(view[:size])

    def close(self) -> None:
        self.map.close()


def _read_file(task: _Task, index: int, sink, buf: ReadBuffer | None = None,
               ) -> tuple[FileUpdate, int, str | None, int]:
    """Scan one file from its start offset; write its records to ``sink``.

    Returns the update, the bytes read, a reason if the file could not be read,
    and the number of records written. ``buf``: the buffer to read into (a
    batch's, reused from file to file), else one for this file.
    """
    import msgspec

    from ccspend.sources.claude_code import best_per_response, micros, scan

    log = task.log
    pos = task.start
    skipped = 0
    nrec = 0
    error = None
    want = CHUNK
    own = buf is None
    if own:
        buf = ReadBuffer(min(want, max(log.size - pos, 0)))
    first_ts = None
    last_ts = None
    encode_lines = msgspec.json.Encoder().encode_lines  # one call per chunk, newline-ended
    head_bytes = None  # the file's first bytes, when this read starts at 0
    try:
        with open(log.path, "rb", buffering=0) as fh:
            fh.seek(pos)
            while pos < log.size:
                got = buf.fill(fh, min(want, log.size - pos))
                if not got:
                    break
                data = buf.map
                if pos == 0:
                    head_bytes = data[:min(got, HEAD_BYTES)]
                result = scan(data, pos, index, got)
                skipped += result.skipped
                if result.first_ts is not None:
                    first_ts = result.first_ts
                if result.lines:
                    stamps = [line.ts for line in result.lines]
                    if task.start == 0 and first_ts is None:
                        first_ts = micros(min(stamps))
                    newest = micros(max(stamps))
                    last_ts = newest if last_ts is None else max(last_ts, newest)
                    kept = best_per_response(result.lines)
                    nrec += len(kept)
                    sink.write(encode_lines(kept))
                if result.end == pos:
                    if pos + got >= log.size:
                        break  # only an incomplete last line remains
                    want *= 2  # a line longer than the chunk: read more at once
                else:
                    want = CHUNK
                pos = result.end
                fh.seek(pos)
    except OSError as exc:
        error = exc.strerror or type(exc).__name__
        pos = task.start
    finally:
        if own:
            buf.close()
    update = _update(task, index, pos, head_bytes, skipped, error, first_ts, last_ts)
    return update, (pos - task.start) if error is None else 0, error, nrec


def _read_file_plain(task: _Task, index: int, sink) -> tuple[FileUpdate, int, str | None, int]:
    """``_read_file`` for a few new bytes: read at once with ``json``
    (``claude_record.scan_plain``), written to ``sink`` as flat records (the ``records``
    shape of ``Store.write_ingest``)."""
    import json

    log = task.log
    pos = task.start
    skipped = nrec = 0
    error = None
    first_ts = last_ts = head_bytes = None
    try:
        with open(log.path, "rb", buffering=0) as fh:
            fh.seek(pos)
            data = fh.read(max(log.size - pos, 0))
        if pos == 0:
            head_bytes = data[:HEAD_BYTES]
        try:
            records, skipped, end, first_ts = claude_record.scan_plain(data, pos, index)
        except claude_record.Unsure:  # a line json alone cannot judge: the fast scanner's
            from ccspend.sources.claude_code import scan_records

            records, skipped, end, first_ts = scan_records(data, pos, index)
        if records:
            stamps = [rec["ts"] for rec in records]
            if task.start == 0 and first_ts is None:
                first_ts = min(stamps)
            last_ts = max(stamps)
            kept = claude_record.best_records(records)
            nrec = len(kept)
            sink.write("".join(json.dumps(rec) + "\n" for rec in kept).encode("utf-8"))
        pos = end
    except OSError as exc:
        error = exc.strerror or type(exc).__name__
        pos = task.start
    update = _update(task, index, pos, head_bytes, skipped, error, first_ts, last_ts)
    return update, (pos - task.start) if error is None else 0, error, nrec


def _update(task: _Task, index: int, end: int, head_bytes, skipped: int, error: str | None,
            first_ts: int | None, last_ts: int | None) -> FileUpdate:  # fmt: skip
    """The file's new state after a read up to ``end``."""
    log = task.log
    head = _head_hash(log.path, min(HEAD_BYTES, end), head_bytes) if error is None else None
    if task.expected is not None and not task.replace and head is None:
        head = task.expected.head_hash
    return FileUpdate(
        path=log.path,
        source=SOURCE,
        dev=log.dev,
        ino=log.ino,
        size=log.size,
        mtime_ns=log.mtime_ns,
        start=task.start,
        end=end,
        head_hash=head,
        skipped=skipped,
        agent_id=log.agent_id,
        agent_type=claude_record.subagent_type(log.path, log.agent_id),
        replace=task.replace,
        retire=task.replace,  # a rewritten transcript keeps its history (docs/reports.md)
        expected=task.expected,
        tmp_id=index,
        first_ts_us=first_ts,
        last_ts_us=last_ts,
    )


TEMP_PREFIXES = ("ccspend-ingest-", "ccspend-codex-", "ccspend-agent-")  # + "<pid>-": whose it is


def temp_folder(prefix: str) -> str:
    """A private temporary folder named with this process's id, after removing those
    that processes now gone left behind (a kill -9, a power cut: 10-20 MB each)."""
    sweep_temp()
    return tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")


def sweep_temp(older_unnamed_s: float = 86400) -> int:
    """Remove the ingest's temporary folders whose process is gone; the number removed.

    A folder is named ``<prefix><pid>-<random>``: it is removed when no process
    has that id (or it is not ours). One of an older ccspend, named without the
    id, is removed once older than ``older_unnamed_s``: no ingest takes a day.
    """
    root = tempfile.gettempdir()
    removed = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    now = time.time()
    me = os.getuid()
    for entry in entries:
        prefix = next((p for p in TEMP_PREFIXES if entry.name.startswith(p)), None)
        if prefix is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if st.st_uid != me or not entry.is_dir(follow_symlinks=False):
            continue
        pid_text = entry.name[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and entry.name.count("-") >= 3:
            if int(pid_text) == os.getpid() or _alive(int(pid_text)):
                continue
        elif now - st.st_mtime < older_unnamed_s:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's process, alive
        return True
    return True


def _quiet_worker(parent: int) -> None:
    """A parse worker leaves signals to the process that started it: a Ctrl-C (sent to
    the whole foreground group) is that process's to handle, which then ends the
    workers with SIGTERM, at its default action (no traceback from each of them).

    And it dies with that process (Linux: ``PR_SET_PDEATHSIG``): after a kill -9 an
    orphaned worker would parse on, then print a traceback for each result it could
    no longer hand back.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before the line above
        os._exit(0)


def _read_batch(args: tuple[list[_Task], str, bool]) -> tuple[str, list, int]:
    """Read a batch of files into one NDJSON records file (runs in a worker process);
    ``plain``: a few new bytes, read by ``_read_file_plain``."""
    tasks, tmpdir, plain = args
    fd, path = tempfile.mkstemp(suffix=".ndjson", dir=tmpdir)
    results = []
    total = 0
    if plain:
        with os.fdopen(fd, "wb") as sink:
            for task in tasks:
                update, nbytes, error, nrec = _read_file_plain(task, task.index, sink)
                results.append((update, nbytes, error, nrec))
                total += nbytes
        return path, results, total
    buf = ReadBuffer(min(CHUNK, max(t.log.size - t.start for t in tasks)))  # the batch's
    # No cyclic garbage is made here, yet the collector ran every few hundred
    # container objects made (results, lists of lines), and its passes over the
    # objects a forked worker inherits cost 5-10% of the parse.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as sink:
            for task in tasks:
                update, nbytes, error, nrec = _read_file(task, task.index, sink, buf)
                results.append((update, nbytes, error, nrec))
                total += nbytes
    finally:
        buf.close()
        if collecting:
            gc.enable()
    return path, results, total


def _batch_bytes(total_bytes: int, workers: int) -> int:
    """Log bytes per parse job: about eight jobs per worker, of at most ``BATCH_BYTES``.

    Each job has a cost of its own (its file of records, which DuckDB opens, and
    its results sent back), so fewer jobs are cheaper: 64 MiB jobs made a cold
    1 GiB ingest 20 ms faster than 32 MiB ones. More jobs balance better at the
    end, when one worker may still be busy with its last job while the other
    has finished: eight per worker keep that wait under a few hundredths of a
    second.
    """
    if workers == 1:
        return BATCH_BYTES  # nothing to balance: as few jobs as the cap allows
    return min(BATCH_BYTES, max(4 << 20, total_bytes // (workers * 8)))


def _batches(tasks: list[_Task], batch_bytes: int) -> Iterator[list[_Task]]:
    batch: list[_Task] = []
    size = 0
    for task in tasks:
        batch.append(task)
        size += task.log.size - task.start
        if size >= batch_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class Writer:
    """Writes batches, holding the database only briefly at a time."""

    def __init__(self, store: Store, shape: str = "claude-lines") -> None:
        self.store = store
        self.shape = shape  # of the NDJSON records: see ``Store.write_ingest``
        self._ctx = None
        self._con = None
        self._since = 0.0

    def write(self, updates: list[FileUpdate], records: list[str]) -> int:
        if self._con is None:
            self._ctx = self.store.connect(write=True)
            self._con = self._ctx.__enter__()
            self._since = time.monotonic()
        try:
            n = self.store.write_ingest(self._con, updates, records, self.shape)
        except BaseException as exc:
            # The store's connect turns a database error into a ccspend one on its way out
            ctx, self._ctx, self._con = self._ctx, None, None
            if not ctx.__exit__(type(exc), exc, exc.__traceback__):
                raise
        if time.monotonic() - self._since >= HOLD_SECONDS:
            self.close()
        return n

    def close(self) -> None:
        if self._ctx is not None:
            ctx, self._ctx, self._con = self._ctx, None, None
            ctx.__exit__(None, None, None)


def ingest_claude(
    store: Store,
    roots: list[Path],
    progress: Progress | None = None,
    workers: int | None = None,
    while_parsing: Callable[[], None] | None = None,
    walked: tuple[list, dict] | None = None,
) -> IngestReport:
    """Bring the store up to date with every Claude Code log below ``roots``.

    ``while_parsing`` is called once, in this process, while the parse workers
    run (or before a read done here, when there are none): a caller's own
    preparation (imports, the rate card) then costs no time of its own.
    ``walked``: a walk of exactly ``roots`` this process has just made (its
    ``logfiles.stat_logs`` rows, the folders it could not list, and the paths whose stat
    changed since a cached answer the store is still as it left, or None:
    ``answer_cache._changed``), planned from instead of walking the folders again; the
    store's states of the logs that did not change are then not read.
    """
    t0 = time.monotonic()
    report = IngestReport(roots=list(roots))
    changed = None  # the paths to plan (None: every file)
    if walked is None:
        folders: dict[str, str] = {}  # project folders that could not be listed
        found = discover(roots, folders)
    else:
        folders = dict(walked[1])
        found = log_files_of(walked[0])
        changed = walked[2] if len(walked) > 2 else None
    files, misnamed = storable(found)
    report.unreadable.update(folders)
    report.unreadable.update(misnamed)
    report.files = files
    report.files_seen = len(files)
    timing.mark("list-logs")
    # A database that does not exist yet knows no file: plan without creating it,
    # so the parse workers start at once and the schema is made while they run.
    fresh = not store.path.exists()
    todo = files if changed is None or fresh else [f for f in files if f.path in changed]
    states = {} if fresh else store.file_states(SOURCE, [f.path for f in todo])
    tasks = plan(todo, states)
    timing.mark("open-store-and-plan")
    if not tasks:
        if while_parsing is not None:
            while_parsing()
        report.seconds = time.monotonic() - t0
        return report
    total_bytes = sum(t.log.size - t.start for t in tasks)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if total_bytes >= PARALLEL_MIN_BYTES else 1
    plain = total_bytes <= PLAIN_MAX_BYTES  # a few new lines: no msgspec (_read_file_plain)
    tmpdir = temp_folder("ccspend-ingest-")
    writer = Writer(store, "records" if plain else "claude-lines")
    done_bytes = 0
    done_files = 0
    try:
        jobs = [(b, tmpdir, plain) for b in _batches(tasks, _batch_bytes(total_bytes, workers))]
        if workers > 1 and len(jobs) > 1:
            import multiprocessing  # here: a small ingest (one new line) never needs it

            ctx = multiprocessing.get_context("fork")
            pool = ctx.Pool(workers, initializer=_quiet_worker, initargs=(os.getpid(),))
            results = pool.imap(_read_batch, jobs)
        else:
            pool = None
            results = map(_read_batch, jobs)
        pending: list[FileUpdate] = []
        pending_paths: list[str] = []
        pending_bytes = 0

        def flush() -> None:
            nonlocal pending, pending_paths, pending_bytes
            if pending:
                writer.write(pending, pending_paths)
                writer.close()
            for p in pending_paths:
                os.unlink(p)
            pending, pending_paths, pending_bytes = [], [], 0

        try:
            if fresh and pool is not None:
                with store.connect(write=True):  # create and migrate while the workers parse
                    pass
            if while_parsing is not None:
                while_parsing()
            for path, file_results, nbytes in results:
                for update, _nbytes, error, nrec in file_results:
                    if error is not None:
                        report.unreadable[update.path] = error
                        continue
                    pending.append(update)
                    report.files_read += 1
                    report.records += nrec
                    if update.skipped:
                        report.skipped[update.path] = update.skipped
                if os.path.getsize(path):
                    pending_paths.append(path)
                else:
                    os.unlink(path)
                pending_bytes += nbytes
                done_bytes += nbytes
                done_files += len(file_results)
                report.bytes_read += nbytes
                # A short tail joins the last write: each write costs a connect,
                # a commit and a checkpoint, whatever its size.
                if pending_bytes >= FLUSH_BYTES and total_bytes - done_bytes >= FLUSH_BYTES // 4:
                    flush()
                if progress:
                    progress(done_bytes, total_bytes, done_files, len(tasks))
            timing.mark("parse")  # the workers are done: what follows is the write
            flush()
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0)
        where = exc.filename or f"writing in {tempfile.gettempdir()}"
        raise CcspendError(
            f"ingest stopped: {where}: {exc.strerror or exc}" + (f" ({name})" if name else ""),
            hint="what was written is consistent; the next run resumes where this one stopped",
        ) from None
    finally:
        try:
            writer.close()
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
    report.seconds = time.monotonic() - t0
    timing.mark("ingest-claude")
    return report
