"""More golden files: the reports through the console entry's fast path, and the
commands that had none (route, whatif, breakeven, budget, blocks).

Every case is a real ``python -m ccspend`` process (``run_cli``) with width,
colour, terminal and time zone pinned; stdout and stderr are compared byte for
byte with ``fixtures/golden/fast/`` and ``fixtures/golden/commands/``, exit
codes with the tables below. To accept a reviewed change:
UPDATE_GOLDEN=1 pytest tests/test_golden_more.py

What depends on the clock is pinned or kept out:

- ``breakeven`` reads the last 30 days: it runs on a copy of the demo logs moved
  forward by whole days so that they end a day or two before now (each
  request keeps its time of day and its price), and the one date it prints
  ("base rates in force DAY") is replaced by ``<today>`` once checked.
- ``budget`` measures the current day, week and month: it runs on one request
  logged an hour ago, in a zone (``Etc/GMT±N``) where it is about noon, so the
  request is in every current period whatever the hour; the "reached at" and "exceeded at" times
  and the alerts' period starts are replaced by placeholders once checked. The
  JSON (epoch seconds of the reset) and ``budget alerts`` (the firing times; the
  alerts of one check tie on ``fired_at``, so their order is not fixed) are
  left out.
- ``blocks`` and ``whatif`` run on the demo logs as shipped (November 2026):
  ``blocks --active`` finds none, as it will from now on; ``--recent`` and
  ``whatif --since 7d`` are left out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import REPO, run_cli
from tests.logs import assistant, write

GOLDEN = REPO / "fixtures" / "golden"
FAST = GOLDEN / "fast"
COMMANDS = GOLDEN / "commands"
DEMO_LOGS = REPO / "ccspend" / "demo" / "logs"


@pytest.fixture(autouse=True)
def pinned(sandbox, monkeypatch):
    """The sandbox, with the rest of what could change the bytes pinned."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CODEX_HOME", str(sandbox / "codex"))  # no Codex rollouts
    for var in ("FORCE_COLOR", "CLICOLOR_FORCE", "CCSPEND_NO_CACHE", "CCSPEND_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    return sandbox


def check_golden(path: Path, text: str) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path.relative_to(REPO)} differs"


def demo_copy(dest: Path) -> Path:
    """A copy of the shipped demo logs; its ``projects`` folder."""
    shutil.copytree(DEMO_LOGS, dest)
    return dest / "projects"


# -- the reports through the fast path (no --demo: the console entry skips typer) --------

# name: (arguments, COLUMNS, the golden of the same report run with --demo through typer)
FAST_CASES = {
    "daily-80": (["daily", "-z", "UTC"], "80", "daily-80.txt"),
    "daily-120": (["daily", "-z", "UTC"], "120", "daily-120.txt"),
    "session-breakdown-120": (
        ["session", "-z", "UTC", "--breakdown"],
        "120",
        "session-breakdown-120.txt",
    ),
    "model-80": (["model", "-z", "UTC"], "80", "model-80.txt"),
    "weekly-json": (["weekly", "-z", "Europe/Paris", "--json"], "120", "weekly.json"),
    "branch-json": (["branch", "-z", "UTC", "--json", "--breakdown"], "120", "branch.json"),
}


def fast_argv(tmp_path: Path, name: str) -> list[str]:
    args = FAST_CASES[name][0]
    projects = demo_copy(tmp_path / "logs")
    return [args[0], "--claude-dir", str(projects), "--db", str(tmp_path / "x.duckdb"), *args[1:]]


@pytest.mark.parametrize("name", sorted(FAST_CASES))
def test_fast_path_golden(name, tmp_path):
    _, width, demo_golden = FAST_CASES[name]
    argv = fast_argv(tmp_path, name)
    cold = run_cli(*argv, env={"COLUMNS": width})
    assert cold.returncode == 0, cold.stderr
    assert str(tmp_path) not in cold.stdout + cold.stderr
    check_golden(FAST / f"{name}.stdout", cold.stdout)
    check_golden(FAST / f"{name}.stderr", cold.stderr)
    # the same report as typer prints it for --demo (whose stderr adds where the logs are)
    assert cold.stdout == (GOLDEN / demo_golden).read_text(encoding="utf-8")
    warm = run_cli(*argv, env={"COLUMNS": width})  # answered from the cache
    assert (warm.returncode, warm.stdout, warm.stderr) == (0, cold.stdout, cold.stderr)


def imported(stderr: str) -> tuple[set[str], str]:
    """The modules ``PYTHONPROFILEIMPORTTIME`` listed, and the rest of stderr."""
    mods, rest = set(), []
    for line in stderr.splitlines(keepends=True):
        if line.startswith("import time:"):
            mods.add(line.rsplit("|", 1)[1].strip())
        else:
            rest.append(line)
    return mods, "".join(rest)


def test_reports_go_through_the_fast_path_and_then_the_cache(tmp_path):
    argv = fast_argv(tmp_path, "daily-80")
    env = {"COLUMNS": "80", "PYTHONPROFILEIMPORTTIME": "1"}  # python -X importtime
    golden = (FAST / "daily-80.stdout").read_text(encoding="utf-8")

    cold = run_cli(*argv, env=env)
    mods, err = imported(cold.stderr)
    assert (cold.returncode, cold.stdout, err) == (0, golden, "")
    assert "ccspend" in mods and mods & {"duckdb", "_duckdb"}  # the list is complete
    assert not {m for m in mods if m.split(".")[0] in ("typer", "click")}

    warm = run_cli(*argv, env=env)
    mods, err = imported(warm.stderr)
    assert (warm.returncode, warm.stdout, err) == (0, golden, "")
    assert "ccspend" in mods
    assert not {m for m in mods if m.split(".")[0] in ("typer", "click", "rich", "duckdb",
                                                        "_duckdb")}  # fmt: skip


@pytest.mark.parametrize("name", ["daily-80", "branch-json"])
def test_typer_prints_the_fast_paths_bytes(name, tmp_path):
    """Without --demo, typer's report prints what the fast path does, stderr included.
    ``--source all`` (every source: the same report) is left to typer by the fast path."""
    argv = [*fast_argv(tmp_path, name), "--source", "all"]
    r = run_cli(*argv, env={"COLUMNS": FAST_CASES[name][1], "PYTHONPROFILEIMPORTTIME": "1"})
    mods, err = imported(r.stderr)
    assert "typer" in mods  # it did go through typer
    expected = [(FAST / f"{name}.{s}").read_text(encoding="utf-8") for s in ("stdout", "stderr")]
    assert (r.returncode, r.stdout, err) == (0, *expected)


# -- commands without a golden until now ----------------------------------------------------


def run_case(name: str, *args: str, code: int = 0, width: str = "100", cwd=None,
             fix=None) -> tuple[str, str]:  # fmt: skip
    """Run ``ccspend ARGS``; check the exit code, then stdout and stderr against
    ``commands/NAME.stdout`` and ``.stderr``. The sandbox's path reads ``<sandbox>``;
    ``fix(text)`` replaces what depends on the clock, after checking it."""
    r = run_cli(*args, env={"COLUMNS": width}, cwd=cwd)
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    sandbox = str(Path(os.environ["CCSPEND_CONFIG_DIR"]).parent)  # the sandbox fixture's
    out, err = (t.replace(sandbox, "<sandbox>") for t in (r.stdout, r.stderr))
    if fix is not None:
        out, err = fix(out), fix(err)
    check_golden(COMMANDS / f"{name}.stdout", out)
    check_golden(COMMANDS / f"{name}.stderr", err)
    return out, err


ROUTE_CASES = {
    "route-typo": (["fix a typo in README"], 0),
    "route-architecture": (["design the architecture for a distributed payment system"], 0),
    "route-explain-high-stakes": (["--explain", "--stakes", "high", "rename a variable"], 0),
    "route-json": (["--json", "rename a variable across the codebase"], 0),
    "route-bad-stakes": (["--stakes", "bogus", "fix a typo"], 2),
    "route-empty-task": ([""], 2),  # words given, so stdin is never read
}


@pytest.mark.parametrize("name", sorted(ROUTE_CASES))
def test_route_golden(name, tmp_path):
    args, code = ROUTE_CASES[name]
    run_case(name, "route", *args, code=code, cwd=str(tmp_path))


def test_whatif_golden(tmp_path):
    logs = ["--claude-dir", str(demo_copy(tmp_path / "logs")), "--db", str(tmp_path / "w.duckdb"),
            "-z", "UTC"]  # fmt: skip
    run_case("whatif-model-haiku", "whatif", "--model", "haiku", *logs)
    run_case("whatif-model-opus-json", "whatif", "--model", "opus", "--since", "2026-11-20",
             "--until", "2026-11-21", "--json", *logs)  # fmt: skip
    run_case("whatif-route-auto", "whatif", "--route", "auto", *logs)
    run_case("whatif-no-scenario", "whatif", *logs, code=2)


LOCAL_MODEL = """
[[model]]
name = "gpu-box"
provider = "local"
  [[model.price]]
  effective_from = 2025-01-01
  hourly_usd = 0.50
  tokens_per_second = 2000
"""


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def recent_demo_copy(dest: Path, now: datetime) -> Path:
    """The demo logs moved forward by whole days, to end one to two days before ``now``."""
    projects = demo_copy(dest)
    logs = {f: [json.loads(ln) for ln in f.read_text().splitlines()]
            for f in projects.rglob("*.jsonl")}  # fmt: skip
    last = max(stamp(ln["timestamp"]) for lines in logs.values() for ln in lines)
    shift = timedelta(days=(now - last).days - 1)
    for f, lines in logs.items():
        for ln in lines:
            ln["timestamp"] = (stamp(ln["timestamp"]) + shift).strftime("%Y-%m-%dT%H:%M:%SZ")
        write(f, lines)
    return projects


def test_breakeven_golden(pinned, tmp_path):
    (pinned / "config").mkdir()
    (pinned / "config" / "rates.toml").write_text(LOCAL_MODEL)
    before = datetime.now(UTC)
    recent = ["--claude-dir", str(recent_demo_copy(tmp_path / "logs", before)),
              "--db", str(tmp_path / "b.duckdb"), "-z", "UTC"]  # fmt: skip
    (tmp_path / "none").mkdir()
    none = ["--claude-dir", str(tmp_path / "none"), "--db", str(tmp_path / "n.duckdb"), "-z", "UTC"]

    def today(text: str) -> str:
        days = {before.date().isoformat(), datetime.now(UTC).date().isoformat()}
        for day in re.findall(r"base rates in force (\d{4}-\d\d-\d\d)", text):
            assert day in days, day
        return re.sub(r"(base rates in force )\d{4}-\d\d-\d\d", r"\1<today>", text)

    run_case("breakeven-no-usage", "breakeven", "--model", "gpu-box", *none, fix=today)
    run_case("breakeven-json", "breakeven", "--model", "gpu-box", "--vs", "sonnet", "--json",
             *recent)  # fmt: skip
    run_case("breakeven-8h", "breakeven", "--model", "gpu-box", "--hours-per-day", "8",
             *recent, fix=today)  # fmt: skip
    run_case("breakeven-per-token-model", "breakeven", "--model", "claude-sonnet-4-5", *none,
             code=2)  # fmt: skip
    run_case("breakeven-vs-local", "breakeven", "--model", "gpu-box", "--vs", "gpu-box", *none,
             code=2)  # fmt: skip


def noon_zone(now: datetime) -> str:
    """A fixed-offset zone where ``now`` is between noon and one o'clock."""
    offset = 12 - now.hour  # -11 .. 12, all of them Etc/GMT zones (whose sign is POSIX's)
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def test_budget_golden(pinned, tmp_path):
    before = datetime.now(UTC).replace(microsecond=0)
    zone = noon_zone(before)
    logged = (before - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    # claude-sonnet-4-5 at $3 / $15 per million: $0.018
    write(tmp_path / "logs" / "projects" / "-home-dev-app" / "s.jsonl",
          [assistant(ts=logged, inp=1000, out=1000)])  # fmt: skip
    logs = ["--claude-dir", str(tmp_path / "logs" / "projects"), "--db",
            str(tmp_path / "b.duckdb"), "-z", zone]  # fmt: skip
    local = before.astimezone(ZoneInfo(zone))
    day = local.date()
    starts = [day, day.replace(day=1), day - timedelta(days=day.weekday())]

    def clock(text: str) -> str:
        after = datetime.now(UTC).astimezone(ZoneInfo(zone))
        for at in re.findall(r"reached at (\d{4}-\d\d-\d\d \d\d:\d\d)", text):
            assert local.strftime("%Y-%m-%d %H:%M") <= at <= after.strftime("%Y-%m-%d %H:%M")
        for at in re.findall(r"exceeded at (\d\d:\d\d)", text):  # when it was: the request
            assert at == (local - timedelta(hours=1)).strftime("%H:%M"), text
        found = [date.fromisoformat(d) for d in re.findall(r"period from (\S+)\)", text)]
        assert found in ([], starts), found  # daily, monthly, weekly: as set below
        text = re.sub(r"reached at \d{4}-\d\d-\d\d \d\d:\d\d", "reached at <now>", text)
        text = re.sub(r"exceeded at \d\d:\d\d", "exceeded at <an hour ago>", text)
        return re.sub(r"period from \S+\)", "period from <period start>)", text)

    run_case("budget-none", "budget", *logs)
    run_case("budget-set-daily", "budget", "set", "daily", "0.01")
    run_case("budget-set-project", "budget", "set", "monthly", "0.03", "--project",
             "/home/dev/app", "--alert-at", "50,80")  # fmt: skip
    run_case("budget-set-branch", "budget", "set", "weekly", "0.05", "--branch", "main",
             "--alert-at", "25")  # fmt: skip
    run_case("budget-set-bad-period", "budget", "set", "yearly", "3", code=2)
    run_case("budget-show", "budget", *logs, fix=clock)
    run_case("budget-check", "budget", "check", *logs, code=4, fix=clock)
    run_case("budget-check-again", "budget", "check", *logs, code=4, fix=clock)  # once a level


def test_blocks_golden(tmp_path):
    logs = ["--claude-dir", str(demo_copy(tmp_path / "logs")), "--db", str(tmp_path / "k.duckdb"),
            "-z", "UTC"]  # fmt: skip
    run_case("blocks", "blocks", *logs)
    run_case("blocks-json-range", "blocks", "--json", "--since", "2026-11-20", "--until",
             "2026-11-21", *logs)  # fmt: skip
    run_case("blocks-active", "blocks", "--active", *logs)  # the demo's last block ended long ago
