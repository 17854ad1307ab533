"""The team table of ``ccspend export --to``: its columns, and the SQL both engines run.

Why a module of its own: the same table lives in a PostgreSQL database
(``store.postgres``) or a shared DuckDB file (``store.team``), and both are
written with the same statements (PostgreSQL and DuckDB agree on ``ON CONFLICT
… DO UPDATE … WHERE`` and ``FILTER``), so the schema and those statements are
kept once, here. The local side is here too: ``stage_rows`` turns the rows the
reports count (the temp table ``selected``) into the table's columns, in a file
that is all the remote side reads. No driver is imported here: the staging runs
on a connection the store already opened.
"""

from __future__ import annotations

from pathlib import Path

from ccspend.core.errors import CcspendError
from ccspend.sources.agents import names as agent_names
from ccspend.store.export import COST_USD

SAVINGS_USD = COST_USD.replace("cost_micro", "savings_micro")

DEFAULT_TABLE = "ccspend_usage"
KEY = ("user_name", "machine", "request_key")

# The documented schema (README, "Team export"): types both engines accept.
COLUMNS = (
    ("user_name", "TEXT NOT NULL"),
    ("machine", "TEXT NOT NULL"),
    ("request_key", "TEXT NOT NULL"),  # the response's message id|request id
    ("ts", "TIMESTAMPTZ NOT NULL"),
    ("source", "TEXT NOT NULL"),  # the agent: claude-code, codex
    ("provider", "TEXT"),  # the card's provider of the model; NULL: not on the card
    ("model", "TEXT"),  # as logged
    ("model_name", "TEXT"),  # the card's name; NULL: not on the card
    ("project", "TEXT"),  # the working directory
    ("branch", "TEXT"),
    ("session_id", "TEXT"),
    ("input_tokens", "BIGINT NOT NULL"),
    ("cache_write_5m_tokens", "BIGINT NOT NULL"),
    ("cache_write_1h_tokens", "BIGINT NOT NULL"),
    ("cache_read_tokens", "BIGINT NOT NULL"),
    ("output_tokens", "BIGINT NOT NULL"),
    ("web_search_requests", "BIGINT NOT NULL"),
    ("cost_usd", "NUMERIC(38, 12)"),  # NULL: the model is not on the card (never 0)
    # what cache reads and writes saved against the input rate; NULL: unpriced, or
    # exported by a ccspend before this column (added by ALTER TABLE to older tables)
    ("savings_usd", "NUMERIC(38, 12)"),
    ("card_version", "TEXT NOT NULL"),
    ("exported_at", "TIMESTAMPTZ NOT NULL"),
)
NAMES = tuple(c for c, _ in COLUMNS)
# Derived from the columns that are compared (tokens, card): filled in where NULL (a row
# exported before the column existed) without counting as a change of the row, so its
# exported_at, and with it which machine exported a response first, stays as it was.
DERIVED = ("savings_usd",)
ADDED = {"savings_usd": "NUMERIC(38, 12)"}  # columns an older table gets by ALTER TABLE
VALUES = tuple(c for c in NAMES if c not in KEY and c != "exported_at" and c not in DERIVED)

# Only agent logs go out: selected.source -> the table's source.
AGENTS = {"local": "claude-code", **{name: name for name in agent_names()}}

STAGE = "ccspend_stage"  # the temp table the staged rows are loaded into, remote side


def stage_rows(con, out: Path, fmt: str, providers: dict[str, str], user: str, machine: str,
               card_version: str, now: str) -> int:
    """Write the agents' rows of ``selected`` (on ``con``, from ``store.export.selected``)
    in the table's columns to ``out`` (``fmt``: parquet or csv with a header); how many.

    ``providers`` maps the card's model names to their provider; ``now`` (ISO 8601)
    is the rows' ``exported_at``.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE team_providers (name VARCHAR, provider VARCHAR)")
    if providers:
        con.execute("INSERT INTO team_providers SELECT unnest($1), unnest($2)",
                    [list(providers), list(providers.values())])
    agents = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in AGENTS.items())
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE team_rows AS
        SELECT $user AS user_name, $machine AS machine, s.request_key, s.ts,
               CASE s.source {agents} END AS source, p.provider, s.model, s.model_name,
               s.cwd AS project, s.git_branch AS branch, s.session_id, s.input_tokens,
               s.cache_write_5m_tokens, s.cache_write_1h_tokens, s.cache_read_tokens,
               s.output_tokens, s.web_search_requests, {COST_USD} AS cost_usd,
               {SAVINGS_USD} AS savings_usd,
               $card AS card_version, $now::TIMESTAMPTZ AS exported_at
        FROM selected s LEFT JOIN team_providers p ON p.name = s.model_name
        WHERE s.source IN ({", ".join(f"'{k}'" for k in AGENTS)})""",
        {"user": user, "machine": machine, "card": card_version, "now": now},
    )
    path = str(out).replace("'", "''")
    opts = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER"
    con.execute(f"COPY team_rows TO '{path}' ({opts})")
    return con.execute("SELECT count(*) FROM team_rows").fetchone()[0]


def create_sql(table: str, extra: tuple[tuple[str, str], ...] = ()) -> str:
    """The table; ``extra``: an engine's own columns after the documented ones."""
    cols = ",\n    ".join(f"{c} {t}" for c, t in (*COLUMNS, *extra))
    key = ", ".join(KEY)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {cols},\n    PRIMARY KEY ({key})\n)"


def stage_sql(stage: str) -> str:
    """A temp table for the staged rows: every column, no constraint (the table checks)."""
    cols = ", ".join(f"{c} {t.replace(' NOT NULL', '')}" for c, t in COLUMNS)
    return f"CREATE TEMP TABLE {stage} ({cols}) ON COMMIT DROP"


def probe_sql(table: str) -> str:
    """No rows: its description holds the table's column names."""
    return f"SELECT * FROM {table} LIMIT 0"


def _changed(new: str) -> str:
    return " OR ".join(f"t.{c} IS DISTINCT FROM {new}.{c}" for c in VALUES)


def _filled(new: str, names=NAMES) -> str:
    """A derived column the row lacks (exported before it existed) and now has."""
    return " OR ".join(f"(t.{c} IS NULL AND {new}.{c} IS NOT NULL)" for c in DERIVED
                       if c in names) or "false"


def count_sql(table: str, stage: str) -> str:
    """(new rows, rows that will change): counted before the upsert, in its transaction."""
    on = " AND ".join(f"t.{c} = s.{c}" for c in KEY)
    return (f"SELECT count(*) FILTER (WHERE t.request_key IS NULL), "
            f"count(*) FILTER (WHERE t.request_key IS NOT NULL AND ({_changed('s')} "
            f"OR {_filled('s')})) FROM {stage} s LEFT JOIN {table} t ON {on}")  # fmt: skip


def drop_unchanged_sql(table: str, stage: str, names=NAMES) -> str:
    """Delete from ``stage`` the rows ``table`` already holds as they are (the upsert
    would skip them), for the user and machine ``%(u)s``/``%(m)s`` (PostgreSQL's
    markers): only that machine's rows are read, through the primary key's prefix.
    A re-export of a whole history then upserts only what is new or changed."""
    return (f"DELETE FROM {stage} s USING {table} t WHERE t.user_name = %(u)s "
            f"AND t.machine = %(m)s AND s.user_name = %(u)s AND s.machine = %(m)s "
            f"AND t.request_key = s.request_key "
            f"AND NOT ({_changed('s')} OR {_filled('s', names)})")  # fmt: skip


def upsert_sql(table: str, stage: str, names=NAMES, returning: str = "") -> str:
    """Insert the staged rows; a changed row takes the new values and ``exported_at``; a
    row that only lacked a derived column gets it and keeps its ``exported_at``.
    ``names``: the columns the table has (an older one may lack ``ADDED``)."""
    cols = ", ".join(names)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*VALUES, *(d for d in DERIVED if d in names)))
    when = f"CASE WHEN {_changed('EXCLUDED')} THEN EXCLUDED.exported_at ELSE t.exported_at END"
    return (f"INSERT INTO {table} AS t ({cols}) SELECT {cols} FROM {stage} "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {sets}, exported_at = {when} "
            f"WHERE {_changed('EXCLUDED')} OR {_filled('EXCLUDED', names)}{returning}")


def check_columns(table: str, names: list[str]) -> tuple[str, ...]:
    """Refuse a table of that name that is not ccspend's (before anything is written);
    the columns to write (an older table may lack those added since: ``ADDED``)."""
    have = {n.lower() for n in names}
    missing = [c for c in NAMES if c not in have and c not in ADDED]
    if missing:
        raise CcspendError(f"table {table} exists without ccspend's columns "
                           f"({', '.join(missing)})", hint="name another one with --table")
    return tuple(c for c in NAMES if c in have)


# -- the rollup: what a grouped report reads instead of every row -----------------------------
#
# Sums of the rows per 15-minute UTC bucket and every column a grouped report groups or
# filters by (user, machine, source, model, project, branch; the session is not one: a
# session report reads the rows). Every time zone in use is a whole number of quarter
# hours from UTC, so a bucket lies in one local day in any zone, and a day, week or month
# in any zone is a whole number of buckets: reports from the rollup are exact. Tokens are
# exact integer sums; money stays NUMERIC/DECIMAL; ``priced`` splits an unpriced model's
# rows (their cost sum is NULL, never 0) from the priced ones.

BUCKET_SECONDS = 900
ROLLUP_SUFFIX = "_rollup"
ROLLUP_DIMS = ("user_name", "machine", "source", "model", "model_name", "project", "branch")
ROLLUP_TOKENS = ("input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
                 "cache_read_tokens", "output_tokens", "web_search_requests")
ROLLUP_MONEY = ("cost_usd", "savings_usd")
_TYPES = dict(COLUMNS)
ROLLUP_COLUMNS = (
    ("bucket", "TIMESTAMPTZ NOT NULL"),
    *((c, _TYPES[c]) for c in ROLLUP_DIMS),
    ("priced", "BOOLEAN NOT NULL"),
    *((c, "BIGINT NOT NULL") for c in ROLLUP_TOKENS),
    *((c, "NUMERIC(38, 12)") for c in ROLLUP_MONEY),
    ("requests", "BIGINT NOT NULL"),
)
# The bucket of ``ts`` in each engine (both align to whole quarter hours of UTC).
BUCKET_PG = "date_bin('15 minutes', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
BUCKET_DUCKDB = "time_bucket(INTERVAL '15 minutes', ts)"


def rollup_table(table: str) -> str:
    """The rollup of the team table ``table`` (PostgreSQL; same schema)."""
    return table + ROLLUP_SUFFIX


def rollup_create_sql(rollup: str, extra: tuple[tuple[str, str], ...] = ()) -> str:
    """The rollup table; ``extra``: an engine's own dimensions (PostgreSQL's ``counted``),
    after the others."""
    n = 1 + len(ROLLUP_DIMS)
    cols = ",\n    ".join(f"{c} {t}" for c, t in (*ROLLUP_COLUMNS[:n], *extra,
                                                  *ROLLUP_COLUMNS[n:]))
    return f"CREATE TABLE IF NOT EXISTS {rollup} (\n    {cols}\n)"


def rollup_select(relation: str, bucket: str, where: str = "", extra: tuple[str, ...] = (),
                  money: str = "NUMERIC(38, 12)") -> str:
    """The rollup's rows of ``relation``'s rows (``where`` filters them): grouped by
    ``bucket`` (the engine's ``BUCKET_*``), the dimensions and ``extra`` (columns of the
    relation, e.g. ``counted``), in ``ROLLUP_COLUMNS``' order with ``extra`` before the
    sums. ``money``: the engine's exact type for the money sums."""
    dims = ", ".join((*ROLLUP_DIMS, *extra))
    tokens = ", ".join(f"CAST(sum({c}) AS BIGINT) AS {c}" for c in ROLLUP_TOKENS)
    cash = ", ".join(f"CAST(sum({c}) AS {money}) AS {c}" for c in ROLLUP_MONEY)
    n = len(ROLLUP_DIMS) + len(extra) + 2
    return (f"SELECT {bucket} AS bucket, {dims}, cost_usd IS NOT NULL AS priced, {tokens}, "
            f"{cash}, count(*) AS requests FROM {relation}"
            f"{' WHERE ' + where if where else ''} "
            f"GROUP BY {', '.join(str(i) for i in range(1, n + 1))}")


# A folder's rollup: beside each ``month=M/<user>@<machine>.parquet``, its sums in
# ``month=M/rollup/<user>@<machine>.parquet`` (not under the readers' ``month=*/*.parquet``),
# and a row per session the file holds (its hash; the sums NULL), by which a reader finds
# the files that may share a response with another machine's. Both files carry the same
# random token in their Parquet key-value metadata: a rollup counts only for the file
# version it was summed from (a reader that sees one without the other reads the rows).
FOLDER_ROLLUP_DIR = "rollup"
FOLDER_TOKEN = "ccspend_rollup"


def folder_rollup_sql(relation: str) -> str:
    """A folder rollup file's rows from ``relation`` (one machine's file of one month)."""
    sums = rollup_select(relation, BUCKET_DUCKDB, money="DECIMAL(38, 12)")
    return (f"SELECT *, CAST(NULL AS UBIGINT) AS session_hash FROM ({sums}) "
            f"UNION ALL BY NAME SELECT DISTINCT hash(session_id) AS session_hash FROM {relation}")
