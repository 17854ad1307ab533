"""ccspend reconcile: logs and an export that agree but for three planted differences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccspend.reports import reconcile
from tests.conftest import cli, run_cli
from tests.logs import assistant, write

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reconcile"
SONNET, HAIKU = "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"


@pytest.fixture
def local_logs(projects):
    """The local side: see fixtures/reconcile/README.md for what the export says."""
    write(projects / "app" / "s1.jsonl", [
        assistant(ts="2026-09-01T09:00:00.000Z", msg="m1", req="r1", model=SONNET,
                  inp=400, out=1500, cache_read=10000),
        assistant(ts="2026-09-01T09:00:00.000Z", msg="m1", req="r1", model=SONNET,
                  inp=400, out=1500, cache_read=10000),  # a copy: counted once
        assistant(ts="2026-09-01T23:59:00.000Z", msg="m2", req="r2", model=SONNET,
                  inp=600, out=500),
        assistant(ts="2026-09-01T12:00:00.000Z", msg="m3", req="r3", model=HAIKU,
                  inp=5000, out=1000),
        assistant(ts="2026-09-02T10:00:00.000Z", msg="m4", req="r4", model=SONNET,
                  inp=2000, out=3000),
        assistant(ts="2026-09-02T11:00:00.000Z", msg="m5", req="r5", model=HAIKU,
                  inp=1000, out=1000),
        assistant(ts="2026-09-03T00:00:00.000Z", msg="m6", req="r6", model=SONNET,
                  inp=1000, out=1000),
    ])


def imported():
    r = cli("import", str(FIXTURES / "anthropic_usage.json"),
            str(FIXTURES / "anthropic_cost.json"))  # setup: in this process
    assert r.returncode == 0, r.stderr


def report(*args: str, process: bool = False) -> dict:
    """``ccspend reconcile --json``: by the CLI in this process (the rows are the subject),
    or by the command in a process of its own."""
    r = (run_cli if process else cli)("reconcile", "--json", *args)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["report"] == "reconcile"
    return out


def test_finds_exactly_the_three_planted_differences(sandbox, local_logs):
    imported()
    out = report(process=True)
    assert len(out["rows"]) == 6
    flagged = {(r["day"], r["model"]): r["explanation"] for r in out["rows"] if r["flag"]}
    assert flagged == {
        ("2026-09-02", "claude-sonnet-4-5"): reconcile.TOKENS_DIFFER,
        ("2026-09-03", "claude-sonnet-4-5"): reconcile.PRICE_DIFFERS,
        ("2026-09-04", "claude-sonnet-4-5"): reconcile.NO_LOCAL,
    }
    rows = {(r["day"], r["model"]): r for r in out["rows"]}
    agree = rows[("2026-09-01", "claude-sonnet-4-5")]
    assert agree["diff_usd"] == 0 and agree["export"]["cost_basis"] == "billed"
    assert agree["local"]["cost_usd"] == pytest.approx(0.036)
    assert rows[("2026-09-02", "claude-haiku-4-5")]["export"]["cost_basis"] == "card"
    price = rows[("2026-09-03", "claude-sonnet-4-5")]
    assert price["diff_usd"] == pytest.approx(0.009) and price["diff_pct"] == pytest.approx(50)
    tokens = rows[("2026-09-02", "claude-sonnet-4-5")]
    assert tokens["tokens_diff_pct"] == pytest.approx(25)  # local is 20% lower
    assert out["totals"]["flagged"] == 3
    # the human table says the same on stdout; a count on stderr
    r = run_cli("reconcile", "--no-ingest")
    assert r.returncode == 0 and "no local log" in r.stdout
    assert "3 of 6 rows" in r.stderr


def test_filters_threshold_and_same_as_local(sandbox, local_logs):
    imported()
    out = report("--since", "2026-09-03", "--until", "2026-09-03")
    assert [(r["day"], r["flag"]) for r in out["rows"]] == [("2026-09-03", True)]
    assert sum(r["flag"] for r in report("--threshold", "60")["rows"]) == 1  # only no-local
    # rows of a key Claude Code does not use are not compared once a key is marked
    assert cli("import", "--same-as-local", "apikey_other").returncode == 0
    out = report()
    assert all(r["explanation"] == reconcile.NO_EXPORT for r in out["rows"])


def test_a_model_not_on_the_card(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant(model="mystery-model-9", inp=10, out=10)])
    imported()  # an export of the day: only the days an export covers are compared
    out = report()
    assert [(r["model"], r["explanation"]) for r in out["rows"]
            if r["model"] == "mystery-model-9"] == [("mystery-model-9", reconcile.NOT_ON_CARD)]


def test_bad_dates_are_usage_errors(sandbox):
    r = run_cli("reconcile", "--since", "yesterday-ish")
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_per_request_exports_count_once_billed_and_per_key(sandbox, projects):
    path = FIXTURES.parent / "imports" / "openrouter_activity_export.csv"
    assert cli("import", str(path)).returncode == 0
    out = report("--provider", "openrouter")
    assert out["totals"]["export_tokens"] == 19536  # what `ccspend import` counted, once
    assert out["totals"]["export_cost_usd"] == pytest.approx(0.04385, abs=1e-12)
    assert {r["export"]["cost_basis"] for r in out["rows"]} == {"billed"}
    assert set(out) >= {"report", "rows", "totals", "unpriced", "warnings"}


def test_rows_split_by_workspace_and_key_where_the_export_has_them(sandbox, local_logs):
    imported()
    rows = report()["rows"]
    split = [r for r in rows if r["export"].get("by_key")]
    assert split
    for r in split:
        assert sum(k["tokens"] for k in r["export"]["by_key"]) == r["export"]["tokens"]
        assert r["key"] == f"{r['day']}/{r['model']}"
