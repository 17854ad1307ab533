"""The documented views of ``ccspend sql``: what a user's own queries can rely on.

- ``requests``: one row per logged response line (the table itself; duplicates
  included, as stored; join ``files`` for the path).
- ``priced_requests``: deduplicated and priced exactly as every report counts,
  with ``cost_usd`` (DECIMAL, NULL when the model is not on the rate card).
- ``runs``: the ledger of ``ccspend run`` (the table itself).
- ``imported_usage``: provider exports brought in by ``ccspend import`` (the
  table itself: one row per usage or cost bucket, ``cost_usd`` billed, DECIMAL).
- ``budgets``: the budgets of the config file (scope, target, period, cap_usd, alert_at).

They are TEMP views and tables made on a read-only connection before its
configuration is locked, so they cost nothing on disk and a query cannot
change them.
"""

from __future__ import annotations

from collections.abc import Callable

from ccspend.pricing.card import RateCard
from ccspend.store import queries
from ccspend.store.engine import duckdb

VIEWS = ("requests", "priced_requests", "runs", "imported_usage", "budgets")


def setup_steps(card: RateCard, budgets: list) -> list[Callable[[duckdb.DuckDBPyConnection], None]]:
    def prices(con: duckdb.DuckDBPyConnection) -> None:
        queries.load_card(con, card)
        con.execute(
            "CREATE TEMP VIEW priced_requests AS SELECT *, "
            "CAST(cost_micro / 1000000 AS DECIMAL(38, 12)) AS cost_usd FROM ("
            + queries.PRICED.format(window="") + ")"
        )

    def budget_table(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TEMP TABLE budgets (scope VARCHAR, target VARCHAR, period VARCHAR, "
                    "cap_usd DOUBLE, alert_at INTEGER[])")  # fmt: skip
        if budgets:
            con.executemany("INSERT INTO budgets VALUES (?, ?, ?, ?, ?)",
                            [(b.scope, b.name, b.period, b.cap_usd, list(b.alert_at))
                             for b in budgets])  # fmt: skip

    return [prices, budget_table]
