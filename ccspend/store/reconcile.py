"""The two sides of ``ccspend reconcile``, summed per UTC day in the database.

Why a module of its own: reconcile reads both halves of the store at once, the
local requests priced exactly as the reports price them (``queries.PRICED``) and
the provider exports in ``imported_usage``, and hands plain rows to
``reports.reconcile``, which matches model names, picks among export formats
and explains the differences. Only the sums are SQL; every rule is there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccspend.store import queries

if TYPE_CHECKING:
    import duckdb

    from ccspend.pricing.card import RateCard


def local_usage(con: duckdb.DuckDBPyConnection, card: RateCard, agents: list[str]) -> list[tuple]:
    """Counted local requests of ``agents`` (sources; none: every one) per (UTC day, model
    as logged): (day, model, the five token kinds, cost in micro-dollars, requests,
    whether any is unpriced)."""
    queries.load_card(con, card)
    return con.execute(
        "SELECT CAST(timezone('UTC', ts) AS DATE) AS day, model, "
        "sum(input_tokens)::BIGINT, sum(cache_write_5m_tokens)::BIGINT, "
        "sum(cache_write_1h_tokens)::BIGINT, sum(cache_read_tokens)::BIGINT, "
        "sum(output_tokens)::BIGINT, coalesce(sum(cost_micro), 0)::DECIMAL(38,6), "
        "count(*)::BIGINT, bool_or(NOT priced) "
        f"FROM ({queries.PRICED.format(window='')}) q "
        "WHERE len($agents::VARCHAR[]) = 0 OR list_contains($agents, source) GROUP BY ALL",
        {"agents": agents},
    ).fetchall()


def export_usage(con: duckdb.DuckDBPyConnection, provider: str) -> list[tuple]:
    """A provider's imported rows per (UTC day of the bucket's start, format, kind, model,
    workspace / API key): (day, source, kind, model, who, the five token kinds, web
    searches, billed USD or None). Only the keys and workspaces marked ``same_as_local``
    when any are."""
    from ccspend.store import imported  # with DuckDB itself: only once a database is open

    keys = imported.same_as_local(con)
    return con.execute(
        "SELECT CAST(timezone('UTC', start_ts) AS DATE) AS day, source, kind, model, "
        "concat_ws(' / ', workspace, api_key) AS who, "
        "sum(input_tokens)::BIGINT, sum(cache_write_5m_tokens)::BIGINT, "
        "sum(cache_write_1h_tokens)::BIGINT, sum(cache_read_tokens)::BIGINT, "
        "sum(output_tokens)::BIGINT, sum(web_search_requests)::BIGINT, "
        "sum(cost_usd)::DECIMAL(38,12) "
        "FROM imported_usage WHERE provider = $provider AND (len($keys::VARCHAR[]) = 0 "
        "OR list_contains($keys, api_key) OR list_contains($keys, workspace)) GROUP BY ALL",
        {"provider": provider, "keys": keys},
    ).fetchall()


def export_days(con: duckdb.DuckDBPyConnection, provider: str) -> tuple | None:
    """The first and last UTC day of ``provider``'s imported rows (every key's and
    workspace's: what the exports cover), or None when none is imported."""
    row = con.execute(
        "SELECT min(CAST(timezone('UTC', start_ts) AS DATE)), "
        "max(CAST(timezone('UTC', start_ts) AS DATE)) FROM imported_usage "
        "WHERE provider = $provider",
        {"provider": provider},
    ).fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])


def stated_and_card(con: duckdb.DuckDBPyConnection, card: RateCard, since=None,
                    until=None) -> list[tuple]:
    """The counted requests whose log states a cost, per (source, model as the card
    names it, else as logged): (source, model, requests, total tokens, stated cost in
    USD, the card's price of the same tokens in micro-dollars, requests the card cannot
    price). ``since``/``until``: UTC days, inclusive."""
    queries.load_card(con, card)
    return con.execute(
        "SELECT source, coalesce(model_name, model, '(unknown)'), count(*)::BIGINT, "
        "sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens "
        "+ cache_read_tokens)::BIGINT, sum(stated_usd::DECIMAL(38,12))::DECIMAL(38,12), "
        "sum(cost_micro)::DECIMAL(38,6), count(*) FILTER (WHERE NOT priced)::BIGINT "
        f"FROM ({queries.CARD_PRICED.format(window='')}) q WHERE stated_usd IS NOT NULL "
        "AND ($since IS NULL OR CAST(timezone('UTC', ts) AS DATE) >= $since) "
        "AND ($until IS NULL OR CAST(timezone('UTC', ts) AS DATE) <= $until) "
        "GROUP BY ALL ORDER BY 1, 2",
        {"since": since, "until": until},
    ).fetchall()
