"""The store's file attached in a thread, before the rest of the store is imported.

Why: a report after a new line spends some 70-100 ms in DuckDB before its first query
(its instance, then the file's catalogue and write-ahead log), and DuckDB does that
without holding the GIL. Started here as soon as a report knows its database, the
opening runs beside the imports of the store, the ingest and the report and the
loading of the rate card, instead of after them. ``ccspend.store`` takes the attached
database the first time it needs the file (``take``), for writing or reading.

This module holds the registry of the databases this process has attached read-write
(``ATTACHED``, kept by ``ccspend.store``): DuckDB lets a process attach a file once,
so an early opening is never started for a file already attached. It imports nothing
of ccspend's but DuckDB itself (``store.engine``), and that only when it opens.

An opening that fails (another process holds the file, it is not a database) is
forgotten: the store then opens the file as ever, waiting for the lock or naming the
error. An opening nothing took is closed by ``drop``.
"""

from __future__ import annotations

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

        thread = threading.Thread(target=run, name="ccspend-open", daemon=True)
        thread.start()
        _SOON[key] = (thread, got)
    return True


def take(key: str):
    """The in-memory DuckDB ``open_soon`` attached the file ``key`` (a real path) to,
    once made; None if none was started or it failed. Called with ``LOCK`` held."""
    soon = _SOON.pop(key, None)
    if soon is None:
        return None
    soon[0].join()
    return soon[1].get("base")


def drop() -> None:
    """Close every opening nothing took (a report that ended before its first query)."""
    with LOCK:
        bases = [take(key) for key in list(_SOON)]
    for base in bases:
        if base is not None:
            base.close()
