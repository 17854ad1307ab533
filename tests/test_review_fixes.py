"""Issue #16, item 3: what the review found, one test (at least) per defect."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from ccspend.forecast.limits import from_official, from_spend
from tests.conftest import cli, run_cli
from tests.logs import assistant, write

NOW = 1_800_000_000.0


def stamp(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# -- a limit already passed: when it was passed, not "now" -------------------------------------


def test_a_limit_already_passed_was_reached_when_the_running_total_crossed_it():
    points = [(NOW - 40 * 60, 10_000.0), (NOW - 20 * 60, 15_000.0), (NOW - 5 * 60, 5_000.0)]
    f = from_spend(30_000, 19_000, "tokens", points, NOW, resets_at=NOW + 3600, source="plan")
    assert f.reaches_at == NOW - 20 * 60
    readings = [(NOW - 30 * 60, 90.0, NOW + 60), (NOW - 10 * 60, 100.0, NOW + 60),
                (NOW, 100.0, NOW + 60)]  # fmt: skip
    assert from_official(readings, NOW).reaches_at == NOW - 10 * 60


def test_blocks_limit_already_passed_says_exceeded_at_the_time_it_was(sandbox, projects):
    now = datetime.now(UTC)
    crossed = now - timedelta(minutes=10)
    write(projects / "p" / "s.jsonl", [
        assistant(msg="a", ts=stamp(now - timedelta(minutes=20)), inp=10_000, out=0),
        assistant(msg="b", ts=stamp(crossed), inp=15_000, out=0),
    ])  # fmt: skip
    r = run_cli("blocks", "--active", "--limit", "pro", "-z", "UTC")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("5-hour block"))
    assert f"exceeded at {crossed:%H:%M}" in line, line
    assert "reached at" not in line and "%" not in line.split("Source:")[0], line


# -- --since BRANCH: days spanned, the ref and commit in the JSON, a summary that fits ---------


def _git(cwd, *args) -> str:
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(cwd), "GIT_COMMITTER_DATE":
           "2026-09-02T00:00:00Z", "GIT_AUTHOR_DATE": "2026-09-02T00:00:00Z"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env).stdout.strip()  # fmt: skip


def _branch_repo(sandbox, projects):
    repo = sandbox / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    base = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "-b", "feature/router-with-a-longer-name")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "work")
    days = ("2026-09-03", "2026-09-05", "2026-09-08")  # three days with use, six days of work
    write(projects / "p" / "s.jsonl", [
        assistant(msg=f"m{i}", branch="feature/router-with-a-longer-name", cwd=str(repo),
                  ts=f"{d}T12:00:00Z", inp=1_000_000, out=100_000) for i, d in enumerate(days)
    ])  # fmt: skip
    return repo, base


def test_since_a_branch_counts_the_days_its_work_spans_and_fits_80_columns(sandbox, projects):
    repo, _ = _branch_repo(sandbox, projects)
    r = run_cli("--since", "feature/router-with-a-longer-name", "-z", "UTC", cwd=str(repo),
                env={"COLUMNS": "80"})  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = r.stdout[r.stdout.index("feature/router-with-a-longer-name: $"):]
    assert "over 6 days (3 with use), 3 requests" in summary, summary
    assert "since it left main at" in summary
    assert all(len(line) <= 80 for line in summary.splitlines()), summary


def test_since_a_branch_json_names_the_ref_and_the_commit(sandbox, projects):
    repo, base = _branch_repo(sandbox, projects)
    r = run_cli("--since", "feature/router-with-a-longer-name", "--json", cwd=str(repo))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["since"] == "feature/router-with-a-longer-name"
    assert out["since_ref"]["commit"] == base and out["since_ref"]["base"] == "main"
