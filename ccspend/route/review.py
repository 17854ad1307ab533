"""Learning from history: which tier each kind of task should have run on.

``ccspend route review`` reads the ``runs`` ledger of ``ccspend run``: per task
type and per task id, and per tier, how many runs there were, how many
succeeded (``ok`` over the runs that finished: ok, failed, capped; refused,
interrupted and running runs did not get to show whether the tier could do the
work) and what one successful run cost. From that it recommends:

- a **promotion**, when a tier keeps failing on a kind of task (``failed`` or
  ``capped`` in at least ``promote_failure_rate`` of its finished runs), or its
  failures are followed up by a run of the same task id on a dearer tier within
  ``follow_up_hours`` (in at least ``promote_followup_rate`` of them);
- a **demotion**, when a dearer tier does work that a cheaper tier also does:
  the cheaper tier succeeded in at least ``demote_success_rate`` of its runs of
  the same kind, and a successful run there costs less.

The saving is a month's worth (the window's runs scaled to 30 days): for a
demotion, the dearer tier's runs times the difference in cost per successful
run; for a promotion, what the cheap tier's runs and their follow-ups cost,
less the same number of runs at the dearer tier's cost per successful run (a
promotion can cost more; it then says so, and what it buys in success rate).

Where a run's task type comes from, in order: the rule named in the ledger's
``route_reason`` (what ``--route auto`` decided at the time; the rule's first
type), an explicit ``--type`` there, else the prompt in the recorded command
(``claude -p "…"``) routed again by the policy in force ("(default)" when no rule
matches it), else "(untyped)". A run's tier is the ledger's ``route_tier``, else
the dearest tier whose model family the run used.

Everything but ``load_runs`` is pure: the review is a function of ledger rows,
the policy, the window's length and the thresholds, and the unit tests call it
on hand-made ledgers.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

from ccspend.route.policy import Policy

UNTYPED = "(untyped)"
DEFAULT_TYPE = "(default)"  # routed by the policy's default tier: no rule matched
FINISHED = ("ok", "failed", "capped")
FAILED = ("failed", "capped")
DAYS_PER_MONTH = 30

_RULE_REASON = re.compile(r"matched rule '([^']+)'")
_TYPE_REASON = re.compile(r"explicit type '([^']+)'")


@dataclass(frozen=True)
class Thresholds:
    """When the review speaks up. Stated in its output, text and JSON."""

    min_runs: int = 3  # finished runs on a tier before it is judged
    promote_failure_rate: float = 0.34  # a third of the finished runs failed or were capped
    promote_followup_rate: float = 0.2  # a fifth were followed up on a dearer tier
    demote_success_rate: float = 0.9  # the cheaper tier succeeds this often
    follow_up_hours: float = 24.0  # a follow-up starts this soon after the failure

    def describe(self) -> str:
        return (
            f"a tier is judged after {self.min_runs} finished runs; promote when "
            f"{self.promote_failure_rate:.0%} or more failed or were capped, or "
            f"{self.promote_followup_rate:.0%} or more were followed up on a dearer tier "
            f"within {self.follow_up_hours:g} h; demote when a cheaper tier succeeds "
            f"{self.demote_success_rate:.0%} or more of the time for less per successful run"
        )


@dataclass(frozen=True)
class Run:
    """One ledger row as the review sees it."""

    run_id: str
    task_id: str | None
    started_s: float
    status: str
    cost_usd: float
    tier: str | None
    task_type: str
    sessions: tuple[str, ...] = ()


@dataclass
class TierStats:
    scope: str  # "type" | "task"
    unit: str  # the task type or task id
    tier: str
    runs: int = 0
    finished: int = 0
    ok: int = 0
    failed: int = 0
    followed_up: int = 0  # failures followed by a run of the same task on a dearer tier
    cost_usd: float = 0.0

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.finished if self.finished else None

    @property
    def cost_per_success_usd(self) -> float | None:
        return self.cost_usd / self.ok if self.ok else None

    def to_dict(self) -> dict:
        return {**asdict(self), "success_rate": self.success_rate,
                "cost_per_success_usd": self.cost_per_success_usd}  # fmt: skip


@dataclass(frozen=True)
class Recommendation:
    kind: str  # "promote" | "demote"
    scope: str  # "type" | "task"
    unit: str
    from_tier: str
    to_tier: str
    monthly_saving_usd: float | None  # negative: costs more; None: cannot be measured
    why: str
    rule: str | None = None  # the policy rule that holds the type (type scope)

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        what = f"task type {self.unit!r}" if self.scope == "type" else f"task {self.unit!r}"
        if self.rule:
            what += f" (rule {self.rule!r})"
        head = f"{self.kind} {what}: {self.from_tier} -> {self.to_tier}: {self.why}"
        s = self.monthly_saving_usd
        if s is None:
            return head + "; saving not measurable (no successful run there yet)"
        if s >= 0:
            return head + f"; saves ${s:,.2f} a month"
        return head + f"; costs ${-s:,.2f} a month more"


@dataclass
class Review:
    runs: int
    days: float
    thresholds: Thresholds
    stats: list[TierStats]
    recommendations: list[Recommendation]
    warnings: list[str] = field(default_factory=list)
    # judged tiers past a promotion threshold that no recommendation moves
    struggling: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what was not judged, and why

    @property
    def monthly_saving_usd(self) -> float:
        """Of the task-type recommendations (task-id ones overlap them)."""
        return sum(r.monthly_saving_usd or 0.0 for r in self.recommendations
                   if r.scope == "type")  # fmt: skip


# -- what a ledger row says --------------------------------------------------------


def prompt_of(command: str | None) -> str | None:
    """The prompt of a recorded ``claude -p "…"`` command, if it shows one."""
    if not command:
        return None
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    if not argv or Path(argv[0]).name != "claude":
        return None
    for i, a in enumerate(argv[:-1]):
        if a in ("-p", "--print") and not argv[i + 1].startswith("-"):
            return argv[i + 1]
    return None


def task_type_of(row: dict, policy: Policy) -> str:
    """A run's task type: its recorded routing decision, else its prompt routed again."""
    reason = row.get("route_reason") or ""
    m = _TYPE_REASON.search(reason)
    if m:
        return m.group(1)
    m = _RULE_REASON.search(reason)
    if m:
        rule = next((r for r in policy.rules if r.name == m.group(1)), None)
        if rule is not None:
            return rule.types[0] if rule.types else rule.name
        return m.group(1)
    if reason.startswith("no rule matched"):
        return DEFAULT_TYPE
    prompt = prompt_of(row.get("command"))
    if prompt:
        from ccspend.route.choose import score_rules

        matched = [m for m in score_rules(prompt, policy) if m.matched]
        if not matched:
            return DEFAULT_TYPE
        best = matched[0]
        return best.types[0] if best.types else best.rule
    return UNTYPED


def tier_of(row: dict, policy: Policy) -> str | None:
    """The ledger's tier, else the dearest tier whose model family the run used."""
    tier = row.get("route_tier")
    if tier in policy.tier_names:
        return tier
    found = None
    for model in row.get("models") or []:
        words = model.lower().replace(".", "-").split("-")
        for t in policy.tiers:
            alias = t.model.lower()
            used = t.model and (alias == model.lower() or alias in words)
            if used and (found is None or policy.rank(t.name) > policy.rank(found)):
                found = t.name
    return found


def _epoch(text: str | None) -> float:
    if not text:
        return 0.0
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def runs_from_ledger(rows: list[dict], policy: Policy) -> list[Run]:
    """Ledger rows (``store.list_runs``) as review runs."""
    out = []
    for r in rows:
        sessions = tuple(r.get("sessions") or ()) or (
            (r["session_id"],) if r.get("session_id") else ()
        )
        out.append(Run(run_id=r["run_id"], task_id=r.get("task_id"),
                       started_s=_epoch(r.get("started_at")), status=r["status"],
                       cost_usd=float(r.get("cost_usd") or 0.0), tier=tier_of(r, policy),
                       task_type=task_type_of(r, policy), sessions=sessions))  # fmt: skip
    return out


# -- the review itself (pure) --------------------------------------------------------


def follow_ups(runs: list[Run], policy: Policy, th: Thresholds) -> dict[str, Run]:
    """Failed runs followed by a run of the same task id on a dearer tier: id -> follow-up.

    The follow-up is the task's next run, started within ``follow_up_hours``.
    """
    by_task: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        if r.task_id and r.tier:
            by_task[r.task_id].append(r)
    out: dict[str, Run] = {}
    for task_runs in by_task.values():
        task_runs.sort(key=lambda r: r.started_s)
        for a, b in zip(task_runs, task_runs[1:], strict=False):
            if (a.status in FAILED and policy.rank(b.tier) > policy.rank(a.tier)
                    and b.started_s - a.started_s <= th.follow_up_hours * 3600):  # fmt: skip
                out[a.run_id] = b
    return out


def tier_stats(runs: list[Run], ups: dict[str, Run]) -> list[TierStats]:
    """Per (scope, unit, tier): runs, outcomes, follow-ups and cost."""
    table: dict[tuple[str, str, str], TierStats] = {}
    for r in runs:
        if r.tier is None:
            continue
        units = [("type", r.task_type)] + ([("task", r.task_id)] if r.task_id else [])
        for scope, unit in units:
            s = table.setdefault((scope, unit, r.tier), TierStats(scope, unit, r.tier))
            s.runs += 1
            s.cost_usd += r.cost_usd
            if r.status in FINISHED:
                s.finished += 1
                s.ok += r.status == "ok"
                s.failed += r.status in FAILED
            s.followed_up += r.run_id in ups
    return list(table.values())


def review(runs: list[Run], policy: Policy, days: float,
           th: Thresholds | None = None) -> Review:  # fmt: skip
    """The review of ``runs`` (a window of ``days`` days) under ``policy``."""
    th = th or Thresholds()
    month = DAYS_PER_MONTH / days if days > 0 else 1.0
    ups = follow_ups(runs, policy, th)
    stats = tier_stats(runs, ups)
    warnings = []
    untiered = sum(1 for r in runs if r.tier is None)
    if untiered:
        warnings.append(f"{untiered} runs left out: no tier recorded and no model of a tier used")
    by_unit: dict[tuple[str, str], dict[str, TierStats]] = defaultdict(dict)
    for s in stats:
        by_unit[(s.scope, s.unit)][s.tier] = s
    recs: list[Recommendation] = []
    for (scope, unit), tiers in by_unit.items():
        if scope == "type" and unit == UNTYPED:
            continue  # nothing in the policy to change
        unit_runs = [r for r in runs if (r.task_type if scope == "type" else r.task_id) == unit]
        rec = _promotion(scope, unit, tiers, unit_runs, ups, policy, th, month)
        rec = rec or _demotion(scope, unit, tiers, policy, th, month)
        if rec is not None:
            if scope == "type":
                rule = _rule_for(policy, unit)
                rec = replace(rec, rule=rule.name if rule else None)
            recs.append(rec)
    stats.sort(key=lambda s: (s.scope != "type", s.unit, policy.rank(s.tier)))
    recs.sort(key=lambda r: (r.scope != "type", -(r.monthly_saving_usd or 0), r.unit))
    moved = {(r.scope, r.unit, r.from_tier) for r in recs}
    struggling = [_struggling(s, policy, th) for s in stats
                  if _past_promotion(s, th) and (s.scope, s.unit, s.tier) not in moved]
    untyped = sum(1 for r in runs if r.tier is not None and r.task_type == UNTYPED)
    skipped = [f"{untyped} run{'s' if untyped != 1 else ''} of task type {UNTYPED} not judged "
               "by type: no routing decision or --type recorded, and no claude -p prompt to "
               "read one from"] if untyped else []  # fmt: skip
    return Review(len(runs), days, th, stats, recs, warnings, struggling, skipped)


def _past_promotion(s: TierStats, th: Thresholds) -> bool:
    """A judged tier failing (or followed up) as often as a promotion needs."""
    if s.finished < th.min_runs or (s.scope == "type" and s.unit == UNTYPED):
        return False
    return (s.failed / s.finished >= th.promote_failure_rate
            or s.followed_up / s.finished >= th.promote_followup_rate)  # fmt: skip


def _struggling(s: TierStats, policy: Policy, th: Thresholds) -> str:
    what = f"task type {s.unit!r}" if s.scope == "type" else f"task {s.unit!r}"
    why = ("no usable dearer tier to move it to" if _next_tier(policy, s.tier) is None
           else "a cheaper tier of it does the work, and only the cheapest judged tier is moved")
    return (f"{what} on {s.tier}: {s.failed} of {s.finished} runs failed or were capped"
            f"{f', {s.followed_up} followed up' if s.followed_up else ''} (a promotion takes "
            f"{th.promote_failure_rate:.0%}); no recommendation: {why}")


def _promotion(scope, unit, tiers, unit_runs, ups, policy, th, month) -> Recommendation | None:
    for name in sorted(tiers, key=policy.rank):
        a = tiers[name]
        if a.finished < th.min_runs:
            continue
        fail = a.failed / a.finished
        follow = a.followed_up / a.finished
        if fail < th.promote_failure_rate and follow < th.promote_followup_rate:
            return None  # the cheapest judged tier does the work: nothing to promote
        escalated = [ups[r.run_id] for r in unit_runs if r.tier == name and r.run_id in ups]
        target = (Counter(u.tier for u in escalated).most_common(1)[0][0] if escalated
                  else _next_tier(policy, name))  # fmt: skip
        if target is None:
            return None
        why = (f"{a.failed} of {a.finished} runs failed or were capped"
               f"{f', {a.followed_up} followed up on a dearer tier' if a.followed_up else ''}")
        b = tiers.get(target)
        saving = None
        if b is not None and b.ok:
            now = (a.cost_usd + sum(u.cost_usd for u in escalated)) * month
            saving = now - a.runs * month * b.cost_per_success_usd
            why += f"; {target} succeeds {b.ok} of {b.finished}"
        return Recommendation("promote", scope, unit, name, target, saving, why)
    return None


def _demotion(scope, unit, tiers, policy, th, month) -> Recommendation | None:
    order = sorted(tiers, key=policy.rank)
    for hi in reversed(order):
        b = tiers[hi]
        if b.finished < th.min_runs or not b.ok:
            continue
        for lo in order:
            if policy.rank(lo) >= policy.rank(hi):
                break
            a = tiers[lo]
            if a.finished < th.min_runs or (a.success_rate or 0) < th.demote_success_rate:
                continue
            diff = b.cost_per_success_usd - a.cost_per_success_usd
            if diff <= 0:
                continue
            why = (f"{lo} succeeds {a.ok} of {a.finished} at ${a.cost_per_success_usd:.4f} a "
                   f"successful run, {hi} {b.ok} of {b.finished} at "
                   f"${b.cost_per_success_usd:.4f}")
            return Recommendation("demote", scope, unit, hi, lo, b.runs * month * diff, why)
    return None


def _next_tier(policy: Policy, name: str) -> str | None:
    return next((n for n in policy.tier_names[policy.rank(name) + 1:]
                 if policy.tier(n).usable), None)  # fmt: skip


def _rule_for(policy: Policy, task_type: str):
    if task_type == DEFAULT_TYPE:
        return None
    return policy.rule_for_type(task_type) or next(
        (r for r in policy.rules if r.enabled and r.name == task_type), None
    )


def apply(policy: Policy, recs: list[Recommendation]) -> tuple[Policy, list[str]]:
    """The policy with the task-type recommendations applied, and what changed.

    A type's rule moves to the recommended tier (every type of that rule moves
    with it, said in the notes); "(default)" moves the policy's default tier.
    Task-id recommendations have no place in a policy and are left out.
    """
    rules = list(policy.rules)
    default = policy.default_tier
    notes = []
    for rec in recs:
        if rec.scope != "type":
            continue
        if rec.unit == DEFAULT_TYPE:
            if default == rec.to_tier:
                continue
            default = rec.to_tier
            notes.append(f"default tier: {rec.from_tier} -> {rec.to_tier}")
            continue
        rule = _rule_for(policy, rec.unit)
        if rule is None:
            continue
        if rule.tier == rec.to_tier:  # the runs were put on another tier by hand
            notes.append(f"rule {rule.name!r} already routes to {rec.to_tier}")
            continue
        i = next(i for i, r in enumerate(rules) if r.name == rule.name)
        rules[i] = replace(rules[i], tier=rec.to_tier)
        also = [t for t in rule.types if t != rec.unit]
        notes.append(f"rule {rule.name!r}: {rule.tier} -> {rec.to_tier}"
                     + (f" (with its types {', '.join(also)})" if also else ""))  # fmt: skip
    return replace(policy, rules=tuple(rules), default_tier=default), notes


# -- the loader ------------------------------------------------------------------------


def load_runs(store, since_s: float, until_s: float) -> list[dict]:
    """Ledger rows of runs started in [since, until), oldest first (``store.list_runs``).

    Read only: a run still marked running has not finished, so it counts as a run
    but not as a success or a failure (``ccspend runs`` settles stale ones).
    """
    from ccspend.store import list_runs

    with store.connect() as con:
        rows = list_runs(con, None)
    return [r for r in rows if since_s <= _epoch(r["started_at"]) < until_s]
