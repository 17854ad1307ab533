"""The report commands: daily, weekly, monthly, session, model, project, branch,
the root command (``ccspend``, ``ccspend --since BRANCH``) and the HTML page.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from ccspend import __version__
from ccspend.cli import options as spec
from ccspend.cli.common import (
    ClaudeDir,
    Db,
    Demo,
    Logs,
    NoIngest,
    ProjectOpt,
    Since,
    SourceOpt,
    Team,
    TeamMachine,
    TeamUser,
    Tz,
    Until,
    app,
    date_filters,
    ingest,
    no_team_filters,
    team_store,
    with_options,
)
from ccspend.cli.consoles import progress_callback, table_console
from ccspend.cli.options import ReportOptions
from ccspend.core import paths
from ccspend.reports.options import source_filter


def _run_report(opts: ReportOptions) -> None:
    """The report commands' work is ``run_report`` (``cli.fast.reports``), which the entry
    point also calls without typer, with the same renderers and progress bar; this adds
    the chart (and the options the fast parser leaves to typer)."""
    from ccspend.cli.fast.reports import colour_choice, renderer, run_report

    text = renderer(opts)
    colour = colour_choice(opts.color, opts.no_color)

    def render(report, window, roots, ingested, dated: bool):
        if opts.chart:
            from ccspend.cli.render import chart as draw

            console = table_console(colour=colour, compact=opts.compact)
            console.print(draw(report, console.width))
            return None
        return text(report, window, roots, ingested, dated)

    run_report(opts, render=render, progress=progress_callback)


def _report_command(name: str, doc: str):
    """The typer command of report ``name``: the options ``cli.options.report_specs`` gives it."""

    @with_options(spec.report_specs(name))
    def command(**values) -> None:
        _run_report(ReportOptions(name, **values))

    command.__doc__ = doc
    command.__name__ = name
    return command


for _name, _doc in (
    ("daily", "Cost per day (the default command)."),
    ("weekly", "Cost per week (from Monday, or --start-of-week)."),
    ("monthly", "Cost per month."),
    ("session", "Cost per Claude Code session (subagents included)."),
    ("model", "Cost per model, as the rate card names it."),
    ("project", "Cost per project (the working directory Claude Code ran in)."),
    ("branch", "Cost per git branch."),
    ("source", "Cost per source: Claude Code logs, Codex logs, each provider's imports."),
    ("user", "Cost per user, from a team store (--team)."),
    ("machine", "Cost per machine, from a team store (--team)."),
):
    app.command(_name)(_report_command(_name, _doc))


@app.callback(invoke_without_command=True)
@with_options(spec.ROOT, context=True)
def root(ctx: typer.Context, **values) -> None:
    """With no command, runs ``daily``; ``ccspend --since BRANCH`` costs a branch's work."""
    if values.pop("version"):
        sys.stdout.write(f"ccspend {__version__}\n")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        _run_report(ReportOptions("daily", **values))


@app.command("report")
def report_page(
    html: Annotated[Path, typer.Option("--html", help="Write a self-contained HTML page here.")],
    since: Since = None,
    until: Until = None,
    timezone: Tz = None,
    project: ProjectOpt = None,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    logs: Logs = None,
    demo: Demo = False,
    no_ingest: NoIngest = False,
    source: SourceOpt = None,
    team: Team = None,
    user: TeamUser = None,
    machine: TeamMachine = None,
) -> None:
    """A self-contained HTML page: daily trend, split by model and project, top sessions."""
    from ccspend.core.records import replace
    from ccspend.pricing import load_card
    from ccspend.reports import build as reports
    from ccspend.reports import html as html_report
    from ccspend.store import Store

    filters = replace(date_filters(timezone, since, until, project), source=source_filter(source))
    shared = team_store(team, {"--db": db, "--claude-dir": claude_dir, "--demo": demo,
                               "--no-ingest": no_ingest, "--logs": logs})  # fmt: skip
    if shared is not None:  # the same page over everyone's rows: no local log is read
        from ccspend.reports import team as team_reports

        def team_run(name: str, breakdown: bool = False):
            req = reports.ReportRequest(name, filters, breakdown)
            return team_reports.build_report(shared, req, [], user, machine)

        _write_page(html, html_report.render(team_run("daily", True), team_run("model"),
                                             team_run("project"), team_run("session")))
        return
    no_team_filters(user, machine)
    tmp = tempfile.mkdtemp(prefix="ccspend-demo-") if demo else None
    try:
        if demo:
            from ccspend.demo import LOGS

            db, roots = Path(tmp) / "demo.duckdb", [LOGS / "projects"]
        else:
            roots = paths.claude_project_roots(claude_dir)
        store = Store(db or paths.default_db_path())
        _ingested, warnings = ingest(store, roots, no_ingest, codex=not demo,
                                     given=None if demo else claude_dir, logs=logs)
        if filters.source is not None:
            from ccspend.reports.options import check_source

            with store.connect() as con:
                check_source(con, filters.source)
        card = load_card(paths.rate_overrides_path())

        def run(name: str, breakdown: bool = False):
            req = reports.ReportRequest(name, filters, breakdown)
            return reports.build_report(store, card, req, warnings)

        page = html_report.render(
            run("daily", True), run("model"), run("project"), run("session")
        )
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    _write_page(html, page)


def _write_page(html: Path, page: str) -> None:
    html.write_text(page, encoding="utf-8")
    sys.stdout.write(f"wrote {html} ({len(page):,} bytes)\n")
