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
