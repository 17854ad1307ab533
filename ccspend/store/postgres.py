"""A team's PostgreSQL table (``ccspend export --to postgres://…``): one transaction.

Why it is here: psycopg, like DuckDB, is the store's alone. It is imported only
when a PostgreSQL export runs (it is an optional dependency: ``ccspend[postgres]``),
and its errors become ccspend errors here, first lines only and never with the
password in them.

The append is one transaction, so a failed export leaves the table as it was.
Exporters of one table take turns (a transaction-level advisory lock on its
name) until they commit: two first exports at once both saw no table, and the
loser's CREATE collided in the catalog. Should a CREATE still collide with
another's, the whole transaction is tried once more: the second try sees the table.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ccspend.core.errors import CcspendError, UsageError
from ccspend.store.team_table import (
    NAMES,
    STAGE,
    check_columns,
    count_sql,
    create_sql,
    probe_sql,
    upsert_sql,
)


def append(url: str, shown: str, table: str, stage: Path) -> tuple[int, int]:
    """Upsert the staged CSV file ``stage`` (with a header) into ``table`` at ``url``
    (creating it if missing); (new rows, updated rows). ``shown`` is the URL as
    messages may show it (no password)."""
    psycopg, params, secret = connect_params(url, shown, "ccspend export", flag="--to")
    for last in (False, True):
        try:
            with psycopg.connect(**params) as conn, conn.cursor() as cur:
                return _append(cur, table, stage)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable) as exc:
            if last:  # else two teammates created the table at once: a second try sees it
                raise CcspendError(f"cannot export to {shown}: {scrub(exc, secret)}") from None
        except psycopg.Error as exc:
            raise CcspendError(f"cannot export to {shown}: {scrub(exc, secret)}") from None
    raise AssertionError("unreachable: the second try returns or raises")


def connect_params(url: str, shown: str, application: str,
                   flag: str = "--team") -> tuple:
    """(the psycopg module, the connection's parameters, the password to scrub from
    messages): the URL's own settings, and libpq's (PGPASSWORD, ~/.pgpass) for the rest."""
    try:
        import psycopg
        from psycopg import conninfo
    except ImportError:
        raise CcspendError(f"{flag} postgres:// needs psycopg",
                           hint="pip install 'ccspend[postgres]'") from None  # fmt: skip
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise UsageError(f"{flag} {shown}: {scrub(exc, _url_password(url), url, shown)}") from None
    params.setdefault("connect_timeout", 10)
    params.setdefault("application_name", application)
    return psycopg, params, params.get("password")


def _append(cur, table: str, stage: Path) -> tuple[int, int]:
    # Exporters of one table take turns until they commit: two first exports at
    # once both saw no table, and the loser's CREATE collided in the catalog.
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ccspend export {table}",))
    cur.execute("SELECT to_regclass(%s)", (table,))
    if cur.fetchone()[0] is None:  # only its creator may index it; a user granted rights on
        cur.execute(create_sql(table))  # a DBA's table only writes rows
        cur.execute(f"CREATE INDEX {table.split('.')[-1]}_ts ON {table} (ts)")
    cur.execute(probe_sql(table))
    check_columns(table, [d.name for d in cur.description])
    cur.execute(f"CREATE TEMP TABLE {STAGE} (LIKE {table}) ON COMMIT DROP")
    with cur.copy(f"COPY {STAGE} ({', '.join(NAMES)}) FROM STDIN (FORMAT csv, HEADER)") \
            as copy, open(stage, "rb") as fh:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)
    cur.execute(count_sql(table, STAGE))
    new, updated = cur.fetchone()
    cur.execute(upsert_sql(table, STAGE))
    return new, updated


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def scrub(exc: Exception, secret: str | None, url: str = "", shown: str = "") -> str:
    """The error's first line, never with the password in it."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if url:
        line = line.replace(url, shown)
    if secret:
        line = line.replace(secret, "***")
    return line
