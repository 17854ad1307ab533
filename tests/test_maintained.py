"""The counted requests and the rollup the ingest keeps current equal a recompute.

``store.maintain`` updates ``counted`` for the response keys each batch touches,
and a report prices and sums the buckets that changed; a mistake there shows as
a report that differs from one priced from every stored line (``PRICED``). So
each case below ingests step by step and, after every step, checks that

- ``counted`` holds exactly the lines a from-scratch recompute keeps, and
- every report read from the rollup equals the same report from ``PRICED``
  (forced by an instant ``since_ts``), in three time zones, with ``--breakdown``.

The named cases are the ones the issue lists (a resumed copy arriving later, a
streamed response whose output grows in a later ingest, a copy whose rank flips,
a deleted file, a rewritten transcript, a new card); the random one mixes them.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccspend.core.records import replace
from ccspend.ingest.claude import ingest_claude
from ccspend.pricing import load_card
from ccspend.store import Store, maintain, queries
from tests.logs import assistant

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
GROUPS = ("daily", "weekly", "session", "model", "project", "branch", "source")
TZS = ("UTC", "America/Los_Angeles", "Asia/Kathmandu")


def _stamp(minutes: float) -> str:
    t = datetime(2026, 9, 1, 22, 50, tzinfo=UTC) + timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _write(path: Path, lines: list[dict], mode: str = "a") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode, encoding="utf-8") as fh:
        fh.write("".join(json.dumps(line) + "\n" for line in lines))


def _strip(a):
    return replace(a, cwd=None)  # a sub-row's or the total's project: never shown


def _sums(a):
    """A total's numbers and models: what a report shows of it."""
    return replace(a, cwd=None, first_ts=None, last_ts=None, branches=[])


def _first_diff(got: list, want: list) -> list:
    """The fields in which the first differing rows of two reports differ: (name, got, want)."""
    for a, b in zip(got, want, strict=False):
        if a != b:
            return [(k, getattr(a, k), getattr(b, k)) for k in a._fields
                    if getattr(a, k) != getattr(b, k)]  # fmt: skip
    return []


def check(store: Store, card, tzs: tuple[str, ...] = TZS) -> None:
    """``counted`` and the rollup's reports against a recompute from every line, in the
    time zones ``tzs`` (a batch priced as written adds to UTC buckets as the refresh
    sums them: the zones' own arithmetic is the same either way, and checked without)."""
    with store.connect(write=True) as con:
        queries.load_card(con, card)
        con.execute("CREATE OR REPLACE TEMP TABLE ref AS SELECT * FROM counted LIMIT 0")
        con.execute(maintain.counted_from_requests().replace("INTO counted", "INTO ref"))
        q = ("SELECT ckey, file_id, line_offset, ts, session_id, model, output_tokens "
             "FROM {} ORDER BY ALL")  # fmt: skip
        assert con.execute(q.format("counted")).fetchall() == con.execute(
            q.format("ref")).fetchall()
        for tz in tzs:
            for group in GROUPS:
                f = queries.Filters(tz=tz)
                fast = queries.summarise(con, group, f, by_model=True, by_agent=True)
                assert queries._rollup_ready(con, f)
                slow = queries.summarise(con, group, replace(f, since_ts=EPOCH), by_model=True,
                                          by_agent=True)
                assert fast.groups == slow.groups, (tz, group, _first_diff(fast.groups, slow.groups))
                assert [_strip(a) for a in fast.subs] == [_strip(a) for a in slow.subs]
                assert [_strip(a) for a in fast.agents] == [_strip(a) for a in slow.agents]
                assert (fast.total and _strip(fast.total)) == (slow.total and _strip(slow.total))
                assert fast.unpriced == slow.unpriced
                assert fast.unknown_modifiers == slow.unknown_modifiers
            # every session, unfiltered: one row each from session_totals
            whole = queries.summarise(con, "session", queries.Filters(tz=tz))
            slow = queries.summarise(con, "session", queries.Filters(tz=tz, since_ts=EPOCH))
            assert whole.groups == slow.groups, (tz, _first_diff(whole.groups, slow.groups))
            assert (whole.total and _sums(whole.total)) == (slow.total and _sums(slow.total))
            assert whole.unpriced == slow.unpriced
            assert whole.unknown_modifiers == slow.unknown_modifiers
        # the sessions' total summed in Python (from their rows) is the one summed in SQL
        assert queries._total_of(queries.session_aggregates(con)) == queries._total_in_sql(con)
        assert not con.execute("SELECT count(*) FROM rollup_dirty").fetchone()[0]
        assert not con.execute("SELECT count(*) FROM session_dirty").fetchone()[0]


@pytest.fixture
def logs(tmp_path) -> Path:
    return tmp_path / "claude" / "projects"


def _ingest(store: Store, logs: Path) -> None:
    ingest_claude(store, [logs])


def test_streamed_output_grows_in_a_later_ingest(store, logs, card):
    f = logs / "-home-dev-app" / "s1.jsonl"
    _write(f, [assistant(ts=_stamp(0), msg="m1", req="r1", out=1)])
    _ingest(store, logs)
    check(store, card)
    _write(f, [assistant(ts=_stamp(0.1), msg="m1", req="r1", out=900)])
    _ingest(store, logs)
    check(store, card)
    with store.connect() as con:
        assert con.execute("SELECT output_tokens FROM counted").fetchall() == [(900,)]


def test_a_resumed_copy_arriving_later_counts_once_and_where_it_should(store, logs, card):
    a = logs / "-home-dev-app" / "a.jsonl"
    _write(a, [assistant(ts=_stamp(0), msg="m1", req="r1", session="A"),
               assistant(ts=_stamp(5), msg="m2", req="r2", session="A")])
    _ingest(store, logs)
    check(store, card)
    # the resumed session copies A's lines (same ids and timestamps) and goes on
    b = logs / "-home-dev-app" / "b.jsonl"
    _write(b, [assistant(ts=_stamp(0), msg="m1", req="r1", session="B"),
               assistant(ts=_stamp(5), msg="m2", req="r2", session="B"),
               assistant(ts=_stamp(9), msg="m3", req="r3", session="B")])
    _ingest(store, logs)
    check(store, card)
    with store.connect() as con:
        got = dict(con.execute("SELECT ckey, session_id FROM counted").fetchall())
    assert got == {"m1|r1": "A", "m2|r2": "A", "m3|r3": "B"}


def test_a_copy_whose_rank_flips_when_its_file_grows(store, logs, card):
    # two files with the same first line: the one whose last line is earlier ranks first
    a = logs / "-home-dev-app" / "a.jsonl"
    b = logs / "-home-dev-app" / "b.jsonl"
    _write(a, [assistant(ts=_stamp(0), msg="m1", req="r1", session="A"),
               assistant(ts=_stamp(20), msg="m2", req="r2", session="A")])
    _write(b, [assistant(ts=_stamp(0), msg="m1", req="r1", session="B"),
               assistant(ts=_stamp(10), msg="m3", req="r3", session="B")])
    _ingest(store, logs)
    check(store, card)
    with store.connect() as con:
        assert con.execute("SELECT session_id FROM counted WHERE ckey = 'm1|r1'").fetchall() \
            == [("B",)]
    _write(b, [assistant(ts=_stamp(30), msg="m4", req="r4", session="B")])
    _ingest(store, logs)  # b's last line is now later than a's: a ranks first
    check(store, card)
    with store.connect() as con:
        assert con.execute("SELECT session_id FROM counted WHERE ckey = 'm1|r1'").fetchall() \
            == [("A",)]


def test_a_deleted_file_keeps_its_history(store, logs, card):
    a = logs / "-home-dev-app" / "a.jsonl"
    _write(a, [assistant(ts=_stamp(0), msg="m1", req="r1")])
    _ingest(store, logs)
    a.unlink()
    _ingest(store, logs)
    check(store, card)
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM counted").fetchone()[0] == 1


def test_a_rewritten_transcript_keeps_its_history(store, logs, card):
    a = logs / "-home-dev-app" / "a.jsonl"
    _write(a, [assistant(ts=_stamp(0), msg="m1", req="r1"),
               assistant(ts=_stamp(1), msg=None, req=None, out=7),
               assistant(ts=_stamp(2), msg="m2", req="r2")])
    _ingest(store, logs)
    check(store, card)
    # rewritten shorter, with one line of the old content and a new one
    _write(a, [assistant(ts=_stamp(2), msg="m2", req="r2"),
               assistant(ts=_stamp(3), msg="m3", req="r3")], mode="w")
    _ingest(store, logs)
    check(store, card)
    with store.connect() as con:
        keys = sorted(str(r[0]) for r in con.execute("SELECT ckey FROM counted").fetchall())
    assert keys == ["None", "m1|r1", "m2|r2", "m3|r3"]


def test_a_new_card_reprices_exactly_the_models_it_changes(store, logs, card, tmp_path):
    a = logs / "-home-dev-app" / "a.jsonl"
    _write(a, [assistant(ts=_stamp(0), msg="m1", req="r1", model="claude-haiku-4-5"),
               assistant(ts=_stamp(1), msg="m2", req="r2")])
    _ingest(store, logs)
    check(store, card)
    overrides = tmp_path / "rates.toml"
    overrides.write_text('[[model]]\nname = "claude-haiku-4-5"\n  [[model.price]]\n'
                         '  effective_from = 2026-01-01\n  input = 7\n  output = 11\n')
    other = load_card(overrides)
    with store.connect(write=True) as con:
        queries.load_card(con, other)
        changed, _ = maintain.stale(con)
    assert changed == ["claude-haiku-4-5"]
    check(store, other)
    check(store, card)  # and back


@pytest.mark.parametrize("cwds", [["/b", "/a"], ["/a", "/b"], ["/a", None, "/b", None, None],
                                  ["/c", "/a", "/a", "/b", "/c"], [None]])  # fmt: skip
def test_a_sessions_project_is_its_most_frequent_cwd_a_tie_to_the_greatest(cwds):
    """As the rollup's sessions find it (``maintain.SESSION_TOTALS``), whatever order the
    lines come in: ``mode``'s tie goes to the value it met first."""
    import duckdb

    counts = {c: cwds.count(c) for c in cwds if c is not None}
    want = max(counts, key=lambda c: (counts[c], c)) if counts else None
    con = duckdb.connect()
    for order in (cwds, cwds[::-1]):
        got = con.execute(f"SELECT {queries.PROJECT_OF} FROM (SELECT unnest($1::VARCHAR[]) "
                          "AS cwd)", [order]).fetchone()[0]  # fmt: skip
        assert got == want, order


def test_migration_builds_the_tables_from_the_stored_rows(store, logs, card):
    a = logs / "-home-dev-app" / "a.jsonl"
    _write(a, [assistant(ts=_stamp(0), msg="m1", req="r1", out=1),
               assistant(ts=_stamp(0), msg="m1", req="r1", out=50),
               assistant(ts=_stamp(3), msg=None, req=None)])
    _ingest(store, logs)
    with store.connect(write=True) as con:  # as an older ccspend left it
        for table in ("counted", "rollup", "rollup_dirty", "card_state", "models_seen"):
            con.execute(f"DROP TABLE {table}")
        con.execute("DELETE FROM schema_migrations WHERE name IN ('m010_counted_rollup', "
                    "'m011_counted_stated_cost', 'm016_session_total_records')")  # and after it
    check(store, card)


# How a test's batches are priced: by the refresh after them (None), or as they are
# written (``Store.price_batches``), the session totals summed then too or not.
PRICING = [None, "rollup", "sessions"]


@pytest.mark.parametrize("pricing", PRICING)
def test_new_lines_of_every_kind_appended_one_batch_at_a_time(store, logs, card, monkeypatch,
                                                              pricing):  # fmt: skip
    """A batch of new responses seen nowhere else is added by ``maintain._add_alone``
    (priced as it is written, with ``pricing``); every other kind of new line goes the
    general way, with the same outcome."""
    taken: list[bool] = []
    alone = maintain._add_alone

    def spy(con, current):
        added = alone(con, current)
        taken.append(added is not None)
        return added

    monkeypatch.setattr(maintain, "_add_alone", spy)
    priced = _price_batches(store, card, pricing, monkeypatch)
    zones = TZS if pricing is None else ("UTC",)
    f = logs / "-home-dev-app" / "s1.jsonl"
    _write(f, [assistant(ts=_stamp(0), msg="m0", req="r0")])
    _ingest(store, logs)
    steps = [
        ([assistant(ts=_stamp(1), msg="m1", req="r1", out=40)], True),  # a new response
        ([assistant(ts=_stamp(2), msg="m2", req="r2", api_error=True, out=0)], False),
        ([assistant(ts=_stamp(3), msg="m3", req="r3", model="<synthetic>", out=0)], False),
        # streamed lines read together: the read keeps the largest, one line per response
        ([assistant(ts=_stamp(4), msg="m4", req="r4", out=1),
          assistant(ts=_stamp(4), msg="m4", req="r4", out=500)], True),
        ([assistant(ts=_stamp(5), msg="m1", req="r1", out=900)], False),  # grown later
        ([assistant(ts=_stamp(6), msg=None, req=None, out=7)], False),  # no key: its own row
        ([assistant(ts=_stamp(7), msg="m7", req="r7"),
          assistant(ts=_stamp(8), msg="m8", req="r8")], True),
        # earlier than every line of its bucket (a subagent's, written late)
        ([assistant(ts=_stamp(-1), msg="m10", req="r10")], True),
        # a whole session's total (an agent's record: its request id says so)
        ([assistant(ts=_stamp(8.5), msg="m11", req="r11|session-total")], True),
    ]
    for lines, lean in steps:
        taken.clear()
        priced.clear()
        _write(f, lines)
        _ingest(store, logs)
        check(store, card, zones)
        assert taken == [lean], lines
        if pricing is not None:  # a response alone, of the common case: priced as written
            assert [p for p in priced if p is True or p is False] == ([True] if lean else []), lines
    # one response in two files of one batch (a resumed copy read with its original)
    taken.clear()
    _write(f, [assistant(ts=_stamp(9), msg="m9", req="r9", out=3)])
    _write(logs / "-home-dev-app" / "s2.jsonl", [assistant(ts=_stamp(9), msg="m9", req="r9",
                                                           out=3, session="B")])
    _ingest(store, logs)
    check(store, card, zones)
    assert taken == [False]
    with store.connect() as con:
        got = dict(con.execute("SELECT coalesce(ckey, '-'), output_tokens FROM counted").fetchall())
    assert got == {"m0|r0": 100, "m1|r1": 900, "m4|r4": 500, "-": 7, "m7|r7": 100, "m8|r8": 100,
                   "m10|r10": 100, "m11|r11|session-total": 100, "m9|r9": 3}


def _price_batches(store: Store, card, pricing: str | None, monkeypatch) -> list:
    """Make ``store`` price its batches as they are written (unless ``pricing`` is None);
    the list of whether each batch added its rows priced (``maintain._add_priced``), and
    of ("sessions", whether they were added to their sessions' rows as well)."""
    priced: list = []
    if pricing is None:
        return priced
    store.price_batches(lambda: (card, pricing == "sessions"))
    add, add_to_sessions = maintain._add_priced, maintain._add_to_sessions

    def spy(con, current, rows):
        priced.append(add(con, current, rows))
        return priced[-1]

    def spy_sessions(con, groups):
        priced.append(("sessions", add_to_sessions(con, groups)))
        return priced[-1][1]

    monkeypatch.setattr(maintain, "_add_priced", spy)
    monkeypatch.setattr(maintain, "_add_to_sessions", spy_sessions)
    return priced


@pytest.mark.parametrize("pricing", [None, "sessions"])
def test_random_ingest_sequences_match_a_recompute(store, logs, card, pricing, monkeypatch):
    priced = _price_batches(store, card, pricing, monkeypatch)
    zones = TZS if pricing is None else ("UTC",)
    rng = random.Random(17)
    files: list[Path] = []
    responses: list[dict] = []  # lines written, to stream further or copy
    clock = 0.0
    for step in range(14):
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            if not files or op < 0.25:  # a new session, maybe a resumed copy of another
                f = logs / rng.choice(["-home-dev-app", "-home-dev-api"]) / f"s{len(files)}.jsonl"
                copied = rng.sample(responses, min(len(responses), rng.randint(0, 3)))
                sid = f"S{len(files)}"
                _write(f, [{**line, "sessionId": sid} for line in copied])
                files.append(f)
                continue
            f = rng.choice(files)
            if not f.exists():
                continue
            if op < 0.55:  # new responses, some in several lines
                clock += rng.uniform(0, 40)
                n = len(responses)
                line = assistant(
                    ts=_stamp(clock), msg=None if rng.random() < 0.1 else f"m{n}",
                    req=None if rng.random() < 0.15 else f"r{n}",
                    out=rng.choice([1, 1, 30, 400]), sidechain=rng.random() < 0.15,
                    model=rng.choice(["claude-sonnet-4-5-20250929", "claude-opus-4-7",
                                      "mystery-model", "<synthetic>"]),
                    branch=rng.choice(["main", "", None, "feat"]),
                    inp=rng.randint(0, 250_000), cache_read=rng.randint(0, 50_000),
                    api_error=rng.random() < 0.05, session=f"S{files.index(f)}")
                responses.append(line)
                _write(f, [line])
            elif op < 0.75 and responses:  # a later line of a response, output grown
                line = dict(rng.choice(responses))
                line["message"] = {**line["message"], "usage": {
                    **line["message"]["usage"], "output_tokens": rng.choice([2, 500, 900])}}
                _write(f, [{**line, "sessionId": f"S{files.index(f)}"}])
            elif op < 0.85:  # rewritten: a part of it, and something new
                kept = f.read_text().splitlines()[: rng.randint(0, 2)]
                f.write_text("".join(k + "\n" for k in kept))
                clock += 1
                _write(f, [assistant(ts=_stamp(clock), msg=f"w{step}", req="rw",
                                     session=f"S{files.index(f)}")])
            elif op < 0.92:
                f.unlink()  # Claude Code cleaned up: the store keeps it
            else:  # a line still being written: complete next time
                with open(f, "a") as fh:
                    fh.write(json.dumps(assistant(ts=_stamp(clock), msg=f"p{step}"))[:40])
        _ingest(store, logs)
        for f in files:  # complete half-written lines for the next step
            if f.exists() and not f.read_text().endswith("\n") and f.stat().st_size:
                text = f.read_text()
                f.write_text(text[: text.rfind("\n") + 1])
        check(store, card, zones)
    if pricing is not None:  # some batches were priced as written
        assert True in priced, priced


@pytest.mark.parametrize("pricing", PRICING[1:])
def test_new_responses_priced_as_written_match_a_recompute(store, logs, card, pricing,
                                                           monkeypatch):  # fmt: skip
    """Step after step of new responses, one file at a time (the report after each new line):
    priced and added to the rollup as they are written where they can be, else left to the
    refresh (a model the card load had not seen, fast mode, US-only inference, a stated
    cost), and always what a recompute gives."""
    priced = _price_batches(store, card, pricing, monkeypatch)
    rng = random.Random(29)
    files = [logs / "-home-dev-app" / "s0.jsonl", logs / "-home-dev-api" / "s1.jsonl"]
    models = ["claude-sonnet-4-5-20250929", "claude-opus-4-7", "claude-haiku-4-5"]
    clock = 0.0
    n = 0
    for _step in range(30):
        f = rng.choice(files)
        lines = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            clock += rng.choice([0.01, 0.5, 7, 20])  # within a bucket, or into the next
            # now and then a line earlier than the last (a subagent's, written late)
            at = clock - rng.choice([0, 0, 0, 0.2, 3])
            n += 1
            if rng.random() < 0.1:  # a model first seen now: priced once the card knows it
                models.append(f"claude-new-{n}" if rng.random() < 0.5 else "claude-opus-4-6")
            usage = {}
            odd = rng.random()
            if odd < 0.06:
                usage = {"speed": "fast"}
            elif odd < 0.1:
                usage = {"inference_geo": "us"}
            elif odd < 0.25:  # a compaction step, billed on top of the message's
                usage = {"iterations": [
                    {"type": "compaction", "input_tokens": rng.randint(1, 180_000),
                     "output_tokens": rng.randint(1, 3_500),
                     "cache_creation_input_tokens": rng.choice([0, 700]),
                     "cache_read_input_tokens": rng.choice([0, 9_000])},
                    {"type": "message", "input_tokens": 5, "output_tokens": 5}]}
            line = assistant(
                ts=_stamp(at), msg=f"m{n}", req=f"r{n}", model=rng.choice(models),
                out=rng.choice([1, 30, 400]), inp=rng.randint(0, 250_000),
                cache_write=(w := rng.choice([0, 0, 5_000])), w1h=rng.choice([None, w // 2]),
                cache_read=rng.randint(0, 50_000), searches=rng.choice([0, 0, 2]),
                cwd=rng.choice(["/home/dev/app", "/home/dev/api"]),
                branch=rng.choice(["main", "", None, "feat"]),
                session=rng.choice(["S0", "S1", "S2"]), sidechain=rng.random() < 0.1)
            line["message"]["usage"].update(usage)
            if rng.random() < 0.04:
                line["costUSD"] = 0.5
            lines.append(line)
        _write(f, lines)
        _ingest(store, logs)
        check(store, card, ("UTC",))
    assert priced.count(True) > 15 and False in priced, priced
    if pricing == "sessions":  # added to the sessions' rows, or summed again
        assert ("sessions", True) in priced and ("sessions", False) in priced, priced


def _threads(con) -> int:
    return con.execute("SELECT current_setting('threads')").fetchone()[0]


def test_small_work_runs_on_one_thread_and_gives_the_threads_back(store, logs, card):
    from ccspend.store.engine import duckdb

    con = duckdb.connect()
    default = _threads(con)
    with maintain.one_thread(con):
        assert _threads(con) == 1
    assert _threads(con) == default
    with maintain.one_thread(con, small=False):
        assert _threads(con) == default
    # an error that aborts the transaction is the one raised, not the refused reset's
    con.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
    con.execute("INSERT INTO t VALUES (1)")
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.ConstraintException), maintain.one_thread(con):
        con.execute("INSERT INTO t VALUES (1)")
    con.execute("ROLLBACK")
    # a new line's ingest and refresh leave the database its threads for the report
    f = logs / "-home-dev-app" / "s1.jsonl"
    _write(f, [assistant(ts=_stamp(0), msg="m1", req="r1", out=1)])
    _ingest(store, logs)
    _write(f, [assistant(ts=_stamp(1), msg="m2", req="r2", out=2)])
    with store.keep_open():
        _ingest(store, logs)
        store.refresh(card)
        with store.connect() as kept:
            assert _threads(kept) == default
