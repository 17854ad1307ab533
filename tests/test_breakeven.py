"""ccspend breakeven: local machine by the hour against a cloud model by the token."""

import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ccspend.core.errors import CcspendError, UsageError
from ccspend.pricing import load_card
from ccspend.route.breakeven import DEFAULT_MIX, History, breakeven
from tests.conftest import cli, run_cli
from tests.logs import assistant, write

RATES = """
[[model]]
name = "gpu-box"
provider = "local"
  [[model.price]]
  effective_from = 2025-01-01
  hourly_usd = 0.50
  tokens_per_second = 2000

[[model]]
name = "laptop"
provider = "local"
  [[model.price]]
  effective_from = 2025-01-01
  hourly_usd = 1.65
  tokens_per_second = 50

[[model]]
name = "free-box"
provider = "local"
  [[model.price]]
  effective_from = 2025-01-01
  free = true

[[model]]
name = "per-token-box"
provider = "local"
  [[model.price]]
  effective_from = 2025-01-01
  input = 0.2
  output = 0.2
"""
TODAY = date(2026, 11, 20)
SONNET = {"input": Decimal(3), "output": Decimal(15), "cache_write_5m": Decimal("3.75"),
          "cache_write_1h": Decimal(6), "cache_read": Decimal("0.3")}  # fmt: skip


@pytest.fixture
def rates(tmp_path):
    f = tmp_path / "rates.toml"
    f.write_text(RATES)
    return load_card(f)


def test_breakeven_at_your_own_mix_by_hand(rates):
    tokens = {"input": 1_000_000, "output": 2_000_000, "cache_write_5m": 3_000_000,
              "cache_write_1h": 0, "cache_read": 54_000_000}  # 60M tokens over 30 days
    b = breakeven(rates, "gpu-box", "claude-sonnet-4-6", TODAY, History(tokens, Decimal(40)))
    per_m = sum(Decimal(tokens[k]) / 60_000_000 * SONNET[k] for k in SONNET)  # $/M at the mix
    assert b.cloud_usd_per_m == per_m
    assert b.local_usd_per_day == Decimal("12")  # $0.50 x 24 h
    assert b.capacity_per_day == 2000 * 86400
    assert b.breakeven_tokens_per_day == Decimal(12) / per_m * 1_000_000
    out = b.to_json()
    assert out["mix_source"] == "your mix of the last 30 days"
    you = out["you"]
    assert you["tokens_per_day"] == 2_000_000 and you["machines"] == 1
    assert you["cloud_usd_per_day"] == pytest.approx(float(2 * per_m))
    assert you["local_cheaper"] is False  # 2M a day is far below the break-even
    assert you["cost_usd_per_day"] == pytest.approx(40 / 30)


def test_fewer_hours_a_day_lower_the_break_even_and_the_capacity(rates):
    b = breakeven(rates, "gpu-box", "sonnet", TODAY, None, hours_per_day=8)
    per_m = sum(DEFAULT_MIX[k] * v for k, v in SONNET.items())
    assert b.mix_source.startswith("the default mix") and b.history is None
    # the alias prices as the newest sonnet on the card; its base rates may differ
    assert b.cloud_usd_per_m > 0
    assert b.local_usd_per_day == 4 and b.capacity_per_day == 2000 * 3600 * 8
    exact = breakeven(rates, "gpu-box", "claude-sonnet-4-6", TODAY, None, hours_per_day=8)
    assert exact.breakeven_tokens_per_day == Decimal(4) / per_m * 1_000_000
    assert exact.to_json()["you"] is None


def test_a_slow_machine_never_breaks_even(rates):
    b = breakeven(rates, "laptop", "claude-sonnet-4-6", TODAY, None)
    # $39.60 a day buys ~50M tokens of sonnet at this mix; the laptop does 4.32M
    assert b.breakeven_tokens_per_day is None
    assert b.to_json()["breakeven_tokens_per_day"] is None


def test_unknown_free_and_per_token_local_models_are_clear_errors(rates):
    with pytest.raises(UsageError, match="not on the rate card"):
        breakeven(rates, "nope", "sonnet", TODAY, None)
    with pytest.raises(CcspendError, match="free on the rate card: it is cheaper"):
        breakeven(rates, "free-box", "sonnet", TODAY, None)
    with pytest.raises(UsageError, match="no hourly cost"):
        breakeven(rates, "per-token-box", "sonnet", TODAY, None)
    with pytest.raises(UsageError, match="local model"):
        breakeven(rates, "gpu-box", "laptop", TODAY, None)
    with pytest.raises(UsageError, match="hours"):
        breakeven(rates, "gpu-box", "sonnet", TODAY, None, hours_per_day=25)


def test_cli_weighs_your_last_30_days(projects, sandbox):
    (sandbox / "config").mkdir()
    (sandbox / "config" / "rates.toml").write_text(RATES)
    ts = datetime.fromtimestamp(time.time() - 2 * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    write(projects / "p" / "a.jsonl", [
        assistant(ts=ts, model="claude-sonnet-4-6", inp=300_000, out=600_000,
                  cache_write=900_000, cache_read=28_200_000)])  # fmt: skip
    r = cli("breakeven", "--model", "gpu-box", "--vs", "claude-sonnet-4-6", "--json")  # numbers
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["you"]["tokens_per_day"] == pytest.approx(1_000_000)
    mix = {"input": 0.01, "output": 0.02, "cache_write_5m": 0.03, "cache_write_1h": 0.0,
           "cache_read": 0.94}  # fmt: skip
    assert out["mix"] == pytest.approx(mix)
    per_m = 0.01 * 3 + 0.02 * 15 + 0.03 * 3.75 + 0.94 * 0.3
    assert out["breakeven_tokens_per_day"] == pytest.approx(12 / per_m * 1e6)
    text = run_cli("breakeven", "--model", "gpu-box", "--vs", "claude-sonnet-4-6", "--no-ingest")
    assert "break-even:" in text.stdout and "claude-sonnet-4-6 is cheaper" in text.stdout
    free = run_cli("breakeven", "--model", "free-box")
    assert free.returncode == 1 and "cheaper than any cloud model" in free.stderr
    assert run_cli("breakeven", "--model", "gpu-box", "--hours-per-day", "0").returncode == 2


def test_a_cloud_alias_as_the_local_model_says_it_is_priced_per_token(card):
    """``--model sonnet`` named a model on the card, not a missing one."""
    from ccspend.core.errors import UsageError
    from ccspend.route.breakeven import local_rates

    with pytest.raises(UsageError, match=r"claude-sonnet-.* has no hourly cost"):
        local_rates(card, "sonnet", TODAY)
