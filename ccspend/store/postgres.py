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

Duplicates across machines are decided here, once, so that a report only sums
(``store.team_read``): the table carries ``counted``, true on the copy of a
response that counts (the one exported first: ``exported_at``, then machine,
then user, names in byte order) and false on its other copies. Exports take
turns on the advisory lock, so each one, in its transaction, re-decides the
request keys it inserted or changed that another machine also holds: the
few synced copies, found through a hash index on ``request_key``. The month
window of a report reads through the btree index on ``ts``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ccspend.core.errors import CcspendError, UsageError
from ccspend.store.team_table import (
    ADDED,
    BUCKET_PG,
    NAMES,
    STAGE,
    check_columns,
    create_sql,
    drop_unchanged_sql,
    probe_sql,
    rollup_create_sql,
    rollup_select,
    rollup_table,
    stage_sql,
    upsert_sql,
)

# PostgreSQL's own column: the dedup's decision (see the module's docstring). A table made
# by an older ccspend gets it (and the decisions for its rows) from its next export.
COUNTED = (("counted", "BOOLEAN NOT NULL DEFAULT true"),)
COUNTED_DIM = (("counted", "BOOLEAN NOT NULL"),)  # the rollup's: counted and dropped copies apart
TOUCHED = "ccspend_touched"  # the keys an export inserted or changed
DIRTY = "ccspend_dirty"  # the rollup's (user, machine, bucket) an export changed
# the first of a response's copies: one order for the export's decision and a report's
FIRST_ORDER = 'exported_at, machine COLLATE "C", user_name COLLATE "C"'


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
    if cur.fetchone()[0] is None:
        # a rollup left by a dropped table sums rows that are gone: the new table's is built
        cur.execute(f"DROP TABLE IF EXISTS {rollup_table(table)}")
        cur.execute(create_sql(table, COUNTED))
    cur.execute(probe_sql(table))
    check_columns(table, [d.name for d in cur.description])
    names = _upgrade(cur, table)
    cur.execute(stage_sql(STAGE))
    with cur.copy(f"COPY {STAGE} ({', '.join(NAMES)}) FROM STDIN (FORMAT csv, HEADER)") \
            as copy, open(stage, "rb") as fh:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)
    # an export is one machine's rows: those it already holds as they are leave the
    # stage first (one join with that machine's rows), so a re-export of a whole
    # history upserts, notes and decides only what is new or changed
    cur.execute(f"SELECT DISTINCT user_name, machine FROM {STAGE} LIMIT 2")
    who = cur.fetchall()
    if len(who) == 1:
        cur.execute(f"ANALYZE {STAGE}")
        cur.execute(drop_unchanged_sql(table, STAGE, names), {"u": who[0][0], "m": who[0][1]})
    rollup = has_rollup(cur, table)
    if rollup:
        # a row whose time moves leaves its old bucket: noted before the upsert moves it
        one = "t.user_name = %(u)s AND t.machine = %(m)s AND " if len(who) == 1 else ""
        cur.execute(f"CREATE TEMP TABLE {DIRTY} ON COMMIT DROP AS "
                    f"SELECT t.user_name, t.machine, {_bucket('t.ts')} AS bucket "
                    f"FROM {STAGE} s JOIN {table} t ON {one}t.user_name = s.user_name "
                    "AND t.machine = s.machine AND t.request_key = s.request_key "
                    "WHERE t.ts <> s.ts", {"u": who[0][0], "m": who[0][1]} if one else None)
    # one statement: the upsert, and what it did (xmax = 0: a row it inserted)
    cur.execute(f"CREATE TEMP TABLE {TOUCHED} (user_name TEXT, machine TEXT, request_key TEXT, "
                "inserted BOOLEAN, ts TIMESTAMPTZ) ON COMMIT DROP")  # fmt: skip
    returning = " RETURNING t.user_name, t.machine, t.request_key, t.xmax = 0, t.ts"
    cur.execute(f"WITH up AS ({upsert_sql(table, STAGE, names, returning)}) "
                f"INSERT INTO {TOUCHED} SELECT * FROM up")  # fmt: skip
    cur.execute(f"SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
                f"FROM {TOUCHED}")  # fmt: skip
    new, updated = cur.fetchone()
    if "counted" in names_of(cur, table):
        decide(cur, table, f"SELECT DISTINCT k.request_key FROM {TOUCHED} k JOIN {table} c "
               "ON c.request_key = k.request_key "
               "AND (c.user_name <> k.user_name OR c.machine <> k.machine)",
               rollup)  # fmt: skip
    if rollup:
        cur.execute(f"INSERT INTO {DIRTY} SELECT user_name, machine, {_bucket('ts')} "
                    f"FROM {TOUCHED}")  # fmt: skip
        refresh_rollup(cur, table)
    return new, updated


def _bucket(ts: str) -> str:
    return BUCKET_PG.replace("ts,", f"{ts},")


def has_rollup(cur, table: str) -> bool:
    """Whether ``table`` has its rollup (made by an export of a ccspend that keeps one)."""
    cur.execute("SELECT to_regclass(%s)", (rollup_table(table),))
    return cur.fetchone()[0] is not None


def _rollup_of(table: str, where: str = "") -> str:
    return rollup_select(table, BUCKET_PG, where, extra=("counted",))


def build_rollup(cur, table: str) -> None:
    """Create ``table``'s rollup and sum every row into it (the first export of a
    ccspend that keeps one, or the benchmark after its bulk load)."""
    rollup = rollup_table(table)
    cur.execute(rollup_create_sql(rollup, COUNTED_DIM))
    for suffix, cols in (("bucket", "(bucket)"), ("who", "(user_name, machine, bucket)")):
        name, _ = _index_name(rollup, suffix)
        cur.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {rollup} {cols}")
    cur.execute(f"TRUNCATE {rollup}")
    cur.execute(f"INSERT INTO {rollup} {_rollup_of(table)}")


def refresh_rollup(cur, table: str) -> None:
    """Sum again the rollup's (user, machine, bucket) cells listed in ``DIRTY``: their
    rows leave the rollup and the table's rows of those cells come back in, summed.

    Only the touched cells are read: per user and machine (an export is one machine's,
    plus the few machines whose copies' ``counted`` flipped), the rows between its first
    and last touched bucket, through the ``ts`` index or the primary key's prefix.
    """
    rollup = rollup_table(table)
    cur.execute(f"CREATE TEMP TABLE ccspend_cells ON COMMIT DROP AS "
                f"SELECT DISTINCT user_name, machine, bucket FROM {DIRTY}")  # fmt: skip
    cur.execute("ANALYZE ccspend_cells")
    cur.execute(f"DELETE FROM {rollup} r USING ccspend_cells c WHERE r.user_name = c.user_name "
                "AND r.machine = c.machine AND r.bucket = c.bucket")  # fmt: skip
    cur.execute("SELECT user_name, machine, min(bucket), max(bucket) FROM ccspend_cells "
                "GROUP BY 1, 2")  # fmt: skip
    for user, machine, first, last in cur.fetchall():
        # a hash join of the machine's rows in that span with its cells (an IN (subquery)
        # can be planned as a subplan run per row: minutes for a fresh million)
        cells = (f"{table} JOIN (SELECT bucket AS cell FROM ccspend_cells WHERE user_name = "
                 f"%(u)s AND machine = %(m)s) c ON c.cell = {BUCKET_PG}")  # fmt: skip
        where = ("user_name = %(u)s AND machine = %(m)s AND ts >= %(first)s "
                 "AND ts < %(last)s + INTERVAL '15 minutes'")
        cur.execute(f"INSERT INTO {rollup} {_rollup_of(cells, where)}",
                    {"u": user, "m": machine, "first": first, "last": last})
    cur.execute(f"DROP TABLE ccspend_cells, {DIRTY}")


def names_of(cur, table: str) -> list[str]:
    cur.execute(probe_sql(table))
    return [d.name.lower() for d in cur.description]


def _index_name(table: str, suffix: str) -> tuple[str, str]:
    """(the index's name to create, its name qualified by the table's schema)."""
    base = f"{table.split('.')[-1]}_{suffix}"
    return base, (f"{table.split('.')[0]}.{base}" if "." in table else base)


def _upgrade(cur, table: str) -> tuple[str, ...]:
    """Bring a table made by an older ccspend up to date: the columns added since
    (``savings_usd``, ``counted``: the copies decided once, for all its rows) and the
    indexes (``ts`` for a report's window, ``request_key`` for the dedup). Each step
    only if missing, and only if this role may (the table's owner): a role that may only
    write rows exports without them, and reports fall back to deciding at read time.
    The columns to write come back."""
    have = names_of(cur, table)
    steps = [(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {c} {t}", c)
             for c, t in ADDED.items() if c not in have]
    if "counted" not in have:
        steps.append((f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS counted "
                      f"{COUNTED[0][1]}", "counted"))  # fmt: skip
    for suffix, how in (("ts", "(ts)"), ("request_key", "USING hash (request_key)")):
        name, qualified = _index_name(table, suffix)
        cur.execute("SELECT to_regclass(%s)", (qualified,))
        if cur.fetchone()[0] is None:
            steps.append((f"CREATE INDEX IF NOT EXISTS {name} ON {table} {how}", None))
    for sql, column in steps:
        cur.execute("SAVEPOINT ccspend_upgrade")
        try:
            cur.execute(sql)
        except Exception as exc:  # noqa: BLE001 - psycopg's errors, imported lazily
            if type(exc).__name__ != "InsufficientPrivilege":
                raise
            cur.execute("ROLLBACK TO SAVEPOINT ccspend_upgrade")
            continue
        cur.execute("RELEASE SAVEPOINT ccspend_upgrade")
        if column == "counted":  # every row was counted by default: decide the copies
            decide(cur, table, f"SELECT request_key FROM {table} GROUP BY 1 HAVING count(*) > 1")
    fresh = "counted" not in have  # a table of an older ccspend: any rollup beside it is not its
    have = names_of(cur, table)
    if {"counted", "savings_usd"} <= set(have) and (fresh or not has_rollup(cur, table)):
        cur.execute("SAVEPOINT ccspend_upgrade")
        try:
            build_rollup(cur, table)
        except Exception as exc:  # noqa: BLE001 - psycopg's errors, imported lazily
            if type(exc).__name__ != "InsufficientPrivilege":
                raise
            cur.execute("ROLLBACK TO SAVEPOINT ccspend_upgrade")  # reports read the rows
        else:
            cur.execute("RELEASE SAVEPOINT ccspend_upgrade")
    return tuple(c for c in NAMES if c in have)


def decide(cur, table: str, keys_sql: str, rollup: bool = False) -> None:
    """Re-decide which copy counts for the request keys ``keys_sql`` selects: the first
    exported (``FIRST_ORDER``); only rows whose decision changes are written, and with
    ``rollup`` their cells noted in ``DIRTY`` (a copy that stops counting moves from the
    rollup's counted rows to its dropped ones)."""
    cur.execute(f"CREATE TEMP TABLE ccspend_copied ON COMMIT DROP AS {keys_sql}")
    update = f"""UPDATE {table} t SET counted = x.first FROM (
        SELECT user_name, machine, request_key,
               row_number() OVER (PARTITION BY request_key ORDER BY {FIRST_ORDER}) = 1 AS first
        FROM {table} WHERE request_key IN (SELECT request_key FROM ccspend_copied)) x
        WHERE t.user_name = x.user_name AND t.machine = x.machine
          AND t.request_key = x.request_key AND t.counted IS DISTINCT FROM x.first"""
    if rollup:
        update = (f"WITH f AS ({update} RETURNING t.user_name, t.machine, {_bucket('t.ts')}) "
                  f"INSERT INTO {DIRTY} SELECT * FROM f")  # fmt: skip
    cur.execute(update)
    cur.execute("DROP TABLE ccspend_copied")


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
