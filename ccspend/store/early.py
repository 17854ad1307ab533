"""The store's file attached in a thread, before the rest of the store is imported.

Why: a report after a new line spends some 70-100 ms in DuckDB before its first query
(its instance, then the file's catalogue and write-ahead log), and DuckDB does that
without holding the GIL. Started here as soon as a report knows its database, the
opening runs beside the imports of the store, the ingest and the report and the
loading of the rate card, instead of after them. The thread then readies a first
connection and asks which migrations are applied (``_ready``): what the store asks
first, off the report's path when the opening is done before the report needs it.
``ccspend.store`` takes the attached database the first time it needs the file
(``take``, then that connection: ``ready``), for writing or reading. The report's front
end starts the opening once the cached answer is known to be stale, before its walk.

This module holds the registry of the databases this process has attached read-write
(``ATTACHED``, kept by ``ccspend.store``): DuckDB lets a process attach a file once,
so an early opening is never started for a file already attached. It imports nothing
of ccspend's but DuckDB itself (``store.engine``), and that only when it opens.

An opening that fails (another process holds the file, it is not a database) is
forgotten: the store then opens the file as ever, waiting for the lock or naming the
error. An opening nothing took is closed by ``drop``.
"""

from __future__ import annotations

import contextlib
import os
import threading

# Row groups of this many rows (DuckDB's default is 122,880). A bulk insert
# writes each full row group to the file as it fills, spread over DuckDB's
# threads; with the default a cold ingest (about 100,000 requests per GiB of
# logs) fits one group that the commit then compresses alone: 0.25 s against
# 0.02 s. Small groups cost the queries nothing at this size.
ROW_GROUP_SIZE = 16384

# The read-write databases this process has open, by real path: [the in-memory
# connection the file is attached to, connections handed out] (``ccspend.store``).
ATTACHED: dict[str, list] = {}
LOCK = threading.Lock()  # held while ATTACHED or the openings change
_SOON: dict[str, tuple[threading.Thread, dict]] = {}  # real path -> the opening, its result
_SOON_AT_EXIT: list[bool] = []  # whether ``drop`` is registered to run at the interpreter's exit
# What the openings taken asked already (``_ready``), by real path, until the store takes it.
READY: dict[str, dict] = {}


# What a store's migrations are checked against (``Store._pending_migrations``): its
# tables, views and sequences, and the migrations applied. An early opening asks them
# in its thread, beside the report's imports, instead of after the wait for it.
SCHEMA_OBJECTS = (
    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
    "UNION ALL SELECT view_name FROM duckdb_views() "
    "WHERE database_name = current_database() AND NOT internal "
    "UNION ALL SELECT sequence_name FROM duckdb_sequences() "
    "WHERE database_name = current_database()"
)
APPLIED = "SELECT name FROM schema_migrations"


def attach(path: str):
    """An in-memory DuckDB with the file ``path`` attached read-write as ``store``, its
    row groups of ``ROW_GROUP_SIZE`` (an option of ATTACH only)."""
    from ccspend.store.engine import duckdb

    base = duckdb.connect()
    try:
        quoted = path.replace("'", "''")
        base.execute(f"ATTACH '{quoted}' AS store (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
    except BaseException:
        base.close()
        raise
    return base


def use_store(con) -> None:
    """A connection on an attached database made ready: ``store`` its default database, its
    session in UTC. Every one, the kept connection of ``Store.keep_open`` included: a
    setting is per connection, and one left in the machine's zone puts
    ``make_timestamp(...)::TIMESTAMPTZ`` (the rollup's 15-minute buckets) hours away from
    those another connection wrote (a cold report's refresh then summed 19,646 of 44,827
    requests under TZ=Pacific/Kiritimati)."""
    con.execute("USE store")
    con.execute("SET TimeZone = 'UTC'")


def _ready(base) -> dict:
    """What the store asks first of a file it opens, asked in the opening's thread: a
    connection made ready (``use_store``), and the schema's objects and applied
    migrations (``SCHEMA_OBJECTS``, ``APPLIED``), for ``Store._pending_migrations``."""
    con = base.cursor()
    try:
        use_store(con)
        names = [r[0] for r in con.execute(SCHEMA_OBJECTS).fetchall()]
        applied = ([r[0] for r in con.execute(APPLIED).fetchall()]
                   if "schema_migrations" in names else None)  # fmt: skip
    except BaseException:
        con.close()
        raise
    return {"con": con, "names": names, "applied": applied}


def open_soon(path: str) -> bool:
    """Start attaching the existing database file ``path`` in a thread of its own. True
    if an opening is under way (started now, or by an earlier call); not for a file that
    does not exist yet (the ingest makes it while its parse workers run), nor one this
    process has attached already."""
    if not os.path.isfile(path):
        return False
    key = os.path.realpath(path)
    with LOCK:
        if key in _SOON:
            return True
    from ccspend.store.engine import duckdb  # noqa: F401 - imported here, never in a thread

    with LOCK:
        if key in ATTACHED or key in _SOON:
            return key in _SOON
        got: dict = {}

        def run() -> None:
            try:
                got["base"] = attach(path)
            except BaseException as exc:  # noqa: BLE001 - the store opens again, and says why
                got["error"] = exc
                return
            with contextlib.suppress(Exception):  # the store asks again itself
                got["ready"] = _ready(got["base"])

        thread = threading.Thread(target=run, name="ccspend-open", daemon=True)
        thread.start()
        _SOON[key] = (thread, got)
        if not _SOON_AT_EXIT:  # an exit that skipped the report (a usage error) waits for it
            import atexit

            atexit.register(drop)
            _SOON_AT_EXIT.append(True)
    return True


def take(key: str):
    """The in-memory DuckDB ``open_soon`` attached the file ``key`` (a real path) to,
    once made; None if none was started or it failed. Called with ``LOCK`` held; what
    the opening asked besides waits in ``READY`` for ``ready``."""
    soon = _SOON.pop(key, None)
    if soon is None:
        return None
    soon[0].join()
    if "ready" in soon[1]:
        READY[key] = soon[1]["ready"]
    return soon[1].get("base")


def ready(key: str) -> dict | None:
    """The connection and schema facts an opening of ``key`` asked in its thread, once
    (``_ready``); None if it did not. Called with ``LOCK`` held."""
    return READY.pop(key, None)


def drop() -> None:
    """Close every opening nothing took (a report that ended before its first query)."""
    with LOCK:
        bases = [take(key) for key in list(_SOON)]
        left = [READY.pop(key)["con"] for key in list(READY)]
    for con in left:
        con.close()
    for base in bases:
        if base is not None:
            base.close()
