"""A database made by an older ccspend is migrated in place, its rows kept."""

from __future__ import annotations

import duckdb

from ccspend.store import Store
from ccspend.store.migrations import MIGRATIONS


def _old_database(path, upto: str) -> None:
    """A database as ccspend made it when ``upto`` was its newest migration."""
    names = [name for name, _ in MIGRATIONS]
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)")
    for name, step in MIGRATIONS[: names.index(upto) + 1]:
        step(con) if callable(step) else con.execute(step)
        con.execute("INSERT INTO schema_migrations VALUES (?, now())", [name])
    con.close()


def test_m006_computes_the_response_key_and_keeps_every_row(tmp_path):
    path = tmp_path / "ccspend.duckdb"
    _old_database(path, "m005_imported_usage")
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO requests (file_id, line_offset, ts, session_id, message_id, request_id, "
        "dedup_key, model, input_tokens, output_tokens, cache_write_5m_tokens, "
        "cache_write_1h_tokens, cache_read_tokens, web_search_requests, cwd, is_sidechain, "
        "is_api_error, logged_cost_usd) VALUES "
        "(1, 0, '2026-09-01 10:00:00+00', 's', 'm1', 'r1', 'm1|r1', 'claude-sonnet-4-5', "
        " 1, 2, 3, 4, 5, 6, '/w', false, false, 0.5), "
        "(1, 90, '2026-09-01 10:01:00+00', 's', 'm2', NULL, 'm2|', 'claude-sonnet-4-5', "
        " 7, 8, 0, 0, 0, 0, '/w', true, false, NULL), "
        "(1, 180, '2026-09-01 10:02:00+00', 's', NULL, 'r3', NULL, 'x', "
        " 9, 9, 0, 0, 0, 0, '/w', false, true, NULL)"
    )
    before = con.execute(
        "SELECT * EXCLUDE (dedup_key, ts), epoch_us(ts), dedup_key FROM requests ORDER BY line_offset"
    ).fetchall()
    con.close()

    store = Store(path)
    assert store.applied_migrations() == sorted(name for name, _ in MIGRATIONS)
    with store.connect() as con:
        after = con.execute(  # m007's columns (2026's fields) aside
            "SELECT * EXCLUDE (dedup_key, ts, speed, inference_geo, compaction_input_tokens, "
            "compaction_output_tokens, compaction_cache_write_5m_tokens, "
            "compaction_cache_write_1h_tokens, compaction_cache_read_tokens), epoch_us(ts), "
            "dedup_key FROM requests ORDER BY line_offset"
        ).fetchall()
        generated = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'requests' "
            "AND column_name = 'dedup_key' AND column_default IS NOT NULL"
        ).fetchone()[0]
    assert after == before
    assert [r[-1] for r in after] == ["m1|r1", "m2|", None]
    assert generated == 1  # computed, no longer stored


def test_m007_reads_the_logs_on_disk_again_for_2026_fields(tmp_path):
    """A database from before 2026's fields: the logs still on disk are read again (their
    fast-mode requests then cost six times as much); a log Claude Code has since deleted
    keeps the rows it gave."""
    import json

    from ccspend.ingest.claude import ingest_claude
    from ccspend.pricing import load_card
    from ccspend.reports.build import ReportRequest, build_report
    from ccspend.store.queries import Filters
    from tests.logs import assistant

    projects = tmp_path / "projects" / "-w"
    projects.mkdir(parents=True)
    fast = assistant(ts="2026-03-10T10:00:00.000Z", model="claude-opus-4-6", inp=1000, out=0)
    fast["message"]["usage"]["speed"] = "fast"
    (projects / "a.jsonl").write_text(json.dumps(fast) + "\n")
    gone = assistant(ts="2026-03-10T11:00:00.000Z", model="claude-opus-4-6", inp=2000, out=0,
                     msg="msg_gone", req="req_gone", session="gone")
    (projects / "gone.jsonl").write_text(json.dumps(gone) + "\n")
    path = tmp_path / "db.duckdb"
    ingest_claude(Store(path), [tmp_path / "projects"])
    (projects / "gone.jsonl").unlink()
    # back to the shape of m006: no 2026 columns, m007 never applied
    con = duckdb.connect(str(path))
    for col in ("speed", "inference_geo", "compaction_input_tokens", "compaction_output_tokens",
                "compaction_cache_write_5m_tokens", "compaction_cache_write_1h_tokens",
                "compaction_cache_read_tokens"):  # fmt: skip
        con.execute(f"ALTER TABLE requests DROP COLUMN {col}")
    con.execute("DELETE FROM schema_migrations WHERE name = 'm007_usage_2026'")
    con.close()

    store = Store(path)
    card = load_card(None)

    def cost() -> float:
        return build_report(store, card, ReportRequest("daily", Filters(tz="UTC"))).to_json()[
            "totals"]["cost_usd"]  # fmt: skip

    assert cost() == 0.005 + 0.01  # both at the standard rate: the old rows know no speed
    ingest_claude(store, [tmp_path / "projects"])
    assert cost() == 6 * 0.005 + 0.01  # read again: fast; the deleted log's row is kept


def test_threads_opening_a_new_database_at_once_all_succeed(tmp_path):
    """A run's ledger and alert threads can open a database that does not exist yet
    at the same moment: one migrates it, the others find it migrated (before, the
    second failed on DuckDB's catalog write-write conflict)."""
    import threading

    errors: list[BaseException] = []
    for i in range(8):
        path = tmp_path / f"new-{i}.duckdb"

        def open_it(path=path):
            try:
                with Store(path).connect(write=True):
                    pass
            except BaseException as exc:  # noqa: BLE001 - every failure is the test's
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert Store(path).applied_migrations() == [name for name, _ in MIGRATIONS]
    assert errors == []


def test_m008_hides_the_secrets_an_older_ledger_kept(tmp_path):
    """Rows an older ccspend wrote in the clear are redacted in place; a row with
    nothing to hide keeps its text byte for byte."""
    path = tmp_path / "ccspend.duckdb"
    _old_database(path, "m007_usage_2026")
    con = duckdb.connect(str(path))
    rows = [
        ("r1", "claude -p 'fix it' --api-key sk-ant-api03-abcdefghijklmnop", "ok"),
        ("r2", "env ANTHROPIC_API_KEY=abc123 claude -p 'say \"hi\"'", None),
        ("r3", "claude -p  'plain   spacing kept'", "forced past: token ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    ]
    for run_id, command, note in rows:
        con.execute("INSERT INTO runs (run_id, command, started_at, status, note) "
                    "VALUES (?, ?, now(), 'ok', ?)", [run_id, command, note])
    con.execute("INSERT INTO run_events VALUES ('r1', now(), 'forced', "
                "'Authorization: Bearer abcdefghijklmnop')")
    con.close()

    store = Store(path)
    assert "m008_redact_ledger" in store.applied_migrations()
    con = duckdb.connect(str(path))
    got = dict((r[0], (r[1], r[2])) for r in con.execute("SELECT run_id, command, note FROM runs").fetchall())
    detail = con.execute("SELECT detail FROM run_events").fetchone()[0]
    con.close()
    assert "sk-ant" not in got["r1"][0] and "***" in got["r1"][0]
    assert "abc123" not in got["r2"][0]
    assert got["r3"][0] == "claude -p  'plain   spacing kept'"
    assert "ghp_" not in got["r3"][1]
    assert "abcdefghijklmnop" not in detail


def test_m009_keeps_every_imported_row_without_the_primary_key(tmp_path):
    """m009 rebuilds imported_usage without its index (the import keeps keys unique):
    the rows and their values are kept, and the table has no key constraint left."""
    path = tmp_path / "ccspend.duckdb"
    _old_database(path, "m008_redact_ledger")
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO imported_usage VALUES "
        "('k1', 'generic-csv', 'openai', 'usage', '2026-09-01 10:00:00+00', NULL, 'm', NULL, "
        " NULL, 'p', NULL, NULL, NULL, NULL, 1, 2, 0, 3, 4, 0, NULL, 0.125, 'a.csv', now()), "
        "('k2', 'anthropic-cost-api', 'anthropic', 'cost', '2026-09-01 00:00:00+00', "
        " '2026-09-02 00:00:00+00', 'claude', 'w', 'key', NULL, NULL, 'standard', '0-200k', "
        " 'output_tokens', 0, 0, 0, 0, 0, 1, 2, 1.5, 'b.json', now())")
    before = con.execute("SELECT * FROM imported_usage ORDER BY row_key").fetchall()
    con.close()
    with Store(path).connect(write=True) as c:
        assert c.execute("SELECT * FROM imported_usage ORDER BY row_key").fetchall() == before
        assert c.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = "
                         "'imported_usage' AND constraint_type = 'PRIMARY KEY'").fetchone()[0] == 0
