"""The rows an export writes: what the reports count, one per request, read in batches.

Why a module of its own: an export reads the same rows as the reports
(``queries.select``: deduplicated, priced on the card, filtered) but all of them,
not sums, so it holds the read connection while the caller writes them out.
``selected`` is that connection, opened and closed by the store; the caller
passes it back to ``rows`` (CSV, JSON lines: batches of plain tuples) or
``write_parquet`` (DuckDB writes the files itself), or to
``team_table.stage_rows``. Costs leave the database as exact decimals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ccspend.store import queries

if TYPE_CHECKING:
    import duckdb

    from ccspend.pricing.card import RateCard
    from ccspend.store import Store

_SELECT = """
SELECT strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, session_id, model,
       model_name, cwd, git_branch, input_tokens, cache_write_5m_tokens,
       cache_write_1h_tokens, cache_read_tokens, output_tokens, web_search_requests,
       {cost} AS cost_usd, priced, source{extra}
FROM selected ORDER BY selected.ts, session_id
"""

# Exact: DECIMAL / INTEGER would go through DOUBLE; micro-dollars have 6 decimals, so
# dollars need 12.
COST_USD = "CAST(CAST(cost_micro AS DECIMAL(38, 12)) * 0.000001 AS DECIMAL(38, 12))"

BATCH = 10_000


@contextlib.contextmanager
def selected(store: Store, card: RateCard,
             filters: queries.Filters) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read connection whose temp table ``selected`` holds the rows the reports count."""
    with store.connect() as con:
        queries.load_card(con, card)
        queries.select(con, filters)
        yield con


def rows(con: duckdb.DuckDBPyConnection) -> tuple[list[str], Iterator[list[tuple]]]:
    """The columns, and the rows of ``selected`` in batches of ``BATCH``, oldest first.

    The batches are read as they are taken: take them all before ``selected`` closes.
    """
    cur = con.execute(_SELECT.format(cost=COST_USD, extra=""))
    columns = [d[0] for d in cur.description]

    def batches() -> Iterator[list[tuple]]:
        while batch := cur.fetchmany(BATCH):
            yield batch

    return columns, batches()


def write_parquet(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """The rows of ``selected`` as Parquet under the folder ``out``, partitioned by month
    (``month=YYYY-MM/``); how many."""
    n = con.execute("SELECT count(*) FROM selected").fetchone()[0]
    sql = _SELECT.format(cost=COST_USD,
                         extra=", strftime(timezone('UTC', selected.ts), '%Y-%m') AS month")
    path = str(out).replace("'", "''")
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, PARTITION_BY (month))")
    return n
