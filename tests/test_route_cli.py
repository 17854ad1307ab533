"""ccspend route and run --route: the CLI over the routing library."""

import json
import sys

from tests.conftest import cli, run_cli


def test_route_names_the_tier_the_reasons_and_each_tiers_cost(sandbox):
    r = run_cli("route", "rename this function across 200 files")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("light: haiku")
    out = json.loads(run_cli("route", "--json", "rename this function across 200 files").stdout)
    assert out["tier"] == "light" and [c["tier"] for c in out["costs"]] == [
        "light", "standard", "heavy"]
    light, standard, heavy = (c["estimated_usd"] for c in out["costs"])
    assert 0 < light < standard < heavy
    assert "quick estimate" in out["input_tokens_method"]


def test_stakes_type_stdin_and_policy(sandbox, tmp_path):
    high = json.loads(run_cli("route", "--json", "--stakes", "high",
                              "summarise the changelog").stdout)
    assert high["tier"] == "standard"
    typed = json.loads(run_cli("route", "--json", "--type", "architecture", "tidy up").stdout)
    assert typed["tier"] == "heavy"
    f = tmp_path / "task.md"
    f.write_text("fix the typo in the README")
    assert json.loads(run_cli("route", "--json", "--task-file", str(f)).stdout)["tier"]
    assert "[tiers.light]" in run_cli("route", "policy").stdout
    assert run_cli("route", "--stakes", "extreme", "x").returncode == 2
    assert run_cli("route").returncode == 2


def test_a_spent_daily_budget_routes_one_tier_lower(sandbox):
    from ccspend.live.sessions import state_dir

    folder = state_dir()
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(
        {"today_cost_usd": 9.0, "daily_budget_usd": 10.0, "prices": {}}))
    out = json.loads(run_cli("route", "--json", "implement the new --verbose flag for the "
                             "export command and add tests").stdout)
    assert out["base_tier"] == "standard" and out["tier"] == "light"
    assert any("budget" in r for r in out["reasons"])


def test_run_route_passes_the_model_and_records_the_tier(sandbox):
    code = "import os; print(os.environ.get('ANTHROPIC_MODEL'))"
    r = run_cli("run", "--route", "heavy", "--json", "--", sys.executable, "-c", code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "opus"
    summary = json.loads(r.stdout.splitlines()[-1])
    assert summary["route_tier"] == "heavy" and summary["cap_usd"] == 10.0
    row = json.loads(cli("runs", "--json").stdout)["rows"][0]  # the ledger, in this process
    assert row["route_tier"] == "heavy" and row["cap_usd"] == 10.0
    assert run_cli("run", "--route", "auto", "--", sys.executable, "-c", "pass").returncode == 2


def _api_error(projects, text: str, minutes_ago: float, error: str = "rate_limit") -> None:
    from datetime import UTC, datetime, timedelta

    from tests.logs import assistant, write

    ts = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    line = assistant(ts=ts, model="<synthetic>", inp=0, out=0, api_error=True, error=error)
    line["message"]["content"] = [{"type": "text", "text": text}]
    write(projects / "app" / "live.jsonl", [line])


HARD = "architecture decision: should we split the billing service, weigh the tradeoffs"


def test_heavy_falls_back_when_rate_limited_or_out_of_credits(projects):
    assert json.loads(run_cli("route", "--json", HARD).stdout)["tier"] == "heavy"
    _api_error(projects, "API Error: Request rejected (429) · Rate limited", minutes_ago=2)
    out = json.loads(run_cli("route", "--json", HARD).stdout)
    assert out["tier"] == "standard"
    assert any("rate-limited" in r for r in out["reasons"]), out["reasons"]
    _api_error(projects, "Credit balance is too low", minutes_ago=1)
    out = json.loads(run_cli("route", "--json", HARD).stdout)
    assert out["tier"] == "standard"
    assert any("out of credits" in r for r in out["reasons"]), out["reasons"]


def test_an_old_rate_limit_no_longer_counts(projects):
    _api_error(projects, "API Error: Rate limit reached", minutes_ago=40)
    assert json.loads(run_cli("route", "--json", HARD).stdout)["tier"] == "heavy"


def test_a_429_inside_an_id_is_no_rate_limit(projects):
    _api_error(projects, "API Error: 500 Internal server error", minutes_ago=1, error="unknown")
    path = projects / "app" / "live.jsonl"
    path.write_text(path.read_text().replace('"parentUuid": "p"', '"parentUuid": "a4290-42900"'))
    assert json.loads(run_cli("route", "--json", HARD).stdout)["tier"] == "heavy"
