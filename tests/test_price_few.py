"""A few counted rows priced in Python equal the pricing query's prices, to the micro-dollar.

``maintain.refresh`` prices up to ``maintain.FEW`` unpriced rows with
``pricing.counted`` (the query's fixed cost is most of a refresh after a new
line) and hands every other case to ``queries.PRICE_COUNTED``. Each example
here prices the same random rows both ways, on the shipped card, and compares
every priced column: models by id, by Claude Code alias over time, unknown and
missing; prompts on both sides of long-context thresholds, compaction steps,
web searches; and the rows the Python side must leave to the query (a stated
cost, fast mode, US-only inference), which must come out the same as well.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccspend.pricing import load_card
from ccspend.store import Store, maintain, queries

MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5",
          "claude-sonnet-4-20250514", "opus", "sonnet", "haiku", "claude-3-5-haiku-20241022",
          "gpt-5", "gemini-2.5-pro", "mystery-model-9", "<unknown>", None)  # fmt: skip
START = datetime(2024, 1, 1, tzinfo=UTC)
PRICED_COLUMNS = ("model_name, priced, cost_micro, savings_micro, pricing_mode, "
                  "modifier_unknown, card")  # fmt: skip

_tokens = st.one_of(st.integers(0, 3000), st.integers(0, 400_000), st.integers(0, 2_000_000))
_row = st.fixed_dictionaries({
    "model": st.sampled_from(MODELS),
    "minutes": st.integers(0, 3 * 365 * 24 * 60),
    "source": st.sampled_from(("local", "local", "codex", "opencode")),
    "logged": st.one_of(st.none(), st.floats(0, 5, allow_nan=False)),
    "speed": st.sampled_from((None, None, "", "standard", "fast", "turbo")),
    "geo": st.sampled_from((None, None, "global", "not_available", "us", "eu")),
    "tokens": st.tuples(*([_tokens] * 5), st.integers(0, 4), *([_tokens] * 5)),
})


@pytest.fixture(scope="module")
def priced_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("few") / "db.duckdb")
    with store.connect(write=True):
        pass
    return store, load_card()


def _priced(store: Store, card, rows: list[dict], few: int) -> list[tuple]:
    with store.connect(write=True) as con:
        for table in ("counted", "rollup", "rollup_dirty", "session_totals", "session_dirty",
                      "models_seen", "card_state"):  # fmt: skip
            con.execute(f"DELETE FROM {table}")
        for n, r in enumerate(rows):
            ts = START + timedelta(minutes=r["minutes"])
            t = r["tokens"]
            con.execute(
                "INSERT INTO counted (ckey, file_id, line_offset, ts, session_id, model, source, "
                "input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
                "cache_read_tokens, web_search_requests, speed, inference_geo, "
                "compaction_input_tokens, compaction_output_tokens, "
                "compaction_cache_write_5m_tokens, compaction_cache_write_1h_tokens, "
                "compaction_cache_read_tokens, logged_cost_usd) VALUES (?, 1, ?, ?, 's', ?, ?, "
                "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [f"k{n}", n, ts, r["model"], r["source"], *t[:6], r["speed"], r["geo"], *t[6:],
                 r["logged"]])  # fmt: skip
            con.execute("INSERT INTO models_seen SELECT ? EXCEPT SELECT model FROM models_seen",
                        [r["model"]])
        con.execute(f"INSERT INTO rollup_dirty SELECT DISTINCT {maintain.BUCKET.format(ts='ts')} "
                    "FROM counted")  # fmt: skip
        queries.load_card(con, card)
        saved, maintain.FEW = maintain.FEW, few
        try:
            maintain.refresh(con, queries.PRICE_COUNTED, [])
        finally:
            maintain.FEW = saved
        return con.execute(f"SELECT line_offset, {PRICED_COLUMNS} FROM counted "
                           "ORDER BY line_offset").fetchall()  # fmt: skip


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_row, min_size=1, max_size=4))
def test_python_prices_equal_the_query(priced_store, rows):
    store, card = priced_store
    assert _priced(store, card, rows, few=64) == _priced(store, card, rows, few=0)


@pytest.mark.parametrize("step", range(5))
@pytest.mark.parametrize("prompt", (1_000, 250_000))  # each side of a long-context threshold
def test_one_compaction_count_alone_is_priced_by_the_query_as_in_python(priced_store, step,
                                                                        prompt):
    """A request whose compaction steps hold one kind of token only: the query's shortcut
    for plain requests (no compaction) must not take it, whichever kind it is."""
    store, card = priced_store
    steps = [0] * 5
    steps[step] = 7_000
    row = {"model": "claude-sonnet-4-5-20250929", "minutes": 600 * 24 * 60, "source": "local",
           "logged": None, "speed": None, "geo": None,
           "tokens": (prompt, 20, 0, 0, 5, 0, *steps)}
    assert _priced(store, card, [row], few=64) == _priced(store, card, [row], few=0)


def test_the_common_case_is_priced_in_python_and_the_rest_by_the_query(priced_store,
                                                                      monkeypatch):
    """The Python side runs for plain rows and steps aside for the others (a stated
    cost, fast mode): a test of the split itself, since equal prices alone would not
    show which side priced them."""
    store, card = priced_store
    from ccspend.pricing import counted

    calls = []
    monkeypatch.setattr(counted, "price", lambda *a: calls.append(a) or (None, False, None, None))
    plain = {"model": "claude-sonnet-4-5-20250929", "minutes": 10, "source": "local",
             "logged": None, "speed": None, "geo": None, "tokens": (10, 20, 0, 0, 5, 0) + (0,) * 5}
    _priced(store, card, [plain], few=64)
    assert len(calls) == 1
    for odd in ({"speed": "fast"}, {"source": "opencode", "logged": 0.5}, {"geo": "us"}):
        calls.clear()
        got = _priced(store, card, [plain | odd], few=64)
        assert not calls and got[0][2] is True  # priced, by the query
