"""A user's priced usage appended to a team's shared table, idempotently.

``ccspend export --to postgres://…`` (or ``--to PATH.duckdb`` on shared storage)
sends the rows every report counts (``store.export.selected``: deduplicated, priced
on the card), tagged with user and machine, so a team queries its spend in one
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
  ``ON CONFLICT … DO UPDATE … WHERE`` and ``FILTER``), and it is the store's:
  the table and its statements in ``store.team_table``, the DuckDB file in
  ``store.team``, PostgreSQL in ``store.postgres``. What is here is the target,
  the tags, the card's version, and the order of the steps.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import socket
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ccspend.core.errors import UsageError
from ccspend.core.redact import redact_url
from ccspend.pricing.card import RateCard
from ccspend.store import Store, queries, team_table
from ccspend.store import export as store_export

DEFAULT_TABLE = team_table.DEFAULT_TABLE
NAMES = team_table.NAMES  # the table's columns, in order (README, "Team export")

_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?")
_SCHEMES = ("postgres://", "postgresql://")


@dataclass(frozen=True)
class Target:
    """Where the rows go: ``url`` for PostgreSQL, ``path`` (a DuckDB file) or
    ``folder`` (a Parquet folder: each machine writes its own files)."""

    url: str | None = None
    path: Path | None = None
    folder: Path | None = None

    @property
    def shown(self) -> str:
        """For messages: the URL without its password."""
        return redact(self.url) if self.url else str(self.folder or self.path)


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


_TAKES = "--to takes postgres://…, a path ending in .duckdb, or a folder (DIR/)"


def parse_target(text: str) -> Target:
    """``postgres://…``/``postgresql://…``, a path ending in .duckdb or .db, or a
    folder: one that exists, or a path written with a trailing slash."""
    if text.lower().startswith(_SCHEMES):
        return Target(url=text)
    if "://" in text:
        raise UsageError(_TAKES)
    path = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or path.is_dir():
        return Target(folder=path)
    if path.suffix.lower() not in (".duckdb", ".db"):
        raise UsageError(_TAKES)
    return Target(path=path)


# the URL as messages show it (no password): one rule for every URL ccspend shows
redact = redact_url


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
    if target.folder is not None and table != DEFAULT_TABLE:
        raise UsageError("--table names a table: a folder's files are named by user and machine")
    with tempfile.TemporaryDirectory(prefix="ccspend-team-") as tmp:
        fmt = "csv" if target.url is not None else "parquet"
        stage = Path(tmp) / f"rows.{fmt}"
        with store_export.selected(store, card, filters) as con:
            sent = team_table.stage_rows(
                con, stage, fmt, {name: m.provider for name, m in card.models.items()},
                user, machine, card_version(card), datetime.now(UTC).isoformat())
        if target.folder is not None:
            from ccspend.store import team_folder

            new, updated = team_folder.append(target.folder, stage, user, machine)
        elif target.path is not None:
            from ccspend.store import team

            new, updated = team.append(target.path, table, stage)
        else:
            from ccspend.store import postgres

            new, updated = postgres.append(target.url or "", target.shown, table, stage)
    return Result(target.shown, table, user, machine, sent, new, updated)
