"""Routing commands: route (its --help), whatif, breakeven.

``ccspend route`` itself is read by ``cli.fast.route`` and answered by
``ccspend.route.decide`` with the standard library (the console entry sends it
there); the typer command here declares its options from ``cli.options.ROUTE``
for ``--help`` and completions, and hands everything else, ``route review``
included, to that same front end.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from typing import Annotated

import typer

from ccspend.cli import options as spec
from ccspend.cli.common import (
    ArgvCommand,
    ClaudeDir,
    Db,
    Json,
    NoIngest,
    ProjectOpt,
    Tz,
    Until,
    app,
    date_filters,
    ingest,
    with_options,
)
from ccspend.cli.consoles import prose_console, stderr_console, stdout_console
from ccspend.cli.route_review_cmds import DAYS_BACK
from ccspend.core import paths
from ccspend.core.errors import UsageError


@app.command("route", cls=ArgvCommand, options_metavar="[OPTIONS] TASK...")
@with_options(spec.ROUTE, context=True)
def route_command(ctx: typer.Context, **_declared) -> None:
    """Which model tier a task should run on, why, and what each tier costs.

    `ccspend route policy` prints the routing policy in force and where it came from.
    `ccspend route review [--since 7d|DATE] [--json] [--policy-out FILE]` reads the
    ledger of ccspend run and recommends promotions and demotions (see its --help).
    The task is the words given, --task-file, or stdin.
    """
    from ccspend.cli.fast import route

    if route.asks_help(ctx.args):
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    raise typer.Exit(route.main(ctx.args))


# -- whatif ----------------------------------------------------------------------------------


def _day_or_days(text: str | None, tz: str) -> str | None:
    """``7d`` as the first of the last seven local days; anything else as given."""
    if text is None or not DAYS_BACK.match(text.strip()):
        return text
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo(tz)).date()
    return (today - timedelta(days=int(text.strip()[:-1]) - 1)).isoformat()


@app.command("whatif")
def whatif_command(
    model: Annotated[
        str | None, typer.Option("--model", help="Price every request at this model "
                                 "(an id or an alias: haiku, sonnet, opus).")  # fmt: skip
    ] = None,
    route: Annotated[
        str | None, typer.Option("--route", help="Route every run again by this policy file "
                                 "(or auto: the policy in force).")  # fmt: skip
    ] = None,
    card: Annotated[
        str | None, typer.Option("--card", help="Price everything by the rate card as it stood "
                                 "on this day (YYYY-MM-DD).")  # fmt: skip
    ] = None,
    task: Annotated[
        str | None, typer.Option("--task", help="With --model: only this task's runs.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="First day (YYYY-MM-DD or 7d), inclusive.")
    ] = None,
    until: Until = None,
    timezone: Tz = None,
    project: ProjectOpt = None,
    json_out: Json = False,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    no_ingest: NoIngest = False,
) -> None:
    """Reprice a period of history as if it had run on another model, routing policy or
    rate card: old cost, new cost and the difference by day, model and project."""
    from ccspend.core.timeutil import check_timezone
    from ccspend.pricing import load_card
    from ccspend.reports.options import parse_day
    from ccspend.route.whatif import Scenario, whatif
    from ccspend.store import Store

    card_at = None
    if card is not None:
        try:
            card_at = parse_day(card)
        except ValueError:
            raise UsageError(f"--card {card!r}: a day, YYYY-MM-DD") from None
    scenario = Scenario(model=model, route=route, card_at=card_at, task=task)
    scenario.check()
    tz = check_timezone(timezone)
    filters = date_filters(tz, _day_or_days(since, tz), _day_or_days(until, tz), project)
    store = Store(db or paths.default_db_path())
    roots = paths.claude_project_roots(claude_dir or None)
    _, warnings = ingest(store, roots, no_ingest, given=claude_dir)
    result = whatif(store, load_card(paths.rate_overrides_path()), scenario, filters)
    result.warnings[:0] = warnings
    if not result.totals.requests:
        result.warnings.append("no requests in the period: nothing to reprice")
    if json_out:
        import json

        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
        return
    _print_whatif(result)


def _print_whatif(result) -> None:
    from rich.table import Table

    out = stdout_console()
    out.print(f"what if: {result.label}")
    for name, title in (("daily", "Date"), ("model", "Model"), ("project", "Project")):
        table = Table(title=f"by {title.lower()}", box=None, pad_edge=False, header_style="bold",
                      title_justify="left")  # fmt: skip
        for col in (title, "Requests", "Old cost", "New cost", "Difference"):
            table.add_column(col, justify="left" if col == title else "right", no_wrap=True,
                             overflow="ellipsis", max_width=48 if col == title else None)
        for x in [*result.sections[name], result.totals]:
            j = x.to_json()
            style = "bold" if x is result.totals else None
            table.add_row("Total" if x is result.totals else x.key, f"{x.requests:,}",
                          f"${j['old_cost_usd']:,.2f}", f"${j['new_cost_usd']:,.2f}",
                          f"{j['difference_usd']:+,.2f}", style=style)  # fmt: skip
        out.print(table)
        out.print()
    out = prose_console()
    saving = float(result.saving_usd)
    old = result.totals.to_json()["old_cost_usd"]
    pct = f" ({abs(saving) / old:.1%})" if old else ""
    out.print(f"{'saving' if saving >= 0 else 'extra cost'}: ${abs(saving):,.2f}{pct}")
    for a, b, n in result.moved[:5]:
        out.print(f"  {n:,} requests {a} -> {b}")
    for note in result.notes:
        out.print(f"  {note}")
    for w in result.warnings:
        stderr_console().print(f"warning: {w}")


# -- breakeven --------------------------------------------------------------------------------


@app.command("breakeven")
def breakeven_command(
    model: Annotated[
        str, typer.Option("--model", help="The local model (rate card: hourly_usd and "
                          "tokens_per_second).")  # fmt: skip
    ],
    vs: Annotated[
        str, typer.Option("--vs", help="The cloud model to compare with (id or alias).")
    ] = "sonnet",
    hours_per_day: Annotated[
        float, typer.Option("--hours-per-day", help="Hours a day the machine is paid for "
                            "(24: always on).")  # fmt: skip
    ] = 24.0,
    timezone: Tz = None,
    json_out: Json = False,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    no_ingest: NoIngest = False,
) -> None:
    """The daily token volume above which a local model beats a cloud one, and where
    your last 30 days stand."""
    from zoneinfo import ZoneInfo

    from ccspend.core.timeutil import check_timezone
    from ccspend.pricing import load_card
    from ccspend.route.breakeven import breakeven, load_history
    from ccspend.store import Store

    tz = check_timezone(timezone)
    today = datetime.now(ZoneInfo(tz)).date()
    rates = load_card(paths.rate_overrides_path())
    breakeven(rates, model, vs, today, None, hours_per_day)  # bad input: fail before reading
    store = Store(db or paths.default_db_path())
    ingest(store, paths.claude_project_roots(claude_dir or None), no_ingest,
           given=claude_dir)
    result = breakeven(rates, model, vs, today, load_history(store, rates, tz, today),
                       hours_per_day)  # fmt: skip
    data = result.to_json()
    if json_out:
        import json

        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    _print_breakeven(data, today)


def _print_breakeven(d: dict, today: date) -> None:
    out = prose_console()
    loc, cl = d["local"], d["cloud"]
    hours = loc["hours_per_day"]
    out.print(f"{loc['model']}: ${loc['hourly_usd']:,.2f}/h x {hours:g} h a day = "
              f"${loc['usd_per_day']:,.2f} a day, paid whether used or not; at "
              f"{loc['tokens_per_second']:g} tokens/s it handles up to "
              f"{loc['capacity_tokens_per_day']:,.0f} tokens a day")  # fmt: skip
    mix = ", ".join(f"{k.replace('_', ' ')} {v:.1%}" for k, v in d["mix"].items() if v)
    out.print(f"{cl['model']}: ${cl['usd_per_million_tokens']:,.4f} per million tokens at "
              f"{d['mix_source']} ({mix}; base rates in force {today})")
    be = d["breakeven_tokens_per_day"]
    if be is None:
        out.print(f"local never beats {cl['model']} on one machine: even at full use "
                  f"({loc['capacity_tokens_per_day']:,.0f} tokens a day) the same tokens cost "
                  f"less in the cloud")  # fmt: skip
    else:
        out.print(f"break-even: {be:,.0f} tokens a day; above it {loc['model']} is cheaper")
    you = d["you"]
    if you is None:
        out.print("your last 30 days: no usage in the logs")
        return
    verdict = "local would be cheaper" if you["local_cheaper"] else f"{cl['model']} is cheaper"
    machines = f" ({you['machines']} machines)" if you["machines"] > 1 else ""
    out.print(f"your last {you['days']} days: {you['tokens_per_day']:,.0f} tokens a day; "
              f"${you['cloud_usd_per_day']:,.2f} a day on {cl['model']} vs "
              f"${you['local_usd_per_day']:,.2f} local{machines}: {verdict} "
              f"(you actually spent ${you['cost_usd_per_day']:,.2f} a day)")  # fmt: skip
