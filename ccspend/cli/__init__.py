"""The command line: parse options, call one library function, hand rows to the output layer.

stdout is data (tables, JSON); stderr is talk (progress, warnings, errors).
Exit codes are an API (see the README): 0 ok, 1 error, 2 usage, 3 store busy
or too new, 130 interrupted.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ccspend import __version__, paths
from ccspend.errors import CcspendError, ExitCode, UsageError

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


def _stdout():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _progress_callback():
    """A rich progress bar on stderr, shown only on a terminal and after one second."""
    import time

    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    start = time.monotonic()
    try:
        delay = float(os.environ.get("CCSPEND_PROGRESS_AFTER", "1"))
    except ValueError:
        delay = 1.0
    state: dict = {}

    def update(done: int, total: int, files_done: int, files_total: int) -> None:
        if "bar" not in state:
            if time.monotonic() - start < delay:
                return
            bar = Progress(
                TextColumn("reading logs"),
                BarColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[files]}"),
                console=_stderr(),
                transient=True,
            )
            bar.start()
            state["bar"] = bar
            state["task"] = bar.add_task("ingest", total=total, files="")
        state["bar"].update(
            state["task"], completed=done, files=f"{files_done}/{files_total} files"
        )

    def close() -> None:
        if "bar" in state:
            state["bar"].stop()

    return update, close


def _no_logs_message(roots: list[Path]) -> str:
    lines = ["No Claude Code logs found. Looked in:"]
    for r in roots:
        lines.append(f"  {r}{'' if r.is_dir() else ' (missing)'}")
    lines.append("Point CLAUDE_CONFIG_DIR or --claude-dir at your Claude config dir.")
    lines.append("To see a report on the sample logs shipped with ccspend: ccspend daily --demo")
    return "\n".join(lines)


def _ingest(store, roots: list[Path], skip: bool):
    """Bring the store up to date (unless told not to); the run's report and warnings."""
    from ccspend.ingest import ingest_claude

    if skip:
        return None, []
    update, close = _progress_callback()
    try:
        ingested = ingest_claude(store, roots, progress=update)
    finally:
        close()
    warnings = []
    if ingested.unreadable:
        named = ", ".join(f"{p} ({why})" for p, why in list(ingested.unreadable.items())[:3])
        warnings.append(f"could not read {len(ingested.unreadable)} log files: {named}")
    return ingested, warnings


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
    if project:
        project = str(Path(project).expanduser().absolute()).rstrip("/") or "/"
    filters = Filters(
        tz=tz,
        since=since_day,
        until=until_day,
        project=project,
        branch=window.branch if window else branch,
        since_ts=window.since if window else None,
        repo_root=window.repo_root if window else None,
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
    ) -> None:
        _run_report(
            name, since, until, timezone, project, branch, breakdown, json_out, db,
            claude_dir, demo, no_ingest, chart,
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
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    """With no command, runs ``daily``; ``ccspend --since BRANCH`` costs a branch's work."""
    if version:
        sys.stdout.write(f"ccspend {__version__}\n")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        _run_report(
            "daily", since, until, timezone, project, branch, breakdown, json_out, db,
            claude_dir, demo, no_ingest,
        )  # fmt: skip


@app.command("blocks")
def blocks(
    active: Annotated[bool, typer.Option("--active", help="Only the current block.")] = False,
    recent: Annotated[
        bool, typer.Option("--recent", help="Only blocks of the last 3 days.")
    ] = False,
    limit: Annotated[
        str | None,
        typer.Option(
            "--limit",
            help="Forecast the active block against tokens (500000), $USD ($40), a plan "
            "(pro, max5, max20: estimates) or auto (your own 90th percentile).",
        ),
    ] = None,
    since: Since = None,
    until: Until = None,
    timezone: Tz = None,
    project: ProjectOpt = None,
    branch: BranchOpt = None,
    json_out: Json = False,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    no_ingest: NoIngest = False,
) -> None:
    """Usage in 5-hour billing blocks, with burn rate and projection."""
    import time

    from ccspend.pricing import load_card
    from ccspend.reports import build_blocks, parse_day
    from ccspend.store import Store
    from ccspend.store.queries import Filters
    from ccspend.timeutil import check_timezone

    tz = check_timezone(timezone)
    try:
        since_day = parse_day(since) if since else None
        until_day = parse_day(until) if until else None
    except ValueError:
        raise UsageError("--since and --until take dates (YYYY-MM-DD)") from None
    if project:
        project = str(Path(project).expanduser().absolute()).rstrip("/") or "/"
    filters = Filters(tz=tz, since=since_day, until=until_day, project=project, branch=branch)
    store = Store(db or paths.default_db_path())
    roots = paths.claude_project_roots(claude_dir)
    if limit:
        from ccspend.forecast.limits import parse_limit

        try:
            parse_limit(limit)
        except ValueError as exc:
            raise UsageError(f"--limit {exc}") from None
    ingested, warnings = _ingest(store, roots, no_ingest)
    report = build_blocks(
        store, load_card(paths.rate_overrides_path()), filters, int(time.time() * 1e6),
        active_only=active, recent_days=3 if recent else None, warnings=warnings, limit=limit,
    )  # fmt: skip
    if json_out:
        import json

        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
        return
    from ccspend.cli.render import print_blocks

    print_blocks(report, _stdout(), _stderr(), active_only=active)


@app.command("statusline")
def statusline(
    install: Annotated[
        bool, typer.Option("--install", help="Add ccspend to Claude Code's settings.json.")
    ] = False,
    uninstall: Annotated[
        bool, typer.Option("--uninstall", help="Remove ccspend from Claude Code's settings.json.")
    ] = False,
    shell: Annotated[
        bool, typer.Option("--shell", help="A line for a shell prompt (no stdin).")
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Rewrite the status line's summary now.")
    ] = False,
) -> None:
    """One line for Claude Code's status bar (reads its JSON on stdin)."""
    from ccspend import statusline as sl

    if install or uninstall:
        from ccspend import claude_settings

        path = claude_settings.settings_path()
        msg = claude_settings.install(path) if install else claude_settings.uninstall(path)
        sys.stdout.write(msg + "\n")
        return
    if refresh:
        from ccspend.pricing import load_card
        from ccspend.store import Store
        from ccspend.summary import refresh as do_refresh
        from ccspend.timeutil import check_timezone

        folder = sl.state_dir()
        try:
            do_refresh(
                Store(paths.default_db_path()), paths.claude_project_roots(),
                load_card(paths.rate_overrides_path()), check_timezone(None), folder,
            )  # fmt: skip
        finally:
            (folder / "refresh.lock").unlink(missing_ok=True)
        return
    if shell:
        sys.stdout.write(sl.shell_line() + "\n")
        return
    sl.run()


@app.command("watch")
def watch(
    timezone: Tz = None,
    limit: Annotated[
        str | None,
        typer.Option("--limit", help="Limit for the active block (tokens, $USD, plan, auto)."),
    ] = None,
    db: Db = None,
    claude_dir: ClaudeDir = None,
) -> None:
    """A live full-screen view: the active block, burn rate, today, live sessions."""
    import time

    from rich.live import Live

    from ccspend import config, live
    from ccspend.cli.render import live_view
    from ccspend.pricing import load_card
    from ccspend.store import Store
    from ccspend.timeutil import check_timezone

    tz = check_timezone(timezone)
    if limit:
        from ccspend.forecast.limits import parse_limit

        try:
            parse_limit(limit)
        except ValueError as exc:
            raise UsageError(f"--limit {exc}") from None
    store = Store(db or paths.default_db_path())
    roots = paths.claude_project_roots(claude_dir)
    if not any(r.is_dir() for r in roots):
        sys.stderr.write(_no_logs_message(roots) + "\n")
        return
    card = load_card(paths.rate_overrides_path())

    def frame():
        from ccspend.ingest import ingest_claude

        ingest_claude(store, roots)
        daily = config.budgets().daily
        return live_view(live.take(store, card, tz, time.time(), limit, daily), tz, roots)

    try:
        with Live(frame(), screen=True, auto_refresh=False, console=_stdout()) as view:
            for _changes in _log_changes(roots):
                view.update(frame(), refresh=True)
    except KeyboardInterrupt:
        pass


def _log_changes(roots: list[Path]):
    """Yield whenever a log below ``roots`` changes (and every minute, for the clock).

    Uses the operating system's file events (watchfiles), not a poll of the tree.
    """
    import watchfiles

    yield from watchfiles.watch(
        *[r for r in roots if r.is_dir()], debounce=200, step=50, rust_timeout=60_000,
        yield_on_timeout=True,
        watch_filter=lambda _change, path: path.endswith(".jsonl") or "." not in Path(path).name,
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
) -> None:
    """A self-contained HTML page: daily trend, split by model and project, top sessions."""
    from ccspend import html_report, reports
    from ccspend.pricing import load_card
    from ccspend.store import Store
    from ccspend.store.queries import Filters
    from ccspend.timeutil import check_timezone

    tz = check_timezone(timezone)
    try:
        since_day = reports.parse_day(since) if since else None
        until_day = reports.parse_day(until) if until else None
    except ValueError:
        raise UsageError("--since and --until take dates (YYYY-MM-DD)") from None
    if project:
        project = str(Path(project).expanduser().absolute()).rstrip("/") or "/"
    filters = Filters(tz=tz, since=since_day, until=until_day, project=project)
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


budget_app = typer.Typer(help="Budgets by day, week and month.", no_args_is_help=False)
config_app = typer.Typer(help="ccspend's config file.", no_args_is_help=True)
app.add_typer(budget_app, name="budget")
app.add_typer(config_app, name="config")


@budget_app.callback(invoke_without_command=True)
def budget_show(
    ctx: typer.Context,
    timezone: Tz = None,
    json_out: Json = False,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    no_ingest: NoIngest = False,
) -> None:
    """Each budget: used, remaining, burn rate, and when it runs out at that rate."""
    if ctx.invoked_subcommand is not None:
        return
    import time

    from ccspend import config
    from ccspend.pricing import load_card
    from ccspend.reports import budget_status
    from ccspend.store import Store
    from ccspend.timeutil import check_timezone

    tz = check_timezone(timezone)
    budgets = config.budgets().model_dump()
    store = Store(db or paths.default_db_path())
    _ingest(store, paths.claude_project_roots(claude_dir), no_ingest)
    rows = budget_status(store, load_card(paths.rate_overrides_path()), budgets, tz, time.time())
    if json_out:
        import json

        sys.stdout.write(json.dumps({"timezone": tz, "budgets": rows}, indent=2) + "\n")
        return
    if not rows:
        sys.stdout.write(
            f"No budgets set. Set one with: ccspend budget set daily 20 "
            f"(kept in {config.config_path()})\n"
        )
        return
    from ccspend.cli.render import _forecast_line

    out = _stdout()
    for row in rows:
        out.print(_forecast_line(row, tz), highlight=False, soft_wrap=True)


@budget_app.command("set")
def budget_set(
    period: Annotated[str, typer.Argument(help="daily, weekly or monthly")],
    usd: Annotated[float, typer.Argument(help="dollars")],
) -> None:
    """Set the budget of a period, in dollars."""
    from ccspend import config

    path = config.set_budget(period, usd)
    sys.stdout.write(f"{period} budget: ${usd:,.2f} (in {path})\n")


@budget_app.command("unset")
def budget_unset(period: Annotated[str, typer.Argument(help="daily, weekly or monthly")]) -> None:
    """Remove the budget of a period."""
    from ccspend import config

    path = config.set_budget(period, None)
    sys.stdout.write(f"{period} budget removed (from {path})\n")


@config_app.command("path")
def config_path() -> None:
    """Print where the config file is (it may not exist yet)."""
    from ccspend import config

    sys.stdout.write(f"{config.config_path()}\n")


@app.command("rates")
def rates(
    at: Annotated[
        str | None, typer.Option("--at", help="The card in force on this day (YYYY-MM-DD).")
    ] = None,
    json_out: Json = False,
) -> None:
    """List the rate card in force (today, or --at a date)."""
    from ccspend.pricing import load_card
    from ccspend.reports import parse_day

    try:
        day = parse_day(at) if at else date.today()
    except ValueError:
        raise UsageError(f"--at {at!r} is not a date (YYYY-MM-DD)") from None
    card = load_card(paths.rate_overrides_path())
    rows = card.in_force(day)
    if json_out:
        import json

        def num(x):
            return float(x) if x is not None else None

        out = {
            "card_version": card.version,
            "at": day.isoformat(),
            "files": list(card.files),
            "models": [
                {
                    "model": m.name,
                    "provider": m.provider,
                    "effective_from": p.effective_from.isoformat(),
                    "input": num(p.base.input),
                    "output": num(p.base.output),
                    "cache_write_5m": num(p.base.cache_write_5m),
                    "cache_write_1h": num(p.base.cache_write_1h),
                    "cache_read": num(p.base.cache_read),
                    "web_search_per_1k": num(p.web_search_per_1k),
                    "long_context_threshold": p.long_context_threshold,
                    "long_context": None
                    if p.long_context is None
                    else {
                        "input": num(p.long_context.input),
                        "output": num(p.long_context.output),
                        "cache_write_5m": num(p.long_context.cache_write_5m),
                        "cache_write_1h": num(p.long_context.cache_write_1h),
                        "cache_read": num(p.long_context.cache_read),
                    },
                    "source": p.source,
                }
                for m, p in rows
            ],
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(
        title=f"Rate card {card.version}, in force on {day.isoformat()} (USD per million tokens)",
        pad_edge=False,
    )
    for col in ("Model", "From", "Input", "Output", "Write 5m", "Write 1h", "Read", "Long ctx"):
        table.add_column(col, justify="left" if col in ("Model", "From") else "right")
    for m, p in rows:
        lc = (
            f">{p.long_context_threshold // 1000}k: {p.long_context.input:g}/"
            f"{p.long_context.output:g}"
            if p.long_context and p.long_context_threshold
            else ""
        )
        table.add_row(
            m.name, p.effective_from.isoformat(), f"{p.base.input:g}", f"{p.base.output:g}",
            f"{p.base.cache_write_5m:g}", f"{p.base.cache_write_1h:g}", f"{p.base.cache_read:g}",
            lc,
        )  # fmt: skip
    out = _stdout()
    out.print(table)
    out.print("Sources: " + "; ".join(card.files))


@app.command("completions")
def completions(
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish")],
) -> None:
    """Print a shell completion script (also shipped in completions/)."""
    from ccspend.cli.completions import SHELLS, script

    if shell not in SHELLS:
        raise UsageError(f"unknown shell {shell!r}", hint="bash, zsh or fish")
    sys.stdout.write(script(app, shell))


def main() -> None:
    """Console entry point: every ccspend error becomes one line and an exit code."""
    try:
        app(standalone_mode=False)
    except CcspendError as exc:
        sys.stderr.write(f"ccspend: error: {exc}\n")
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        sys.stderr.write("ccspend: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    except SystemExit:
        raise
    except OSError as exc:  # a file or folder the user named: say which, and why
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"ccspend: error:{where}: {exc.strerror or exc}\n")
        sys.exit(int(ExitCode.ERROR))
    except BaseException as exc:  # noqa: BLE001 - the last line of defence
        _unexpected(exc)


def _unexpected(exc: BaseException) -> None:
    if isinstance(exc, typer.Exit):
        sys.exit(exc.exit_code)
    if isinstance(exc, typer.Abort):
        sys.stderr.write("ccspend: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    if isinstance(exc, typer.TyperException) and hasattr(exc, "format_message"):
        sys.stderr.write(f"ccspend: error: {exc.format_message()} (see ccspend --help)\n")
        sys.exit(int(ExitCode.USAGE))
    if os.environ.get("CCSPEND_DEBUG"):
        raise exc
    sys.stderr.write(
        f"ccspend: internal error: {type(exc).__name__}: {exc} "
        "(set CCSPEND_DEBUG=1 for a traceback)\n"
    )
    sys.exit(int(ExitCode.ERROR))
