"""The warm path: a repeated report is answered from cache only while nothing changed."""

import json
import os
import time

from ccspend.cli.fast import reports as fastpath
from ccspend.sources import logfiles
from tests.conftest import run_cli
from tests.logs import append, assistant, write


def test_repeated_report_is_served_from_cache_and_identical(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    first = run_cli("daily", "--json")
    cache = sandbox / "data" / "ccspend.duckdb.cache"
    assert first.returncode == 0 and len(list(cache.iterdir())) == 1
    second = run_cli("daily", "--json")
    assert second.stdout == first.stdout and second.stderr == first.stderr


def test_cache_answers_without_importing_duckdb(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    assert run_cli("daily").returncode == 0
    import subprocess
    import sys

    code = (
        "import sys; from ccspend.cli.fast.reports import serve; ok = serve(['daily']); "
        "print(ok, 'duckdb' in sys.modules, 'typer' in sys.modules, 'rich' in sys.modules, "
        "file=sys.stderr)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stderr.strip().splitlines()[-1] == "True False False False"


def test_a_new_log_line_invalidates_the_cache(sandbox, projects):
    f = write(projects / "p" / "s.jsonl", [assistant(msg="a")])
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["requests"] == 1
    append(f, [assistant(msg="b")])
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["requests"] == 2


def test_a_price_override_invalidates_the_cache(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant(model="acme-2", inp=1_000_000, out=0)])
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["cost_usd"] == 0
    cfg = sandbox / "config"
    cfg.mkdir()
    (cfg / "rates.toml").write_text(
        '[[model]]\nname = "acme-2"\nprovider = "local"\n[[model.price]]\n'
        "effective_from = 2020-01-01\ninput = 2\noutput = 2\n"
    )
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["cost_usd"] == 2.0


def test_options_change_the_answer(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant(ts="2026-09-01T02:00:00Z")])
    utc = json.loads(run_cli("daily", "--json", "-z", "UTC").stdout)
    la = json.loads(run_cli("daily", "--json", "-z", "America/Los_Angeles").stdout)
    assert utc["rows"][0]["key"] != la["rows"][0]["key"]


def test_parse_declines_what_it_does_not_know():
    assert fastpath.parse(["rates"]) is None
    assert fastpath.parse(["daily", "--demo"]) is None
    assert fastpath.parse(["--since", "feat/x"]) is None
    assert fastpath.parse(["weekly", "--since=2026-01-01", "-z", "UTC"]).name == "weekly"


def test_a_damaged_cache_entry_is_not_an_answer(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    first = run_cli("daily", "--json")
    (entry,) = [p for p in (sandbox / "data" / "ccspend.duckdb.cache").iterdir() if p.is_file()]
    entry.write_bytes(entry.read_bytes()[:-3])  # torn
    again = run_cli("daily", "--json")
    assert again.returncode == 0 and again.stdout == first.stdout


# -- the walk: folder listings are reused only while their folder is unchanged --


def _tree(root):
    write(root / "a" / "s1.jsonl", [assistant(msg="1")])
    write(root / "a" / "s1" / "subagents" / "agent-x.jsonl", [assistant(msg="2")])
    write(root / "b" / "s2.jsonl", [assistant(msg="3")])
    (root / "b" / "notes.txt").write_text("not a log")


def _walk(root, known=None, learned=None):
    return sorted(logfiles.stat_logs([str(root)], known=known, learned=learned))


def test_remembered_listings_see_every_change(projects, monkeypatch):
    monkeypatch.setattr(logfiles, "RACY_NS", 0)  # trust folders at once (the test's clock)
    _tree(projects)
    learned: dict = {}
    assert _walk(projects, learned=learned) == _walk(projects)
    assert str(projects / "a") in learned and len(learned) == 5
    time.sleep(0.05)  # past the filesystem clock's tick
    write(projects / "a" / "new.jsonl", [assistant(msg="4")])  # a new log in a known folder
    os.unlink(projects / "b" / "s2.jsonl")  # a log removed
    write(projects / "c" / "deep" / "s3.jsonl", [assistant(msg="5")])  # a new folder
    os.rename(projects / "a" / "s1", projects / "a" / "s9")  # a renamed session folder
    with open(projects / "a" / "s1.jsonl", "a") as fh:  # an append: the folder is unchanged
        fh.write("{}\n")
    relearned: dict = {}
    assert _walk(projects, known=learned, learned=relearned) == _walk(projects)
    assert any(p.endswith("/new.jsonl") for p, *_ in _walk(projects, known=relearned))


def test_a_folder_changed_moments_ago_is_read_again_every_time(projects):
    _tree(projects)
    learned: dict = {}
    _walk(projects, learned=learned)
    assert learned == {}  # all of it was just written: within RACY_NS of now


def test_the_warm_path_keeps_the_listing_and_still_sees_a_new_log(sandbox, projects, monkeypatch,
                                                                  capsys):
    monkeypatch.setattr(logfiles, "RACY_NS", 0)
    (sandbox / "home" / ".codex" / "sessions").mkdir(parents=True)  # Codex is installed
    write(projects / "p" / "s.jsonl", [assistant(msg="a")])
    assert run_cli("daily", "--json").returncode == 0
    assert fastpath.serve(["daily", "--json"]) is True
    cache = sandbox / "data" / "ccspend.duckdb.cache"
    walks = sorted(cache.glob("walk-*"))  # Claude Code's roots and Codex's
    assert len(walks) == 2
    assert fastpath.serve(["daily", "--json"]) is True  # now from the listing
    time.sleep(0.05)
    write(projects / "p" / "t.jsonl", [assistant(msg="b")])
    assert fastpath.serve(["daily", "--json"]) is False
    for walk in walks:
        walk.write_bytes(b"garbage")  # a damaged listing is walked around, never trusted
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["requests"] == 2
    capsys.readouterr()
    assert fastpath.serve(["daily", "--json"]) is True
    assert json.loads(capsys.readouterr().out)["totals"]["requests"] == 2


def test_the_warm_path_imports_no_pathlib_json_or_zoneinfo(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    assert run_cli("daily").returncode == 0
    import subprocess
    import sys

    # What the warm path adds to what the interpreter (and this venv's .pth files) loaded.
    code = (
        "import sys, io; before = set(sys.modules); from ccspend.cli.fast.entry import main; "
        "sys.argv = ['ccspend']; real = sys.stdout; sys.stdout = io.StringIO()\n"
        "try:\n    main()\nfinally:\n    sys.stdout = real\n"
        "new = set(sys.modules) - before\n"
        "print(sorted(m.split('.')[0] for m in new if not m.startswith(('ccspend', '_')) "
        "and m.split('.')[0] in ('pathlib', 'json', 'zoneinfo', 're', 'platformdirs', "
        "'typing', 'typer', 'duckdb', 'dataclasses', 'enum')))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stderr


def test_a_report_leaves_its_commits_in_the_log_and_the_next_run_reads_them(sandbox, projects):
    """The console entry ends in ``os._exit`` with the database open (no checkpoint after
    a new line): the write-ahead log holds the run's commits, the repeat is still the
    cached answer, and the next run, after a new line, replays the log and counts both."""
    f = write(projects / "p" / "s.jsonl", [assistant(msg="a", out=10)])
    assert run_cli("daily", "--json").returncode == 0  # makes the database
    append(f, [assistant(msg="b", out=20)])
    first = run_cli("daily", "--json")
    db = sandbox / "data" / "ccspend.duckdb"
    wal = db.with_name(db.name + ".wal")
    assert first.returncode == 0 and wal.exists() and wal.stat().st_size > 0
    marks = sandbox / "marks"
    again = run_cli("daily", "--json", env={"CCSPEND_TIMING": str(marks)})
    assert again.stdout == first.stdout and "cached\t" in marks.read_text()
    append(f, [assistant(msg="c", out=40)])
    third = json.loads(run_cli("daily", "--json").stdout)["totals"]
    assert (third["requests"], third["output_tokens"]) == (3, 70)
    from ccspend.store import Store

    with Store(db).connect() as con:  # another process's open replays the log too
        assert con.execute("SELECT count(*) FROM counted").fetchone()[0] == 3


def test_settle_checkpoints_a_store_left_open_once_its_log_is_large(tmp_path, monkeypatch):
    """Every open replays the whole log, so a store left open at exit is checkpointed
    by the run that finds its log past ``SETTLE_WAL_BYTES``."""
    import ccspend.store.database as store_module
    from ccspend.store import Store

    store = Store(tmp_path / "db.duckdb")
    wal = tmp_path / "db.duckdb.wal"
    with store.connect(write=True):
        pass
    try:
        with store.keep_open(close=False):
            with store.connect(write=True) as con:
                con.execute("INSERT INTO models_seen VALUES ('m')")
            store.settle()
            assert wal.exists() and 0 < wal.stat().st_size < store_module.SETTLE_WAL_BYTES
            monkeypatch.setattr(store_module, "SETTLE_WAL_BYTES", 0)
            store.settle()
            assert not wal.exists() or wal.stat().st_size == 0
    finally:
        for con in store_module._LEFT_OPEN:
            store_module._release(con)
        store_module._LEFT_OPEN.clear()


def test_sessions_summed_after_other_reports_are_right_in_the_session_report(sandbox, projects,
                                                                           tmp_path):
    """A report other than ``session`` leaves the new lines' sessions to sum again
    (``session_dirty``); the session report sums them first, and equals a report from a
    database that saw every line at once."""
    f = write(projects / "p" / "s.jsonl", [assistant(msg="a", out=10)])
    assert run_cli("daily", "--json").returncode == 0
    append(f, [assistant(msg="b", out=20)])
    write(projects / "q" / "t.jsonl", [assistant(msg="c", out=5, session="other-session")])
    assert run_cli("daily", "--json").returncode == 0
    from ccspend.store import Store

    with Store(sandbox / "data" / "ccspend.duckdb").connect() as con:
        assert con.execute("SELECT count(*) FROM session_dirty").fetchone()[0] > 0
    kept = json.loads(run_cli("session", "--json").stdout)
    fresh = json.loads(run_cli("session", "--json", "--db", str(tmp_path / "fresh.duckdb")).stdout)
    assert kept["rows"] == fresh["rows"] and kept["totals"] == fresh["totals"]
    assert sorted(r["output_tokens"] for r in kept["rows"]) == [5, 30]


def test_a_cache_check_that_misses_never_reads_the_answer(sandbox, monkeypatch):
    """A session report over a long history is megabytes (7 MB at 200 periods): the check
    after a new log line, which misses, reads the entry's key and state, not its answer;
    a hit reads it all."""
    import builtins

    from ccspend.reports import answer_cache

    db = str(sandbox / "data" / "ccspend.duckdb")
    answer_cache.save(db, "key", "state then", "x" * 5_000_000, "warned\n")
    read = []

    class Counting:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def close(self):
            self.fh.close()

        def read(self, n=-1):
            data = self.fh.read(n)
            read.append(len(data))
            return data

        def readline(self, n=-1):
            data = self.fh.readline(n)
            read.append(len(data))
            return data

    monkeypatch.setattr(answer_cache, "open",
                        lambda *a, **k: Counting(builtins.open(*a, **k)),  # noqa: SIM115
                        raising=False)  # fmt: skip
    monkeypatch.setattr(answer_cache, "request_key", lambda **kw: "key")
    ask = dict(name="session", timezone="UTC", since=None, until=None, project=None,
               branch=None, breakdown=False, json_out=True, db=db, claude_dirs=[],
               terminal=())
    monkeypatch.setattr(answer_cache, "logs_state", lambda files: "state ")
    monkeypatch.setattr(answer_cache, "files_state", lambda db: "now")
    assert answer_cache.cached_answer(**ask) is None
    assert 0 < sum(read) < 1000
    read.clear()
    monkeypatch.setattr(answer_cache, "files_state", lambda db: "then")
    assert answer_cache.cached_answer(**ask) == ("x" * 5_000_000, "warned\n")
    assert sum(read) > 5_000_000


def test_the_state_names_the_newest_log_first_and_one_stat_tells_it_changed(tmp_path):
    """``logs_state`` begins with the newest log's line (the log a session in progress
    writes), so the cache check knows a miss from one stat before its walk."""
    from ccspend.reports import answer_cache

    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text("a\n")
    new.write_text("b\n")
    os.utime(old, ns=(1_000_000_000, 1_000_000_000))
    files = [(str(p), p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_dev, p.stat().st_ino)
             for p in (old, new)]
    state = answer_cache.logs_state(files).encode()
    assert state.split(b"\n")[0].split(b"\0")[0] == str(new).encode()
    assert sorted(state.split(b"\n")[1:-1]) == state.split(b"\n")[1:-1]  # then every log, sorted
    assert not answer_cache._newest_changed(state)
    with open(new, "a") as fh:
        fh.write("c\n")
    assert answer_cache._newest_changed(state)
    new.unlink()
    assert answer_cache._newest_changed(state)
    assert answer_cache.logs_state([]) == ""
    assert not answer_cache._newest_changed(answer_cache.files_state(tmp_path / "db").encode())


def test_a_stale_answer_starts_the_database_opening_before_the_walk(sandbox, projects,
                                                                   monkeypatch):
    """After a new line in the newest log the check calls ``on_miss`` (the front end's
    ``open_early``) before it walks the logs; the report then takes that opening."""
    from ccspend.reports import answer_cache

    f = write(projects / "p" / "s.jsonl", [assistant(msg="a")])
    assert run_cli("daily", "--json").returncode == 0
    order: list[str] = []
    walk = answer_cache.log_files
    monkeypatch.setattr(answer_cache, "log_files",
                        lambda *a, **k: order.append("walk") or walk(*a, **k))
    opts = fastpath.parse(["daily", "--json"])

    def ask() -> bool:
        return fastpath.serve_options(opts, {})

    monkeypatch.setattr(fastpath, "open_early", lambda o: order.append("open") or False)
    assert ask() and order == ["walk"]  # unchanged: the answer, and no opening
    order.clear()
    append(f, [assistant(msg="b")])
    assert not ask() and order == ["open", "walk"]


def test_the_ingest_after_a_new_line_reads_the_state_of_that_log_alone(sandbox, projects,
                                                                      monkeypatch):
    """When the database is as the cached answer left it, the check's walk names the logs
    that changed since (``answer_cache._changed``), and the ingest reads the store's states
    of those alone; when it is not (another run wrote since), every state, as ever."""
    from ccspend.core import paths
    from ccspend.ingest.claude import ingest_claude
    from ccspend.reports import answer_cache
    from ccspend.store import Store

    a = write(projects / "p" / "a.jsonl", [assistant(msg="a")])
    write(projects / "p" / "b.jsonl", [assistant(msg="b", session="other")])
    assert run_cli("daily", "--json").returncode == 0
    append(a, [assistant(msg="a2")])
    opts = fastpath.parse(["daily", "--json"])
    walked: dict = {}
    assert not fastpath.serve_options(opts, walked)
    (walk,) = walked.values()
    assert walk[2] == {str(a)}
    store = Store(paths.default_db_path())
    asked: list = []
    states = store.file_states
    monkeypatch.setattr(store, "file_states", lambda source, got: asked.append(got)
                        or states(source, got))  # fmt: skip
    assert ingest_claude(store, [projects], walked=walk).records == 1
    assert asked == [[str(a)]]
    db = str(paths.default_db_path())
    # the database changed since the answer: None, every log's state is read
    state = (answer_cache.logs_state(walk[0]) + answer_cache.files_state(db)).encode()
    assert answer_cache._changed(state, answer_cache.logs_state(walk[0]),
                                 answer_cache.files_state(db)) == set()
    assert answer_cache._changed(state, answer_cache.logs_state(walk[0]), "other db") is None
    append(a, [assistant(msg="a3")])
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["requests"] == 4
