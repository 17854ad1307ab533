"""Writing and reading provider exports in the store (``imported_usage``).

A bucket is stored under its ``UsageRow.key``, so importing the same file again,
or two exports that overlap, replaces rows instead of adding them: each bucket
counts once, with the values of the file imported last. Money stays Decimal on
the way in (passed as text and cast to DECIMAL(38,12)), never a float.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ccspend.imports.records import UsageRow
from ccspend.store.engine import duckdb

COST_SCALE = 12  # DECIMAL(38,12): a cost with more places would be rounded, so refused

TOKEN_COLUMNS = ("input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
                 "cache_read_tokens", "output_tokens")  # fmt: skip

_COLUMNS = (
    "row_key", "source", "provider", "kind", "start_ts", "end_ts", "model", "workspace",
    "api_key", "project", "task", "service_tier", "context_window", "line_item",
    "input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens",
    "output_tokens", "web_search_requests", "requests", "cost_usd", "file",
)
_TYPES = (
    "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
    "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
    "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "VARCHAR", "VARCHAR",
)
_CASTS = {"start_ts": "::TIMESTAMPTZ", "end_ts": "::TIMESTAMPTZ",
          "cost_usd": "::DECIMAL(38,12)"}  # fmt: skip


@dataclass(frozen=True)
class Totals:
    """Summed rows: what `ccspend import` prints and the tests compare exactly."""

    rows: int = 0
    input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    web_search_requests: int = 0
    cost_usd: Decimal = Decimal(0)

    @property
    def tokens(self) -> int:
        return (self.input_tokens + self.cache_write_5m_tokens + self.cache_write_1h_tokens
                + self.cache_read_tokens + self.output_tokens)

    def as_dict(self) -> dict:
        return {"rows": self.rows, "input_tokens": self.input_tokens,
                "cache_write_5m_tokens": self.cache_write_5m_tokens,
                "cache_write_1h_tokens": self.cache_write_1h_tokens,
                "cache_read_tokens": self.cache_read_tokens,
                "output_tokens": self.output_tokens, "tokens": self.tokens,
                "web_search_requests": self.web_search_requests,
                "cost_usd": str(self.cost_usd)}  # fmt: skip


def row_totals(rows: Iterable[UsageRow]) -> Totals:
    """Totals of parsed rows, in Python, exactly (each bucket once, by key)."""
    unique = {r.key: r for r in rows}.values()
    return Totals(
        rows=len(unique),
        input_tokens=sum(r.input_tokens for r in unique),
        cache_write_5m_tokens=sum(r.cache_write_5m_tokens for r in unique),
        cache_write_1h_tokens=sum(r.cache_write_1h_tokens for r in unique),
        cache_read_tokens=sum(r.cache_read_tokens for r in unique),
        output_tokens=sum(r.output_tokens for r in unique),
        web_search_requests=sum(r.web_search_requests for r in unique),
        cost_usd=sum((r.cost_usd for r in unique if r.cost_usd is not None), Decimal(0)),
    )


def _cost_text(cost: Decimal | None) -> str | None:
    if cost is None:
        return None
    exponent = cost.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -COST_SCALE:
        raise ValueError(f"a cost with more than {COST_SCALE} decimal places: {cost}")
    return str(cost)


def write_rows(con: duckdb.DuckDBPyConnection, rows: list[UsageRow],
               files: list[str]) -> tuple[int, int]:
    """Upsert rows by key in one transaction: (new buckets, buckets already there).

    ``files`` holds each row's file name (same length as ``rows``). A key that
    appears twice in the batch keeps its last row, like a later import would.
    """
    batch: dict[str, tuple] = {}
    for row, file in zip(rows, files, strict=True):
        batch[row.key] = (
            row.key, row.source, row.provider, row.kind, row.start.isoformat(),
            row.end.isoformat() if row.end else None, row.model, row.workspace, row.api_key,
            row.project, row.task, row.service_tier, row.context_window, row.line_item,
            row.input_tokens, row.cache_write_5m_tokens, row.cache_write_1h_tokens,
            row.cache_read_tokens, row.output_tokens, row.web_search_requests, row.requests,
            _cost_text(row.cost_usd), file,
        )  # fmt: skip
    if not batch:
        return 0, 0
    cols = [list(c) for c in zip(*batch.values(), strict=True)]
    select = ", ".join(
        f"unnest(${i + 1}::{t}[]){_CASTS.get(c, '')} AS {c}"
        for i, (c, t) in enumerate(zip(_COLUMNS, _TYPES, strict=True))
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE import_batch AS SELECT {select}", cols)
        existing = con.execute(
            "SELECT count(*) FROM import_batch b JOIN imported_usage u USING (row_key)"
        ).fetchone()[0]
        con.execute(
            f"INSERT OR REPLACE INTO imported_usage ({', '.join(_COLUMNS)}, imported_at) "
            f"SELECT {', '.join(_COLUMNS)}, now() FROM import_batch"
        )
        con.execute("DROP TABLE import_batch")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(batch) - existing, existing


def existing_keys(con: duckdb.DuckDBPyConnection, keys: list[str]) -> set[str]:
    """Which of these bucket keys the store already holds."""
    if not keys:
        return set()
    return {r[0] for r in con.execute(
        "SELECT row_key FROM imported_usage WHERE list_contains(?, row_key)", [keys]
    ).fetchall()}


def add_same_as_local(con: duckdb.DuckDBPyConnection, key: str) -> bool:
    """Mark an API key or workspace as Claude Code's own; True if it was new."""
    return bool(con.execute(
        "INSERT OR IGNORE INTO same_as_local VALUES (?, now()) RETURNING key", [key]
    ).fetchall())


def same_as_local(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT key FROM same_as_local ORDER BY key").fetchall()]


def totals(con: duckdb.DuckDBPyConnection, source: str | None = None,
           provider: str | None = None) -> Totals:
    """Totals of the stored rows (optionally of one format or provider)."""
    r = con.execute(
        "SELECT count(*), coalesce(sum(input_tokens), 0)::BIGINT, "
        "coalesce(sum(cache_write_5m_tokens), 0)::BIGINT, "
        "coalesce(sum(cache_write_1h_tokens), 0)::BIGINT, "
        "coalesce(sum(cache_read_tokens), 0)::BIGINT, coalesce(sum(output_tokens), 0)::BIGINT, "
        "coalesce(sum(web_search_requests), 0)::BIGINT, "
        "coalesce(sum(cost_usd), 0)::DECIMAL(38,12) FROM imported_usage "
        "WHERE ($1::VARCHAR IS NULL OR source = $1) AND ($2::VARCHAR IS NULL OR provider = $2)",
        [source, provider],
    ).fetchone()
    return Totals(*r[:7], cost_usd=Decimal(r[7]).normalize() if r[7] else Decimal(0))
