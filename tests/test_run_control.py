"""ccspend run's controls beyond the cap: token caps, budgets that refuse a run,
--force, the pre-flight estimate, rate-limit pauses, and the journal that keeps a
run in the ledger when its wrapper is killed before the database row is written."""

import json
import os
import sys
import time
from pathlib import Path

import pytest

import ccspend.cli
from ccspend.cli.fast.run import OPTIONS, parse
from ccspend.core.errors import ExitCode, UsageError
from ccspend.pricing.index import version_key
from ccspend.run import runner
from ccspend.run.execute import current_branch
from tests.conftest import cli, run_cli

FAKE = str(Path(__file__).with_name("fake_agent.py"))


def agent(sandbox, *extra):
    return ["--", sys.executable, FAKE, "--config", str(sandbox / "claude"),
            "--cwd", os.getcwd(), *extra]


def runs(task=None):
    """The ledger's rows, by ``ccspend runs --json`` in this process (tests/test_run.py
    runs the command in a process of its own)."""
    args = ["runs", "--json"] + (["--task", task] if task else [])
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["rows"]


def test_the_fast_parser_knows_every_option_of_the_documented_command():
    import typer.main

    command = typer.main.get_command(ccspend.cli.app)
    run = command.commands["run"]
    documented = {o for p in run.params for o in getattr(p, "opts", []) if o.startswith("--")}
    assert documented - {"--help"} == set(OPTIONS)


def test_parse_reads_options_then_the_command():
    o = parse(["--cap", "$2", "--cap-tokens=5000", "--warn", "80,50", "--force", "--",
               "claude", "-p", "hi"])
    assert o.cap == 2.0 and o.cap_tokens == 5000 and o.warn == (50, 80) and o.force
    assert o.argv == ["claude", "-p", "hi"]
    assert parse(["--task", "t", "./agent.sh", "--cap", "9"]).argv == ["./agent.sh", "--cap", "9"]
    for bad in (["--cap", "0", "--", "x"], ["--cap"], ["--nope", "--", "x"], ["--cap", "1"],
                ["--warn", "120", "--", "x"], ["--force=yes", "--", "x"]):
        with pytest.raises(UsageError):
            parse(bad)


def test_aliases_price_as_the_newest_model_of_their_family():
    assert version_key("claude-sonnet-4-6") > version_key("claude-3-5-sonnet-20241022")


def test_branch_is_read_from_git_head(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/feature/x\n")
    (tmp_path / "sub").mkdir()
    assert current_branch(str(tmp_path / "sub")) == "feature/x"


def test_a_token_cap_stops_the_run(sandbox):
    # a real agent's first response takes seconds; half of one keeps a loaded CI honest
    r = run_cli("run", "--cap-tokens", "300000", "--grace", "2", "--json",
                *agent(sandbox, "--usd-per-line", "0.1", "--every", "0.1", "--first-after", "0.5"))
    assert r.returncode == ExitCode.CAPPED, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "capped" and 300_000 <= out["tokens"] <= 400_000
    assert out["models"] == ["claude-haiku-4-5"] and len(out["sessions"]) == 1


def test_a_spent_budget_refuses_the_run_unless_forced(sandbox):
    assert cli("budget", "set", "daily", "0.2", "--task", "nightly").returncode == 0
    first = run_cli("run", "--task", "nightly", "--json",
                    *agent(sandbox, "--usd-per-line", "0.1", "--every", "0.01", "--lines", "3"))
    assert first.returncode == 0, first.stderr
    refused = run_cli("run", "--task", "nightly", "--", sys.executable, "-c", "print('ran')")
    assert refused.returncode == 4 and "ran" not in refused.stdout
    assert "refused to start" in refused.stderr and "task:nightly:daily" in refused.stderr
    other = run_cli("run", "--task", "other", "--", sys.executable, "-c", "print('ran')")
    assert other.returncode == 0 and "ran" in other.stdout  # another task's budget is not spent
    forced = run_cli("run", "--task", "nightly", "--force", "--", sys.executable, "-c", "pass")
    assert forced.returncode == 0
    rows = runs("nightly")
    assert [r["status"] for r in rows] == ["ok", "refused", "ok"]
    assert rows[1]["note"].startswith("task:nightly:daily budget spent")
    assert rows[2]["forced"] and rows[2]["note"].startswith("forced past")


def test_the_preflight_refuses_a_prompt_that_alone_passes_the_cap(sandbox, tmp_path):
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Please refactor this module carefully. " * 20000)  # ~140k tokens
    r = run_cli("run", "--cap", "0.05", "--prompt-file", str(prompt), "--",
                sys.executable, "-c", "print('ran')")
    assert r.returncode == 4 and "ran" not in r.stdout
    assert "tokens" in r.stderr and "estimate" in r.stderr
    small = tmp_path / "small.md"
    small.write_text("fix the failing test")
    r = run_cli("run", "--cap", "0.05", "--prompt-file", str(small), "--",
                sys.executable, "-c", "print('ran')")
    assert r.returncode == 0 and "ran" in r.stdout
    assert [r["status"] for r in runs()] == ["refused", "ok"]


def test_a_run_past_its_request_rate_is_paused_then_resumed(sandbox, projects):
    events = []
    controls = runner.Controls(max_requests_per_minute=3, requests_window_s=1.5, grace=2)
    argv = [sys.executable, FAKE, "--config", str(sandbox / "claude"), "--cwd", os.getcwd(),
            "--usd-per-line", "0.01", "--every", "0.05", "--lines", "8"]
    t0 = time.monotonic()
    out = runner.run(argv, [projects], {"claude-haiku-4-5": {"base": [1, 5, 1.25, 2, 0.1]}},
                     controls, on_event=lambda kind, detail: events.append((kind, detail)))
    assert out.status == "ok" and out.spent_usd == pytest.approx(0.08)
    kinds = [k for k, _ in events]
    assert "paused" in kinds and "resumed" in kinds
    assert "requests in the last minute" in events[0][1]
    assert out.paused_s > 0.5 and time.monotonic() - t0 > 1.0


def test_a_wrapper_killed_before_its_database_row_still_leaves_one(sandbox):
    from ccspend.run.execute import journal_dir

    db = Path(os.environ["CCSPEND_DB"])
    folder = journal_dir(db)
    folder.mkdir(parents=True)
    (folder / "r-dead.json").write_text(json.dumps({
        "run_id": "r-dead", "task_id": "t9", "command": "agent", "cwd": "/x", "host": "h",
        "pid": 2**22 + 12345, "started_at": "2026-11-23T10:00:00+00:00", "cap_usd": 1.0}))
    rows = runs("t9")
    assert len(rows) == 1 and rows[0]["status"] == "interrupted"
    assert not (folder / "r-dead.json").exists()
    assert len(runs("t9")) == 1  # adopted once


def test_a_wrapper_killed_before_its_agent_starts_leaves_an_interrupted_row(sandbox, tmp_path):
    """The run is journaled before anything else: a kill while the pre-flight still
    reads the prompt (here a FIFO nobody writes to) leaves a row saying so."""
    import signal
    import subprocess

    from ccspend.run.execute import NOT_STARTED, journal_dir

    fifo = tmp_path / "prompt"
    os.mkfifo(fifo)
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "ccspend", "run", "--task", "early", "--cap", "1",
         "--prompt-file", str(fifo), "--", sys.executable, "-c", "print('ran')"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    folder = journal_dir(Path(os.environ["CCSPEND_DB"]))
    deadline = time.monotonic() + 20
    while not list(folder.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(folder.glob("*.json")), "no journal while the wrapper waits for its prompt"
    time.sleep(0.2)
    wrapper.send_signal(signal.SIGKILL)
    out, _ = wrapper.communicate()
    assert b"ran" not in out
    rows = runs("early")
    assert [(r["status"], r["note"]) for r in rows] == [("interrupted", NOT_STARTED)]
    assert not list(folder.glob("*.json"))


def test_a_run_that_cannot_start_leaves_no_journal(sandbox):
    from ccspend.run.execute import journal_dir

    assert run_cli("run", "--", "no-such-command-here").returncode == 127
    assert not list(journal_dir(Path(os.environ["CCSPEND_DB"])).glob("*.json"))
    assert runs() == []


def test_no_input_price_reaches_the_preflights_ceiling(card):
    """Below cap / ceiling bytes the pre-flight loads no price: no model may cost more."""
    from datetime import date

    from ccspend.pricing.index import price_index
    from ccspend.run.execute import INPUT_PRICE_CEILING

    for day in (date(2024, 6, 1), date.today()):
        for entry in price_index(card, day).values():
            assert entry["base"][0] < INPUT_PRICE_CEILING
            assert entry.get("lc", [0])[0] < INPUT_PRICE_CEILING


def test_sigterm_to_the_wrapper_stops_its_agent_and_records_the_run(sandbox):
    import signal
    import subprocess

    wrapper = subprocess.Popen(
        [sys.executable, "-m", "ccspend", "run", "--task", "term", "--grace", "3",
         *agent(sandbox, "--usd-per-line", "0.01", "--every", "0.1", "--lines", "200")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wait_for_lines(sandbox, 5)  # the agent runs (its SIGINT handler set) and spends
    wrapper.send_signal(signal.SIGTERM)
    out, _ = wrapper.communicate(timeout=30)
    assert wrapper.returncode == 130 and "saved" in out  # the agent had its SIGINT
    assert [r["status"] for r in runs("term")] == ["interrupted"]


def wait_for_lines(sandbox, n: int, timeout: float = 30) -> None:
    """Until the fake agent has written ``n`` log lines (it sets its signal handler first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = (sandbox / "claude" / "projects").rglob("*.jsonl")
        if sum(p.read_text().count("\n") for p in logs) >= n:
            return
        time.sleep(0.02)
    pytest.fail(f"the agent wrote fewer than {n} lines in {timeout}s")


def _running(pid: int) -> bool:
    """``pid`` is alive and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_run_ids_are_version_4_uuids():
    import uuid

    from ccspend.run.execute import _new_run_id

    for _ in range(200):
        rid = _new_run_id()
        u = uuid.UUID(rid)
        assert str(u) == rid and u.version == 4 and u.variant == uuid.RFC_4122


def test_a_run_whose_first_ledger_write_failed_is_recorded_at_its_end(sandbox, monkeypatch):
    import ccspend.store
    from ccspend.core.errors import StoreBusy
    from ccspend.run.execute import execute

    real, calls = ccspend.store.start_run, []

    def busy_once(con, row):
        calls.append(row["run_id"])
        if len(calls) == 1:
            raise StoreBusy("the database is busy")
        real(con, row)

    monkeypatch.setattr(ccspend.store, "start_run", busy_once)
    assert execute(parse(["--task", "busy", "--", sys.executable, "-c", "pass"]),
                   sys.stdout, sys.stderr) == 0
    assert len(calls) == 2 and [r["status"] for r in runs("busy")] == ["ok"]


def test_an_agent_ccspend_cannot_follow_is_stopped_and_recorded(sandbox, tmp_path):
    (sandbox / "config").mkdir(exist_ok=True)
    (sandbox / "config" / "rates.toml").write_text("this is = = not toml\n")
    alive, pidfile = tmp_path / "alive", tmp_path / "agent.pid"
    r = run_cli("run", "--cap", "1", "--grace", "1", "--", "sh", "-c",
                f"echo $$ > {pidfile}; sleep 2; touch {alive}")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "rates.toml" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    if pidfile.exists() and pidfile.read_text().strip():  # the agent started: it is gone,
        pid = int(pidfile.read_text())  # so it never reaches its touch
        deadline = time.monotonic() + 5
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _running(pid), "the agent was left running without its cap"
    else:
        time.sleep(2.5)  # it may start yet: give it the time to touch
    assert not alive.exists()  # never left running without its cap
    (sandbox / "config" / "rates.toml").unlink()
    rows = runs()
    assert len(rows) == 1 and rows[0]["status"] == "interrupted"


def test_an_unknown_route_tier_is_a_usage_error_not_a_traceback(sandbox):
    r = run_cli("run", "--route", "bogus", "--", sys.executable, "-c", "pass")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("ccspend: error: --route 'bogus' is not a usable tier")
    assert len(r.stderr.splitlines()) == 1
