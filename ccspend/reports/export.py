"""Priced usage out, one row per counted request, for spreadsheets, BI tools and engines.

Rows are exactly what the reports count (``queries.select``: deduplicated, priced
on the card, filtered by day), so an export's totals equal ``ccspend daily``'s.
The store holds no message text, so none can leak. Parquet is written by DuckDB
itself, partitioned by month (``month=YYYY-MM/``), so DuckDB, Spark or a
lakehouse engine reads the folder as one table with ``hive_partitioning``.
The rows come from the store (``store.export``); writing them out is done here.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, TextIO

from ccspend.core.errors import CcspendError
from ccspend.pricing.card import RateCard
from ccspend.store import Store, queries
from ccspend.store import export as store_export

FORMATS = ("csv", "jsonl", "parquet")

Connection = Any  # a store connection (only ccspend.store imports duckdb)


def export(store: Store, card: RateCard, filters: queries.Filters, fmt: str,
           out: Path | None, stdout: TextIO) -> int:
    """Write the rows; how many. csv and jsonl go to ``out`` or ``stdout`` (the front
    end's), parquet to a folder."""
    if fmt == "parquet" and out is None:
        raise CcspendError("--format parquet writes a folder: name it with --out DIR")
    with store_export.selected(store, card, filters) as con:
        if fmt == "parquet":
            return _parquet(con, out)
        if out is None:
            return _text(con, fmt, stdout)
        try:
            with open(out, "w", newline="", encoding="utf-8") as fh:
                return _text(con, fmt, fh)
        except OSError as exc:
            raise CcspendError(f"cannot write {out}: {exc.strerror or exc}") from None


def _text(con: Connection, fmt: str, fh: TextIO) -> int:
    columns, batches = store_export.rows(con)
    writer = csv.writer(fh, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(columns)
    n = 0
    for batch in batches:
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
    return store_export.write_parquet(con, out)
