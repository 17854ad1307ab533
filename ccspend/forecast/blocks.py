"""5-hour billing blocks, as Claude's subscriptions count them.

A block starts at the hour (UTC, floored) of its first request and lasts five
hours. A request that falls five hours or more after its block's start, or
five hours or more after the previous request, starts a new block. Everything
here is a pure function of the requests and of "now", so it is tested on
hand-made timelines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
BLOCK_US = 5 * HOUR_US
BURN_WINDOW_US = 30 * MINUTE_US  # the burn rate of an active block: its last 30 minutes


@dataclass(frozen=True)
class Request:
    """One counted request: its time (µs since the epoch, UTC), tokens and exact cost."""

    ts_us: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_micro: Decimal  # micro-dollars; 0 for an unpriced model
    model: str

    @property
    def tokens(self) -> int:
        return (
            self.input_tokens + self.output_tokens + self.cache_write_tokens
            + self.cache_read_tokens
        )  # fmt: skip


@dataclass
class Block:
    start_us: int
    requests: list[Request] = field(default_factory=list)
    gap_before_us: int | None = None  # idle time since the previous block's last request

    @property
    def end_us(self) -> int:
        return self.start_us + BLOCK_US

    @property
    def last_us(self) -> int:
        return self.requests[-1].ts_us

    def is_active(self, now_us: int) -> bool:
        return self.start_us <= now_us < self.end_us

    @property
    def tokens(self) -> int:
        return sum(r.tokens for r in self.requests)

    @property
    def cost_micro(self) -> Decimal:
        return sum((r.cost_micro for r in self.requests), Decimal(0))


def group_blocks(requests: list[Request]) -> list[Block]:
    """Requests (any order) grouped into 5-hour blocks, oldest first."""
    blocks: list[Block] = []
    current: Block | None = None
    prev_ts: int | None = None
    for r in sorted(requests, key=lambda r: r.ts_us):
        if current is None or r.ts_us >= current.end_us or r.ts_us - prev_ts >= BLOCK_US:
            start = r.ts_us - r.ts_us % HOUR_US
            gap = None if prev_ts is None else r.ts_us - prev_ts
            current = Block(start, gap_before_us=gap)
            blocks.append(current)
        current.requests.append(r)
        prev_ts = r.ts_us
    return blocks


@dataclass(frozen=True)
class Burn:
    """A rate of spend and where it leads by the block's end."""

    tokens_per_min: float
    usd_per_hour: float
    projected_tokens: int
    projected_cost_usd: float


def burn(block: Block, now_us: int, window_us: int = BURN_WINDOW_US) -> Burn:
    """The block's burn rate, and what it reaches at its end at that rate.

    An active block's rate is that of its last ``window_us`` (not the block
    average, which an idle first hour would drag down); a finished block's is
    its average over the time it was in use. A rate of zero projects no growth.
    """
    tokens = block.tokens
    cost = float(block.cost_micro / Decimal(1_000_000))
    if block.is_active(now_us):
        since = max(block.start_us, now_us - window_us)
        recent = [r for r in block.requests if r.ts_us >= since]
        span_us = max(now_us - since, MINUTE_US)
        tok_rate = sum(r.tokens for r in recent) / (span_us / MINUTE_US)
        usd_rate = float(sum((r.cost_micro for r in recent), Decimal(0))) / 1e6 / (
            span_us / HOUR_US
        )
        left_us = block.end_us - now_us
        return Burn(
            tokens_per_min=tok_rate,
            usd_per_hour=usd_rate,
            projected_tokens=tokens + round(tok_rate * left_us / MINUTE_US),
            projected_cost_usd=cost + usd_rate * left_us / HOUR_US,
        )
    span_us = max(block.last_us - block.requests[0].ts_us, MINUTE_US)
    return Burn(
        tokens_per_min=tokens / (span_us / MINUTE_US),
        usd_per_hour=cost / (span_us / HOUR_US),
        projected_tokens=tokens,
        projected_cost_usd=cost,
    )
