"""Commands about settings and data: budgets, config, the rate card, completions."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import typer

from ccspend.cli.common import (
    ClaudeDir,
    Db,
    Json,
    NoIngest,
    Team,
    Tz,
    app,
    ingest,
    team_store,
)
from ccspend.cli.consoles import stdout_console, table_console
from ccspend.core import paths
from ccspend.core.errors import UsageError
from ccspend.core.text import inert

budget_app = typer.Typer(
    help="Budgets by day, week and month: global, per project, branch and task.",
    no_args_is_help=False,
)
config_app = typer.Typer(help="ccspend's config file.", no_args_is_help=True)
app.add_typer(budget_app, name="budget")
app.add_typer(config_app, name="config")


ProjectScope = Annotated[
    str | None, typer.Option("--project", help="A project's budget (its folder).")
]
BranchScope = Annotated[str | None, typer.Option("--branch", help="A git branch's budget.")]
TaskScope = Annotated[str | None, typer.Option("--task", help="A task id's budget (its runs).")]


def _scope(project: str | None, branch: str | None, task: str | None) -> tuple[str, str | None]:
    given = [(s, v) for s, v in (("project", project), ("branch", branch), ("task", task)) if v]
    if len(given) > 1:
        raise UsageError("a budget has one scope: --project, --branch or --task")
    return given[0] if given else ("global", None)


def _budget_rows(db, claude_dir, no_ingest: bool, tz: str, team=None) -> tuple[list, object]:
    """Each budget's status; with a team store (``--team``, ``$CCSPEND_TEAM``, the
    config's ``[team] url``), global, project and branch budgets count everyone's spend
    read from it, and no local log is read unless a task budget needs the ledger."""
    import time

    from ccspend.core import config
    from ccspend.pricing import load_card
    from ccspend.reports.build import budget_status
    from ccspend.store import Store

    cfg = config.load()
    store = Store(db or paths.default_db_path())
    shared = team_store(team, {"--claude-dir": claude_dir, "--no-ingest": no_ingest})
    points = None
    if shared is not None:
        from ccspend.reports.team import budget_points

        points = budget_points(shared)
    elif cfg.budgets:
        ingest(store, paths.claude_project_roots(claude_dir), no_ingest, given=claude_dir)
    card = load_card(paths.rate_overrides_path())
    rows = budget_status(store, card, list(cfg.budgets), tz, time.time(), team_points=points)
    return rows, (store, cfg)


@budget_app.callback(invoke_without_command=True)
def budget_show(
    ctx: typer.Context,
    timezone: Tz = None,
    json_out: Json = False,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    no_ingest: NoIngest = False,
    team: Team = None,
) -> None:
    """Each budget: used, remaining, burn rate, when it runs out at that rate, alert level.

    With a team store, a budget counts everyone's spend in it (task budgets: this
    machine's runs)."""
    if ctx.invoked_subcommand is not None:
        return
    from ccspend.core import config
    from ccspend.core.timeutil import check_timezone

    tz = check_timezone(timezone)
    rows, _ = _budget_rows(db, claude_dir, no_ingest, tz, team)
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
    from ccspend.cli.render import cell, forecast_line

    out = stdout_console()
    for row in rows:
        level = row["alert_level"]
        line = cell(forecast_line(row, tz))  # a budget's name and project are data, not markup
        if row["exhausted"]:
            line.append(" EXHAUSTED", style="red")
        elif level:
            line.append(f" past {level}%", style="yellow")
        out.print(line, highlight=False, soft_wrap=True)


@budget_app.command("check", short_help="Send the alerts that are due; exit 4 if one is spent.")
def budget_check(
    timezone: Tz = None,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    no_ingest: NoIngest = False,
    team: Team = None,
) -> None:
    """Send the alerts that are due, once per level; exit 4 if a budget is exhausted.

    Made to run from cron, or after each session."""
    from ccspend.core.errors import ExitCode
    from ccspend.core.timeutil import check_timezone
    from ccspend.reports.alerts import budget_alerts, deliver

    rows, (store, cfg) = _budget_rows(db, claude_dir, no_ingest, check_timezone(timezone), team)
    with store.connect(write=True) as con:
        sent = budget_alerts(con, rows)

    def write(fn) -> None:
        with store.connect(write=True) as con:
            fn(con)

    deliver(sent, cfg.alerts, write, sys.stderr)
    exhausted = [r["name"] for r in rows if r["exhausted"]]
    sys.stdout.write(f"{_count(len(rows), 'budget')} checked, {_count(len(sent), 'alert')} sent"
                     + (f"; exhausted: {', '.join(exhausted)}" if exhausted else "") + "\n")
    if exhausted:
        raise typer.Exit(ExitCode.REFUSED)


@budget_app.command("alerts")
def budget_alerts_list(json_out: Json = False, db: Db = None) -> None:
    """The alerts sent so far, newest first."""
    from ccspend.store import Store, list_alerts

    with Store(db or paths.default_db_path()).connect() as con:
        rows = list_alerts(con)
    if json_out:
        import json

        sys.stdout.write(json.dumps({"report": "alerts", "rows": rows}, indent=2) + "\n")
        return
    if not rows:
        sys.stdout.write("No alerts yet.\n")
    for r in rows:
        sys.stdout.write(f"{r['fired_at']}  {r['level']:>3}%  {inert(r['message'])}"
                         f"  [{inert(r['channels'] or 'recorded')}]\n")  # fmt: skip


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _levels(alert_at: str | None) -> tuple[int, ...] | None:
    if alert_at is None:
        return None
    try:
        levels = tuple(sorted({int(x) for x in alert_at.split(",") if x.strip()}))
    except ValueError:
        raise UsageError("--alert-at takes percentages, e.g. 50,80") from None
    if not all(0 < x < 100 for x in levels):
        raise UsageError("--alert-at takes percentages between 1 and 99")
    return levels


@budget_app.command("set", short_help="Set a budget in dollars: global, project, branch, task.")
def budget_set(
    period: Annotated[str, typer.Argument(help="daily, weekly or monthly")],
    usd: Annotated[float, typer.Argument(help="dollars: the hard cap")],
    project: ProjectScope = None,
    branch: BranchScope = None,
    task: TaskScope = None,
    alert_at: Annotated[
        str | None, typer.Option("--alert-at", help="Soft alert levels, percent (default 50,80).")
    ] = None,
) -> None:
    """Set a budget, in dollars: global, or for a project, branch or task."""
    from ccspend.core import config

    scope, name = _scope(project, branch, task)
    path = config.set_budget(period, usd, scope=scope, name=name, alert_at=_levels(alert_at))
    what = f"{period} budget" + (f" for {scope} {name}" if name else "")
    sys.stdout.write(f"{what}: ${usd:,.2f} (in {path})\n")


@budget_app.command("unset")
def budget_unset(
    period: Annotated[str, typer.Argument(help="daily, weekly or monthly")],
    project: ProjectScope = None,
    branch: BranchScope = None,
    task: TaskScope = None,
) -> None:
    """Remove a budget."""
    from ccspend.core import config

    scope, name = _scope(project, branch, task)
    path = config.set_budget(period, None, scope=scope, name=name)
    what = f"{period} budget" + (f" for {scope} {name}" if name else "")
    sys.stdout.write(f"{what} removed (from {path})\n")


@config_app.command("path")
def config_path() -> None:
    """Print where the config file is (it may not exist yet)."""
    from ccspend.core import config

    sys.stdout.write(f"{config.config_path()}\n")


# The order in which the rates table's columns give way, once the model names and the
# modes are at their narrowest (docs/reports.md).
RATES_LADDER = ("Modes", "Long ctx", "Write 1h", "From")

rates_app = typer.Typer(
    help="List the rate card in force (today, or --at a date).", no_args_is_help=False
)
app.add_typer(rates_app, name="rates")


@rates_app.callback(invoke_without_command=True)
def rates(
    ctx: typer.Context,
    at: Annotated[
        str | None, typer.Option("--at", help="The card in force on this day (YYYY-MM-DD).")
    ] = None,
    json_out: Json = False,
) -> None:
    """List the rate card in force (today, or --at a date)."""
    if ctx.invoked_subcommand is not None:
        return
    from ccspend.pricing import load_card
    from ccspend.reports.options import parse_day

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
            "versions": [
                {"kind": v.kind, "version": v.version, **({"source": v.source} if v.source else {})}
                for v in card.versions
            ],
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
                    "date_known": m.date_known,
                    "modifiers": _modifiers_on(m, day),
                }
                for m, p in rows
            ],
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    from ccspend.cli.layout import Col, fitted_table, shorten_list, shorten_middle

    def long_context(p) -> str:
        if not (p.long_context and p.long_context_threshold):
            return ""
        return (f">{p.long_context_threshold // 1000}k: {p.long_context.input:g}/"
                f"{p.long_context.output:g}")  # fmt: skip

    def modes(m) -> str:
        return ", ".join(f"{'US-only' if x['value'] == 'us' else x['value']} "
                         f"{x['factor']:g}x" for x in _modifiers_on(m, day))  # fmt: skip

    def rate(header: str, field: str) -> Col:
        return Col(header, [f"{getattr(p.base, field):g}" for _m, p in rows], justify="right")

    cols = [
        Col("Model", [m.name for m, _p in rows], shorten=shorten_middle, min_width=40),
        Col("From", [p.effective_from.isoformat() + ("" if m.date_known else " (?)")
                     for m, p in rows]),
        rate("Input", "input"), rate("Output", "output"), rate("Write 5m", "cache_write_5m"),
        rate("Write 1h", "cache_write_1h"), rate("Read", "cache_read"),
        Col("Long ctx", [long_context(p) for _m, p in rows]),
        Col("Modes", [modes(m) for m, _p in rows], shorten=shorten_list, min_width=10),
    ]  # fmt: skip
    out = table_console()
    title = f"Rate card {card.version}, in force on {day.isoformat()} (USD per million tokens)"
    out.print(fitted_table(cols, out.width, RATES_LADDER, title=title))
    if any(not m.date_known for m, _p in rows):
        out.print("(?) release date not published: priced from the earliest day the model "
                  "could have existed", highlight=False)  # fmt: skip
    out.print("Sources: " + "; ".join(card.files))
    updates = [v for v in card.versions if v.kind == "update"]
    if updates:
        out.print("Versions: shipped " + card.version + "; " + "; ".join(
            f"update from {v.version} ({v.source})" for v in updates), highlight=False)


def _modifiers_on(m, day) -> list[dict]:
    """The multipliers of model ``m`` in force on ``day`` (fast mode, US-only inference)."""
    return [{"field": f, "value": v, "factor": float(x), "effective_from": a.isoformat(),
             "until": b.isoformat() if b else None}
            for f, v, a, b, x in m.modifier_spans()
            if a <= day and (b is None or day < b) and x != 1]  # fmt: skip


def _rate(x) -> str:
    return f"{x:g}" if x is not None else "-"


@rates_app.command("update")
def rates_update(
    source: Annotated[
        str | None,
        typer.Option("--from", help="LiteLLM's price file: a URL or a file (default: its "
                     "published URL)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change; write nothing.")
    ] = False,
    json_out: Json = False,
) -> None:
    """Add LiteLLM's new models and changed prices to the card, from today (the past is
    never repriced)."""
    from ccspend.pricing import load_card
    from ccspend.pricing.update import DEFAULT_URL, update

    overrides, path = paths.rate_overrides_path(), paths.rate_updates_path()
    card = load_card(overrides)
    plan, written = update(source or DEFAULT_URL, card, path, date.today(),
                           overrides=overrides, dry_run=dry_run)  # fmt: skip
    day = plan.day.isoformat()

    def row(c) -> dict:
        d = {"model": c.name, "provider": c.provider, "litellm_id": c.new.key,
             "input": float(c.new.base.input), "output": float(c.new.base.output)}  # fmt: skip
        if c.old is not None:
            d["old_input"], d["old_output"] = float(c.old.base.input), float(c.old.base.output)
        d["modifiers"] = [{"field": m.field, "value": m.value, "factor": float(m.factor)}
                          for m in c.modifiers]  # fmt: skip
        return d

    if json_out:
        import json

        out = {
            "effective_from": day, "source": plan.source, "file": str(path),
            "written": written, "dry_run": dry_run, "models_read": plan.models_read,
            "new": [row(c) for c in plan.changes if c.kind == "new"],
            "changed": [row(c) for c in plan.changes if c.kind == "changed"],
            "modifiers": [row(c) for c in plan.changes if c.kind == "modifier"],
            "kept": [{"model": k.name, "why": k.why, "input": float(k.old.base.input),
                      "output": float(k.old.base.output), "litellm_input": float(k.new.base.input),
                      "litellm_output": float(k.new.base.output)} for k in plan.kept],
        }  # fmt: skip
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    w = sys.stdout.write
    w(f"Read {plan.models_read} models from {plan.source}\n")
    for c in plan.changes:
        mods = "".join(f", {m.field}={m.value} x{m.factor:g}" for m in c.modifiers)
        b = c.new.base
        if c.kind == "new":
            w(f"  new      {c.name} ({c.provider}): input {_rate(b.input)}, "
              f"output {_rate(b.output)}{mods}\n")
        elif c.kind == "changed":
            o = c.old.base
            w(f"  changed  {c.name}: input {_rate(o.input)} -> {_rate(b.input)}, "
              f"output {_rate(o.output)} -> {_rate(b.output)}{mods}\n")
        else:
            w(f"  modifier {c.name}{mods}\n")
    for k in plan.kept:
        w(f"  kept     {k.name}: {k.why} (LiteLLM: input {_rate(k.new.base.input)}, "
          f"output {_rate(k.new.base.output)})\n")
    if not plan.changes:
        w(f"Already current: nothing to add ({path} unchanged).\n")
    elif dry_run:
        w(f"Dry run: {len(plan.changes)} models would be priced from {day} in {path}.\n")
    else:
        w(f"Wrote {path}: {len(plan.changes)} models priced from {day} "
          "(prices before it unchanged).\n")


@app.command("completions")
def completions(
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish")],
) -> None:
    """Print a shell completion script (also shipped in completions/)."""
    from ccspend.cli.completions import SHELLS, script

    if shell not in SHELLS:
        raise UsageError(f"unknown shell {shell!r}", hint="bash, zsh or fish")
    sys.stdout.write(script(app, shell))
