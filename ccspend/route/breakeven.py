"""``ccspend breakeven``: the daily token volume above which a local model is cheaper.

A local model on the rate card has a machine behind it: ``hourly_usd`` (what the
machine costs an hour, owned or rented) and ``tokens_per_second`` (what it
gets through). The machine is paid by the hour whether it works or not, so a
day of it costs ``hourly_usd x hours_per_day`` (24 by default: a machine that
is always on; fewer for one started only for working hours) and can handle at
most ``tokens_per_second x 3600 x hours_per_day`` tokens. Every token counts
against that throughput, cache reads included, as the card prices local models.

A cloud model costs per token, and what a token costs depends on the mix of
input, output, cache writes and cache reads: the mix is the user's own over
the last 30 days of logs (every model), else ``DEFAULT_MIX`` (stated). Long-context
rates and web searches are left out: the base rates of the cloud model's price
in force today.

Local is cheaper above ``daily machine cost / cloud cost per token`` tokens a
day, if the machine can handle that many; if not, it never is on one machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ccspend.core.errors import CcspendError, UsageError
from ccspend.pricing.card import RateCard
from ccspend.pricing.index import card_model

KINDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
# A Claude Code session re-reads its context from the cache on every request, so
# cache reads dominate; used only when the last 30 days have no usage to measure.
DEFAULT_MIX = {"input": Decimal("0.01"), "output": Decimal("0.02"),
               "cache_write_5m": Decimal("0.05"), "cache_write_1h": Decimal("0"),
               "cache_read": Decimal("0.92")}  # fmt: skip
HISTORY_DAYS = 30
_M = Decimal(1_000_000)


@dataclass(frozen=True)
class History:
    """Tokens of each kind over the last ``days`` days, and what they cost."""

    tokens: dict[str, int]
    cost_usd: Decimal
    days: int = HISTORY_DAYS

    @property
    def total(self) -> int:
        return sum(self.tokens.values())


@dataclass(frozen=True)
class Breakeven:
    local: str
    cloud: str
    hourly_usd: Decimal
    tokens_per_second: Decimal
    hours_per_day: Decimal
    mix: dict[str, Decimal]
    mix_source: str  # "your mix of the last 30 days" | "the default mix (...)"
    cloud_usd_per_m: Decimal  # at the mix
    history: History | None

    @property
    def local_usd_per_day(self) -> Decimal:
        return self.hourly_usd * self.hours_per_day

    @property
    def capacity_per_day(self) -> Decimal:
        return self.tokens_per_second * 3600 * self.hours_per_day

    @property
    def breakeven_tokens_per_day(self) -> Decimal | None:
        """Tokens a day above which local is cheaper; None: never, on one machine."""
        if self.cloud_usd_per_m <= 0:
            return None
        v = self.local_usd_per_day / self.cloud_usd_per_m * _M
        return v if v <= self.capacity_per_day else None

    @property
    def your_tokens_per_day(self) -> Decimal | None:
        if self.history is None:
            return None
        return Decimal(self.history.total) / self.history.days

    def to_json(self) -> dict:
        you = self.your_tokens_per_day
        cloud_day = you * self.cloud_usd_per_m / _M if you is not None else None
        machines = max(1, math.ceil(you / self.capacity_per_day)) if you else 1
        be = self.breakeven_tokens_per_day
        return {
            "report": "breakeven",
            "local": {"model": self.local, "hourly_usd": float(self.hourly_usd),
                      "tokens_per_second": float(self.tokens_per_second),
                      "hours_per_day": float(self.hours_per_day),
                      "usd_per_day": float(self.local_usd_per_day),
                      "capacity_tokens_per_day": float(self.capacity_per_day)},
            "cloud": {"model": self.cloud, "usd_per_million_tokens": float(self.cloud_usd_per_m)},
            "mix": {k: float(v) for k, v in self.mix.items()},
            "mix_source": self.mix_source,
            "breakeven_tokens_per_day": float(be) if be is not None else None,
            "you": None if you is None else {
                "days": self.history.days, "tokens_per_day": float(you),
                "cost_usd_per_day": float(self.history.cost_usd / self.history.days),
                "cloud_usd_per_day": float(cloud_day),
                "local_usd_per_day": float(self.local_usd_per_day * machines),
                "machines": machines,
                "local_cheaper": bool(be is not None and you > be),
            },
        }  # fmt: skip


def local_rates(card: RateCard, model: str, day: date) -> tuple[str, Decimal, Decimal]:
    """(name, hourly USD, tokens per second) of a local model; a clear error otherwise."""
    name = card_model(card, model)  # aliases (sonnet) resolve as everywhere else
    if name is None:
        raise UsageError(f"{model!r} is not on the rate card",
                         hint="add it to rates.toml with hourly_usd and tokens_per_second "
                              "(docs/prices.md)")  # fmt: skip
    price = card.models[name].price_at(day)
    if price.hourly_usd is None:
        if price.base.input == 0 and price.base.output == 0:
            raise CcspendError(f"{name} is free on the rate card: it is cheaper than any cloud "
                               "model at every volume (give it hourly_usd and tokens_per_second "
                               "to weigh the machine)")  # fmt: skip
        raise UsageError(f"{name} has no hourly cost on the rate card (it is priced per token)",
                         hint="breakeven needs a local model with hourly_usd and "
                              "tokens_per_second; compare per-token models with "
                              "ccspend whatif --model")  # fmt: skip
    return name, price.hourly_usd, price.tokens_per_second


def cloud_usd_per_m(card: RateCard, name: str, day: date, mix: dict[str, Decimal]) -> Decimal:
    """USD per million tokens of a cloud model at a token mix (base rates in force on day)."""
    t = card.models[name].price_at(day).base
    return sum((mix[k] * getattr(t, k) for k in KINDS), Decimal(0))


def mix_of(history: History | None) -> tuple[dict[str, Decimal], str]:
    if history is None or history.total == 0:
        return dict(DEFAULT_MIX), "the default mix (no usage in the last 30 days)"
    total = Decimal(history.total)
    return ({k: Decimal(history.tokens[k]) / total for k in KINDS},
            f"your mix of the last {history.days} days")  # fmt: skip


def load_history(store, card: RateCard, tz: str, today: date) -> History | None:
    """Tokens by kind and cost of the last 30 local days, as the reports count them."""
    from ccspend.store import queries
    from ccspend.store.queries import Filters

    f = Filters(tz=tz, since=today - timedelta(days=HISTORY_DAYS - 1), until=today)
    with store.connect() as con:
        queries.load_card(con, card)
        queries.load_whatif_map(con, {})
        queries.select_as(con, f, per_session=True)  # Claude Code's logs only
        rows = queries.aggregate(con, None, f)
    if not rows:
        return None
    a = rows[0]
    tokens = {"input": a.input_tokens, "output": a.output_tokens,
              "cache_write_5m": a.cache_write_5m_tokens, "cache_write_1h": a.cache_write_1h_tokens,
              "cache_read": a.cache_read_tokens}  # fmt: skip
    return History(tokens, a.cost_micro / _M)


def breakeven(card: RateCard, local: str, cloud: str, today: date,
              history: History | None, hours_per_day: float = 24) -> Breakeven:  # fmt: skip
    """Pure: the comparison, from the card and (optionally) the user's history."""
    if not 0 < hours_per_day <= 24:
        raise UsageError("--hours-per-day takes a number of hours from 0 to 24")
    from ccspend.route.whatif import resolve_model

    name, hourly, tps = local_rates(card, local, today)
    cloud_name = resolve_model(card, cloud)
    if card.models[cloud_name].provider == "local":
        raise UsageError(f"--vs {cloud}: {cloud_name} is a local model; compare with a cloud one")
    mix, source = mix_of(history)
    return Breakeven(name, cloud_name, hourly, tps, Decimal(str(hours_per_day)), mix, source,
                     cloud_usd_per_m(card, cloud_name, today, mix),
                     history if history is not None and history.total else None)  # fmt: skip
