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
