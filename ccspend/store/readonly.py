"""Read-only SQL for ``ccspend sql``: a user's query runs on their database, and never writes.

Two independent layers, so that a gap in either does not become a write:

1. ``check_read_only`` looks at the statement before anything runs. It splits
   the text with DuckDB's own parser (so comments, string literals and ``;``
   are split exactly as DuckDB will run them) and admits one statement of a
   read kind only. It also refuses what DuckDB classifies as a read but is
   not: a ``WITH`` clause holding ``DELETE``/``INSERT``/``UPDATE`` (DuckDB runs
   data-modifying CTEs, and reports the statement as a SELECT), ``EXPLAIN
   ANALYZE`` of a write (which executes it), and table or scalar functions
   that run SQL from a string, change state or read files (``query()``,
   ``checkpoint()``, ``nextval()``, ``read_csv()``, ...).
2. ``connect_read_only`` opens the file with ``read_only=True`` (DuckDB itself
   refuses every write to the database file), disables external access (no
   file, network or extension access: ``COPY ... TO``, ``EXPORT``, ``ATTACH``,
   ``INSTALL``, ``read_csv('/etc/passwd')``), and then locks the configuration,
   so no statement can turn any of it back on.

The first layer gives clear messages and catches what the connection allows
but ccspend does not want (temporary tables, transactions, ``SET VARIABLE``,
``CHECKPOINT``, which are harmless to the file); the second holds even if the
first were wrong about a statement.

What is allowed: one statement of DuckDB type SELECT (``SELECT``, ``WITH ...
SELECT``, set operations, ``VALUES``, ``FROM t`` / ``FROM t SELECT ...``,
``TABLE t``, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE``, ``PIVOT ... IN (...)``,
``UNPIVOT``), and ``EXPLAIN [ANALYZE]`` of such a statement. Everything else is
refused, including every ``PRAGMA`` (it also sets options, writes profiles and
runs ``IMPORT DATABASE``; the read-only pragmas have table functions:
``FROM pragma_table_info('requests')``, ``FROM pragma_database_size()``),
``CALL``, ``SET``/``RESET``/``USE``, transactions, and more than one statement
(even ``SELECT 1; SELECT 2``: only one result could be shown, and one
statement is what the check can vouch for).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

import duckdb  # the package: its relation API (con.sql) is Python, not in the extension

from ccspend.core.errors import CcspendError, StoreBusy, StoreCorrupt, UsageError

ALLOWED = "SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN"

# Keywords that make a statement DuckDB calls SELECT write: data-modifying CTEs.
_WRITE_KEYWORDS = frozenset({"DELETE", "INSERT", "UPDATE", "MERGE", "TRUNCATE"})

# Functions refused by name wherever they are called (``name(`` or ``x.name(``).
_SQL_FROM_STRING = frozenset({"query", "query_table", "json_execute_serialized_sql"})
_CHANGES_STATE = frozenset({
    "checkpoint", "force_checkpoint", "nextval", "setval",
    "enable_logging", "disable_logging", "enable_profiling", "disable_profiling",
    "truncate_duckdb_logs", "register_external_resource", "register_external_resource_type",
    "create_external_resource", "deregister_external_resource", "destroy_external_resource",
    "python_map_function",
})  # fmt: skip
_READS_FILES = frozenset({"glob", "sniff_csv"})
_READS_FILES_PREFIXES = ("read_", "parquet_", "iceberg_", "delta_")

# Connection settings. ``lock_configuration`` is set after the trusted setup.
READ_ONLY_CONFIG: dict[str, object] = {
    "enable_external_access": False,  # no files, network, ATTACH, COPY, EXPORT
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,  # do not read ~/.duckdb/stored_secrets
    "python_enable_replacements": False,  # ``FROM x`` never scans a Python variable
}


class WriteRefused(UsageError):
    """A statement ``ccspend sql`` will not run: it writes, or reaches outside the database."""


# -- the statement check ------------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    """DuckDB's tokens of ``text`` as (text, kind), comments dropped."""
    raw = duckdb.tokenize(text)
    ends = [start for start, _ in raw[1:]] + [len(text)]
    out = []
    for (start, kind), end in zip(raw, ends, strict=True):
        if kind.name != "comment":
            out.append((text[start:end].strip(), kind.name))
    return out


def _lead(text: str) -> str:
    """The statement's first keyword, for messages (``INSTALL`` for a LOAD statement)."""
    for tok, kind in _tokens(text):
        return tok.upper() if kind == "keyword" else ""
    return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _a(word: str) -> str:
    return ("an " if word[:1].upper() in "AEIOU" else "a ") + word


def _refuse(kind: str, text: str, prefix: str = "") -> WriteRefused:
    lead = _lead(text)
    what = _a(f"{prefix}{kind} statement") + (f" ({lead})" if lead and lead != kind else "")
    return WriteRefused(f"ccspend sql is read-only: refused {what}", hint=f"allowed: {ALLOWED}")


def _split(text: str) -> list[tuple[duckdb.StatementType | None, str]]:
    """DuckDB's statements of ``text`` as (type, text); type None if DuckDB cannot name it.

    duckdb 2.0's Python enum lacks some statement types: ``UPDATE EXTENSIONS``
    parses, but reading its ``.type`` raises ValueError.
    """
    out: list[tuple[duckdb.StatementType | None, str]] = []
    for stmt in duckdb.extract_statements(text):
        try:
            kind = stmt.type
        except ValueError:
            kind = None
        out.append((kind, stmt.query))
    return out


def _parse(text: str) -> list[tuple[duckdb.StatementType | None, str]]:
    try:
        return _split(text)
    except duckdb.Error as exc:
        raise UsageError(f"cannot parse the query: {_first_line(exc)}") from None


def _name(kind: duckdb.StatementType | None) -> str:
    return kind.name if kind is not None else "unknown"


def _check_select_body(text: str) -> None:
    """Refuse the writes and escapes DuckDB hides inside a statement it calls SELECT."""
    toks = _tokens(text)
    for i, (tok, kind) in enumerate(toks):
        if kind == "keyword" and tok.upper() in _WRITE_KEYWORDS:
            raise WriteRefused(
                f"ccspend sql is read-only: refused a query containing {tok.upper()} "
                "(DuckDB runs it inside a WITH clause as a write)",
                hint=f'a column of that name must be quoted: "{tok.lower()}"',
            )
        nxt = toks[i + 1][0] if i + 1 < len(toks) else ""
        if kind in ("identifier", "keyword") and nxt == "(":
            name = tok.strip('"').lower()
            if name in _SQL_FROM_STRING:
                reason = "it runs SQL given as a string"
            elif name in _CHANGES_STATE:
                reason = "it changes database or session state"
            elif name in _READS_FILES or name.startswith(_READS_FILES_PREFIXES) or (
                name.endswith("_scan") and name != "seq_scan"
            ):
                reason = "ccspend sql reads only the ccspend database"
            else:
                continue
            raise WriteRefused(f"ccspend sql is read-only: refused {name}(): {reason}")


def _explained(text: str) -> list[str]:
    """The statement(s) an EXPLAIN may be explaining, for every reading of its options.

    ``EXPLAIN (ANALYZE) SELECT`` and ``EXPLAIN (SELECT 1)`` both start with a
    parenthesis, so both readings are returned; each one that parses is checked.
    """
    toks = duckdb.tokenize(text)
    idx = [(start, text[start:end].strip())
           for (start, kind), end in zip(toks, [s for s, _ in toks[1:]] + [len(text)], strict=True)
           if kind.name != "comment"]  # fmt: skip
    i = 1  # past EXPLAIN
    if i < len(idx) and idx[i][1].upper() in ("ANALYZE", "ANALYSE"):
        i += 1
    if i >= len(idx):
        return []
    out = [text[idx[i][0]:]]
    if idx[i][1].startswith("("):
        depth = 0
        for j in range(i, len(idx)):
            depth += idx[j][1].count("(") - idx[j][1].count(")")
            if depth <= 0:
                if j + 1 < len(idx):
                    out.append(text[idx[j + 1][0]:])
                break
    return out


def _strip_end(text: str) -> str:
    """``text`` without trailing ``;`` and comments, so it can be wrapped as a subquery."""
    toks = duckdb.tokenize(text)
    cut = len(text)
    ends = [s for s, _ in toks[1:]] + [len(text)]
    for (start, kind), end in reversed(list(zip(toks, ends, strict=True))):
        if kind.name == "comment" or set(text[start:end].strip()) <= {";"}:
            cut = start
            continue
        break
    return text[:cut].rstrip()


def check_read_only(sql: str) -> list[str]:
    """The statements of ``sql`` to run, if it is one read-only statement; else raise.

    Returns DuckDB's own text of the statement (without a trailing ``;`` or
    comment), which is what ``run_query`` runs. Raises ``WriteRefused`` for any
    statement that is not a read, ``UsageError`` for one that does not parse.
    The list always has one element: several statements are refused.
    """
    statements = _parse(sql)
    if not statements:
        raise UsageError("no SQL statement given", hint="e.g. ccspend sql 'FROM requests LIMIT 5'")
    if len(statements) > 1:
        kinds = ", ".join(_name(kind) for kind, _ in statements)
        raise WriteRefused(
            f"ccspend sql runs one statement at a time: refused {len(statements)} ({kinds})",
            hint="remove the ';' between statements",
        )
    kind, text = statements[0]
    if kind == duckdb.StatementType.SELECT:
        _check_select_body(text)
    elif kind == duckdb.StatementType.EXPLAIN:
        readings = []
        for candidate in _explained(text):
            try:
                readings.append(_split(candidate))
            except duckdb.Error:
                continue  # not this reading of the options
        if not readings:
            raise WriteRefused("ccspend sql is read-only: refused an EXPLAIN it cannot read")
        for inner in readings:
            if len(inner) != 1:
                raise WriteRefused(
                    "ccspend sql is read-only: refused an EXPLAIN of several statements"
                )
            inner_kind, inner_text = inner[0]
            if inner_kind != duckdb.StatementType.SELECT:
                raise _refuse(_name(inner_kind), inner_text, prefix="EXPLAIN of ")
            _check_select_body(inner_text)
    elif kind == duckdb.StatementType.MULTI:
        raise WriteRefused(
            "ccspend sql is read-only: refused a statement DuckDB runs as several"
            f" ({_lead(text) or 'MULTI'})",
            hint="a PIVOT needs an explicit IN list: PIVOT t ON col IN ('a', 'b')",
        )
    else:
        raise _refuse(_name(kind), text)
    return [_strip_end(text)]


# -- the connection -----------------------------------------------------


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def connect_read_only(
    db_path: str | os.PathLike[str],
    setup: Iterable[str | Callable[[duckdb.DuckDBPyConnection], object]] = (),
) -> duckdb.DuckDBPyConnection:
    """Open ``db_path`` read-only, run trusted ``setup``, then lock the configuration.

    ``setup`` items are SQL strings or callables taking the connection (for
    example ``lambda con: load_card(con, card)``); they may create TEMP
    tables and views, which DuckDB allows on a read-only connection. After
    setup the time zone is UTC and no statement can change any setting.
    """
    path = os.fspath(db_path)
    if not os.path.exists(path):
        raise UsageError(f"no database at {path}")
    timeout = _lock_timeout()
    deadline = time.monotonic() + timeout
    while True:
        try:
            con = duckdb.connect(path, read_only=True, config=dict(READ_ONLY_CONFIG))
            break
        except duckdb.Error as exc:
            if _is_lock_error(exc) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            if _is_lock_error(exc):
                raise StoreBusy(
                    f"the database {path} is held by another ccspend process",
                    hint=f"waited {timeout:.0f}s; try again",
                ) from None
            if "not a valid duckdb" in str(exc).lower():
                raise StoreCorrupt(f"{path} is not a ccspend database") from None
            raise CcspendError(f"cannot open {path}: {_first_line(exc)}") from None
    try:
        # TimeZone belongs to ICU and is not accepted in connect()'s config.
        con.execute("SET TimeZone = 'UTC'")
        for step in setup:
            if callable(step):
                step(con)
            else:
                con.execute(step)
        con.execute("SET lock_configuration = true")
        # (this last execute() also ends any result a setup step left unread:
        # duckdb 2.0 refuses to build a relation while one is pending)
    except Exception as exc:
        con.close()
        if isinstance(exc, CcspendError):
            raise
        raise CcspendError(f"cannot prepare the query connection: {_first_line(exc)}") from None
    return con


def _lock_timeout() -> float:
    try:
        return float(os.environ.get("CCSPEND_LOCK_TIMEOUT", "15"))
    except ValueError:
        return 15.0


# -- running a query ------------------------------------------------------


def run_query(
    conn: duckdb.DuckDBPyConnection, sql: str, limit: int | None = None
) -> tuple[list[str], list[tuple]]:
    """Check ``sql`` and run it: (column names, rows), at most ``limit`` rows.

    To tell whether rows were cut off, ask for ``limit + 1``. Values with a
    time zone (TIMESTAMPTZ, TIMETZ, also inside lists and structs) come back
    as text in UTC: DuckDB's Python conversion of them needs ``pytz``, which
    ccspend does not depend on.
    """
    (text,) = check_read_only(sql)
    try:
        rel = conn.sql(text)
        if rel is None:
            return [], []
        columns = list(rel.columns)
        types = [str(t) for t in rel.types]
        if any("WITH TIME ZONE" in t for t in types):
            rel = rel.project(", ".join(
                f"CAST(#{i} AS VARCHAR)" if "WITH TIME ZONE" in t else f"#{i}"
                for i, t in enumerate(types, start=1)
            ))  # fmt: skip
        if limit is not None:
            rel = rel.limit(max(limit, 0))
        rows = rel.fetchall()
    except duckdb.Error as exc:
        raise UsageError(_first_line(exc)) from None
    return columns, rows
