"""Connections to one store within one process (a run's threads, a read during a write).

The writer attaches the database file to an in-memory DuckDB (for its row group
size), and DuckDB lets a process attach a file only once: every other
connection of the process must share it, and the file must be let go with the
last of them, so that other processes can open it again.
"""

from __future__ import annotations

import subprocess
import sys
import threading

from ccspend.store import _ATTACHED, _HANDED


def test_threads_write_at_once_and_a_read_sees_an_open_write(store):
    with store.connect(write=True) as con:
        con.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(20):
                with store.connect(write=True) as c:
                    c.execute("INSERT INTO t VALUES (?)", [n * 100 + i])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.connect(write=True) as w:
        w.execute("INSERT INTO t VALUES (-1)")
        with store.connect() as r:  # a reader while this process holds a write
            assert r.execute("SELECT count(*) FROM t").fetchone()[0] == 81
    assert _ATTACHED == {} and _HANDED == {}  # the file is let go with the last connection


def test_another_process_opens_the_store_once_this_one_is_done(store):
    with store.connect(write=True) as con:
        con.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        con.execute("INSERT INTO t VALUES (1)")
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
        "c.execute('INSERT INTO t VALUES (2)'); print(c.execute('SELECT sum(x) FROM t').fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(store.path)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"


def test_an_early_open_is_the_store_s_attach_or_closed(store):
    """``early.open_soon`` attaches the file in a thread; the store's first write (or read)
    takes that attach, an opening nothing took is closed by ``early.drop``, and a file
    this process has attached already is never attached a second time."""
    import os

    from ccspend.store import early

    path = str(store.path)
    assert not early.open_soon(path)  # no file yet: the ingest makes it
    with store.connect(write=True):
        pass
    key = os.path.realpath(path)
    assert early.open_soon(path)
    thread, got = early._SOON[key]
    assert early.open_soon(path) and early._SOON[key][0] is thread  # under way: that one
    thread.join()
    with store.connect(write=True) as con:
        assert _ATTACHED[key][0] is got["base"]
        assert con.execute("SELECT count(*) FROM files").fetchone() == (0,)
        assert not early.open_soon(path)  # attached: DuckDB attaches a file once a process
    assert _ATTACHED == {} and _HANDED == {} and early._SOON == {}
    assert early.open_soon(path)
    with store.connect() as con:  # a read takes it too (a reader uses the writer's attach)
        assert key in _ATTACHED and id(con) in _HANDED
    assert _ATTACHED == {} and _HANDED == {}
    assert early.open_soon(path)
    early.drop()  # never asked for: closed
    assert early._SOON == {} and _ATTACHED == {}
    with store.connect(write=True):  # and the file is free to attach again
        pass


def test_an_early_open_asks_the_schema_in_its_thread_and_the_store_takes_its_answer(store):
    """The opening's thread also makes a connection ready (``store`` in UTC) and asks which
    migrations are applied; the store's first connection is that one, and a migration
    the answer shows missing is still applied."""
    import os

    from ccspend.store import early
    from ccspend.store.database import _SCHEMA_ASKED
    from ccspend.store.migrations import MIGRATIONS

    with store.connect(write=True) as con:
        con.execute("DELETE FROM schema_migrations WHERE name = ?", [MIGRATIONS[-1][0]])
    path = str(store.path)
    key = os.path.realpath(path)
    assert early.open_soon(path)
    thread, got = early._SOON[key]
    thread.join()
    ready = got["ready"]
    assert "files" in ready["names"] and MIGRATIONS[-1][0] not in ready["applied"]
    with store.connect(write=True) as con:
        assert con is ready["con"] and key not in _SCHEMA_ASKED  # taken, and used
        assert con.execute("SELECT current_setting('TimeZone'), current_database()").fetchone() \
            == ("UTC", "store")
        assert con.execute("SELECT count(*) FROM schema_migrations WHERE name = ?",
                           [MIGRATIONS[-1][0]]).fetchone() == (1,)  # applied again
    assert _ATTACHED == {} and _HANDED == {} and early.READY == {}
    assert early.open_soon(path)
    early.drop()  # a ready connection nothing took is closed with its opening
    assert early._SOON == {} and early.READY == {} and _ATTACHED == {}


def test_an_early_open_that_fails_is_opened_again_as_ever(tmp_path):
    """A file that is no database: the early open's error is dropped, and the store's own
    open says what is wrong, as without it."""
    import pytest

    from ccspend.core.errors import StoreCorrupt
    from ccspend.store import Store, early

    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"not a database\n" * 1000)
    store = Store(bad)
    assert early.open_soon(str(bad))
    with pytest.raises(StoreCorrupt), store.keep_open(), store.connect(write=True):
        pass
    assert _ATTACHED == {} and _HANDED == {} and early._SOON == {}
