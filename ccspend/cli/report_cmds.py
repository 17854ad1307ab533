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
from ccspend.cli.common import (
    BranchOpt,
    Breakdown,
    Chart,
    ClaudeDir,
    Db,
    Demo,
    Json,
    NoIngest,
    ProjectOpt,
    Since,
    SourceOpt,
    Tz,
    Until,
    _ingest,
    _progress_callback,
    _stdout,
    app,
    date_filters,
    source_filter,
)
from ccspend.core import paths


def _run_report(
    name: str,
    since: str | None,
    until: str | None,
    timezone: str | None,
    project: str | None,
    branch: str | None,
    breakdown: bool,
    json_out: bool,
    db: Path | None,
    claude_dir: list[Path] | None,
    demo: bool,
    no_ingest: bool,
    chart: bool = False,
    source: str | None = None,
) -> None:
    """The report commands' work is ``report_run.run_report``, which the entry point
    also calls without typer, with the same renderers and progress bar; this adds
    the chart (and the options ``fastpath.parse`` leaves to typer)."""
    from ccspend.cli.fast.reports import render_json, render_table, run_report

    def render(report, window, roots, ingested, dated: bool):
        if chart:
            from ccspend.cli.render import chart as draw

            console = _stdout()
            console.print(draw(report, console.width))
            return None
        text = render_json if json_out else render_table
        return text(report, window, roots, ingested, dated)

    run_report(
        name, since, until, timezone, project, branch, breakdown, json_out, db, claude_dir,
        demo, no_ingest, chart, source, render=render, progress=_progress_callback,
    )  # fmt: skip


def _report_command(name: str, doc: str):
    def command(
        since: Since = None,
        until: Until = None,
        timezone: Tz = None,
        project: ProjectOpt = None,
        branch: BranchOpt = None,
        breakdown: Breakdown = False,
        json_out: Json = False,
        db: Db = None,
        claude_dir: ClaudeDir = None,
        demo: Demo = False,
        no_ingest: NoIngest = False,
        chart: Chart = False,
        source: SourceOpt = None,
    ) -> None:
        _run_report(
            name, since, until, timezone, project, branch, breakdown, json_out, db,
            claude_dir, demo, no_ingest, chart, source,
        )  # fmt: skip

    command.__doc__ = doc
    command.__name__ = name
    return command


for _name, _doc in (
    ("daily", "Cost per day (the default command)."),
    ("weekly", "Cost per week (weeks start on Monday)."),
    ("monthly", "Cost per month."),
    ("session", "Cost per Claude Code session (subagents included)."),
    ("model", "Cost per model, as the rate card names it."),
    ("project", "Cost per project (the working directory Claude Code ran in)."),
    ("branch", "Cost per git branch."),
    ("source", "Cost per source: Claude Code logs, Codex logs, each provider's imports."),
):
    app.command(_name)(_report_command(_name, _doc))


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    since: Since = None,
    until: Until = None,
    timezone: Tz = None,
    project: ProjectOpt = None,
    branch: BranchOpt = None,
    breakdown: Breakdown = False,
    json_out: Json = False,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    demo: Demo = False,
    no_ingest: NoIngest = False,
    source: SourceOpt = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    """With no command, runs ``daily``; ``ccspend --since BRANCH`` costs a branch's work."""
    if version:
        sys.stdout.write(f"ccspend {__version__}\n")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        _run_report(
            "daily", since, until, timezone, project, branch, breakdown, json_out, db,
            claude_dir, demo, no_ingest, source=source,
        )  # fmt: skip


@app.command("report")
def report_page(
    html: Annotated[Path, typer.Option("--html", help="Write a self-contained HTML page here.")],
    since: Since = None,
    until: Until = None,
    timezone: Tz = None,
    project: ProjectOpt = None,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    demo: Demo = False,
    no_ingest: NoIngest = False,
    source: SourceOpt = None,
) -> None:
    """A self-contained HTML page: daily trend, split by model and project, top sessions."""
    from dataclasses import replace

    from ccspend.pricing import load_card
    from ccspend.reports import build as reports
    from ccspend.reports import html as html_report
    from ccspend.store import Store

    filters = replace(date_filters(timezone, since, until, project), source=source_filter(source))
    tmp = tempfile.mkdtemp(prefix="ccspend-demo-") if demo else None
    try:
        if demo:
            from ccspend.demo import LOGS

            db, roots = Path(tmp) / "demo.duckdb", [LOGS / "projects"]
        else:
            roots = paths.claude_project_roots(claude_dir)
        store = Store(db or paths.default_db_path())
        _ingested, warnings = _ingest(store, roots, no_ingest, codex=not demo)
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
    html.write_text(page, encoding="utf-8")
    sys.stdout.write(f"wrote {html} ({len(page):,} bytes)\n")
