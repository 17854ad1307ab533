"""A report's one plain grouping, folded in Python, equals the separate queries.

``queries.summarise`` answers every report but ``session`` with one
``GROUP BY key, sub-row columns, unpriced model, unknown multiplier`` and folds
those rows into the report's rows, sub-rows, total, unpriced models and unknown
multipliers (``_summarise_flat``). A slip in the fold (a sum dropped, a count
taken per flat row instead of per request, models not merged, an order that is
not SQL's) shows here against the queries that group each of those on their own
over every priced line (``select``, ``aggregate``, ``unpriced``,
``unknown_modifiers``), and, for the project and agent sub-rows, against a plain
grouping of the same lines.

The logs are random but seeded: several requests per key and per flat group,
models the card prices and two it does not, a speed and a region with a
multiplier and ones without, two projects, branches, sidechains.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccspend.core.records import replace
from ccspend.ingest.claude import ingest_claude
from ccspend.store import queries
from tests.logs import assistant

GROUPS = ("daily", "weekly", "monthly", "model", "project", "branch", "source")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _numbers(a):
    """What a row of a report other than ``session`` shows."""
    return replace(a, key=None, cwd=None, first_ts=None, last_ts=None, branches=[], agent=None)


@pytest.fixture
def filled(store, card, tmp_path: Path):
    rng = random.Random(29)
    root = tmp_path / "claude" / "projects"
    start = datetime(2026, 8, 30, 20, 0, tzinfo=UTC)
    for s in range(6):
        folder = root / rng.choice(["-home-dev-app", "-home-dev-api"])
        folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for n in range(60):
            at = start + timedelta(minutes=rng.uniform(0, 60 * 24 * 9))
            line = assistant(
                ts=at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
                session=f"S{s}", msg=f"m{s}-{n}", req=f"r{s}-{n}",
                model=rng.choice(["claude-sonnet-4-5-20250929", "claude-opus-4-6",
                                  "claude-haiku-4-5", "mystery-model", "acme-coder-9"]),
                inp=rng.randint(0, 90_000), out=rng.randint(1, 4_000),
                cache_write=rng.randint(0, 20_000), cache_read=rng.randint(0, 300_000),
                searches=rng.choice([0, 0, 0, 2]), cwd=str(folder).replace("-", "/"),
                branch=rng.choice(["main", "feat", "", None]), sidechain=rng.random() < 0.2)
            usage = line["message"]["usage"]
            if rng.random() < 0.3:
                usage["speed"] = rng.choice(["fast", "warp", "standard"])
            if rng.random() < 0.2:
                usage["inference_geo"] = rng.choice(["us", "mars", "global"])
            lines.append(line)
        (folder / f"s{s}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    ingest_claude(store, [root])
    with store.connect(write=True) as con:
        queries.load_card(con, card)
        yield con


def _grouped(con, group: str, column: str, tz: str) -> list[tuple]:
    """(key, sub key, input tokens, cost, requests, models) per key and ``column``,
    over ``selected``: the project and agent sub-rows, grouped plainly."""
    key = queries.GROUP_KEYS[group]
    sql = (f"SELECT {key} AS k, {column} AS s, sum(input_tokens)::BIGINT, "
           "coalesce(sum(cost_micro), 0)::DECIMAL(38,6), count(*)::BIGINT, "
           "list_sort(list_distinct(list(coalesce(model_name, model, '(unknown)')))) "
           "FROM selected GROUP BY ALL ORDER BY k, s")
    return [tuple(r) for r in con.execute(sql, {"tz": tz} if "$tz" in key else None).fetchall()]


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kathmandu"])
@pytest.mark.parametrize("rolled", [True, False], ids=["rollup", "lines"])
def test_the_folded_grouping_equals_the_separate_queries(filled, tz, rolled):
    con = filled
    f = queries.Filters(tz=tz)
    # an instant window starting before every line: the same lines, read unrolled
    asked = f if rolled else replace(f, since_ts=EPOCH)
    queries.select(con, f)
    unpriced = queries.unpriced(con)
    odd = queries.unknown_modifiers(con)
    assert unpriced and odd  # the data has what the fold must count
    total = queries.aggregate(con, None, f)
    for group in GROUPS:
        s = queries.summarise(con, group, asked, by_model=True, by_project=True, by_agent=True)
        queries.select(con, f)
        rows = queries.aggregate(con, group, f)
        assert [a.key for a in s.groups] == [a.key for a in rows], group
        assert [_numbers(a) for a in s.groups] == [_numbers(a) for a in rows], group
        subs = queries.aggregate(con, group, f, by_model=True)
        assert [(a.key, a.sub_key) for a in s.subs] == [(a.key, a.sub_key) for a in subs]
        assert [_numbers(a) for a in s.subs] == [_numbers(a) for a in subs], group
        assert [_numbers(s.total)] == [_numbers(a) for a in total], group
        assert s.unpriced == unpriced, group
        assert s.unknown_modifiers == odd, group
        for got, column in ((s.projects, "coalesce(cwd, '(unknown)')"), (s.agents, "source")):
            assert [(a.key, a.sub_key, a.input_tokens, a.cost_micro, a.requests, a.models)
                    for a in got] == _grouped(con, group, column, tz), (group, column)
        plain = queries.summarise(con, group, asked)
        assert plain.groups == s.groups and plain.total == s.total, group
        assert plain.subs == plain.projects == plain.agents == []


def test_no_requests_is_no_total(store, card):
    with store.connect(write=True) as con:
        queries.load_card(con, card)
        s = queries.summarise(con, "daily", queries.Filters(), by_model=True)
        assert (s.groups, s.subs, s.total, s.unpriced, s.unknown_modifiers) == ([], [], None,
                                                                                  [], [])


def test_a_row_that_sums_a_session_total_says_so(filled):
    """A key's row, and the total, sum a whole session's total (Goose, Hermes) when any of
    its flat groups does, whichever of them the grouping gives first."""
    con = filled
    queries.summarise(con, "daily", queries.Filters())  # the rollup summed
    con.execute("UPDATE rollup SET session_total = (session_id = 'S2' AND "
                "model = 'claude-haiku-4-5' AND bucket < '2026-09-04')")
    seen = []
    for group in GROUPS:
        key = queries.GROUP_KEYS[group]
        sql = (f"SELECT {key} AS k, bool_or(session_total) FROM (SELECT bucket AS ts, * "
               "FROM rollup) GROUP BY k ORDER BY k")
        want = con.execute(sql, {"tz": "UTC"} if "$tz" in key else None).fetchall()
        s = queries.summarise(con, group, queries.Filters(), by_agent=True)
        assert [(a.key, a.session_total) for a in s.groups] == [tuple(r) for r in want]
        assert s.total.session_total
        seen += [st for _, st in want]
    assert any(seen) and not all(seen)


def test_the_session_report_of_every_session_folds_the_same(filled):
    """The session report of every session reads ``session_totals`` and folds its unpriced
    models and unknown multipliers from one plain grouping of the rollup's rows."""
    con = filled
    s = queries.summarise(con, "session", queries.Filters())
    queries.select(con, queries.Filters())
    assert s.unpriced == queries.unpriced(con) and s.unpriced
    assert s.unknown_modifiers == queries.unknown_modifiers(con) and s.unknown_modifiers
    assert [a.key for a in s.groups] == [f"S{i}" for i in range(6)]
