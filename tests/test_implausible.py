"""Implausible data is named, never silently absorbed (issue #15).

A token count that no request can have (over ``MAX_TOKENS``, negative, a string,
a bool, a fraction), or a request dated before 2023 or more than a day ahead,
skips its whole line, which is counted as a bad line and named in the report's
warning. The fast msgspec path, the tolerant ``extract``, the store's insert and
the status line agree.
"""

from __future__ import annotations

import json

import pytest

from ccspend.sources.claude_code import MAX_TOKENS, extract, scan
from tests.conftest import report_json
from tests.logs import assistant, write


def _lines(*objs) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def _with_usage(**usage) -> dict:
    line = assistant(msg="bad")
    line["message"]["usage"].update(usage)
    return line


BAD_LINES = {
    "1e30 input tokens": _with_usage(input_tokens=10**30),
    "a float 1e30": _with_usage(output_tokens=1e30),
    "just past the bound": _with_usage(cache_read_input_tokens=MAX_TOKENS + 1),
    "negative": _with_usage(output_tokens=-5),
    "a string": _with_usage(input_tokens="12"),
    "a bool": _with_usage(cache_creation_input_tokens=True),
    "a fraction": _with_usage(input_tokens=1.5),
    "a huge 1h split": _with_usage(cache_creation={"ephemeral_1h_input_tokens": 10**12}),
    "huge web searches": _with_usage(server_tool_use={"web_search_requests": 10**12}),
    "a huge compaction step": _with_usage(iterations=[
        {"type": "compaction", "input_tokens": 10**20, "output_tokens": 1}]),
    "year 9999": assistant(msg="bad", ts="9999-12-31T23:59:59Z"),
    "year 0001": assistant(msg="bad", ts="0001-01-01T00:00:00Z"),
    "before 2023": assistant(msg="bad", ts="2022-12-31T23:59:59Z"),
    "a week ahead": assistant(msg="bad", ts="2099-01-01T00:00:00Z"),
}


@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_an_implausible_line_is_skipped_and_counted_by_every_path(name):
    bad = BAD_LINES[name]
    data = _lines(assistant(msg="good"), bad)
    fast = scan(data, 0, 0)  # msgspec, falling back to extract
    assert [r["mid"] for r in fast.records] == ["good"] and fast.skipped == 1
    assert extract(bad) is False  # the tolerant path, which the status line uses
    from ccspend.live.sessions import scan_appended

    assert [r["mid"] for r in scan_appended(data, 0)[0]] == ["good"]


def test_plausible_odd_counts_are_kept():
    """Absent or null is zero; a float without a fraction (1e3) is that int; the bound
    itself is plausible."""
    line = _with_usage(input_tokens=None, output_tokens=1e3, cache_read_input_tokens=MAX_TOKENS)
    rec = scan(_lines(line), 0, 0).records[0]
    assert (rec["in"], rec["out"], rec["cr"]) == (0, 1000, MAX_TOKENS)
    assert extract(line) == {k: v for k, v in rec.items() if k not in ("f", "o")}


def test_a_huge_count_adds_nothing_to_a_report_and_is_named(projects):
    write(projects / "p" / "s.jsonl", [assistant(msg="good")])
    clean = report_json("daily")
    write(projects / "p" / "s.jsonl", [assistant(msg="good"), BAD_LINES["1e30 input tokens"],
                                       BAD_LINES["year 9999"]])  # fmt: skip
    got = report_json("daily")
    assert got["totals"] == clean["totals"]
    assert got["rows"] == clean["rows"] and got["unpriced"] == []
    assert got["warnings"] == ["skipped 2 bad log lines (unreadable, or an implausible count "
                               "or date): s.jsonl (2)"]  # fmt: skip
