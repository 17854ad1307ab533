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
