"""A user's priced usage appended to a team's shared table, idempotently.

``ccspend export --to postgres://…`` (or ``--to PATH.duckdb`` on shared storage)
sends the rows every report counts (``export.priced``: deduplicated, priced on
the card), tagged with user and machine, so a team queries its spend in one
place with tools it already has.

Why it is shaped this way:

- Idempotent by key. The table's primary key is (user_name, machine,
  request_key), the request key being the one the local deduplication uses, so
  exporting twice, or with overlapping ``--since`` windows, adds nothing.
- An existing row is *updated* when what it says changed, never duplicated: a
  response still streaming at the last export carried a placeholder output
  count, and a new rate card reprices history. ``exported_at`` moves only when
  a row changes. Rows are never deleted (logs pruned locally stay counted).
- Only agent logs go out (Claude Code, Codex). Provider exports brought in with
  ``ccspend import`` are the organisation's bill, not one user's usage: sent by
  every teammate they would be counted once per teammate.
- The local database is held only while the rows are staged to a temporary file
  (no message text is in it: the store has none); the remote side is then
  written in one transaction, so a failed export leaves the table as it was.
- The SQL is the same for both engines (PostgreSQL and DuckDB agree on
  ``ON CONFLICT … DO UPDATE … WHERE`` and ``FILTER``).
"""

from __future__ import annotations

import getpass
import hashlib
import re
import socket
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ccspend.core.errors import CcspendError, UsageError
from ccspend.pricing.card import RateCard
from ccspend.reports.export import COST_USD, Connection, priced
from ccspend.store import Store, queries

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

_AGENTS = {"local": "claude-code", "codex": "codex"}  # selected.source -> the table's
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?")
_SCHEMES = ("postgres://", "postgresql://")


@dataclass(frozen=True)
class Target:
    """Where the rows go: ``url`` for PostgreSQL, else ``path`` (a DuckDB file)."""

    url: str | None = None
    path: Path | None = None

    @property
    def shown(self) -> str:
        """For messages: the URL without its password."""
        return redact(self.url) if self.url else str(self.path)


@dataclass(frozen=True)
class Result:
    target: str
    table: str
    user: str
    machine: str
    sent: int
    new: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.sent - self.new - self.updated

    def as_dict(self) -> dict:
        return {"target": self.target, "table": self.table, "user": self.user,
                "machine": self.machine, "sent": self.sent, "new": self.new,
                "updated": self.updated, "unchanged": self.unchanged}  # fmt: skip


def parse_target(text: str) -> Target:
    """``postgres://…``/``postgresql://…``, or a path ending in .duckdb or .db."""
    if text.lower().startswith(_SCHEMES):
        return Target(url=text)
    if "://" in text:
        raise UsageError("--to takes postgres://… or a path ending in .duckdb")
    path = Path(text).expanduser()
    if path.suffix.lower() not in (".duckdb", ".db"):
        raise UsageError("--to takes postgres://… or a path ending in .duckdb")
    return Target(path=path)


def redact(url: str) -> str:
    """The URL with its password (in the user part or a ``password=`` parameter) removed."""
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed (an unclosed IPv6 bracket): keep only what is surely safe
        return re.sub(r"^([A-Za-z]+://)[^@/]*@", r"\1…@", url).split("?", 1)[0]
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if k.lower() != "password"], safe="/:")  # fmt: skip
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return "unknown"


def default_machine() -> str:
    return socket.gethostname() or "unknown"


def card_version(card: RateCard) -> str:
    """The shipped card's version, plus a fingerprint of the user's overrides if any:
    the same version string always means the same prices."""
    if len(card.files) < 2:
        return card.version
    digest = hashlib.sha256()
    for f in card.files[1:]:
        try:
            digest.update(Path(f).read_bytes())
        except OSError:
            digest.update(f.encode())
    return f"{card.version}+local-{digest.hexdigest()[:8]}"


def tags(table: str, user: str | None, machine: str | None) -> tuple[str, str]:
    """Check the table name; the user and machine tags, defaults filled in."""
    if not _TABLE.fullmatch(table):
        raise UsageError("--table takes a name like ccspend_usage or schema.ccspend_usage")
    user = default_user() if user is None else user.strip()
    machine = default_machine() if machine is None else machine.strip()
    if not user or not machine:
        raise UsageError("--user and --machine cannot be empty")
    return user, machine


def export_team(store: Store, card: RateCard, filters: queries.Filters, target: Target,
                table: str = DEFAULT_TABLE, user: str | None = None,
                machine: str | None = None) -> Result:
    """Append the rows to ``table`` at ``target`` (creating it if missing); the counts."""
    user, machine = tags(table, user, machine)
    if target.path is not None and target.path.resolve() == store.path.resolve():
        raise UsageError(f"--to {target.path} is your own ccspend database: name a team file")
    with tempfile.TemporaryDirectory(prefix="ccspend-team-") as tmp:
        fmt = "parquet" if target.path is not None else "csv"
        stage = Path(tmp) / f"rows.{fmt}"
        with priced(store, card, filters) as con:
            sent = _stage(con, card, stage, fmt, user, machine)
        if target.path is not None:
            new, updated = _to_duckdb(target.path, table, stage)
        else:
            new, updated = _to_postgres(target.url or "", table, stage)
    return Result(target.shown, table, user, machine, sent, new, updated)


# -- staging: the local rows, in the table's columns ---------------------------------


def _stage(con: Connection, card: RateCard, out: Path, fmt: str, user: str,
           machine: str) -> int:
    con.execute("CREATE OR REPLACE TEMP TABLE team_providers (name VARCHAR, provider VARCHAR)")
    if card.models:
        con.execute("INSERT INTO team_providers SELECT unnest($1), unnest($2)",
                    [list(card.models), [m.provider for m in card.models.values()]])
    agents = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _AGENTS.items())
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE team_rows AS
        SELECT $user AS user_name, $machine AS machine, s.request_key, s.ts,
               CASE s.source {agents} END AS source, p.provider, s.model, s.model_name,
               s.cwd AS project, s.git_branch AS branch, s.session_id, s.input_tokens,
               s.cache_write_5m_tokens, s.cache_write_1h_tokens, s.cache_read_tokens,
               s.output_tokens, s.web_search_requests, {COST_USD} AS cost_usd,
               $card AS card_version, $now::TIMESTAMPTZ AS exported_at
        FROM selected s LEFT JOIN team_providers p ON p.name = s.model_name
        WHERE s.source IN ({", ".join(f"'{k}'" for k in _AGENTS)})""",
        {"user": user, "machine": machine, "card": card_version(card),
         "now": datetime.now(UTC).isoformat()},
    )
    path = str(out).replace("'", "''")
    opts = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER"
    con.execute(f"COPY team_rows TO '{path}' ({opts})")
    return con.execute("SELECT count(*) FROM team_rows").fetchone()[0]


# -- the shared SQL ---------------------------------------------------------------------


def create_sql(table: str) -> str:
    cols = ",\n    ".join(f"{c} {t}" for c, t in COLUMNS)
    key = ", ".join(KEY)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {cols},\n    PRIMARY KEY ({key})\n)"


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


def _check_columns(table: str, names: list[str]) -> None:
    missing = [c for c in NAMES if c not in {n.lower() for n in names}]
    if missing:
        raise CcspendError(f"table {table} exists without ccspend's columns "
                           f"({', '.join(missing)})", hint="name another one with --table")


# -- DuckDB file ------------------------------------------------------------------------


def _to_duckdb(path: Path, table: str, stage: Path) -> tuple[int, int]:
    from ccspend.store.team import open_shared, parquet_source

    with open_shared(path) as con:
        con.execute("BEGIN")
        if "." in table:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        con.execute(create_sql(table))
        cur = con.execute(f"SELECT * FROM {table} LIMIT 0")
        _check_columns(table, [d[0] for d in cur.description])
        con.execute(f"CREATE TEMP TABLE ccspend_stage AS SELECT * FROM {parquet_source(stage)}")
        new, updated = con.execute(count_sql(table, "ccspend_stage")).fetchone()
        con.execute(upsert_sql(table, "ccspend_stage"))
        con.execute("COMMIT")
    return new, updated


# -- PostgreSQL -------------------------------------------------------------------------


def _to_postgres(url: str, table: str, stage: Path) -> tuple[int, int]:
    try:
        import psycopg
        from psycopg import conninfo
    except ImportError:
        raise CcspendError("--to postgres:// needs psycopg",
                           hint="pip install 'ccspend[postgres]'") from None  # fmt: skip
    shown = redact(url)
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise UsageError(f"--to {shown}: {_scrub(exc, _url_password(url), url, shown)}") from None
    params.setdefault("connect_timeout", 10)
    params.setdefault("application_name", "ccspend export")
    secret = params.get("password")
    for last in (False, True):
        try:
            with psycopg.connect(**params) as conn, conn.cursor() as cur:
                return _postgres_append(cur, table, stage)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable) as exc:
            if last:  # else two teammates created the table at once: a second try sees it
                raise CcspendError(f"cannot export to {shown}: {_scrub(exc, secret)}") from None
        except psycopg.Error as exc:
            raise CcspendError(f"cannot export to {shown}: {_scrub(exc, secret)}") from None
    raise AssertionError("unreachable: the second try returns or raises")


def _postgres_append(cur, table: str, stage: Path) -> tuple[int, int]:
    # Exporters of one table take turns until they commit: two first exports at
    # once both saw no table, and the loser's CREATE collided in the catalog.
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ccspend export {table}",))
    cur.execute("SELECT to_regclass(%s)", (table,))
    if cur.fetchone()[0] is None:  # only its creator may index it; a user granted rights on
        cur.execute(create_sql(table))  # a DBA's table only writes rows
        cur.execute(f"CREATE INDEX {table.split('.')[-1]}_ts ON {table} (ts)")
    cur.execute(f"SELECT * FROM {table} LIMIT 0")
    _check_columns(table, [d.name for d in cur.description])
    cur.execute(f"CREATE TEMP TABLE ccspend_stage (LIKE {table}) ON COMMIT DROP")
    with cur.copy(f"COPY ccspend_stage ({', '.join(NAMES)}) FROM STDIN (FORMAT csv, HEADER)") \
            as copy, open(stage, "rb") as fh:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)
    cur.execute(count_sql(table, "ccspend_stage"))
    new, updated = cur.fetchone()
    cur.execute(upsert_sql(table, "ccspend_stage"))
    return new, updated


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _scrub(exc: Exception, secret: str | None, url: str = "", shown: str = "") -> str:
    """The error's first line, never with the password in it."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if url:
        line = line.replace(url, shown)
    if secret:
        line = line.replace(secret, "***")
    return line
