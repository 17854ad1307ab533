"""ccspend export: the same rows and totals as the reports, in csv, jsonl and parquet."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import report_json, run_cli
from tests.logs import assistant, write


@pytest.fixture
def history(projects):
    write(projects / "p" / "s.jsonl", [
        assistant(ts="2026-08-31T23:00:00.000Z", msg="a", req="a", inp=1000, out=200,
                  model="claude-haiku-4-5"),
        assistant(ts="2026-08-31T23:00:00.000Z", msg="a", req="a", inp=1000, out=200,
                  model="claude-haiku-4-5"),  # a copy: counted once
        assistant(ts="2026-09-01T10:00:00.000Z", msg="b", req="b", inp=10, out=3000,
                  cache_read=5000, model="claude-sonnet-4-5-20250929"),
        assistant(ts="2026-09-02T10:00:00.000Z", msg="c", req="c", inp=7, out=7,
                  model="mystery-model-9"),
    ])


def daily_totals(*args: str) -> tuple[int, float]:
    out = report_json("daily", *args)  # in this process: the numbers, not the CLI
    return sum(r["requests"] for r in out["rows"]), out["totals"]["cost_usd"]


def test_csv_and_jsonl_match_the_daily_report(sandbox, history):
    n, usd = daily_totals()
    r = run_cli("export", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == n == 3
    assert float(sum(Decimal(x["cost_usd"] or 0) for x in rows)) == pytest.approx(usd)
    # exact, never through a float: haiku 1000 in + 200 out at $1/$5, sonnet 10 in + 3000 out
    # + 5000 cache reads at $3/$15/$0.30 per million
    assert [x["cost_usd"] for x in rows] == ["0.002000000000", "0.046530000000", ""]
    assert "text" not in rows[0] and rows[0]["ts"] == "2026-08-31T23:00:00.000Z"
    assert [x["priced"] for x in rows] == ["true", "true", "false"]
    out = sandbox / "u.jsonl"
    r = run_cli("export", "--format", "jsonl", "--out", str(out), "--since", "2026-09-01")
    assert r.returncode == 0 and "wrote 2 rows" in r.stderr
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    n, usd = daily_totals("--since", "2026-09-01")
    assert len(lines) == n == 2
    assert sum(float(x["cost_usd"] or 0) for x in lines) == pytest.approx(usd)


def test_parquet_is_partitioned_by_month_and_reads_back(sandbox, history):
    n, usd = daily_totals()
    out = sandbox / "lake"
    r = run_cli("export", "--format", "parquet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["month=2026-08", "month=2026-09"]
    con = duckdb.connect()
    got = con.execute(
        f"SELECT count(*), sum(cost_usd), count(DISTINCT month) FROM "
        f"read_parquet('{out}/**/*.parquet', hive_partitioning=true)").fetchone()
    assert got[0] == n and float(got[1]) == pytest.approx(usd) and got[2] == 2
    again = run_cli("export", "--format", "parquet", "--out", str(out))
    assert again.returncode == 1 and again.stderr.count("\n") == 1  # never overwrites
    assert run_cli("export", "--format", "parquet").returncode == 1  # needs --out
    assert run_cli("export", "--format", "xlsx").returncode == 2
