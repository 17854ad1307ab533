"""A ccusage user's habits (#16, item 2; docs/ccusage-flags.md): each flag does what it does in
ccusage, through the fast front end (never falling back to typer), through typer, and in the
answer cache's key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ccspend.cli import options as spec
from ccspend.cli.fast import reports as fastpath
from ccspend.core.errors import ExitCode
from tests.conftest import cli, run_cli
from tests.logs import assistant, write

# The console entry point with typer taken away: a report it hands to typer fails loudly.
_FAST_ONLY = (
    "import sys, ccspend.cli as c\n"
    "def typer_main(*a, **k):\n"
    "    sys.stderr.write('fell back to typer\\n'); sys.exit(99)\n"
    "c.main = typer_main\n"
    "from ccspend.cli.fast.entry import main\n"
    "sys.argv = ['ccspend', *sys.argv[1:]]\n"
    "main()\n"
)


def fast(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``ccspend ARGS`` by the console entry point, failing (99) if it falls back to typer."""
    return subprocess.run([sys.executable, "-c", _FAST_ONLY, *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=60)  # fmt: skip


def rows(r: subprocess.CompletedProcess) -> list[dict]:
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["rows"]


@pytest.fixture
def logs(projects):
    """Three days in two projects and three sessions (2026-09-05 is a Saturday)."""
    write(projects / "a" / "s1.jsonl", [
        assistant(ts="2026-09-05T10:00:00Z", session="s1-aaaa", msg="m1", req="r1", cwd="/w/a",
                  out=100),
        assistant(ts="2026-09-05T10:05:00Z", session="s1-aaaa", msg="m2", req="r2", cwd="/w/a",
                  out=300, model="claude-opus-4-7"),
    ])  # fmt: skip
    write(projects / "b" / "s2.jsonl", [
        assistant(ts="2026-09-06T11:00:00Z", session="s2-bbbb", msg="m3", req="r3", cwd="/w/b",
                  out=5000),
        assistant(ts="2026-09-05T12:00:00Z", session="s2-bbbb", msg="m4", req="r4", cwd="/w/b",
                  out=50),
    ])  # fmt: skip
    write(projects / "c" / "s3.jsonl", [
        assistant(ts="2026-09-07T09:00:00Z", session="s3-cccc", msg="m5", req="r5", cwd="/w/a",
                  out=20),
    ])  # fmt: skip
    return projects


# -- the fast front end reads every habit, and answers without typer ---------------------------

FAST_ARGV = [
    ["-j"], ["daily", "-j", "-s", "20260905", "-u", "2026-09-06"], ["-o", "desc"],
    ["--order=asc"], ["--compact"], ["-O"], ["--offline"], ["--no-color"], ["--color"],
    ["weekly", "-w", "sunday"], ["weekly", "--start-of-week=mon"], ["daily", "-i"],
    ["-i"], ["monthly", "--instances"], ["session", "--id", "s1"], ["session", "-i", "s1-aaaa"],
    ["--last", "3"], ["model", "-o", "asc"], ["project", "-j", "--compact"],
]  # fmt: skip


@pytest.mark.parametrize("argv", FAST_ARGV, ids=" ".join)
def test_the_fast_parser_serves_each_habit(argv):
    opts = fastpath.parse(argv)
    assert opts is not None and fastpath.supported(opts), argv


def test_each_report_takes_the_habits_it_should():
    for name in ("daily", "weekly", "monthly", "session", "model", "project", "branch", "source"):
        names = {n for o in spec.report_specs(name) for n in o["names"]}
        assert {"-j", "-s", "-u", "-o", "-O", "--compact", "--no-color", "--color",
                "--last"} <= names, name  # fmt: skip
        assert ("-w" in names) == (name == "weekly")
        assert ("--instances" in names) == (name in ("daily", "weekly", "monthly"))
        assert ("--id" in names) == (name == "session")
    assert fastpath.parse(["daily", "--id", "x"]) is None  # left to typer: no such option
    assert cli("daily", "--id", "x").returncode == ExitCode.USAGE


def test_habits_answer_through_the_fast_path_as_through_typer(logs):
    for argv in (["daily", "-j", "-s", "20260905", "-u", "20260906", "-o", "desc", "-O"],
                 ["weekly", "-w", "sunday", "--compact", "--no-color"],
                 ["daily", "-i"], ["daily", "-i", "-j", "-b"], ["session", "--id", "s2"],
                 ["session", "--id", "s2", "-j"], ["model", "-o", "asc", "-j"]):  # fmt: skip
        quick = fast(*argv, env={"CCSPEND_NO_CACHE": "1"})
        full = cli(*argv)
        assert quick.returncode == 0, (argv, quick.stderr)
        assert (quick.stdout, quick.stderr) == (full.stdout, full.stderr), argv


# -- each habit does what ccusage does ---------------------------------------------------------


def test_json_short_and_dates_in_both_forms(logs):
    a = rows(fast("daily", "-j", "-s", "20260906", "-u", "20260907"))
    b = rows(fast("daily", "--json", "--since", "2026-09-06", "--until", "2026-09-07"))
    assert [r["key"] for r in a] == [r["key"] for r in b] == ["2026-09-06", "2026-09-07"]


def test_eight_digits_are_a_day_never_a_git_ref(logs):
    r = run_cli("daily", "-s", "20261345")
    assert r.returncode == ExitCode.USAGE
    assert r.stderr == "ccspend: error: --since '20261345' is not a date (YYYY-MM-DD or YYYYMMDD)\n"


def test_order_asc_and_desc_and_the_cache_keeps_them_apart(logs):
    asc = fast("daily", "-j")
    desc = fast("daily", "-j", "-o", "desc")
    assert [r["key"] for r in rows(desc)] == [r["key"] for r in rows(asc)][::-1]
    assert [r["key"] for r in rows(asc)] == ["2026-09-05", "2026-09-06", "2026-09-07"]
    # the second time each is a cached answer: still each its own
    assert fast("daily", "-j", "--order", "desc").stdout == desc.stdout
    assert fast("daily", "-j", "--order", "asc").stdout == asc.stdout
    table_asc, table_desc = fast("daily"), fast("daily", "-o", "desc")
    assert table_asc.stdout != table_desc.stdout
    assert fast("daily", "-o", "desc").stdout == table_desc.stdout


def test_order_on_sessions_blocks_and_cost_reports(logs):
    sessions = [r["key"] for r in rows(fast("session", "-j", "-o", "desc"))]
    assert sessions == ["s3-cccc", "s2-bbbb", "s1-aaaa"]  # newest activity first
    costly = [r["cost_usd"] for r in rows(fast("project", "-j"))]
    cheap = [r["cost_usd"] for r in rows(fast("project", "-j", "-o", "asc"))]
    assert costly == sorted(costly, reverse=True) and cheap == sorted(cheap)
    blocks = run_cli("blocks", "-j", "-o", "desc", "-s", "20260901")
    keys = [r["key"] for r in rows(blocks)]
    assert keys == sorted(keys, reverse=True) and len(keys) == 3


def test_compact_fits_80_columns(logs):
    wide = fast("daily", env={"COLUMNS": "200"})
    assert max(len(line) for line in wide.stdout.splitlines()) > 80
    for argv in ([], ["-b"], ["-i"]):
        compact = fast("daily", "--compact", *argv, env={"COLUMNS": "200"})
        assert max(len(line) for line in compact.stdout.splitlines()) <= 80, argv
        assert "2026-09-05" in compact.stdout
    assert fast("daily", "--compact", env={"COLUMNS": "200"}).stdout != wide.stdout  # not cached
    blocks = run_cli("blocks", "--compact", "-s", "20260901", env={"COLUMNS": "200"})
    assert blocks.returncode == 0 and max(len(x) for x in blocks.stdout.splitlines()) <= 80


def test_offline_is_accepted_and_changes_nothing(logs):
    assert fast("daily", "-O").stdout == fast("daily").stdout == fast("daily", "--offline").stdout
    assert run_cli("blocks", "-O", "-s", "20260901").returncode == 0


def test_color_and_no_color(logs):
    env = {"NO_COLOR": ""}
    coloured = fast("daily", "--color", env=env)
    assert coloured.returncode == 0 and "\x1b[" in coloured.stdout  # even into a pipe
    assert "\x1b[" in fast("daily", "--color", env={"NO_COLOR": "1"}).stdout  # --color wins
    assert "\x1b[" not in fast("daily", "--no-color", "--color", env=env).stdout
    for argv, e in ((["--no-color"], env), ([], {"NO_COLOR": "1"}),
                    (["--no-color"], {"FORCE_COLOR": "1", "NO_COLOR": ""})):  # fmt: skip
        r = fast("daily", *argv, env=e)
        assert r.returncode == 0 and "2026-09-05" in r.stdout and "\x1b" not in r.stdout, argv
    assert "\x1b[" in run_cli("blocks", "--color", "-s", "20260901", env=env).stdout


def test_start_of_week(logs, sandbox):
    monday = [r["key"] for r in rows(fast("weekly", "-j"))]
    sunday = [r["key"] for r in rows(fast("weekly", "-j", "--start-of-week", "sunday"))]
    saturday = [r["key"] for r in rows(fast("weekly", "-j", "-w", "sat"))]
    assert monday == ["2026-08-31", "2026-09-07"]  # Sat 5 and Sun 6 in the week of Mon 31
    assert sunday == ["2026-08-30", "2026-09-06"]
    assert saturday == ["2026-09-05"]
    # the config's setting, and the cache sees it change
    cfg = sandbox / "config"
    cfg.mkdir()
    (cfg / "config.toml").write_text('[reports]\nstart_of_week = "sunday"\n')
    assert [r["key"] for r in rows(fast("weekly", "-j"))] == sunday
    (cfg / "config.toml").write_text('[reports]\nstart_of_week = "saturday"  # changed\n')
    assert [r["key"] for r in rows(fast("weekly", "-j"))] == saturday
    assert [r["key"] for r in rows(fast("weekly", "-j", "-w", "monday"))] == monday
    (cfg / "config.toml").write_text('[reports]\nstart_of_week = "funday"\n')
    bad = run_cli("weekly")
    assert bad.returncode == ExitCode.ERROR
    assert "reports.start_of_week takes a day of the week" in bad.stderr
    assert bad.stderr.count("\n") == 1
    assert run_cli("daily").returncode == 0  # only a weekly report reads it


def test_instances_are_per_project_sub_rows(logs):
    day = rows(fast("daily", "-j", "-i"))[0]
    assert [p["project"] for p in day["projects"]] == ["/w/a", "/w/b"]  # most expensive first
    assert sum(p["requests"] for p in day["projects"]) == day["requests"] == 3
    assert day["projects"][0]["models"] == ["claude-opus-4-7", "claude-sonnet-4-5"]
    assert "projects" not in rows(fast("daily", "-j"))[0]  # only added when asked
    table = fast("daily", "-i").stdout
    assert "  └ /w/a" in table and "  └ /w/b" in table
    both = rows(fast("daily", "-j", "-i", "-b"))[0]
    assert both["projects"] and both["breakdown"]
    assert rows(fast("weekly", "-j", "-i"))[0]["projects"]


def test_session_id_shows_the_sessions_requests(logs):
    [row] = rows(fast("session", "-j", "--id", "s1-aaaa"))
    assert row["key"] == "s1-aaaa"
    assert [(e["timestamp"][:16], e["model"], e["output_tokens"]) for e in row["entries"]] == [
        ("2026-09-05T10:00", "claude-sonnet-4-5", 100), ("2026-09-05T10:05", "claude-opus-4-7", 300)]
    assert sum(e["cost_usd"] for e in row["entries"]) == pytest.approx(row["cost_usd"])
    assert [r["key"] for r in rows(fast("session", "-j", "-i", "s2"))] == ["s2-bbbb"]  # a prefix
    table = fast("session", "--id", "s1", env={"COLUMNS": "200"}).stdout  # labels whole
    assert "  └ 2026-09-05 10:05 opus-4-7" in table
    assert rows(fast("session", "-j", "--id", "nope")) == []


def test_last_n_days_includes_today(projects):
    today = datetime.now(UTC).replace(hour=0, minute=30, second=0, microsecond=0)
    ts = [today - timedelta(days=d) for d in (0, 2, 3)]
    write(projects / "p" / "s.jsonl", [
        assistant(ts=t.strftime("%Y-%m-%dT%H:%M:%SZ"), msg=f"m{i}", req=f"r{i}")
        for i, t in enumerate(ts)])  # fmt: skip
    report = json.loads(fast("daily", "-j", "--last", "3").stdout)
    assert [r["key"] for r in report["rows"]] == [ts[1].date().isoformat(), ts[0].date().isoformat()]
    assert report["since"] == ts[1].date().isoformat()
    assert report["until"] == ts[0].date().isoformat()
    assert len(rows(fast("daily", "-j", "--last", "4"))) == 3
    assert len(rows(fast("daily", "-j", "--last", "1"))) == 1
    assert len(rows(run_cli("blocks", "-j", "--last", "1"))) == 1


# -- mistakes: exit 2, one line, no traceback, both ways in -----------------------------------

MISTAKES = {
    ("daily", "--order", "up"): "--order takes asc or desc, not 'up'",
    ("-o", "sideways"): "--order takes asc or desc, not 'sideways'",
    ("weekly", "--start-of-week", "funday"): "--start-of-week takes a day of the week, monday "
                                             "to sunday, not 'funday'",
    ("daily", "--last", "0"): "--last takes a positive whole number, not '0'",
    ("daily", "--last", "3", "--since", "20260901"): "--last N is the last N days, today "
                                                     "included: give it without --since and "
                                                     "--until",
    ("daily", "--last", "3", "-u", "20260901"): "--last N is the last N days, today included: "
                                                "give it without --since and --until",
    ("daily", "--color", "--no-color"): "--color and --no-color: pick one",
    ("session", "--id", ""): "--id takes a session id",
    ("blocks", "-o", "up"): "--order takes asc or desc, not 'up'",
    ("blocks", "--last", "0"): "--last takes a positive whole number, not '0'",
    ("blocks", "--last", "2", "-s", "20260901"): "--last N is the last N days, today included: "
                                                 "give it without --since and --until",
    ("blocks", "--color", "--no-color"): "--color and --no-color: pick one",
}  # fmt: skip


@pytest.mark.parametrize("argv", list(MISTAKES), ids=" ".join)
def test_a_bad_value_is_one_line_and_exit_2_both_ways(sandbox, argv):
    for r in (run_cli(*argv, env={"CCSPEND_NO_CACHE": "1"}), cli(*argv)):
        assert (r.returncode, r.stderr) == (ExitCode.USAGE, f"ccspend: error: {MISTAKES[argv]}\n")
        assert r.stdout == ""
