"""The rate card's file format, validated with pydantic (the edge of ``ccspend.pricing.card``).

Kept apart so that a card loaded from its cache never imports pydantic.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: Decimal
    output: Decimal
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    cache_read: Decimal | None = None


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_from: date
    input: Decimal | None = None
    output: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    cache_read: Decimal | None = None
    web_search_per_1k: Decimal = Decimal(0)
    long_context_threshold: int | None = None
    long_context: TierIn | None = None
    # a local model: a machine's hourly cost and its throughput, or free
    hourly_usd: Decimal | None = None
    tokens_per_second: Decimal | None = None
    free: bool = False
    source: str = ""
    note: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> PriceIn:
        if self.free:
            self.input = self.output = Decimal(0)
        elif self.hourly_usd is not None:
            if not self.tokens_per_second or self.tokens_per_second <= 0:
                raise ValueError("hourly_usd needs a positive tokens_per_second")
            per_m = (self.hourly_usd / (self.tokens_per_second * 3600) * 1_000_000).quantize(
                Decimal("0.000001")
            )
            self.input = self.output = per_m
        if self.input is None or self.output is None:
            raise ValueError("a price needs input and output (or free, or hourly_usd)")
        if self.long_context is not None and self.long_context_threshold is None:
            raise ValueError("long_context needs long_context_threshold")
        return self


class ModifierIn(BaseModel):
    """A multiplier of every token rate of a model's requests that carry a usage field's
    value (``speed = "fast"``, ``inference_geo = "us"``), for the days it was offered."""

    model_config = ConfigDict(extra="forbid")
    field: Literal["speed", "inference_geo"]
    value: str
    factor: Decimal
    effective_from: date
    until: date | None = None  # the first day it was no longer offered
    source: str = ""
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> ModifierIn:
        if self.factor <= 0:
            raise ValueError("a modifier's factor must be positive")
        if self.until is not None and self.until <= self.effective_from:
            raise ValueError("a modifier's until must come after its effective_from")
        return self


class ModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    provider: str = "anthropic"
    family: str | None = None
    aliases: list[str] = []
    context_window: int | None = None
    token_factor: Decimal | None = None
    # False: no published release date was found; the first price's effective_from is
    # then the earliest day the model could have existed (its note says why), and no
    # earlier request is priced with it
    date_known: bool = True
    # false: requests before the first price stay unpriced (a model `rates update` added)
    backdate: bool = True
    price: list[PriceIn] = []
    modifier: list[ModifierIn] = []


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = ""
    model: list[ModelIn] = []
