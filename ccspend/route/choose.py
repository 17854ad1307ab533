"""Pick a tier for a task: a pure function of the task, the policy and the situation.

Standard library only. ``choose`` reads no files, no clock and no logs: the
caller says whether a budget is past its soft alert, which tiers are
unavailable (rate-limited, out of credits) and how much context each model
holds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ccspend.core.errors import CcspendError, UsageError
from ccspend.route import text as _text
from ccspend.route.policy import STAKES, Policy, Rule


class NoTierAvailable(CcspendError):
    """Every tier the task may use is unavailable or too small for its context."""


@dataclass(frozen=True)
class Hit:
    """One term of a rule found in the task."""

    term: str  # as written in the policy
    kind: str  # keyword | phrase | pattern
    weight: float
    found: str  # the normalised words of the task that matched

    def __str__(self) -> str:
        sign = "+" if self.weight >= 0 else "-"
        shown = self.term if self.found == self.term else f'{self.term} ("{self.found}")'
        return f"{shown} {sign}{_num(abs(self.weight))}"


@dataclass(frozen=True)
class RuleMatch:
    """How one rule scored on the task."""

    rule: str
    tier: str
    types: tuple[str, ...]
    score: float
    hits: tuple[Hit, ...]
    matched: bool  # reached its minimum score

    def describe(self) -> str:
        return f"rule {self.rule!r} ({', '.join(map(str, self.hits))})"


@dataclass(frozen=True)
class Decision:
    """Where a task goes, and why. Every field is plain data (see ``to_dict``)."""

    task: str
    tier: str
    model: str
    task_type: str | None  # the explicit type, or the first type of the deciding rule
    rule: str | None  # the rule that decided the base tier, or None (type/default)
    base_tier: str  # before stakes, budget, availability and context
    stakes: str
    cap_usd: float | None
    matches: tuple[RuleMatch, ...]  # rules that reached their minimum score, best first
    reasons: tuple[str, ...]  # one line each, in the order they were applied
    near_misses: tuple[RuleMatch, ...] = field(default=())  # scored, but below the minimum

    def explain(self) -> str:
        """A readable account of the decision, for ``ccspend route --explain``."""
        head = f"{self.tier} ({self.model})"
        if self.cap_usd is not None:
            head += f", cap ${self.cap_usd:.2f} per run"
        lines = [f"route: {head}"]
        lines.append(f"task: {self.task}")
        lines.append(
            f"stakes: {self.stakes}" + (f", type: {self.task_type}" if self.task_type else "")
        )
        if self.matches:
            lines.append("rules that matched (best first):")
            for m in self.matches:
                lines.append(f"  {m.rule} -> {m.tier}: score {_num(m.score)}")
                for h in m.hits:
                    lines.append(f"    {h}")
        else:
            lines.append("no rule matched")
        if self.near_misses:
            lines.append("rules below their minimum score:")
            for m in self.near_misses:
                lines.append(
                    f"  {m.rule} -> {m.tier}: score {_num(m.score)} ({', '.join(map(str, m.hits))})"
                )
        lines.append("decision:")
        lines += [f"  - {r}" for r in self.reasons]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """For ``--json``."""

        def match(m: RuleMatch) -> dict[str, Any]:
            return {
                "rule": m.rule,
                "tier": m.tier,
                "types": list(m.types),
                "score": m.score,
                "hits": [
                    {"term": h.term, "kind": h.kind, "weight": h.weight, "found": h.found}
                    for h in m.hits
                ],
            }

        return {
            "task": self.task,
            "tier": self.tier,
            "model": self.model,
            "task_type": self.task_type,
            "rule": self.rule,
            "base_tier": self.base_tier,
            "stakes": self.stakes,
            "cap_usd": self.cap_usd,
            "matches": [match(m) for m in self.matches],
            "reasons": list(self.reasons),
        }


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _tokens(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1000:
        return f"{n / 1000:.0f}k" if n % 1000 == 0 or n >= 10_000 else f"{n / 1000:.1f}k"
    return str(n)


def score_rules(task: str, policy: Policy) -> list[RuleMatch]:
    """Every enabled rule with at least one hit, best first (ties: higher tier first)."""
    text = _text.Text(task)
    out: list[tuple[RuleMatch, int]] = []
    for order, rule in enumerate(policy.rules):
        if not rule.enabled:
            continue
        hits: list[Hit] = []
        # The same words count once per rule, however many of its keywords (or
        # however many of its phrases: "failing test", "failing tests") match
        # them: the heaviest term does. A "^" phrase is counted apart, as the
        # task's opening: it adds to the keyword for the same word.
        seen: dict[tuple[str, str], int] = {}
        for term in rule.terms:
            found = term.find(text)
            if found is None:
                continue
            hit = Hit(term.text, term.kind, term.weight, found)
            if term.kind != "pattern":
                key = (term.kind + ("^" if term.text.startswith(_text.START) else ""), found)
                if key in seen:
                    i = seen[key]
                    if hit.weight > hits[i].weight:
                        hits[i] = hit
                    continue
                seen[key] = len(hits)
            hits.append(hit)
        if not hits:
            continue
        score = sum(h.weight for h in hits)
        need = policy.min_score if rule.min_score is None else rule.min_score
        out.append(
            (RuleMatch(rule.name, rule.tier, rule.types, score, tuple(hits), score >= need), order)
        )
    out.sort(key=lambda mo: (-mo[0].score, -policy.rank(mo[0].tier), mo[1]))
    return [m for m, _ in out]


def _usable(policy: Policy, name: str) -> bool:
    return policy.tier(name).usable


def choose(
    task: str,
    policy: Policy,
    *,
    stakes: str = "medium",
    task_type: str | None = None,
    context_tokens: int | None = None,
    budget_soft: bool | str = False,
    unavailable: Collection[str] | Mapping[str, str] = frozenset(),
    model_context: Callable[[str], int | None] | None = None,
) -> Decision:
    """Pick the tier for ``task`` under ``policy``. Pure: no I/O.

    Steps, each recorded as one line in ``Decision.reasons``:

    1. Base tier: an explicit ``task_type`` wins (its rule's tier); otherwise
       the best-scoring rule that reaches its minimum score (ties go to the
       higher tier); otherwise the policy's default tier. A tier that is off
       moves up to the next usable one; a usable tier with ``use_for = X``
       (``local``) takes work whose base tier is X.
    2. Stakes floor: never below ``policy.floor_for(stakes)``.
    3. ``budget_soft`` (True, or a description of the budget): one usable tier
       lower, unless the deciding rule says ``budget_lower = false``; never below
       the stakes floor.
    4. ``unavailable`` (tier names, or a mapping tier -> why, e.g.
       ``{"heavy": "rate-limited"}``): follow the policy's fallback chain from
       the tier, then try cheaper tiers down to the floor, then dearer ones.
    5. ``context_tokens``: a tier whose model cannot hold it (its
       ``context_tokens`` setting, else ``model_context(model)``) is skipped,
       upwards.

    Raises ``UsageError`` for an unknown stakes level or task type, and
    ``NoTierAvailable`` when no usable tier is left.
    """
    if stakes not in STAKES:
        raise UsageError(f"unknown stakes {stakes!r}", "low, medium or high")
    names = policy.tier_names
    reasons: list[str] = []
    why_down: dict[str, str] = (
        dict(unavailable)
        if isinstance(unavailable, Mapping)
        else dict.fromkeys(unavailable, "unavailable")
    )
    for t in why_down:
        if t not in names:
            raise UsageError(f"unknown tier {t!r} marked unavailable", "tiers: " + ", ".join(names))

    scored = score_rules(task, policy)
    matches = tuple(m for m in scored if m.matched)
    near = tuple(m for m in scored if not m.matched)
    deciding: Rule | None = None

    # 1. base tier
    if task_type is not None:
        types = policy.task_types
        if task_type not in types:
            raise UsageError(f"unknown task type {task_type!r}", "types: " + ", ".join(types))
        deciding = policy.rule_for_type(task_type)
        assert deciding is not None
        tier = deciding.tier
        reasons.append(
            f"explicit type {task_type!r}: {tier} (rule {deciding.name!r}); the wording is not used"
        )
        shown_type: str | None = task_type
    elif matches:
        best = matches[0]
        deciding = next(r for r in policy.rules if r.name == best.rule)
        tier = best.tier
        reasons.append(f"matched {best.describe()}: {tier}")
        for m in matches[1:]:
            if m.tier != tier:
                if m.score == best.score:
                    note = f"the same score ({_num(m.score)}): a tie goes to the dearer tier"
                else:
                    note = f"score {_num(m.score)} < {_num(best.score)}"
                reasons.append(f"also matched {m.describe()}, {note}")
        shown_type = best.types[0] if best.types else None
    else:
        tier = policy.default_tier
        reasons.append(f"no rule matched: the policy's default tier, {tier}")
        shown_type = None
    base = tier

    if not _usable(policy, tier):
        up = next((n for n in names[policy.rank(tier) + 1 :] if _usable(policy, n)), None)
        if up is None:
            up = next(n for n in reversed(names) if _usable(policy, n))
        reasons.append(f"{tier} is off: {up} instead")
        tier = up
    for t in policy.tiers:
        if t.use_for == tier and t.usable:
            reasons.append(f"{t.name} is on and takes {tier} work: {t.name} ({t.model})")
            tier = t.name
            break

    # 2. stakes floor
    floor = policy.floor_for(stakes)
    floor_rank = policy.rank(floor) if floor is not None else 0
    if policy.rank(tier) < floor_rank:
        assert floor is not None
        reasons.append(f"{stakes} stakes: raised from {tier} to {floor}")
        tier = floor

    # 3. budget
    if budget_soft:
        what = budget_soft if isinstance(budget_soft, str) else "a budget"
        if deciding is not None and not deciding.budget_lower:
            reasons.append(
                f"{what} is past its soft alert, but rule {deciding.name!r} is not lowered"
            )
        else:
            lower = next(
                (n for n in reversed(names[floor_rank : policy.rank(tier)]) if _usable(policy, n)),
                None,
            )
            if lower is None:
                limit = (
                    f"the {stakes}-stakes floor" if floor and tier == floor else "the cheapest tier"
                )
                reasons.append(f"{what} is past its soft alert, but {tier} is already {limit}")
            else:
                reasons.append(f"{what} is past its soft alert: one tier lower, {tier} -> {lower}")
                tier = lower

    # 4. availability
    if tier in why_down:
        tier = _fall_back(policy, tier, why_down, floor_rank, reasons, stakes)

    # 5. context
    if context_tokens:
        tier = _fit_context(policy, tier, context_tokens, model_context, why_down, reasons)

    t = policy.tier(tier)
    return Decision(
        task=task,
        tier=tier,
        model=t.model,
        task_type=shown_type,
        rule=deciding.name if deciding is not None else None,
        base_tier=base,
        stakes=stakes,
        cap_usd=t.cap_usd,
        matches=matches,
        reasons=tuple(reasons),
        near_misses=near,
    )


def _fall_back(
    policy: Policy,
    tier: str,
    why_down: dict[str, str],
    floor_rank: int,
    reasons: list[str],
    stakes: str,
) -> str:
    names = policy.tier_names
    rank = policy.rank(tier)
    candidates: list[str] = []
    if tier in policy.fallback:
        candidates += list(policy.fallback[policy.fallback.index(tier) + 1 :])
    candidates += [n for n in reversed(names[:rank])]  # cheaper, nearest first
    candidates += list(names[rank + 1 :])  # dearer, nearest first
    seen: set[str] = set()
    for c in candidates:
        if c in seen:
            continue
        seen.add(c)
        if not _usable(policy, c) or c in why_down or policy.rank(c) < floor_rank:
            continue
        reasons.append(f"{tier} is {why_down[tier]}: fell back to {c}")
        return c
    raise NoTierAvailable(
        f"{tier} is {why_down[tier]} and no other tier allowed for {stakes} stakes is available"
    )


def _fit_context(
    policy: Policy,
    tier: str,
    need: int,
    model_context: Callable[[str], int | None] | None,
    why_down: dict[str, str],
    reasons: list[str],
) -> str:
    names = policy.tier_names

    def holds(name: str) -> int | None:
        t = policy.tier(name)
        if t.context_tokens is not None:
            return t.context_tokens
        return model_context(t.model) if model_context is not None else None

    for name in names[policy.rank(tier) :]:
        if name != tier and (not _usable(policy, name) or name in why_down):
            continue
        size = holds(name)
        if size is None or size >= need:
            if name != tier:
                reasons.append(f"context of {_tokens(need)} tokens: moved up to {name}")
            return name
        reasons.append(
            f"{name} cannot hold {_tokens(need)} tokens of context ({_tokens(size)}): skipped"
        )
    raise NoTierAvailable(f"no available tier can hold {_tokens(need)} tokens of context")
