"""The typer app and what every command shares: option spellings, consoles, ingest.

Every command spells an option the same way because they all take it from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccspend.cli.consoles import progress_callback as _progress_callback  # noqa: F401 - commands
from ccspend.cli.consoles import stderr_console as _stderr  # noqa: F401 - for the commands
from ccspend.cli.consoles import stdout_console as _stdout  # noqa: F401 - for the commands
from ccspend.cli.fast.reports import no_logs_message as _no_logs_message  # noqa: F401 - for commands
from ccspend.core.errors import UsageError
from ccspend.ingest.logs import ingest_logs
from ccspend.reports.options import project_path, source_filter  # noqa: F401 - for the commands

app = typer.Typer(
    name="ccspend",
    help="What your coding agents cost: Claude Code logs, priced on a versioned rate card.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=False,
    rich_markup_mode=None,
)

# -- shared options: every command spells them the same way ---------------------

Since = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="First day (YYYY-MM-DD, inclusive), or a git branch: its cost since it "
        "left the default branch.",
    ),
]
Until = Annotated[str | None, typer.Option("--until", help="Last day (YYYY-MM-DD, inclusive).")]
Tz = Annotated[
    str | None,
    typer.Option("--timezone", "-z", help="IANA time zone for days (default: the machine's)."),
]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", help="Only this project directory (and below).")
]
BranchOpt = Annotated[str | None, typer.Option("--branch", help="Only this git branch.")]
Breakdown = Annotated[bool, typer.Option("--breakdown", "-b", help="Per-model sub-rows.")]
SourceOpt = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="local (Claude Code logs), codex, anthropic, openai, openrouter (imports), "
        "or all (default).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print the JSON report contract.")]
Db = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $CCSPEND_DB or the user data dir)."),
]
ClaudeDir = Annotated[
    list[Path] | None,
    typer.Option(
        "--claude-dir",
        help="Claude Code config or projects dir to read (repeatable; default: "
        "$CLAUDE_CONFIG_DIR, else ~/.config/claude and ~/.claude).",
    ),
]
Chart = Annotated[
    bool,
    typer.Option("--chart", help="Bars per period, stacked by model (daily, weekly, monthly)."),
]
Demo = Annotated[
    bool, typer.Option("--demo", help="Report on the sample logs shipped with ccspend.")
]
NoIngest = Annotated[
    bool, typer.Option("--no-ingest", help="Report from the database only; read no logs.")
]


def _ingest(store, roots: list[Path], skip: bool, codex: bool = True):
    """Bring the store up to date (unless told not to), with a progress bar on a terminal."""
    return ingest_logs(store, roots, skip, progress=_progress_callback, codex=codex)


def date_filters(
    timezone: str | None,
    since: str | None,
    until: str | None,
    project: str | None = None,
    branch: str | None = None,
):
    """Filters for commands whose --since and --until are dates (no git refs)."""
    from ccspend.core.timeutil import check_timezone
    from ccspend.reports.options import parse_day
    from ccspend.store.queries import Filters

    tz = check_timezone(timezone)
    try:
        since_day = parse_day(since) if since else None
        until_day = parse_day(until) if until else None
    except ValueError:
        raise UsageError("--since and --until take dates (YYYY-MM-DD)") from None
    return Filters(tz=tz, since=since_day, until=until_day, project=project_path(project),
                   branch=branch)  # fmt: skip


def check_limit(limit: str | None) -> None:
    """A usage error now for a --limit that cannot be read, before any work."""
    if not limit:
        return
    from ccspend.forecast.limits import parse_limit

    try:
        parse_limit(limit)
    except ValueError as exc:
        raise UsageError(f"--limit {exc}") from None
