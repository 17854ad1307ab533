"""ccspend sql: the documented views, every output format, and refusals."""

import json

import pytest

from tests.conftest import cli, report_json, run_cli
from tests.logs import assistant, write


@pytest.fixture
def history(projects):
    write(projects / "p" / "s.jsonl", [
        assistant(msg="a", req="a", inp=1_000_000, out=0, model="claude-haiku-4-5"),
        assistant(msg="a", req="a", inp=1_000_000, out=0, model="claude-haiku-4-5"),  # a copy
        assistant(msg="b", req="b", inp=10, out=10, model="mystery-model-9"),
    ])


def test_priced_requests_counts_like_the_reports(sandbox, history):
    r = run_cli("sql", "SELECT sum(cost_usd) AS usd, count(*) AS n, count(cost_usd) AS priced "
                "FROM priced_requests", "--json")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)["rows"][0]
    total = report_json("daily")["totals"]["cost_usd"]
    assert float(row["usd"]) == pytest.approx(total) == pytest.approx(1.0)
    assert row["n"] == 2 and row["priced"] == 1  # deduplicated; the unknown model unpriced
    raw = json.loads(cli("sql", "FROM requests SELECT count(*) AS n", "--json").stdout)
    assert raw["rows"][0]["n"] == 2  # a copy within the same file is never counted: not stored


def test_views_and_formats(sandbox, history):
    assert cli("budget", "set", "daily", "7", "--task", "t").returncode == 0  # setup
    r = run_cli("sql", "SELECT scope, target, cap_usd FROM budgets", "--csv")
    assert r.stdout == "scope,target,cap_usd\ntask,t,7.0\n"
    assert "run_id" in run_cli("sql", "DESCRIBE runs").stdout
    assert run_cli("sql", "SELECT * FROM range(500)").stderr.startswith(
        "ccspend: showing the first 200 rows")


@pytest.mark.parametrize("query", [
    "DELETE FROM requests", "DROP TABLE runs", "SELECT 1; DELETE FROM runs",
    "COPY requests TO 'x.csv'", "ATTACH 'other.duckdb'", "INSTALL httpfs",
    "WITH d AS (DELETE FROM runs RETURNING *) SELECT * FROM d", "PRAGMA version",
])
def test_writes_are_refused_with_a_usage_error(sandbox, history, query):
    r = run_cli("sql", query)
    assert r.returncode == 2 and r.stderr.startswith("ccspend: error:") and r.stderr[-1] == "\n"
    assert r.stderr.count("\n") == 1
