"""Golden files: the CLI's output on the shipped demo logs, byte for byte.

Time zone, width and colour are pinned. To accept a reviewed change:
UPDATE_GOLDEN=1 pytest tests/test_golden.py
"""

import os

import pytest

from tests.conftest import REPO, run_cli

GOLDEN = REPO / "fixtures" / "golden"
CASES = {
    "daily-80.txt": (["daily", "--demo", "-z", "UTC"], "80"),
    "daily-120.txt": (["daily", "--demo", "-z", "UTC"], "120"),
    "session-breakdown-120.txt": (["session", "--demo", "-z", "UTC", "--breakdown"], "120"),
    "model-80.txt": (["model", "--demo", "-z", "UTC"], "80"),
    "weekly.json": (["weekly", "--demo", "-z", "Europe/Paris", "--json"], "120"),
    "branch.json": (["branch", "--demo", "-z", "UTC", "--json", "--breakdown"], "120"),
    "daily-chart-100.txt": (["daily", "--demo", "-z", "UTC", "--chart"], "100"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    args, width = CASES[name]
    r = run_cli(*args, env={"COLUMNS": width, "NO_COLOR": "1", "TERM": "dumb"})
    assert r.returncode == 0, r.stderr
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(r.stdout)
    assert r.stdout == path.read_text()


def test_narrow_tables_fit_80_columns():
    for name in ("daily-80.txt", "model-80.txt"):
        for line in (GOLDEN / name).read_text().splitlines():
            assert len(line) <= 80, line
