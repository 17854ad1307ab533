"""A session report's rows kept as text between reports (``reports.session_rows``).

Only the rows of sessions that changed are written again; every report is still the
bytes ``json.dumps(report.to_json(), indent=2)`` writes, whatever changed between two
reports (counts, a session's last activity that moves it, sessions gone or new, the
zone, the order) and whatever became of the file (torn, foreign, another key's).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccspend.cli.fast.reports import render_json
from ccspend.cli.jsonout import text_of
from ccspend.reports import build, session_rows
from ccspend.store import queries
from tests.conftest import run_cli
from tests.logs import assistant, write

AT = datetime(2026, 3, 7, 15, 30, 0, 123456, tzinfo=UTC)


def _session(key: str, n: int = 1, at: datetime | None = AT, branch: str = "main",
             source: str | None = "local") -> tuple:
    """A row of ``session_totals``: ``n`` sets its counts and cost."""
    first = at - timedelta(hours=1) if at else None
    return (key, n, 2 * n, 3, 4, 5 * n, 0, Decimal(n) / 7, Decimal("0.5"), n, ["m", "é"],
            first, at, [branch], f"/home/dev/{key}", False, source)


def _put(store, sessions: dict[str, tuple]) -> None:
    with store.connect(write=True) as con:
        con.execute("DELETE FROM session_totals")
        for row in sessions.values():
            con.execute("INSERT INTO session_totals VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                        "$9, $10, $11, $12, $13, $14, $15, $16, $17)", list(row))


def _both(store, card, tz: str = "UTC", order: str | None = None) -> tuple[str, str, bool]:
    """The report as ``json.dumps`` writes Python's rows, as the front end prints it, and
    whether the rows came as text."""
    out = []
    for json_only in (False, True):
        req = build.ReportRequest("session", queries.Filters(tz=tz), order=order,
                                  json_only=json_only)
        out.append(build.build_report(store, card, req, []))
    python, fast = out
    return (json.dumps(python.to_json(), indent=2) + "\n",
            text_of(render_json(fast, None, [], None, False)[0]), fast.rows_json is not None)


@pytest.fixture
def written(monkeypatch) -> list[str]:
    """Rows as text from the first session; the keys of the rows written in Python."""
    monkeypatch.setattr(queries, "SQL_ROWS_MIN", 1)
    keys: list[str] = []
    real = build.session_row_text

    def spy(agg, tz):
        keys.append(agg.key)
        return real(agg, tz)

    monkeypatch.setattr(build, "session_row_text", spy)
    return keys


def _file(store) -> str:
    return os.path.join(str(store.path) + ".cache", session_rows.FILE_NAME)


_keys = st.sampled_from(["a", "b", "c", "d", "e", "s-é😀", 'q"\\', "\x1b[31m"])
_change = st.tuples(_keys, st.none() | st.tuples(
    st.integers(0, 3), st.none() | st.integers(-3, 3).map(lambda h: AT + timedelta(hours=h)),
    st.sampled_from(["main", "feat/ü", "x\ty"]), st.sampled_from([None, "local", "codex"])))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.lists(_change, min_size=1, max_size=4), min_size=1, max_size=6),
       tz=st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York"]),
       order=st.sampled_from([None, "desc"]), save_after=st.integers(0, 3),
       sql_after=st.sampled_from([2, 10**9]))
def test_every_report_is_python_s_bytes_whatever_changed(store, card, written, monkeypatch,
                                                         steps, tz, order, save_after,
                                                         sql_after):  # fmt: skip
    """Counts change, sessions move in the order, go and come back, across reports that
    keep, rewrite or write again the rows: the bytes are Python's each time."""
    monkeypatch.setattr(session_rows, "SAVE_AFTER", save_after)
    monkeypatch.setattr(session_rows, "SQL_AFTER", sql_after)
    sessions: dict[str, tuple] = {}
    for step in steps:
        for key, change in step:
            if change is None:
                sessions.pop(key, None)
            else:
                sessions[key] = _session(key, *change)
        _put(store, sessions)
        python, fast, as_text = _both(store, card, tz, order)
        assert fast == python
        assert as_text == bool(sessions)


def test_a_few_sessions_and_no_kept_rows_are_counted_not_hashed(store, card, monkeypatch):
    """Below ``SQL_ROWS_MIN`` sessions with no kept file, a count decides (the rows are
    written in Python, so their hashes would go unused); past it, or with a kept file,
    the hashes are read as ever."""
    hashed: list[int] = []
    real = queries.session_row_hashes
    monkeypatch.setattr(queries, "session_row_hashes", lambda con: hashed.append(1) or real(con))
    _put(store, {k: _session(k) for k in "abc"})
    monkeypatch.setattr(queries, "SQL_ROWS_MIN", 4)
    python, fast, as_text = _both(store, card)
    assert fast == python and not as_text and hashed == []
    monkeypatch.setattr(queries, "SQL_ROWS_MIN", 3)
    python, fast, as_text = _both(store, card)
    assert fast == python and as_text and hashed == [1] and os.path.exists(_file(store))
    monkeypatch.setattr(queries, "SQL_ROWS_MIN", 4)  # a kept file: hashed, then too few
    python, fast, as_text = _both(store, card)
    assert fast == python and not as_text and hashed == [1, 1]


def test_only_the_rows_that_changed_are_written_again(store, card, written, monkeypatch):
    monkeypatch.setattr(session_rows, "SQL_AFTER", 2)
    sessions = {k: _session(k, i) for i, k in enumerate("abcde")}
    _put(store, sessions)
    assert _both(store, card)[0] == _both(store, card)[1]
    assert written == []  # five new rows: all in SQL, and kept
    kept = os.stat(_file(store))

    sessions["c"] = _session("c", 9, at=AT + timedelta(days=1))  # also moves to the end
    _put(store, sessions)
    python, fast, _ = _both(store, card)
    assert fast == python
    assert written == ["c"]
    # a row or two written again is not worth rewriting the file: the next report
    # writes the same row again
    assert os.stat(_file(store)).st_ino == kept.st_ino
    written.clear()
    assert _both(store, card)[1] == python and written == ["c"]

    monkeypatch.setattr(session_rows, "SAVE_AFTER", 1)
    sessions["a"] = _session("a", 5)
    _put(store, sessions)
    written.clear()
    python, fast, _ = _both(store, card, order="desc")
    assert fast == python and sorted(written) == ["a", "c"]
    assert os.stat(_file(store)).st_ino != kept.st_ino  # kept again, both rows in it
    written.clear()
    python, fast, _ = _both(store, card)
    assert fast == python and written == []


@pytest.mark.parametrize("damage", ["empty", "half", "garbage", "sizes", "index", "zone",
                                    "version"])
def test_a_torn_or_foreign_file_is_written_again(store, card, written, monkeypatch, damage):
    monkeypatch.setattr(session_rows, "SQL_AFTER", 10**9)
    monkeypatch.setattr(session_rows, "SAVE_AFTER", 10**9)
    _put(store, {k: _session(k, i) for i, k in enumerate("abc")})
    _both(store, card)
    path = _file(store)
    with open(path, "rb") as fh:
        data = fh.read()
    head, _, rest = data.partition(b"\n")
    if damage == "empty":
        data = b""
    elif damage == "half":
        data = data[:len(data) // 2]
    elif damage == "garbage":
        data = os.urandom(len(data))
    elif damage == "sizes":  # a header that says more than the file holds
        data = head + b"0" + b"\n" + rest
    elif damage == "index":  # an index one size short of its rows
        magic, version, n_index, n_text = head.split(b" ")
        key, keys, hashes, sizes = session_rows._read_index(rest[:int(n_index)])
        index = session_rows._index(key, keys, hashes, sizes[:-1])
        data = b" ".join([magic, version, b"%d" % len(index), n_text]) + b"\n" + index \
            + rest[int(n_index):]
    elif damage == "version":
        monkeypatch.setattr(queries, "session_row_format", lambda: "another DuckDB")
    if damage == "zone":
        tz = "Asia/Kolkata"
    else:
        tz = "UTC"
        with open(path, "wb") as fh:
            fh.write(data)
    written.clear()
    python, fast, _ = _both(store, card, tz)
    assert fast == python
    assert sorted(written) == ["a", "b", "c"]  # none taken from the file
    written.clear()
    assert _both(store, card, tz)[1] == python and written == []  # and it is kept again


def test_a_report_after_new_lines_is_a_cold_report_s_bytes(sandbox):
    """The real front end over 510 sessions (past ``SQL_ROWS_MIN``): reports with the rows
    kept between them print what a report from a new database prints."""
    logs = sandbox / "claude" / "projects" / "-home-dev-app"
    for i in range(510):
        write(logs / f"s{i:03}.jsonl", [assistant(
            session=f"s{i:03}", msg=f"m{i}", req=f"r{i}", inp=i, out=7 * i,
            ts=f"2026-09-{1 + i % 28:02}T{i % 24:02}:14:05.402Z")])
    db = sandbox / "kept.duckdb"
    for order in ([], ["--order", "desc"]):
        assert run_cli("session", "--json", "--db", str(db), *order).returncode == 0
    assert os.path.exists(str(db) + ".cache/" + session_rows.FILE_NAME)
    for step in range(3):
        with open(logs / "s007.jsonl", "a") as fh:
            fh.write(json.dumps(assistant(session="s007", msg=f"n{step}", req=f"q{step}",
                                          ts=f"2026-10-0{1 + step}T09:14:05.402Z")) + "\n")
        write(logs / f"new{step}.jsonl", [assistant(session=f"new{step}", msg=f"x{step}",
                                                    req=f"y{step}")])
        for order in ([], ["--order", "desc"]):
            kept = run_cli("session", "--json", "--db", str(db), *order)
            cold = run_cli("session", "--json", "--db",
                           str(sandbox / f"cold{step}{len(order)}.duckdb"), *order)
            assert kept.returncode == cold.returncode == 0
            assert kept.stdout == cold.stdout
            assert len(json.loads(kept.stdout)["rows"]) == 511 + step


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20), st.lists(st.text(max_size=12), max_size=30))
def test_the_index_gives_back_what_it_was_given(key, keys):
    """Any session ids (a log's: NULs, newlines, lone surrogates) and hashes round-trip;
    a cut or a stray byte is refused or reads as something else (which the file's sizes
    then refuse: ``test_a_torn_or_foreign_file_is_written_again``)."""
    from array import array

    hashes = array("Q", (hash(k) & (2**64 - 1) for k in keys))
    sizes = array("Q", range(len(keys)))
    index = session_rows._index(key, keys, hashes, sizes)
    assert session_rows._read_index(index) == (key, keys, hashes, sizes)
    for bad in (index[:-1], index + b"x", b"9" + index):
        try:
            got = session_rows._read_index(bad)
        except ValueError:
            continue
        assert got != (key, keys, hashes, sizes)
