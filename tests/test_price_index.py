"""The float price index of the fast paths agrees with the card's exact pricing.

The status line, the cap hook, ``ccspend run`` and ``ccspend route`` price from
``pricing.index`` (floats, from a JSON file); the reports price exactly from the
card (SQL, whose rule ``cost.request_cost`` states, and which ``test_pricing``
holds to it). On random requests (model ids drawn from the card's names and
aliases, written the ways logs and providers write them, Claude Code aliases,
unknown ids; token counts on both sides of the long-context thresholds; days
across price changes) both say the same: the same model, the same price to 1e-9
relative, unpriced in one exactly when unpriced in the other.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccspend.core.errors import UsageError
from ccspend.pricing import Usage, load_card, normalise_model, request_cost
from ccspend.pricing.index import (
    card_model,
    lookup,
    model_usd,
    price_index,
    price_response,
    price_responses,
    resolve_id,
)
from ccspend.pricing.index import usd as usd_at

# A user's rates.toml with what the shipped card lacks: models added without a
# family, price changes, long-context tiers, local models, and aliases that
# collide (with another model's name, with another alias, written untidily).
OVERRIDES = """
[[model]]
name = "zeta-model"
provider = "openai"
aliases = ["shared-alias", "  Spaced-Alias  ", "us.anthropic.bedrock-style-v1:0"]
  [[model.price]]
  effective_from = 2025-03-01
  input = 2.0
  output = 8.0
  web_search_per_1k = 25.0

[[model]]
name = "alpha-model"
provider = "openai"
aliases = ["shared-alias", "claude-opus-4", "gpt-4o-2024-05-13-mini"]
  [[model.price]]
  effective_from = 2025-03-01
  input = 0.4
  output = 1.6

[[model]]
name = "claude-sonnet-9"
  [[model.price]]
  effective_from = 2026-06-01
  input = 4.0
  output = 20.0
  cache_write_5m = 5.0
  cache_write_1h = 8.0
  cache_read = 0.4
  web_search_per_1k = 10.0
  long_context_threshold = 150000
  long_context = { input = 8.0, output = 30.0, cache_write_5m = 10.0, cache_write_1h = 16.0, cache_read = 0.8 }
  [[model.price]]
  effective_from = 2026-09-01
  input = 5.0
  output = 25.0
  long_context_threshold = 150000
  long_context = { input = 10.0, output = 37.5 }

[[model]]
name = "claude-sonnet-4-5"
aliases = ["Claude-Sonnet-4.5-Fast"]
  [[model.price]]
  effective_from = 2026-10-01
  input = 2.5
  output = 12.5
  long_context_threshold = 100000
  long_context = { input = 5.0, output = 20.0 }

[[model]]
name = "Local-Coder:7B"
provider = "local"
family = "coder"
aliases = ["lc7"]
  [[model.price]]
  effective_from = 2025-01-01
  hourly_usd = 1.65
  tokens_per_second = 50

[[model]]
name = "free-local"
provider = "local"
  [[model.price]]
  effective_from = 2025-01-01
  free = true

[[model]]
name = "nightly-20250101"
provider = "local"
  [[model.price]]
  effective_from = 2025-01-01
  input = 0.01
  output = 0.02

[[model]]
name = "nightly"
provider = "openai"
  [[model.price]]
  effective_from = 2025-01-01
  input = 7.0
  output = 9.0
"""

CLAUDE_CODE_ALIASES = [
    "sonnet",
    "opus",
    "haiku",
    "Sonnet",
    " opus ",
    "sonnet[1m]",
    "opus[1m]",
    "opusplan",
    "default",
    "coder",
    "sonnet-20250929",
    "haiku-latest",
]
UNKNOWN = [
    "",
    "<synthetic>",
    "acme-coder-2",
    "claude-sonnet-9-9",
    "gpt-4o-2024-13-45x",
    "claude",
    "gpt",
    "flash",
    "5",
    "4",
    "mini",
    "anthropic/",
    "claude-sonnet-",
    "openrouter/anthropic/claude-nonesuch-4",
]


@cache
def shipped_card():
    text = resources.files("ccspend.pricing").joinpath("data/rates.toml").read_text("utf-8")
    return load_card(None, shipped_text=text)


@cache
def user_card(tmp_dir: str):
    from pathlib import Path

    f = Path(tmp_dir) / "rates.toml"
    f.write_text(OVERRIDES)
    text = resources.files("ccspend.pricing").joinpath("data/rates.toml").read_text("utf-8")
    return load_card(f, shipped_text=text)


@pytest.fixture(scope="module")
def cards(tmp_path_factory):
    return {"shipped": shipped_card(), "user": user_card(str(tmp_path_factory.mktemp("rates")))}


_INDEXES: dict = {}


def index_on(card, day: date) -> dict:
    """The index as the fast paths read it: through JSON (summary.json, prices.json)."""
    key = (id(card), day)
    if key not in _INDEXES:
        _INDEXES[key] = (card, json.loads(json.dumps(price_index(card, day))))
    return _INDEXES[key][1]


# -- the reference: the card's own rules, stated again -------------------------------


def version(name: str) -> tuple:
    return tuple(int(x) for x in re.split(r"[-.]", name) if re.fullmatch(r"\d{1,2}", x))


def reference_name(card, model: str | None, day: date | None = None) -> str | None:
    """The card's model for an id (``RateCard.resolve``: what the reports' SQL joins on);
    for a Claude Code alias, the newest model of the family released by ``day`` (None: of
    all; before any was, the newest of the first released), the documented rule:
    docs/routing.md, ``whatif --model sonnet``."""
    name = card.resolve(model)
    if name is not None or not model:
        return name
    word = normalise_model(model)
    families = {m.family.lower() for m in card.models.values() if m.family}
    if word not in families:
        return None
    members = [m.name for m in card.models.values()
               if (m.family or "").lower() == word
               or (not m.family and word in m.name.lower().split("-"))]  # fmt: skip
    if day is not None:
        released = [n for n in members if card.models[n].available_from <= day]
        first = min(card.models[n].available_from for n in members)
        members = released or [n for n in members if card.models[n].available_from == first]
    return max(members, key=lambda n: (version(n), n))


# -- random requests ---------------------------------------------------------------------


PREFIXES = ["", "", "anthropic/", "openrouter/anthropic/", "us.anthropic.", "eu.anthropic.", "x"]
SUFFIXES = ["", "", "-20250929", "-latest", "-2024-08-06", "@20250805", "[1m]", "-v1:0", "-v2",
            "-20250514-v1:0", "-2024", "x", "-2024-08-06-20250929"]  # fmt: skip


def dressed(name: str) -> st.SearchStrategy[str]:
    """A card name or alias as logs, providers and people write it: a provider's prefix,
    a date or deployment suffix, version dots, other case, stray spaces; each or none."""

    def dress(prefix, suffix, dots, case, pad):
        s = re.sub(r"(?<=\d)-(?=\d)", ".", name) if dots else name
        s = getattr(f"{prefix}{s}{suffix}", case)()
        return f"  {s} " if pad else s

    return st.builds(dress, st.sampled_from(PREFIXES), st.sampled_from(SUFFIXES), st.booleans(),
                     st.sampled_from(["lower", "upper", "title", "strip"]), st.booleans())  # fmt: skip


def model_ids(card) -> st.SearchStrategy[str | None]:
    keys = sorted(card._index)
    aliases = sorted({a for m in card.models.values() for a in m.aliases})
    # the user's models (none on the shipped card) are drawn as often as all the rest
    users = sorted({m["name"] for m in tomllib.loads(OVERRIDES)["model"]})
    mine = [k for k in keys if card._index[k] in users and card.files[1:]]
    mine += [a for m in card.models.values() if m.name in users and card.files[1:]
             for a in m.aliases]  # fmt: skip
    return st.one_of(
        *([st.sampled_from(mine).flatmap(dressed)] * 4 if mine else []),
        st.sampled_from(keys),
        st.sampled_from(keys).flatmap(dressed),
        st.sampled_from(aliases).flatmap(dressed),
        st.sampled_from(CLAUDE_CODE_ALIASES),
        st.sampled_from(UNKNOWN),
        st.none(),
        st.text(alphabet="abcdeghilnoprstu0123456789-./:@[] ", max_size=24),
    )


def token_counts(models) -> st.SearchStrategy[int]:
    """Prompt sizes: anything, and just either side of the models' long-context thresholds."""
    thresholds = sorted({p.long_context_threshold for m in models
                         for p in m.prices if p.long_context_threshold})  # fmt: skip
    if not thresholds:
        return st.integers(0, 2_000_000)
    near = st.tuples(st.sampled_from(thresholds), st.integers(-2, 2)).map(lambda t: t[0] + t[1])
    return st.one_of(st.integers(0, 2_000_000), near, st.sampled_from(thresholds))


def requests(models) -> st.SearchStrategy[tuple]:
    """(prompt split over input, cache write 5m / 1h, cache read; output; web searches)."""

    def split(total: int) -> st.SearchStrategy[tuple[int, int, int, int]]:
        cuts = st.lists(st.integers(0, total), min_size=3, max_size=3).map(sorted)
        return cuts.map(lambda c: (c[0], c[1] - c[0], c[2] - c[1], total - c[2]))

    return st.tuples(
        token_counts(models).flatmap(split), st.integers(0, 200_000), st.integers(0, 50)
    )


def days(models) -> st.SearchStrategy[date]:
    """Any day from 2023 to 2028, and the days either side of the models' price changes."""
    changes = sorted({p.effective_from for m in models for p in m.prices})
    edge = st.tuples(st.sampled_from(changes), st.integers(-1, 1)).map(
        lambda t: t[0] + timedelta(days=t[1])
    )
    return st.one_of(st.dates(date(2023, 1, 1), date(2028, 12, 31)), edge, st.sampled_from(changes))


def draw_request(data, card) -> tuple:
    """A model id; then a day and counts aimed at its model's price changes and long-context
    threshold (any model's, when the id has none)."""
    model = data.draw(model_ids(card), "model")
    name = reference_name(card, model)
    models = [card.models[name]] if name is not None else list(card.models.values())
    return model, data.draw(days(models), "day"), data.draw(requests(models), "request")


# -- the property ---------------------------------------------------------------------------


def check(card, model, day, req) -> None:
    (inp, c5, c1, cr), out, ws = req
    prices = index_on(card, day)
    want = reference_name(card, model, day)
    got = lookup(prices, model, day.isoformat())
    # unpriced in the index exactly when unpriced on the card
    assert (got is None) == (want is None), (model, want, got and got["name"])
    assert card_model(card, model, day) == want, model  # whatif / breakeven resolve the same
    assert resolve_id(card._index, model) == card.resolve(model), model
    ts = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()) * 1_000_000
    row = [ts, model, inp, out, c5, c1, cr, ws]
    if want is None:
        assert model_usd(prices, model, inp, out, c5, c1, cr, ws) is None
        assert lookup(prices, model, day.isoformat()) is None
        assert price_response(row, prices) is None
        assert price_responses({"k": row}, prices) == (0.0, [model])
        return
    assert got["name"] == want, model  # the same model, so the same price periods
    exact = request_cost(card.models[want].price_at(day), Usage(inp, out, c5, c1, cr, ws))
    assert isinstance(exact, Decimal)
    at_day = lookup(prices, model, day.isoformat())
    for usd in (usd_at(at_day, inp, out, c5, c1, cr, ws, day.isoformat()),
                price_response(row, prices), price_responses({"k": row}, prices)[0]):  # fmt: skip
        assert math.isclose(usd, float(exact), rel_tol=1e-9, abs_tol=1e-12), (
            model,
            day,
            req,
            usd,
            exact,
        )


PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


@PROPERTY
@given(data=st.data())
def test_the_index_prices_as_the_shipped_card(data):
    card = shipped_card()
    check(card, *draw_request(data, card))


@PROPERTY
@given(data=st.data())
def test_the_index_prices_as_a_card_with_the_users_overrides(cards, data):
    card = cards["user"]
    check(card, *draw_request(data, card))


@pytest.mark.parametrize("which", ["shipped", "user"])
def test_every_name_and_alias_written_every_way_resolves_as_on_the_card(cards, which):
    """Exhaustive where the property samples: every key of the card's id index and every
    alias, under every prefix and suffix, plain, and dotted, upper case and padded."""
    card = cards[which]
    prices = index_on(card, D)
    names = set(card._index) | {a for m in card.models.values() for a in m.aliases}
    names |= set(CLAUDE_CODE_ALIASES) | set(UNKNOWN)
    for name in sorted(names):
        for prefix in PREFIXES[1:] + [""]:
            for suffix in SUFFIXES[1:] + [""]:
                for dots, case, pad in ((False, "strip", False), (True, "upper", True),
                                        (False, "strip", True)):  # fmt: skip
                    s = re.sub(r"(?<=\d)-(?=\d)", ".", name) if dots else name
                    s = getattr(f"{prefix}{s}{suffix}", case)()
                    model = f"  {s} " if pad else s
                    want = reference_name(card, model)
                    got = lookup(prices, model)
                    assert (got and got["name"]) == want, (model, want, got and got["name"])
                    assert card_model(card, model) == want, model


D = date(2026, 11, 1)
FIXED = [
    # dated, prefixed and dotted ids; OpenAI's ISO-dated snapshots
    ("claude-sonnet-4-5-20250929", D, ((1000, 0, 0, 0), 10, 0)),
    ("us.anthropic.claude-opus-4-1-20250805-v1:0", D, ((1000, 0, 0, 0), 10, 1)),
    ("anthropic/claude-sonnet-4.5", D, ((1000, 0, 0, 0), 10, 0)),
    ("gpt-4o-2024-08-06", D, ((1000, 500, 0, 0), 10, 0)),
    ("gpt-4o-2024-05-13", D, ((1000, 0, 0, 0), 10, 0)),  # its own model, not gpt-4o's
    # a long context: one token over the threshold prices the whole request dearer
    ("claude-sonnet-4-5", D, ((100_000, 50_000, 25_000, 25_000), 1000, 2)),
    ("claude-sonnet-4-5", D, ((100_000, 50_000, 25_001, 25_000), 1000, 2)),
    # Claude Code's aliases: the newest of the family
    ("sonnet", D, ((1000, 0, 0, 0), 10, 0)),
    ("opus", D, ((1000, 0, 0, 0), 10, 0)),
    ("haiku", D, ((300_000, 0, 0, 0), 10, 0)),
    # a price change: the period in force on the day
    ("claude-3-5-haiku-20241022", date(2024, 11, 30), ((1000, 10, 10, 10), 10, 0)),
    ("claude-3-5-haiku-20241022", date(2024, 12, 1), ((1000, 10, 10, 10), 10, 0)),
    ("claude-3-5-haiku", date(2023, 1, 1), ((1000, 10, 10, 10), 10, 0)),
    # unpriced
    ("<synthetic>", D, ((1, 1, 1, 1), 1, 1)),
    ("claude", D, ((1, 1, 1, 1), 1, 1)),
    ("5", D, ((1, 1, 1, 1), 1, 1)),
    (None, D, ((1, 1, 1, 1), 1, 1)),
]


@pytest.mark.parametrize("model,day,req", FIXED)
def test_named_requests_price_as_on_the_card(model, day, req):
    check(shipped_card(), model, day, req)


def test_the_users_collisions_resolve_as_the_card_resolves_them(cards):
    """Named cases of the property: each was priced differently by the status line."""
    card = cards["user"]
    prices = index_on(card, D)
    expect = {
        "claude-opus-4": "claude-opus-4",  # a name wins over another model's alias
        "shared-alias": "zeta-model",  # two models' alias: the first in the card's order
        "spaced-alias": "zeta-model",  # aliases are trimmed
        "bedrock-style": "zeta-model",  # and normalised
        "claude-sonnet-4.5-fast": "claude-sonnet-4-5",
        "sonnet": "claude-sonnet-9",  # a model added without a family still counts
        "coder": "Local-Coder:7B",
        "local-coder:7b": "Local-Coder:7B",
        " nightly-20250101 ": "nightly-20250101",  # a local name is not normalised
        "nightly-20250102": "nightly",
    }
    for model, name in expect.items():
        assert card.resolve(model) in (name, None), model
        assert card_model(card, model) == name, model
        assert lookup(prices, model)["name"] == name, model


def test_whatif_resolves_through_the_same_rules(cards):
    from ccspend.route.whatif import resolve_model

    card = cards["shipped"]
    for model in ("sonnet", "claude-haiku-4-5-20251001", "gpt-4o-2024-08-06", "sonnet[1m]"):
        assert resolve_model(card, model) == reference_name(card, model)
    for model in ("claude", "5", "flash", "opusplan"):
        with pytest.raises(UsageError):
            resolve_model(card, model)


def test_route_and_preflight_price_through_the_index(cards):
    """``route``'s tier costs and ``run``'s pre-flight: the same lookup, long context too."""
    from types import SimpleNamespace

    from ccspend.route.decide import tier_costs

    card = cards["shipped"]
    prices = index_on(card, D)
    tiers = [SimpleNamespace(name=n, model=m, usable=True, cap_usd=None)
             for n, m in (("light", "haiku"), ("standard", "sonnet"), ("heavy", "opus"),
                          ("x", "gpt-4o-2024-08-06"), ("y", "nonesuch"))]  # fmt: skip
    for tokens in (1000, 300_000):
        rows = tier_costs(SimpleNamespace(tiers=tiers), prices, tokens, 500)
        for t, row in zip(tiers, rows, strict=True):
            name = reference_name(card, t.model)
            if name is None:
                assert row["estimated_usd"] is None
                continue
            exact = request_cost(card.models[name].price_at(D), Usage(input=tokens, output=500))
            assert row["estimated_usd"] == pytest.approx(float(exact), rel=1e-9)
