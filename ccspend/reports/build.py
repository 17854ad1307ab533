"""Reports: usage grouped by day, week, month, session, model, project or branch.

``build_report`` returns plain rows; ``Report.to_json`` is the documented JSON
contract that scripts and later features rely on:

``{"report", "timezone", "since", "until", "rows", "totals", "unpriced", "warnings"}``,
each row with ``key``, token fields, ``cost_usd`` (full precision), ``models``.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from ccspend.core.records import Factory, Frozen, Record, replace
from ccspend.pricing.card import RateCard
from ccspend.reports import session_rows
from ccspend.sources import agents
from ccspend.store import Store, queries
from ccspend.store.queries import Aggregate, Filters

REPORTS = ("daily", "weekly", "monthly", "session", "model", "project", "branch", "source")
# Reports only a team store can answer (``reports.team``): its rows say who and where.
TEAM_ONLY = ("user", "machine")
_MICRO = Decimal(1_000_000)
# Reports sorted by time read best oldest first; the others, most expensive first.
_BY_COST = {"model", "project", "branch", "source", "user", "machine"}


class ReportRequest(Frozen):
    name: str
    filters: Filters = Factory(Filters)
    breakdown: bool = False
    card_at: date | None = None  # price everything by the card as of this date
    order: str | None = None  # 'asc' or 'desc'; None: by time oldest first, by cost largest
    week_start: int = 0  # weekly: the day weeks start on, 0 Monday .. 6 Sunday
    by_project: bool = False  # per-project sub-rows (``--instances``)
    by_agent: bool = False  # per-agent sub-rows (``--by-agent``)
    entries: bool = False  # each request as a sub-row of its session (``session --id``)
    # the report is printed as JSON only: rows the store can write as JSON text come as
    # text (``Report.rows_json``), never as thousands of objects and dicts
    json_only: bool = False


class Row(Record):
    key: str
    agg: Aggregate
    breakdown: list[Row] = Factory(list)
    projects: list[Row] = Factory(list)
    entries: list[Row] = Factory(list)
    agents: list[Row] = Factory(list)

    def to_json(self, name: str, tz: str = "UTC") -> dict:
        """The row of the JSON contract. A session report of every session, printed as
        JSON, writes the same bytes in SQL (``queries.session_rows_json``): a field
        changed here changes there (tests/test_session_json.py compares the two)."""
        a = self.agg
        out = {"key": self.key, **_numbers(a), "models": a.models, **_granularity(a)}
        if name == "session":
            out.update(
                project=a.cwd,
                branches=a.branches,
                first_activity=a.first_ts,
                last_activity=a.last_ts,
                last_activity_date=local_day(a.last_ts, tz),
                agent=agent_name(a.agent),  # a session is one agent's
            )
        if name == "source":  # a row per agent (or provider): which, and how exact its logs are
            known = agents.of_source(self.key)
            out.update(agent=known.name if known else None,
                       exactness=known.exactness if known else None)
        if self.breakdown:
            out["breakdown"] = [
                {"model": b.key, **_numbers(b.agg), **_granularity(b.agg)}
                for b in self.breakdown
            ]
        # ccusage's --instances and session --id, added to the row: a row only gains fields
        if self.projects:
            out["projects"] = [
                {"project": p.key, **_numbers(p.agg), "models": p.agg.models,
                 **_granularity(p.agg)}
                for p in self.projects
            ]
        if self.agents:  # --by-agent
            out["agents"] = [
                {"agent": agent_name(g.key), "source": g.key, **_numbers(g.agg),
                 "models": g.agg.models,
                 **_granularity(g.agg)}
                for g in self.agents
            ]
        if self.entries:
            out["entries"] = [
                {"timestamp": e.agg.first_ts, "model": e.key, **_numbers(e.agg)}
                for e in self.entries
            ]
        return out


# What a row holding a whole session's total (Goose, Hermes) says of itself: the tokens
# are not that period's calls but a session's, on its last day (never split by day).
SESSION_TOTAL = queries.SESSION_TOTAL_GRANULARITY


def _granularity(a: Aggregate) -> dict:
    """``{"granularity": "session-total"}`` for a row that sums any session-total
    record, else nothing (a row only gains fields)."""
    return {"granularity": SESSION_TOTAL} if a.session_total else {}


@functools.lru_cache(maxsize=64)
def agent_name(source: str | None) -> str | None:
    """The agent a ``source`` value is, as the registry names it (``local``: ``claude-code``);
    None for a provider's imports. (Cached: a session report asks once per session.)"""
    known = agents.of_source(source)
    return known.name if known else None


def local_day(iso: str | None, tz: str) -> str | None:
    """The day (``YYYY-MM-DD``) in zone ``tz`` of a UTC timestamp: a session's last
    activity as the report's other days are counted, in the report's zone."""
    if not iso:
        return None
    if tz == "UTC" and iso.endswith("Z"):
        return iso[:10]  # already the UTC day
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment.astimezone(_zone(tz)).date().isoformat()


@functools.lru_cache(maxsize=8)
def _zone(tz: str):
    """The zone named ``tz`` (a session report asks once per session)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


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


class Report(Record):
    name: str
    filters: Filters
    rows: list[Row]
    totals: Aggregate
    unpriced: list[tuple[str, int, int]]
    warnings: list[str]
    # a team store's report: where it was read, the --user/--machine asked for, and
    # the duplicate rows dropped (a top-level "team" key of the JSON; absent locally)
    team: dict | None = None
    # the rows as the JSON text of the "rows" list's items, in pieces (``bytes``-like, to
    # be written one after another: ``session_rows.rows_json``), when the report was
    # asked for as JSON only and its rows came so (``rows`` is then empty): see ``to_json``
    rows_json: list | None = None

    @property
    def cost_usd(self) -> Decimal:
        return self.totals.cost_micro / _MICRO

    def to_json(self, rows: bool = True) -> dict:
        """The documented JSON; ``rows`` False: with ``"rows": []`` (the caller writes
        ``rows_json`` in their place: ``cli.jsonout.dumps_with_rows``)."""
        f = self.filters
        totals = _numbers(self.totals)
        if not rows:
            row_list = []
        elif self.rows_json is not None:
            import json

            row_list = json.loads(b"".join([b"[", *self.rows_json, b"]"]))
        else:
            row_list = [r.to_json(self.name, f.tz) for r in self.rows]
        return {
            "report": self.name,
            "timezone": f.tz,
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
            "rows": row_list,
            "totals": totals,
            "unpriced": [{"model": m, "tokens": t, "requests": n} for m, t, n in self.unpriced],
            "warnings": list(self.warnings),
            **({"team": dict(self.team)} if self.team is not None else {}),
        }


def _subs_by_key(rows: list[Row], subs: list[Aggregate]) -> list[list[Row]]:
    """For each row, its sub-rows among ``subs`` (each named by its sub key)."""
    by_key: dict[str, list[Row]] = {}
    for s in subs:
        by_key.setdefault(s.key, []).append(Row(s.sub_key or "(unknown)", s))
    return [by_key.get(row.key, []) for row in rows]


def _sort(rows: list[Row], req: ReportRequest) -> None:
    """The rows in the report's order: by cost (largest first) for model, project, branch
    and source, by time (oldest first) for the others; ``req.order`` turns either round."""
    if req.name in _BY_COST:
        if req.order == "asc":
            rows.sort(key=lambda r: (r.agg.cost_micro, r.key))
        else:
            rows.sort(key=lambda r: (-r.agg.cost_micro, r.key))
        return
    if req.name == "session":
        rows.sort(key=lambda r: (r.agg.last_ts or "", r.key))
    if req.order == "desc":
        rows.reverse()


def empty_total() -> Aggregate:
    zero = Decimal(0)
    return Aggregate("total", 0, 0, 0, 0, 0, 0, zero, zero, 0, [], None, None, [], None)


def modifier_warnings(odd: list[tuple[str, int]]) -> list[str]:
    """The warning for requests whose speed or region the card has no multiplier for."""
    if not odd:
        return []
    named = ", ".join(f"{what} ({n:,} request{'s' if n != 1 else ''})" for what, n in odd[:6])
    more = f" and {len(odd) - 6} more" if len(odd) > 6 else ""
    return [f"priced at the standard rate, no multiplier on the card for: {named}{more}"]


def build_report(
    store: Store, card: RateCard, req: ReportRequest, warnings: list[str] | None = None
) -> Report:
    """Run one report against the store, priced by ``card``."""
    if req.name not in REPORTS:
        raise ValueError(f"unknown report {req.name}")
    from ccspend.core import timing

    # printed as JSON only: a session report of every session writes its rows as text
    rows_json = (functools.partial(session_rows.rows_json, store.path, session_row_text)
                 if req.json_only else None)  # fmt: skip
    with store.connect() as con:
        queries.load_card(con, card, at=req.card_at)
        timing.mark("load-card")
        summary = queries.summarise(con, req.name, req.filters, by_model=req.breakdown,
                                    by_project=req.by_project, week_start=req.week_start,
                                    by_agent=req.by_agent, rows_json=rows_json,
                                    descending=req.order == "desc")
        requests = queries.entries(con, req.filters) if req.entries else []
        timing.mark("summarise")
        skipped = queries.skipped_lines(con)
    return report_from_summary(req, summary, requests, skipped, warnings)


def session_row_text(agg: Aggregate, tz: str) -> str:
    """One session's row as ``json.dumps(indent=2)`` writes it among a report's rows."""
    import json

    text = json.dumps({"rows": [Row(agg.key, agg).to_json("session", tz)]}, indent=2)
    return text[len(_ROWS_START):-len(_ROWS_END)]


# what ``json.dumps(indent=2)`` writes around the rows of ``{"rows": [...]}``
_ROWS_START, _ROWS_END = '{\n  "rows": [\n', "\n  ]\n}"


def report_from_summary(req: ReportRequest, summary: queries.Summary, requests: list[Aggregate],
                        skipped: list[tuple[str, int]], warnings: list[str] | None) -> Report:
    """A report's rows, order and warnings from its numbers: one way for the local store
    (``build_report``) and a team store (``reports.team``), so both print alike."""
    unpriced = summary.unpriced
    rows = [Row(a.key, a) for a in summary.groups]
    # Sub-rows only where there are any: a session report of every session has 8,837
    # rows and none, and sorting an empty list per row per kind cost it 20 ms.
    if summary.subs:
        for row, subs in zip(rows, _subs_by_key(rows, summary.subs), strict=True):
            row.breakdown = sorted(subs, key=lambda r: -r.agg.cost_micro)
    if summary.projects:
        for row, subs in zip(rows, _subs_by_key(rows, summary.projects), strict=True):
            row.projects = sorted(subs, key=lambda r: (-r.agg.cost_micro, r.key))
    if summary.agents:
        for row, subs in zip(rows, _subs_by_key(rows, summary.agents), strict=True):
            row.agents = sorted(subs, key=lambda r: (-r.agg.cost_micro, r.key))
    if requests:
        for row, subs in zip(rows, _subs_by_key(rows, requests), strict=True):
            row.entries = subs  # oldest first, as the query gives them
    _sort(rows, req)
    out_warnings = list(warnings or [])
    if skipped:
        total = sum(n for _, n in skipped)
        named = ", ".join(f"{Path(p).name} ({n})" for p, n in skipped[:3])
        more = f" and {len(skipped) - 3} more files" if len(skipped) > 3 else ""
        out_warnings.append(f"skipped {total} bad log lines (unreadable, or an implausible "
                            f"count or date): {named}{more}")
    if unpriced:
        named = ", ".join(f"{m} ({t:,} tokens)" for m, t, _ in unpriced)
        out_warnings.append(
            f"unpriced models, not in the cost: {named}; add them to your rates.toml"
        )
    out_warnings += modifier_warnings(summary.unknown_modifiers)
    return Report(
        name=req.name,
        filters=req.filters,
        rows=rows,
        totals=summary.total or empty_total(),
        unpriced=unpriced,
        warnings=out_warnings,
        rows_json=summary.rows_json,
    )


# -- 5-hour blocks -------------------------------------------------------------


def _iso_us(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BlocksReport(Record):
    """``ccspend blocks``: the JSON contract, one row per 5-hour block."""

    filters: Filters
    rows: list[dict]
    totals: dict
    unpriced: list[tuple[str, int, int]]
    warnings: list[str]
    now_us: int

    def to_json(self) -> dict:
        f = self.filters
        return {
            "report": "blocks",
            "timezone": f.tz,
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
            "rows": self.rows,
            "totals": self.totals,
            "unpriced": [{"model": m, "tokens": t, "requests": n} for m, t, n in self.unpriced],
            "warnings": list(self.warnings),
        }


def _block_numbers(reqs) -> dict:
    inp = sum(r.input_tokens for r in reqs)
    out = sum(r.output_tokens for r in reqs)
    cw = sum(r.cache_write_tokens for r in reqs)
    cr = sum(r.cache_read_tokens for r in reqs)
    cost = sum((r.cost_micro for r in reqs), Decimal(0))
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_write_tokens": cw,
        "cache_read_tokens": cr,
        "total_tokens": inp + out + cw + cr,
        "cost_usd": float(cost / _MICRO),
        "requests": len(reqs),
    }


def build_blocks(
    store: Store,
    card: RateCard,
    filters: Filters,
    now_us: int,
    active_only: bool = False,
    recent_days: int | None = None,
    warnings: list[str] | None = None,
    limit: str | None = None,
    order: str | None = None,
) -> BlocksReport:
    """Usage grouped into 5-hour billing blocks, with burn rates and projections.

    The active block also gets forecasts: against the official 5-hour and
    7-day readings when the status line has recorded any, and against
    ``limit`` (tokens, ``$USD``, a plan name, or ``auto``) when given. Oldest
    block first; ``order`` ``desc``: newest first.

    Blocks are the windows of a Claude subscription, so they count Claude Code's
    own logs only (``source`` local), never API usage from a provider's export.
    """
    now_s = now_us / 1e6
    filters = replace(filters, source="local")
    with store.connect() as con:
        queries.load_card(con, card)
        if active_only and limit != "auto" and filters.since_ts is None:
            start = queries.chain_start(con, now_s)  # the active block needs nothing older
            if start is not None:
                since = datetime.fromtimestamp(start, UTC)
                filters = replace(filters, since_ts=since)
        queries.select(con, filters)
        rows = queries.timeline(con)
        unpriced = queries.unpriced(con)
        odd = queries.unknown_modifiers(con)
        official = {
            w: queries.readings(con, w, now_s - span)
            for w, span in (("five_hour", 5 * 3600), ("seven_day", 7 * 86400))
        }
    return blocks_from_rows(filters, rows, unpriced, odd, official, now_us, active_only,
                            recent_days, warnings, limit, order)


def blocks_from_rows(filters: Filters, rows: list[tuple], unpriced: list, odd: list,
                     official: dict, now_us: int, active_only: bool = False,
                     recent_days: int | None = None, warnings: list[str] | None = None,
                     limit: str | None = None, order: str | None = None) -> BlocksReport:
    """The blocks of ``rows`` (``queries.timeline``'s): one way for the local store
    (``build_blocks``) and a team store (``reports.team``)."""
    from ccspend.forecast.blocks import HOUR_US, Request, burn, group_blocks

    now_s = now_us / 1e6
    blocks = group_blocks([Request(*r) for r in rows])
    if recent_days is not None:
        blocks = [b for b in blocks if b.end_us > now_us - recent_days * 24 * HOUR_US]
    if active_only:
        blocks = [b for b in blocks if b.is_active(now_us)]
    all_blocks = group_blocks([Request(*r) for r in rows]) if limit == "auto" else blocks
    out = []
    for b in blocks:
        rate = burn(b, now_us)
        out.append(
            {
                "key": _iso_us(b.start_us),
                **_block_numbers(b.requests),
                "models": sorted({r.model for r in b.requests}),
                "end": _iso_us(b.end_us),
                "active": b.is_active(now_us),
                "gap_before": None if b.gap_before_us is None else b.gap_before_us // 1_000_000,
                "last_activity": _iso_us(b.last_us),
                "burn_tokens_per_min": rate.tokens_per_min,
                "burn_usd_per_hour": rate.usd_per_hour,
                "projected_tokens": rate.projected_tokens,
                "projected_cost_usd": rate.projected_cost_usd,
            }
        )
        if b.is_active(now_us):
            out[-1]["forecasts"] = _forecasts(b, all_blocks, official, limit, now_s)
    all_reqs = [r for b in blocks for r in b.requests]
    if order == "desc":
        out.reverse()
    return BlocksReport(
        filters=filters,
        rows=out,
        totals=_block_numbers(all_reqs),
        unpriced=unpriced,
        warnings=list(warnings or []) + modifier_warnings(odd),
        now_us=now_us,
    )


def _forecasts(block, all_blocks, official: dict, limit: str | None, now_s: float) -> list[dict]:
    """Forecasts for the active block: official windows first, then the given limit."""
    from ccspend.forecast import limits

    out = []
    for window, label in (("five_hour", "5-hour window"), ("seven_day", "7-day window")):
        live = [r for r in official.get(window, []) if r[2] is None or r[2] > now_s]
        f = limits.from_official(live, now_s)
        if f is not None:
            out.append({"name": label, **f.to_json()})
    if limit:
        kind, value = limits.parse_limit(limit)
        source = "given"
        if kind.startswith("plan:"):
            plan = kind.split(":", 1)[1]
            kind, value = "tokens", float(limits.PLANS[plan]["tokens"])
            source = f"plan {plan}: {limits.PLANS_SOURCE}"
        elif kind == "auto":
            done = [b.tokens for b in all_blocks if b.end_us <= now_s * 1e6]
            value = limits.auto_limit(done, floor=limits.PLANS["pro"]["tokens"])
            kind, source = "tokens", "auto: 90th percentile of your completed blocks"
        if value is not None:
            if kind == "usd":
                points = [(r.ts_us / 1e6, float(r.cost_micro) / 1e6) for r in block.requests]
                used = float(block.cost_micro) / 1e6
            else:
                points = [(r.ts_us / 1e6, float(r.tokens)) for r in block.requests]
                used = float(block.tokens)
            f = limits.from_spend(used, value, kind, points, now_s, block.end_us / 1e6, source)
            out.append({"name": "5-hour block", **f.to_json()})
    return out


# -- budgets -------------------------------------------------------------------


def period_window(period: str, now: datetime) -> tuple[date, date, datetime]:
    """The current day, week (from Monday) or month containing ``now`` (local):
    (first day, last day, the moment it ends)."""
    from datetime import timedelta

    today = now.date()
    if period == "daily":
        first, last = today, today
    elif period == "weekly":
        first = today - timedelta(days=today.weekday())
        last = first + timedelta(days=6)
    else:
        first = today.replace(day=1)
        nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        last = nxt - timedelta(days=1)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
    return first, last, end


def budget_status(
    store: Store | None, card: RateCard, budgets: list, tz: str, now_s: float, team_points=None
) -> list:
    """Each budget's use in its current period, with the burn of the last 30 minutes,
    when at that rate it runs out (or not before the period ends), and its alert level.

    Global budgets count all usage; project and branch budgets the requests logged
    in that folder or on that branch; task budgets the runs of that task in the ledger.
    ``team_points(filters)``: spend read from a team store instead (``reports.team``),
    as (epoch s, USD) points, so a team's budget counts everyone; task budgets stay
    this machine's ledger's.
    """
    import contextlib
    from zoneinfo import ZoneInfo

    from ccspend.forecast import limits
    from ccspend.reports.alerts import level_reached
    from ccspend.store import task_spend

    now = datetime.fromtimestamp(now_s, ZoneInfo(tz))
    out = []
    local = team_points is None or any(b.scope == "task" for b in budgets)
    with store.connect() if local else contextlib.nullcontext() as con:
        if team_points is None:
            queries.load_card(con, card)
        for b in budgets:
            first, last, end = period_window(b.period, now)
            start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
            if b.scope == "task":
                points = task_spend(con, b.name, start.timestamp(), end.timestamp())
            else:
                f = Filters(tz=tz, since=first, until=last,
                            project=b.name if b.scope == "project" else None,
                            branch=b.name if b.scope == "branch" else None)  # fmt: skip
                if team_points is not None:
                    points = team_points(f)
                else:
                    queries.select(con, f)
                    points = [(r[0] / 1e6, float(r[5]) / 1e6) for r in queries.timeline(con)]
            used = sum(p[1] for p in points)
            label = f"your {b.period} budget" + (f" for {b.scope} {b.name}" if b.name else "")
            fc = limits.from_spend(used, b.cap_usd, "usd", points, now_s, end.timestamp(), label)
            pct = used / b.cap_usd * 100
            out.append({"name": b.id, "scope": b.scope, "target": b.name, "period": b.period,
                        "period_start": first.isoformat(), "period_end": last.isoformat(),
                        **fc.to_json(), "alert_at": list(b.alert_at),
                        "alert_level": level_reached(pct, b.alert_at),
                        "exhausted": used >= b.cap_usd})  # fmt: skip
    return out
