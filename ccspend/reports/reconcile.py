"""Local logs against a provider's export: per UTC day and model, what differs and why.

The local side is every counted request of the agent that provider bills
(Claude Code's logs for Anthropic, Codex CLI's for OpenAI; see ``LOCAL_AGENTS``),
deduplicated and priced exactly as the reports count them (``queries.PRICED``).
The export side is ``imported_usage`` of one provider: only the rows of the API
keys or workspaces marked ``same_as_local`` when any are, else every row of the
provider (with nothing marked, the user is comparing the whole export, usually
an account that only Claude Code uses).

Days are UTC, since exports bucket by UTC day; a bucket longer than a day counts
on the day it starts. Model ids are reduced to the card's names (or, for models
the card does not know, to ``normalise_model``) so ``claude-sonnet-4-5-20250929``
in a log and ``claude-sonnet-4-5`` in an export meet. When several export
formats hold usage for the same day (an Admin API report and a Console CSV of
the same days), only the most detailed one is used for that day, so an export
imported twice in two shapes is not counted twice; cost rows likewise.

The export's cost is what it billed where it has cost rows for that day and
model; otherwise its tokens priced on the card (base rates: exports do not say
which requests were past a long-context threshold).

Both sides are summed by the store (``store.reconcile``, plain rows); every rule
above is applied here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from ccspend.pricing.card import RateCard
from ccspend.pricing.names import normalise_model
from ccspend.store import queries
from ccspend.store import reconcile as store_reconcile

KINDS = ("input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
         "cache_read_tokens", "output_tokens")  # fmt: skip
# Usage and cost formats in order of preference for a day several of them cover
# (the reports' rule too).
USAGE_PREFERENCE = queries.USAGE_PREFERENCE
COST_PREFERENCE = queries.COST_PREFERENCE
TOKENS_AGREE_PCT = Decimal(1)
# Which local agent's logs a provider's bill covers: Claude Code runs on Anthropic's
# API, Codex CLI on OpenAI's; any other provider is compared with both.
LOCAL_AGENTS = {"anthropic": ["local"], "openai": ["codex"]}
_MICRO = Decimal(1_000_000)

NOT_ON_CARD = "model not on the rate card"
NO_LOCAL = "no local log for this usage"
NO_EXPORT = "no export row for local usage"
PRICE_DIFFERS = "price differs: tokens agree within 1% but cost differs"
TOKENS_DIFFER = "tokens differ"

Connection = Any  # a store connection (only ccspend.store imports duckdb)


@dataclass
class Side:
    """Usage of one (day, model) on one side."""

    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    cost_usd: Decimal = Decimal(0)
    requests: int = 0
    unpriced: bool = False  # local: some requests' model is not on the card
    web_searches: int = 0  # export: priced on the card with its tokens
    cost_basis: str | None = None  # export: 'billed' or 'card'
    present: bool = False

    # export: per workspace / API key where the export names them: [tokens, billed USD]
    by_who: dict[str, list] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.tokens.values())

    def add_who(self, who: str, tokens: int, cost: Decimal | None) -> None:
        if not who:
            return
        got = self.by_who.setdefault(who, [0, None])
        got[0] += tokens
        if cost is not None:
            got[1] = (got[1] or Decimal(0)) + cost

    def contract(self) -> dict:
        """The token and cost fields every report row and total carries."""
        t = self.tokens
        return {"input_tokens": t["input_tokens"], "output_tokens": t["output_tokens"],
                "cache_write_tokens": t["cache_write_5m_tokens"] + t["cache_write_1h_tokens"],
                "cache_read_tokens": t["cache_read_tokens"], "total_tokens": self.total,
                "cost_usd": float(self.cost_usd)}  # fmt: skip

    def to_json(self) -> dict:
        out = {**self.tokens, "tokens": self.total, "cost_usd": float(self.cost_usd)}
        if self.cost_basis is not None:
            out["cost_basis"] = self.cost_basis
        if self.by_who:
            out["by_key"] = [{"key": who, "tokens": n,
                              "billed_usd": None if c is None else float(c)}
                             for who, (n, c) in sorted(self.by_who.items())]  # fmt: skip
        return out


@dataclass
class Row:
    day: date
    model: str
    local: Side
    export: Side
    diff_usd: Decimal
    diff_pct: float | None
    tokens_diff_pct: float | None
    flag: bool
    explanation: str | None

    def to_json(self) -> dict:
        # the report contract's fields first (ccspend's own figures: the local side)
        return {"key": f"{self.day.isoformat()}/{self.model}", **self.local.contract(),
                "models": [self.model], "day": self.day.isoformat(), "model": self.model,
                "local": self.local.to_json(), "export": self.export.to_json(),
                "diff_usd": float(self.diff_usd), "diff_pct": self.diff_pct,
                "tokens_diff_pct": self.tokens_diff_pct, "flag": self.flag,
                "explanation": self.explanation}  # fmt: skip


@dataclass(frozen=True)
class Request:
    since: date | None = None
    until: date | None = None
    provider: str = "anthropic"
    threshold: float = 5.0  # percent


def _model(card: RateCard, raw: str | None) -> str:
    if not raw:
        return "(unknown)"
    return card.resolve(raw) or normalise_model(raw)


def _in_range(day: date, req: Request) -> bool:
    return (req.since is None or day >= req.since) and (req.until is None or day <= req.until)


def _local(con: Connection, card: RateCard, req: Request) -> dict:
    rows = store_reconcile.local_usage(con, card, LOCAL_AGENTS.get(req.provider, []))
    out: dict[tuple[date, str], Side] = defaultdict(Side)
    for day, model, *nums, cost, n, unpriced in rows:
        if not _in_range(day, req):
            continue
        side = out[(day, _model(card, model))]
        for k, v in zip(KINDS, nums, strict=True):
            side.tokens[k] += v
        side.cost_usd += cost / _MICRO
        side.requests += n
        side.unpriced = side.unpriced or bool(unpriced)
        side.present = True
    return out


def _pick(by_source: dict[str, object], preference: tuple[str, ...]) -> str:
    ranked = sorted(by_source, key=lambda s: (preference.index(s) if s in preference
                                              else len(preference), s))  # fmt: skip
    return ranked[0]


def _export(con: Connection, card: RateCard, req: Request) -> dict:
    rows = store_reconcile.export_usage(con, req.provider)
    # day -> kind -> source -> model -> workspace/key -> (tokens, cost)
    tree: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(
        lambda: defaultdict(dict))))
    for day, source, kind, model, who, *rest in rows:
        if not _in_range(day, req):
            continue
        name = _model(card, model)
        nums, cost = rest[:6], rest[6]  # the five token kinds and web searches
        got = tree[day][kind][source][name].get(who)
        if got:
            nums = [a + b for a, b in zip(got[0], nums, strict=True)]
            cost = None if got[1] is None and cost is None else (got[1] or 0) + (cost or 0)
        tree[day][kind][source][name][who] = (nums, cost)
    out: dict[tuple[date, str], Side] = defaultdict(Side)
    for day, kinds in tree.items():
        usage = kinds.get("usage") or {}
        costs = kinds.get("cost")
        billed = costs[_pick(costs, COST_PREFERENCE)] if costs else {}
        picked = _pick(usage, USAGE_PREFERENCE) if usage else None
        # the preferred detailed format, and per-request rows (OpenRouter, CSV) beside it
        counted = [src for src in usage if src == picked or src not in USAGE_PREFERENCE]
        own_cost: dict[str, Decimal] = {}  # usage rows that carry what they were billed
        for src in counted:
            for name, by_who in usage[src].items():
                side = out[(day, name)]
                side.present = True
                for who, (nums, cost) in by_who.items():
                    for k, v in zip(KINDS, nums[:5], strict=True):
                        side.tokens[k] += v
                    side.web_searches += nums[5]
                    side.add_who(who, sum(nums[:5]), cost)
                    if cost is not None:
                        own_cost[name] = own_cost.get(name, Decimal(0)) + cost
        for name, by_who in billed.items():
            side = out[(day, name)]
            side.present = True
            for who, (_, cost) in by_who.items():
                side.cost_usd += cost or 0
                side.add_who(who, 0, cost)
            side.cost_basis = "billed"
        for name, cost in own_cost.items():  # beside cost rows (OpenRouter's BYOK fees)
            side = out[(day, name)]
            side.cost_usd += cost
            side.cost_basis = "billed"
        for (d, name), side in out.items():
            if d == day and side.cost_basis is None:
                side.cost_usd = _card_cost(card, name, day, side.tokens, side.web_searches)
                side.cost_basis = "card" if side.cost_usd is not None else None
                side.cost_usd = side.cost_usd or Decimal(0)
    return out


def _card_cost(card: RateCard, name: str, day: date, tokens: dict[str, int],
               web_searches: int = 0) -> Decimal | None:
    """Base rates (as the reports price an export), web searches included."""
    model = card.models.get(name)
    if model is None:
        return None
    price = model.price_at(day)
    t = price.base
    micro = (tokens["input_tokens"] * t.input + tokens["output_tokens"] * t.output
             + tokens["cache_write_5m_tokens"] * t.cache_write_5m
             + tokens["cache_write_1h_tokens"] * t.cache_write_1h
             + tokens["cache_read_tokens"] * t.cache_read
             + web_searches * price.web_search_per_1k * 1000)  # fmt: skip
    return micro / _MICRO


def _pct(diff: Decimal | int, base: Decimal | int) -> float | None:
    if base == 0:
        return None if diff == 0 else float("inf") if diff > 0 else float("-inf")
    return float(Decimal(diff) / Decimal(base) * 100)


def unpriced(rows: list[Row]) -> list[dict]:
    """Local models the card does not know, with their tokens (the report contract's list)."""
    tokens: dict[str, int] = defaultdict(int)
    for r in rows:
        if r.local.unpriced:
            tokens[r.model] += r.local.total
    return [{"model": m, "tokens": n} for m, n in sorted(tokens.items())]


PROVIDERS = ("anthropic", "openai", "openrouter")  # the exports ccspend reads


def check_provider(con: Connection, provider: str) -> None:
    """A UsageError unless ``provider`` is one ccspend imports, or one imported here
    (a generic CSV may name any)."""
    from ccspend.core.errors import UsageError
    from ccspend.store import imported

    known = imported.providers(con)
    if provider not in PROVIDERS and provider not in known:
        raise UsageError(f"--provider {provider!r}: use {', '.join(PROVIDERS)}"
                         + (f" or an imported one: {', '.join(known)}" if known else ""))


def coverage(con: Connection, provider: str) -> tuple[date, date] | None:
    """The first and last UTC day the provider's imported exports cover (None: none)."""
    return store_reconcile.export_days(con, provider)


def reconcile(con: Connection, card: RateCard, req: Request) -> list[Row]:
    """One row per (UTC day, model) present on either side, oldest first: of the days
    the provider's exports cover only (a local day outside them has nothing to be
    compared with; none imported, nothing is compared)."""
    covered = coverage(con, req.provider)
    if covered is None:
        return []
    req = replace(req, since=max(req.since or covered[0], covered[0]),
                  until=min(req.until or covered[1], covered[1]))  # fmt: skip
    local = _local(con, card, req)
    export = _export(con, card, req)
    rows = []
    threshold = Decimal(str(req.threshold))
    for key in sorted(local.keys() | export.keys()):
        lo, ex = local.get(key, Side()), export.get(key, Side())
        diff = ex.cost_usd - lo.cost_usd
        pct = _pct(diff, lo.cost_usd)
        tpct = _pct(ex.total - lo.total, lo.total)
        past = (pct is not None and abs(pct) > threshold) or (
            tpct is not None and abs(tpct) > threshold)
        explanation = None
        if lo.unpriced:
            explanation = NOT_ON_CARD
        elif past and not lo.present:
            explanation = NO_LOCAL
        elif past and not ex.present:
            explanation = NO_EXPORT
        elif past and tpct is not None and abs(tpct) <= TOKENS_AGREE_PCT:
            explanation = PRICE_DIFFERS
        elif past:
            explanation = TOKENS_DIFFER
        rows.append(Row(day=key[0], model=key[1], local=lo, export=ex, diff_usd=diff,
                        diff_pct=None if pct is None or abs(pct) == float("inf") else pct,
                        tokens_diff_pct=None if tpct is None or abs(tpct) == float("inf")
                        else tpct,
                        flag=explanation is not None, explanation=explanation))  # fmt: skip
    return rows


def totals(rows: list[Row]) -> dict:
    local = sum((r.local.cost_usd for r in rows), Decimal(0))
    export = sum((r.export.cost_usd for r in rows), Decimal(0))
    summed = Side(cost_usd=local)
    for r in rows:
        for k in KINDS:
            summed.tokens[k] += r.local.tokens[k]
    return {**summed.contract(), "local_cost_usd": float(local), "export_cost_usd": float(export),
            "diff_usd": float(export - local),
            "diff_pct": None if local == 0 else float((export - local) / local * 100),
            "local_tokens": sum(r.local.total for r in rows),
            "export_tokens": sum(r.export.total for r in rows),
            "flagged": sum(r.flag for r in rows)}  # fmt: skip


# -- a log's stated cost against the card (``reconcile --agents``) ----------------------


@dataclass
class StatedRow:
    """One agent's and model's calls billed as their log states ('as billed'): that cost,
    and the card's price of the same tokens (None: the card does not know the model)."""

    agent: str
    model: str
    requests: int
    tokens: int
    stated_usd: Decimal
    card_usd: Decimal | None
    unpriced_requests: int

    @property
    def diff_usd(self) -> Decimal | None:
        """The card's price less the stated cost (None when the card cannot price it all)."""
        return None if self.card_usd is None else self.card_usd - self.stated_usd

    def to_json(self) -> dict:
        diff = self.diff_usd
        return {"agent": self.agent, "model": self.model, "requests": self.requests,
                "total_tokens": self.tokens, "stated_usd": float(self.stated_usd),
                "card_usd": None if self.card_usd is None else float(self.card_usd),
                "diff_usd": None if diff is None else float(diff),
                "diff_pct": None if diff is None else _pct(diff, self.stated_usd),
                "unpriced_requests": self.unpriced_requests}  # fmt: skip


def stated_vs_card(con: Connection, card: RateCard, since: date | None = None,
                   until: date | None = None) -> list[StatedRow]:
    """Per agent and model, what the logs stated against what the card asks for the same
    tokens: the reports bill the stated cost; this shows how far the card is from it. A
    model the card lacks (some of its calls unpriced) has no card total, never $0."""
    from ccspend.sources import agents

    out = []
    for source, model, n, tokens, stated, card_micro, unpriced_n in \
            store_reconcile.stated_and_card(con, card, since, until):  # fmt: skip
        known = agents.of_source(source)
        out.append(StatedRow(
            agent=known.name if known else source, model=model, requests=n, tokens=tokens,
            stated_usd=Decimal(stated).quantize(Decimal("0.000001")),
            card_usd=None if unpriced_n or card_micro is None else card_micro / _MICRO,
            unpriced_requests=unpriced_n))  # fmt: skip
    return out


def stated_totals(rows: list[StatedRow]) -> dict:
    """The stated total, the card's total of the rows it can price, and their difference
    over those rows only (a row the card cannot price is left out of both)."""
    priced = [r for r in rows if r.card_usd is not None]
    stated = sum((r.stated_usd for r in priced), Decimal(0))
    at_card = sum((r.card_usd for r in priced), Decimal(0))
    return {"stated_usd": float(sum((r.stated_usd for r in rows), Decimal(0))),
            "priced_stated_usd": float(stated), "card_usd": float(at_card),
            "diff_usd": float(at_card - stated), "diff_pct": _pct(at_card - stated, stated),
            "requests": sum(r.requests for r in rows),
            "unpriced_requests": sum(r.unpriced_requests for r in rows)}  # fmt: skip
