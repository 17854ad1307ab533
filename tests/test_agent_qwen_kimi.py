"""Qwen Code and Kimi CLI: each reader against its generator's truth (bench/gen_agents.py), and
each trap on its own (docs/agents.md); every one fails when its handling is removed."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ccspend.sources.agents import kimi, qwen
from tests.bench_modules import load
from tests.conftest import report_json

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "agents"


def _days(report: dict) -> dict:
    return {r["key"]: (r["input_tokens"], r["output_tokens"], r["cache_read_tokens"],
                       round(Decimal(str(r["cost_usd"])), 9)) for r in report["rows"]}  # fmt: skip


def _truth(truth: dict) -> dict:
    return {d: (v["input_tokens"], v["output_tokens"], v["cache_read_tokens"],
                round(Decimal(v["cost_usd"]), 9)) for d, v in truth["days"].items()}  # fmt: skip


@pytest.mark.parametrize("agent", ["qwen", "kimi"])
@pytest.mark.parametrize("seed", [1, 5])
def test_generated_tree_reads_as_its_truth(sandbox, monkeypatch, tmp_path, agent, seed):
    truth = getattr(load("gen_agents"), agent)(tmp_path, seed=seed)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    got = report_json("daily", "--source", agent)
    assert _days(got) == _truth(truth)
    assert got["totals"]["requests"] == truth["calls"]


@pytest.mark.parametrize("agent", ["qwen", "kimi"])
def test_fixture_tree_reads_as_its_truth(sandbox, monkeypatch, agent):
    monkeypatch.setenv("HOME", str(FIXTURES / agent / "home"))
    truth = json.loads((FIXTURES / agent / "truth.json").read_text())
    assert _days(report_json("daily", "--source", agent)) == _truth(truth)


def _qwen_line(path: Path, **usage) -> str:
    rec = {"uuid": "u1", "sessionId": "S", "timestamp": "2026-06-02T08:14:11Z",
           "type": "assistant", "model": "qwen3-coder-plus", "cwd": "/p", "usageMetadata": usage}
    path.write_text(json.dumps(rec) + "\n")
    return str(path)


def test_qwen_prompt_includes_the_cache_and_candidates_the_reasoning(tmp_path):
    path = _qwen_line(tmp_path / "s.jsonl", promptTokenCount=1000, cachedContentTokenCount=600,
                      candidatesTokenCount=300, thoughtsTokenCount=100, totalTokenCount=1300)
    (r,), _ = qwen.read(path, 0)
    assert (r["in"], r["out"], r["cr"]) == (400, 300, 600)


def test_qwen_thoughts_outside_when_the_total_says_so(tmp_path):
    path = _qwen_line(tmp_path / "s.jsonl", promptTokenCount=1000, cachedContentTokenCount=0,
                      candidatesTokenCount=200, thoughtsTokenCount=100, totalTokenCount=1300)
    (r,), _ = qwen.read(path, 0)
    assert r["out"] == 300


def test_qwen_telemetry_and_a_repeated_record_count_once():
    records, bad = qwen.read(str(FIXTURES / "qwen" / "qwen_example.jsonl"), 0)
    assert bad == 0
    assert [(r["in"], r["out"], r["cr"]) for r in records] == [
        (12414 - 11264, 389, 11264), (12960 - 12288, 75, 12288), (9100, 3900, 0)]


def test_kimi_steps_subagents_and_empty_updates():
    records, bad = kimi.read(str(FIXTURES / "kimi" / "kimi_example.jsonl"), 0)
    assert bad == 0
    assert [(r["in"], r["out"], r["cr"], r["sc"]) for r in records] == [
        (1562, 187, 9472, False), (2410, 264, 0, True), (1033, 96, 11008, False)]
    assert records[0]["model"] == "kimi-for-coding"  # no config: Kimi's own default


def test_kimi_subagent_files_are_not_read_twice(tmp_path):
    wire = tmp_path / "sessions" / "g" / "s" / "wire.jsonl"
    own = wire.parent / "subagents" / "sa" / "wire.jsonl"
    own.parent.mkdir(parents=True)
    wire.write_text("{}\n")
    own.write_text("{}\n")
    assert [f.path for f in kimi.discover([tmp_path / "sessions"])] == [str(wire)]


def test_kimi_a_fork_counts_once(sandbox, tmp_path):
    share = tmp_path / "k"
    for s in ("a", "b"):
        wire = share / "sessions" / "g" / s / "wire.jsonl"
        wire.parent.mkdir(parents=True)
        wire.write_text((FIXTURES / "kimi" / "kimi_example.jsonl").read_text())
    got = report_json("daily", "--source", "kimi", "--logs", f"kimi={share / 'sessions'}")
    assert got["totals"]["requests"] == 3


def test_kimi_model_from_the_config(tmp_path):
    (tmp_path / "config.toml").write_text('default_model = "kimi-k2.5"\n')
    assert kimi.model_of(str(tmp_path)) == "kimi-k2.5"
    (tmp_path / "config.toml").unlink()
    (tmp_path / "config.json").write_text('{"model": "kimi-k2-turbo"}')
    assert kimi.model_of(str(tmp_path)) == "kimi-k2-turbo"
