"""Codex CLI logs are picked up by default, beside Claude Code's, incrementally."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ccspend.sources import codex
from tests.conftest import cli, report_json, run_cli
from tests.logs import assistant, write
from tests.test_codex_source import CONTEXT, META, count, usage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
ROLLOUTS = sorted(FIXTURES.glob("codex_rollout-*.jsonl"))


def daily(*args: str) -> dict:
    return report_json("daily", *args)  # in this process; the last test uses the command


def daily_cli() -> dict:
    r = run_cli("daily", "--json", "-z", "UTC")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def sessions(sandbox) -> Path:
    """``~/.codex/sessions`` of the sandbox's home, with the fixture rollouts in it."""
    root = sandbox / "home" / ".codex" / "sessions" / "2026" / "09" / "01"
    root.mkdir(parents=True)
    for path in ROLLOUTS:
        shutil.copy(path, root / path.name.removeprefix("codex_"))
    return root


def expected_tokens(folder: Path) -> int:
    total = 0
    for path in sorted(folder.glob("rollout-*.jsonl")):
        for r in codex.read(str(path), 0)[0]:
            total += r["in"] + r["out"] + r["cr"]
    return total


def test_rollouts_count_once_and_only_under_codex(sessions):
    want = expected_tokens(sessions)
    assert want > 0
    first = daily("--source", "codex")["totals"]
    assert first["total_tokens"] == want
    assert daily("--source", "codex")["totals"] == first  # a second run adds nothing
    assert daily("--source", "local")["rows"] == []
    assert daily()["totals"]["total_tokens"] == want
    assert [row["key"] for row in report_json("source")["rows"]] == ["codex"]


def test_a_growing_rollout_is_read_again_whole(sandbox, sessions, projects):
    write(projects / "p" / "s.jsonl", [assistant(inp=100, out=10)])
    path = sessions / "rollout-2026-09-03T00-00-00-0199c3d4-e5f6-7a8b-9c0d-1e2f3a4b5c6d.jsonl"
    path.write_text(META + "\n" + CONTEXT + "\n"
                    + count("2026-09-03T00:00:02Z", total=usage(100, 40, 10)) + "\n")
    before = daily("--source", "codex")["totals"]["total_tokens"]
    with path.open("a") as fh:  # the next call's total, its line not finished yet
        fh.write(count("2026-09-03T00:01:00Z", total=usage(300, 100, 30))[:-5])
    assert daily("--source", "codex")["totals"]["total_tokens"] == before
    with path.open("a") as fh:
        fh.write(count("2026-09-03T00:01:00Z", total=usage(300, 100, 30))[-5:] + "\n")
    after = daily("--source", "codex")["totals"]["total_tokens"]
    assert after == before + 220  # (300 - 100) input + 20 output: the difference of totals
    assert daily("--source", "local")["totals"]["total_tokens"] == 110


def test_no_codex_folder_is_no_error(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant(inp=100, out=10)])
    assert daily()["totals"]["total_tokens"] == 110
    assert daily("--source", "codex")["rows"] == []


def test_a_cached_report_sees_a_new_rollout(sessions):
    first = daily_cli()["totals"]["total_tokens"]
    assert daily_cli()["totals"]["total_tokens"] == first  # served from the cache
    path = sessions / "rollout-2026-09-03T00-00-00-0199c3d4-e5f6-7a8b-9c0d-1e2f3a4b5c6d.jsonl"
    path.write_text(META + "\n" + CONTEXT + "\n"
                    + count("2026-09-03T00:00:02Z", total=usage(100, 40, 10)) + "\n")
    assert daily_cli()["totals"]["total_tokens"] == first + 110


def test_the_demo_never_reads_the_users_codex_logs(sessions):
    r = run_cli("daily", "--demo", "--json")
    assert r.returncode == 0, r.stderr
    demo = json.loads(r.stdout)
    assert r.stderr.count("rollout") == 0
    assert demo["totals"]["total_tokens"] == json.loads(  # the numbers: in this process
        cli("daily", "--demo", "--json", "--source", "local").stdout)["totals"]["total_tokens"]
