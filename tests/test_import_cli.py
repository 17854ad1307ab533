"""ccspend import: every fixture lands with exactly the parser's totals, once."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ccspend.imports import formats
from ccspend.store.imported import Totals, row_totals
from tests.conftest import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
EXPORTS = sorted(p for p in FIXTURES.iterdir() if not p.name.startswith("codex_"))


def stored(sandbox: Path) -> Totals:
    con = duckdb.connect(str(sandbox / "data" / "ccspend.duckdb"), read_only=True)
    try:
        r = con.execute(
            "SELECT count(*), coalesce(sum(input_tokens), 0), "
            "coalesce(sum(cache_write_5m_tokens), 0), coalesce(sum(cache_write_1h_tokens), 0), "
            "coalesce(sum(cache_read_tokens), 0), coalesce(sum(output_tokens), 0), "
            "coalesce(sum(web_search_requests), 0), coalesce(sum(cost_usd), 0) "
            "FROM imported_usage").fetchone()
    finally:
        con.close()
    return Totals(*[int(v) for v in r[:7]], cost_usd=Decimal(r[7]))


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.name)
def test_totals_equal_the_parsers_and_twice_changes_nothing(sandbox, path):
    expected = row_totals(formats.read(path, formats.detect(path)))
    r = run_cli("import", str(path), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["files"][0]["new"] == expected.rows and out["files"][0]["already_there"] == 0
    first = stored(sandbox)
    assert first == expected  # tokens and Decimal dollars, exactly
    again = json.loads(run_cli("import", str(path), "--json").stdout)
    assert again["files"][0]["new"] == 0 and again["files"][0]["already_there"] == expected.rows
    assert stored(sandbox) == first


def test_overlapping_usage_pages_count_the_shared_bucket_once(sandbox):
    p1, p2 = FIXTURES / "anthropic_usage_page1.json", FIXTURES / "anthropic_usage_page2.json"
    rows1 = formats.read(p1, formats.detect(p1))
    rows2 = formats.read(p2, formats.detect(p2))
    shared = {r.key for r in rows1} & {r.key for r in rows2}
    assert len(shared) == 1
    r = run_cli("import", str(p1), str(p2), "--json")
    assert r.returncode == 0, r.stderr
    files = json.loads(r.stdout)["files"]
    assert [(f["new"], f["already_there"]) for f in files] == [(5, 0), (1, 1)]
    assert stored(sandbox) == row_totals(rows1 + rows2)
    assert stored(sandbox).rows == len(rows1) + len(rows2) - 1
    # the other order, in two commands: the same store
    run_cli("import", str(p2))
    run_cli("import", str(p1))
    assert stored(sandbox) == row_totals(rows1 + rows2)


def test_a_broken_file_is_one_line_and_writes_nothing(sandbox):
    garbage = sandbox / "garbage.json"
    garbage.write_text('{"data": [{"starting_at": "2025-08-01T00:00:00Z", "results": [tru')
    good = FIXTURES / "anthropic_cost_report.json"
    for args in ([str(good), str(garbage)], [str(sandbox / "nothing.csv")],
                 [str(good), "--format", "no-such-format"]):
        r = run_cli("import", *args)
        assert r.returncode == 1, r.stderr
        assert r.stdout == "" and r.stderr.startswith("ccspend: error:")
        assert r.stderr.count("\n") == 1
    assert not (sandbox / "data" / "ccspend.duckdb").exists()  # not even created
    run_cli("import", str(good))
    r = run_cli("import", str(good), str(garbage))
    assert r.returncode == 1 and stored(sandbox) == row_totals(formats.read(good, formats.detect(good)))


def test_table_output_and_same_as_local(sandbox):
    r = run_cli("import", str(FIXTURES / "anthropic_cost_report.json"),
                "--same-as-local", "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ")
    assert r.returncode == 0, r.stderr
    assert "anthropic-cost-api" in r.stdout and "4.1641413" in r.stdout
    assert "same as local" in r.stderr
    r = run_cli("import", "--same-as-local", "apikey_x", "--json")
    assert json.loads(r.stdout)["same_as_local"] == ["apikey_x", "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"]
    assert run_cli("import").returncode == 2


def test_sql_can_query_imported_usage(sandbox):
    run_cli("import", str(FIXTURES / "anthropic_cost_report.json"))
    r = run_cli("sql", "SELECT sum(cost_usd) AS usd FROM imported_usage", "--json",
                "--no-ingest")
    assert r.returncode == 0, r.stderr
    assert Decimal(json.loads(r.stdout)["rows"][0]["usd"]) == Decimal("4.1641413")
