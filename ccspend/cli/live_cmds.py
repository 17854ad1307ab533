"""Commands about now: 5-hour blocks, the live view, the status line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ccspend.cli import options as spec
from ccspend.cli.common import (
    ArgvCommand,
    BranchOpt,
    ClaudeDir,
    Color,
    Compact,
    Db,
    Json,
    Last,
    Logs,
    NoColor,
    NoIngest,
    Offline,
    Order,
    ProjectOpt,
    ReportJson,
    Since,
    Team,
    TeamMachine,
    TeamUser,
    Tz,
    Until,
    app,
    check_limit,
    date_filters,
    ingest,
    no_team_filters,
    team_store,
    with_options,
)
from ccspend.cli.consoles import stderr_console, stdout_console, table_console
from ccspend.cli.fast.reports import no_logs_message
from ccspend.core import paths
from ccspend.reports.options import last_days, parse_order


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
    last: Last = None,
    timezone: Tz = None,
    project: ProjectOpt = None,
    branch: BranchOpt = None,
    json_out: ReportJson = False,
    order: Order = None,
    compact: Compact = False,
    color: Color = False,
    no_color: NoColor = False,
    offline: Offline = False,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    logs: Logs = None,
    no_ingest: NoIngest = False,
    team: Team = None,
    user: TeamUser = None,
    machine: TeamMachine = None,
) -> None:
    """Usage in 5-hour billing blocks, with burn rate and projection."""
    import time

    from ccspend.cli.fast.reports import colour_choice
    from ccspend.pricing import load_card
    from ccspend.reports.build import build_blocks
    from ccspend.store import Store

    filters = _blocks_filters(date_filters(timezone, since, until, project, branch), last)
    colour = colour_choice(color, no_color)
    check_limit(limit)
    order = parse_order(order)
    shared = team_store(team, {"--db": db, "--claude-dir": claude_dir, "--no-ingest": no_ingest,
                               "--logs": logs})  # fmt: skip
    if shared is not None:  # everyone's blocks from the team store: no local log is read
        from ccspend.reports import team as team_reports

        report = team_reports.build_blocks(
            shared, filters, int(time.time() * 1e6), active_only=active,
            recent_days=3 if recent else None, limit=limit, order=order, user=user,
            machine=machine)  # fmt: skip
    else:
        no_team_filters(user, machine)
        store = Store(db or paths.default_db_path())
        roots = paths.claude_project_roots(claude_dir)
        ingested, warnings = ingest(store, roots, no_ingest, given=claude_dir, logs=logs)
        report = build_blocks(
            store, load_card(paths.rate_overrides_path()), filters, int(time.time() * 1e6),
            active_only=active, recent_days=3 if recent else None, warnings=warnings,
            limit=limit, order=order,
        )  # fmt: skip
    if json_out:
        import json

        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
        return
    from ccspend.cli.render import print_blocks

    print_blocks(report, table_console(colour=colour, compact=compact), stderr_console(colour),
                 active_only=active)  # fmt: skip


def _blocks_filters(filters, last: int | None):
    """``filters`` narrowed to ``--last N`` days (with --since or --until: a usage error)."""
    if last is None:
        return filters
    from ccspend.core.records import replace

    since, until = last_days(last, filters.tz, filters.since, filters.until)
    return replace(filters, since=since, until=until)


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
    from ccspend.cli.fast import statusline as sl

    if install or uninstall:
        from ccspend.live import claude_settings

        path = claude_settings.settings_path()
        from ccspend.cli.cap_cmds import warn_unless_runs
        from ccspend.core.text import inert

        msg = claude_settings.install(path) if install else claude_settings.uninstall(path)
        sys.stdout.write(inert(msg) + "\n")
        if install:
            command = claude_settings.status_line_command(path)
            warn_unless_runs([command] if command else [], "the status line")
        return
    if refresh:  # one front end: the one the console script calls (cli/fast/entry)
        code = sl.refresh_summary()
        if code:
            raise typer.Exit(code)
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

    from ccspend.cli.render import live_view
    from ccspend.core import config
    from ccspend.core.timeutil import check_timezone
    from ccspend.live import watch as live
    from ccspend.pricing import load_card
    from ccspend.store import Store

    tz = check_timezone(timezone)
    check_limit(limit)
    store = Store(db or paths.default_db_path())
    roots = paths.claude_project_roots(claude_dir)
    if not any(r.is_dir() for r in roots):
        sys.stderr.write(no_logs_message(roots) + "\n")
        return
    card = load_card(paths.rate_overrides_path())

    def frame():
        from ccspend.ingest.claude import ingest_claude

        ingest_claude(store, roots)
        daily = config.load().global_budget("daily")
        return live_view(live.take(store, card, tz, time.time(), limit, daily), tz, roots)

    try:
        with Live(frame(), screen=True, auto_refresh=False, console=stdout_console()) as view:
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


@app.command("run", cls=ArgvCommand, options_metavar="[OPTIONS] [--] COMMAND [ARGS]...")
@with_options(spec.RUN, context=True)
def run_command(ctx: typer.Context, **_declared) -> None:
    """Run an agent command (after --) with a hard cost cap and warnings before it.

    Exit codes: the agent's own; 124 when stopped at the cap; 4 when refused
    (a budget is spent, or the prompt alone passes the cap).
    """
    from ccspend.cli.fast import run

    if run.asks_help(ctx.args):
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    raise typer.Exit(run.main(ctx.args))


# The order in which the runs table's columns give way, once the task and the command
# are at their narrowest (docs/reports.md).
RUNS_LADDER = ("Exit", "Cap", "Task", "Command")


@app.command("runs")
def runs_command(
    task: Annotated[str | None, typer.Option("--task", help="Only this task's runs.")] = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """The ledger of ccspend run: every run, its cost and outcome."""
    import socket

    from ccspend.run.execute import journal_dir, process_alive
    from ccspend.store import Store, adopt_journals, list_runs, mark_interrupted

    db_path = db or paths.default_db_path()
    store = Store(db_path)
    with store.connect(write=True) as con:
        adopt_journals(con, journal_dir(db_path), process_alive)
        mark_interrupted(con, socket.gethostname(), process_alive)
        rows = list_runs(con, task)
    from ccspend.core.redact import redact_text

    for r in rows:  # a row stored before commands were redacted as they are now
        r["command"] = redact_text(r["command"]) if r.get("command") else r.get("command")
        r["note"] = redact_text(r["note"]) if r.get("note") else r.get("note")
    done = [r for r in rows if r["status"] in ("ok", "failed", "capped")]
    ok = [r for r in done if r["status"] == "ok"]
    totals = {
        "runs": len(rows),
        "cost_usd": sum(r["cost_usd"] or 0 for r in rows),
        "success_rate": len(ok) / len(done) if done else None,
        "cost_per_successful_run_usd": (sum(r["cost_usd"] or 0 for r in rows) / len(ok))
        if ok else None,
    }  # fmt: skip
    if json_out:
        import json

        sys.stdout.write(json.dumps({"report": "runs", "task": task, "rows": rows,
                                     "totals": totals}, indent=2) + "\n")  # fmt: skip
        return
    if not rows:
        sys.stdout.write("No runs yet. Start one with: ccspend run --cap 2 -- <command>\n")
        return
    from ccspend.cli.layout import Col, fitted_table, shorten_end, shorten_middle

    cols = [
        Col("Started", [r["started_at"] or "" for r in rows]),
        Col("Task", [r["task_id"] or "" for r in rows], shorten=shorten_middle, min_width=8),
        Col("Status", [r["status"] or "" for r in rows]),
        Col("Cost", [f"${r['cost_usd'] or 0:,.2f}" for r in rows], justify="right"),
        Col("Cap", [f"${r['cap_usd']:,.2f}" if r["cap_usd"] else "" for r in rows],
            justify="right"),
        Col("Exit", [str(r["exit_code"] or "") for r in rows], justify="right"),
        Col("Command", [r["command"] or "" for r in rows], shorten=shorten_end, min_width=16),
    ]  # fmt: skip
    out = table_console()
    out.print(fitted_table(cols, out.width, RUNS_LADDER, title="ccspend runs"))
    rate = totals["success_rate"]
    out.print(
        f"{totals['runs']} runs, ${totals['cost_usd']:,.2f}"
        + (f", {rate * 100:.0f}% succeeded" if rate is not None else "")
        + (f", ${totals['cost_per_successful_run_usd']:,.2f} per successful run"
           if totals["cost_per_successful_run_usd"] is not None else "")  # fmt: skip
    )
