"""A team's shared DuckDB file (``ccspend export --to PATH.duckdb``), opened briefly.

A DuckDB file admits one writing process at a time, and teammates export to the
same file on shared storage: so it is opened only for the append, and a file
held by someone else is waited for (``CCSPEND_LOCK_TIMEOUT`` seconds, as for
the local database) instead of failing at once. Unlike the local database it is
created with the user's umask, not owner-only: it is meant to be shared. The
append is one transaction: a failed export leaves the table as it was.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
from pathlib import Path

from ccspend.core.errors import CcspendError, StoreBusy
from ccspend.store import LOCK_TIMEOUT_ENV, is_lock_error, lock_timeout
from ccspend.store.engine import duckdb
from ccspend.store.team_table import (
    ADDED,
    STAGE,
    check_columns,
    count_sql,
    create_sql,
    probe_sql,
    upsert_sql,
)


@contextlib.contextmanager
def open_shared(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the team file, waiting while another process holds it."""
    if not path.parent.is_dir():
        raise CcspendError(f"cannot export to {path}: folder {path.parent} does not exist")
    deadline = time.monotonic() + lock_timeout()
    delay = 0.01
    while True:
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.Error as exc:
            if not is_lock_error(exc):
                raise CcspendError(f"cannot export to {path}: {_first_line(exc)}") from None
            if time.monotonic() >= deadline:
                raise StoreBusy(f"the team file {path} is held by another process",
                                hint=f"waited {lock_timeout():.0f}s; try again, or raise "
                                f"{LOCK_TIMEOUT_ENV}") from None  # fmt: skip
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.25)
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    except duckdb.Error as exc:
        raise CcspendError(f"cannot export to {path}: {_first_line(exc)}") from None
    finally:
        con.close()


def append(path: Path, table: str, stage: Path) -> tuple[int, int]:
    """Upsert the staged Parquet file ``stage`` into ``table`` of the team file ``path``
    (creating it, and its schema, if missing); (new rows, updated rows)."""
    with open_shared(path) as con:
        con.execute("BEGIN")
        if "." in table:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        con.execute(create_sql(table))
        cur = con.execute(probe_sql(table))
        have = check_columns(table, [d[0] for d in cur.description])
        for column, kind in ADDED.items():  # a table made by an older ccspend
            if column not in have:
                con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
        cur = con.execute(probe_sql(table))
        names = check_columns(table, [d[0] for d in cur.description])
        con.execute(f"CREATE TEMP TABLE {STAGE} AS SELECT * FROM {parquet_source(stage)}")
        new, updated = con.execute(count_sql(table, STAGE)).fetchone()
        con.execute(upsert_sql(table, STAGE, names))
        con.execute("COMMIT")
    return new, updated


def parquet_source(path: Path) -> str:
    """A staging Parquet file as a table expression."""
    return "read_parquet('{}')".format(str(path).replace("'", "''"))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
