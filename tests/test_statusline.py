"""The status line: tolerant, fast-path only, right about money, and installable."""

import json
import os
import subprocess
import sys
import time

import duckdb

from tests.conftest import cli, report_json, run_cli
from tests.logs import assistant, user, write


def status(payload, env=None):
    data = payload if isinstance(payload, str) else json.dumps(payload)
    full = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "ccspend", "statusline"], input=data,
                          capture_output=True, text=True, env=full, timeout=30)


def test_missing_or_malformed_input_prints_a_fallback_and_exits_0(sandbox):
    for payload in ("", "not json", "[1, 2]", '{"model": 3}'):
        r = status(payload)
        assert r.returncode == 0 and r.stdout.strip() and "Traceback" not in r.stderr


def test_session_cost_comes_from_the_transcript_priced_like_the_reports(sandbox, projects):
    t = write(projects / "p" / "s1.jsonl", [
        user(session="s1"),
        assistant(session="s1", msg="a", inp=1000, out=1, model="claude-opus-4-7"),
        assistant(session="s1", msg="a", inp=1000, out=2000, model="claude-opus-4-7"),
        assistant(session="s1", msg="b", inp=500, cache_read=10_000, model="claude-haiku-4-5"),
    ])
    # a subagent's spend is the session's spend
    write(projects / "p" / "s1" / "subagents" / "agent-x1.jsonl", [
        assistant(session="s1", msg="sub", req="rs", inp=300_000, out=10, sidechain=True,
                  model="claude-haiku-4-5"),
    ])
    assert cli("statusline", "--refresh").returncode == 0  # setup, in this process
    r = status({"session_id": "s1", "transcript_path": str(t), "model": {"display_name": "Opus"}})
    expected = report_json("session")["rows"][0]["cost_usd"]
    assert r.returncode == 0
    assert f"session ${expected:.2f}" in r.stdout and r.stdout.startswith("Opus")


def test_official_limits_with_pace_and_warning_colour(sandbox):
    now = time.time()
    payload = {"model": {"id": "claude-opus-4-7"}, "rate_limits": {
        "five_hour": {"used_percentage": 85, "resets_at": now + 2.5 * 3600},
        "seven_day": {"used_percentage": 10.0, "resets_at": now + 3.5 * 86400}}}
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    r = subprocess.run([sys.executable, "-m", "ccspend", "statusline"], input=json.dumps(payload),
                       capture_output=True, text=True, env=env, timeout=30)
    assert "\033[33m5h 85% ▲35\033[0m" in r.stdout  # 85% used, half the window gone
    assert "7d 10% ▼40" in r.stdout


def test_readings_land_in_the_database_on_refresh(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    status({"session_id": "s", "rate_limits": {"five_hour": {"used_percentage": 12.5,
                                                             "resets_at": 1900000000}}})
    assert run_cli("statusline", "--refresh").returncode == 0
    con = duckdb.connect(str(sandbox / "data" / "ccspend.duckdb"), read_only=True)
    rows = con.execute("SELECT window_name, used_percentage FROM rate_limit_readings").fetchall()
    con.close()
    assert ("five_hour", 12.5) in rows


def test_the_status_line_never_imports_the_heavy_stack(sandbox):
    code = ("import io, sys, json; from ccspend.cli.fast.statusline import run; "
            "run(io.StringIO(json.dumps({'model': {'id': 'x'}})), io.StringIO()); "
            "print(sorted(m.split('.')[0] for m in sys.modules "
            "if m.split('.')[0] in ('duckdb', 'pydantic', 'typer', 'rich')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stderr


def test_install_keeps_other_settings_and_uninstall_reverses_it(sandbox):
    settings = sandbox / "claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"model": "opus", "hooks": {"Stop": []}}))
    r = run_cli("statusline", "--install")
    assert r.returncode == 0 and "backup" in r.stdout
    data = json.loads(settings.read_text())
    assert data["statusLine"]["type"] == "command"
    assert data["statusLine"]["command"].endswith("ccspend statusline")  # by its path
    assert data["model"] == "opus" and data["hooks"] == {"Stop": []}
    assert list(settings.parent.glob("settings.json.bak-*"))
    assert "already" in run_cli("statusline", "--install").stdout
    assert run_cli("statusline", "--uninstall").returncode == 0
    assert json.loads(settings.read_text()) == {"model": "opus", "hooks": {"Stop": []}}


def test_install_refuses_a_broken_settings_file(sandbox):
    settings = sandbox / "claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("{broken")
    r = run_cli("statusline", "--install")
    assert r.returncode == 1 and "not valid JSON" in r.stderr
    assert settings.read_text() == "{broken"


def test_shell_form_needs_no_stdin(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    assert cli("statusline", "--refresh").returncode == 0  # setup, in this process
    r = run_cli("statusline", "--shell")
    assert r.returncode == 0 and "today" in r.stdout


def test_a_stale_summary_starts_one_background_refresh(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    env = {k: v for k, v in os.environ.items() if k != "CCSPEND_NO_BACKGROUND"}
    r = subprocess.run([sys.executable, "-m", "ccspend", "statusline"],
                       input=json.dumps({"model": {"id": "x"}}), capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.returncode == 0
    summary = sandbox / "data" / "ccspend.duckdb.cache" / "statusline" / "summary.json"
    deadline = time.time() + 20
    while time.time() < deadline and not summary.exists():
        time.sleep(0.02)
    assert summary.exists()
    while time.time() < deadline and (summary.parent / "refresh.lock").exists():
        time.sleep(0.02)
    data = json.loads(summary.read_text())
    assert "prices" in data and "claude-sonnet-4-5" in data["prices"]


def test_a_reading_is_recorded_once_while_it_holds(sandbox):
    from ccspend.live.sessions import record_readings

    folder = sandbox / "sl"
    obj = {"rate_limits": {"five_hour": {"used_percentage": 10, "resets_at": 2e9}}}
    for i in range(5):
        record_readings(obj, folder, 1000.0 + i)
    obj["rate_limits"]["five_hour"]["used_percentage"] = 11
    record_readings(obj, folder, 1006.0)
    record_readings(obj, folder, 1100.0)  # unchanged, but a minute later: kept for the rate
    assert len((folder / "readings.jsonl").read_text().splitlines()) == 3


def test_a_call_imports_no_pathlib_subprocess_or_datetime(sandbox, projects):
    """A call, even one that starts the background refresh, imports none of the modules
    that cost the status line milliseconds on every keystroke (pathlib 5 ms; subprocess,
    datetime, contextlib). Run with ``-S`` on the checkout: a venv's ``.pth`` files (an
    editable install's finder) import pathlib first, and would hide it."""
    from tests.conftest import REPO

    t = write(projects / "p" / "s.jsonl", [assistant(session="s")])
    assert cli("statusline", "--refresh").returncode == 0  # setup: the summary
    payload = {"session_id": "s", "transcript_path": str(t), "model": {"display_name": "Opus"}}
    assert status(payload).returncode == 0  # the price index and the session's state, kept
    summary = sandbox / "data" / "ccspend.duckdb.cache" / "statusline" / "summary.json"
    data = json.loads(summary.read_text())
    summary.write_text(json.dumps({**data, "written_at": 0}))  # stale: a refresh is due
    env = {k: v for k, v in os.environ.items() if k != "CCSPEND_NO_BACKGROUND"}
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r}); import io; before = set(sys.modules)\n"
            "from ccspend.cli.fast.statusline import run\n"
            f"out = io.StringIO(); run(io.StringIO({json.dumps(payload)!r}), out)\n"
            "print(out.getvalue().strip())\n"
            "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
            "('pathlib', 'subprocess', 'datetime', 'contextlib', 'zoneinfo')))")
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                       env=env, timeout=30)
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Opus │ session $"), r.stderr
    assert lines[1] == "[]"
    deadline = time.time() + 20  # and the refresh it started ran: a new summary
    while time.time() < deadline and json.loads(summary.read_text())["written_at"] == 0:
        time.sleep(0.05)
    assert json.loads(summary.read_text())["written_at"] > 0
    while time.time() < deadline and (summary.parent / "refresh.lock").exists():
        time.sleep(0.02)
