"""The team stores' rollup (issue #18's scale): every grouped report read from it equals
the same report read from the rows, exactly, on a real PostgreSQL table and a real
Parquet folder written by exporting processes at once, with copies of a response
exported by two machines, a row whose time moves, and a folder whose rollup is stale.

"Equal" is the whole ``queries.Summary``: keys, token sums, request counts and the
Decimal costs and savings, compared with ``==`` (the rollup sums the same DECIMALs).
Each comparison also checks the rollup was read (the statement names it), so a test
cannot pass by both paths reading the rows.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from tests import pg_server
from tests.test_team_reports import K1, K2, _stage, export_all, halves  # noqa: F401

pg_module = pg_server.pg

REPORTS = ("daily", "weekly", "monthly", "model", "project", "branch", "source", "user",
           "machine")
ZONES = ("UTC", "Pacific/Auckland", "Asia/Kathmandu", "America/St_Johns")


@pytest.fixture
def pg(pg_module):
    pg_module.execute("DROP TABLE IF EXISTS ccspend_usage, ccspend_usage_rollup")
    return pg_module


def _both(store, group, f, monkeypatch, **kw):
    """(the report from the rollup, the same report from the rows, the rollup's SQL)."""
    from ccspend.store import team_read

    seen = []
    real = team_read.summary_sql

    def spy(*a, **k):
        sql, params = real(*a, **k)
        seen.append(sql)
        return sql, params

    monkeypatch.setattr(team_read, "summary_sql", spy)
    rolled = team_read.summarise(store, group, f, **kw)
    with monkeypatch.context() as m:
        m.setattr(team_read, "rollup_answers", lambda *a: False)
        rows = team_read.summarise(store, group, f, **kw)
    return rolled, rows, seen[0]


def _filters():
    from ccspend.store.queries import Filters

    for tz in ZONES:
        yield Filters(tz=tz)
    yield Filters(tz="Asia/Kolkata", since=date(2026, 9, 5), until=date(2026, 9, 12))
    yield Filters(tz="UTC", project="/home/ann/proj1")
    yield Filters(tz="UTC", branch="feature", source="local")


def check_rollup_equals_rows(store, monkeypatch, marker: str, dups: int) -> None:
    for f in _filters():
        for group in REPORTS:
            for kw in ({}, {"by_model": True, "by_project": True}, {"user": "ann"},
                       {"machine": "desktop"}):
                rolled, rows, sql = _both(store, group, f, monkeypatch, **kw)
                assert marker in sql, (group, f)
                assert rolled.summary == rows.summary, (group, f, kw)
                assert rolled.duplicates == rows.duplicates, (group, f, kw)
                assert rows.summary.total is not None or "machine" in kw
                if f.since is None and f.project is None and f.branch is None:
                    assert rolled.duplicates == dups


def test_postgres_rollup_equals_the_rows(pg, halves, monkeypatch):  # noqa: F811
    from ccspend.store import team_read
    from ccspend.store.team_read import TeamStore

    # ann's ~/.claude synced to a second machine: every one of her responses twice
    export_all(pg.url(), halves, (("ann", "laptop"), ("bob", "desktop"), ("ann", "zz-sync")))
    store = TeamStore(team_read.POSTGRES, "pg", url=pg.url())
    check_rollup_equals_rows(store, monkeypatch, "ccspend_usage_rollup", 120)
    # the rollup holds every row once: counted ones and the dropped copies apart
    got = pg.query("SELECT sum(requests), sum(requests) FILTER (WHERE NOT counted) "
                   "FROM ccspend_usage_rollup")  # fmt: skip
    assert got == [(360, 120)]


def test_postgres_rollup_follows_moves_flips_and_a_new_table(pg, tmp_path, monkeypatch):
    """A re-export that moves a row to another bucket, copies whose first exporter
    changes (``counted`` flips on another machine's rows), and a table dropped and
    made again: the rollup equals a rollup summed from scratch after each."""
    import duckdb  # noqa: F401 - _stage writes with it

    from ccspend.store import postgres, team_read
    from ccspend.store.queries import Filters
    from ccspend.store.team_read import TeamStore

    store = TeamStore(team_read.POSTGRES, "pg", url=pg.url())
    cols = ("bucket, user_name, machine, source, model, model_name, project, branch, counted, "
            "priced, input_tokens, output_tokens, cost_usd, savings_usd, requests")

    def rollup():
        return sorted(pg.query(f"SELECT {cols} FROM ccspend_usage_rollup"))

    def scratch():
        return sorted(pg.query(
            f"SELECT {cols} FROM ({postgres._rollup_of('ccspend_usage')}) x"))  # noqa: SLF001

    steps = [[("desktop", K1, "10:00", 10), ("desktop", K2, "10:00", 10)],
             [("laptop", K1, "11:00", 10)],
             [("early", K1, "09:00", 10)],  # takes K1's first copy from desktop
             [("desktop", K2, "12:00", 99)]]
    for rows in steps:
        postgres.append(pg.url(), "pg", "ccspend_usage", _stage(tmp_path, rows, "csv"))
        assert rollup() == scratch()
        rolled, raw, _ = _both(store, "daily", Filters(tz="UTC"), monkeypatch)
        assert rolled.summary == raw.summary and rolled.duplicates == raw.duplicates
    # desktop's K2 moves two hours later: it leaves its old bucket
    moved = _stage(tmp_path, [("desktop", K2, "13:00", 99)], "csv")
    text = moved.read_text().replace("2026-09-03 10:00:00", "2026-09-03 12:00:00")
    moved.write_text(text)
    postgres.append(pg.url(), "pg", "ccspend_usage", moved)
    assert rollup() == scratch()
    buckets = {r[0].hour for r in rollup() if r[2] == "desktop" and r[8]}
    assert buckets == {12}
    # a table dropped and made again: the old rollup is not read for it
    pg.execute("DROP TABLE ccspend_usage")
    postgres.append(pg.url(), "pg", "ccspend_usage",
                    _stage(tmp_path, [("laptop", K2, "11:00", 5)], "csv"))
    assert rollup() == scratch() and sum(r[-1] for r in rollup()) == 1


def test_folder_rollup_equals_the_rows(halves, sandbox, monkeypatch):  # noqa: F811
    from ccspend.store import team_read
    from ccspend.store.team_read import TeamStore

    folder = sandbox / "shared"
    export_all(f"{folder}/", halves, (("ann", "laptop"), ("bob", "desktop"), ("ann", "zz-sync")))
    store = TeamStore(team_read.PARQUET, str(folder), path=folder)
    # bob's file shares no session with another: read through its rollup; ann's two
    # machines share every session: read row by row, the later copies dropped
    from ccspend.store.engine import duckdb
    from ccspend.store.queries import Filters

    with duckdb.connect() as con:
        plan = team_read.folder_plan(con, folder, Filters())
    assert [Path(p).name for p in plan.rollups] == ["bob@desktop.parquet"]
    assert [Path(p).name for p in plan.rows] == ["ann@laptop.parquet", "ann@zz-sync.parquet"]
    check_rollup_equals_rows(store, monkeypatch, "/rollup/", 120)


def test_folder_copies_in_files_with_a_rollup_count_once(halves, sandbox, monkeypatch):  # noqa: F811
    """Two machines' files with current rollups holding the same responses: summing both
    rollups would count ann's responses twice; the shared sessions send both files to
    the rows and the dedup."""
    from ccspend.store import team_read
    from ccspend.store.queries import Filters
    from ccspend.store.team_read import TeamStore

    folder = sandbox / "shared"
    export_all(f"{folder}/", halves, (("ann", "laptop"), ("ann", "zz-sync")))
    store = TeamStore(team_read.PARQUET, str(folder), path=folder)
    rolled, rows, _ = _both(store, "machine", Filters(), monkeypatch)
    assert rolled.summary == rows.summary
    assert rolled.duplicates == 120 and rolled.summary.total.requests == 120
    # under whichever of the two exported first (they ran at once)
    assert [a.requests for a in rolled.summary.groups] == [120]


def test_folder_file_without_a_current_rollup_is_read_row_by_row(halves, sandbox, monkeypatch):  # noqa: F811
    """A month file rewritten without its rollup (an older ccspend, or a sync tool that
    delivered the file before its rollup) is read row by row; the next export of that
    machine writes the rollup again without changing what the file says."""
    import duckdb

    from ccspend.store import team_read
    from ccspend.store.queries import Filters
    from ccspend.store.team_read import TeamStore

    folder = sandbox / "shared"
    export_all(f"{folder}/", halves)
    store = TeamStore(team_read.PARQUET, str(folder), path=folder)
    month = folder / "month=2026-09"
    bob = month / "bob@desktop.parquet"
    # the file changes (one more request) and its rollup stays behind
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE b AS SELECT * FROM read_parquet('{bob}')")
    con.execute("INSERT INTO b SELECT * REPLACE ('extra|1' AS request_key) FROM b LIMIT 1")
    tmp = month / ".bob.tmp"
    con.execute(f"COPY b TO '{tmp}' (FORMAT parquet)")
    os.replace(tmp, bob)
    with duckdb.connect() as c:
        plan = team_read.folder_plan(c, folder, Filters())
    assert not plan.rollups and len(plan.rows) == 2
    got = team_read.summarise(store, "machine", Filters())
    assert {a.key: a.requests for a in got.summary.groups} == {"laptop": 120, "desktop": 121}
    # bob's next export (nothing new) writes the rollup of the file as it is
    export_all(f"{folder}/", halves, (("bob", "desktop"),))
    with duckdb.connect() as c:
        plan = team_read.folder_plan(c, folder, Filters())
    assert len(plan.rollups) == 2 and not plan.rows
    rolled, rows, sql = _both(store, "machine", Filters(), monkeypatch)
    assert "/rollup/" in sql and rolled.summary == rows.summary
    assert {a.key: a.requests for a in rolled.summary.groups} == {"laptop": 120, "desktop": 121}


def test_an_instant_window_or_a_session_reads_the_rows(halves, sandbox, monkeypatch):  # noqa: F811
    from datetime import UTC, datetime

    from ccspend.store import team_read
    from ccspend.store.queries import Filters

    assert team_read.rollup_answers("daily", Filters(tz="Asia/Kathmandu", since=date(2026, 9, 1)))
    assert not team_read.rollup_answers("session", Filters())
    assert not team_read.rollup_answers("daily", Filters(session="abc"))
    at = datetime(2026, 9, 3, 10, 7, tzinfo=UTC)
    assert not team_read.rollup_answers("daily", Filters(since_ts=at))
