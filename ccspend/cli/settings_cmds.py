"""Commands about settings and data: budgets, config, the rate card, completions."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import typer

from ccspend import paths
from ccspend.cli.app import (
    ClaudeDir,
    Db,
    Json,
    NoIngest,
    Tz,
    _ingest,
    _stdout,
    app,
)
from ccspend.errors import UsageError

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
