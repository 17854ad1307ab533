"""Gemini CLI: the reader against the generator's truth (bench/gen_agents.py), and each trap.

Each trap test fails when its handling is removed (docs/agents.md, "Gemini CLI")."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from ccspend.sources.agents import gemini
from tests.bench_modules import load
from tests.conftest import report_json, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "agents" / "gemini"
EXAMPLE = (FIXTURES / "example" / ".gemini" / "tmp" / "acme-web" / "chats"
           / "session-2026-05-17T11-06-6b1e0c52.jsonl")  # fmt: skip
SID = "6b1e0c52-7d4f-4a8e-9c1b-2f3a4d5e6f70"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gemini")
    truth = load("gen_agents").gemini(out, seed=3)
    return out / "home", truth


def _days(report: dict) -> dict:
    return {r["key"]: (r["input_tokens"], r["output_tokens"], r["cache_read_tokens"],
                       Decimal(str(r["cost_usd"]))) for r in report["rows"]}  # fmt: skip


def _truth_days(truth: dict) -> dict:
    return {d: (v["input_tokens"], v["output_tokens"], v["cache_read_tokens"],
                Decimal(v["cost_usd"]).quantize(Decimal("1e-9"))) for d, v in truth["days"].items()}


def test_daily_of_the_generated_tree_is_the_truth(sandbox, generated):
    """The issue's check, through the command: per day, input = input - cached + tool,
    output = output + thoughts, cache reads = cached, cost = the card's price of those."""
    home, truth = generated
    r = run_cli("daily", "--source", "gemini", "--json", "-z", "UTC",
                env={"GEMINI_CLI_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert {d: v[:3] for d, v in _days(got).items()} == {
        d: v[:3] for d, v in _truth_days(truth).items()}
    for day, want in _truth_days(truth).items():
        assert abs(_days(got)[day][3] - want[3]) < Decimal("1e-6"), day
    assert got["totals"]["requests"] == truth["calls"]
    # the garbage line is skipped and counted; the half-written last line is not (yet) bad
    assert sum(w.count("(1)") for w in got["warnings"]) == truth["bad_lines"], got["warnings"]


def test_the_default_place_and_the_overrides(sandbox, generated, monkeypatch):
    home, truth = generated
    monkeypatch.setenv("HOME", str(home))  # ~/.gemini/tmp
    assert report_json("daily", "--source", "gemini")["totals"]["requests"] == truth["calls"]
    env = {"GEMINI_DATA_DIR": f"/nowhere,{home / '.gemini' / 'tmp'}"}
    assert gemini.default_roots(env, Path("/x")) == [Path("/nowhere"), home / ".gemini" / "tmp"]
    assert gemini.default_roots({"GEMINI_CLI_HOME": "/g"}, Path("/x")) == [Path("/g/.gemini/tmp")]
    assert gemini.default_roots({}, Path("/x")) == [Path("/x/.gemini/tmp")]


def test_the_reference_example_exactly():
    records, bad = gemini.read(str(EXAMPLE), 5)
    assert bad == 0
    got = [(r["mid"], r["model"], r["in"], r["out"], r["cr"], r["cwd"]) for r in records]
    assert got == [
        # appended twice (tool call executing, then done): one record
        (f"{SID}:7a2b4c6d-2222-4e8f-9a0b-1c2d3e4f5a6b", "gemini-2.5-pro", 8421, 96 + 412, 0,
         "/home/dev/acme-web"),
        # 9,180 input of which 8,190 cached; 338 output + 256 thoughts
        (f"{SID}:c4d5e6f7-3333-4a1b-8c2d-3e4f5a6b7c8d", "gemini-2.5-pro", 990, 594, 8190,
         "/home/dev/acme-web"),
        # rewound afterwards, still billed
        (f"{SID}:1a2b3c4d-5555-4e6f-8a9b-0c1d2e3f4a5b", "gemini-2.5-flash", 686, 161, 9016,
         "/home/dev/acme-web"),
    ]


def _session(tmp_path: Path, *lines: dict, name="session-2026-05-17T11-06-aaaa.jsonl") -> str:
    folder = tmp_path / ".gemini" / "tmp" / "p" / "chats"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return str(path)


META = {"sessionId": "S", "projectHash": "h", "startTime": "2026-05-17T11:00:00Z"}


def _msg(mid: str, out: int, **extra) -> dict:
    return {"id": mid, "timestamp": "2026-05-17T11:00:05Z", "type": "gemini",
            "model": "gemini-2.5-flash", "tokens": {"input": 100, "output": out, "cached": 40,
                                                     "thoughts": 5, "tool": 3}, **extra}


def test_a_reappended_message_counts_its_last_line(tmp_path):
    """Even when an earlier copy says more output (the store alone would keep that one)."""
    path = _session(tmp_path, META, _msg("a", 900, status="executing"), _msg("a", 50))
    records, bad = gemini.read(path, 0)
    assert [(r["mid"], r["in"], r["out"], r["cr"]) for r in records] == [("S:a", 63, 55, 40)]
    assert bad == 0


def test_a_checkpoint_is_no_usage_and_no_bad_line(tmp_path):
    path = _session(tmp_path, META, _msg("a", 50),
                    {"$set": {"messages": [_msg("a", 50), _msg("b", 70)]}},
                    {"$set": {"lastUpdated": "2026-05-17T11:00:06Z"}})  # fmt: skip
    records, bad = gemini.read(path, 0)
    assert [r["mid"] for r in records] == ["S:a"] and bad == 0


def test_a_rewound_message_is_still_billed(tmp_path):
    user = {"id": "u", "timestamp": "2026-05-17T11:00:01Z", "type": "user", "content": []}
    path = _session(tmp_path, META, user, _msg("a", 50), {"$rewindTo": "u"})
    assert [r["mid"] for r in gemini.read(path, 0)[0]] == ["S:a"]


def test_copies_in_other_files_count_once(sandbox, tmp_path):
    """The same session in a legacy .json, its resumed .jsonl and a copied project folder:
    one message (session, id), one request."""
    home = tmp_path / "h"
    first = _session(home, META, _msg("a", 50))
    shutil.copy(first, Path(first).with_name("session-2026-05-18T09-00-aaaa.jsonl"))
    Path(first).with_name("session-2026-05-17T11-06-aaaa.json").write_text(
        json.dumps({**META, "messages": [_msg("a", 50)]}))
    other = home / ".gemini" / "tmp" / ("0" * 64) / "chats"
    shutil.copytree(Path(first).parent, other)
    got = report_json("daily", "--source", "gemini", "--logs", f"gemini={home / '.gemini/tmp'}")
    assert got["totals"]["requests"] == 1
    assert got["totals"]["output_tokens"] == 55


def test_a_subagent_is_usage_of_its_own(tmp_path):
    parent = _session(tmp_path, META, _msg("a", 50))
    sub = Path(parent).parent / "S" / "T.jsonl"
    sub.parent.mkdir()
    sub.write_text(json.dumps({**META, "sessionId": "T", "kind": "subagent"}) + "\n"
                   + json.dumps(_msg("a", 20)) + "\n")
    assert sorted(f.path for f in gemini.discover([tmp_path])) == sorted([parent, str(sub)])
    (rec,), _ = gemini.read(str(sub), 0)
    assert rec["mid"] == "T:a" and rec["sc"] and rec["aid"] == "T"


def test_other_json_files_give_nothing(tmp_path):
    folder = tmp_path / "p" / "chats"
    folder.mkdir(parents=True)
    (folder / "notes.json").write_text('{"kind": "x"}')
    (tmp_path / "p" / "logs.json").write_text('[{"type": "user"}]')
    found = [f.path for f in gemini.discover([tmp_path])]
    assert found == [str(folder / "notes.json")]  # logs.json is not in chats
    assert gemini.read(found[0], 0) == ([], 0)


def test_a_project_copied_from_its_sha256_folder_keeps_its_path(tmp_path):
    import hashlib

    root = "/home/dev/old"
    slug = tmp_path / "old"
    slug.mkdir()
    (slug / ".project_root").write_text(root + "\n")
    sha = tmp_path / hashlib.sha256(root.encode()).hexdigest() / "chats"
    sha.mkdir(parents=True)
    assert gemini.project_of(str(sha / "session-x.jsonl")) == root
    assert gemini.project_of(str(tmp_path / ("1" * 64) / "chats" / "s.jsonl")) is None


def test_the_fixture_tree_reads_as_its_truth(sandbox):
    truth = json.loads((FIXTURES / "truth.json").read_text())
    got = report_json("daily", "--source", "gemini", "--logs",
                      f"gemini={FIXTURES / 'home' / '.gemini' / 'tmp'}")  # fmt: skip
    assert {d: v[:3] for d, v in _days(got).items()} == {
        d: v[:3] for d, v in _truth_days(truth).items()}
