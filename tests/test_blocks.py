"""5-hour blocks: hand-made timelines, burn rates, and exactness against generated truth."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ccspend.forecast.blocks import HOUR_US, MINUTE_US, Request, burn, group_blocks
from tests.conftest import cli, run_cli
from tests.logs import assistant, write


def us(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1_000_000)


def req(at: str, tokens: int = 100, cost: str = "1") -> Request:
    return Request(us(at), tokens, 0, 0, 0, Decimal(cost) * 1_000_000, "m")


def starts(blocks):
    return [datetime.fromtimestamp(b.start_us / 1e6, tz=UTC).strftime("%H:%M") for b in blocks]


def test_a_block_starts_at_the_floored_hour_and_lasts_five_hours():
    blocks = group_blocks([req("2026-01-01 09:47"), req("2026-01-01 13:59"), req("2026-01-01 14:00")])
    assert starts(blocks) == ["09:00", "14:00"]
    assert [len(b.requests) for b in blocks] == [2, 1]


def test_a_five_hour_gap_starts_a_new_block():
    blocks = group_blocks([req("2026-01-01 09:10"), req("2026-01-01 20:30")])
    assert starts(blocks) == ["09:00", "20:00"]
    assert blocks[1].gap_before_us == us("2026-01-01 20:30") - us("2026-01-01 09:10")


def test_order_of_input_does_not_matter():
    a = [req("2026-01-01 09:10"), req("2026-01-01 11:00"), req("2026-01-02 01:00")]
    assert starts(group_blocks(a)) == starts(group_blocks(list(reversed(a))))


def test_burst_then_idle_uses_the_last_30_minutes_not_the_block_average():
    blocks = group_blocks([req("2026-01-01 09:00", tokens=6000), req("2026-01-01 10:50", tokens=300)])
    now = us("2026-01-01 11:00")
    b = burn(blocks[0], now)
    assert b.tokens_per_min == pytest.approx(300 / 30)
    # the projection runs the current rate to the block's end (14:00: 180 minutes away)
    assert b.projected_tokens == 6300 + round(10 * 180)


def test_a_rate_of_zero_projects_no_growth():
    blocks = group_blocks([req("2026-01-01 09:00", tokens=500, cost="2")])
    now = us("2026-01-01 12:00")
    b = burn(blocks[0], now)
    assert b.tokens_per_min == 0 and b.usd_per_hour == 0
    assert b.projected_tokens == 500 and b.projected_cost_usd == 2.0


def test_finished_block_reports_its_average_and_its_actual_total():
    blocks = group_blocks([req("2026-01-01 09:00", cost="1"), req("2026-01-01 10:00", cost="2")])
    b = burn(blocks[0], us("2026-01-02 00:00"))
    assert b.usd_per_hour == pytest.approx(3.0) and b.projected_cost_usd == 3.0
    assert not blocks[0].is_active(us("2026-01-02 00:00"))
    assert blocks[0].is_active(us("2026-01-01 13:59"))


def test_blocks_json_contract_and_active_block(projects):
    now = datetime.now(UTC)
    recent = now.replace(minute=0, second=0, microsecond=0)
    stamp = (recent.isoformat().replace("+00:00", "Z"))
    write(projects / "p" / "s.jsonl", [
        assistant(msg="old", ts="2026-01-01T09:10:00Z"),
        assistant(msg="new", ts=stamp),
    ])
    out = json.loads(run_cli("blocks", "--json").stdout)
    assert out["report"] == "blocks" and len(out["rows"]) == 2
    first, last = out["rows"]
    assert first["key"] == "2026-01-01T09:00:00Z" and first["end"] == "2026-01-01T14:00:00Z"
    assert first["active"] is False and last["active"] is True
    for k in ("gap_before", "burn_tokens_per_min", "burn_usd_per_hour", "projected_cost_usd",
              "projected_tokens", "cost_usd", "total_tokens", "models"):
        assert k in last
    active = json.loads(cli("blocks", "--active", "--json").stdout)  # the rows, in this process
    assert [r["key"] for r in active["rows"]] == [last["key"]]
    assert run_cli("blocks").returncode == 0


def test_blocks_are_exact_against_generated_truth(tmp_path, card):
    from ccspend.ingest.claude import ingest_claude
    from ccspend.reports.build import build_blocks
    from ccspend.store import Store
    from ccspend.store.queries import Filters
    from tests.test_exact import check, gen

    corpus = tmp_path / "corpus"
    gen.generate(corpus, 1.5, seed=5)
    truth = check.Truth(corpus / "truth.json")
    # an independent grouping of the truth's requests
    expected: dict[str, Decimal] = {}
    start = prev = None
    for r in sorted(truth.requests, key=lambda r: r[0]):
        t = us(r[0].replace("Z", ""))
        if start is None or t >= start + 5 * HOUR_US or t - prev >= 5 * HOUR_US:
            start = t - t % HOUR_US
        prev = t
        key = datetime.fromtimestamp(start / 1e6, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        expected[key] = expected.get(key, Decimal(0)) + Decimal(r[9] or 0)
    store = Store(tmp_path / "db.duckdb")
    ingest_claude(store, [corpus / "projects"])
    rep = build_blocks(store, card, Filters(tz="UTC"), now_us=us("2030-01-01 00:00"))
    got = {row["key"]: row["cost_usd"] for row in rep.to_json()["rows"]}
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert abs(Decimal(repr(got[k])) - v) <= Decimal("0.000001"), k
    assert MINUTE_US == 60_000_000


def test_active_block_forecast_against_a_given_limit_and_official_readings(sandbox, projects):
    now = datetime.now(UTC)
    stamp = now.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    write(projects / "p" / "s.jsonl", [assistant(msg="a", ts=stamp, inp=40_000, out=0)])
    out = json.loads(cli("blocks", "--active", "--json", "--limit", "100000").stdout)  # numbers
    f = out["rows"][0]["forecasts"]
    assert f[0]["name"] == "5-hour block" and f[0]["unit"] == "tokens"
    assert f[0]["used"] == 40_000 and f[0]["official"] is False
    # 40k tokens in the last 30 minutes: 80k/h; 60k left: 45 minutes
    assert f[0]["reaches_at"] == pytest.approx(now.timestamp() + 45 * 60, abs=120)
    resets = now.timestamp() + 3 * 3600
    import subprocess
    import sys as _sys
    for pct in (20, 30):
        subprocess.run([_sys.executable, "-m", "ccspend", "statusline"], input=json.dumps(
            {"rate_limits": {"five_hour": {"used_percentage": pct, "resets_at": resets}}}),
            capture_output=True, text=True)
    assert cli("statusline", "--refresh").returncode == 0  # setup, in this process
    out = json.loads(cli("blocks", "--active", "--json").stdout)
    official = out["rows"][0]["forecasts"][0]
    assert official["official"] is True and official["used"] == 30
    table = run_cli("blocks", "--active", "--limit", "max5")
    assert "(official)" in table.stdout and "(estimated)" in table.stdout


def test_bad_limit_is_a_usage_error(sandbox):
    r = run_cli("blocks", "--limit", "lots")
    assert r.returncode == 2 and "limit" in r.stderr
