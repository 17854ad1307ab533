"""ccspend export --to: a team's shared table in a real PostgreSQL server, or a DuckDB file.

The server is a throwaway one started here (initdb + pg_ctl, a unix socket in a
temp folder, password authentication), run as the ``postgres`` user when the
tests run as root (initdb refuses root). Without PostgreSQL's server binaries
the server tests skip, saying why; the rest runs everywhere.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ccspend.reports import team_export
from tests import pg_server
from tests.conftest import cli, report_json, run_cli
from tests.logs import assistant, write
from tests.pg_server import PASSWORD, Server, free_port

pg = pg_server.pg  # the throwaway server, one for this module's tests

SUMS = ("input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
        "cache_read_tokens", "web_search_requests")


# -- histories ----------------------------------------------------------------------------


@pytest.fixture
def history(projects):
    write(projects / "p" / "s.jsonl", [
        assistant(ts="2026-08-31T23:00:00.000Z", msg="a", req="a", inp=1000, out=200,
                  model="claude-haiku-4-5"),
        assistant(ts="2026-08-31T23:00:00.000Z", msg="a", req="a", inp=1000, out=200,
                  model="claude-haiku-4-5"),  # a copy: counted once
        assistant(ts="2026-09-01T10:00:00.000Z", msg="b", req="b", inp=10, out=3000,
                  cache_read=5000, cache_write=400, w1h=100, searches=2,
                  model="claude-sonnet-4-5-20250929"),
        assistant(ts="2026-09-02T10:00:00.000Z", msg="c", req="c", inp=7, out=7,
                  model="mystery-model-9"),  # not on the card: cost NULL, never 0
    ])
    return projects


def daily(*args: str) -> dict:
    return report_json("daily", *args)["totals"]  # in this process: the numbers, not the CLI


def local_costs(*args: str) -> Decimal:
    r = cli("export", "--format", "csv", *args)  # in this process: the rows, not the CLI
    assert r.returncode == 0, r.stderr
    return sum(Decimal(x["cost_usd"] or 0) for x in csv.DictReader(io.StringIO(r.stdout)))


def export_to(target: str, *args: str, env: dict | None = None, process: bool = True) -> dict:
    """``ccspend export --to``'s counts: by the command in a process of its own, or (for a
    test's later exports, whose subject is the table's rows) by the CLI in this one."""
    r = (run_cli if process else cli)("export", "--to", target, "--json", *args, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("\n") == 1 and PASSWORD not in r.stderr + r.stdout
    return json.loads(r.stdout)


TOTALS_SQL = ("SELECT count(*), sum(cost_usd), " + ", ".join(f"sum({c})" for c in SUMS)
              + " FROM {t} WHERE user_name = '{u}'")


def assert_matches_reports(got: tuple, *args: str) -> None:
    t = daily(*args)
    assert got[0] == t["requests"]
    assert Decimal(got[1]) == local_costs(*args)  # exactly, in DECIMAL
    assert float(got[1]) == pytest.approx(t["cost_usd"], abs=1e-9)
    assert [int(x) for x in got[2:]] == [t[c] for c in SUMS]


# -- PostgreSQL ---------------------------------------------------------------------------


def test_first_export_creates_the_table_and_matches_the_reports(pg, history):
    table = "first_run"
    r = run_cli("export", "--to", pg.url(), "--table", table, "--user", "ann",
                "--machine", "laptop")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # counts are talk: stderr
    assert r.stderr == (f"ccspend: sent 3 rows to {pg.url(password=None)} (table {table}, "
                        "ann@laptop): 3 new, 0 updated, 0 already there\n")
    assert_matches_reports(pg.query(TOTALS_SQL.format(t=table, u="ann"))[0])
    cols = [r[0] for r in pg.query(
        f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' "
        "ORDER BY ordinal_position")]
    assert cols == [*team_export.NAMES, "counted"]  # counted: PostgreSQL's dedup decision
    indexes = pg.query(f"SELECT indexdef FROM pg_indexes WHERE tablename = '{table}'")
    assert {i.split(" USING ")[1] for (i,) in indexes} >= {"btree (ts)", "hash (request_key)"}
    rows = pg.query(f"SELECT request_key, ts::text, source, provider, model_name, cost_usd, "
                    f"project, branch, card_version FROM {table} ORDER BY ts")
    assert [r[0] for r in rows] == ["a|a", "b|b", "c|c"]
    assert rows[0][1] == "2026-08-31 23:00:00+00"
    assert {r[2] for r in rows} == {"claude-code"}
    assert [r[3] for r in rows] == ["anthropic", "anthropic", None]
    assert rows[2][4] is None and rows[2][5] is None  # unpriced: NULL, not 0
    assert rows[0][6:8] == ("/home/dev/app", "main") and rows[0][8]
    pk = pg.query(f"SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                  f"WHERE conrelid = '{table}'::regclass AND contype = 'p'")
    assert pk == [("PRIMARY KEY (user_name, machine, request_key)",)]

    again = export_to(pg.url(), "--table", table, "--user", "ann", "--machine", "laptop",
                      process=False)
    assert (again["sent"], again["new"], again["updated"], again["unchanged"]) == (3, 0, 0, 3)
    assert pg.query(f"SELECT count(*) FROM {table}") == [(3,)]


def test_two_users_and_machines_share_one_table(pg, history):
    for user, machine in (("ann", "laptop"), ("ann", "desktop"), ("bob", "laptop")):
        got = export_to(pg.url(), "--table", "shared", "--user", user, "--machine", machine,
                        process=user == "bob")
        assert got["new"] == 3 and (got["user"], got["machine"]) == (user, machine)
    rows = pg.query("SELECT user_name, machine, count(*), sum(cost_usd) FROM shared "
                    "GROUP BY 1, 2 ORDER BY 1, 2")
    assert [r[:3] for r in rows] == [("ann", "desktop", 3), ("ann", "laptop", 3),
                                     ("bob", "laptop", 3)]
    assert len({r[3] for r in rows}) == 1


def test_teammates_exporting_at_once_both_land(pg, history):
    import sys

    assert cli("daily").returncode == 0  # ingest first: the three only read the store
    procs = [subprocess.Popen([sys.executable, "-m", "ccspend", "export", "--to", pg.url(),
                               "--table", "at_once", "--user", user, "--no-ingest"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for user in ("ann", "bob", "cy")]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert pg.query("SELECT count(*) FROM at_once") == [(9,)]


def test_overlapping_windows_add_nothing_twice(pg, history):
    args = ("--table", "windows", "--user", "ann", "--machine", "m")
    first = export_to(pg.url(), *args, "--since", "2026-09-01")
    assert (first["sent"], first["new"]) == (2, 2)
    overlap = export_to(pg.url(), *args, "--until", "2026-09-01", process=False)
    assert (overlap["sent"], overlap["new"], overlap["unchanged"]) == (2, 1, 1)
    everything = export_to(pg.url(), *args, process=False)
    assert (everything["sent"], everything["new"], everything["unchanged"]) == (3, 0, 3)
    assert_matches_reports(pg.query(TOTALS_SQL.format(t="windows", u="ann"))[0])


def test_a_response_still_streaming_is_updated_not_added(pg, projects):
    log = projects / "p" / "live.jsonl"
    first = assistant(ts="2026-09-01T10:00:00.000Z", msg="m", req="r", inp=50, out=1,
                      cache_read=9000)  # the placeholder line of a streamed response
    write(log, [first])
    args = ("--table", "streaming", "--user", "ann", "--machine", "m")
    assert export_to(pg.url(), *args)["new"] == 1
    with open(log, "a") as fh:  # the response's last line: the real output count
        fh.write(json.dumps(assistant(ts="2026-09-01T10:00:00.000Z", msg="m", req="r",
                                      inp=50, out=700, cache_read=9000)) + "\n")
    got = export_to(pg.url(), *args, process=False)
    assert (got["sent"], got["new"], got["updated"]) == (1, 0, 1)
    assert pg.query("SELECT count(*), sum(output_tokens) FROM streaming") == [(1, 700)]
    assert_matches_reports(pg.query(TOTALS_SQL.format(t="streaming", u="ann"))[0])


def test_ten_thousand_rows(pg, projects):
    lines = [assistant(ts=f"2026-09-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.000Z",
                       msg=f"m{i}", req=f"r{i}", inp=i % 500, out=1 + i % 900,
                       cache_read=i * 7 % 20000, session=f"s{i % 40}",
                       model=("claude-haiku-4-5", "claude-sonnet-4-5-20250929",
                              "claude-opus-4-1")[i % 3])
             for i in range(12_000)]
    for k in range(4):
        write(projects / f"p{k}" / "s.jsonl", lines[k::4])
    assert cli("daily", "--json").returncode == 0  # ingest first: time only the export
    started = time.perf_counter()
    got = export_to(pg.url(), "--table", "big", "--user", "ann", "--machine", "m", "--no-ingest")
    took = time.perf_counter() - started
    assert (got["sent"], got["new"]) == (12_000, 12_000)
    assert_matches_reports(pg.query(TOTALS_SQL.format(t="big", u="ann"))[0])
    again = export_to(pg.url(), "--table", "big", "--user", "ann", "--machine", "m",
                      "--no-ingest", process=False)
    assert again["unchanged"] == 12_000
    print(f"\n12,000 rows to PostgreSQL: {took:.2f}s (load {os.getloadavg()[0]:.2f})")


def test_password_from_pgpassword_and_never_printed(pg, history):
    got = export_to(pg.url(password=None), "--table", "envpw",
                    env={"PGPASSWORD": PASSWORD})
    assert got["new"] == 3 and got["target"] == pg.url(password=None)
    bad = run_cli("export", "--to", pg.url(password="wrong-" + PASSWORD), "--table", "envpw")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert "password authentication failed" in bad.stderr
    assert PASSWORD not in bad.stderr


def test_a_table_of_another_shape_is_refused(pg, history):
    pg_exec(pg, "CREATE TABLE other_shape (id int)")
    r = run_cli("export", "--to", pg.url(), "--table", "other_shape")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "without ccspend's columns" in r.stderr


def pg_exec(pg: Server, sql: str) -> None:
    import psycopg

    with psycopg.connect(pg.url(), autocommit=True) as conn:
        conn.execute(sql)


def test_duckdb_file_holds_the_same_rows_as_postgres(pg, history, sandbox):
    team = sandbox / "shared" / "team.duckdb"
    team.parent.mkdir()
    args = ("--table", "same", "--user", "ann", "--machine", "m")
    assert export_to(pg.url(), *args, process=False)["new"] == 3
    assert export_to(str(team), *args)["new"] == 3
    cols = ", ".join(c for c in team_export.NAMES if c not in ("ts", "exported_at"))
    con = duckdb.connect(str(team), read_only=True)
    got_duck = con.execute(f"SELECT {cols}, epoch_us(ts) FROM same ORDER BY request_key")
    got_duck = got_duck.fetchall()
    con.close()
    got_pg = pg.query(f"SELECT {cols}, (extract(epoch FROM ts) * 1000000)::bigint FROM same "
                      "ORDER BY request_key")
    assert got_duck == got_pg
    query = readme_query().replace("ts >= now() - interval '30 days'", "ts >= '2026-08-01'")
    con = duckdb.connect(str(team), read_only=True)
    by_week_duck = [(u, str(w), float(usd)) for u, w, usd in con.execute(query).fetchall()]
    con.close()
    by_week_pg = [(u, str(w), float(usd)) for u, w, usd in pg.query(query)]
    assert by_week_duck == by_week_pg == [("ann", "2026-08-31", 0.07)]  # a Monday


def readme_query() -> str:
    """The example query of docs/team.md, run against both engines."""
    section = (Path(__file__).resolve().parent.parent / "docs" / "team.md").read_text()
    return section.split("```sql\n", 1)[1].split("```", 1)[0].replace("ccspend_usage", "same")


# -- DuckDB file (no server needed) -------------------------------------------------------


def test_duckdb_file_is_created_appended_and_idempotent(history, sandbox):
    team = sandbox / "team.duckdb"
    first = export_to(str(team), "--user", "ann", "--machine", "m")
    assert (first["sent"], first["new"], first["table"]) == (3, 3, "ccspend_usage")
    assert export_to(str(team), "--user", "ann", "--machine", "m",
                     process=False)["unchanged"] == 3
    assert export_to(str(team), "--user", "bob", "--machine", "m", "--since",
                     "2026-09-02", process=False)["new"] == 1
    con = duckdb.connect(str(team), read_only=True)
    got = con.execute(TOTALS_SQL.format(t="ccspend_usage", u="ann")).fetchone()
    users = con.execute("SELECT user_name, count(*) FROM ccspend_usage GROUP BY 1 "
                        "ORDER BY 1").fetchall()
    con.close()
    assert_matches_reports(got)
    assert users == [("ann", 3), ("bob", 1)]


def test_duckdb_file_held_by_someone_else_is_waited_for(history, sandbox):
    team = sandbox / "team.duckdb"
    holder = duckdb.connect(str(team))  # a teammate's export in progress
    threading.Timer(1.0, holder.close).start()
    r = run_cli("export", "--to", str(team), env={"CCSPEND_LOCK_TIMEOUT": "30"})
    assert r.returncode == 0 and "3 new" in r.stderr, r.stderr
    holder = duckdb.connect(str(team))
    try:
        busy = run_cli("export", "--to", str(team), env={"CCSPEND_LOCK_TIMEOUT": "0.5"})
    finally:
        holder.close()
    assert busy.returncode == 3 and busy.stderr.count("\n") == 1
    assert "held by another process" in busy.stderr


# -- errors: one line, non-zero, no password ----------------------------------------------


def test_unreachable_server_is_one_line_without_the_password(history):
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    url = f"postgresql://ann:{PASSWORD}@127.0.0.1:{free_port()}/team?connect_timeout=5"
    r = run_cli("export", "--to", url)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("ccspend: error: cannot export to postgresql://ann@127.0.0.1:")
    assert r.stderr.count("\n") == 1 and PASSWORD not in r.stderr


@pytest.mark.parametrize("url", [f"postgresql://ann:{PASSWORD}@[::1/team",
                                 f"postgresql://ann:{PASSWORD}@db/team?bogus=1"])
def test_a_malformed_url_is_a_usage_error_without_the_password(history, url):
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    r = run_cli("export", "--to", url)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert PASSWORD not in r.stderr and "Traceback" not in r.stderr


def test_missing_psycopg_is_one_line(history, sandbox):
    fake = sandbox / "nopsycopg" / "psycopg"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('psycopg is not installed')\n")
    path = os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))
    r = run_cli("export", "--to", f"postgres://ann:{PASSWORD}@localhost/team",
                env={"PYTHONPATH": path})
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "needs psycopg" in r.stderr and "ccspend[postgres]" in r.stderr
    assert PASSWORD not in r.stderr


@pytest.mark.parametrize("args", [
    ("--to", "mysql://x/y"),
    ("--to", "team.csv"),
    ("--to", "t.duckdb", "--format", "csv"),
    ("--to", "t.duckdb", "--out", "x.csv"),
    ("--to", "t.duckdb", "--table", "drop table x;"),
    ("--to", "t.duckdb", "--user", " "),
    ("--json",),
    ("--user", "ann"),
])
def test_bad_options_are_usage_errors(history, args):
    r = run_cli("export", *args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_a_missing_folder_is_one_line(history, sandbox):
    r = run_cli("export", "--to", str(sandbox / "nowhere" / "team.duckdb"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "does not exist" in r.stderr


def test_redact_removes_every_password():
    assert team_export.redact("postgres://ann:pw@db.example:5432/team?sslmode=require") == \
        "postgres://ann@db.example:5432/team?sslmode=require"
    assert team_export.redact("postgresql://ann@/team?host=/run/pg&password=pw&port=5") == \
        "postgresql://ann@/team?host=/run/pg&port=5"
    assert team_export.redact("postgresql://ann:p%40ss@h/db") == "postgresql://ann@h/db"
    assert team_export.redact("postgresql://h/db") == "postgresql://h/db"
    assert team_export.redact("postgresql://ann:pw@[::1/db?password=pw") == \
        "postgresql://…@[::1/db"  # malformed: still no password
