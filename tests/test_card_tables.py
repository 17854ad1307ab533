"""The store keeps its rate card's tables, rewritten only when their rows change.

A report after a new line used to make the card's tables anew and read them back
for the price fingerprints (some 25 ms a run). Now ``queries.load_card`` writes
them into the store once per card (or new model seen) and keeps the fingerprints
beside them; another card or day (``whatif --card``) shadows them with temporary
tables, and the next ordinary load drops the shadows.
"""

from __future__ import annotations

from datetime import date

from ccspend.pricing import load_card
from ccspend.store import Store, maintain, queries


def _digest(con) -> str:
    return con.execute("SELECT digest FROM card_tables").fetchone()[0]


def test_the_card_tables_are_written_once_and_again_only_for_a_new_model(tmp_path):
    store, card = Store(tmp_path / "db.duckdb"), load_card()
    with store.connect(write=True) as con:
        con.execute("INSERT INTO models_seen VALUES ('claude-sonnet-4-5-20250929')")
        queries.load_card(con, card)
        first = _digest(con)
        assert con.execute("SELECT count(*) FROM main.model_map").fetchone()[0] == 1
        fps = queries.loaded_card()[3]
        assert fps == maintain.fingerprints(con)  # kept, equal to a read of the tables
    with store.connect(write=True) as con:  # another run, same card: nothing rewritten
        con.execute("UPDATE card_tables SET fingerprints = '{\"x\": \"kept\"}'")
        queries.load_card(con, card)
        assert _digest(con) == first and queries.loaded_card()[3] == {"x": "kept"}
    with store.connect(write=True) as con:  # a new model: the tables and prints again
        con.execute("INSERT INTO models_seen VALUES ('opus')")
        queries.load_card(con, card)
        assert _digest(con) != first
        assert set(queries.loaded_card()[3]) == {"claude-sonnet-4-5-20250929", "opus"}
        assert con.execute("SELECT count(DISTINCT raw) FROM main.model_map").fetchone()[0] == 2


def test_another_day_shadows_the_store_card_and_the_next_load_drops_the_shadow(tmp_path):
    store, card = Store(tmp_path / "db.duckdb"), load_card()
    with store.connect(write=True) as con:
        con.execute("INSERT INTO models_seen VALUES ('claude-sonnet-4-5-20250929')")
        queries.load_card(con, card, at=date(2025, 1, 1))
        assert con.execute("SELECT card_at FROM card_meta").fetchone()[0] == date(2025, 1, 1)
        assert queries.loaded_card()[3] is None  # temporary: fingerprints read from them
        queries.load_card(con, card)
        assert con.execute("SELECT card_at FROM card_meta").fetchone()[0] is None
        assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary "
                               "AND table_name = 'model_map'").fetchone()[0]  # fmt: skip


def test_a_card_load_that_changes_the_tables_leaves_the_store_unknown_current(tmp_path):
    """A batch prices its new rows as written only by the card load the store was found
    current with (``maintain.current_card``): loading another card or day on the same
    connection makes the tables it would price by another card's, so that is forgotten
    until ``up_to_date`` checks again."""
    store, card = Store(tmp_path / "db.duckdb"), load_card()
    with store.connect(write=True) as con:
        con.execute("INSERT INTO models_seen VALUES ('claude-sonnet-4-5-20250929')")
        queries.load_card(con, card)
        maintain.up_to_date(con, queries.PRICE_COUNTED, queries.loaded_card(), False)
        assert maintain.current_card(con) is not None
        queries.load_card(con, card)  # the same load: still current
        assert maintain.current_card(con) is not None
        queries.load_card(con, card, at=date(2025, 1, 1))  # another day's shadow tables
        assert maintain.current_card(con) is None
        queries.load_card(con, card)
        maintain.up_to_date(con, queries.PRICE_COUNTED, queries.loaded_card(), False)
        assert maintain.current_card(con)[0] is queries.loaded_card()


def test_a_read_only_connection_prices_from_temporary_tables(tmp_path):
    store, card = Store(tmp_path / "db.duckdb"), load_card()
    with store.connect(write=True) as con:
        con.execute("INSERT INTO models_seen VALUES ('claude-haiku-4-5')")
    with store.connect() as con:
        queries.load_card(con, card)
        assert queries.loaded_card()[3] is None
        assert con.execute("SELECT count(*) FROM model_map").fetchone()[0] == 1
