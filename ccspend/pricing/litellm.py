"""LiteLLM's price file, read as rate card entries. Pure: a dict in, entries out.

LiteLLM's ``model_prices_and_context_window.json`` maps a model id to its prices in
USD per token. ``ccspend rates update`` reads it to add new models and price changes
to the card (``pricing.update``). The rules are those ``scripts/build_rate_card.py``
applies to the shipped card, so an update from the file the card was built from finds
nothing to change:

- only chat models (``mode`` chat or responses) of the providers the card knows
  (``anthropic``, ``openai``, ``gemini``, which the card calls ``google``);
- a model's name is ``normalise_model`` of its id (provider prefix and date gone);
- prices per million tokens, exact decimals (``3e-06`` per token is 3, not
  2.9999999999999996): ``Decimal(str(x)) * 1_000_000``, to six decimals;
- Anthropic: a missing cache price by Anthropic's rules (5-minute write 1.25x input,
  1-hour write 2x, read 0.1x) and web search at $10 per 1,000; OpenAI and Google:
  cache writes at the input price (no surcharge), a missing cached-input price at input;
- a long-context tier from the ``*_above_<N>k_tokens`` fields;
- ``provider_specific_entry`` (``{"us": 1.1, "fast": 2.0}``) as modifiers: a factor on
  every rate of a request with ``inference_geo = "us"`` or ``speed = "fast"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ccspend.core.errors import RateCardError
from ccspend.pricing.names import normalise_model

# LiteLLM provider -> the card's provider; entries of any other provider are left out
PROVIDERS = {"anthropic": "anthropic", "openai": "openai", "gemini": "google"}
CHAT_MODES = ("chat", "responses")
RATE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
LITELLM_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_write_5m": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "cache_read": "cache_read_input_token_cost",
}
# `<field>_above_<N>k_tokens`; the `$` leaves out the _batches, _flex and _priority variants
LONG_TIER_RE = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_creation_input_token_cost"
    r"|cache_creation_input_token_cost_above_1hr|cache_read_input_token_cost)"
    r"_above_(\d+)k_tokens$"
)
ANTHROPIC_WEB_SEARCH_PER_1K = Decimal(10)
ANTHROPIC_CACHE_RULES = {"cache_write_5m": Decimal("1.25"), "cache_write_1h": Decimal(2),
                         "cache_read": Decimal("0.1")}  # fmt: skip
# provider_specific_entry's keys -> the usage field and value a modifier applies to
MODIFIER_KEYS = {"us": ("inference_geo", "us"), "fast": ("speed", "fast")}

_SIX = Decimal("0.000001")


@dataclass(frozen=True)
class Rates:
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal

    def as_tuple(self) -> tuple[Decimal, ...]:
        return tuple(getattr(self, f) for f in RATE_FIELDS)


@dataclass(frozen=True)
class Modifier:
    field: str  # "inference_geo" or "speed"
    value: str  # "us" or "fast"
    factor: Decimal


@dataclass(frozen=True)
class Entry:
    """One LiteLLM id as the card would price it."""

    key: str  # the id as LiteLLM writes it
    name: str  # normalise_model(key)
    provider: str  # the card's provider name
    base: Rates
    web_search_per_1k: Decimal | None = None  # None: LiteLLM does not say
    long_context_threshold: int | None = None
    long_context: Rates | None = None
    context_window: int | None = None
    modifiers: tuple[Modifier, ...] = ()


def exact(value: object, scale: int = 1) -> Decimal | None:
    """A LiteLLM number as an exact decimal, times ``scale``, to six decimals; None if
    it is absent or not a number."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        d = (Decimal(str(value)) * scale).quantize(_SIX)
    except InvalidOperation:
        return None
    if not d.is_finite() or d < 0:
        return None
    return d.normalize() + 0  # + 0: no -0, no exponent for zero


def per_mtok(entry: dict, key: str) -> Decimal | None:
    """``entry[key]`` (USD per token) in USD per million tokens."""
    return exact(entry.get(key), 1_000_000)


def _raw(entry: dict, suffix: str = "") -> dict[str, Decimal | None]:
    return {f: per_mtok(entry, LITELLM_FIELDS[f] + suffix) for f in RATE_FIELDS}


def _long(entry: dict) -> tuple[int, dict[str, Decimal | None]] | None:
    thresholds = {int(m[2]) for f in entry if (m := LONG_TIER_RE.match(f))}
    if len(thresholds) != 1:  # none, or several (the card has one tier): no tier
        return None
    n = thresholds.pop()
    return n * 1000, _raw(entry, f"_above_{n}k_tokens")


def _anthropic(raw: dict[str, Decimal | None]) -> Rates | None:
    inp, out = raw["input"], raw["output"]
    if inp is None or out is None:
        return None
    filled = {f: raw[f] if raw[f] is not None else (inp * k).quantize(_SIX).normalize() + 0
              for f, k in ANTHROPIC_CACHE_RULES.items()}  # fmt: skip
    return Rates(inp, out, filled["cache_write_5m"], filled["cache_write_1h"],
                 filled["cache_read"])  # fmt: skip


def _other(raw: dict[str, Decimal | None], read: Decimal | None = None) -> Rates | None:
    inp, out = raw["input"], raw["output"]
    if inp is None or out is None:
        return None
    read = raw["cache_read"] if raw["cache_read"] is not None else (read if read is not None
                                                                    else inp)  # fmt: skip
    return Rates(inp, out, inp, inp, read)


def _web_search(entry: dict) -> Decimal | None:
    per_query = entry.get("search_context_cost_per_query")
    if not isinstance(per_query, dict) or not per_query:
        return None
    value = per_query.get("search_context_size_medium")
    if value is None:
        numbers = [v for v in per_query.values() if exact(v) is not None]
        value = max(numbers) if numbers else None
    return exact(value, 1000)


def _modifiers(entry: dict) -> tuple[Modifier, ...]:
    extra = entry.get("provider_specific_entry")
    if not isinstance(extra, dict):
        return ()
    out = []
    for key in sorted(extra):
        factor = exact(extra[key])
        if key in MODIFIER_KEYS and factor is not None and factor > 0:
            field, value = MODIFIER_KEYS[key]
            out.append(Modifier(field, value, factor))
    return tuple(out)


def entry_of(key: str, raw_entry: object) -> Entry | None:
    """The card entry for one LiteLLM id, or None when the card takes no such model
    (another provider, not a chat model, no input or output price)."""
    if not isinstance(raw_entry, dict):
        return None
    provider = PROVIDERS.get(str(raw_entry.get("litellm_provider", "")))
    if provider is None or raw_entry.get("mode") not in CHAT_MODES:
        return None
    raw = _raw(raw_entry)
    base = _anthropic(raw) if provider == "anthropic" else _other(raw)
    if base is None:
        return None
    threshold, long_rates = None, None
    tier = _long(raw_entry)
    if tier is not None:
        threshold, raw_long = tier
        if provider == "anthropic":
            raw_long["output"] = raw_long["output"] if raw_long["output"] is not None \
                else base.output  # fmt: skip
            long_rates = _anthropic(raw_long)
        else:
            l_in = raw_long["input"] if raw_long["input"] is not None else base.input
            raw_long["input"] = l_in
            if raw_long["output"] is None:
                raw_long["output"] = base.output
            # a missing cached-input price scales like the input price
            scaled = ((base.cache_read * l_in / base.input).quantize(_SIX).normalize() + 0
                      if base.input else l_in)  # fmt: skip
            long_rates = _other(raw_long, read=scaled)
        if long_rates is None or long_rates == base:  # a tier priced like the base: none
            threshold, long_rates = None, None
    web = ANTHROPIC_WEB_SEARCH_PER_1K if provider == "anthropic" else _web_search(raw_entry)
    ctx = raw_entry.get("max_input_tokens")
    return Entry(
        key=key,
        name=normalise_model(key),
        provider=provider,
        base=base,
        web_search_per_1k=web,
        long_context_threshold=threshold,
        long_context=long_rates,
        context_window=ctx if isinstance(ctx, int) and not isinstance(ctx, bool) else None,
        modifiers=_modifiers(raw_entry),
    )


def entries(data: object) -> list[Entry]:
    """Every chat model of a known provider in LiteLLM's price file, sorted by id.

    Raises ``RateCardError`` when ``data`` is not shaped like that file (not an
    object of objects, or not one model the card could take).
    """
    if not isinstance(data, dict):
        raise RateCardError("not LiteLLM's price file: the JSON is not an object of models")
    out = [e for key in sorted(data) if (e := entry_of(str(key), data[key])) is not None]
    if not out:
        raise RateCardError(
            "not LiteLLM's price file: no chat model of Anthropic, OpenAI or Gemini in it"
        )
    return out
