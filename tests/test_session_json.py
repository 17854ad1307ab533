"""The session report's rows written as JSON text in SQL are the bytes Python wrote.

``queries.session_rows_json`` writes the rows of the session report of every
session (thousands at a long history) in SQL, so that no dict is made per row;
``cli.jsonout.dumps_with_rows`` puts them into the report. The contract is
``json.dumps(report.to_json(), indent=2)`` over the rows ``reports.build`` makes:
these tests hold the fast text to it, byte for byte, over random sessions with
the traps of text from a log (escapes, quotes, backslashes, non-ASCII above and
below U+FFFF, DEL, text that reads like an escape), of numbers (exponents, zero
input, counts past what a double holds) and of time zones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccspend.cli.fast.reports import render_json
from ccspend.cli.jsonout import text_of
from ccspend.reports import build, session_rows
from ccspend.store import queries

ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")
_TRAPS = list("ab/é日😀\"\\\x1b\x7f\n\t\x01\x0b\x1f\u2028 ,[]{}:") + ["\\u001B", "\\u00e9", '","']
_text = st.lists(st.sampled_from(_TRAPS) | st.characters(blacklist_categories=("Cs",)),
                 max_size=6).map("".join)
_count = st.integers(0, 2_000) | st.integers(0, 2**50)
_micro = st.decimals(0, 10**12, places=6) | st.integers(0, 10**6).map(
    lambda n: Decimal(n).scaleb(-6))
_instant = st.none() | st.datetimes(datetime(2019, 1, 1), datetime(2031, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC))
_session = st.tuples(
    _text.filter(bool), _count, _count, _count, _count, _count, st.integers(0, 50), _micro,
    _micro, st.integers(0, 10**6), st.lists(_text, max_size=3), _instant,
    st.lists(_text, max_size=3), st.none() | _text, st.none() | st.booleans(),
    st.sampled_from([None, "local", "codex", "goose", "no-such-agent"]),
)


@pytest.fixture(autouse=True, params=["sql", "kept"])
def mode(request, monkeypatch):
    """The text is written from the first session here (a report of fewer than
    ``SQL_ROWS_MIN`` builds its rows in Python, which these tests compare it with):
    ``sql``, every row in SQL each time; ``kept``, rows kept between reports
    (``reports.session_rows``), those that changed written again in Python."""
    monkeypatch.setattr(queries, "SQL_ROWS_MIN", 1)
    monkeypatch.setattr(session_rows, "SQL_AFTER", -1 if request.param == "sql" else 10**9)
    return request.param


def _put(store, sessions: list[tuple]) -> None:
    """``sessions`` as the rows of ``session_totals`` (a session's first activity an
    hour before its last)."""
    with store.connect(write=True) as con:
        con.execute("DELETE FROM session_totals")
        for s in {row[0]: row for row in sessions}.values():
            first = s[11] - timedelta(hours=1) if s[11] else None
            con.execute("INSERT INTO session_totals VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                        "$9, $10, $11, $12, $13, $14, $15, $16, $17)",
                        [*s[:11], first, s[11], *s[12:]])


def _both(store, card, tz: str, order: str | None) -> tuple[str, str, bool]:
    """The report's JSON as Python writes it (``json.dumps`` of ``to_json``), the JSON
    the front end prints, and whether the rows came as text."""
    out = []
    for json_only in (False, True):
        req = build.ReportRequest("session", queries.Filters(tz=tz), order=order,
                                  json_only=json_only)
        report = build.build_report(store, card, req, [])
        out.append(report)
    python, fast = out
    assert python.rows_json is None
    return (json.dumps(python.to_json(), indent=2) + "\n",
            text_of(render_json(fast, None, [], None, False)[0]), fast.rows_json is not None)


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_session, min_size=1, max_size=12), st.sampled_from(ZONES),
       st.sampled_from([None, "asc", "desc"]))
def test_rows_written_in_sql_are_python_s_bytes(store, card, sessions, tz, order):
    _put(store, sessions)
    python, fast, _ = _both(store, card, tz, order)
    assert fast == python


@pytest.mark.parametrize("tz", ZONES)
def test_the_traps_each_at_once(store, card, tz):
    """Every trap in one report, and the rows written in SQL (not the fallback)."""
    at = datetime(2026, 3, 7, 15, 30, 0, 123456, tzinfo=UTC)
    sessions = [
        ("s-é😀\u2028", 5, 7, 11, 13, 17, 1, Decimal("0.000001"), Decimal("12345.678901"), 3,
         ["claude-opus-4-6", "gpt-5"], at, ["main", "feat/x"], "/home/dev/donn\u00e9es",
         False, "local"),
        ("s-\x7fdel", 0, 0, 0, 0, 0, 0, Decimal(0), Decimal(0), 0, [], None, [], None, None,
         None),
        ("s-quote\"back\\slash", 1, 2, 0, 0, 0, 0, Decimal("0.1"), Decimal("1e-6"), 1,
         ["m\\u001B"], at + timedelta(days=400), ["a\",\"b", "\\"], "/x", True, "goose"),
        ("s-big", 2**52, 2**52, 1, 2, 3, 4, Decimal("99999999999999.999999"),
         Decimal("0.00005"), 10**6, ["x"], at + timedelta(hours=9), ["(none)"], "/y", False,
         "codex"),
        ("s-same-time", 1, 1, 1, 1, 1, 1, Decimal("1e16"), Decimal("0.3"), 1, ["x"],
         at + timedelta(hours=9), [], "/y", False, "no-such-agent"),
    ]
    _put(store, sessions)
    for order in (None, "desc"):
        python, fast, as_text = _both(store, card, tz, order)
        assert as_text
        assert fast == python
    # and with an escape (ESC in a branch): the rows written again, one escape at a time
    _put(store, [*sessions, ("s-esc", 1, 1, 1, 1, 1, 1, Decimal(1), Decimal(1), 1, ["m"], at,
                             ["\x1b[31mred\x1b[0m\n"], "/t\tab", False, "local")])
    python, fast, as_text = _both(store, card, tz, None)
    assert as_text
    assert fast == python


def test_counts_a_double_cannot_hold_fall_back_to_python(store, card, mode):
    """A count past 2**53 would make the hit rate's division another than Python's, and
    a cost of 28 digits Python's ``Decimal`` rounds: such rows are not written in SQL,
    and the bytes are the same."""
    for big in [("s", 2**60, 3, 5, 7, 2**60 + 1, 0, Decimal(1), Decimal(1), 1),
                ("s", 1, 3, 5, 7, 9, 0, Decimal(10**21) + Decimal("0.000001"), Decimal(1), 1)]:
        _put(store, [(*big, ["m"], None, [], None, False, "local")])
        python, fast, as_text = _both(store, card, "UTC", None)
        assert as_text == (mode == "kept")
        assert fast == python


def test_a_table_is_still_drawn_from_rows(store, card):
    """Only a JSON report takes its rows as text: the table's rows are objects."""
    _put(store, [("s", 1, 1, 1, 1, 1, 0, Decimal(1), Decimal(1), 1, ["m"], None, [], None,
                  False, "local")])
    req = build.ReportRequest("session", queries.Filters())
    report = build.build_report(store, card, req, [])
    assert report.rows_json is None and [r.key for r in report.rows] == ["s"]


def test_a_few_sessions_are_rows_built_in_python(store, card, monkeypatch):
    """Below ``SQL_ROWS_MIN`` sessions the text's query, dearer than the rows, is not run;
    at it, the rows come as text; the bytes are the same either way."""
    monkeypatch.setattr(queries, "SQL_ROWS_MIN", 3)
    rows = [(f"s{i}", 1, 1, 1, 1, 1, 0, Decimal(1), Decimal(1), 1, ["m"], None, [], None,
             False, "local") for i in range(3)]
    _put(store, rows[:2])
    python, fast, as_text = _both(store, card, "UTC", None)
    assert not as_text and fast == python
    _put(store, rows)
    python, fast, as_text = _both(store, card, "UTC", None)
    assert as_text and fast == python
