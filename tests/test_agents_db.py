"""The SQLite agents' readers and ingest against generated stores with every trap
(bench/agents_db_gen.py) and their exact truth; the agents' databases never changed
or locked."""

from __future__ import annotations

import importlib
import os
import sqlite3
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import agents_db_gen as gen
from ccspend.ingest.agent_db import ingest_agent_db, read_db
from ccspend.sources.agents import goose, hermes, kilo, opencode
from ccspend.store import agent_db

MODULES = {"opencode": "opencode", "kilo": "kilo", "goose": "goose", "hermes": "hermes",
           "copilot-store": "copilot_store"}
MUTATE = {"opencode": gen.mutate_opencode, "kilo": gen.mutate_opencode,
          "goose": gen.mutate_goose, "hermes": gen.mutate_hermes,
          "copilot-store": gen.mutate_copilot}


def agent(name: str):
    return SimpleNamespace(name=name, module=f"ccspend.sources.agents.{MODULES[name]}")


def module(name: str):
    return importlib.import_module(agent(name).module)


def build(name: str, root: Path):
    rel, builder = gen.BUILDERS[name]
    path = root / rel
    return builder(path), path


def days_of(records: list[dict]) -> dict[str, list[int]]:
    """Per-day sums of the records, each id once (the most output), as the store counts."""
    best: dict[str, dict] = {}
    for r in records:
        if r["mid"] not in best or r["out"] > best[r["mid"]]["out"]:
            best[r["mid"]] = r
    truth = gen.Truth()
    for r in best.values():
        truth.add(r["ts"] // 1000, r["in"], r["out"], r["cr"], r["c5"], r["cu"])
    return truth


def store_days(store, name: str) -> tuple[dict[str, list[int]], float]:
    with store.connect() as con:
        rows = con.execute(
            "SELECT strftime(c.ts AT TIME ZONE 'UTC', '%Y-%m-%d') AS d, sum(c.input_tokens), "
            "sum(c.output_tokens), sum(c.cache_read_tokens), sum(c.cache_write_5m_tokens), "
            "count(*), sum(coalesce(r.logged_cost_usd, 0)) FROM counted c "
            "JOIN files f USING (file_id) JOIN requests r "
            "ON r.file_id = c.file_id AND r.line_offset = c.line_offset "
            "WHERE f.source = ? GROUP BY d ORDER BY d", [name]).fetchall()
    return {d: [int(v) for v in vals] for d, *vals, _ in rows}, sum(r[-1] for r in rows)


def request_count(store) -> tuple[int, int]:
    with store.connect() as con:
        return (con.execute("SELECT count(*) FROM requests").fetchone()[0],
                con.execute("SELECT count(*) FROM files").fetchone()[0])


ALL = list(MODULES)


@pytest.mark.parametrize("name", ALL)
def test_reader_gives_the_truth(name, tmp_path):
    g, path = build(name, tmp_path)
    g.con.close()
    records, mark, bad = read_db(module(name), str(path), None)
    got = days_of(records)
    assert got.days == g.truth.days
    assert got.cost == pytest.approx(g.truth.cost)
    assert bad == g.truth.bad


@pytest.mark.parametrize("name", ALL)
def test_ingest_gives_the_truth_and_a_second_run_writes_nothing(name, tmp_path, store):
    g, path = build(name, tmp_path)
    g.con.close()
    report = ingest_agent_db(store, agent(name), [path.parent])
    assert report.files_read == 1 and not report.unreadable
    days, cost = store_days(store, name)
    assert days == g.truth.days
    assert cost == pytest.approx(g.truth.cost)
    before = request_count(store)
    again = ingest_agent_db(store, agent(name), [path.parent])
    assert again.files_read == 0 and again.records == 0
    assert request_count(store) == before


@pytest.mark.parametrize("name", ALL)
def test_incremental_changes_replace_their_records(name, tmp_path, store, monkeypatch):
    g, path = build(name, tmp_path)
    ingest_agent_db(store, agent(name), [path.parent])  # while the agent's connection is open
    MUTATE[name](g)
    report = ingest_agent_db(store, agent(name), [path.parent])
    assert report.files_read == 1
    days, cost = store_days(store, name)
    assert days == g.truth.days
    assert cost == pytest.approx(g.truth.cost)
    g.con.close()
    before = request_count(store)
    again = ingest_agent_db(store, agent(name), [path.parent])  # the WAL checkpointed on close
    assert request_count(store) == before
    assert again.records == 0  # sessions read again within the slack, the same: not written


def test_only_changed_sessions_are_read_again(tmp_path, store, monkeypatch):
    """The watermark: the second read asks for the changed sessions, not the history."""
    g, path = build("opencode", tmp_path)
    ingest_agent_db(store, agent("opencode"), [path.parent])
    seen = []
    real = agent_db.FAMILIES["opencode"]

    def spy(con, since):
        rows = real(con, since)
        seen.append((since, {m["session_id"] for m in rows["messages"]}))
        return rows

    monkeypatch.setitem(agent_db.FAMILIES, "opencode", spy)
    t = g.con.execute("SELECT max(time_updated) FROM message").fetchone()[0] + 3_600_000
    new = g.session(t)
    g.message(new, t + 1000, steps=1)
    g.commit()
    ingest_agent_db(store, agent("opencode"), [path.parent])
    since, sessions = seen[-1]
    # the new session, and those written within the slack before the last watermark
    recent = {r[0] for r in g.con.execute("SELECT session_id FROM message WHERE time_updated > ?",
                                          (since,))}
    assert since is not None and sessions == recent | {new}
    assert len(sessions) == 2  # not the history
    assert store_days(store, "opencode")[0] == g.truth.days


# -- each trap, alone ----------------------------------------------------------------------


def _records(name, tmp_path):
    g, path = build(name, tmp_path)
    g.con.close()
    return g, read_db(module(name), str(path), None)[0]


def test_opencode_counts_each_step_not_the_message_tokens(tmp_path):
    g, records = _records("opencode", tmp_path)
    con = sqlite3.connect(tmp_path / "opencode" / "opencode.db")
    steps = con.execute("SELECT count(*) FROM part WHERE data LIKE '%step-finish%' AND "
                        "session_id NOT IN (SELECT id FROM session WHERE title LIKE '%fork%')"
                        ).fetchone()[0]
    assert len({r["mid"] for r in records}) == steps + 1  # + the message without parts
    multi = [r for r in records if r["mid"].endswith(":2")]
    assert multi, "messages of three steps"


def test_opencode_fork_copies_count_once(tmp_path, store):
    g, path = build("opencode", tmp_path)
    g.con.close()
    records = read_db(module("opencode"), str(path), None)[0]
    by_session: dict[str, set] = {}
    for r in records:
        by_session.setdefault(r["sid"], set()).add(r["mid"])
    forked = [s for s, ids in by_session.items() if any(ids <= o for o in by_session.values()
                                                        if o is not ids)]  # fmt: skip
    assert forked, "the fork's records carry the original's ids"
    ingest_agent_db(store, agent("opencode"), [path.parent])
    assert sum(v[4] for v in store_days(store, "opencode")[0].values()) == g.truth.totals()[4]


def test_opencode_subagent_session_counted_under_its_root(tmp_path):
    _, records = _records("opencode", tmp_path)
    sub = [r for r in records if r["aid"]]
    assert len(sub) == 2 and all(r["sid"] != r["aid"] for r in sub)


def test_opencode_zero_cost_is_no_stated_cost(tmp_path):
    _, records = _records("opencode", tmp_path)
    mini = [r for r in records if r["model"] == "gpt-5-mini"]
    assert mini and all(r["cu"] is None for r in mini)


def test_opencode_older_reasoning_inside_output_not_added_twice():
    rows = {"sessions": [], "parts": [], "messages": [{
        "id": "m", "session_id": "s", "time_created": 1780000000000,
        "data": '{"role":"assistant","time":{"created":1780000000000},"modelID":"gpt-5",'
                '"tokens":{"total":1300,"input":1000,"output":300,"reasoning":120,'
                '"cache":{"read":0,"write":0}}}'}]}
    (rec,), _ = opencode.records(rows)
    assert rec["out"] == 300
    rows["messages"][0]["data"] = rows["messages"][0]["data"].replace("1300", "1420")
    (rec,), _ = opencode.records(rows)
    assert rec["out"] == 420


def test_opencode_reverted_message_stays_billed(tmp_path, store):
    g, path = build("opencode", tmp_path)
    ingest_agent_db(store, agent("opencode"), [path.parent])
    gen.mutate_opencode(g)  # deletes a billed message
    ingest_agent_db(store, agent("opencode"), [path.parent])
    assert store_days(store, "opencode")[0] == g.truth.days
    with store.connect() as con:
        retired = con.execute("SELECT count(*) FROM files WHERE path LIKE '%#replaced-%'"
                              ).fetchone()[0]
    assert retired == 1  # only the reverted message's rows are kept apart


def test_kilo_is_read_like_opencode(tmp_path):
    g, records = _records("kilo", tmp_path)
    assert records and all(r["ent"] == "kilo" and r["mid"].startswith("kilo:") for r in records)


def test_goose_session_totals_not_the_last_request(tmp_path):
    g, records = _records("goose", tmp_path)
    by_id = {r["sid"]: r for r in records}
    assert "20260420_1" not in by_id  # no accumulated total: bad, never the last request
    row = g.con  # closed; the generator's own view:
    assert by_id["20260529_3"]["out"] == g.rows["20260529_3"][2]  # the gap billed as output
    over_midnight = by_id["20260528_2"]
    assert over_midnight["ts"] // 1000 == g.rows["20260528_2"][0]  # dated at its last update
    assert all(r["rid"] == "session-total" for r in records)
    assert row is not None


def test_hermes_reasoning_and_costs(tmp_path):
    g, records = _records("hermes", tmp_path)
    by_id = {r["sid"]: r for r in records}
    assert by_id["20260529_093011_d4"]["out"] == g.rows["20260529_093011_d4"][2]
    assert by_id["20260528_081502_a1"]["cu"] == 0.4151  # actual over estimated
    assert "20260530_120000_ff" not in by_id  # no tokens


def test_copilot_input_includes_cache(tmp_path):
    g, records = _records("copilot-store", tmp_path)
    con = sqlite3.connect(tmp_path / "copilot-store" / "session-store.db")
    raw = dict(con.execute("SELECT id, input_tokens FROM assistant_usage_events"))
    for r in records:
        assert r["in"] + r["cr"] + r["c5"] == raw[int(r["mid"].rsplit(":", 1)[1])]
    assert {r["model"] for r in records} == {"claude-sonnet-4.5", "gpt-5-mini"}  # never "auto"


# -- never change or lock the agent's database ------------------------------------------------


def _snapshot(path: Path) -> dict:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(path.parent.iterdir())}  # fmt: skip


@pytest.mark.parametrize("name", ALL)
def test_database_unchanged_and_no_side_files(name, tmp_path, store):
    g, path = build(name, tmp_path)
    g.con.close()  # WAL checkpointed and removed: the agent is not running
    before = _snapshot(path)
    ingest_agent_db(store, agent(name), [path.parent])
    assert _snapshot(path) == before  # same files (no -wal/-shm made), bytes and mtimes


def test_a_writer_writes_during_the_read(tmp_path, monkeypatch):
    g, path = build("hermes", tmp_path)  # WAL, the agent's connection open
    real = agent_db.FAMILIES["hermes"]
    wrote = []

    def during(con, since):
        rows = real(con, since)
        other = sqlite3.connect(path, timeout=0)
        other.execute("UPDATE sessions SET message_count = message_count + 1")
        other.commit()
        other.close()
        wrote.append(True)
        return rows

    monkeypatch.setitem(agent_db.FAMILIES, "hermes", during)
    read_db(hermes, str(path), None)
    assert wrote
    g.con.execute("BEGIN EXCLUSIVE")  # and nothing is held after the read
    g.con.rollback()


def test_rollback_journal_database_released_after_read(tmp_path):
    g, path = build("goose", tmp_path)  # rollback journal
    read_db(goose, str(path), None)
    other = sqlite3.connect(path, timeout=0)
    other.execute("BEGIN EXCLUSIVE")
    other.rollback()
    other.close()


def test_locked_database_is_a_warning_then_read_next_time(tmp_path, store, monkeypatch):
    monkeypatch.setattr(agent_db, "BUSY_SECONDS", 0.05)
    g, path = build("goose", tmp_path)
    g.con.execute("BEGIN EXCLUSIVE")
    report = ingest_agent_db(store, agent("goose"), [path.parent])
    assert "locked" in report.unreadable[str(path)]
    g.con.rollback()
    report = ingest_agent_db(store, agent("goose"), [path.parent])
    assert not report.unreadable
    assert store_days(store, "goose")[0] == g.truth.days


def test_not_a_database_is_a_warning(tmp_path, store):
    folder = tmp_path / "opencode"
    folder.mkdir()
    (folder / "opencode.db").write_bytes(b"garbage" * 100)
    report = ingest_agent_db(store, agent("opencode"), [folder])
    assert "not a readable SQLite database" in report.unreadable[str(folder / "opencode.db")]


def test_wal_left_without_shm_is_read_from_a_copy(tmp_path):
    """A crash leftover: reading it in place would create -shm."""
    g, path = build("hermes", tmp_path)
    g.con.execute("PRAGMA wal_autocheckpoint = 0")
    g.con.execute("UPDATE sessions SET output_tokens = output_tokens + 1 WHERE input_tokens > 0")
    g.con.commit()
    wal = Path(str(path) + "-wal").read_bytes()
    g.con.close()
    # put the un-checkpointed WAL back, as a killed agent leaves it, without its -shm
    Path(str(path) + "-wal").write_bytes(wal)
    assert not os.path.exists(str(path) + "-shm")
    before = _snapshot(path)
    records = read_db(hermes, str(path), None)[0]
    assert _snapshot(path) == before
    assert len(records) == 3


# -- finding the databases -------------------------------------------------------------------


def test_default_roots_follow_the_agents_variables(tmp_path):
    home = tmp_path / "h"
    assert opencode.default_roots({"XDG_DATA_HOME": "/x"}, home) == [Path("/x/opencode")]
    assert opencode.default_roots({}, home) == [home / ".local/share/opencode"]
    assert opencode.default_roots({"OPENCODE_DATA_DIR": "/a,/b"}, home) == [Path("/a"),
                                                                           Path("/b")]
    assert kilo.default_roots({"KILO_DATA_DIR": "/k"}, home) == [Path("/k")]
    assert goose.default_roots({"GOOSE_PATH_ROOT": "/g"}, home) == [Path("/g/data/sessions")]
    assert hermes.default_roots({"HERMES_HOME": "/hh"}, home) == [Path("/hh")]
    assert home / ".local/share/goose/sessions" in goose.default_roots({}, home)


def test_discover_takes_channel_builds_not_side_files(tmp_path):
    for name in ("opencode.db", "opencode-beta.db", "opencode.db-wal", "opencode.db-shm",
                 "other.db"):
        (tmp_path / name).write_bytes(b"")
    assert sorted(p.name for p in opencode.discover([tmp_path])) == ["opencode-beta.db",
                                                                      "opencode.db"]


def test_reading_while_the_agent_writes_in_a_thread(tmp_path):
    """A steady writer and repeated reads: never an error, each read a consistent state."""
    g, path = build("copilot-store", tmp_path)
    g.con.close()
    stop = threading.Event()

    def write():
        con = sqlite3.connect(path, timeout=5)
        n = 0
        while not stop.is_set() and n < 200:
            con.execute("INSERT INTO assistant_usage_events (session_id, model, input_tokens, "
                        "output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, "
                        "created_at) VALUES ('d3e1a7c2-5b44-4f8e-9a61-0c2b7e3f9a10', 'gpt-5', "
                        "10, 1, 0, 0, 0, '2026-06-01 00:00:00')")
            con.commit()
            n += 1
        con.close()

    t = threading.Thread(target=write)
    t.start()
    try:
        for _ in range(20):
            records = read_db(module("copilot-store"), str(path), None)[0]
            assert len(records) >= 15
    finally:
        stop.set()
        t.join()


def test_opencode_fork_copy_dated_when_its_call_was_made(tmp_path):
    """A fork's parts are written at the fork: the copy of a call keeps the call's time,
    so whichever copy the store keeps, it lands on the right day."""
    _, records = _records("opencode", tmp_path)
    copies = [r for r in records if sum(o["mid"] == r["mid"] for o in records) > 1]
    assert copies
    for r in copies:
        assert len({o["ts"] for o in records if o["mid"] == r["mid"]}) == 1


def test_opencode_subagent_change_rereads_its_whole_tree(tmp_path, store):
    """A session's records are stored together under its root: a change in a subagent
    session reads the root's messages too, so nothing is retired for it."""
    g, path = build("opencode", tmp_path)
    ingest_agent_db(store, agent("opencode"), [path.parent])
    child = g.con.execute("SELECT id FROM session WHERE parent_id IS NOT NULL").fetchone()[0]
    t = g.con.execute("SELECT max(time_updated) FROM message").fetchone()[0] + 3_600_000
    g.message(child, t, steps=1)
    g.commit()
    ingest_agent_db(store, agent("opencode"), [path.parent])
    assert store_days(store, "opencode")[0] == g.truth.days
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM files WHERE path LIKE '%#replaced-%'"
                           ).fetchone()[0] == 0


@pytest.mark.parametrize("name", ALL)
def test_shipped_fixture_gives_the_generators_truth(name, tmp_path, store):
    """fixtures/agents/<agent>/ is the generator's store (same seed): read in place."""
    rel, _ = gen.BUILDERS[name]
    fixture = gen.Path(__file__).resolve().parent.parent / "fixtures" / "agents" / name
    g, _ = build(name, tmp_path)
    g.con.close()
    before = _snapshot(fixture / Path(rel).name)
    ingest_agent_db(store, agent(name), [fixture])
    assert store_days(store, name)[0] == g.truth.days
    assert _snapshot(fixture / Path(rel).name) == before
