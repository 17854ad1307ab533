"""The typer app and what every command shares: option spellings, consoles, ingest.

Every command spells an option the same way because they all take it from here,
and these declarations are built from the one spec of each option
(``ccspend.cli.options``), which the standard-library front ends read too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from ccspend.cli import options as spec
from ccspend.cli.consoles import progress_callback
from ccspend.core.errors import UsageError
from ccspend.ingest.logs import ingest_logs
from ccspend.reports.options import project_path

app = typer.Typer(
    name="ccspend",
    help="What your coding agents cost: Claude Code logs, priced on a versioned rate card.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    # ``-h`` as ccusage and most tools take it; every command inherits it
    context_settings={"help_option_names": ["-h", "--help"]},
)

# -- options: declared from their one spec (``cli.options``), as the fast front ends read them --

_TYPES = {
    spec.FLAG: bool,
    spec.TEXT: str | None,
    spec.PATH: Path | None,
    spec.PATHS: list[Path] | None,
    spec.USD: float | None,
    spec.COUNT: int | None,
    spec.INT: int | None,
    spec.SECONDS: float,
    spec.LEVELS: str,
}


def option_type(o):
    """Option ``o`` of ``cli.options`` as a typer parameter's annotation: its type, its
    spellings, help and metavar."""
    declared = typer.Option(*o["names"], help=o["help"], metavar=o["metavar"])
    python_type = _TYPES[o["kind"]]
    return Annotated[python_type, declared]


def option_default(o):
    """Option ``o``'s default as typer takes it (as typed; None for a repeatable one)."""
    return False if o["kind"] == spec.FLAG else o["default"]


def with_options(specs, context: bool = False):
    """Give ``function(**values)`` a signature of the options ``specs``, for typer: its
    options are declared once, in ``cli.options``, and arrive as keywords named by their
    ``dest`` (after a ``ctx`` when ``context``)."""
    import inspect

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(o["dest"], keyword, default=option_default(o),
                                annotation=option_type(o)) for o in specs]  # fmt: skip
    if context:
        params.insert(0, inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                           annotation=typer.Context))  # fmt: skip

    def decorate(function):
        function.__signature__ = inspect.Signature(params)
        function.__annotations__ = {}
        return function

    return decorate


class ArgvCommand(TyperCommand):
    """A typer command whose argv its fast front end parses (``cli.fast.run``,
    ``cli.fast.route``): one parser, one set of messages and exit codes.

    Its options are declared (from ``cli.options``) for ``--help`` and the
    completion scripts only; click reads none of them: the whole argv is left
    in ``ctx.args`` for the command to hand on, ``--help`` included.
    """

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        ctx.args = list(args)
        return []


Since = option_type(spec.SINCE)
Until = option_type(spec.UNTIL)
Tz = option_type(spec.TIMEZONE)
ProjectOpt = option_type(spec.PROJECT)
BranchOpt = option_type(spec.BRANCH)
Breakdown = option_type(spec.BREAKDOWN)
SourceOpt = option_type(spec.SOURCE)
Json = option_type(spec.JSON)
Db = option_type(spec.DB)
ClaudeDir = option_type(spec.CLAUDE_DIR)
Logs = option_type(spec.LOGS)
Chart = option_type(spec.CHART)
Demo = option_type(spec.DEMO)
NoIngest = option_type(spec.NO_INGEST)
# a ccusage user's habits (docs/ccusage-flags.md), for blocks: the reports take them by spec
ReportJson = option_type(spec.REPORT_JSON)
Last = option_type(spec.LAST)
Order = option_type(spec.ORDER)
Compact = option_type(spec.COMPACT)
Color = option_type(spec.COLOR)
NoColor = option_type(spec.NO_COLOR)
Offline = option_type(spec.OFFLINE)
Team = option_type(spec.TEAM)
TeamUser = option_type(spec.TEAM_USER)
TeamMachine = option_type(spec.TEAM_MACHINE)


def team_store(team: str | None, local_only: dict):
    """The team store the command reads (``--team``, ``$CCSPEND_TEAM``, the config's
    ``[team] url``), or None for the local one; a local-only option given with one
    (``local_only``: its spelling to its value) is a one-line usage error."""
    from ccspend.core.config import team_location
    from ccspend.reports.team import parse_team

    where = team_location(team)
    if where is None:
        return None
    for flag, given in local_only.items():
        if given:
            raise UsageError(f"{flag} is about this machine's logs: it does not go with --team")
    return parse_team(where)


def no_team_filters(user: str | None, machine: str | None) -> None:
    """--user and --machine filter a team store's rows: without one, a usage error."""
    if user is not None or machine is not None:
        raise UsageError(f"{'--user' if user is not None else '--machine'} reads a team store: "
                         "give --team URL (or set CCSPEND_TEAM)")  # fmt: skip


def ingest(store, roots: list[Path], skip: bool, codex: bool = True, given=None, logs=None):
    """Bring the store up to date (unless told not to), with a progress bar on a terminal.

    ``given``: the ``--claude-dir`` folders as typed; one that is not there is named in
    a warning, since what follows then comes from the history already stored (a typo
    would otherwise look like a quiet month). ``logs``: ``--logs AGENT=PATH`` as typed,
    read before any work (a wrong one is a usage error), so every command that reads
    the logs reads an agent from where the user said, as the reports do.
    """
    from ccspend.core.paths import missing_dir_warnings
    from ccspend.core.text import inert
    from ccspend.sources.agents import parse_logs

    where = parse_logs(logs or ())
    for text in missing_dir_warnings(given or ()):
        sys.stderr.write(f"warning: {inert(text)}\n")
    return ingest_logs(store, roots, skip, progress=progress_callback, codex=codex, logs=where)


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
    check_order(since_day, until_day)
    return Filters(tz=tz, since=since_day, until=until_day, project=project_path(project),
                   branch=branch)  # fmt: skip


def check_order(since_day, until_day) -> None:
    """A usage error for a --since after --until (an empty period is never meant)."""
    if since_day and until_day and since_day > until_day:
        raise UsageError(f"--since {since_day} is after --until {until_day}")


def check_limit(limit: str | None) -> None:
    """A usage error now for a --limit that cannot be read, before any work."""
    if not limit:
        return
    from ccspend.forecast.limits import parse_limit

    try:
        parse_limit(limit)
    except ValueError as exc:
        raise UsageError(f"--limit {exc}") from None
