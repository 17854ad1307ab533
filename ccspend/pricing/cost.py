"""The pricing rule, as one pure function: the specification the SQL must agree with.

Money is exact: prices are ``Decimal`` USD per million tokens, so a cost is an
exact decimal and sums never drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ccspend.pricing.card import Price

MILLION = Decimal(1_000_000)
THOUSAND = Decimal(1000)


@dataclass(frozen=True)
class Usage:
    """The billable counts of one request."""

    input: int = 0
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    web_searches: int = 0

    @property
    def prompt_tokens(self) -> int:
        """Everything the model read: what the long-context threshold is measured on."""
        return self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read


def is_long_context(price: Price, usage: Usage) -> bool:
    """Past the threshold, the WHOLE request is priced at the long-context rates."""
    return (
        price.long_context is not None
        and price.long_context_threshold is not None
        and usage.prompt_tokens > price.long_context_threshold
    )


def request_cost(price: Price, usage: Usage, factor: Decimal = Decimal(1),
                 compaction: Usage | None = None) -> Decimal:  # fmt: skip
    """USD cost of one request under ``price``, exact.

    ``factor``: the product of the request's modifiers (fast mode, US-only
    inference), which multiplies every token rate but not the web-search fee.
    ``compaction``: the tokens of compaction steps inside the request, which the
    top-level usage does not count; a sampling step of its own, so it is held
    against the long-context threshold on its own.
    """
    cost = _tokens_cost(price, usage)
    if compaction is not None:
        cost += _tokens_cost(price, compaction)
    return cost * factor / MILLION + usage.web_searches * price.web_search_per_1k / THOUSAND


def _tokens_cost(price: Price, usage: Usage) -> Decimal:
    """Tokens times rates per million, of one sampling step."""
    tier = price.long_context if is_long_context(price, usage) else price.base
    return (
        usage.input * tier.input
        + usage.output * tier.output
        + usage.cache_write_5m * tier.cache_write_5m
        + usage.cache_write_1h * tier.cache_write_1h
        + usage.cache_read * tier.cache_read
    )


def uncached_cost(price: Price, usage: Usage) -> Decimal:
    """What the request's cached tokens would have cost billed as plain input."""
    tier = price.long_context if is_long_context(price, usage) else price.base
    cached = usage.cache_write_5m + usage.cache_write_1h + usage.cache_read
    return cached * tier.input / MILLION
