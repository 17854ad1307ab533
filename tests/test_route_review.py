"""ccspend route review: stats, promotions, demotions and savings on hand-made ledgers."""

import json

import pytest

from ccspend.route import load_policy, parse_policy, render_policy
from ccspend.route import review as rv
from tests.conftest import run_cli

DAY = 86400.0


@pytest.fixture
def policy():
    return load_policy(use_user=False)


def run(i, task, tier, status="ok", cost=1.0, t=0.0, ttype="test-gen"):
    return rv.Run(run_id=f"r{i}", task_id=task, started_s=t, status=status, cost_usd=cost,
                  tier=tier, task_type=ttype, sessions=(f"s{i}",))


def test_stats_per_type_and_task_and_tier(policy):
    runs = [run(i, "a", "standard", cost=0.50, t=i * DAY) for i in range(4)]
    runs += [run(10 + i, "b", "light", cost=0.10, t=i * DAY) for i in range(5)]
    runs.append(run(20, "b", "light", status="failed", cost=0.05, t=9 * DAY))
    r = rv.review(runs, policy, days=15)
    light = next(s for s in r.stats if s.scope == "type" and s.tier == "light")
    assert (light.runs, light.finished, light.ok, light.failed) == (6, 6, 5, 1)
    assert light.cost_per_success_usd == pytest.approx(0.55 / 5)
    assert [(s.scope, s.unit, s.tier) for s in r.stats] == [
        ("type", "test-gen", "light"), ("type", "test-gen", "standard"),
        ("task", "a", "standard"), ("task", "b", "light")]
    assert r.recommendations == []  # light succeeds 83%: below the 90% a demotion needs


def test_demotion_saving_is_runs_times_cost_per_success_difference_scaled_to_a_month(policy):
    runs = [run(i, "a", "standard", cost=0.50) for i in range(4)]
    runs += [run(10 + i, "b", "light", cost=0.10) for i in range(10)]
    r = rv.review(runs, policy, days=15)  # 15 days of history: x2 for a month
    [rec] = [x for x in r.recommendations if x.scope == "type"]
    assert rec.kind == "demote"
    assert rec.monthly_saving_usd == pytest.approx(4 * 2 * (0.50 - 0.10))
    assert r.monthly_saving_usd == pytest.approx(3.2)
    assert "saves $3.20 a month" in rec.describe()


def test_a_cheaper_tier_below_the_success_threshold_is_no_demotion(policy):
    runs = [run(i, "a", "standard", cost=0.50) for i in range(4)]
    runs += [run(10 + i, "b", "light", cost=0.10, status="ok" if i % 2 else "failed")
             for i in range(10)]  # fmt: skip
    r = rv.review(runs, policy, days=30)
    assert not [x for x in r.recommendations if x.kind == "demote"]


def test_promotion_from_failures_followed_up_on_a_dearer_tier(policy):
    runs = []
    for k in range(3):  # light fails, then the same task reruns on standard an hour later
        runs.append(run(k, "scaffold", "light", status="failed", cost=0.20, t=k * DAY,
                        ttype="boilerplate"))  # fmt: skip
        runs.append(run(10 + k, "scaffold", "standard", cost=0.90, t=k * DAY + 3600,
                        ttype="boilerplate"))  # fmt: skip
    for k in range(3):
        runs.append(run(20 + k, "scaffold", "light", cost=0.20, t=(5 + k) * DAY,
                        ttype="boilerplate"))  # fmt: skip
    r = rv.review(runs, policy, days=30)
    recs = {x.scope: x for x in r.recommendations}
    typ, task = recs["type"], recs["task"]
    assert (typ.kind, typ.from_tier, typ.to_tier, typ.rule) == (
        "promote", "light", "standard", "boilerplate")
    assert (task.unit, task.kind) == ("scaffold", "promote")
    light = next(s for s in r.stats if s.scope == "type" and s.tier == "light")
    assert (light.finished, light.failed, light.followed_up) == (6, 3, 3)
    # now: 6 light runs ($1.20) + 3 follow-ups ($2.70); then: 6 runs at standard's
    # $0.90 per success = $5.40: the promotion costs $1.50 a month more
    assert typ.monthly_saving_usd == pytest.approx(1.20 + 2.70 - 6 * 0.90)
    assert "costs $1.50 a month more" in typ.describe()


def test_follow_ups_only_count_within_the_window_and_upwards(policy):
    runs = [run(0, "t", "light", status="failed", t=0), run(1, "t", "standard", t=2 * DAY),
            run(2, "u", "standard", status="failed", t=0), run(3, "u", "light", t=60)]
    assert rv.follow_ups(runs, policy, rv.Thresholds()) == {}
    runs[1] = run(1, "t", "heavy", t=3600)
    assert set(rv.follow_ups(runs, policy, rv.Thresholds())) == {"r0"}


def test_promotion_by_failure_rate_alone_goes_one_tier_up_without_a_measured_saving(policy):
    runs = [run(i, "x", "light", status="capped" if i < 2 else "ok", ttype="summary")
            for i in range(5)]  # fmt: skip
    [rec, _] = rv.review(runs, policy, days=30).recommendations
    assert (rec.kind, rec.to_tier, rec.monthly_saving_usd) == ("promote", "standard", None)
    assert "not measurable" in rec.describe()


def test_too_few_runs_are_not_judged_and_interrupted_runs_are_not_finished(policy):
    runs = [run(i, "a", "light", status="failed") for i in range(2)]
    runs += [run(5 + i, "a", "light", status="interrupted") for i in range(5)]
    r = rv.review(runs, policy, days=30)
    assert r.recommendations == []
    s = next(s for s in r.stats if s.scope == "type")
    assert (s.runs, s.finished, s.success_rate) == (7, 2, 0.0)
    assert "3 finished runs" in r.thresholds.describe()


def test_task_type_comes_from_the_reason_then_the_prompt(policy):
    t = rv.task_type_of
    assert t({"route_reason": "matched rule 'summary' (tldr +4): light"}, policy) == "summary"
    assert t({"route_reason": "explicit type 'plan': heavy (rule 'planning'); ..."},
             policy) == "plan"  # fmt: skip
    assert t({"route_reason": "no rule matched: the policy's default tier, standard"},
             policy) == rv.DEFAULT_TYPE  # fmt: skip
    cmd = "claude --model haiku -p 'write unit tests for the lexer'"
    assert t({"route_reason": "--route light", "command": cmd}, policy) == "test-gen"
    assert t({"command": "claude -p 'hmm'"}, policy) == rv.DEFAULT_TYPE
    assert t({"command": "./agent.sh --fast"}, policy) == rv.UNTYPED
    assert rv.prompt_of("claude -p 'unterminated") is None


def test_tier_comes_from_the_ledger_else_the_dearest_model_family_used(policy):
    assert rv.tier_of({"route_tier": "heavy"}, policy) == "heavy"
    assert rv.tier_of({"models": ["claude-haiku-4-5", "claude-sonnet-4-6"]}, policy) == "standard"
    assert rv.tier_of({"models": ["gpt-5"]}, policy) is None


def test_apply_moves_the_rules_and_the_policy_parses_back(policy):
    recs = [rv.Recommendation("demote", "type", "test-gen", "standard", "light", 3.0, "", None),
            rv.Recommendation("promote", "type", "summary", "light", "light", 1.0, "", None),
            rv.Recommendation("demote", "type", rv.DEFAULT_TYPE, "standard", "light", 1.0, ""),
            rv.Recommendation("demote", "task", "nightly", "heavy", "light", 9.0, "")]
    new, notes = rv.apply(policy, recs)
    assert new.rule_for_type("test-gen").tier == "light"
    assert new.default_tier == "light"
    assert notes == ["rule 'test-generation': standard -> light",
                     "rule 'summary' already routes to light",
                     "default tier: standard -> light"]
    again = parse_policy(render_policy(new))
    assert again.rule_for_type("test-gen").tier == "light" and again.default_tier == "light"
    assert policy.rule_for_type("test-gen").tier == "standard"  # the original is untouched


def test_cli_review_and_a_task_that_starts_with_review(sandbox):
    r = run_cli("route", "review", "--json", "--since", "7d")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["report"] == "route-review" and out["runs"] == 0 and out["rows"] == []
    assert round(out["days"]) == 7 and "finished runs" in out["thresholds"]["text"]
    task = run_cli("route", "review", "the", "auth", "PR")  # a task, not the review
    assert task.returncode == 0 and task.stdout.startswith("heavy: opus")
    assert run_cli("route", "review", "--since", "soon").returncode == 2
    h = run_cli("route", "review", "--help")
    assert h.returncode == 0 and "--policy-out" in h.stdout
