"""Writing and reading provider exports in the store (``imported_usage``).

A bucket is stored under its ``UsageRow.key``, so importing the same file again,
or two exports that overlap, replaces rows instead of adding them: each bucket
counts once, with the values of the file imported last. Money stays Decimal on
the way in (passed as text and cast to DECIMAL(38,12)), never a float.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ccspend.imports import Format, formats
from ccspend.imports.records import FLAT_FIELDS, UsageRow, content_key
from ccspend.store import csv_bulk, maintain
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
    maintain.forget_current()  # the imported models join the card's tables
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
        # no index on row_key (m009): the rows replaced go first, by a join
        con.execute("DELETE FROM imported_usage u USING import_batch b "
                    "WHERE u.row_key = b.row_key")
        con.execute(
            f"INSERT INTO imported_usage ({', '.join(_COLUMNS)}, imported_at) "
            f"SELECT {', '.join(_COLUMNS)}, now() FROM import_batch"
        )
        con.execute("DROP TABLE import_batch")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(batch) - existing, existing


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
    path: Path | None  # the staging CSV (None: the rows are in the staging database)
    rows: int  # distinct buckets
    numbered: bool  # every row numbered (the generic CSV): keys unique once numbered
    totals: Totals
    bulk: csv_bulk.Staged | None = None  # read by DuckDB's reader into the staging database


class Staging:
    """A temporary folder of staged files; remove it with ``close`` (or ``with``).

    A generic CSV is read by DuckDB's CSV reader (``csv_bulk``) into a staging
    database in the folder, whose memory is capped (it spills to the folder); every
    other file, and a generic CSV that reader leaves to Python, is streamed by its
    Python reader to a staging CSV.
    """

    MEMORY_LIMIT = "160MB"  # the staging database's: it spills to the folder past it

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="ccspend-import-")
        self.files: list[StagedFile] = []
        self._db: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.close_db()
        self._dir.cleanup()

    @property
    def database(self) -> Path:
        return Path(self._dir.name) / "stage.duckdb"

    def close_db(self) -> None:
        """Close the staging database (before the store attaches it)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def add_file(self, path: Path, fmt: Format) -> StagedFile:
        """Stage one export file: by DuckDB's reader where the format has one and the file
        allows it, else by its Python reader (``formats.stream``), with the same errors."""
        if fmt.bulk is not None:
            spec = formats.bulk(path, fmt)  # a bad header raises here, as it always did
            staged = csv_bulk.stage(self._connect(), self.database, spec, str(len(self.files)),
                                    Path(self._dir.name) / "keys.csv")
            if staged is not None:
                names = ("rows", "input_tokens", "cache_write_5m_tokens", "cache_read_tokens",
                         "output_tokens")
                sums = dict(zip(names, (staged.rows, *staged.sums[:4]), strict=True))
                sf = StagedFile(None, staged.rows, True, Totals(**sums, cost_usd=staged.sums[4]),
                                bulk=staged)
                self.files.append(sf)
                return sf
        return self.add(formats.stream(path, fmt))

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            from ccspend.store.engine import duckdb

            self._db = duckdb.connect(str(self.database))
            spill = str(Path(self._dir.name) / "spill").replace("'", "''")
            for setting in ("TimeZone = 'UTC'", f"memory_limit = '{self.MEMORY_LIMIT}'",
                            f"temp_directory = '{spill}'"):
                self._db.execute(f"SET {setting}")
        return self._db

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
    assert staged.path is not None
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
    maintain.forget_current()  # the imported models join the card's tables
    results = []
    bulk = next((sf.bulk for sf in staged if sf.bulk is not None), None)
    saved = _bounded(con) if bulk is not None else {}
    try:
        if bulk is not None:
            con.execute(f"ATTACH '{_quoted(bulk.database)}' AS {csv_bulk.SCHEMA} (READ_ONLY)")
        con.execute("BEGIN TRANSACTION")
        try:
            for sf, file in zip(staged, files, strict=True):
                results.append(_write_one(con, sf, file) if sf.bulk is None
                               else _write_bulk(con, sf, file))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        if bulk is not None:
            con.execute(f"DETACH DATABASE IF EXISTS {csv_bulk.SCHEMA}")
        for name, value in saved.items():
            with contextlib.suppress(duckdb.Error):
                con.execute(f"SET {name} = '{_quoted(value)}'")
    return results


WRITE_MEMORY = "160MB"  # a bulk write's cap: its joins over a large file's keys spill past it


def _bounded(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Cap the store's memory for a bulk write (its joins spill to a folder of the
    system's temp directory, which DuckDB removes when it closes; it cannot change
    once used, so it stays); the memory limit it had, to put back."""
    saved = {"memory_limit": con.execute("SELECT current_setting('memory_limit')").fetchone()[0]}
    con.execute(f"SET memory_limit = '{WRITE_MEMORY}'")
    if con.execute("SELECT current_setting('temp_directory')").fetchone()[0] in ("", ".tmp"):
        spill = Path(tempfile.gettempdir()) / f"ccspend-spill-{os.getpid()}"
        with contextlib.suppress(duckdb.Error):  # one in use already: it spills there
            con.execute(f"SET temp_directory = '{_quoted(spill)}'")
    return saved


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _write_bulk(con: duckdb.DuckDBPyConnection, sf: StagedFile, file: str) -> tuple[int, int]:
    """A bulk-staged file's rows in: each new key inserted, each known one given this
    file. Nothing else of a known row can differ (a generic CSV's key is made of all its
    values), so a row already there from this same file is left as it is: importing a
    file again reads it but writes nothing."""
    assert sf.bulk is not None
    keys = f"{csv_bulk.SCHEMA}.{sf.bulk.keys}"
    existing = con.execute(f"SELECT count(*) FROM {keys} k SEMI JOIN imported_usage u "
                           f"USING (row_key)").fetchone()[0]
    if existing:
        con.execute("UPDATE imported_usage u SET file = $1, imported_at = now() "
                    f"FROM {keys} k WHERE u.row_key = k.row_key AND u.file IS DISTINCT FROM $1",
                    [file])
    cols = _COLUMNS[:-1]
    con.execute(
        f"INSERT INTO imported_usage ({', '.join(cols)}, file, imported_at) "
        f"SELECT *, $1, now() FROM ({csv_bulk.insert_select(sf.bulk)}) b "
        + ("WHERE NOT EXISTS (SELECT 1 FROM imported_usage u WHERE u.row_key = b.row_key)"
           if existing else ""), [file])
    return sf.rows - existing, existing


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
