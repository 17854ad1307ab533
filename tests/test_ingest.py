"""Incremental, idempotent ingest: offsets, truncation, replacement, failures."""

import json
import os
import stat

import pytest

from ccspend.ingest.claude import ingest_claude
from ccspend.store import Store
from tests.logs import append, assistant, user, write


def count(store):
    with store.connect() as con:
        return con.execute("SELECT count(*) FROM requests").fetchone()[0]


def test_second_run_reads_nothing_and_never_double_counts(store, projects):
    write(projects / "-home-dev-app" / "s1.jsonl", [user(), assistant(msg="a"), assistant(msg="b")])
    first = ingest_claude(store, [projects])
    assert (first.files_read, first.records) == (1, 2)
    second = ingest_claude(store, [projects])
    assert (second.files_read, second.bytes_read, second.records) == (0, 0, 0)
    assert count(store) == 2


def test_appended_lines_are_read_from_the_last_offset(store, projects):
    f = write(projects / "p" / "s1.jsonl", [assistant(msg="a")])
    ingest_claude(store, [projects])
    size = f.stat().st_size
    append(f, [assistant(msg="b")])
    r = ingest_claude(store, [projects])
    assert r.records == 1 and r.bytes_read == f.stat().st_size - size
    assert count(store) == 2


def test_incomplete_last_line_is_read_when_complete(store, projects):
    f = projects / "p" / "s1.jsonl"
    whole = json.dumps(assistant(msg="b"))
    write(f, [assistant(msg="a"), whole[:40]], newline_at_end=False)
    r = ingest_claude(store, [projects])
    assert r.records == 1 and not r.skipped
    with f.open("ab") as fh:
        fh.write(whole[40:].encode() + b"\n")
    r = ingest_claude(store, [projects])
    assert r.records == 1 and not r.skipped
    assert count(store) == 2


def test_truncated_file_is_read_again_and_keeps_its_history(store, projects):
    """A transcript rewritten shorter keeps, like a deleted one, what it no longer holds."""
    f = write(projects / "p" / "s1.jsonl", [assistant(msg="a"), assistant(msg="b")])
    ingest_claude(store, [projects])
    write(f, [assistant(msg="c")])
    ingest_claude(store, [projects])
    with store.connect() as con:
        mids = sorted(r[0] for r in con.execute("SELECT message_id FROM requests").fetchall())
    assert mids == ["a", "b", "c"]


def test_replaced_file_of_same_size_is_read_again(store, projects):
    f = write(projects / "p" / "s1.jsonl", [assistant(msg="aaaa", out=1)])
    ingest_claude(store, [projects])
    tmp = f.with_suffix(".new")
    write(tmp, [assistant(msg="bbbb", out=2)])
    os.replace(tmp, f)
    ingest_claude(store, [projects])
    with store.connect() as con:
        rows = sorted(con.execute("SELECT message_id FROM requests").fetchall())
    assert rows == [("aaaa",), ("bbbb",)]


def _counted(name: str = "daily") -> dict:
    from tests.conftest import report_json

    got = report_json(name)
    return {k: got["totals"][k] for k in ("requests", "output_tokens", "cost_usd")}


def test_a_rewritten_transcript_counts_each_response_once(projects):
    """Replaced by a copy, or rewritten with a line changed: what both hold counts once
    (keyed responses by deduplication, lines without a message id by their content),
    what only the old one held still counts."""
    lines = [assistant(msg=f"m{i}", req=f"r{i}", out=i + 1) for i in range(5)]
    lines += [assistant(msg=None, req=None, out=7, ts="2026-09-01T10:00:00Z")]
    f = write(projects / "p" / "s1.jsonl", lines)
    before = _counted()
    assert before["requests"] == 6
    tmp = f.with_suffix(".new")
    write(tmp, lines)
    os.replace(tmp, f)  # a copy: new inode, same lines
    assert _counted() == before
    write(f, [lines[0], lines[5], assistant(msg="new", req="rn", out=100)])  # shorter, one new
    after = _counted()
    assert after["requests"] == 7 and after["output_tokens"] == before["output_tokens"] + 100
    with Store(os.environ["CCSPEND_DB"]).connect() as con:
        files = con.execute("SELECT count(*), sum(skipped_lines) FROM files").fetchone()
    assert files == (2, 0)  # the file, and one retired file with what the new one lacks


def test_history_outlives_deleted_logs(store, projects):
    f = write(projects / "p" / "s1.jsonl", [assistant(msg="a")])
    ingest_claude(store, [projects])
    f.unlink()
    ingest_claude(store, [projects])
    assert count(store) == 1


def test_subagent_files_are_read_with_their_agent_type(store, projects):
    sub = projects / "p" / "s1" / "subagents"
    write(sub / "agent-a1.jsonl", [assistant(msg="x", sidechain=True)])
    (sub / "agent-a1.meta.json").write_text(json.dumps({"agentType": "code-reviewer"}))
    ingest_claude(store, [projects])
    with store.connect() as con:
        row = con.execute("SELECT agent_id, agent_type FROM files").fetchone()
    assert row == ("a1", "code-reviewer")


def test_bad_lines_are_counted_per_file(store, projects):
    write(projects / "p" / "s1.jsonl", [assistant(msg="a"), "garbage", "", "{broken"])
    r = ingest_claude(store, [projects])
    assert list(r.skipped.values()) == [3]
    with store.connect() as con:
        assert con.execute("SELECT skipped_lines FROM files").fetchone()[0] == 3


def test_database_is_owner_only(store, projects):
    write(projects / "p" / "s1.jsonl", [assistant()])
    ingest_claude(store, [projects])
    mode = stat.S_IMODE(os.stat(store.path).st_mode)
    assert mode == 0o600


def test_unreadable_file_is_reported_not_fatal(store, projects, monkeypatch):
    import builtins

    import ccspend.ingest.claude as ing

    f = write(projects / "p" / "s1.jsonl", [assistant()])
    write(projects / "p" / "s2.jsonl", [assistant(msg="z")])

    def guarded_open(path, *a, **k):  # root reads any file, so deny it here
        if str(path) == str(f):
            raise PermissionError(13, "Permission denied")
        return builtins.open(path, *a, **k)

    monkeypatch.setattr(ing, "open", guarded_open, raising=False)
    r = ingest_claude(store, [projects])
    assert list(r.unreadable) == [str(f)]
    assert count(store) == 1


def test_a_file_name_that_is_not_utf8_is_reported_not_fatal(store, projects):
    """Linux names are bytes; the store keys files by a UTF-8 path."""
    write(projects / "p" / "s1.jsonl", [assistant(msg="a")])
    bad = os.fsencode(projects / "p") + b"/caf\xe9.jsonl"
    with open(bad, "wb") as fh:
        fh.write(json.dumps(assistant(msg="b")).encode() + b"\n")
    r = ingest_claude(store, [projects])
    assert count(store) == 1
    assert list(r.unreadable.values()) == ["its name is not UTF-8"]
    assert list(r.unreadable)[0].endswith("caf\\xe9.jsonl")  # printable


def test_logs_that_cannot_be_read_are_named_not_called_missing(sandbox, projects):
    from tests.conftest import run_cli

    bad = os.fsencode(projects / "p") + b"/caf\xe9.jsonl"
    os.makedirs(os.path.dirname(bad), exist_ok=True)
    with open(bad, "wb") as fh:
        fh.write(json.dumps(assistant(msg="b")).encode() + b"\n")
    r = run_cli("daily", "--json")
    assert r.returncode == 0
    assert "No Claude Code logs found" not in r.stderr
    assert "its name is not UTF-8" in json.loads(r.stdout)["warnings"][0]


def test_killed_ingest_leaves_store_consistent(store, projects, monkeypatch):
    """A failure while writing a batch rolls it back; the next run reads the file again."""
    write(projects / "p" / "s1.jsonl", [assistant(msg="a"), assistant(msg="b")])
    from ccspend import store as store_mod

    real = store_mod.Store.write_ingest

    def dying(self, con, updates, path, shape="records"):
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO files (file_id, path, source, read_offset) VALUES (99, 'x', 'claude-code', 5)")
        con.execute("ROLLBACK")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod.Store, "write_ingest", dying)
    with pytest.raises(Exception, match="No space left"):
        ingest_claude(store, [projects])
    monkeypatch.setattr(store_mod.Store, "write_ingest", real)
    assert count(store) == 0
    r = ingest_claude(store, [projects])
    assert r.records == 2 and count(store) == 2


def test_parallel_ingest_matches_serial(sandbox, projects):
    from ccspend.store import Store

    for i in range(6):
        write(
            projects / "p" / f"s{i}.jsonl",
            [user("x" * 2000), *[assistant(msg=f"m{i}-{j}", out=j) for j in range(50)]],
        )
    a = Store(sandbox / "a.duckdb")
    b = Store(sandbox / "b.duckdb")
    import ccspend.ingest.claude as ing

    old = ing.BATCH_BYTES
    ing.BATCH_BYTES = 1
    try:
        ingest_claude(a, [projects], workers=2)
    finally:
        ing.BATCH_BYTES = old
    ingest_claude(b, [projects], workers=1)
    q = "SELECT message_id, output_tokens FROM requests ORDER BY 1"
    with a.connect() as ca, b.connect() as cb:
        assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
        assert len(ca.execute(q).fetchall()) == 300


def test_sigkilled_ingest_resumes_to_the_same_answer(sandbox):
    """Kill a cold ingest part-way (a real SIGKILL), run again: same totals as a clean run."""
    import signal
    import subprocess
    import sys
    import time

    from tests.test_exact import gen

    corpus = sandbox / "corpus"
    gen.generate(corpus, 24, seed=2)
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(corpus), CCSPEND_NO_CACHE="1")
    killed_db = sandbox / "killed.duckdb"
    cmd = [sys.executable, "-m", "ccspend", "daily", "--json"]
    p = subprocess.Popen([*cmd, "--db", str(killed_db)], env=dict(env, CCSPEND_BATCH_BYTES="200000"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not killed_db.exists():
        time.sleep(0.02)
    time.sleep(0.3)
    p.send_signal(signal.SIGKILL)
    p.wait()
    again = subprocess.run([*cmd, "--db", str(killed_db)], env=env, capture_output=True, text=True)
    clean = subprocess.run([*cmd, "--db", str(sandbox / "clean.duckdb")], env=env,
                           capture_output=True, text=True)
    assert again.returncode == 0 and clean.returncode == 0, again.stderr
    assert json.loads(again.stdout)["totals"] == json.loads(clean.stdout)["totals"]


def test_parse_jobs_are_about_eight_per_worker_within_bounds():
    from ccspend.ingest.claude import BATCH_BYTES, _batch_bytes

    assert _batch_bytes(1 << 30, 2) == min(BATCH_BYTES, 64 << 20)
    assert _batch_bytes(160 << 20, 2) == 10 << 20
    assert _batch_bytes(8 << 20, 2) == 4 << 20  # small ingests: no tiny jobs
    assert _batch_bytes(1 << 40, 4) == BATCH_BYTES
    assert _batch_bytes(40 << 20, 1) == BATCH_BYTES  # one worker: no balance to keep
