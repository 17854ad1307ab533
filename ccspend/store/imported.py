"""Writing and reading provider exports in the store (``imported_usage``).

A bucket is stored under its ``UsageRow.key``, so importing the same file again,
or two exports that overlap, replaces rows instead of adding them: each bucket
counts once, with the values of the file imported last. Money stays Decimal on
the way in (passed as text and cast to DECIMAL(38,12)), never a float.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ccspend.imports.records import FLAT_FIELDS, UsageRow, content_key
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


def providers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The providers of the imported rows (a generic CSV may name any), sorted."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT provider FROM imported_usage ORDER BY 1").fetchall()]  # fmt: skip


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


# --- streaming: a file's rows staged on disk, then written in one transaction ----------
# ``Staging`` writes each file's flat rows (``records.FLAT_FIELDS``) to a CSV in a
# temporary folder as they are parsed, with the file's totals; nothing of the store is
# touched. ``write_staged`` then reads those CSVs with DuckDB inside one transaction:
# all the files, or none (a refused file never gets that far). Memory is the parser's
# current row and DuckDB's working set, whatever the file's size.

_STAGED = FLAT_FIELDS[:1] + FLAT_FIELDS[2:] + ("seq",)  # numbered is per file
_STRINGS = {c for c, t in zip(_COLUMNS, _TYPES, strict=False) if t == "VARCHAR"}


@dataclass
class StagedFile:
    path: Path  # the staging CSV
    rows: int  # distinct buckets
    numbered: bool  # every row numbered (the generic CSV): keys unique once numbered
    totals: Totals


class Staging:
    """A temporary folder of staged files; remove it with ``close`` (or ``with``)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="ccspend-import-")
        self.files: list[StagedFile] = []

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._dir.cleanup()

    def add(self, rows: Iterable[tuple]) -> StagedFile:
        """Stage one file's flat rows; a bad cost raises ValueError (``write_rows``'s)."""
        path = Path(self._dir.name) / f"{len(self.files)}.csv"
        sums = [0] * 6  # rows and the token fields of numbered rows, summed as they come
        cost = Decimal(0)
        last: dict[str, tuple] = {}  # rows whose key may repeat: the last one counts
        numbered = True
        with open(path, "w", newline="", encoding="utf-8") as fh:
            write = csv.writer(fh, lineterminator="\n").writerow
            for seq, row in enumerate(rows):
                text = _cost_text(Decimal(row[22])) if row[22] is not None else None
                # strings get a leading '=' so that an empty one stays apart from NULL
                write((row[0], *[None if v is None else f"={v}" for v in row[2:15]],
                       *row[15:22], None if text is None else f"={text}", seq))
                if row[1]:
                    sums[0] += 1
                    for i in range(5):
                        sums[i + 1] += row[15 + i]
                    if row[22] is not None:
                        cost += Decimal(row[22])
                else:
                    numbered = False
                    last[row[0]] = row
        for row in last.values():
            sums[0] += 1
            for i in range(5):
                sums[i + 1] += row[15 + i]
            if row[22] is not None:
                cost += Decimal(row[22])
        web = sum(r[20] for r in last.values())
        staged = StagedFile(path, sums[0], numbered and not last,
                            Totals(sums[0], *sums[1:], web_search_requests=web, cost_usd=cost))
        self.files.append(staged)
        return staged


def _staged_source(staged: StagedFile) -> str:
    columns = ", ".join(f"'{c}': '{'BIGINT' if c == 'seq' or c not in _STRINGS else 'VARCHAR'}'"
                        for c in _STAGED)
    quoted = str(staged.path).replace("'", "''")
    return (f"read_csv('{quoted}', header = false, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', new_line = '\\n', columns = {{{columns}}})")


def write_staged(con: duckdb.DuckDBPyConnection, staged: list[StagedFile],
                 files: list[str]) -> list[tuple[int, int]]:
    """Upsert every staged file's rows in one transaction: per file (new, already there).

    Keys as ``write_rows``: a bucket already stored, or staged by an earlier file of
    the same call, is already there and takes this file's values; within a file
    the last row of a key counts. Numbered rows get their occurrence keys here.
    """
    results = []
    con.execute("BEGIN TRANSACTION")
    try:
        for sf, file in zip(staged, files, strict=True):
            results.append(_write_one(con, sf, file))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return results


def _write_one(con: duckdb.DuckDBPyConnection, sf: StagedFile, file: str) -> tuple[int, int]:
    src = _staged_source(sf)
    # copies of one content (numbered rows with the same key): the second and later
    # get the key of their occurrence, computed from their values
    renumbered: list[tuple[int, str]] = []
    if sf.numbered:
        # grouped by the key's 64-bit hash, not the key: a fraction of the memory, and
        # a collision only brings a few more rows to be numbered by their real key
        copies = con.execute(
            f"WITH repeated AS (SELECT hash(row_key) AS h FROM {src} GROUP BY h "
            f"HAVING count(*) > 1) "
            f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY row_key ORDER BY seq) - 1 "
            f"AS occurrence FROM {src} WHERE hash(row_key) IN (SELECT h FROM repeated)) "
            f"WHERE occurrence > 0"
        ).fetchall()
        for r in copies:
            values = (r[0], True, *[None if v is None else v[1:] for v in r[1:14]], *r[14:21],
                      None if r[21] is None else r[21][1:])
            renumbered.append((r[22], content_key(values, r[23])))
    con.execute("CREATE OR REPLACE TEMP TABLE import_renumbered (seq BIGINT, row_key VARCHAR)")
    if renumbered:
        con.execute("INSERT INTO import_renumbered SELECT unnest($1::BIGINT[]), "
                    "unnest($2::VARCHAR[])", [[s for s, _ in renumbered],
                                              [k for _, k in renumbered]])
    values = ", ".join(
        "coalesce(n.row_key, s.row_key) AS row_key" if c == "row_key"
        else f"substr(s.{c}, 2){_CASTS.get(c, '')} AS {c}" if c in _STRINGS
        else f"s.{c}" for c in _COLUMNS[:-1])
    rows = (f"SELECT {values}, s.seq FROM {src} s "
            f"LEFT JOIN import_renumbered n USING (seq)")
    if not sf.numbered:
        rows = f"SELECT * FROM ({rows}) QUALIFY row_number() OVER (PARTITION BY row_key " \
               f"ORDER BY seq DESC) = 1"
    con.execute(f"CREATE OR REPLACE TEMP VIEW import_rows AS {rows}")
    existing = con.execute(
        "SELECT count(*) FROM import_rows b JOIN imported_usage u USING (row_key)").fetchone()[0]
    cols = _COLUMNS[:-1]
    if existing:
        sets = ", ".join(f"{c} = b.{c}" for c in cols[1:])
        con.execute(f"UPDATE imported_usage u SET {sets}, file = $1, imported_at = now() "
                    f"FROM import_rows b WHERE u.row_key = b.row_key", [file])
    con.execute(
        f"INSERT INTO imported_usage ({', '.join(cols)}, file, imported_at) "
        f"SELECT {', '.join(cols)}, $1, now() FROM import_rows b "
        f"WHERE NOT EXISTS (SELECT 1 FROM imported_usage u WHERE u.row_key = b.row_key)",
        [file])
    con.execute("DROP VIEW import_rows")
    con.execute("DROP TABLE import_renumbered")
    return sf.rows - existing, existing
