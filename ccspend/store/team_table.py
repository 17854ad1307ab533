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
    ("card_version", "TEXT NOT NULL"),
    ("exported_at", "TIMESTAMPTZ NOT NULL"),
)
NAMES = tuple(c for c, _ in COLUMNS)
VALUES = tuple(c for c in NAMES if c not in KEY and c != "exported_at")  # a change updates

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
               $card AS card_version, $now::TIMESTAMPTZ AS exported_at
        FROM selected s LEFT JOIN team_providers p ON p.name = s.model_name
        WHERE s.source IN ({", ".join(f"'{k}'" for k in AGENTS)})""",
        {"user": user, "machine": machine, "card": card_version, "now": now},
    )
    path = str(out).replace("'", "''")
    opts = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER"
    con.execute(f"COPY team_rows TO '{path}' ({opts})")
    return con.execute("SELECT count(*) FROM team_rows").fetchone()[0]


def create_sql(table: str) -> str:
    cols = ",\n    ".join(f"{c} {t}" for c, t in COLUMNS)
    key = ", ".join(KEY)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {cols},\n    PRIMARY KEY ({key})\n)"


def probe_sql(table: str) -> str:
    """No rows: its description holds the table's column names."""
    return f"SELECT * FROM {table} LIMIT 0"


def _changed(new: str) -> str:
    return " OR ".join(f"t.{c} IS DISTINCT FROM {new}.{c}" for c in VALUES)


def count_sql(table: str, stage: str) -> str:
    """(new rows, rows that will change): counted before the upsert, in its transaction."""
    on = " AND ".join(f"t.{c} = s.{c}" for c in KEY)
    return (f"SELECT count(*) FILTER (WHERE t.request_key IS NULL), "
            f"count(*) FILTER (WHERE t.request_key IS NOT NULL AND ({_changed('s')})) "
            f"FROM {stage} s LEFT JOIN {table} t ON {on}")  # fmt: skip


def upsert_sql(table: str, stage: str) -> str:
    cols = ", ".join(NAMES)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*VALUES, "exported_at"))
    return (f"INSERT INTO {table} AS t ({cols}) SELECT {cols} FROM {stage} "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {sets} WHERE {_changed('EXCLUDED')}")


def check_columns(table: str, names: list[str]) -> None:
    """Refuse a table of that name that is not ccspend's (before anything is written)."""
    missing = [c for c in NAMES if c not in {n.lower() for n in names}]
    if missing:
        raise CcspendError(f"table {table} exists without ccspend's columns "
                           f"({', '.join(missing)})", hint="name another one with --table")
