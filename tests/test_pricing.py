"""The rate card and the pricing rule; the SQL must agree with the Python spec."""

import os
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccspend.core.errors import RateCardError
from ccspend.ingest.claude import ingest_claude
from ccspend.pricing import Usage, load_card, normalise_model, request_cost
from ccspend.reports.build import ReportRequest, build_report
from ccspend.store.queries import Filters
from tests.logs import assistant, write


@pytest.mark.parametrize(
    "raw,name",
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1"),
        ("anthropic/claude-haiku-4-5", "claude-haiku-4-5"),
        ("claude-opus-4-7", "claude-opus-4-7"),
        ("eu.anthropic.claude-opus-4-6-v1:0", "claude-opus-4-6"),
        ("claude-4-opus-20250514", "claude-opus-4"),
        ("openrouter/anthropic/claude-sonnet-4", "claude-sonnet-4"),
        ("anthropic/claude-sonnet-4.6", "claude-sonnet-4-6"),  # OpenRouter writes dots
        ("Claude Sonnet 4.6", "claude-sonnet-4-6"),  # the Console's cost CSV: display names
        ("Claude 3.5 Haiku", "claude-3-5-haiku"),
        ("anthropic/claude-3.7-sonnet", "claude-3-7-sonnet"),
        ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
        ("gemini/gemini-2.5-pro", "gemini-2.5-pro"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
    ],
)
def test_model_ids_map_to_card_names(card, raw, name):
    assert card.resolve(raw) == name


@pytest.mark.parametrize("raw", ["<synthetic>", "acme-coder-2", "", None])
def test_unknown_models_do_not_resolve(card, raw):
    assert card.resolve(raw) is None


def test_normalise_is_idempotent():
    for raw in ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-opus-4-1@20250805"):
        once = normalise_model(raw)
        assert normalise_model(once) == once


def test_reference_prices(card):
    """The prices.md table, per million tokens."""
    expect = {
        "claude-opus-4-7": (5, 25, "6.25", 10, "0.5"),
        "claude-opus-4-1": (15, 75, "18.75", 30, "1.5"),
        "claude-sonnet-4-5": (3, 15, "3.75", 6, "0.3"),
        "claude-haiku-4-5": (1, 5, "1.25", 2, "0.1"),
        "claude-3-5-haiku": ("0.8", 4, 1, "1.6", "0.08"),
        "claude-3-haiku": ("0.25", "1.25", "0.3", "0.5", "0.03"),
    }
    for name, prices in expect.items():
        p = card.models[name].price_at(date(2026, 6, 1)).base
        got = (p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read)
        assert got == tuple(Decimal(str(x)) for x in prices), name


def test_price_history_is_versioned_by_date(card):
    haiku = card.models["claude-3-5-haiku"]
    assert haiku.price_at(date(2024, 11, 1)).base.input == Decimal(1)
    assert haiku.price_at(date(2025, 6, 1)).base.input == Decimal("0.8")
    # the first period also covers requests older than it
    assert haiku.price_at(date(2020, 1, 1)).base.input == Decimal(1)


def test_long_context_prices_the_whole_request():
    card = load_card()
    p = card.models["claude-sonnet-4-5"].price_at(date(2026, 1, 1))
    under = Usage(input=100_000, output=1_000, cache_read=100_000)
    over = Usage(input=100_001, output=1_000, cache_read=100_000)
    assert request_cost(p, under) == Decimal("0.3") + Decimal("0.015") + Decimal("0.03")
    assert request_cost(p, over) == (
        Decimal(100_001) * 6 / 10**6 + Decimal("0.0225") + Decimal("0.06")
    )


def test_web_searches_and_1h_writes_are_priced():
    card = load_card()
    p = card.models["claude-opus-4-7"].price_at(date(2026, 1, 1))
    assert request_cost(p, Usage(web_searches=3)) == Decimal("0.03")
    assert request_cost(p, Usage(cache_write_1h=1_000_000)) == Decimal(10)


def test_overrides_add_local_models_and_change_prices(tmp_path):
    f = tmp_path / "rates.toml"
    f.write_text(
        """
[[model]]
name = "qwen2.5-coder:32b"
provider = "local"
  [[model.price]]
  effective_from = 2025-01-01
  hourly_usd = 1.65
  tokens_per_second = 50

[[model]]
name = "my-free-model"
provider = "local"
  [[model.price]]
  effective_from = 2025-01-01
  free = true

[[model]]
name = "claude-haiku-4-5"
  [[model.price]]
  effective_from = 2026-10-01
  input = 0.5
  output = 2.5
"""
    )
    card = load_card(f)
    assert card.resolve("qwen2.5-coder:32b") == "qwen2.5-coder:32b"
    local = card.models["qwen2.5-coder:32b"].price_at(date(2026, 1, 1))
    assert local.base.output == Decimal("9.166667")
    assert card.models["my-free-model"].price_at(date(2026, 1, 1)).base.input == 0
    haiku = card.models["claude-haiku-4-5"]
    assert haiku.price_at(date(2026, 9, 1)).base.input == 1
    assert haiku.price_at(date(2026, 11, 1)).base.input == Decimal("0.5")


def test_broken_overrides_give_a_clear_error(tmp_path):
    f = tmp_path / "rates.toml"
    f.write_text("[[model]]\nname = 3\n")
    with pytest.raises(RateCardError, match="rates.toml"):
        load_card(f)
    f.write_text("not = [toml")
    with pytest.raises(RateCardError, match="not valid TOML"):
        load_card(f)


MODELS = [
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-20250514",
    "claude-opus-4-7",
    "claude-haiku-4-5",
    "claude-3-5-haiku-20241022",
    "claude-haiku-5-5",
]
usage_st = st.fixed_dictionaries(
    {
        "model": st.sampled_from(MODELS),
        "inp": st.integers(0, 300_000),
        "out": st.integers(0, 50_000),
        "cache_write": st.integers(0, 150_000),
        "w1h_share": st.integers(0, 100),
        "cache_read": st.integers(0, 250_000),
        "searches": st.integers(0, 5),
        "day": st.integers(1, 28),
    }
)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(usage_st, min_size=1, max_size=8))
def test_sql_pricing_agrees_with_python_spec(tmp_path_factory, reqs):
    from ccspend.store import Store

    tmp = tmp_path_factory.mktemp("prop")
    card = load_card()
    lines = []
    expected = Decimal(0)
    for i, r in enumerate(reqs):
        w1h = r["cache_write"] * r["w1h_share"] // 100
        ts = f"2026-03-{r['day']:02d}T12:00:00.000Z"
        lines.append(
            assistant(
                msg=f"m{i}", req=f"r{i}", model=r["model"], inp=r["inp"], out=r["out"],
                cache_write=r["cache_write"], w1h=w1h, cache_read=r["cache_read"],
                searches=r["searches"], ts=ts,
            )  # fmt: skip
        )
        price = card.models[card.resolve(r["model"])].price_at(date(2026, 3, r["day"]))
        expected += request_cost(
            price,
            Usage(r["inp"], r["out"], r["cache_write"] - w1h, w1h, r["cache_read"], r["searches"]),
        )
    write(tmp / "projects" / "p" / "s.jsonl", lines)
    store = Store(tmp / "db.duckdb")
    ingest_claude(store, [tmp / "projects"])
    rep = build_report(store, card, ReportRequest("daily", Filters(tz="UTC")))
    assert rep.cost_usd == expected


def test_the_loaded_card_is_cached_until_a_file_it_depends_on_changes(sandbox, tmp_path):
    import subprocess
    import sys

    from ccspend.pricing import card_cache

    overrides = tmp_path / "rates.toml"
    overrides.write_text('[[model]]\nname = "box"\nprovider = "local"\n  [[model.price]]\n'
                         '  effective_from = 2025-01-01\n  free = true\n')
    first = load_card(overrides)
    assert load_card(overrides) == first
    # a fresh process answers from the pickle without importing pydantic
    code = ("import sys; from pathlib import Path; from ccspend.pricing import load_card; "
            f"c = load_card(Path({str(overrides)!r})); "
            "print('box' in c.models, 'pydantic' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["True", "False"], r.stderr
    overrides.write_text(overrides.read_text().replace('"box"', '"other-box"'))
    changed = load_card(overrides)
    assert "other-box" in changed.models and "box" not in changed.models
    overrides.write_text("[[model]]\nname = \n")  # broken: an error, never the cached card
    with pytest.raises(RateCardError):
        load_card(overrides)
    overrides.unlink()
    with open(card_cache._path(), "wb") as fh:
        fh.write(b"not a pickle")  # a damaged cache is rebuilt
    assert load_card(overrides) == load_card(None)


def test_the_compiled_shipped_card_is_current():
    """``data/rates.json`` is the shipped TOML built (``python -m ccspend.pricing.card``)."""
    from importlib import resources

    from ccspend.pricing.card import COMPILED, SHIPPED, compile_shipped

    folder = resources.files("ccspend.pricing")
    assert folder.joinpath(COMPILED).read_bytes() == compile_shipped(
        folder.joinpath(SHIPPED).read_text("utf-8")
    ), "rates.toml changed: run python -m ccspend.pricing.card"


def test_a_fresh_home_loads_the_shipped_card_without_pydantic(sandbox, tmp_path):
    """No card cache yet (a new machine): the compiled card, equal to the TOML's build;
    a compiled card of another TOML is never used."""
    import subprocess
    import sys

    from ccspend.pricing import card as card_mod

    code = ("import sys; from ccspend.pricing import load_card; c = load_card(None); "
            "print(len(c.models), 'pydantic' in sys.modules)")
    env = {**os.environ, "CCSPEND_CARD_CACHE": str(tmp_path / "none" / "card.pickle")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    shipped = card_mod._build(None, card_mod._data(card_mod.SHIPPED).read_text("utf-8"))
    assert r.stdout.split() == [str(len(shipped.models)), "False"], r.stderr
    text = card_mod._data(card_mod.SHIPPED).read_text()
    assert card_mod._compiled(text) == shipped
    assert card_mod._compiled(text + "\n# edited\n") is None  # stale: built again instead
