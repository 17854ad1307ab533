"""Secrets never stored: the ledger, the run's journal, --json and ``ccspend runs``
show a command with its keys, tokens, passwords and URL credentials hidden."""

from __future__ import annotations

import json
import shlex
import sys

import duckdb
import pytest

from ccspend.core.redact import redact, redact_argv, redact_text, redact_url
from tests.conftest import run_cli

SECRETS = [
    "sk-ant-api03-Zm9vYmFyYmF6cXV4", "sk-or-v1-0123456789abcdef", "sk-proj-abcdef0123456789",
    "ghp_0123456789abcdefghij", "gho_abcdefghijklmnop0123", "github_pat_11ABCDEFG0123456789",
    "xoxb-1234-5678-abcdefgh", "xoxp-9876-5432-zyxwvuts", "AKIAIOSFODNN7EXAMPLE",
    "hunter2secret", "eyJhbGciOiJIUzI1NiJ9.e30.sig", "s3cr3t-pass", "tok3nvalue",
    "pg-pass-123", "urltoken0123",
]


def command() -> list[str]:
    return [
        "agent", "--api-key=hunter2secret", "ANTHROPIC_API_KEY=sk-ant-api03-Zm9vYmFyYmF6cXV4",
        "GITHUB_TOKEN=ghp_0123456789abcdefghij", "db_password=s3cr3t-pass",
        "--token", "tok3nvalue", "-H", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
        "https://ann:pg-pass-123@db.example/x", "postgresql://bob:pg-pass-123@h:5432/db",
        "https://urltoken0123@github.com/o/r.git",
        "-p", "use sk-or-v1-0123456789abcdef and gho_abcdefghijklmnop0123 to call; also "
        "github_pat_11ABCDEFG0123456789, xoxb-1234-5678-abcdefgh, AKIAIOSFODNN7EXAMPLE",
        "--key", "xoxp-9876-5432-zyxwvuts", "sk-proj-abcdef0123456789",
        "--model", "sonnet", "--max-tokens", "4096", "plain-word",
    ]


def test_every_secret_is_hidden_and_everything_else_stays():
    text = redact(command())
    assert not [s for s in SECRETS if s in text], text
    for kept in ("--model sonnet", "--max-tokens 4096", "plain-word", "db.example/x", "ann:",
                 "github.com/o/r.git", "'-H' " if False else "-H", "ANTHROPIC_API_KEY=***"):
        assert kept in text, (kept, text)
    assert redact(shlex.split(text)) == text  # redacting twice changes nothing


@pytest.mark.parametrize("arg", [
    "--API-KEY=x1y2z3", "Db_Password=x1y2z3", "--client-secret=x1y2z3", "x_auth=x1y2z3",
    "Authorization: token x1y2z3", "Bearer x1y2z3", "proxy=https://u:x1y2z3@p:3128",
    "see https://x1y2z3@github.com", "curl -H 'X-Api-Key: x1y2z3'",
    "export OPENAI_API_KEY=x1y2z3", "https://h/x?access_token=x1y2z3&a=1",
])
def test_each_shape_is_hidden(arg):
    assert "x1y2z3" not in redact_text(arg), redact_text(arg)
    assert "x1y2z3" not in redact(["cmd", arg])


def test_a_flag_naming_a_secret_hides_its_next_argument_but_counts_are_not_secrets():
    assert redact_argv(["--password", "x1", "--secret-file", "f", "--max-tokens", "9",
                        "--tokens", "5", "--author", "me"]) == [
        "--password", "***", "--secret-file", "***", "--max-tokens", "9",
        "--tokens", "5", "--author", "me"]


def test_a_url_shown_in_a_message_keeps_its_user_not_its_password():
    assert redact_url("postgres://ann:pw@db:5432/t?sslmode=require&token=x") == \
        "postgres://ann@db:5432/t?sslmode=require"


def test_ledger_journal_json_and_runs_hold_no_secret(sandbox):
    """End to end: the agent copies the run's journal (written before it started); then
    the --json line, the database row and ``ccspend runs`` are checked."""
    journal_copy = sandbox / "journal.json"
    journals = sandbox / "data" / "ccspend.duckdb.cache" / "runs"
    script = f"cat {shlex.quote(str(journals))}/*.json > {shlex.quote(str(journal_copy))}"
    argv = [sys.executable, "-c", f"import os; os.system({script!r})", *command()[1:]]
    r = run_cli("run", "--cap", "5", "--json", "--", *argv)
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip().splitlines()[-1]
    assert json.loads(out)["command"].startswith(sys.executable)
    journal = journal_copy.read_text()
    assert "--max-tokens" in journal
    con = duckdb.connect(str(sandbox / "data" / "ccspend.duckdb"), read_only=True)
    stored = con.execute("SELECT command FROM runs").fetchall()[0][0]
    con.close()
    listed = run_cli("runs", "--json").stdout + run_cli("runs").stdout
    for where, text in (("--json", out), ("journal", journal), ("runs.command", stored),
                        ("ccspend runs", listed), ("stderr", r.stderr)):
        leaked = [s for s in SECRETS if s in text]
        assert not leaked, (where, leaked, text)


def test_ledger_notes_and_events_are_redacted_when_written(tmp_path):
    """A note or an event's detail can quote what an agent or a budget name said;
    the store hides secrets in them before they are kept, as it does a command."""
    from ccspend.store import Store, add_run_event, finish_run, start_run

    store = Store(tmp_path / "ledger.duckdb")
    with store.connect(write=True) as con:
        start_run(con, {"run_id": "r1", "task_id": None, "command": "claude", "cwd": None,
                        "host": None, "pid": 1, "session_id": None, "cap_usd": 1.0,
                        "note": "forced past: key sk-ant-api03-abcdefghijklmnop"})
        add_run_event(con, "r1", "paused", "Authorization: Bearer abcdefghijklmnopqrs")
        finish_run(con, {"run_id": "r1", "status": "ok", "exit_code": 0, "cost_usd": 0.1,
                         "stopped_by": None, "session_id": None,
                         "note": "retry with ghp_abcdefghijklmnopqrstuvwxyz0123456789"})
    with store.connect() as con:
        note = con.execute("SELECT note FROM runs").fetchone()[0]
        detail = con.execute("SELECT detail FROM run_events").fetchone()[0]
    assert "ghp_" not in note and "***" in note
    assert "abcdefghijklmnopqrs" not in detail
