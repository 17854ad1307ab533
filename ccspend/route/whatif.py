"""``ccspend whatif``: a period of history priced as if it had run another way.

Three questions, one answer shape (old cost, new cost, the difference, by day,
model and project):

- ``--model M``: every request's tokens at M's prices (M's price period in force
  at each request's time, with M's long-context and cache rules); ``--task ID``
  narrows that to the requests of one task's runs.
- ``--route POLICY`` (a policy file, or ``auto`` for the one in force): each run
  of the ledger is routed again by the policy (by its task type, or its prompt;
  see ``ccspend.route.review``), and the requests of a run whose tier changes are
  priced at the new tier's model. Requests outside runs, and runs whose task
  cannot be told, are unchanged, and the output says how many.
- ``--card DATE``: every request priced by the rate card as it stood on DATE.

The repricing is SQL (``queries.select_as``: the reports' own pricing query with
the model swapped), so the old cost here is exactly what the reports say for the
same requests. The "model" rows are the models the requests really used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from ccspend.core.errors import UsageError
from ccspend.pricing.card import RateCard
from ccspend.store import Store, queries
from ccspend.store.queries import Aggregate, Filters

_MICRO = Decimal(1_000_000)
GROUPS = ("daily", "model", "project")


@dataclass(frozen=True)
class Scenario:
    """What to price the history as. Exactly one of model, route, card_at."""

    model: str | None = None
    route: str | None = None  # a policy file, or "auto"
    card_at: date | None = None
    task: str | None = None  # with model: only this task's runs

    def check(self) -> None:
        given = [x for x in (self.model, self.route, self.card_at) if x is not None]
        if len(given) != 1:
            raise UsageError("say what to price the history as: one of --model, --route, --card")
        if self.task is not None and self.model is None:
            raise UsageError("--task goes with --model (--route routes every run by its task)")


@dataclass
class Line:
    key: str
    requests: int
    tokens: int
    old_micro: Decimal
    new_micro: Decimal

    @property
    def difference_micro(self) -> Decimal:
        return self.new_micro - self.old_micro

    def to_json(self) -> dict:
        return {"key": self.key, "requests": self.requests, "total_tokens": self.tokens,
                "old_cost_usd": float(self.old_micro / _MICRO),
                "new_cost_usd": float(self.new_micro / _MICRO),
                "difference_usd": float(self.difference_micro / _MICRO)}  # fmt: skip


@dataclass
class WhatIf:
    scenario: Scenario
    label: str  # one line: what the new cost assumes
    filters: Filters
    sections: dict[str, list[Line]]  # by GROUPS name
    totals: Line
    unpriced: list[tuple[str, int, int]]
    moved: list[tuple[str, str, int]]  # (from model, to model, requests)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def saving_usd(self) -> Decimal:
        """Old cost less new cost: positive is money saved."""
        return -self.totals.difference_micro / _MICRO

    def to_json(self) -> dict:
        f = self.filters
        s = self.scenario
        return {
            "report": "whatif",
            "timezone": f.tz,
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
            "scenario": {"model": s.model, "route": s.route, "task": s.task,
                         "card": s.card_at.isoformat() if s.card_at else None,
                         "label": self.label},  # fmt: skip
            "rows": [x.to_json() for x in self.sections["daily"]],
            "by_day": [x.to_json() for x in self.sections["daily"]],
            "by_model": [x.to_json() for x in self.sections["model"]],
            "by_project": [x.to_json() for x in self.sections["project"]],
            "totals": {**self.totals.to_json(), "saving_usd": float(self.saving_usd)},
            "moved": [{"from": a, "to": b, "requests": n} for a, b, n in self.moved],
            "notes": list(self.notes),
            "unpriced": [{"model": m, "tokens": t, "requests": n} for m, t, n in self.unpriced],
            "warnings": list(self.warnings),
        }


# -- the target model ------------------------------------------------------------------


def resolve_model(card: RateCard, model: str) -> str:
    """The card's name for a model id or a Claude Code alias (``sonnet``: the newest
    model of the family, as ``ccspend route`` prices it). UsageError when unknown."""
    from ccspend.pricing.index import card_model

    name = card_model(card, model)
    if name is None:
        raise UsageError(f"{model!r} is not on the rate card",
                         hint="ccspend rates lists it; add your own to rates.toml")  # fmt: skip
    return name


def _alias_spans(card: RateCard, model: str) -> list:
    """For a Claude Code alias, what it named over time (``[(first day, name), ...]``);
    [] for a model id (one model for all time)."""
    from ccspend.pricing.index import alias_timeline

    if card.resolve(model) is not None:
        return []
    return alias_timeline(card, model)


# -- routing the ledger again -----------------------------------------------------------


def reroute(rows: list[dict], policy, card: RateCard) -> tuple[dict[str, str], list[str]]:
    """Session -> card model for every run whose tier the policy changes; and notes."""
    from collections import Counter

    from ccspend.route.review import DEFAULT_TYPE, UNTYPED, task_type_of, tier_of

    mapping: dict[str, str] = {}
    moves: Counter = Counter()
    kept = unknown = no_session = 0
    for row in rows:
        old = tier_of(row, policy)
        new = _tier_for(task_type_of(row, policy), policy, DEFAULT_TYPE, UNTYPED)
        if new is None:
            unknown += 1
            continue
        if new == old:
            kept += 1
            continue
        sessions = list(row.get("sessions") or []) or (
            [row["session_id"]] if row.get("session_id") else [])  # fmt: skip
        if not sessions:
            no_session += 1
            continue
        model = policy.tier(new).model
        try:
            target = resolve_model(card, model)
        except UsageError:
            raise UsageError(f"tier {new}'s model {model!r} is not on the rate card",
                             hint="add it to rates.toml (a local model: hourly_usd and "
                                  "tokens_per_second)") from None  # fmt: skip
        for s in sessions:
            mapping.setdefault(s, target)
        moves[(old or "?", new)] += 1
    notes = [f"{n} runs {a} -> {b}" for (a, b), n in sorted(moves.items())]
    notes.append(f"{kept} runs stay on their tier")
    if unknown:
        notes.append(f"{unknown} runs unchanged: no task type or prompt recorded to route by")
    if no_session:
        notes.append(f"{no_session} runs unchanged: no session recorded (refused or interrupted)")
    notes.append("requests outside ccspend runs are unchanged; routing replays stakes medium, "
                 "without budget or rate-limit state")  # fmt: skip
    return mapping, notes


def _tier_for(task_type: str, policy, default_type: str, untyped: str) -> str | None:
    from ccspend.route import choose

    if task_type == untyped:
        return None
    if task_type == default_type:
        return choose("", policy).tier
    if task_type in policy.task_types:
        return choose("", policy, task_type=task_type).tier
    rule = next((r for r in policy.rules if r.enabled and r.name == task_type), None)
    return rule.tier if rule is not None and policy.tier(rule.tier).usable else None


def _task_sessions(rows: list[dict], task: str) -> list[str]:
    out: list[str] = []
    for r in rows:
        if r.get("task_id") == task:
            out += list(r.get("sessions") or []) or ([r["session_id"]] if r.get("session_id")
                                                     else [])  # fmt: skip
    return out


# -- the what-if --------------------------------------------------------------------------


def whatif(store: Store, card: RateCard, scenario: Scenario, filters: Filters,
           policy_path: Path | None = None) -> WhatIf:  # fmt: skip
    """Old and new cost of the history ``filters`` selects, under ``scenario``."""
    scenario.check()
    notes: list[str] = []
    mapping: dict[str, str] = {}
    per_session = True
    if scenario.model is not None:
        target = resolve_model(card, scenario.model)
        spans = _alias_spans(card, scenario.model)
        if spans:  # an alias (haiku): the model it named on each request's day
            target = spans
            notes.append(f"{scenario.model} is, on each request's day, the newest model of its "
                         "family then (the moves above say which)")
        shown = spans[-1][1] if spans else target
        if scenario.task is None:
            mapping, per_session = {"*": target}, False
            label = f"every request on {scenario.model if spans else shown}"
        else:
            sessions = _task_sessions(_ledger(store), scenario.task)
            if not sessions:
                raise UsageError(f"no run of task {scenario.task!r} with a session in the ledger")
            mapping = dict.fromkeys(sessions, target)
            label = f"task {scenario.task}'s runs on {scenario.model if spans else shown}"
            notes.append("requests outside that task's runs are unchanged")
    elif scenario.route is not None:
        from ccspend.route import load_policy

        if scenario.route == "auto":
            policy = load_policy(policy_path)
            label = f"each run routed by the policy in force ({policy.source})"
        else:
            path = Path(scenario.route).expanduser()
            if not path.is_file():
                raise UsageError(f"--route {scenario.route}: no such policy file",
                                 hint="a route.toml, or auto")  # fmt: skip
            policy = load_policy(path)
            label = f"each run routed by {path}"
        mapping, notes = reroute(_ledger(store), policy, card)
    else:
        label = f"every request priced by the rate card of {scenario.card_at.isoformat()}"

    with store.connect() as con:
        queries.load_card(con, card)
        queries.load_whatif_map(con, {})
        queries.select_as(con, filters, per_session=True)
        old = {g: queries.aggregate(con, g, filters) for g in GROUPS}
        old_total = queries.aggregate(con, None, filters)
        unpriced = queries.unpriced(con)
        if scenario.card_at is not None:
            queries.load_card(con, card, at=scenario.card_at)
        else:
            queries.load_whatif_map(con, mapping)
        queries.select_as(con, filters, per_session=per_session)
        new = {g: queries.aggregate(con, g, filters) for g in GROUPS}
        new_total = queries.aggregate(con, None, filters)
        moved = queries.repriced(con)
    sections = {g: _lines(old[g], new[g]) for g in GROUPS}
    sections["model"].sort(key=lambda x: (-x.old_micro, x.key))
    sections["project"].sort(key=lambda x: (-x.old_micro, x.key))
    totals = _lines(old_total, new_total)
    warnings = []
    if unpriced:
        named = ", ".join(f"{m} ({t:,} tokens)" for m, t, _ in unpriced)
        warnings.append(f"unpriced models, in neither cost: {named}; add them to your rates.toml")
    return WhatIf(scenario, label, filters, sections,
                  totals[0] if totals else Line("total", 0, 0, Decimal(0), Decimal(0)),
                  unpriced, moved, notes, warnings)  # fmt: skip


def _ledger(store: Store) -> list[dict]:
    from ccspend.store import list_runs

    with store.connect() as con:
        return list_runs(con, None)


def _tokens(a: Aggregate) -> int:
    return (a.input_tokens + a.output_tokens + a.cache_write_5m_tokens + a.cache_write_1h_tokens
            + a.cache_read_tokens)  # fmt: skip


def _lines(old: list[Aggregate], new: list[Aggregate]) -> list[Line]:
    after = {a.key: a.cost_micro for a in new}
    return [Line(a.key, a.requests, _tokens(a), a.cost_micro, after.get(a.key, Decimal(0)))
            for a in old]  # fmt: skip
