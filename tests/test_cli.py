"""The real command in a subprocess: exit codes, messages, files, concurrency."""

import json
import subprocess
import sys
import textwrap
import time

from tests.conftest import cli, read_pty, run_cli
from tests.logs import append, assistant, write


def test_no_logs_says_where_it_looked_and_exits_0(sandbox):
    r = run_cli("daily")
    assert r.returncode == 0
    assert "No Claude Code logs found" in r.stderr
    assert str(sandbox / "claude" / "projects") in r.stderr
    assert "ccspend daily --demo" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_subcommand_runs_daily(projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    r = run_cli("--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["report"] == "daily"


def test_demo_reports_on_shipped_logs(sandbox):
    r = run_cli("daily", "--demo", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["totals"]["cost_usd"] > 0 and len(out["rows"]) == 7
    assert not (sandbox / "data" / "ccspend.duckdb").exists()  # the demo leaves no trace


def test_every_report_speaks_the_json_contract(projects):
    write(projects / "p" / "s.jsonl", [assistant(), assistant(msg="x", model="acme-2")])
    for name in ("daily", "weekly", "monthly", "session", "model", "project", "branch",
                 "source"):
        r = run_cli(name, "--json", "--timezone", "UTC")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert set(out) == {
            "report", "timezone", "since", "until", "rows", "totals", "unpriced", "warnings"
        }
        assert out["report"] == name
        for row in out["rows"]:
            for k in ("key", "input_tokens", "output_tokens", "cache_write_tokens",
                      "cache_read_tokens", "total_tokens", "cost_usd", "models"):
                assert k in row
        assert out["unpriced"][0]["model"] == "acme-2"


def test_bad_timezone_is_a_usage_error(projects):
    r = run_cli("daily", "--timezone", "Mars/Olympus")
    assert r.returncode == 2
    assert r.stderr.startswith("ccspend: error: unknown time zone") and "Traceback" not in r.stderr


def test_bad_date_is_a_usage_error(projects):
    r = run_cli("daily", "--until", "yesterday")
    assert r.returncode == 2 and "not a date" in r.stderr


def test_a_file_that_is_not_a_database_is_refused(sandbox, projects):
    bogus = sandbox / "bogus.duckdb"
    bogus.write_text("hello, I am not a database\n" * 100)
    r = run_cli("daily", "--db", str(bogus))
    assert r.returncode == 1
    assert "not a ccspend database" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert bogus.read_text().startswith("hello")  # never damaged


def test_a_foreign_duckdb_file_is_refused(sandbox, projects):
    import duckdb

    other = sandbox / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE mine (x INT)")
    con.close()
    r = run_cli("daily", "--db", str(other))
    assert r.returncode == 1 and "not a ccspend database" in r.stderr


def test_a_duckdb_file_of_views_only_is_refused_too(sandbox, projects):
    import duckdb

    other = sandbox / "views.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE VIEW answer AS SELECT 42 AS x")
    con.close()
    r = run_cli("daily", "--json", "--db", str(other))
    assert r.returncode == 1 and "not a ccspend database" in r.stderr
    con = duckdb.connect(str(other), read_only=True)
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0] == 0  # untouched


def test_a_newer_database_is_refused_not_damaged(sandbox, projects):
    import duckdb

    write(projects / "p" / "s.jsonl", [assistant()])
    assert cli("daily").returncode == 0  # setup: the database, in this process
    db = sandbox / "data" / "ccspend.duckdb"
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_migrations (name) VALUES ('m999_from_the_future')")
    con.close()
    r = run_cli("daily")
    assert r.returncode == 3 and "newer ccspend" in r.stderr


def _holder(db, seconds):
    code = textwrap.dedent(
        f"""
        import duckdb, time, sys
        con = duckdb.connect({str(db)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
        """
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_locked_database_is_waited_for(sandbox, projects):
    f = write(projects / "p" / "s.jsonl", [assistant()])
    assert cli("daily").returncode == 0  # setup: the database, in this process
    append(f, [assistant(msg="new")])  # so the next run must write
    holder = _holder(sandbox / "data" / "ccspend.duckdb", 1.5)
    t = time.monotonic()
    r = run_cli("daily", "--json")
    holder.wait()
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t >= 1.0
    assert json.loads(r.stdout)["totals"]["requests"] == 2


def test_locked_database_gives_up_with_a_clear_error(sandbox, projects):
    f = write(projects / "p" / "s.jsonl", [assistant()])
    assert cli("daily").returncode == 0  # setup: the database, in this process
    append(f, [assistant(msg="new")])
    holder = _holder(sandbox / "data" / "ccspend.duckdb", 6)
    try:
        r = run_cli("daily", env={"CCSPEND_LOCK_TIMEOUT": "1"})
    finally:
        holder.kill()
    assert r.returncode == 3
    assert "held by another ccspend process" in r.stderr and "Traceback" not in r.stderr


def test_two_commands_started_together_both_succeed(projects):
    for i in range(20):
        write(projects / "p" / f"s{i}.jsonl", [assistant(msg=f"m{i}-{j}") for j in range(200)])
    import os

    cmd = [sys.executable, "-m", "ccspend"]
    procs = [
        subprocess.Popen([*cmd, name, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ))
        for name in ("daily", "session", "model")
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert json.loads(out)["totals"]["requests"] == 4000


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(cwd),
                        "GIT_COMMITTER_DATE": "2026-09-02T00:00:00Z",
                        "GIT_AUTHOR_DATE": "2026-09-02T00:00:00Z"})


def test_since_a_branch_costs_its_work_since_it_left_main(sandbox, projects):
    repo = sandbox / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    _git(repo, "checkout", "-q", "-b", "feat/x")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "work")
    write(
        projects / "p" / "s.jsonl",
        [
            assistant(msg="old", branch="feat/x", cwd=str(repo), ts="2026-09-01T12:00:00Z"),
            assistant(msg="a", branch="feat/x", cwd=str(repo), ts="2026-09-03T12:00:00Z"),
            assistant(msg="b", branch="feat/x", cwd=str(repo / "src"), ts="2026-09-04T12:00:00Z"),
            assistant(msg="c", branch="main", cwd=str(repo), ts="2026-09-04T12:00:00Z"),
            assistant(msg="d", branch="feat/x", cwd="/elsewhere", ts="2026-09-04T12:00:00Z"),
        ],
    )
    r = run_cli("--since", "feat/x", "--json", cwd=str(repo))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["totals"]["requests"] == 2
    assert [row["key"] for row in out["rows"]] == ["2026-09-03", "2026-09-04"]
    table = run_cli("--since", "feat/x", cwd=str(repo))
    assert "feat/x: $" in table.stdout and "since it left main" in table.stdout


def test_since_an_unknown_ref_outside_git_is_a_usage_error(sandbox, projects):
    r = run_cli("--since", "no-such-branch", cwd=str(sandbox))
    assert r.returncode == 2 and "neither a date" in r.stderr


def test_rates_lists_the_card_in_force(sandbox):
    r = run_cli("rates", "--json")
    assert r.returncode == 0
    names = {m["model"] for m in json.loads(r.stdout)["models"]}
    assert {"claude-sonnet-4-5", "claude-opus-4-7", "claude-haiku-5-5"} <= names
    old = json.loads(run_cli("rates", "--at", "2024-11-15", "--json").stdout)
    haiku = next(m for m in old["models"] if m["model"] == "claude-3-5-haiku")
    assert haiku["input"] == 1.0
    assert run_cli("rates").returncode == 0


def test_progress_bar_only_on_a_terminal(sandbox, projects):
    import os
    import pty

    for i in range(5):
        write(projects / "p" / f"s{i}.jsonl", [assistant(msg=f"m{i}-{j}") for j in range(50)])
    piped = run_cli("daily", env={"CCSPEND_PROGRESS_AFTER": "0"})
    assert "reading logs" not in piped.stderr
    (sandbox / "data").mkdir(exist_ok=True)
    env = dict(os.environ, CCSPEND_PROGRESS_AFTER="0", CCSPEND_DB=str(sandbox / "data" / "tty.duckdb"))
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "ccspend", "daily"], env)
    _, out = read_pty(fd)
    os.waitpid(pid, 0)
    assert b"reading logs" in out


def test_a_database_folder_that_cannot_be_made_is_one_clear_line(sandbox, projects):
    blocker = sandbox / "file"
    blocker.write_text("x")
    r = run_cli("daily", "--db", str(blocker / "sub" / "db.duckdb"))
    assert r.returncode == 1 and "cannot create the database folder" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
