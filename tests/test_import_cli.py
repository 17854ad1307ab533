"""ccspend import: every fixture lands with exactly the parser's totals, once."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb

from ccspend.imports import formats
from ccspend.store.imported import Totals, row_totals
from tests.conftest import cli, run_cli

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


def stored_by_file(sandbox: Path) -> dict[str, Totals]:
    con = duckdb.connect(str(sandbox / "data" / "ccspend.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT file, count(*), sum(input_tokens), sum(cache_write_5m_tokens), "
            "sum(cache_write_1h_tokens), sum(cache_read_tokens), sum(output_tokens), "
            "sum(web_search_requests), coalesce(sum(cost_usd), 0) "
            "FROM imported_usage GROUP BY file").fetchall()
    finally:
        con.close()
    return {r[0]: Totals(*[int(v) for v in r[1:8]], cost_usd=Decimal(r[8])) for r in rows}


def test_every_format_lands_with_its_own_totals_and_twice_changes_nothing(sandbox):
    """All fixtures in one import (one process, as a user would), checked file by file.

    A bucket present in two files is stored once, with the values of the file
    imported last; so each file owns the buckets no later file repeats, and its
    stored totals must equal the parser's totals of exactly those rows.
    """
    parsed = {p: formats.read(p, formats.detect(p)) for p in EXPORTS}
    owner: dict = {}
    for path, rows in parsed.items():  # the import's order: the command line's
        for row in rows:
            owner[row.key] = (path, row)
    seen: set = set()
    expected_new = {}
    for path, rows in parsed.items():
        keys = {r.key for r in rows}
        expected_new[path] = len(keys - seen)
        seen |= keys
    r = run_cli("import", *map(str, EXPORTS), "--json")
    assert r.returncode == 0, r.stderr
    files = {Path(f["file"]): f for f in json.loads(r.stdout)["files"]}
    assert {p: files[p]["new"] for p in EXPORTS} == expected_new
    want = {str(p): row_totals([row for q, row in owner.values() if q == p]) for p in EXPORTS}
    want = {k: v for k, v in want.items() if v.rows}
    first = stored_by_file(sandbox)
    assert first == want  # tokens and Decimal dollars, exactly, format by format
    again = json.loads(cli("import", *map(str, EXPORTS), "--json").stdout)["files"]  # in-process
    assert all(f["new"] == 0 for f in again)
    assert {Path(f["file"]): f["already_there"] for f in again} == {
        p: len({row.key for row in rows}) for p, rows in parsed.items()}
    assert stored_by_file(sandbox) == first


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
    # the other order, in two commands: the same store (by the CLI in this process)
    assert cli("import", str(p2)).returncode == 0
    assert cli("import", str(p1)).returncode == 0
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
    assert cli("import", str(good)).returncode == 0  # setup, in this process
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
    assert cli("import", str(FIXTURES / "anthropic_cost_report.json")).returncode == 0  # setup
    r = run_cli("sql", "SELECT sum(cost_usd) AS usd FROM imported_usage", "--json",
                "--no-ingest")
    assert r.returncode == 0, r.stderr
    assert Decimal(json.loads(r.stdout)["rows"][0]["usd"]) == Decimal("4.1641413")
