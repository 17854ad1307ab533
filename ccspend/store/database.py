"""The store's database file: ``Store`` (opening, locking, migrating, the ingest's
writes) and the runs' journal. See the package's docstring (``ccspend.store``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ccspend.core.errors import CcspendError, StoreBusy, StoreCorrupt, StoreTooNew
from ccspend.core.records import Record
from ccspend.core.redact import redact_text
from ccspend.store import early, maintain
from ccspend.store.migrations import MIGRATIONS, Migration

if TYPE_CHECKING:
    import duckdb

# DuckDB is imported where a database is opened, not with this module: a cold
# ingest forks its parse workers first, so the import overlaps with their work
# and the workers start without it.

# The umask is the process's: a run opens the database from its ledger and alert
# threads too, so setting and restoring it is one step at a time.
_UMASK = threading.Lock()

# Two threads of one process (a run's ledger and its alert check) can open a new
# database at once; DuckDB lets both connect, and the second migration would fail
# on a write-write conflict. One migration at a time per process, and the second
# finds nothing left to do.
_MIGRATING = threading.Lock()

LOCK_TIMEOUT_ENV = "CCSPEND_LOCK_TIMEOUT"


class FileState(NamedTuple):
    """What the store remembers of a log file it has read."""

    file_id: int
    path: str
    dev: int | None
    ino: int | None
    size: int
    mtime_ns: int
    read_offset: int
    head_hash: str | None
    skipped_lines: int


class FileUpdate(Record):
    """One file's outcome of an ingest pass, written in the same transaction as its rows.

    A ``core.records`` record, not a dataclass or a msgspec Struct: this module is
    imported by every report, and either would first import what they are made with
    (some 15 and 25 ms)."""

    path: str
    source: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    start: int  # offset the read started at (0 on a re-read)
    end: int  # offset just past the last complete line read
    head_hash: str | None
    skipped: int  # bad lines in the bytes read this time
    agent_id: str | None
    agent_type: str | None
    replace: bool  # the file was truncated or replaced: drop its old rows first
    expected: FileState | None  # the state the read was planned from
    retire: bool = False  # on replace, keep the old rows under a retired file (history)
    tmp_id: int = 0  # the file's index in the run: its records carry it as "f"
    first_ts_us: int | None = None  # the file's first line (read from offset 0 only)
    last_ts_us: int | None = None  # the newest request read this time
    file_id: int | None = None


def is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


# A database left open at exit (``Store.keep_open(close=False)``) is checkpointed
# once its write-ahead log is past this size: each run's few commits append some
# kilobytes, and every open replays the whole log. A report after a new line adds
# about 4.3 KB, whose replay costs the next open some 2.3 ms, and a checkpoint some
# 25-35 ms: measured on the 25 MB history, the attach took 4 ms with no log, 9 ms
# with one run's, 11-17 ms with four's, 21-28 ms with eight's. Every fifth run or so
# checkpointing (a run's replay plus its share of a checkpoint: about 12 ms) beats
# every fifteenth (about 19 ms); a 740 KB log made the open 54 ms slower.
SETTLE_WAL_BYTES = 24 << 10
# The connections left open for the process's exit (a reference keeps them open).
_LEFT_OPEN: list = []


# The read-write databases this process has open, by real path: [the in-memory
# connection the file is attached to (``early.attach``), connections handed out].
# DuckDB lets a process attach a file once, so a second connection in this process
# (a run's ledger thread beside its follower, a reader while a write is open) is a
# cursor on the same one; the file is closed, and checkpointed, with the last. The
# registry lives in ``early``, which may have started attaching a file already.
_ATTACHED = early.ATTACHED
_HANDED: dict[int, str] = {}  # id of a connection handed out -> its key in _ATTACHED
# The attached databases whose migrations this process has found applied: while
# attached read-write the file is this process's alone, so the check (two queries,
# some 4 ms) is made once per attach, not at every connect.
_CURRENT_SCHEMA: set[str] = set()
# What an early opening asked of a file's schema in its thread, by key, until checked.
_SCHEMA_ASKED: dict[str, tuple] = {}
_ATTACHED_LOCK = early.LOCK


def _connect_writer(path: str) -> duckdb.DuckDBPyConnection:
    """A read-write connection whose database writes row groups of ``early.ROW_GROUP_SIZE``.

    The row group size is an option of ATTACH only: the database is attached
    to an in-memory one and made the default, so queries name its tables as
    they would with a plain connect.
    """
    key = os.path.realpath(path)
    with _ATTACHED_LOCK:
        if key not in _ATTACHED:  # attached early (``early.open_soon``), or now
            _ATTACHED[key] = [early.take(key) or early.attach(path), 0]
        return _hand_out(key)


def _attached_cursor(path: str) -> duckdb.DuckDBPyConnection | None:
    """A connection to ``path`` if this process has it open read-write, else None."""
    key = os.path.realpath(path)
    with _ATTACHED_LOCK:
        if key not in _ATTACHED:
            base = early.take(key)  # an early opening: the reader uses it too
            if base is None:
                return None
            _ATTACHED[key] = [base, 0]
        return _hand_out(key)


def _hand_out(key: str) -> duckdb.DuckDBPyConnection:
    """A new connection to the attached database ``key``, made ready (``early.use_store``;
    ``_ATTACHED_LOCK`` held): the one an early opening made ready in its thread, with
    the schema's facts it asked (``early.ready``), the first time; else a new cursor."""
    held = _ATTACHED[key]
    made = early.ready(key)
    if made is not None:
        con = made["con"]
        _SCHEMA_ASKED[key] = (made["names"], made["applied"])
    else:
        con = held[0].cursor()
        try:
            early.use_store(con)
        except BaseException:
            con.close()
            raise
    held[1] += 1
    _HANDED[id(con)] = key
    return con


def _release(con: duckdb.DuckDBPyConnection) -> None:
    """Close a connection; the last one handed out of an attached database detaches it
    (and checkpoints it: an error writing the file is raised, after the bookkeeping)."""
    try:
        con.close()
    finally:
        _forget(con)


def _forget(con: duckdb.DuckDBPyConnection) -> None:
    with _ATTACHED_LOCK:
        key = _HANDED.pop(id(con), None)
        if key is None:
            return
        held = _ATTACHED[key]
        held[1] -= 1
        if held[1] == 0:
            del _ATTACHED[key]
            _CURRENT_SCHEMA.discard(key)
            _SCHEMA_ASKED.pop(key, None)
            held[0].close()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failure, never hiding it: a COMMIT that failed (a full disk)
    has already ended the transaction, and the ROLLBACK's own error ("no transaction
    is active") would replace the one that says what went wrong."""
    with contextlib.suppress(Exception):
        con.execute("ROLLBACK")


# The system errors a write can meet, by the text DuckDB quotes (``strerror``).
_ERRNOS = ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EIO")


def errno_name(text: str) -> str | None:
    """The name (``ENOSPC``) of the system error whose text ``text`` quotes, if any."""
    for name in _ERRNOS:
        code = getattr(errno, name, None)
        if code is not None and os.strerror(code) in text:
            return name
    return None


def lock_timeout() -> float:
    try:
        return float(os.environ.get(LOCK_TIMEOUT_ENV, "15"))
    except ValueError:
        return 15.0


class Store:
    """A ccspend database file. Cheap to create; opens DuckDB only inside ``connect``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self._keeping = False
        self._closing = True
        self._kept: duckdb.DuckDBPyConnection | None = None
        # (the attach, source and states ``file_states`` last read): see ``_write_ingest``
        self._planned: tuple | None = None
        # what prices a small batch's new rows as it is written: see ``price_batches``
        self._batch_card: Callable[[], tuple | None] | None = None

    def settle(self) -> None:
        """Write a database kept open (``keep_open``) to its file now, if it will be closed.

        Its connection's close would otherwise checkpoint it after the report,
        changing the file the report's cached answer is fingerprinted with. A
        database left open for the process's exit (``keep_open(close=False)``)
        is not closed at all: its commits stay in the write-ahead log, which the
        answer's fingerprint covers and the next open replays, and the checkpoint
        (some 25 ms after a new line) is left to the run whose log has grown past
        ``SETTLE_WAL_BYTES``, so that replaying it stays cheap.
        """
        if self._kept is not None:
            from ccspend.store.engine import duckdb

            if not self._closing:
                try:
                    if os.path.getsize(str(self.path) + ".wal") <= SETTLE_WAL_BYTES:
                        return
                except OSError:  # no log: nothing to write
                    return
            try:
                self._kept.execute("CHECKPOINT")
            except duckdb.Error as exc:
                raise self._translate(exc) from None

    def refresh(self, card, sessions: bool = True) -> None:
        """Price the rows the ingest added and sum the rollup's buckets they changed,
        by ``card`` (``store.maintain``), if anything is pending.

        A report that has just ingested calls this before ``settle``: the write
        then belongs to the state its cached answer is fingerprinted with, and
        the report itself only reads. Pending work is left to the next writer
        when the database cannot be written (the report then prices as before).
        ``sessions``: ``session_totals`` too (only the session report reads it).
        """
        from ccspend.store import queries

        with self.connect() as con:  # the kept writer, when the ingest wrote
            if _current_with(con, card, sessions):
                return
        try:  # pending, and that connection was read-only: a writer, if one can be had
            with self.connect(write=True) as con:
                queries.load_card(con, card)
                maintain.up_to_date(con, queries.PRICE_COUNTED, sessions=sessions)
        except CcspendError:  # StoreBusy included: a read-only file, or held
            return  # the report prices from the lines

    # -- opening ---------------------------------------------------------

    @contextlib.contextmanager
    def keep_open(self, close: bool = True) -> Iterator[None]:
        """Within this block, the database stays open from its first write on.

        A report that has just ingested reads what it wrote: without this, the
        write's connection closes (a checkpoint) and the report opens the file
        again (reading it back). Nothing is opened here: a cold ingest still
        creates the database while its parse workers run.

        ``close=False``: the process ends (``os._exit``) right after the block,
        so the database is left open, never checkpointed by a close; see ``settle``.
        """
        self._keeping, self._closing = True, close
        try:
            yield
        finally:
            self._keeping = False
            kept, self._kept = self._kept, None
            if kept is not None:
                if close:
                    _release(kept)
                else:
                    _LEFT_OPEN.append(kept)

    def _open(self, write: bool) -> duckdb.DuckDBPyConnection:
        from ccspend.store.engine import duckdb

        deadline = time.monotonic() + lock_timeout()
        delay = 0.01
        while True:
            try:
                if write:
                    try:
                        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    except OSError as exc:
                        raise CcspendError(
                            f"cannot create the database folder {self.path.parent}: "
                            f"{exc.strerror or exc}",
                            hint="pass another --db or set CCSPEND_DB",
                        ) from None
                    with _UMASK:
                        old = os.umask(0o077)  # the database is created owner-only
                        try:
                            con = _connect_writer(str(self.path))
                        finally:
                            os.umask(old)
                    if self._keeping and self._kept is None:
                        self._kept = con  # every later connect of the block is this one
                    return con
                con = _attached_cursor(str(self.path))
                if con is None:  # a read of a file no connection of this process holds
                    con = duckdb.connect(str(self.path), read_only=True)
                    con.execute("SET TimeZone = 'UTC'")  # as ``early.use_store`` sets the others
                return con
            except duckdb.Error as exc:
                if is_lock_error(exc):
                    if time.monotonic() >= deadline:
                        raise StoreBusy(
                            f"the database {self.path} is held by another ccspend process",
                            hint=f"waited {lock_timeout():.0f}s; try again, or raise "
                            f"{LOCK_TIMEOUT_ENV}",
                        ) from None
                    time.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 2, 0.25)
                    continue
                raise self._translate(exc) from None

    def _translate(self, exc: Exception) -> CcspendError:
        text = str(exc)
        low = text.lower()
        if "not a valid duckdb" in low or "unable to open" in low or "magic" in low or (
            "serializ" in low and "version" not in low
        ):
            return StoreCorrupt(
                f"{self.path} is not a ccspend database",
                hint="move it away or pass another --db",
            )
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        name = errno_name(text)
        if name is not None:  # a full disk, a read-only file: the system's word for it
            why = os.strerror(getattr(errno, name))
            return CcspendError(
                f"cannot write the database {self.path}: {why} ({name})",
                hint="nothing half-written was kept; free some space or pass a writable --db",
            )
        return CcspendError(f"database error on {self.path}: {first}")

    @contextlib.contextmanager
    def connect(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one short piece of work, migrated and closed afterwards.

        Within ``keep_open``, once the database is open for writing, every connect gets
        the kept connection itself (migrated already, never closed here): the report
        reads the rate card the refresh loaded into its temporary tables, instead of
        loading it again on a connection of its own, and no write makes a connection
        of its own (two statements each: ``early.use_store``).
        """
        from ccspend.store.engine import duckdb

        kept = self._kept
        if kept is not None:
            try:
                yield kept
            except duckdb.Error as exc:
                raise self._translate(exc) from None
            except RuntimeError as exc:
                if "interrupted" in str(exc).lower():  # DuckDB's own word for a Ctrl-C
                    raise KeyboardInterrupt from None
                raise
            finally:
                if write:
                    self._restrict_permissions()
            return
        if not write and not self.path.exists():
            with self.connect(write=True):
                pass
        con = self._open(write)
        try:
            attached = _HANDED.get(id(con))  # this process's read-write attach of the file
            pending = [] if attached in _CURRENT_SCHEMA else self._pending_migrations(con)
            if not pending and attached is not None:
                _CURRENT_SCHEMA.add(attached)
            if pending:
                if not write:
                    _release(con)
                    with self.connect(write=True):
                        pass
                    con = self._open(False)
                else:
                    with _MIGRATING:
                        pending = self._pending_migrations(con)
                        if pending:
                            self._migrate(con, pending)
            yield con
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                self._drop(con)
            raise self._translate(exc) from None
        except RuntimeError as exc:
            with contextlib.suppress(duckdb.Error):
                self._drop(con)
            if "interrupted" in str(exc).lower():  # DuckDB's own word for a Ctrl-C
                raise KeyboardInterrupt from None
            raise
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # the error in flight is the one to tell
                self._drop(con)
            raise
        else:
            if con is not self._kept:  # the kept one closes when ``keep_open`` ends
                try:  # the last connection's close checkpoints: a full disk shows here
                    _release(con)
                except duckdb.Error as exc:
                    raise self._translate(exc) from None
        finally:
            if write:
                self._restrict_permissions()

    def _drop(self, con: duckdb.DuckDBPyConnection) -> None:
        """Close ``con`` after an error; the kept connection too, then opened anew."""
        if con is self._kept:
            self._kept = None
        _release(con)

    def _restrict_permissions(self) -> None:
        for p in (self.path, Path(str(self.path) + ".wal")):
            with contextlib.suppress(OSError):
                os.chmod(p, 0o600)

    # -- migrations ------------------------------------------------------

    def _pending_migrations(self, con: duckdb.DuckDBPyConnection) -> list[tuple[str, Migration]]:
        # duckdb_tables() and its kin, not information_schema: a first query of the
        # information schema costs some 10 ms, on every database opened. An early
        # opening asked both queries in its thread (``early._ready``).
        asked = _SCHEMA_ASKED.pop(_HANDED.get(id(con), ""), None)
        if asked is not None:
            names, applied_names = asked
        else:
            names = [r[0] for r in con.execute(early.SCHEMA_OBJECTS).fetchall()]
            applied_names = None
        if "schema_migrations" not in names:
            if names:  # anything of someone else's: never write into it
                raise StoreCorrupt(
                    f"{self.path} is a DuckDB file but not a ccspend database",
                    hint="pass another --db",
                )
            return list(MIGRATIONS)
        if applied_names is None:
            applied_names = [r[0] for r in con.execute(early.APPLIED).fetchall()]
        applied = set(applied_names)
        known = {name for name, _ in MIGRATIONS}
        if applied - known:
            raise StoreTooNew(
                f"{self.path} was written by a newer ccspend "
                f"(migrations {', '.join(sorted(applied - known))})",
                hint="upgrade ccspend; the database was left untouched",
            )
        return [(n, sql) for n, sql in MIGRATIONS if n not in applied]

    def _migrate(
        self, con: duckdb.DuckDBPyConnection, pending: list[tuple[str, Migration]]
    ) -> None:
        """Apply ``pending`` in one transaction: all of them, or none (a new database
        is made in one commit, not one per migration)."""
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())"
            )
            for name, step in pending:
                if callable(step):  # a migration in code: a redaction SQL cannot do
                    step(con)
                else:
                    con.execute(step)
                con.execute("INSERT INTO schema_migrations (name) VALUES (?)", [name])
            con.execute("COMMIT")
        except Exception:
            _rollback(con)
            raise

    def applied_migrations(self) -> list[str]:
        with self.connect() as con:
            return [r[0] for r in con.execute("SELECT name FROM schema_migrations ORDER BY name")
                    .fetchall()]

    # -- ingest ----------------------------------------------------------

    def file_states(
        self, source: str = "claude-code", paths: list[str] | None = None
    ) -> dict[str, FileState]:
        """What the store remembers of the files of ``source`` (of ``paths`` only, if
        given: the files on disk, not the history's deleted ones, which grow with it).

        Within ``keep_open`` the database is opened for writing here already: the
        ingest's write and the report then use this one open instead of three.
        """
        with self.connect(write=self._keeping) as con:
            states = self._file_states(con, source, paths)
            # Read through this process's read-write attach, which holds the file's lock
            # until it is detached: no other process can change them meanwhile, and the
            # first batch written on that same attach need not read them again.
            self._planned = (_ATTACHED.get(_HANDED.get(id(con), "")), source, states)
            return states

    @staticmethod
    def _file_states(
        con: duckdb.DuckDBPyConnection, source: str, paths: list[str] | None = None
    ) -> dict[str, FileState]:
        sql = ("SELECT file_id, path, dev, ino, size, mtime_ns, read_offset, head_hash, "
               "skipped_lines FROM files WHERE source = $source")  # fmt: skip
        params: dict = {"source": source}
        if paths is not None:
            sql += " AND path IN (SELECT unnest($paths::VARCHAR[]))"
            params["paths"] = paths
        return {r[1]: FileState(*r) for r in con.execute(sql, params).fetchall()}

    def write_ingest(
        self,
        con: duckdb.DuckDBPyConnection,
        updates: list[FileUpdate],
        records: list[str],
        shape: str = "records",
    ) -> int:
        """Write one batch: file states and their records, in one transaction.

        ``records`` are NDJSON files of one ``shape``: ``records`` (flat records
        with ``claude_record.extract``'s keys; the Codex ingest writes them) or
        ``claude-lines`` (the Claude Code scanner's ``Line`` objects, flattened here).

        A file whose stored state changed since the batch was planned (another
        ccspend process read it meanwhile) is dropped from the batch, so two
        processes never insert the same lines twice. Returns rows inserted.
        """
        small = sum(os.path.getsize(r) for r in records) <= maintain.SMALL_BYTES
        if small and updates and self._batch_card is not None:
            self._current_with_card(con)
        with maintain.one_thread(con, small):
            return self._write_ingest(con, updates, records, shape)

    def price_batches(self, card_of: Callable[[], tuple | None] | None) -> None:
        """Price a small batch's new rows as it is written, by the card ``card_of()``
        gives ((rate card, whether the session totals too), or None: not yet).

        A report after a new line then finds its rows priced and summed, and its refresh
        has nothing to do: the card is loaded, and the store brought current with it,
        before the batch (the statements the refresh ran after it), and the new rows,
        when they are the common case (``maintain._add_priced``), are priced and added
        to their rollup rows in the batch's own transaction.
        """
        self._batch_card = card_of

    def _current_with_card(self, con: duckdb.DuckDBPyConnection) -> None:
        """``con``'s store current with ``price_batches``' card, if it gives one."""
        wanted = self._batch_card()
        if wanted is not None:
            _current_with(con, *wanted)

    def _write_ingest(self, con: duckdb.DuckDBPyConnection, updates: list[FileUpdate],
                      records: list[str], shape: str) -> int:  # fmt: skip
        planned, self._planned = self._planned, None  # one batch per reading, at most
        con.execute("BEGIN TRANSACTION")
        try:
            if not updates:
                current = {}
            elif (planned is not None and planned[0] is not None and planned[1] == updates[0].source
                  and planned[0] is _ATTACHED.get(_HANDED.get(id(con), ""))):  # fmt: skip
                current = planned[2]  # read on this attach, which nothing has written since
            else:
                current = self._file_states(con, updates[0].source, [up.path for up in updates])
            accepted: list[FileUpdate] = []
            # a new id is needed for a new file or a retired one (an append needs none)
            next_id = (con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM files").fetchone()[0]
                       if any(current.get(up.path) is None or up.retire for up in updates)
                       else None)  # fmt: skip
            for up in updates:
                now_state = current.get(up.path)
                if now_state != up.expected:
                    continue
                if now_state is None:
                    up.file_id = next_id
                    next_id += 1
                else:
                    up.file_id = now_state.file_id
                accepted.append(up)
            if not accepted:
                con.execute("COMMIT")
                return 0
            # The batch's file states, as NDJSON that DuckDB reads: lists of
            # Python values bound as parameters cost 25 ms for 2,600 files.
            _load_batch_files(con, accepted)
            replaced = [up for up in accepted if up.replace and up.expected is not None]
            card = maintain.current_card(con)  # before the batch forgets it
            alone = not maintain.before_batch(con, [up.file_id for up in replaced])
            dropped = [up.file_id for up in replaced if not up.retire]
            if dropped:
                con.execute("DELETE FROM requests WHERE list_contains(?, file_id)", [dropped])
            retired = []
            for up in (up for up in replaced if up.retire):
                retired.append((up.file_id, next_id))
                _retire(con, up.file_id, next_id)
                next_id += 1
            inserted = 0
            if records:  # an INSERT's result is the count of rows it inserted
                inserted = con.execute(_INSERT[shape], [records]).fetchone()[0]
            for file_id, old_id in retired:
                _prune_retired(con, file_id, old_id)
            if any(up.expected is None for up in accepted):
                con.execute(
                    "INSERT INTO files (file_id, path, source, dev, ino, size, mtime_ns, "
                    "read_offset, head_hash, agent_id, agent_type, skipped_lines, first_ts, "
                    "last_ts, ingested_at) SELECT file_id, path, source, dev, ino, size, "
                    "mtime_ns, read_offset, head_hash, agent_id, agent_type, skipped_lines, "
                    "first_ts, last_ts, now() FROM batch_files WHERE is_new"
                )
            if any(up.expected is not None for up in accepted):
                con.execute(
                    "UPDATE files SET dev = b.dev, ino = b.ino, size = b.size, "
                    "mtime_ns = b.mtime_ns, read_offset = b.read_offset, "
                    "head_hash = b.head_hash, agent_id = b.agent_id, "
                    "agent_type = coalesce(b.agent_type, files.agent_type), "
                    "skipped_lines = b.skipped_lines, ingested_at = now(), "
                    "first_ts = CASE WHEN b.from_start THEN b.first_ts ELSE files.first_ts END, "
                    "last_ts = CASE WHEN b.from_start THEN b.last_ts "
                    "ELSE greatest(files.last_ts, b.last_ts) END "
                    "FROM batch_files b WHERE files.file_id = b.file_id AND NOT b.is_new"
                )
            # Only retired files that kept rows (the others are gone with _prune_retired)
            current = maintain.after_batch(con, [old for _, old in retired],
                                           [up.file_id for up in accepted], alone, card)
            con.execute("COMMIT")
            if current:
                maintain.keep_current(con, card)
            return inserted
        except Exception:
            _rollback(con)
            raise


def _current_with(con: duckdb.DuckDBPyConnection, card, sessions: bool) -> bool:
    """``card`` loaded on ``con``, and its store brought current with that load (priced,
    summed: ``maintain.up_to_date``), if ``con`` may write; whether it is current."""
    from ccspend.store import queries

    queries.load_card(con, card)
    return maintain.up_to_date(con, queries.PRICE_COUNTED, queries.loaded_card(), sessions)


RETIRED = "#replaced-"  # a retired file's path: the file's own, this, and its new id


def _retire(con: duckdb.DuckDBPyConnection, file_id: int, new_id: int) -> None:
    """Move a replaced file's rows to a new, retired file (its path marked, no inode),
    so its read starts afresh and history keeps what the new content lacks."""
    con.execute(
        "INSERT INTO files (file_id, path, source, dev, ino, size, mtime_ns, read_offset, "
        "head_hash, agent_id, agent_type, skipped_lines, first_ts, last_ts, ingested_at) "
        "SELECT $new, path || $mark || $new, source, NULL, NULL, size, mtime_ns, read_offset, "
        "NULL, agent_id, agent_type, 0, first_ts, last_ts, ingested_at FROM files "
        "WHERE file_id = $old",
        {"new": new_id, "old": file_id, "mark": RETIRED},
    )
    con.execute("UPDATE requests SET file_id = ? WHERE file_id = ?", [new_id, file_id])


def _prune_retired(con: duckdb.DuckDBPyConnection, file_id: int, old_id: int) -> None:
    """Drop the retired rows that the file's new content holds as well (a response
    with at least their output tokens, or the same line where lines have no response
    key), and the retired file if nothing is left: a rewrite that only copied the
    file keeps nothing twice."""
    con.execute(
        "DELETE FROM requests r WHERE r.file_id = $old AND (EXISTS (SELECT 1 FROM requests n "
        "WHERE n.file_id = $new AND n.dedup_key = r.dedup_key "
        "AND n.output_tokens >= r.output_tokens) OR (r.dedup_key IS NULL AND EXISTS ("
        "SELECT 1 FROM requests n WHERE n.file_id = $new AND n.dedup_key IS NULL "
        "AND n.ts = r.ts AND n.session_id IS NOT DISTINCT FROM r.session_id "
        "AND n.model IS NOT DISTINCT FROM r.model AND n.input_tokens = r.input_tokens "
        "AND n.output_tokens = r.output_tokens AND n.cache_read_tokens = r.cache_read_tokens "
        "AND n.cache_write_5m_tokens = r.cache_write_5m_tokens "
        "AND n.cache_write_1h_tokens = r.cache_write_1h_tokens)))",
        {"old": old_id, "new": file_id},
    )
    con.execute(
        "DELETE FROM files WHERE file_id = $old AND NOT EXISTS "
        "(SELECT 1 FROM requests WHERE file_id = $old)",
        {"old": old_id},
    )


# what ``_load_batch_files`` writes of each update (and its expected state's skipped lines)
_BATCH_FILE_FIELDS = ("tmp_id", "file_id", "path", "source", "dev", "ino", "size", "mtime_ns",
                      "start", "end", "head_hash", "skipped", "agent_id", "agent_type", "replace",
                      "first_ts_us", "last_ts_us")
_BATCH_FILE_COLUMNS = (
    "{tmp_id: 'BIGINT', file_id: 'BIGINT', path: 'VARCHAR', source: 'VARCHAR', dev: 'BIGINT', "
    "ino: 'BIGINT', size: 'BIGINT', mtime_ns: 'BIGINT', start: 'BIGINT', \"end\": 'BIGINT', "
    "head_hash: 'VARCHAR', skipped: 'BIGINT', agent_id: 'VARCHAR', agent_type: 'VARCHAR', "
    "replace: 'BOOLEAN', first_ts_us: 'BIGINT', last_ts_us: 'BIGINT', "
    "expected: 'STRUCT(skipped_lines BIGINT)'}"
)


def _load_batch_files(con: duckdb.DuckDBPyConnection, updates: list[FileUpdate]) -> None:
    """The temp table ``batch_files``: the files' new states, one row per update."""
    import tempfile

    rows = [{**{k: getattr(up, k) for k in _BATCH_FILE_FIELDS},
             "expected": None if up.expected is None
             else {"skipped_lines": up.expected.skipped_lines}}
            for up in updates]  # fmt: skip
    if len(rows) <= 64:  # a new line's few files: json, where msgspec is not imported
        import json

        text = "".join(json.dumps(row) + "\n" for row in rows).encode("utf-8")
    else:  # a cold ingest's thousands: msgspec, ten times faster
        import msgspec

        text = msgspec.json.Encoder().encode_lines(rows)
    fd, path = tempfile.mkstemp(prefix="ccspend-files-", suffix=".ndjson")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE batch_files AS SELECT tmp_id, file_id, "
            "expected IS NULL AS is_new, path, source, dev, ino, size, mtime_ns, "
            "\"end\" AS read_offset, head_hash, agent_id, agent_type, "
            "CASE WHEN replace OR expected IS NULL THEN skipped "
            "     ELSE expected.skipped_lines + skipped END AS skipped_lines, "
            "make_timestamp(first_ts_us)::TIMESTAMPTZ AS first_ts, "
            "make_timestamp(last_ts_us)::TIMESTAMPTZ AS last_ts, start = 0 AS from_start, start "
            f"FROM read_json(?, format = 'newline_delimited', columns = {_BATCH_FILE_COLUMNS})",
            [path],
        )
    finally:
        os.unlink(path)


def add_readings(con: duckdb.DuckDBPyConnection, readings: list[tuple]) -> None:
    """Store official rate-limit readings: (read_at µs, session, window, used %, resets_at s)."""
    if not readings:
        return
    cols = [list(c) for c in zip(*readings, strict=True)]
    con.execute(
        "INSERT INTO rate_limit_readings SELECT make_timestamp(unnest($1::BIGINT[]))::TIMESTAMPTZ, "
        "unnest($2::VARCHAR[]), unnest($3::VARCHAR[]), unnest($4::DOUBLE[]), "
        "to_timestamp(unnest($5::DOUBLE[]))",
        cols,
    )


def start_run(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    """The ledger row of a run that starts now (status ``running``, or ``refused``)."""
    row = {"cap_tokens": None, "forced": False, "note": None, "route_tier": None,
           "route_reason": None, "status": "running", **row}  # fmt: skip
    row["note"] = _redacted(row["note"])
    con.execute(
        "INSERT INTO runs (run_id, task_id, command, cwd, host, pid, started_at, session_id, "
        "cap_usd, cap_tokens, forced, note, route_tier, route_reason, status, ended_at) "
        "VALUES ($run_id, $task_id, $command, $cwd, $host, $pid, now(), $session_id, $cap_usd, "
        "$cap_tokens, $forced, $note, $route_tier, $route_reason, $status, "
        "CASE WHEN $status = 'running' THEN NULL ELSE now() END)",
        row,
    )


def finish_run(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    row = {"tokens": None, "sessions": None, "models": None, "note": None, **row}
    row["note"] = _redacted(row["note"])
    con.execute(
        "UPDATE runs SET ended_at = now(), status = $status, exit_code = $exit_code, "
        "cost_usd = $cost_usd, stopped_by = $stopped_by, session_id = $session_id, "
        "tokens = $tokens, sessions = $sessions, models = $models, "
        "note = coalesce($note, note) WHERE run_id = $run_id",
        row,
    )


def add_run_event(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, detail: str) -> None:
    con.execute("INSERT INTO run_events VALUES (?, now(), ?, ?)",
                [run_id, kind, _redacted(detail)])


def _redacted(text: str | None) -> str | None:
    """A ledger note or event detail as it may be kept: a ``--force`` reason or an
    agent's message can quote a key, and the ledger is read back by ``ccspend sql``."""
    return None if text is None else redact_text(text)


def claim_alert(
    con: duckdb.DuckDBPyConnection, key: str, level: int, message: str, channels: str
) -> bool:
    """Record that ``key`` reached ``level``; True only for the one caller that records it.

    The primary key makes this the "once per level" rule, across processes.
    """
    rows = con.execute(
        "INSERT OR IGNORE INTO alerts VALUES (?, ?, now(), ?, ?) RETURNING level",
        [key, level, message, channels],
    ).fetchall()
    return bool(rows)


def set_alert_channels(con: duckdb.DuckDBPyConnection, sent: list[tuple[str, int, str]]) -> None:
    """Record where claimed alerts went: (key, level, channels joined by commas)."""
    for key, level, channels in sent:
        con.execute("UPDATE alerts SET channels = ? WHERE alert_key = ? AND level = ?",
                    [channels, key, level])  # fmt: skip


def pending_webhooks(
    con: duckdb.DuckDBPyConnection, mark: str, days: int
) -> list[tuple[str, int, str, str]]:
    """Alerts of the last ``days`` whose channels carry ``mark`` (a webhook to send
    again): (key, level, message, channels), oldest first."""
    return con.execute(
        "SELECT alert_key, level, message, channels FROM alerts "
        "WHERE list_contains(string_split(coalesce(channels, ''), ','), ?) "
        "AND fired_at >= now() - to_days(?) ORDER BY fired_at, level",
        [mark, days],
    ).fetchall()


def list_alerts(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict]:
    rows = con.execute(
        "SELECT alert_key, level, strftime(fired_at, '%Y-%m-%dT%H:%M:%SZ'), message, channels "
        "FROM alerts ORDER BY fired_at DESC LIMIT ?",
        [limit],
    ).fetchall()
    cols = ("key", "level", "fired_at", "message", "channels")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def add_cap_decisions(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> int:
    """The hooks' journal: (epoch s, session, hook, decision, reason, spent, cap)."""
    if not rows:
        return 0
    before = con.execute("SELECT count(*) FROM cap_decisions").fetchone()[0]
    con.executemany(
        "INSERT OR IGNORE INTO cap_decisions VALUES (to_timestamp(?), ?, ?, ?, ?, ?, ?)", rows
    )
    return con.execute("SELECT count(*) FROM cap_decisions").fetchone()[0] - before


def recent_cap_decisions(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict]:
    """The hooks' latest decisions, newest first (``ccspend cap``)."""
    rows = con.execute(
        "SELECT strftime(decided_at, '%Y-%m-%dT%H:%M:%SZ'), session_id, hook, decision, "
        "reason FROM cap_decisions ORDER BY decided_at DESC LIMIT ?",
        [limit],
    ).fetchall()
    cols = ("at", "session_id", "hook", "decision", "reason")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def task_spend(
    con: duckdb.DuckDBPyConnection, task: str, since_s: float, until_s: float
) -> list[tuple[float, float]]:
    """A task's runs started in [since, until): (epoch s of the run's end, USD)."""
    return con.execute(
        "SELECT epoch(coalesce(ended_at, now())), coalesce(cost_usd, 0) FROM runs "
        "WHERE task_id = ? AND started_at >= to_timestamp(?) AND started_at < to_timestamp(?) "
        "ORDER BY 1",
        [task, since_s, until_s],
    ).fetchall()


def run_known(con: duckdb.DuckDBPyConnection, run_id: str | None) -> bool:
    """Whether the ledger has a row for ``run_id``."""
    return bool(con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchall())


def mark_interrupted(con: duckdb.DuckDBPyConnection, host: str, alive) -> int:
    """Runs of this host still marked running whose process is gone: interrupted."""
    stale = [
        r[0]
        for r in con.execute(
            "SELECT run_id, pid FROM runs WHERE status = 'running' AND host = ?", [host]
        ).fetchall()
        if not alive(r[1])
    ]
    if stale:
        con.execute(
            "UPDATE runs SET status = 'interrupted', ended_at = coalesce(ended_at, now()) "
            "WHERE list_contains(?, run_id)",
            [stale],
        )
    return len(stale)


def adopt_journals(con: duckdb.DuckDBPyConnection, folder, alive, skip: str | None = None) -> int:
    """Runs journaled whose wrapper is gone: into the ledger, as ``interrupted``.

    A row missing (the wrapper was killed before it wrote it) is added; one already
    there, still ``running`` or ``interrupted``, takes what the journal knows of the
    spend (the wrapper journals it as it grows; its watchdog, the final figures). The
    journal goes once its watchdog is gone too.
    """
    import json
    from pathlib import Path

    adopted = 0
    try:
        entries = sorted(Path(folder).glob("*.json"))
    except OSError:
        return 0
    for path in entries:
        if path.stem == skip:
            continue
        try:
            row = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(row, dict) or alive(row.get("pid")):
            continue
        spend = {k: row.get(k) for k in ("cost_usd", "tokens", "sessions", "models",
                                         "stopped_by", "run_id", "session_id", "note")}  # fmt: skip
        if not run_known(con, row.get("run_id")):
            con.execute(
                "INSERT INTO runs (run_id, task_id, command, cwd, host, pid, started_at, "
                "ended_at, cap_usd, cap_tokens, forced, note, status) VALUES ($run_id, $task_id, "
                "$command, $cwd, $host, $pid, $started_at::TIMESTAMPTZ, now(), $cap_usd, "
                "$cap_tokens, $forced, $note, 'interrupted')",
                {k: row.get(k) for k in ("run_id", "task_id", "command", "cwd", "host", "pid",
                                         "started_at", "cap_usd", "cap_tokens", "forced",
                                         "note")},  # fmt: skip
            )
            adopted += 1
        if spend["cost_usd"] is not None:
            con.execute(
                "UPDATE runs SET status = 'interrupted', ended_at = coalesce(ended_at, now()), "
                "cost_usd = $cost_usd, tokens = $tokens, sessions = $sessions, models = $models, "
                "stopped_by = coalesce($stopped_by, stopped_by), "
                "session_id = coalesce(session_id, $session_id), note = coalesce($note, note) "
                "WHERE run_id = $run_id AND status IN ('running', 'interrupted')",
                spend,
            )
        if row.get("final") or not alive(row.get("watchdog")):
            path.unlink(missing_ok=True)
    return adopted


def list_runs(con: duckdb.DuckDBPyConnection, task: str | None) -> list[dict]:
    rel = con.execute(
        "SELECT run_id, task_id, command, cwd, strftime(started_at, '%Y-%m-%dT%H:%M:%SZ'), "
        "strftime(ended_at, '%Y-%m-%dT%H:%M:%SZ'), session_id, cap_usd, cost_usd, status, "
        "exit_code, stopped_by, cap_tokens, tokens, sessions, models, forced, note, "
        "route_tier, route_reason FROM runs WHERE ? IS NULL OR task_id = ? ORDER BY started_at",
        [task, task],
    )
    cols = ["run_id", "task_id", "command", "cwd", "started_at", "ended_at", "session_id",
            "cap_usd", "cost_usd", "status", "exit_code", "stopped_by", "cap_tokens", "tokens",
            "sessions", "models", "forced", "note", "route_tier", "route_reason"]  # fmt: skip
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


# Records arrive as newline-delimited JSON written by the scanner: DuckDB parses
# and inserts them in C++, so no row passes through Python twice. ``f`` is the
# batch-local file index, mapped to the file's id through ``batch_files``.
_RECORD_COLUMNS = (
    "{f: 'BIGINT', o: 'BIGINT', ts: 'BIGINT', sid: 'VARCHAR', mid: 'VARCHAR', rid: 'VARCHAR', "
    "model: 'VARCHAR', \"in\": 'BIGINT', out: 'BIGINT', c5: 'BIGINT', c1: 'BIGINT', cr: 'BIGINT', "
    "ws: 'BIGINT', cwd: 'VARCHAR', br: 'VARCHAR', ver: 'VARCHAR', ent: 'VARCHAR', sc: 'BOOLEAN', "
    "aid: 'VARCHAR', err: 'BOOLEAN', cu: 'DOUBLE', sp: 'VARCHAR', geo: 'VARCHAR', ki: 'BIGINT', "
    "ko: 'BIGINT', k5: 'BIGINT', k1: 'BIGINT', kr: 'BIGINT'}"
)

# Every stored column but the computed response key (``dedup_key``), in order.
_INSERT_INTO_REQUESTS = """
INSERT INTO requests (file_id, line_offset, ts, session_id, message_id, request_id, model,
    input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
    web_search_requests, cwd, git_branch, version, entrypoint, is_sidechain, agent_id,
    is_api_error, logged_cost_usd, speed, inference_geo, compaction_input_tokens,
    compaction_output_tokens, compaction_cache_write_5m_tokens, compaction_cache_write_1h_tokens,
    compaction_cache_read_tokens)"""

_INSERT_RECORDS = f"""{_INSERT_INTO_REQUESTS}
SELECT b.file_id, r.o, make_timestamp(r.ts)::TIMESTAMPTZ, r.sid, r.mid, r.rid, r.model,
       r."in", r.out, r.c5, r.c1, r.cr, r.ws, r.cwd, r.br, r.ver, r.ent,
       coalesce(r.sc, false), r.aid, coalesce(r.err, false), r.cu, r.sp, r.geo,
       coalesce(r.ki, 0), coalesce(r.ko, 0), coalesce(r.k5, 0), coalesce(r.k1, 0),
       coalesce(r.kr, 0)
FROM read_json(?, format = 'newline_delimited', columns = {_RECORD_COLUMNS},
               maximum_object_size = 16777216) r
JOIN batch_files b ON b.tmp_id = r.f
"""

# Claude Code lines as the scanner decoded them (``sources.claude_code.Line``):
# nested, and without the fields that held their default (zero, absent). The
# 5m/1h split is resolved as ``claude_code.record_of`` does: the 1h count as
# given, the rest of the cache writes at 5m, or the 5m count if larger.
_LINE_COLUMNS = (
    "{type: 'VARCHAR', ts: 'TIMESTAMPTZ', sessionId: 'VARCHAR', requestId: 'VARCHAR', "
    "cwd: 'VARCHAR', gitBranch: 'VARCHAR', version: 'VARCHAR', entrypoint: 'VARCHAR', "
    "isSidechain: 'BOOLEAN', agentId: 'VARCHAR', isApiErrorMessage: 'BOOLEAN', "
    "costUSD: 'DOUBLE', f: 'BIGINT', o: 'BIGINT', ki: 'BIGINT', ko: 'BIGINT', k5: 'BIGINT', "
    "k1: 'BIGINT', kr: 'BIGINT', message: 'STRUCT(id VARCHAR, model VARCHAR, "
    "usage STRUCT(input_tokens BIGINT, output_tokens BIGINT, cache_creation_input_tokens BIGINT, "
    "cache_read_input_tokens BIGINT, cache_creation STRUCT(ephemeral_5m_input_tokens BIGINT, "
    "ephemeral_1h_input_tokens BIGINT), server_tool_use STRUCT(web_search_requests BIGINT), "
    "speed VARCHAR, inference_geo VARCHAR))'}"
)

_INSERT_LINES = f"""{_INSERT_INTO_REQUESTS}
SELECT b.file_id, coalesce(r.o, 0), r.ts, r.sessionId, r.message.id, r.requestId, r.message.model,
       coalesce(u.input_tokens, 0), coalesce(u.output_tokens, 0),
       greatest(coalesce(u.cache_creation_input_tokens, 0)
                - coalesce(u.cache_creation.ephemeral_1h_input_tokens, 0),
                coalesce(u.cache_creation.ephemeral_5m_input_tokens, 0)),
       coalesce(u.cache_creation.ephemeral_1h_input_tokens, 0),
       coalesce(u.cache_read_input_tokens, 0), coalesce(u.server_tool_use.web_search_requests, 0),
       r.cwd, r.gitBranch, r.version, r.entrypoint, coalesce(r.isSidechain, false), r.agentId,
       coalesce(r.isApiErrorMessage, false), r.costUSD, u.speed, u.inference_geo,
       coalesce(r.ki, 0), coalesce(r.ko, 0), coalesce(r.k5, 0), coalesce(r.k1, 0),
       coalesce(r.kr, 0)
FROM (SELECT *, message.usage AS u
      FROM read_json(?, format = 'newline_delimited', columns = {_LINE_COLUMNS},
                     maximum_object_size = 16777216)) r
JOIN batch_files b ON b.tmp_id = coalesce(r.f, 0)
"""

_INSERT = {"records": _INSERT_RECORDS, "claude-lines": _INSERT_LINES}
