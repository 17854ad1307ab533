"""Budgets: set in the config file, reported with burn and time to run out."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccspend.reports import period_window
from tests.conftest import run_cli
from tests.logs import assistant, write


def test_budget_set_show_unset(sandbox, projects):
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    write(projects / "p" / "s.jsonl", [assistant(ts=now, inp=2_000_000, out=0,
                                                 model="claude-haiku-4-5")])
    assert "No budgets set" in run_cli("budget").stdout
    r = run_cli("budget", "set", "daily", "10")
    assert r.returncode == 0
    path = run_cli("config", "path").stdout.strip()
    assert "[budgets]" in Path(path).read_text()
    out = json.loads(run_cli("budget", "--json", "-z", "UTC").stdout)["budgets"]
    daily = out[0]
    assert daily["name"] == "daily" and daily["used"] == pytest.approx(2.0)
    assert daily["remaining"] == pytest.approx(8.0) and daily["percent"] == pytest.approx(20)
    # $2 in the last 30 minutes: $4/h, $8 left: two hours (or not before the day ends)
    assert daily["rate_per_hour"] == pytest.approx(4.0)
    assert run_cli("budget", "unset", "daily").returncode == 0
    assert "No budgets set" in run_cli("budget").stdout


def test_bad_budgets_are_refused(sandbox):
    assert run_cli("budget", "set", "yearly", "3").returncode == 2
    assert run_cli("budget", "set", "daily", "0").returncode == 2


def test_period_windows():
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday
    assert period_window("daily", now)[:2] == (now.date(), now.date())
    first, last, end = period_window("weekly", now)
    assert (first.isoformat(), last.isoformat()) == ("2026-11-23", "2026-11-29")
    first, last, end = period_window("monthly", now)
    assert (first.isoformat(), last.isoformat(), end.isoformat()) == (
        "2026-11-01", "2026-11-30", "2026-12-01T00:00:00+00:00")
