"""Reports: usage grouped by day, week, month, session, model, project or branch.

``build_report`` returns plain rows; ``Report.to_json`` is the documented JSON
contract that scripts and later features rely on:

``{"report", "timezone", "since", "until", "rows", "totals", "unpriced", "warnings"}``,
each row with ``key``, token fields, ``cost_usd`` (full precision), ``models``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from ccspend.pricing.card import RateCard
from ccspend.store import Store, queries
from ccspend.store.queries import Aggregate, Filters

REPORTS = ("daily", "weekly", "monthly", "session", "model", "project", "branch")
_MICRO = Decimal(1_000_000)
# Reports sorted by time read best oldest first; the others, most expensive first.
_BY_COST = {"model", "project", "branch"}


@dataclass(frozen=True)
class ReportRequest:
    name: str
    filters: Filters = field(default_factory=Filters)
    breakdown: bool = False
    card_at: date | None = None  # price everything by the card as of this date


@dataclass
class Row:
    key: str
    agg: Aggregate
    breakdown: list[Row] = field(default_factory=list)

    def to_json(self, name: str) -> dict:
        a = self.agg
        out = {"key": self.key, **_numbers(a), "models": a.models}
        if name == "session":
            out.update(
                project=a.cwd,
                branches=a.branches,
                first_activity=a.first_ts,
                last_activity=a.last_ts,
            )
        if self.breakdown:
            out["breakdown"] = [
                {"model": b.key, **_numbers(b.agg)} for b in self.breakdown
            ]
        return out


def _numbers(a: Aggregate) -> dict:
    cache_write = a.cache_write_5m_tokens + a.cache_write_1h_tokens
    all_input = a.input_tokens + cache_write + a.cache_read_tokens
    return {
        "input_tokens": a.input_tokens,
        "output_tokens": a.output_tokens,
        "cache_write_tokens": cache_write,
        "cache_read_tokens": a.cache_read_tokens,
        "total_tokens": all_input + a.output_tokens,
        "cost_usd": float(a.cost_micro / _MICRO),
        "cache_write_5m_tokens": a.cache_write_5m_tokens,
        "cache_write_1h_tokens": a.cache_write_1h_tokens,
        "web_search_requests": a.web_search_requests,
        "requests": a.requests,
        "cache_hit_rate": (a.cache_read_tokens / all_input) if all_input else 0.0,
        "cache_savings_usd": float(a.savings_micro / _MICRO),
    }


@dataclass
class Report:
    name: str
    filters: Filters
    rows: list[Row]
    totals: Aggregate
    unpriced: list[tuple[str, int, int]]
    warnings: list[str]

    @property
    def cost_usd(self) -> Decimal:
        return self.totals.cost_micro / _MICRO

    def to_json(self) -> dict:
        f = self.filters
        totals = _numbers(self.totals)
        return {
            "report": self.name,
            "timezone": f.tz,
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
            "rows": [r.to_json(self.name) for r in self.rows],
            "totals": totals,
            "unpriced": [{"model": m, "tokens": t, "requests": n} for m, t, n in self.unpriced],
            "warnings": list(self.warnings),
        }


def _empty_total() -> Aggregate:
    zero = Decimal(0)
    return Aggregate("total", 0, 0, 0, 0, 0, 0, zero, zero, 0, [], None, None, [], None)


def build_report(
    store: Store, card: RateCard, req: ReportRequest, warnings: list[str] | None = None
) -> Report:
    """Run one report against the store, priced by ``card``."""
    if req.name not in REPORTS:
        raise ValueError(f"unknown report {req.name}")
    with store.connect() as con:
        queries.load_card(con, card, at=req.card_at)
        queries.select(con, req.filters)
        groups = queries.aggregate(con, req.name, req.filters)
        totals = queries.aggregate(con, None, req.filters)
        subs = queries.aggregate(con, req.name, req.filters, by_model=True) if req.breakdown else []
        unpriced = queries.unpriced(con)
        skipped = queries.skipped_lines(con)
    rows = [Row(a.key, a) for a in groups]
    if subs:
        by_key: dict[str, list[Row]] = {}
        for s in subs:
            by_key.setdefault(s.key, []).append(Row(s.sub_key or "(unknown)", s))
        for row in rows:
            row.breakdown = sorted(by_key.get(row.key, []), key=lambda r: -r.agg.cost_micro)
    if req.name in _BY_COST:
        rows.sort(key=lambda r: (-r.agg.cost_micro, r.key))
    elif req.name == "session":
        rows.sort(key=lambda r: (r.agg.last_ts or "", r.key))
    out_warnings = list(warnings or [])
    if skipped:
        total = sum(n for _, n in skipped)
        named = ", ".join(f"{Path(p).name} ({n})" for p, n in skipped[:3])
        more = f" and {len(skipped) - 3} more files" if len(skipped) > 3 else ""
        out_warnings.append(f"skipped {total} unreadable log lines: {named}{more}")
    if unpriced:
        named = ", ".join(f"{m} ({t:,} tokens)" for m, t, _ in unpriced)
        out_warnings.append(
            f"unpriced models, not in the cost: {named}; add them to your rates.toml"
        )
    return Report(
        name=req.name,
        filters=req.filters,
        rows=rows,
        totals=totals[0] if totals else _empty_total(),
        unpriced=unpriced,
        warnings=out_warnings,
    )


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` or ``YYYYMMDD``."""
    text = text.strip()
    fmt = "%Y%m%d" if len(text) == 8 and text.isdigit() else "%Y-%m-%d"
    return datetime.strptime(text, fmt).date()
