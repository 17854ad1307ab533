"""The report commands: daily, weekly, monthly, session, model, project, branch,
the root command (``ccspend``, ``ccspend --since BRANCH``) and the HTML page.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from ccspend import __version__, paths
from ccspend.cli.app import (
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
    _no_logs_message,
    _stderr,
    _stdout,
    app,
    date_filters,
    project_path,
    source_filter,
)
from ccspend.errors import UsageError


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
    from ccspend import reports
    from ccspend.pricing import load_card
    from ccspend.store import Store
    from ccspend.store.queries import Filters
    from ccspend.timeutil import check_timezone

    tz = check_timezone(timezone)
    if chart and name not in ("daily", "weekly", "monthly"):
        raise UsageError("--chart goes with daily, weekly or monthly")
    if chart and json_out:
        raise UsageError("--chart draws for a person; --json is for scripts: pick one")
    since_day = until_day = None
    window = None
    if since:
        try:
            since_day = reports.parse_day(since)
        except ValueError:
            from ccspend.gitref import branch_window

            window = branch_window(since, os.getcwd())
    if until:
        try:
            until_day = reports.parse_day(until)
        except ValueError:
            raise UsageError(f"--until {until!r} is not a date (YYYY-MM-DD)") from None
    project = project_path(project)
    filters = Filters(
        tz=tz,
        since=since_day,
        until=until_day,
        project=project,
        branch=window.branch if window else branch,
        since_ts=window.since if window else None,
        repo_root=window.repo_root if window else None,
        source=source_filter(source),
    )
    tmp = None
    try:
        if demo:
            from ccspend.demo import LOGS

            tmp = tempfile.mkdtemp(prefix="ccspend-demo-")
            db = Path(tmp) / "demo.duckdb"
            roots = [LOGS / "projects"]
        else:
            roots = paths.claude_project_roots(claude_dir)
        store = Store(db or paths.default_db_path())
        ingested, warnings = _ingest(store, roots, no_ingest)
        db_path = store.path.absolute()
        # An answer is cached only when it reflects every log: an unreadable file
        # could become readable without its size or time changing.
        cacheable = (
            ingested is not None and not demo and window is None and not ingested.unreadable
            and filters.source is None
        )
        if cacheable:
            from ccspend import fastpath

            state = fastpath.fingerprint(ingested.files, db_path)
        card = load_card(paths.rate_overrides_path())
        report = reports.build_report(
            store, card, reports.ReportRequest(name, filters, breakdown or chart), warnings
        )
        if chart:
            from ccspend.cli.render import chart as draw

            console = _stdout()
            console.print(draw(report, console.width))
            return
        out, err = _render(report, json_out, window, roots, ingested, bool(since_day or until_day))
        if demo:
            err += f"(sample logs shipped with ccspend: {roots[0]})\n"
        sys.stdout.write(out)
        sys.stderr.write(err)
        if cacheable and state == fastpath.fingerprint(ingested.files, db_path):
            key = fastpath.request_key(
                name=name, tz=tz, since=since, until=until, project=project, branch=branch,
                breakdown=breakdown, json_out=json_out, db=db_path, roots=roots,
            )  # fmt: skip
            fastpath.save(db_path, key, state, out, err)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _render(report, json_out: bool, window, roots, ingested, dated: bool) -> tuple[str, str]:
    """The report as the text for stdout and for stderr."""
    err = ""
    nothing = ingested is not None and ingested.files_seen == 0 and report.totals.requests == 0
    if nothing and not dated and window is None:
        err = _no_logs_message(roots) + "\n"
        if not json_out:
            return "", err
    if json_out:
        import json

        return json.dumps(report.to_json(), indent=2) + "\n", err
    from ccspend.cli.render import money, print_report

    out_console, err_console = _stdout(), _stderr()
    out_console.begin_capture()
    err_console.begin_capture()
    print_report(report, out_console, err_console)
    if window is not None:
        days = len(report.rows)
        out_console.print(
            f"{window.branch}: {money(float(report.cost_usd))} over {days} "
            f"day{'s' if days != 1 else ''}, {report.totals.requests:,} requests, since it "
            f"left {window.base} at {window.merge_base[:10]} ({window.since:%Y-%m-%d})"
        )
    text = "".join(line.rstrip() + "\n" for line in out_console.end_capture().splitlines())
    return text, err + err_console.end_capture()


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

    from ccspend import html_report, reports
    from ccspend.pricing import load_card
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
        _ingested, warnings = _ingest(store, roots, no_ingest)
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
