"""Priced usage out, one row per counted request, for spreadsheets, BI tools and engines.

Rows are exactly what the reports count (``queries.select``: deduplicated, priced
on the card, filtered by day), so an export's totals equal ``ccspend daily``'s.
The store holds no message text, so none can leak. Parquet is written by DuckDB
itself, partitioned by month (``month=YYYY-MM/``), so DuckDB, Spark or a
lakehouse engine reads the folder as one table with ``hive_partitioning``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ccspend.core.errors import CcspendError
from ccspend.pricing.card import RateCard
from ccspend.store import Store, queries

FORMATS = ("csv", "jsonl", "parquet")

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

Connection = Any  # a store connection (only ccspend.store imports duckdb)


@contextlib.contextmanager
def priced(store: Store, card: RateCard, filters: queries.Filters) -> Iterator[Connection]:
    """A read connection whose temp table ``selected`` holds the rows the reports count."""
    with store.connect() as con:
        queries.load_card(con, card)
        queries.select(con, filters)
        yield con


def export(store: Store, card: RateCard, filters: queries.Filters, fmt: str,
           out: Path | None) -> int:
    """Write the rows; how many. csv and jsonl go to ``out`` or stdout, parquet to a folder."""
    if fmt == "parquet" and out is None:
        raise CcspendError("--format parquet writes a folder: name it with --out DIR")
    with priced(store, card, filters) as con:
        if fmt == "parquet":
            return _parquet(con, out)
        if out is None:
            return _text(con, fmt, sys.stdout)
        try:
            with open(out, "w", newline="", encoding="utf-8") as fh:
                return _text(con, fmt, fh)
        except OSError as exc:
            raise CcspendError(f"cannot write {out}: {exc.strerror or exc}") from None


def _text(con: Connection, fmt: str, fh: TextIO) -> int:
    cur = con.execute(_SELECT.format(cost=COST_USD, extra=""))
    columns = [d[0] for d in cur.description]
    writer = csv.writer(fh, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(columns)
    n = 0
    while batch := cur.fetchmany(10_000):
        for row in batch:
            if writer:
                writer.writerow([_cell(v) for v in row])
            else:
                fh.write(json.dumps(dict(zip(columns, row, strict=True)), default=str) + "\n")
        n += len(batch)
    return n


def _cell(value: object) -> object:
    """CSV as other tools write it: empty for NULL, lowercase booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _parquet(con: Connection, out: Path) -> int:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CcspendError(f"{out} exists and is not an empty folder",
                           hint="parquet output goes to a new folder")  # fmt: skip
    n = con.execute("SELECT count(*) FROM selected").fetchone()[0]
    sql = _SELECT.format(cost=COST_USD,
                         extra=", strftime(timezone('UTC', selected.ts), '%Y-%m') AS month")
    path = str(out).replace("'", "''")
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, PARTITION_BY (month))")
    return n
