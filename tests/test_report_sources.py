"""Reports over local logs and provider imports together: --source, each bucket once."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ccspend.pricing import load_card
from ccspend.reports import reconcile
from tests.conftest import cli, report_json, run_cli
from tests.logs import assistant, write

REPO = Path(__file__).resolve().parent.parent
RECONCILE = REPO / "fixtures" / "reconcile"
IMPORTS = REPO / "fixtures" / "imports"
SONNET = "claude-sonnet-4-5-20250929"


def report(*args: str) -> dict:
    """In this process (tests/test_cli.py covers the command line's JSON)."""
    return report_json(*args)


def imported(*paths: Path) -> None:
    """Setup, by the CLI in this process (tests/test_import_cli.py runs the command)."""
    r = cli("import", *map(str, paths))
    assert r.returncode == 0, r.stderr


@pytest.fixture
def local(projects) -> dict:
    write(projects / "app" / "s1.jsonl", [
        assistant(ts="2026-09-01T09:00:00.000Z", msg="m1", req="r1", model=SONNET,
                  inp=400, out=1500, cache_read=10000),
        assistant(ts="2026-09-03T09:00:00.000Z", msg="m2", req="r2", model=SONNET,
                  inp=1000, out=1000),
    ])  # fmt: skip
    out = report("daily")
    assert len(out["rows"]) == 2
    return out["totals"]


def test_imports_add_to_local_logs_and_source_picks_them_apart(sandbox, local):
    imported(RECONCILE / "anthropic_usage.json", RECONCILE / "anthropic_cost.json")
    everything = report("daily")["totals"]
    only_local = report("daily", "--source", "local")["totals"]
    anthropic = report("daily", "--source", "anthropic")["totals"]
    assert only_local == local
    for field in ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens",
                  "total_tokens"):
        assert everything[field] == local[field] + anthropic[field], field
    assert everything["cost_usd"] == pytest.approx(local["cost_usd"] + anthropic["cost_usd"],
                                                   abs=1e-9)
    by_source = {r["key"]: r["cost_usd"] for r in report("source")["rows"]}
    assert by_source == {"local": pytest.approx(local["cost_usd"]),
                         "anthropic": pytest.approx(anthropic["cost_usd"])}
    assert report("daily", "--source", "openai")["rows"] == []


@pytest.mark.parametrize("files", [
    (RECONCILE / "anthropic_usage.json", RECONCILE / "anthropic_cost.json"),
    # the Console's CSVs: the cost CSV names models by display name ("Claude Sonnet 4.6")
    (IMPORTS / "anthropic_console_usage.csv", IMPORTS / "anthropic_console_cost.csv"),
    # no cost rows: every day on the card, web searches included
    (IMPORTS / "anthropic_usage_page1.json", IMPORTS / "anthropic_usage_page2.json"),
], ids=["admin-api", "console-csv", "usage-only"])
def test_billed_cost_where_the_export_has_it_else_card_prices(sandbox, files):
    """The same rule as reconcile's export side (an independent implementation)."""
    imported(*files)
    assert not [r["key"] for r in report("model")["rows"] if " " in r["key"]]  # one name each
    out = report("daily", "--source", "anthropic", "-z", "UTC")
    con = duckdb.connect(str(sandbox / "data" / "ccspend.duckdb"), read_only=True)
    try:
        sides = reconcile._export(con, load_card(None), reconcile.Request())
    finally:
        con.close()
    want: dict[str, list] = defaultdict(lambda: [Decimal(0), 0])
    for (day, _model), side in sides.items():
        want[day.isoformat()][0] += side.cost_usd
        want[day.isoformat()][1] += side.total
    got = {r["key"]: (r["cost_usd"], r["total_tokens"]) for r in out["rows"]}
    assert got.keys() == want.keys()
    for day, (cost, tokens) in want.items():
        assert got[day][1] == tokens, day
        assert got[day][0] == pytest.approx(float(cost), abs=1e-9), day
    if "2026-09-03" in got:  # billed 2.7 cents for what the card prices at 1.8 (its README)
        assert got["2026-09-03"][0] == pytest.approx(0.027, abs=1e-9)


CONSOLE_HEADER = ("usage_date_utc,model_version,api_key,workspace,usage_type,context_window,"
                  "usage_input_tokens_no_cache,usage_input_tokens_cache_write_5m,"
                  "usage_input_tokens_cache_write_1h,usage_input_tokens_cache_read,"
                  "usage_output_tokens,web_search_count,inference_geo,speed")


def test_one_export_in_two_shapes_counts_once(sandbox, tmp_path):
    imported(IMPORTS / "anthropic_usage_page1.json", IMPORTS / "anthropic_usage_page2.json")
    once = report("daily", "--source", "anthropic", "-z", "UTC")
    # the Console's CSV of one day the API report covers, and of one it does not
    csv = tmp_path / "console.csv"
    csv.write_text(CONSOLE_HEADER + "\n"
                   "2025-08-01,claude-sonnet-4-5,k1,Default,standard,≤ 200k,7,0,0,0,3,0,global,\n"
                   "2025-09-20,claude-sonnet-4-5,k1,Default,standard,≤ 200k,100,0,0,50,20,0,"
                   "global,\n")
    imported(csv)
    both = report("daily", "--source", "anthropic", "-z", "UTC")
    before = {r["key"]: r["total_tokens"] for r in once["rows"]}
    after = {r["key"]: r["total_tokens"] for r in both["rows"]}
    assert "2025-08-01" in before
    assert after == {**before, "2025-09-20": 170}  # 2025-08-01: the API report's alone
    assert both["totals"]["total_tokens"] == once["totals"]["total_tokens"] + 170


def test_same_as_local_keys_check_instead_of_adding(sandbox, local):
    imported(RECONCILE / "anthropic_usage.json")
    keys = cli("sql", "SELECT DISTINCT api_key FROM imported_usage WHERE api_key IS NOT "
               "NULL ORDER BY 1", "--json")
    assert keys.returncode == 0, keys.stderr
    key = json.loads(keys.stdout)["rows"][0]["api_key"]
    before = report("daily", "--source", "anthropic")["totals"]["total_tokens"]
    assert cli("import", "--same-as-local", key).returncode == 0
    after = report("daily", "--source", "anthropic")["totals"]["total_tokens"]
    assert after < before
    assert report("daily")["totals"]["total_tokens"] == local["total_tokens"] + after


def test_generic_rows_billed_priced_or_unpriced(sandbox):
    imported(IMPORTS / "generic_usage.csv")
    out = report("model")
    unpriced = {u["model"] for u in out["unpriced"]}
    assert "local-llama" in unpriced  # no cost given and not on the card: never $0 silently
    openrouter = report("daily", "--source", "openrouter")["totals"]
    assert openrouter["cost_usd"] == pytest.approx(0.000021, abs=1e-12)
    openai = report("daily", "--source", "openai")["totals"]
    assert openai["cost_usd"] == pytest.approx(2 * 0.0191, abs=1e-12)  # two identical rows: two


def test_git_ref_and_bad_source(sandbox, local):
    r = run_cli("daily", "--source", "no such thing!")
    assert r.returncode != 0 and "--source" in r.stderr and "Traceback" not in r.stderr
    assert report("daily", "--source", "codex")["rows"] == []


def test_openrouter_byok_fees_add_to_what_each_request_cost(sandbox):
    imported(IMPORTS / "openrouter_activity_export.csv")
    out = report("daily", "--source", "openrouter")
    # 0.0261 + 0.0020 + 0.00075 per request, plus 0.0150 the upstream billed (BYOK)
    assert out["totals"]["cost_usd"] == pytest.approx(0.04385, abs=1e-12)
    assert out["totals"]["total_tokens"] == 19536


def test_export_and_the_html_page_take_source(sandbox, local, tmp_path):
    imported(IMPORTS / "openrouter_activity_export.csv")
    rows = cli("export", "--format", "jsonl", "--source", "openrouter").stdout.splitlines()
    assert {json.loads(r)["source"] for r in rows} == {"openrouter"}
    assert len(rows) == 4  # three requests and the BYOK fee the upstream billed
    every = cli("export", "--format", "jsonl").stdout.splitlines()
    assert {json.loads(r)["source"] for r in every} == {"local", "openrouter"}
    page = tmp_path / "p.html"
    assert run_cli("report", "--html", str(page), "--source", "local").returncode == 0
    assert "openrouter" not in page.read_text()


def test_a_providers_day_stays_its_date_in_any_time_zone(sandbox):
    imported(IMPORTS / "anthropic_console_usage.csv")
    utc = [r["key"] for r in report("daily", "--source", "anthropic", "-z", "UTC")["rows"]]
    for tz in ("America/Los_Angeles", "Asia/Kolkata", "Pacific/Kiritimati"):
        assert [r["key"] for r in report("daily", "--source", "anthropic", "-z", tz)["rows"]] \
            == utc, tz
    day = utc[0]
    one = report("daily", "--source", "anthropic", "-z", "America/Los_Angeles",
                 "--since", day, "--until", day)["rows"]
    assert [r["key"] for r in one] == [day]


def test_cost_rows_that_cannot_be_split_from_claude_codes_key_are_left_out(sandbox, monkeypatch):
    pages = (IMPORTS / "anthropic_usage_page1.json", IMPORTS / "anthropic_usage_page2.json")
    key = "apikey_01Rj2N8SVvo6BePZj99NhmiT"  # spends on 2025-08-01 in a workspace whose
    # cost rows name no API key: its billed dollars include this key's spend

    def day_cost() -> float:
        assert cli("import", "--same-as-local", key).returncode == 0
        rows = report("daily", "--source", "anthropic")["rows"]
        return {r["key"]: r["cost_usd"] for r in rows}["2025-08-01"]

    imported(*pages, IMPORTS / "anthropic_cost_report.json")
    with_costs = day_cost()
    monkeypatch.setenv("CCSPEND_DB", str(sandbox / "usage-only.duckdb"))
    imported(*pages)
    assert with_costs == pytest.approx(day_cost(), abs=1e-12)  # the other key, on the card
