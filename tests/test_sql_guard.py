"""``ccspend sql`` must never write: the statement check and the read-only connection.

Two layers, tested separately and together. ``check_read_only`` refuses a
statement before it runs (clear messages; it also refuses what the connection
would allow but is not a read, like temp tables, transactions and ``SET
VARIABLE``). ``connect_read_only`` is a read-only, external-access-free,
configuration-locked DuckDB connection: it blocks writes to the file and any
file or network access even if the check were bypassed or wrong. Each escape
below is caught by at least one layer, most by both; after all of them the
database file is byte-identical and nothing was written next to it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ccspend.core.errors import CcspendError, StoreCorrupt, UsageError
from ccspend.store.readonly import (
    WriteRefused,
    check_read_only,
    connect_read_only,
    run_query,
)

ROWS = 3


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "db" / "ccspend.duckdb"
    path.parent.mkdir()
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE requests (id INTEGER, ts TIMESTAMPTZ, model VARCHAR, cost DOUBLE);"
        "INSERT INTO requests VALUES "
        "(1, TIMESTAMPTZ '2025-01-01 10:00:00+00', 'opus', 1.5),"
        "(2, TIMESTAMPTZ '2025-01-01 11:00:00+00', 'sonnet', 0.25),"
        "(3, TIMESTAMPTZ '2025-01-02 09:30:00+00', 'opus', 2.0);"
        "CREATE SEQUENCE seq;"
    )
    con.close()
    return path


@pytest.fixture(autouse=True)
def secret(tmp_path) -> Path:
    """A file outside the database that a query must not read."""
    path = tmp_path / "outside" / "secret.csv"
    path.parent.mkdir()
    path.write_text("password\nhunter2\n")
    return path


def test_an_ordinary_connection_would_read_the_secret(secret):
    con = duckdb.connect()
    try:
        assert con.execute(f"FROM '{secret}'").fetchall() == [("hunter2",)]
    finally:
        con.close()


@dataclass(frozen=True)
class Case:
    sql: str
    check: bool = True  # check_read_only alone refuses it
    conn: bool = True  # the read-only connection alone makes it fail


# Writes and escapes. ``{tmp}`` is the test's tmp_path: nothing may appear there.
CASES = [
    Case("DELETE FROM requests"),
    Case("dElEtE fRoM ReQuEsTs WhErE id = 1"),
    Case("  \n\t-- a leading comment\n/* and a block; with a semicolon */ DELETE FROM requests"),
    Case("INSERT INTO requests VALUES (9, now(), 'x', 1.0)"),
    Case("UPDATE requests SET cost = 0"),
    Case("DROP TABLE requests"),
    Case("ALTER TABLE requests ADD COLUMN note VARCHAR"),
    Case("TRUNCATE requests"),
    Case("CREATE TABLE stolen AS SELECT * FROM requests"),
    Case("MERGE INTO requests USING (SELECT 1 AS id) s ON requests.id = s.id "
         "WHEN MATCHED THEN DELETE"),
    Case("COMMENT ON TABLE requests IS 'owned'"),
    # data-modifying CTEs: DuckDB reports these as SELECT statements
    Case("WITH gone AS (DELETE FROM requests RETURNING *) SELECT count(*) FROM gone"),
    Case("WITH added AS (INSERT INTO requests VALUES (9, now(), 'x', 1.0) RETURNING id) "
         "SELECT * FROM added"),
    Case("with u as (update requests set cost = 0 returning *) select * from u"),
    # writing files, other databases, extensions
    Case("COPY requests TO '{tmp}/out.csv'"),
    Case("COPY (SELECT * FROM requests) TO '{tmp}/out.parquet' (FORMAT parquet)"),
    Case("EXPORT DATABASE '{tmp}/export'"),
    Case("IMPORT DATABASE '{tmp}/export'"),
    Case("ATTACH '{tmp}/new.duckdb' AS other"),
    Case("ATTACH ':memory:' AS mem"),
    Case("DETACH ccspend"),
    Case("INSTALL httpfs"),
    Case("LOAD httpfs"),
    Case("UPDATE EXTENSIONS"),
    # settings and profiling: the configuration is locked
    Case("PRAGMA enable_profiling"),
    Case("PRAGMA profiling_output = '{tmp}/profile.json'"),
    Case("SET enable_external_access = true"),
    Case("SET lock_configuration = false"),
    Case("RESET TimeZone"),
    Case("CALL enable_logging(storage = 'file', storage_path = '{tmp}/logs')"),
    # several statements, hidden by comments and string literals
    Case("SELECT 1; DROP TABLE requests"),
    Case("SELECT 1 /* ; */; DELETE FROM requests"),
    Case("SELECT ';' AS s; DELETE FROM requests"),
    Case("SELECT $$ ; $$; DELETE FROM requests"),
    Case("SELECT 'it''s'; -- ;\nDELETE FROM requests"),
    # EXPLAIN ANALYZE executes what it explains
    Case("EXPLAIN ANALYZE DELETE FROM requests"),
    Case("EXPLAIN (ANALYZE) UPDATE requests SET cost = 0"),
    # reading outside the database, SQL from strings, state-changing functions
    Case("SELECT * FROM read_csv('/etc/passwd')"),
    Case("SELECT * FROM read_text('/etc/hostname')"),
    Case("SELECT * FROM glob('/etc/*')"),
    Case("SELECT * FROM read_csv('{tmp}/outside/secret.csv')"),
    Case("SELECT * FROM '{tmp}/outside/secret.csv'", check=False),  # replacement scan: conn's job
    Case("SUMMARIZE '{tmp}/outside/secret.csv'", check=False),
    Case("SELECT * FROM query('DELETE FROM requests')"),
    Case("SELECT * FROM query('WITH d AS (DELETE FROM requests RETURNING *) SELECT * FROM d')"),
    Case("SELECT nextval('seq')"),
    Case("SELECT 1 INTO stolen"),  # not DuckDB syntax: a parse error
    # harmless to the file, so the connection runs them: the check refuses them
    Case("CREATE TEMP TABLE scratch AS SELECT * FROM requests", conn=False),
    Case("CREATE OR REPLACE TEMP VIEW requests AS SELECT 1 AS fake", conn=False),
    Case("SET VARIABLE x = 1", conn=False),
    Case("CALL checkpoint()", conn=False),
    Case("CHECKPOINT", conn=False),
    Case("VACUUM", conn=False),
    Case("BEGIN TRANSACTION", conn=False),
    Case("LOAD json", conn=False),  # built in
    Case("PRAGMA table_info('requests')", conn=False),  # read-only, but PRAGMA is refused
]  # fmt: skip


def _sql(case: Case, tmp_path: Path) -> str:
    return case.sql.replace("{tmp}", str(tmp_path))


def _snapshot(tmp_path: Path, db: Path) -> tuple[set[Path], str]:
    files = {p for p in tmp_path.rglob("*")}
    return files, hashlib.sha256(db.read_bytes()).hexdigest()


def _count(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM requests").fetchone()[0]
    finally:
        con.close()


def test_enough_cases():
    assert len(CASES) >= 25
    assert all(c.check or c.conn for c in CASES)


def test_run_query_refuses_every_escape(db, tmp_path):
    before = _snapshot(tmp_path, db)
    con = connect_read_only(db)
    try:
        for case in CASES:
            with pytest.raises(UsageError) as info:
                run_query(con, _sql(case, tmp_path))
            message = str(info.value)
            assert "\n" not in message, case.sql
        # the connection still works after all that
        assert run_query(con, "SELECT count(*) FROM requests") == (["count_star()"], [(ROWS,)])
    finally:
        con.close()
    assert _snapshot(tmp_path, db) == before
    assert _count(db) == ROWS


def test_check_alone_refuses(tmp_path):
    for case in CASES:
        sql = _sql(case, tmp_path)
        if case.check:
            with pytest.raises(UsageError):
                check_read_only(sql)
        else:
            assert check_read_only(sql) == [sql]


def test_connection_alone_blocks(db, tmp_path):
    """With the check bypassed, the connection blocks every write and escape it can see."""
    before = _snapshot(tmp_path, db)
    for case in CASES:
        con = connect_read_only(db)  # a fresh one each: BEGIN or a failed statement lingers
        try:
            sql = _sql(case, tmp_path)
            if case.conn:
                with pytest.raises(duckdb.Error):
                    con.execute(sql).fetchall()
            else:
                con.execute(sql)  # runs, and changes nothing on disk
        finally:
            con.close()
    assert _snapshot(tmp_path, db) == before
    assert _count(db) == ROWS


def test_refusal_messages():
    with pytest.raises(WriteRefused) as info:
        check_read_only("DELETE FROM requests")
    assert info.value.message == "ccspend sql is read-only: refused a DELETE statement"
    assert info.value.hint.startswith("allowed: SELECT")
    with pytest.raises(WriteRefused, match=r"refused a LOAD statement \(INSTALL\)"):
        check_read_only("INSTALL httpfs")
    with pytest.raises(WriteRefused, match=r"one statement at a time: refused 2 \(SELECT, SELECT\)"):
        check_read_only("SELECT 1; SELECT 2")
    with pytest.raises(WriteRefused, match=r"containing DELETE"):
        check_read_only("WITH d AS (DELETE FROM requests RETURNING *) SELECT * FROM d")
    with pytest.raises(WriteRefused, match=r"EXPLAIN of DELETE"):
        check_read_only("/* x */ explain analyze delete from requests")
    with pytest.raises(WriteRefused, match=r"query\(\): it runs SQL"):
        check_read_only("FROM main.\"QUERY\"('SELECT 1')")
    with pytest.raises(WriteRefused, match=r"PIVOT"):
        check_read_only("PIVOT requests ON model")  # no IN list: DuckDB runs it as several
    with pytest.raises(UsageError, match=r"^cannot parse the query: Parser Error: syntax error"):
        check_read_only("SELEC 1")
    with pytest.raises(UsageError, match="no SQL statement"):
        check_read_only("  -- nothing\n ;")


READS = [
    "SELECT id, model FROM requests ORDER BY id",
    "select * from requests where model = 'opus'",
    "WITH o AS (SELECT * FROM requests WHERE model = 'opus') SELECT count(*) FROM o",
    "FROM requests",
    "FROM requests SELECT model",
    "TABLE requests",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT model, sum(cost) FROM requests GROUP BY ALL ORDER BY 1",
    "SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 2",
    "SELECT 'DELETE FROM requests; DROP TABLE requests' AS \"delete\"",
    "SELECT 1; -- a trailing comment",
    "-- a leading comment\nSELECT 1 /* and a block */ ;",
    "DESCRIBE requests",
    "SHOW TABLES",
    "SUMMARIZE requests",
    "FROM pragma_table_info('requests')",
    "FROM duckdb_tables()",
    "PIVOT requests ON model IN ('opus', 'sonnet') USING sum(cost)",
    "EXPLAIN SELECT * FROM requests",
    "EXPLAIN ANALYZE SELECT count(*) FROM requests",
    "EXPLAIN (FORMAT json) SELECT 1",
    "EXPLAIN (SELECT 1)",
]


def test_reads_pass_the_check():
    for sql in READS:
        (stmt,) = check_read_only(sql)
        assert not stmt.rstrip().endswith(";")


def test_reads_run(db, tmp_path):
    before = _snapshot(tmp_path, db)
    con = connect_read_only(db)
    try:
        for sql in READS:
            run_query(con, sql)
        assert run_query(con, "SELECT id, model FROM requests ORDER BY id") == (
            ["id", "model"], [(1, "opus"), (2, "sonnet"), (3, "opus")]
        )
        assert run_query(con, "FROM requests SELECT count(*) AS n") == (["n"], [(ROWS,)])
        cols, rows = run_query(
            con, "WITH o AS (FROM requests WHERE model = 'opus') SELECT sum(cost) AS usd FROM o"
        )
        assert (cols, rows) == (["usd"], [(3.5,)])
        cols, rows = run_query(con, "EXPLAIN SELECT * FROM requests")
        assert cols == ["explain_key", "explain_value"] and rows
        # duplicate names are kept as the user wrote them
        assert run_query(con, "SELECT 1 AS a, 2 AS a") == (["a", "a"], [(1, 2)])
    finally:
        con.close()
    assert _snapshot(tmp_path, db) == before


def test_time_zone_values_come_back_as_utc_text(db):
    con = connect_read_only(db)
    try:
        cols, rows = run_query(con, "SELECT id, ts, [ts] AS tss FROM requests ORDER BY id LIMIT 1")
    finally:
        con.close()
    assert cols == ["id", "ts", "tss"]
    assert rows == [(1, "2025-01-01 10:00:00+00", "['2025-01-01 10:00:00+00']")]


def test_limit(db):
    con = connect_read_only(db)
    try:
        assert run_query(con, "FROM range(1000) ORDER BY range DESC", limit=2) == (
            ["range"], [(999,), (998,)]
        )
        assert run_query(con, "FROM requests", limit=0)[1] == []
        assert len(run_query(con, "FROM requests", limit=10)[1]) == ROWS
    finally:
        con.close()


def test_duckdb_errors_become_one_line_usage_errors(db):
    con = connect_read_only(db)
    try:
        with pytest.raises(UsageError, match=r"^Catalog Error: Table with name nope") as info:
            run_query(con, "SELECT * FROM nope")
        assert "\n" not in str(info.value)
        with pytest.raises(UsageError, match="Conversion Error"):
            run_query(con, "SELECT 'x'::INTEGER")
        with pytest.raises(UsageError, match="Parser Error"):
            run_query(con, "SELECT FROM WHERE")
    finally:
        con.close()


def test_setup_makes_temp_views_before_the_lock(db, tmp_path):
    before = _snapshot(tmp_path, db)

    def card(con):
        con.execute("CREATE TEMP TABLE prices AS SELECT * FROM (VALUES ('opus', 10.0)) p(m, usd)")

    con = connect_read_only(db, setup=[
        card,
        "SELECT 42",  # a result left unread must not block run_query
        "CREATE TEMP VIEW priced_requests AS "
        "SELECT r.*, p.usd FROM requests r LEFT JOIN prices p ON p.m = r.model",
    ])  # fmt: skip
    try:
        assert run_query(con, "SELECT id, usd FROM priced_requests ORDER BY id") == (
            ["id", "usd"], [(1, 10.0), (2, None), (3, 10.0)]
        )
        settings = dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('enable_external_access', 'lock_configuration', 'autoload_known_extensions', "
            "'autoinstall_known_extensions', 'TimeZone')"
        ).fetchall())  # fmt: skip
        assert settings == {
            "enable_external_access": "false",
            "lock_configuration": "true",
            "autoload_known_extensions": "false",
            "autoinstall_known_extensions": "false",
            "TimeZone": "UTC",
        }
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("SET TimeZone = 'Europe/Paris'")
    finally:
        con.close()
    assert _snapshot(tmp_path, db) == before


def test_connect_errors(tmp_path):
    with pytest.raises(UsageError, match="no database"):
        connect_read_only(tmp_path / "missing.duckdb")
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreCorrupt):
        connect_read_only(junk)


def test_failing_setup_is_an_error_and_closes(db):
    with pytest.raises(CcspendError, match="cannot prepare"):
        connect_read_only(db, setup=["CREATE TEMP VIEW v AS SELECT * FROM nope"])
    # the file is free again: a writer can open it
    duckdb.connect(str(db)).close()
