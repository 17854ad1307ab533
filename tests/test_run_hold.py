"""Caps that hold: nothing of a run escapes its cap, not a child that leaves the process
group, not an agent whose wrapper is SIGKILLed, not one that ignores SIGINT and SIGTERM;
bad --cap and --grace values are usage errors; exit codes say how the agent ended."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccspend.cli.fast.run import parse
from ccspend.core.errors import ExitCode, UsageError
from tests.conftest import cli, run_cli

FAKE = str(Path(__file__).with_name("fake_agent.py"))


@pytest.fixture(autouse=True)
def no_leftovers(sandbox):
    """Whatever a failing test leaves running is killed at its end."""
    yield
    for name in ("claude/setsid.pid", "daemon.pid", "agent.pid"):
        try:
            pid = int((sandbox / name).read_text())
        except (OSError, ValueError):
            continue
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def agent(sandbox, *extra):
    return ["--", sys.executable, FAKE, "--config", str(sandbox / "claude"),
            "--cwd", os.getcwd(), *extra]


def running(pid: int) -> bool:
    """``pid`` is alive and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def log_lines(sandbox) -> int:
    logs = (sandbox / "claude" / "projects").rglob("*.jsonl")
    return sum(p.read_text().count("\n") for p in logs)


def wait_for(what, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"not within {timeout}s: {what}")


def runs(task=None):
    args = ["runs", "--json"] + (["--task", task] if task else [])
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["rows"]


# -- a child that leaves the process group ------------------------------------------


def test_a_setsid_child_that_keeps_spending_is_stopped_at_the_cap(sandbox):
    r = run_cli("run", "--cap", "0.5", "--grace", "2", "--json",
                *agent(sandbox, "--usd-per-line", "0.02", "--every", "0.05", "--lines", "2000",
                       "--setsid-child"))
    assert r.returncode == ExitCode.CAPPED, r.stderr
    child = int((sandbox / "claude" / "setsid.pid").read_text())
    assert not running(child), "the setsid child outlived the run stopped at its cap"
    lines = log_lines(sandbox)
    time.sleep(0.5)
    assert log_lines(sandbox) == lines, "something of the run spent after the cap"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "capped" and len(out["sessions"]) == 2  # both spent, both counted
    assert out["spent_usd"] == pytest.approx(lines * 0.02)


def test_a_command_that_exits_leaving_a_spender_behind_is_still_capped(sandbox):
    """The run is its processes, not only its first one: a daemon it leaves keeps the run
    open, and is stopped at the cap."""
    cmd = " ".join(["setsid", sys.executable, FAKE, "--config", str(sandbox / "claude"),
                    "--cwd", os.getcwd(), "--usd-per-line", "0.05", "--every", "0.05",
                    "--lines", "2000", "--pid-file", str(sandbox / "daemon.pid"),
                    ">/dev/null", "&"])
    r = run_cli("run", "--cap", "0.4", "--grace", "2", "--json", "--", "sh", "-c", cmd)
    assert r.returncode == ExitCode.CAPPED, r.stderr
    assert not running(int((sandbox / "daemon.pid").read_text()))
    lines = log_lines(sandbox)
    time.sleep(0.3)
    assert log_lines(sandbox) == lines
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert 0.4 <= out["spent_usd"] == pytest.approx(lines * 0.05)
    assert "the command exited; " in r.stderr


# -- a wrapper killed with SIGKILL -------------------------------------------------------


def test_a_sigkilled_wrapper_leaves_no_uncapped_agent_and_its_spend_is_known(sandbox):
    pidfile = sandbox / "agent.pid"
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "ccspend", "run", "--task", "killed", "--cap", "50",
         "--grace", "2", *agent(sandbox, "--usd-per-line", "0.01", "--every", "0.05",
                                "--lines", "5000", "--pid-file", str(pidfile))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(lambda: log_lines(sandbox) >= 10)
    pid = int(pidfile.read_text())
    os.kill(wrapper.pid, signal.SIGKILL)  # the wrapper alone, without warning
    wrapper.wait()
    assert gone_within(pid, 5), "the agent ran on, uncapped, after its wrapper was killed"
    lines = log_lines(sandbox)
    time.sleep(0.3)
    assert log_lines(sandbox) == lines

    def finished():
        rows = runs("killed")
        return rows if rows and rows[0]["cost_usd"] == pytest.approx(lines * 0.01) else None

    rows = wait_for(finished, 10)
    assert len(rows) == 1 and rows[0]["status"] == "interrupted"
    assert rows[0]["tokens"] == lines * 10_000 and rows[0]["sessions"]


def test_a_sigkilled_wrapper_s_agent_that_ignores_sigint_and_sigterm_is_killed(sandbox):
    pidfile = sandbox / "agent.pid"
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "ccspend", "run", "--grace", "1",
         *agent(sandbox, "--usd-per-line", "0.01", "--every", "0.05", "--lines", "5000",
                "--ignore-sigint", "--ignore-sigterm", "--pid-file", str(pidfile))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(lambda: log_lines(sandbox) >= 5)
    os.kill(wrapper.pid, signal.SIGKILL)
    wrapper.wait()
    assert gone_within(int(pidfile.read_text()), 6)


def test_the_journal_of_a_running_wrapper_says_what_it_has_spent(sandbox):
    """The wrapper journals its running cost: a row is known even if nothing else is."""
    from ccspend.run.execute import journal_dir

    wrapper = subprocess.Popen(
        [sys.executable, "-m", "ccspend", "run", "--task", "j",
         *agent(sandbox, "--usd-per-line", "0.01", "--every", "0.05", "--lines", "100000")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        folder = journal_dir(Path(os.environ["CCSPEND_DB"]))

        def spent():
            for p in folder.glob("*.json"):
                try:
                    cost = json.loads(p.read_text()).get("cost_usd")
                except ValueError:
                    continue
                if cost:
                    return cost
            return None

        assert wait_for(spent, 15) > 0
    finally:
        wrapper.terminate()
        wrapper.wait(timeout=30)


# -- the grace period -----------------------------------------------------------------


def test_an_agent_deaf_to_sigint_and_sigterm_is_killed_at_the_end_of_the_grace(sandbox):
    """More signals to the wrapper while it waits out the grace change nothing."""
    pidfile = sandbox / "agent.pid"
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "ccspend", "run", "--grace", "1",
         *agent(sandbox, "--usd-per-line", "0.01", "--every", "0.05", "--lines", "5000",
                "--ignore-sigint", "--ignore-sigterm", "--pid-file", str(pidfile))],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: log_lines(sandbox) >= 5)
    pid = int(pidfile.read_text())
    t0 = time.monotonic()
    wrapper.send_signal(signal.SIGTERM)
    while wrapper.poll() is None and time.monotonic() - t0 < 10:
        time.sleep(0.2)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            if wrapper.poll() is None:
                wrapper.send_signal(sig)
    _out, err = wrapper.communicate(timeout=30)
    assert gone_within(pid, 0.5), "the agent outlived its grace period"
    assert wrapper.returncode == ExitCode.INTERRUPTED and "Traceback" not in err
    assert time.monotonic() - t0 < 6


@pytest.mark.parametrize("args", [["--grace", "nan"], ["--grace", "inf"], ["--grace", "3601"],
                                  ["--grace", "-1"], ["--cap", "inf"], ["--cap", "nan"],
                                  ["--cap", "1_0"], ["--cap", "$1_0"], ["--cap-tokens", "1_000"],
                                  ["--max-usd-per-hour", "inf"]])
def test_unbounded_or_odd_numbers_are_usage_errors(args):
    with pytest.raises(UsageError) as exc:
        parse([*args, "--", "true"])
    assert args[0] in str(exc.value)


def test_grace_nan_is_a_one_line_usage_error(sandbox):
    r = run_cli("run", "--grace", "nan", "--", sys.executable, "-c", "pass")
    assert r.returncode == ExitCode.USAGE
    assert r.stderr.startswith("ccspend: error: --grace") and len(r.stderr.splitlines()) == 1
    assert parse(["--grace", "3600", "--cap", "2.5", "--", "x"]).grace == 3600


# -- exit codes ------------------------------------------------------------------------


def test_an_agent_killed_by_a_signal_exits_128_plus_its_number(sandbox):
    r = run_cli("run", "--json", "--", "sh", "-c", "kill -KILL $$")
    assert r.returncode == 128 + signal.SIGKILL, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "failed" and out["exit_code"] == 137 and out["stopped_by"] is None
    assert run_cli("run", "--", "sh", "-c", "kill -TERM $$").returncode == 128 + signal.SIGTERM


def test_a_command_not_found_is_127_and_not_executable_126(sandbox, tmp_path):
    r = run_cli("run", "--", "no-such-command-here")
    assert r.returncode == 127 and len(r.stderr.splitlines()) == 1, r.stderr
    script = tmp_path / "agent.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    r = run_cli("run", "--", str(script))
    assert r.returncode == 126 and len(r.stderr.splitlines()) == 1, r.stderr
