"""The file readers of Copilot CLI (OTel), Amp, pi, OpenClaw, Codebuff and Droid (#19).

Each reader is run over its generator's tree (``bench/agents_files_gen.py``) and the
calls it gives, deduplicated as the store does (one line per ``mid``: the most output
tokens, then the earlier file), must sum per UTC day to the generator's truth. Each trap
also has a test of its own on a few hand-written lines, so removing its handling fails a
test that names it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from bench import agents_files_gen as gen
from tests.conftest import cli

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = Path("/work/shared/reference/agents")
AGENTS = sorted(gen.GENERATORS)


def reader(agent: str):
    return importlib.import_module(f"ccspend.sources.agents.{agent}")


def read_tree(agent: str, env: dict[str, str]) -> tuple[list[dict], int]:
    """Every record the reader finds below its default roots, and the bad lines."""
    mod = reader(agent)
    roots = mod.default_roots(env, Path(env["HOME"]))
    records: list[dict] = []
    bad = 0
    for i, log in enumerate(sorted(mod.discover(roots), key=lambda f: f.path)):
        recs, skipped = mod.read(log.path, i)
        records += recs
        bad += skipped
    return records, bad


def counted(records: list[dict]) -> list[dict]:
    """The store's deduplication: one record per ``mid``, the one with most output tokens,
    then the earlier file and offset."""
    best: dict[str, dict] = {}
    for r in records:
        k = r["mid"]
        b = best.get(k)
        if b is None or (-r["out"], r["f"], r["o"]) < (-b["out"], b["f"], b["o"]):
            best[k] = r
    return list(best.values())


def per_day(records: list[dict]) -> dict[str, dict]:
    days: dict[str, dict] = defaultdict(lambda: {"in": 0, "out": 0, "cw": 0, "cr": 0,
                                                 "cost": 0.0, "calls": 0})
    for r in records:
        d = days[dt.datetime.fromtimestamp(r["ts"] / 1e6, dt.UTC).date().isoformat()]
        d["in"] += r["in"]
        d["out"] += r["out"]
        d["cw"] += r["c5"] + r["c1"]
        d["cr"] += r["cr"]
        d["cost"] = round(d["cost"] + (r["cu"] or 0.0), 9)
        d["calls"] += 1
    return {k: days[k] for k in sorted(days)}


@pytest.mark.parametrize("agent", AGENTS)
def test_reader_matches_generator_truth(agent, tmp_path):
    truth = gen.GENERATORS[agent](tmp_path, 60, 11).as_json()
    records, bad = read_tree(agent, gen.env_for(agent, tmp_path))
    assert per_day(counted(records)) == truth["days"]
    assert bad == truth["bad"]


@pytest.mark.parametrize("agent", AGENTS)
def test_record_shape_and_stable_ids(agent, tmp_path):
    """Records have the Codex reader's keys (plus file and offset); reading twice gives
    the same ids, so a re-read replaces rows instead of adding to them."""
    gen.GENERATORS[agent](tmp_path, 20, 5)
    env = gen.env_for(agent, tmp_path)
    first, _ = read_tree(agent, env)
    second, _ = read_tree(agent, env)
    assert first and [r["mid"] for r in first] == [r["mid"] for r in second]
    keys = {"ts", "sid", "mid", "rid", "model", "in", "out", "c5", "c1", "cr", "ws", "cwd", "br",
            "ver", "ent", "sc", "aid", "err", "cu", "sp", "geo", "ki", "ko", "k5", "k1", "kr",
            "f", "o"}
    assert all(set(r) == keys for r in first)
    offsets = defaultdict(set)
    for r in first:
        assert r["o"] not in offsets[r["f"]]  # a row's (file, offset) is its place
        offsets[r["f"]].add(r["o"])


@pytest.mark.parametrize("agent", AGENTS)
def test_fixture_tree_is_read(agent):
    """The shipped fixture tree of each agent reads without a bad line and gives calls."""
    root = REPO / "fixtures" / "agents" / agent
    env = gen.env_for(agent, root)
    records, bad = read_tree(agent, env)
    truth = json.loads((root / "truth.json").read_text())
    assert per_day(counted(records)) == truth["days"]
    assert bad == truth["bad"]


# --- Copilot CLI ---------------------------------------------------------------------------


def _copilot(tmp_path, lines: list[dict]) -> list[dict]:
    p = tmp_path / "otel.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in lines))
    recs, _ = reader("copilot").read(str(p), 0)
    return counted(recs)


def test_copilot_example_counts_chat_spans_once():
    recs, bad = reader("copilot").read(str(EXAMPLES / "copilot_example.jsonl"), 0)
    assert bad == 0
    got = sorted((r["in"], r["out"], r["c5"], r["cr"]) for r in counted(recs))
    # input holds both cache counts; output holds reasoning (gpt-5-mini's 384)
    assert got == [(28, 212, 3790, 9984), (1156, 640, 0, 4864), (4354, 519, 0, 9984)]


def _span(trace, span, name, attrs, end=1780390812):
    return {"type": "span", "traceId": trace, "spanId": span, "name": name,
            "endTime": [end, 0], "attributes": attrs}


def test_copilot_telemetry_duplicates_yield_to_the_chat_span(tmp_path):
    usage = {"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10}
    chat = _span("t1", "s2", "chat m", {"gen_ai.operation.name": "chat", **usage})
    log = {"hrTime": [1780390812, 5], "traceId": "t1", "spanId": "s2",
           "attributes": {"event.name": "gen_ai.client.inference.operation.details",
                          "gen_ai.response.id": "r", **usage}}
    turn = {"hrTime": [1780390813, 0], "traceId": "t1",
            "attributes": {"event.name": "copilot_chat.agent.turn", **usage}}
    agent = _span("t1", "s1", "invoke_agent x", {"gen_ai.operation.name": "invoke_agent", **usage})
    sub = _span("t1", "s9", "invoke_agent sub", {"gen_ai.operation.name": "invoke_agent", **usage})
    assert len(_copilot(tmp_path, [chat, log, turn, agent, sub])) == 1


def test_copilot_fallbacks_count_where_no_chat_span_exists(tmp_path):
    usage = {"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10}
    turn = {"hrTime": [1780390813, 0], "traceId": "t2",
            "attributes": {"event.name": "copilot_chat.agent.turn", **usage}}
    agent = _span("t2", "s1", "invoke_agent x", {"gen_ai.operation.name": "invoke_agent", **usage})
    recs = _copilot(tmp_path, [turn, agent])
    assert [r["mid"] for r in recs] == ["copilot:turn:t2:None"]


def test_copilot_input_holds_cache_and_output_holds_reasoning(tmp_path):
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 1000,
             "gen_ai.usage.output_tokens": 300, "gen_ai.usage.cache_read.input_tokens": 600,
             "gen_ai.usage.cache_creation.input_tokens": 100,
             "gen_ai.usage.reasoning.output_tokens": 200}
    (r,) = _copilot(tmp_path, [_span("t", "s", "chat m", attrs)])
    assert (r["in"], r["out"], r["c5"], r["cr"]) == (300, 300, 100, 600)


def test_copilot_same_call_in_two_files_has_one_id(tmp_path):
    line = _span("t", "s", "chat m", {"gen_ai.operation.name": "chat",
                                      "gen_ai.usage.input_tokens": 5})
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps(line) + "\n")
    b.write_text(json.dumps(line) + "\n")
    mod = reader("copilot")
    ids = [r["mid"] for p in (a, b) for r in mod.read(str(p), 0)[0]]
    assert ids[0] == ids[1]


def test_copilot_exporter_file_is_a_root(tmp_path):
    f = tmp_path / "elsewhere" / "copilot.jsonl"
    f.parent.mkdir()
    f.write_text("")
    mod = reader("copilot")
    roots = mod.default_roots({"COPILOT_OTEL_FILE_EXPORTER_PATH": str(f)}, tmp_path)
    assert [log.path for log in mod.discover(roots)] == [str(f)]


# --- Amp -----------------------------------------------------------------------------------


def test_amp_example_ledger_and_message_are_one_call():
    recs, bad = reader("amp").read(str(EXAMPLES / "amp_example.json"), 0)
    assert bad == 0
    got = sorted((r["in"], r["out"], r["c5"], r["cr"]) for r in counted(recs))
    assert got == [(4, 96, 18210, 0), (6, 412, 1304, 18210), (2210, 640, 0, 17664)]


def test_amp_input_with_the_cache_inside(tmp_path):
    usage = {"model": "claude-sonnet-4-5", "inputTokens": 1500, "outputTokens": 10,
             "cacheCreationInputTokens": 200, "cacheReadInputTokens": 1000,
             "totalTokens": 1510, "timestamp": "2026-05-27T09:40:05.120Z"}
    p = tmp_path / "T-x.json"
    p.write_text(json.dumps({"id": "T-x", "messages": [
        {"role": "assistant", "messageId": 1, "usage": usage}]}))
    (r,) = reader("amp").read(str(p), 0)[0]
    assert (r["in"], r["c5"], r["cr"]) == (300, 200, 1000)


def test_amp_copied_thread_counts_once(tmp_path):
    a = tmp_path / "a" / "threads"
    a.mkdir(parents=True)
    shutil.copy(EXAMPLES / "amp_example.json", a / "T-1.json")
    b = tmp_path / "b" / "threads"
    b.mkdir(parents=True)
    shutil.copy(EXAMPLES / "amp_example.json", b / "T-1.json")
    mod = reader("amp")
    roots = mod.default_roots({"AMP_DATA_DIR": f"{tmp_path / 'a'},{tmp_path / 'b'}"}, tmp_path)
    recs = [r for i, f in enumerate(mod.discover(roots)) for r in mod.read(f.path, i)[0]]
    assert len(recs) == 6 and len(counted(recs)) == 3


# --- pi and OpenClaw -----------------------------------------------------------------------


def test_pi_example_branches_all_count_with_stated_costs():
    recs, bad = reader("pi").read(str(EXAMPLES / "pi_example.jsonl"), 0)
    assert bad == 0 and len(counted(recs)) == 3  # the regenerated answer is a real call
    assert [r["cu"] for r in recs] == [0.078057, 0.0153012, 0.0134112]
    assert {r["cwd"] for r in recs} == {"/home/dev/acme-web"}


def test_pi_fork_copy_counts_once(tmp_path):
    lines = (EXAMPLES / "pi_example.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    fork = [json.dumps({**header, "id": "another-session"}), *lines[1:5]]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "b.jsonl").write_text("\n".join(fork) + "\n")
    mod = reader("pi")
    recs = [r for i, f in enumerate(sorted(mod.discover([tmp_path]))) for r in mod.read(f.path, i)[0]]
    assert len(recs) == 4 and len(counted(recs)) == 3


def test_pi_roots_follow_pis_own_variables(tmp_path):
    mod = reader("pi")
    assert mod.default_roots({}, tmp_path) == [tmp_path / ".pi" / "agent" / "sessions"]
    env = {"PI_CODING_AGENT_DIR": str(tmp_path / "agent")}
    assert mod.default_roots(env, tmp_path) == [tmp_path / "agent" / "sessions"]
    env["PI_CODING_AGENT_SESSION_DIR"] = str(tmp_path / "s")
    assert mod.default_roots(env, tmp_path) == [tmp_path / "s"]


def test_openclaw_archives_count_and_model_comes_from_state(tmp_path):
    d = tmp_path / "agents" / "main" / "sessions"
    d.mkdir(parents=True)
    shutil.copy(EXAMPLES / "openclaw_example.jsonl", d / "a.jsonl.reset.2026-06-09T07-00-00Z")
    (d / "sessions.json").write_text("{}")
    mod = reader("openclaw")
    logs = list(mod.discover([tmp_path]))
    assert [os.path.basename(f.path) for f in logs] == ["a.jsonl.reset.2026-06-09T07-00-00Z"]
    recs, bad = mod.read(logs[0].path, 0)
    assert bad == 0 and [r["model"] for r in recs] == ["gpt-5.2", "claude-opus-4-5"]
    assert [r["cu"] for r in recs] == [0.0227374, 0.027625] and recs[0]["aid"] == "main"
    lines = (EXAMPLES / "openclaw_example.jsonl").read_text().splitlines()
    bare = [json.loads(x) for x in lines]
    del bare[3]["message"]["model"]  # the model_change line says gpt-5.2
    (d / "b.jsonl").write_text("".join(json.dumps(x) + "\n" for x in bare))
    assert mod.read(str(d / "b.jsonl"), 1)[0][0]["model"] == "gpt-5.2"


# --- Codebuff ------------------------------------------------------------------------------


def test_codebuff_example_openai_prompt_holds_its_cache():
    recs, bad = reader("codebuff").read(str(EXAMPLES / "codebuff_example.json"), 0)
    assert bad == 0
    got = [(r["model"], r["in"], r["out"], r["c5"], r["cr"]) for r in recs]
    assert got == [("anthropic/claude-sonnet-4.5", 6, 517, 388, 20244),
                   ("openai/gpt-5-mini", 928, 402, 0, 8192)]


def test_codebuff_run_state_gives_only_the_newest_call(tmp_path):
    history = [{"role": "assistant", "providerOptions": {"usage": {"inputTokens": n,
                                                                   "outputTokens": n}}}
               for n in (100, 200, 300)]
    msgs = [{"id": "a", "variant": "ai", "timestamp": "2026-06-10T09:00:00Z",
             "metadata": {"runState": {"sessionState": {"mainAgentState": {
                 "messageHistory": history}}}}}]
    p = tmp_path / "chat-messages.json"
    p.write_text(json.dumps(msgs))
    (r,) = reader("codebuff").read(str(p), 0)[0]
    assert (r["in"], r["out"]) == (300, 300)


# --- Droid ---------------------------------------------------------------------------------


def _droid_files(tmp_path) -> dict[str, Path]:
    bundle = json.loads((EXAMPLES / "droid_example.json").read_text())
    out = {}
    for key, value in bundle.items():
        if not key.endswith("settings.json") and "settings.json " not in key:
            continue
        root = "backup" if key.startswith("/backup") else "home"
        name = key.split("/")[-1].split()[0]
        p = tmp_path / root / "sessions" / "proj" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(value))
        out[f"{root}:{name}"] = p
    return out


def test_droid_session_total_newest_snapshot_once(tmp_path):
    _droid_files(tmp_path)
    mod = reader("droid")
    env = {"DROID_SESSIONS_DIR": f"{tmp_path / 'home' / 'sessions'},{tmp_path / 'backup'}"}
    roots = mod.default_roots(env, tmp_path)
    recs = [r for i, f in enumerate(sorted(mod.discover(roots))) for r in mod.read(f.path, i)[0]]
    assert len(recs) == 3
    kept = {r["sid"]: r for r in counted(recs)}
    sonnet = kept["5f0d2c1b-8e7a-4d6c-9b5a-3e2f1d0c9b8a"]
    # the newest totals, thinking billed as output, one session total on its lock day
    assert (sonnet["in"], sonnet["out"], sonnet["c5"], sonnet["cr"]) == (
        48213, 9120 + 3311, 61904, 1284410)
    assert sonnet["model"] == "claude-sonnet-4-5" and sonnet["ent"] == "droid:session-total"
    assert dt.datetime.fromtimestamp(sonnet["ts"] / 1e6, dt.UTC).isoformat().startswith(
        "2026-05-30T14:02:11")
    assert kept["9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"]["model"] is None  # no sidecar here


def test_droid_model_from_the_transcript(tmp_path):
    p = tmp_path / "s1.settings.json"
    p.write_text(json.dumps({"providerLockTimestamp": "2026-05-31T08:45:00Z",
                             "tokenUsage": {"inputTokens": 5, "outputTokens": 1}}))
    (tmp_path / "s1.jsonl").write_text(
        json.dumps({"text": "<system-reminder>Model: GPT-5 [OpenAI] ..."}) + "\n")
    (r,) = reader("droid").read(str(p), 0)[0]
    assert r["model"] == "gpt-5"


def test_droid_model_names_normalised():
    norm = reader("droid").normalise_model
    assert norm("custom:Claude-Sonnet-4.5-[Anthropic]") == "claude-sonnet-4-5"
    assert norm("custom:Claude-Opus-4.5-Thinking-[Anthropic]-0") == "claude-opus-4-5"


# --- end to end ----------------------------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_daily_source_agent_json_equals_truth(agent, sandbox, monkeypatch):
    """``ccspend daily --source <agent> --json`` on a generated tree: per-day tokens and
    requests equal the truth (the store's own deduplication does the counting here)."""
    root = sandbox / "tree"
    truth = gen.GENERATORS[agent](root, 30, 7).as_json()["days"]
    for name, value in gen.env_for(agent, root).items():
        monkeypatch.setenv(name, value)
    r = cli("daily", "--source", agent, "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["key"]: row for row in json.loads(r.stdout)["rows"]}
    got = {k: (v["input_tokens"], v["output_tokens"], v["cache_write_tokens"],
               v["cache_read_tokens"], v["requests"]) for k, v in rows.items()}
    want = {k: (v["in"], v["out"], v["cw"], v["cr"], v["calls"]) for k, v in truth.items()}
    assert got == want
    again = cli("daily", "--source", agent, "--json")  # idempotent: nothing counted twice
    assert json.loads(again.stdout)["rows"] == json.loads(r.stdout)["rows"]
