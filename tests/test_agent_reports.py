"""Reports per agent and across agents (#19): ``--by-agent`` sub-rows, the ``agent`` of a
session's and a source's row, the source report's exactness, and session totals (Goose,
Hermes) labelled as such on every path (the rollup, ``PRICED``, the migration)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccspend.core.records import replace
from ccspend.ingest.agent_db import ingest_agent_db
from ccspend.ingest.agent_files import ingest_agent_files
from ccspend.sources import agents
from ccspend.store import queries
from tests.conftest import REPO, run_cli
from tests.stated_agent import AGENT, StatedReader

FIXTURES = REPO / "fixtures" / "agents"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NUMBERS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens",
           "total_tokens", "requests")  # fmt: skip


@pytest.fixture
def logs(tmp_path) -> dict[str, Path]:
    """Goose's, Hermes's and Gemini CLI's shipped fixtures, copied (read in place is read
    only, but a copy keeps the shipped files out of any doubt)."""
    out = {}
    for name, src in (("goose", FIXTURES / "goose" / "sessions.db"),
                      ("hermes", FIXTURES / "hermes" / "state.db")):  # fmt: skip
        dst = tmp_path / "agents" / name / src.name
        dst.parent.mkdir(parents=True)
        shutil.copy(src, dst)
        out[name] = dst
    out["gemini"] = tmp_path / "agents" / "gemini"
    shutil.copytree(FIXTURES / "gemini" / "home", out["gemini"])
    return out


def _args(logs: dict[str, Path]) -> list[str]:
    return [a for name, p in logs.items() for a in ("--logs", f"{name}={p}")]


def _json(*args: str) -> dict:
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _ingest(store, logs: dict[str, Path]) -> None:
    for name, path in logs.items():
        agent = agents.by_name(name)
        if agent.kind == "sqlite":
            ingest_agent_db(store, agent, [path])
        else:
            ingest_agent_files(store, agent, agents.load(agent), [path])


def test_by_agent_sub_rows_sum_to_their_row_on_both_front_ends(sandbox, logs):
    fast = _json("daily", "--json", "--by-agent", *_args(logs))
    typer = _json("daily", "--json", "--by-agent", "--source", "all", *_args(logs))  # typer's
    assert fast == typer
    seen = set()
    for row in fast["rows"]:
        subs = row["agents"]
        seen.update(s["agent"] for s in subs)
        for field in NUMBERS:
            assert sum(s[field] for s in subs) == row[field], (row["key"], field)
        assert sum(s["cost_usd"] for s in subs) == pytest.approx(row["cost_usd"])
    assert seen == {"gemini", "goose", "hermes"}
    # without the flag, rows gain nothing
    assert all("agents" not in r for r in _json("daily", "--json", *_args(logs))["rows"])


def test_by_agent_is_in_the_answer_cache_key(sandbox, logs):
    plain = run_cli("monthly", "--json", *_args(logs))
    assert plain.returncode == 0, plain.stderr
    assert run_cli("monthly", "--json", *_args(logs)).stdout == plain.stdout  # cached
    split = json.loads(run_cli("monthly", "--json", "--by-agent", *_args(logs)).stdout)
    assert all(r["agents"] for r in split["rows"])


def test_session_and_source_rows_name_their_agent(sandbox, logs):
    sessions = _json("session", "--json", *_args(logs))["rows"]
    assert {r["agent"] for r in sessions} == {"gemini", "goose", "hermes"}
    rows = _json("source", "--json", "--no-ingest")["rows"]
    by = {r["key"]: r for r in rows}
    assert set(by) == {"gemini", "goose", "hermes"}
    for key, row in by.items():
        assert row["agent"] == key
        assert row["exactness"] == agents.by_name(key).exactness
    table = run_cli("source", "--no-ingest", env={"COLUMNS": "220"}).stdout
    assert "Exactness" in table and agents.by_name("goose").exactness in table


def test_session_totals_are_labelled_never_a_daily_split(sandbox, logs):
    data = _json("daily", "--json", "--by-agent", *_args(logs))
    for row in data["rows"]:
        totals = {s["agent"] for s in row["agents"] if s.get("granularity") == "session-total"}
        assert totals == {s["agent"] for s in row["agents"]} & {"goose", "hermes"}
        assert (row.get("granularity") == "session-total") == bool(totals), row["key"]
    assert any("granularity" not in r for r in data["rows"])  # Gemini's days: per call
    sessions = _json("session", "--json", "--no-ingest")["rows"]
    for r in sessions:
        assert (r.get("granularity") == "session-total") == (r["agent"] in ("goose", "hermes"))
    table = run_cli("daily", "--no-ingest").stdout
    assert "holds session totals" in table and " * " in table
    only_gemini = run_cli("daily", "--no-ingest", "--source", "gemini").stdout
    assert "holds session totals" not in only_gemini


def test_rollup_and_priced_agree_on_agents_and_session_totals(store, card, logs):
    _ingest(store, logs)
    store.refresh(card)
    with store.connect() as con:
        queries.load_card(con, card)
        for tz in ("UTC", "America/Los_Angeles"):
            for group in ("daily", "weekly", "session", "source"):
                f = queries.Filters(tz=tz)
                fast = queries.summarise(con, group, f, by_model=True, by_agent=True)
                assert queries._rollup_ready(con, f)
                slow = queries.summarise(con, group, replace(f, since_ts=EPOCH), by_model=True,
                                         by_agent=True)
                assert fast.groups == slow.groups and fast.agents == slow.agents
                assert any(a.session_total for a in fast.groups)
                assert not all(a.session_total for a in fast.groups)
            whole = queries.summarise(con, "session", queries.Filters(tz=tz))  # session_totals
            slow = queries.summarise(con, "session", queries.Filters(tz=tz, since_ts=EPOCH))
            assert whole.groups == slow.groups
            assert {a.agent for a in whole.groups if a.session_total} == {"goose", "hermes"}


def test_migration_labels_session_totals_already_stored(store, card, logs):
    """A store written before m016: its rollup and session rows learn which are totals."""
    _ingest(store, {k: v for k, v in logs.items() if k == "goose"})
    store.refresh(card)
    with store.connect(write=True) as con:
        con.execute("ALTER TABLE rollup DROP COLUMN session_total")
        con.execute("ALTER TABLE session_totals DROP COLUMN session_total")
        con.execute("ALTER TABLE session_totals DROP COLUMN source")
        con.execute("DELETE FROM schema_migrations WHERE name = 'm016_session_total_records'")
    store.refresh(card)
    with store.connect() as con:
        queries.load_card(con, card)
        daily = queries.summarise(con, "daily", queries.Filters())
        sessions = queries.summarise(con, "session", queries.Filters())
    assert daily.groups and all(a.session_total for a in daily.groups)
    assert sessions.groups and all(a.session_total and a.agent == "goose"
                                   for a in sessions.groups)


def test_by_agent_is_refused_over_a_team_store(sandbox, tmp_path):
    r = run_cli("daily", "--by-agent", "--team", str(tmp_path / "team.duckdb"))
    assert r.returncode == 2 and "--by-agent" in r.stderr and "Traceback" not in r.stderr


# -- a log's stated cost against the card (``reconcile --agents``) ----------------------

# two calls with a stated cost (one of a model the card does not know), one without
STATED = [("gemini-2.5-flash", 1_000_000, 0, 0.5), ("no-such-model", 10, 10, 0.25),
          ("gemini-2.5-flash", 5, 0, None)]  # fmt: skip


def test_reconcile_agents_shows_the_stated_cost_beside_the_card(sandbox, store, card, tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("a\nb\nc\n")
    ingest_agent_files(store, AGENT, StatedReader(log, STATED), [tmp_path])
    r = run_cli("reconcile", "--agents", "--no-ingest", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    rows = {row["model"]: row for row in data["rows"]}
    assert set(rows) == {"gemini-2.5-flash", "no-such-model"}  # s:3 states nothing: not here
    flash = rows["gemini-2.5-flash"]
    # 1M input: stated $0.50; the card's gemini-2.5-flash input price is $0.30 per million
    assert (flash["agent"], flash["requests"], flash["stated_usd"]) == ("fakeagent", 1, 0.5)
    assert flash["card_usd"] == pytest.approx(0.30) and flash["diff_usd"] == pytest.approx(-0.2)
    unknown = rows["no-such-model"]
    assert unknown["card_usd"] is None and unknown["unpriced_requests"] == 1  # never $0
    assert data["totals"]["stated_usd"] == pytest.approx(0.75)
    assert data["totals"]["card_usd"] == pytest.approx(0.30)
    table = run_cli("reconcile", "--agents", "--no-ingest")
    assert table.returncode == 0, table.stderr
    assert "unpriced" in table.stdout and "0.5000" in table.stdout and "0.3000" in table.stdout
    # the reports themselves still bill what the log stated
    month = _json("monthly", "--json", "--no-ingest")
    assert month["totals"]["cost_usd"] == pytest.approx(0.75 + 5 * 0.30 / 1e6)


def test_reconcile_agents_is_not_an_export_comparison(sandbox):
    r = run_cli("reconcile", "--agents", "--provider", "openai", "--no-ingest")
    assert r.returncode == 2 and "--provider" in r.stderr and "Traceback" not in r.stderr


# -- report --html and blocks read --logs too ---------------------------------------------


def test_blocks_and_html_read_an_agent_from_logs(sandbox, logs, tmp_path):
    for args in (("blocks", "--json"), ("report", "--html", str(tmp_path / "p.html"))):
        bad = run_cli(*args, "--logs", "nope=/tmp")
        assert bad.returncode == 2 and "no agent 'nope'" in bad.stderr, bad.stderr
    page = tmp_path / "page.html"
    r = run_cli("report", "--html", str(page), "--logs", f"gemini={logs['gemini']}")
    assert r.returncode == 0, r.stderr
    assert "gemini-2.5-flash" in page.read_text()
    r = run_cli("blocks", "--json", "--logs", f"goose={logs['goose']}")
    assert r.returncode == 0, r.stderr
    read = {row["key"] for row in _json("source", "--json", "--no-ingest")["rows"]}
    assert read == {"gemini", "goose"}  # each command read the agent from where it was told


def test_readme_agent_table_has_every_agent_once():
    """One line per agent of the registry (and Claude Code), each saying exact and coarse."""
    lines = [line for line in (REPO / "README.md").read_text().splitlines()
             if line.startswith("| ") and line.count("|") == 5]
    for agent in (agents.CLAUDE_CODE, *agents.AGENTS):
        source = "local" if agent is agents.CLAUDE_CODE else agent.name
        rows = [line for line in lines if f"| `{source}` |" in line]
        assert len(rows) == 1, agent.name
        assert rows[0].startswith(f"| {agent.label} |"), rows[0]
        exact, coarse = (c.strip() for c in rows[0].split("|")[3:5])
        assert exact and coarse, rows[0]


def test_droid_sessions_are_labelled_session_totals(sandbox, tmp_path):
    home = tmp_path / "droid-home"
    shutil.copytree(FIXTURES / "droid" / "home", home)
    data = _json("session", "--json", "--source", "droid", "--logs",
                 f"droid={home / '.factory' / 'sessions'}")
    assert data["rows"] and all(r.get("granularity") == "session-total" for r in data["rows"])
