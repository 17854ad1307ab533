"""What ``ccspend watch`` shows, computed from the store: a pure snapshot, no drawing.

The live view redraws from one ``Snapshot`` after every change of the logs;
keeping the numbers here lets tests check them without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from ccspend.pricing.card import RateCard
from ccspend.reports.build import build_blocks
from ccspend.store import Store, queries
from ccspend.store.queries import Filters

SPARK = "▁▂▃▄▅▆▇█"


@dataclass
class Snapshot:
    taken_at: float
    today_cost_usd: float
    block: dict | None  # the active block's row (blocks JSON), with its forecasts
    sessions: list[tuple] = field(default_factory=list)  # (id, cwd, USD today, last epoch s)
    minutes: list[float] = field(default_factory=list)  # cost per minute, last 60 minutes
    daily_budget: float | None = None


def take(
    store: Store,
    card: RateCard,
    tz: str,
    now: float,
    limit: str | None = None,
    daily_budget: float | None = None,
) -> Snapshot:
    """Today's spend, the active block, the live sessions and the last hour, as of ``now``."""
    today = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
    blocks = build_blocks(store, card, Filters(tz=tz), int(now * 1e6), active_only=True,
                          limit=limit)  # fmt: skip
    with store.connect() as con:
        queries.load_card(con, card)
        queries.select(con, Filters(tz=tz, since=today, until=today))
        total = queries.aggregate(con, None, Filters(tz=tz))
        sessions = queries.live_sessions(con, now - 3600, 5)
        per_minute = dict(queries.minute_costs(con, now - 3600))
    start = int(now // 60 * 60) - 59 * 60
    minutes = [per_minute.get(start + 60 * i, 0.0) for i in range(60)]
    return Snapshot(
        taken_at=now,
        today_cost_usd=float(total[0].cost_micro) / 1e6 if total else 0.0,
        block=blocks.rows[-1] if blocks.rows else None,
        sessions=sessions,
        minutes=minutes,
        daily_budget=daily_budget,
    )


def sparkline(values: list[float]) -> str:
    """One character per value, scaled to the largest."""
    top = max(values, default=0.0)
    if top <= 0:
        return SPARK[0] * len(values)
    steps = len(SPARK) - 1
    return "".join(SPARK[min(int(v / top * steps + 0.5), steps)] for v in values)
