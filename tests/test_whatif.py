"""ccspend whatif: history repriced on another model, policy or card, checked by hand."""

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ccspend.pricing import load_card
from ccspend.route.whatif import Scenario, resolve_model, whatif
from ccspend.store.queries import Filters
from tests.conftest import cli, run_cli
from tests.logs import assistant, write

# USD per million tokens, from shared/reference/prices.md
HAIKU = {"in": Decimal("1"), "out": Decimal("5"), "w5": Decimal("1.25"), "r": Decimal("0.1")}
SONNET = {"in": Decimal("3"), "out": Decimal("15"), "w5": Decimal("3.75"), "r": Decimal("0.3")}
MODELS = {"light": ("claude-haiku-4-5", HAIKU), "standard": ("claude-sonnet-4-6", SONNET)}
PINNED = """
[tiers.light]
model = "claude-haiku-4-5"
[tiers.standard]
model = "claude-sonnet-4-6"
[tiers.heavy]
model = "claude-opus-4-6"
"""


def cost(tok: dict, p: dict) -> Decimal:
    return (tok["in"] * p["in"] + tok["out"] * p["out"] + tok["w5"] * p["w5"]
            + tok["r"] * p["r"]) / Decimal(1_000_000)  # fmt: skip


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Month:
    """A month of history: log lines for every run's session, and the ledger's rows."""

    def __init__(self, projects, store):
        self.projects, self.store = projects, store
        self.runs: list[dict] = []
        self.requests: dict[str, list[dict]] = {}  # session -> token dicts
        self.start = time.time() - 29 * 86400

    def session(self, sid: str, model: str, t: float, scale: int, n: int = 2) -> list[dict]:
        lines, toks = [], []
        for k in range(n):
            tok = {"in": 1000 * scale + 7 * k, "out": 2000 * scale + 11 * k,
                   "w5": 5000 * scale + 13 * k, "r": 40000 * scale + 17 * k}  # fmt: skip
            toks.append(tok)
            lines.append(assistant(ts=iso(t + 60 * k), session=sid, msg=f"msg_{sid}_{k}",
                                   req=f"req_{sid}_{k}", model=model, inp=tok["in"],
                                   out=tok["out"], cache_write=tok["w5"],
                                   cache_read=tok["r"]))  # fmt: skip
        write(self.projects / "-home-dev-app" / f"{sid}.jsonl", lines)
        self.requests[sid] = toks
        return toks

    def run(self, task, tier, day, status, reason, prompt, scale=1, hour=9.0):
        t = self.start + day * 86400 + hour * 3600
        sid = f"sess-{len(self.runs):03d}"
        model, prices = MODELS[tier]
        toks = self.session(sid, model, t + 5, scale)
        self.runs.append({
            "run_id": f"run-{len(self.runs):03d}", "task_id": task, "tier": tier,
            "command": f"claude --model {model} -p '{prompt}'", "started_at": iso(t),
            "ended_at": iso(t + 600), "session_id": sid, "status": status,
            "cost_usd": float(sum(cost(x, prices) for x in toks)), "reason": reason,
            "models": [model]})  # fmt: skip
        return sid

    def save(self):
        with self.store.connect(write=True) as con:
            for r in self.runs:
                con.execute(
                    "INSERT INTO runs (run_id, task_id, command, cwd, host, pid, started_at, "
                    "ended_at, session_id, cost_usd, status, exit_code, sessions, models, "
                    "route_tier, route_reason) VALUES (?, ?, ?, '/home/dev/app', 'h', 1, "
                    "?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?, ?, ?, 0, ?, ?, ?, ?)",
                    [r["run_id"], r["task_id"], r["command"], r["started_at"], r["ended_at"],
                     r["session_id"], r["cost_usd"], r["status"], [r["session_id"]],
                     r["models"], r["tier"], r["reason"]])  # fmt: skip


def test_a_month_routed_by_the_reviews_recommendations_saves_what_a_hand_count_says(
    projects, store, sandbox
):
    (sandbox / "config").mkdir()
    (sandbox / "config" / "route.toml").write_text(PINNED)
    m = Month(projects, store)
    auto_tests = "matched rule 'test-generation' (unit tests +3): standard"
    auto_scaffold = "matched rule 'boilerplate' (scaffold +3): light"
    parser, scaffold_light = [], []
    for d in range(6):  # unit tests auto-routed to standard: they all pass
        parser.append(m.run("parser-tests", "standard", 1 + 4 * d, "ok", auto_tests,
                            "write unit tests for the parser", scale=3))  # fmt: skip
    for d in range(5):  # the same kind of work forced onto light: it passes too
        m.run("lexer-tests", "light", 2 + 5 * d, "ok", "--route light",
              "write unit tests for the lexer")
    for d in range(6):  # scaffolding on light: half fail and are rerun on standard
        failed = d % 2 == 0
        scaffold_light.append(m.run("scaffold", "light", 3 + 4 * d,
                                    "failed" if failed else "ok", auto_scaffold,
                                    "scaffold an empty handler for the orders service"))
        if failed:
            m.run("scaffold", "standard", 3 + 4 * d, "ok", "--route standard",
                  "scaffold an empty handler for the orders service", hour=10)
    m.session("sess-plain", "claude-sonnet-4-6", m.start + 86400, 2)  # no run: unchanged
    m.save()

    r = run_cli("route", "review", "--json", "--since", "30d", "--policy-out",
                str(sandbox / "recommended.toml"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    recs = {(x["scope"], x["unit"]): x for x in out["recommendations"]}
    demote, promote = recs[("type", "test-gen")], recs[("type", "boilerplate")]
    assert (demote["kind"], demote["from_tier"], demote["to_tier"]) == (
        "demote", "standard", "light")
    assert (promote["kind"], promote["from_tier"], promote["to_tier"]) == (
        "promote", "light", "standard")
    assert out["policy_changes"] == ["rule 'test-generation': standard -> light",
                                     "rule 'boilerplate': light -> standard"]
    # the review's own figures, by hand (30 days of history: a month is x1)
    runs = {x["session_id"]: x for x in m.runs}
    std = sum(Decimal(str(runs[s]["cost_usd"])) for s in parser)
    lex = sum(Decimal(str(x["cost_usd"])) for x in m.runs if x["task_id"] == "lexer-tests")
    assert demote["monthly_saving_usd"] == pytest.approx(float(6 * (std / 6 - lex / 5)), abs=1e-6)
    fl = sum(Decimal(str(runs[s]["cost_usd"])) for s in scaffold_light)
    up = sum(Decimal(str(x["cost_usd"])) for x in m.runs
             if x["task_id"] == "scaffold" and x["tier"] == "standard")  # fmt: skip
    assert promote["monthly_saving_usd"] == pytest.approx(float(fl + up - 6 * up / 3), abs=1e-6)

    w = cli("whatif", "--route", str(sandbox / "recommended.toml"), "--json")  # the numbers
    assert w.returncode == 0, w.stderr
    got = json.loads(w.stdout)
    # by hand: the unit-test runs move from sonnet to haiku, the first scaffold runs
    # from haiku to sonnet; the lexer tests, the reruns and the plain session stay
    saving = sum(cost(t, SONNET) - cost(t, HAIKU) for s in parser for t in m.requests[s])
    saving -= sum(cost(t, SONNET) - cost(t, HAIKU) for s in scaffold_light
                  for t in m.requests[s])  # fmt: skip
    assert saving > 0
    assert got["totals"]["saving_usd"] == pytest.approx(float(saving), abs=1e-6)
    assert got["totals"]["difference_usd"] == pytest.approx(-float(saving), abs=1e-6)
    old = sum(cost(t, MODELS[x["tier"]][1]) for x in m.runs for t in m.requests[x["session_id"]])
    old += sum(cost(t, SONNET) for t in m.requests["sess-plain"])
    assert got["totals"]["old_cost_usd"] == pytest.approx(float(old), abs=1e-6)
    assert {(x["from"], x["to"], x["requests"]) for x in got["moved"]} == {
        ("claude-sonnet-4-6", "claude-haiku-4-5", 12), ("claude-haiku-4-5", "claude-sonnet-4-6", 12)}
    assert "6 runs light -> standard" in got["notes"] and "6 runs standard -> light" in got["notes"]
    assert sum(x["difference_usd"] for x in got["by_day"]) == pytest.approx(-float(saving))
    assert sum(x["difference_usd"] for x in got["by_model"]) == pytest.approx(-float(saving))
    [project] = got["by_project"]
    assert project["key"] == "/home/dev/app"

    # the demoted task alone, with --model: the same saving as its share above
    alone = whatif(store, load_card(), Scenario(model="claude-haiku-4-5", task="parser-tests"),
                   Filters())  # fmt: skip
    by_hand = sum(cost(t, SONNET) - cost(t, HAIKU) for s in parser for t in m.requests[s])
    assert abs(alone.saving_usd - by_hand) < Decimal("1e-6")


def test_model_reprices_every_request_with_the_models_own_long_context_rule(projects, store):
    # 250k prompt tokens on claude-sonnet-4-5 (long context past 200k: $6/$22.50)
    write(projects / "p" / "a.jsonl", [
        assistant(msg="m1", req="q1", model="claude-opus-4-6", inp=250_000, out=1_000),
        assistant(msg="m2", req="q2", model="claude-haiku-4-5", inp=1_000, out=500,
                  ts="2026-09-02T10:00:00.000Z"),
        assistant(msg="m3", req="q3", model="acme-coder-2", inp=10, out=10)])  # fmt: skip
    from ccspend.ingest.claude import ingest_claude

    ingest_claude(store, [projects])
    result = whatif(store, load_card(), Scenario(model="claude-sonnet-4-5"), Filters())
    old = Decimal(250_000 * 5 + 1_000 * 25 + 1_000 * 1 + 500 * 5) / 1_000_000
    new = (Decimal(250_000) * Decimal("6") + Decimal(1_000) * Decimal("22.5")
           + Decimal(1_000) * 3 + Decimal(500) * 15) / 1_000_000  # fmt: skip
    assert abs(result.totals.old_micro / 1_000_000 - old) < Decimal("1e-9")
    assert abs(result.totals.new_micro / 1_000_000 - new) < Decimal("1e-9")
    assert result.unpriced == [("acme-coder-2", 20, 1)]  # in neither cost
    assert [x.key for x in result.sections["daily"]] == ["2026-09-01", "2026-09-02"]
    assert {x.key for x in result.sections["model"]} == {"claude-opus-4-6", "claude-haiku-4-5",
                                                         "acme-coder-2"}


def test_card_reprices_by_the_card_of_a_day(projects, store, sandbox):
    (sandbox / "config").mkdir()
    (sandbox / "config" / "rates.toml").write_text(
        '[[model]]\nname = "claude-haiku-4-5"\n  [[model.price]]\n  effective_from = 2026-10-01\n'
        "  input = 2\n  output = 10\n")
    write(projects / "p" / "a.jsonl", [
        assistant(msg="m1", req="q1", model="claude-haiku-4-5", inp=1_000_000, out=100_000,
                  ts="2026-09-15T10:00:00.000Z"),
        assistant(msg="m2", req="q2", model="claude-haiku-4-5", inp=1_000_000, out=100_000,
                  ts="2026-10-15T10:00:00.000Z")])  # fmt: skip
    r = cli("whatif", "--card", "2026-10-02", "--json")  # the numbers, in this process
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    # old: September at $1/$5, October at $2/$10; new: both at October's card
    assert got["totals"]["old_cost_usd"] == pytest.approx(1.5 + 3.0)
    assert got["totals"]["new_cost_usd"] == pytest.approx(3.0 + 3.0)
    assert [x["difference_usd"] for x in got["rows"]] == pytest.approx([1.5, 0.0])
    text = run_cli("whatif", "--card", "2026-10-02", "--no-ingest")
    assert "extra cost: $1.50" in text.stdout and "by project" in text.stdout


def test_bad_input_is_one_line_and_a_usage_error(sandbox):
    for args in ([], ["--model", "haiku", "--card", "2026-01-01"], ["--model", "nope"],
                 ["--route", "/no/such/policy.toml"], ["--card", "soon"],
                 ["--route", "auto", "--task", "x"], ["--model", "haiku", "--task", "none"],
                 ["--model", "haiku", "--since", "yesterday"]):  # fmt: skip
        r = run_cli("whatif", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("ccspend: error:") and len(r.stderr.splitlines()) == 1


def test_aliases_resolve_to_the_newest_model_of_the_family(card):
    assert resolve_model(card, "sonnet") == max(
        (n for n in card.models if n.startswith("claude-sonnet-")),
        key=lambda n: tuple(int(x) for x in n.split("-")[2:]))
    assert resolve_model(card, "claude-haiku-4-5-20251001") == "claude-haiku-4-5"
