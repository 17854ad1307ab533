"""ccspend run: a real agent process (tests/fake_agent.py) capped, warned, stopped."""

import json
import os
import sys
import time
from pathlib import Path

import pytest

from ccspend.core.errors import ExitCode
from ccspend.run.execute import redact
from ccspend.run.runner import (
    Controls,
    Decision,
    decide,
    over_rate,
    prepare_command,
    used_pct,
)
from tests.conftest import cli, run_cli

FAKE = str(Path(__file__).with_name("fake_agent.py"))


def agent(sandbox, *extra, cwd=None):
    return ["--", sys.executable, FAKE, "--config", str(sandbox / "claude"),
            "--cwd", cwd or os.getcwd(), *extra]


def test_decide_warns_once_per_level_and_stops_at_the_cap():
    assert decide(40, set(), (50, 80)) == Decision((), False)
    d = decide(55, set(), (50, 80))
    assert d.warn == (50,) and not d.stop
    d = decide(85, {50}, (50, 80))
    assert d.warn == (80,) and not d.stop
    assert decide(100, {50, 80}, (50, 80)).stop
    assert decide(used_pct(5.0, 10**9, Controls()), set(), (50,)).warn == ()


def test_the_nearest_cap_counts_dollars_or_tokens():
    both = Controls(cap=2.0, cap_tokens=1000)
    assert used_pct(1.0, 100, both) == 50
    assert used_pct(0.1, 900, both) == 90
    assert used_pct(0.1, 900, Controls(cap=2.0)) == 5


def test_rate_limits_say_why_a_run_pauses():
    c = Controls(max_requests_per_minute=10, max_usd_per_hour=5.0)
    assert over_rate(9, 4.99, c) is None
    assert "10 requests" in over_rate(10, 0, c)
    assert "$5.00 in the last hour" in over_rate(0, 5.0, c)
    assert over_rate(1000, 1000, Controls()) is None


def test_claude_gets_a_session_id_and_the_cap_in_print_mode():
    cmd, sid = prepare_command(["claude", "-p", "fix it"], 2.0)
    assert cmd[:5] == ["claude", "--max-budget-usd", "2.00", "--session-id", sid]
    cmd, sid2 = prepare_command(["claude"], 2.0)  # interactive: no budget flag
    assert "--max-budget-usd" not in cmd and sid2
    cmd, sid3 = prepare_command(["claude", "--session-id", "abc", "-p", "x"], None)
    assert sid3 == "abc" and cmd.count("--session-id") == 1
    assert prepare_command(["./agents.sh", "-p"], 2.0) == (["./agents.sh", "-p"], None)


def test_secrets_are_redacted_from_the_ledger_command():
    text = redact(["tool", "--api-key", "sk-123", "--token=abc", "sk-live-9", "plain"])
    assert "sk-123" not in text and "abc" not in text and "sk-live-9" not in text
    assert "plain" in text


def test_a_run_is_stopped_at_its_cap_with_warnings_once_each(sandbox):
    r = run_cli("run", "--cap", "0.5", "--grace", "3", "--json",
                *agent(sandbox, "--usd-per-line", "0.1", "--every", "0.15"))
    assert r.returncode == ExitCode.CAPPED, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "capped" and out["stopped_by"] == "SIGINT"
    assert 0.5 <= out["spent_usd"] <= 0.5 + 0.1 + 1e-9  # at most the request in flight
    assert "saved" in r.stdout  # the agent had its chance to save
    assert r.stderr.count("50% of its") == 1 and r.stderr.count("80% of its") == 1


def test_an_agent_that_ignores_sigint_gets_sigterm_after_the_grace(sandbox):
    t = time.monotonic()
    r = run_cli("run", "--cap", "0.3", "--grace", "1", "--json",
                *agent(sandbox, "--usd-per-line", "0.1", "--every", "0.1", "--ignore-sigint"))
    assert r.returncode == ExitCode.CAPPED
    assert json.loads(r.stdout.strip().splitlines()[-1])["stopped_by"] == "SIGTERM"
    assert time.monotonic() - t < 15


def test_the_whole_process_group_stops(sandbox):
    r = run_cli("run", "--cap", "0.3", "--grace", "2",
                *agent(sandbox, "--usd-per-line", "0.1", "--every", "0.1", "--child"))
    assert r.returncode == ExitCode.CAPPED
    pid = int((sandbox / "claude" / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the agent's child survived the cap")


def test_exit_code_passes_through_and_subagents_count(sandbox):
    r = run_cli("run", "--", sys.executable, "-c", "import sys; sys.exit(7)")
    assert r.returncode == 7
    r = run_cli("run", "--cap", "100", "--json",
                *agent(sandbox, "--usd-per-line", "0.1", "--every", "0.02", "--lines", "6",
                       "--subagent"))
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.returncode == 0 and out["status"] == "ok"
    assert out["spent_usd"] == pytest.approx(0.6)


def test_run_needs_a_command(sandbox):
    assert run_cli("run", "--cap", "1").returncode == 2
    assert run_cli("run", "--", "no-such-command-here").returncode == 127


def test_every_run_lands_in_the_ledger_even_a_killed_wrapper(sandbox):
    import signal
    import subprocess

    assert run_cli("run", "--task", "t1", "--cap", "0.3", "--grace", "2",
                   *agent(sandbox, "--usd-per-line", "0.1", "--every", "0.1")).returncode == 124
    assert run_cli("run", "--task", "t1", "--", sys.executable, "-c", "pass").returncode == 0
    env = dict(os.environ)
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "ccspend", "run", "--task", "t2", "--cap", "50",
         *agent(sandbox, "--usd-per-line", "0.01", "--every", "0.2")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    logs = sandbox / "claude" / "projects"
    before = sum(p.read_text().count("\n") for p in logs.rglob("*.jsonl"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until t2's agent has spent a while
        if sum(p.read_text().count("\n") for p in logs.rglob("*.jsonl")) >= before + 5:
            break
        time.sleep(0.02)
    os.killpg(wrapper.pid, signal.SIGKILL)  # the wrapper and its agent, without warning
    wrapper.wait()
    out = json.loads(cli("runs", "--json").stdout)  # the ledger's rows: in this process
    by_task = {}
    for row in out["rows"]:
        by_task.setdefault(row["task_id"], []).append(row["status"])
    assert by_task == {"t1": ["capped", "ok"], "t2": ["interrupted"]}
    t1 = json.loads(cli("runs", "--task", "t1", "--json").stdout)["totals"]
    assert t1["runs"] == 2 and t1["success_rate"] == 0.5
    assert run_cli("runs").returncode == 0


def test_sessions_elsewhere_do_not_count_against_the_run(sandbox):
    import subprocess

    other = subprocess.Popen([sys.executable, FAKE, "--config", str(sandbox / "claude"),
                              "--cwd", "/somewhere/else", "--usd-per-line", "1", "--every", "0.05",
                              "--lines", "40"], stdout=subprocess.DEVNULL)
    try:
        r = run_cli("run", "--cap", "5", "--json",
                    *agent(sandbox, "--usd-per-line", "0.1", "--every", "0.05", "--lines", "10"))
    finally:
        other.kill()
        other.wait()
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.returncode == 0 and out["spent_usd"] == pytest.approx(1.0)


def test_spend_reads_only_new_bytes_and_counts_each_response_once(tmp_path):
    from ccspend.run.runner import Spend

    root = tmp_path / "projects"
    log = root / "-w" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    prices = {"claude-haiku-4-5": {"base": [1.0, 5.0, 1.25, 2.0, 0.1]}}
    spend = Spend([root], "/w", time.time(), "s1", prices)

    def line(msg, out, inp=1_000_000):
        from datetime import UTC, datetime

        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return json.dumps({"type": "assistant", "sessionId": "s1", "timestamp": now,
                           "requestId": f"r-{msg}", "message": {
                               "id": msg, "model": "claude-haiku-4-5",
                               "usage": {"input_tokens": inp, "output_tokens": out}}})

    log.write_text(line("a", 1) + "\n" + '{"type": "user", "message": {}}\n')
    assert spend.notice([str(log), str(root / "-elsewhere" / "x.jsonl")])
    assert spend.files == {str(log)}
    assert spend.update() == pytest.approx(1.000005)  # $1 of input, 1 output token
    with open(log, "a") as fh:  # the same response's final line, then half of a new one
        fh.write(line("a", 200_000) + "\n" + line("b", 0)[:40])
    assert spend.update() == pytest.approx(2.0) and spend.tokens == 1_200_000
    with open(log, "a") as fh:  # the rest of the half-written line
        fh.write(line("b", 0)[40:] + "\n")
    assert spend.update() == pytest.approx(3.0) and len(spend.responses) == 2
    spend.settle()
    assert spend.usd == pytest.approx(3.0) and spend.recent(time.time(), 60)[0] == 2


def test_a_command_that_moves_into_a_subfolder_is_followed_there(sandbox, tmp_path):
    sub = os.path.join(os.getcwd(), "pkg")
    r = run_cli("run", "--cap", "100", "--json",
                *agent(sandbox, "--usd-per-line", "0.1", "--every", "0.02", "--lines", "3",
                       cwd=sub))
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.returncode == 0 and out["spent_usd"] == pytest.approx(0.3)


def test_only_the_runs_project_folders_are_followed(tmp_path):
    from ccspend.run.runner import Spend

    root = tmp_path / "projects"
    for name in ("-w-app", "-w-app-pkg", "-w-apple", "-elsewhere", "-w-my-site"):
        (root / name).mkdir(parents=True)
    names = lambda spend: [os.path.basename(f) for f in spend.folders()]  # noqa: E731
    assert names(Spend([root], "/w/app", 0, "s1")) == ["-w-app"]  # claude: its own folder
    assert names(Spend([root], "/w/app", 0, None)) == ["-w-app", "-w-app-pkg"]  # and below it
    assert names(Spend([root], "/w/my.site", 0, "s1")) == ["-w-my-site"]
