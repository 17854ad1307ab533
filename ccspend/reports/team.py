"""Every report over a team store (``--team URL``): a PostgreSQL table, a shared
DuckDB file or a Parquet folder that ``ccspend export --to`` writes.

Why here: the store module (``store.team_read``) runs the grouping in the engine
and hands back a ``queries.Summary``; ``reports.build`` turns it into rows with
the function the local reports use, so tables, ``--json``, ``--chart`` and
``report --html`` are the same code whichever store the numbers came from. No
local log is read and no local database is opened for a team report.

The store is named by ``--team``, else ``$CCSPEND_TEAM``, else ``[team] url`` in
the config file (``core.config.team_location``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ccspend.core.errors import UsageError
from ccspend.core.redact import redact_url
from ccspend.reports import build
from ccspend.store import team_read
from ccspend.store.queries import Filters
from ccspend.store.team_read import TeamStore

_SCHEMES = ("postgres://", "postgresql://")
_TAKES = "--team takes postgresql://…, a .duckdb file or a Parquet folder"


def parse_team(text: str) -> TeamStore:
    """A ``--team`` value as the store it names (a usage error for none of the three)."""
    text = text.strip()
    if text.lower().startswith(_SCHEMES):
        return TeamStore(team_read.POSTGRES, redact_url(text), url=text)
    if not text or "://" in text:
        raise UsageError(_TAKES)
    path = Path(text).expanduser()
    if path.suffix.lower() in (".duckdb", ".db") and not path.is_dir():
        return TeamStore(team_read.DUCKDB, str(path), path=path)
    if path.is_dir() or text.endswith(("/", os.sep)):
        return TeamStore(team_read.PARQUET, str(path), path=path)
    raise UsageError(_TAKES, hint=f"{text} is neither a .duckdb file nor a folder")


def _team_json(store: TeamStore, duplicates: int, user: str | None, machine: str | None) -> dict:
    return {"store": store.shown, "kind": store.kind, "user": user, "machine": machine,
            "duplicates_dropped": duplicates}  # fmt: skip


def duplicates_note(duplicates: int) -> str:
    """The warning a table shows when copies of a response were dropped."""
    return (f"{duplicates:,} duplicate row{'s' if duplicates != 1 else ''} dropped: the same "
            "response exported by more than one machine counts once, under the machine that "
            "exported it first")


def build_report(store: TeamStore, req: build.ReportRequest, warnings: list[str] | None = None,
                 user: str | None = None, machine: str | None = None) -> build.Report:
    """Report ``req`` over the team store, as ``build.build_report`` gives it locally,
    with the store and the duplicates dropped under ``team`` (the JSON's ``team`` key)."""
    if req.name not in build.REPORTS + build.TEAM_ONLY:
        raise ValueError(f"unknown report {req.name}")
    if req.entries:
        raise UsageError("session --id lists one machine's requests: leave out --team")
    got = team_read.summarise(store, req.name, req.filters, by_model=req.breakdown,
                              by_project=req.by_project, week_start=req.week_start,
                              user=user, machine=machine)  # fmt: skip
    notes = list(warnings or [])
    if got.duplicates:
        notes.append(duplicates_note(got.duplicates))
    report = build.report_from_summary(req, got.summary, [], [], notes)
    report.team = _team_json(store, got.duplicates, user, machine)
    return report


def build_blocks(store: TeamStore, filters: Filters, now_us: int, active_only: bool = False,
                 recent_days: int | None = None, warnings: list[str] | None = None,
                 limit: str | None = None, order: str | None = None, user: str | None = None,
                 machine: str | None = None) -> build.BlocksReport:
    """``blocks`` over the team store: Claude Code's requests of everyone asked for.

    Each request comes back (a block's bounds and burn need its time), so over a
    whole history this is the one team report that moves every row: narrow it with
    --since, --user or --machine. The official rate-limit readings are one
    machine's own and are not in the team table.
    """
    from ccspend.core.records import replace

    filters = replace(filters, source="local")
    rows, unpriced = team_read.timeline(store, filters, user, machine)
    return build.blocks_from_rows(filters, rows, unpriced, [], {}, now_us, active_only,
                                  recent_days, warnings, limit, order)  # fmt: skip


def budget_points(store: TeamStore):
    """A budget's spend reader over the team store (``build.budget_status``'s
    ``team_points``): everyone's spend in the budget's period, per minute."""

    def points(f: Filters) -> list[tuple[float, float]]:
        return team_read.minute_spend(store, f)

    return points
