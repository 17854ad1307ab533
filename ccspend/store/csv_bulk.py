"""The generic usage CSV read by DuckDB's CSV reader, for speed: the Python reader
(``imports.generic_csv.stream``) stays the rule, this only gets the same rows sooner.

Why: reading a row in Python costs about 17 µs, so 1.5 M rows took 26 s of a 35 s
import. Here DuckDB splits the file and checks and normalises each row in SQL, in
bounded memory (a staging database with a memory limit, spilling to the staging
folder); Python only hashes each row's key (``records.occurrence_key``: the keys
must stay those of every earlier import) and writes them beside the rows.

It is exact by refusal. A row the SQL does not fully recognise (a timestamp form,
a count or cost it is not sure of, a label with a control character or odd white
space) is read by Python's own rule (``BulkCsv.row``); a row that rule refuses, a
file DuckDB's reader stops on, or a file whose bytes DuckDB would split otherwise
than Python's ``csv`` module (a NUL byte, a space beside a quote: DuckDB trims
it), makes ``stage`` return None, and the caller reads the whole file the exact
way, which raises the error, with its line, that it always raised.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, getcontext, localcontext
from pathlib import Path

from ccspend.imports import BulkCsv
from ccspend.imports.records import occurrence_key

# --- the bytes DuckDB's reader would split otherwise than Python's csv module ---------
# Found by comparing both readers on random files: DuckDB drops spaces between a
# quote and its comma or line end (` "a",` is ' "a"' to Python), and reads a NUL
# cell as NULL. Files with either are left to Python.
_UNSURE = re.compile(rb'\x00| "|" ')
_CHUNK = 1 << 22


def plain(path: Path) -> bool:
    """True when DuckDB's reader and Python's split this file into the same cells."""
    try:
        with open(path, "rb") as fh:
            tail = b""
            while chunk := fh.read(_CHUNK):
                if _UNSURE.search(tail + chunk[:1]) or _UNSURE.search(chunk):
                    return False
                tail = chunk[-1:]
    except OSError:
        return False
    return True


# --- the SQL rule: which rows are certainly read as Python reads them -----------------
# Each pattern is a subset of what Python accepts, and each value is computed as
# Python computes it; anything else is not ``ok`` and goes to Python.
# Characters Python's str.strip() removes, or that a label may not hold: a cell
# with any of them goes to Python.
_ODD = r"\x00-\x1f\x7f\x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
_TIME = (r" *[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
         r"(?::[0-5][0-9](?:\.[0-9]{1,6})?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)? *")
_COUNT = r" *(?:[0-9]{1,15}(?:\.0*)?)? *"  # below MAX_COUNT; empty is checked apart
_COST = r" *(?:[0-9]{1,14}(?:\.[0-9]{0,12})?|\.[0-9]{1,12})? *"  # below MAX_AMOUNT, 12 places
_LABEL = f"[^{_ODD}]*"
_SEP = "\\x1f"


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(spec: BulkCsv) -> str:
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(spec.names)))
    # nullstr: a line end, which no unquoted cell can be, so that an empty cell reads
    # '' and only a missing one (a short row) NULL; DuckDB then refuses a row with
    # more cells than the header instead of dropping its empty last ones.
    return (f"read_csv({_q(str(spec.path))}, header = true, auto_detect = false, "
            f"delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
            f"null_padding = true, nullstr = {_q(chr(10))}, allow_quoted_nulls = false, "
            f"columns = {{{columns}}})")


def _select(spec: BulkCsv) -> str:
    """The rows, checked and normalised: the values of the rows that are ``ok``, the
    cells of those that are not (for Python), none of the blank ones."""
    where = {name: i for i, name in enumerate(spec.names)}  # a repeated name: its last

    def raw(name: str) -> str:
        return f"coalesce(c{where[name]}, '')" if name in where else "''"

    blank = " AND ".join(f"trim(coalesce(c{i}, '')) = ''" for i in sorted(set(where.values())))
    whole = ", ".join(raw(n) for n in ("timestamp", "input_tokens", "cache_write_tokens",
                                       "cache_read_tokens", "output_tokens", "cost_usd",
                                       "model", "provider", "project", "task"))
    pattern = _SEP.join((_TIME, _COUNT, _COUNT, _COUNT, _COUNT, _COST,
                         _LABEL, _LABEL, _LABEL, _LABEL))
    cells = ", ".join(f"c{i}" for i in range(len(spec.names)))
    return f"""
        WITH r AS (
            SELECT *, regexp_full_match(concat_ws(chr(31), {whole}), {_q(pattern)}) AS shaped,
                   {raw('timestamp')} AS ts, trim({raw('model')}) AS model,
                   trim({raw('provider')}) AS provider, trim({raw('project')}) AS project,
                   trim({raw('task')}) AS task, trim({raw('input_tokens')}) AS i,
                   trim({raw('cache_write_tokens')}) AS cw, trim({raw('cache_read_tokens')}) AS cr,
                   trim({raw('output_tokens')}) AS o, trim({raw('cost_usd')}) AS cost
            FROM {_source(spec)} WHERE NOT ({blank})),
        v AS (
            SELECT *, CASE WHEN shaped THEN try_cast(ts AS TIMESTAMPTZ) END AS t,
                   try_cast(i AS BIGINT) AS ni, try_cast(o AS BIGINT) AS no
            FROM r),
        w AS (
            SELECT *, coalesce(shaped AND year(t) BETWEEN 1000 AND 9999 AND model <> ''
                               AND ni IS NOT NULL AND no IS NOT NULL
                               AND strlen(provider) = length(provider), false) AS ok
            FROM v)
        SELECT CASE WHEN ok THEN t END AS start_ts, model,
               CASE WHEN provider = '' THEN 'other' ELSE lower(provider) END AS provider,
               nullif(project, '') AS project, nullif(task, '') AS task,
               ni AS i, coalesce(try_cast(cw AS BIGINT), 0) AS cw,
               coalesce(try_cast(cr AS BIGINT), 0) AS cr, no AS o, nullif(cost, '') AS cost,
               NULL::VARCHAR AS prefix, CASE WHEN NOT ok THEN [{cells}] END AS cells
        FROM w
    """


# --- a row's key text, as records.content_prefix writes it -----------------------------

# Decimal(cost).normalize(), as str() writes it, of a cost the pattern accepted
# (ip, fp: its whole and fractional digits, without the zeros that do not count).
_COST_TEXT = """CASE
    WHEN cost IS NULL THEN ''
    WHEN fp <> '' AND ip <> '' THEN ip || '.' || fp
    WHEN fp <> '' AND len(fp) - len(ltrim(fp, '0')) <= 5 THEN '0.' || fp
    WHEN fp <> '' THEN left(ltrim(fp, '0'), 1)
         || CASE WHEN len(ltrim(fp, '0')) > 1 THEN '.' || ltrim(fp, '0')[2:] ELSE '' END
         || 'E-' || (len(fp) - len(ltrim(fp, '0')) + 1)::VARCHAR
    WHEN ip = '' THEN '0'
    WHEN right(ip, 1) <> '0' THEN ip
    ELSE left(ip, 1) || CASE WHEN len(rtrim(ip, '0')) > 1 THEN '.' || rtrim(ip, '0')[2:] ELSE '' END
         || 'E+' || (len(ip) - 1)::VARCHAR
    END"""

_ISO = ("strftime(start_ts, '%Y-%m-%dT%H:%M:%S') || CASE WHEN microsecond(start_ts) % 1000000 "
        "<> 0 THEN '.' || lpad((microsecond(start_ts) % 1000000)::VARCHAR, 6, '0') ELSE '' END "
        "|| '+00:00'")

_PREFIX = (f"coalesce(prefix, concat_ws(chr(31), 'generic-csv', 'usage', {_ISO}, '', model, '', "
           f"'', coalesce(project, ''), coalesce(task, ''), '', '', '', provider, "
           f"i::VARCHAR || '/' || cw::VARCHAR || '/' || cr::VARCHAR || '/' || o::VARCHAR, "
           f"{_COST_TEXT}))")
_CONTENT = "hash(start_ts, model, provider, project, task, i, cw, cr, o, cost::DECIMAL(38,12))"


def _prefixes(table: str, where: str = "") -> str:
    return (f"SELECT {_PREFIX} FROM (SELECT *, ltrim(split_part(cost, '.', 1), '0') AS ip, "
            f"rtrim(split_part(cost, '.', 2), '0') AS fp FROM {table} {where})")


SCHEMA = "ccspend_stage"  # the staging database, attached to the store to be written


@dataclass(frozen=True)
class Staged:
    database: Path  # the staging database
    table: str  # in it: the rows, in the order of ``keys``
    keys: str  # their keys, one row each, in the same order
    rows: int
    sums: tuple  # input, cache write, cache read, output tokens; cost (Decimal)


_MOST_FOR_PYTHON = 100_000  # more rows than this for Python: the exact way is as fast


def stage(con, database: Path, spec: BulkCsv, name: str, keys_path: Path) -> Staged | None:
    """Read ``spec.path`` into tables named after ``name`` in the staging database (``con``
    open on ``database``); None when it must be read the exact way (see the module's
    docstring). ``keys_path``: a scratch file for the keys."""
    if not plain(spec.path):
        return None
    table, keys = f"rows_{name}", f"keys_{name}"
    try:
        con.execute(f"CREATE TABLE {table} AS {_select(spec)}")
    except Exception:  # noqa: BLE001 - any refusal of DuckDB's reader: the exact way
        con.execute(f"DROP TABLE IF EXISTS {table}")
        return None
    if not _python_rows(con, spec, table):
        con.execute(f"DROP TABLE {table}")
        return None
    _write_keys(con, table, keys_path)
    con.execute(f"CREATE TABLE {keys} AS SELECT * FROM read_csv({_q(str(keys_path))}, "
                "header = false, auto_detect = false, delim = ',', quote = '', "
                "escape = '', columns = {'row_key': 'VARCHAR'})")
    keys_path.unlink()
    row = con.execute(
        f"SELECT count(*), coalesce(sum(i), 0), coalesce(sum(cw), 0), coalesce(sum(cr), 0), "
        f"coalesce(sum(o), 0), max(len(split_part(cost, '.', 2))), "
        f"sum(cost::DECIMAL(38,12)) FROM {table}").fetchone()
    if con.execute(f"SELECT count(*) FROM {keys}").fetchone()[0] != row[0]:  # pragma: no cover
        raise RuntimeError(f"staging {spec.path}: a key for every row expected")
    cost = _cost_sum(row[5], row[6])
    if cost is None:
        con.execute(f"DROP TABLE {table}; DROP TABLE {keys}")
        return None
    return Staged(database, table, keys, row[0], (*map(int, row[1:5]), cost))


def _cost_sum(places: int | None, total: Decimal | None) -> Decimal | None:
    """The rows' costs summed as ``Decimal`` sums them, to the most places written; None
    past Decimal's 28 digits (10^16 dollars), where its running sum rounds in file order."""
    if total is None:
        return Decimal(0)
    with localcontext() as wide:
        wide.prec = 80
        exact = total.quantize(Decimal(1).scaleb(-(places or 0)))
    return exact if len(exact.as_tuple().digits) <= getcontext().prec else None


def _python_rows(con, spec: BulkCsv, table: str) -> bool:
    """The rows the SQL left to Python, read by its rule; False if one is refused."""
    odd = con.execute(f"SELECT count(*) FROM {table} WHERE cells IS NOT NULL").fetchone()[0]
    if not odd:
        return True
    if odd > _MOST_FOR_PYTHON:
        return False
    fixed = []
    for (cells,) in con.execute(f"SELECT cells FROM {table} WHERE cells IS NOT NULL").fetchall():
        try:
            row = spec.row([c or "" for c in cells])
        except Exception:  # noqa: BLE001 - its error, with its line, comes from the exact way
            return False
        if row is None:
            continue
        cost = row[10]
        if cost is not None:
            places = Decimal(cost).normalize().as_tuple().exponent
            if isinstance(places, int) and places < -12:  # refused when staged: the exact way
                return False
            cost = format(Decimal(cost), "f")  # the places as written, without an exponent
        fixed.append((*row[:10], cost))
    con.execute(f"DELETE FROM {table} WHERE cells IS NOT NULL")
    if fixed:
        cols = [list(c) for c in zip(*fixed, strict=True)]
        con.execute(
            f"INSERT INTO {table} (prefix, start_ts, provider, model, project, task, i, cw, cr, "
            f"o, cost) SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[])::TIMESTAMPTZ, "
            f"unnest($3::VARCHAR[]), unnest($4::VARCHAR[]), unnest($5::VARCHAR[]), "
            f"unnest($6::VARCHAR[]), unnest($7::BIGINT[]), unnest($8::BIGINT[]), "
            f"unnest($9::BIGINT[]), unnest($10::BIGINT[]), unnest($11::VARCHAR[])", cols)
    return True


def _write_keys(con, table: str, path: Path) -> None:
    """Each row's key, in the table's order: its content's key, numbered among copies."""
    repeated = {r[0] for r in con.execute(_prefixes(
        table, f"WHERE {_CONTENT} IN (SELECT {_CONTENT} FROM {table} GROUP BY ALL "
        f"HAVING count(*) > 1)")).fetchall()}
    seen: Counter[str] = Counter()
    blake = hashlib.blake2b
    cur = con.cursor()
    cur.execute(_prefixes(table))
    with open(path, "w", encoding="utf-8") as out:
        while batch := cur.fetchmany(65536):
            keys = []
            for (prefix,) in batch:
                if prefix in repeated:
                    keys.append(occurrence_key(prefix, seen[prefix]))
                    seen[prefix] += 1
                else:
                    keys.append(blake(f"{prefix}\x1f0".encode(), digest_size=16).hexdigest())
            out.write("\n".join(keys))
            out.write("\n")


def insert_select(staged: Staged, schema: str = SCHEMA) -> str:
    """The SELECT of ``imported_usage``'s columns (but file and imported_at) of staged rows."""
    return (f"SELECT k.row_key, 'generic-csv' AS source, r.provider, 'usage' AS kind, r.start_ts, "
            f"NULL AS end_ts, r.model, NULL AS workspace, NULL AS api_key, r.project, r.task, "
            f"NULL AS service_tier, NULL AS context_window, NULL AS line_item, "
            f"r.i AS input_tokens, r.cw AS cache_write_5m_tokens, 0 AS cache_write_1h_tokens, "
            f"r.cr AS cache_read_tokens, r.o AS output_tokens, 0 AS web_search_requests, "
            f"NULL AS requests, r.cost::DECIMAL(38,12) AS cost_usd "
            f"FROM {schema}.{staged.table} r POSITIONAL JOIN {schema}.{staged.keys} k")
