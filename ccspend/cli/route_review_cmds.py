"""``ccspend route review``: what the ledger of ``ccspend run`` says each task type
should run on.

A typer app of its own, because ``route`` takes free words: the route front end
(``cli.fast.route``) hands ``route review …`` to ``review_main`` here.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ccspend.cli.common import (
    Db,
    Json,
    Tz,
)
from ccspend.cli.consoles import prose_console, stderr_console, stdout_console
from ccspend.core import paths
from ccspend.core.errors import ExitCode, UsageError

DAYS_BACK = re.compile(r"^(\d+)d$")


review_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                         context_settings={"help_option_names": ["-h", "--help"]},
                         rich_markup_mode=None)  # fmt: skip


@review_app.command()
def review(
    since: Annotated[
        str, typer.Option("--since", help="Runs started since: 7d (days back) or YYYY-MM-DD.")
    ] = "30d",
    timezone: Tz = None,
    policy_out: Annotated[
        Path | None,
        typer.Option("--policy-out", help="Write the policy with the task-type "
                     "recommendations applied (for ccspend whatif --route FILE)."),  # fmt: skip
    ] = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """Per task type and task id, per tier: runs, success rate, cost per successful run;
    promotions, demotions and the monthly saving they would bring.

    Reads the ledger of ccspend run (the runs' recorded cost). Thresholds are printed
    with the review.
    """
    from ccspend.core.timeutil import check_timezone
    from ccspend.route import load_policy, render_policy
    from ccspend.route import review as rv
    from ccspend.store import Store

    tz = check_timezone(timezone)
    now = time.time()
    start = since_epoch(since, tz, now)
    days = (now - start) / 86400
    policy = load_policy()
    rows = rv.load_runs(Store(db or paths.default_db_path()), start, now)
    result = rv.review(rv.runs_from_ledger(rows, policy), policy, days)
    applied, changes = rv.apply(policy, result.recommendations)
    if policy_out is not None:
        try:
            policy_out.write_text(render_policy(applied))
        except OSError as exc:
            raise UsageError(f"--policy-out {policy_out}: {exc.strerror}") from None
        stderr_console().print(f"wrote {policy_out}: {'; '.join(changes) or 'no change'}; "
                        f"see the saving on your history: ccspend whatif --route {policy_out}")
    if json_out:
        import json

        out = {"report": "route-review", "timezone": tz,
               "since": datetime.fromtimestamp(start).astimezone().isoformat(),
               "days": days, "runs": result.runs, "policy": str(policy.source),
               "thresholds": {**vars(result.thresholds), "text": result.thresholds.describe()},
               "rows": [s.to_dict() for s in result.stats],
               "recommendations": [r.to_dict() for r in result.recommendations],
               "policy_changes": changes, "struggling": result.struggling,
               "not_judged": result.skipped,
               "totals": {"monthly_saving_usd": result.monthly_saving_usd},
               "warnings": result.warnings}  # fmt: skip
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    out = stdout_console()
    if not result.runs:
        out.print(f"No runs in the ledger since {since}. Runs come from: ccspend run --task ID "
                  "--route auto -- <command>")  # fmt: skip
        return
    from rich.table import Table

    for scope, title in (("type", "Task type"), ("task", "Task")):
        stats = [s for s in result.stats if s.scope == scope]
        if not stats:
            continue
        table = Table(title=f"route review: by {title.lower()} ({result.runs} runs, "
                      f"{days:.0f} days)", box=None, pad_edge=False, header_style="bold")
        for col in (title, "Tier", "Runs", "Finished", "Success", "Followed up", "Cost",
                    "Per success"):  # fmt: skip
            table.add_column(col, justify="left" if col in (title, "Tier") else "right",
                             no_wrap=True, overflow="ellipsis")  # fmt: skip
        for s in stats:
            rate = s.success_rate
            cps = s.cost_per_success_usd
            table.add_row(s.unit, s.tier, str(s.runs), str(s.finished),
                          "" if rate is None else f"{rate:.0%}", str(s.followed_up or ""),
                          f"${s.cost_usd:,.2f}", "" if cps is None else f"${cps:,.4f}")  # fmt: skip
        out.print(table)
        out.print()
    out = prose_console()
    if result.recommendations:
        out.print("Recommendations (monthly: the window's runs scaled to 30 days):")
        for r in result.recommendations:
            out.print(f"  - {r.describe()}")
        out.print(f"Task-type recommendations together: ${result.monthly_saving_usd:,.2f} a month"
                  f" ({'; '.join(changes) or 'no policy change'})")  # fmt: skip
    elif result.struggling:
        out.print("No recommendation, though not every tier judged does the work it gets:")
    else:
        out.print("No recommendation: every tier judged is doing the work it gets.")
    if result.struggling and result.recommendations:
        out.print("Past a promotion threshold, and not moved:")
    for note in result.struggling:
        out.print(f"  - {note}")
    for note in result.skipped:
        out.print(f"Not judged: {note}.")
    out.print(f"Thresholds: {result.thresholds.describe()}.")
    for w in result.warnings:
        stderr_console().print(f"warning: {w}")


def since_epoch(text: str, tz: str, now: float) -> float:
    """``7d``: seven days before now; ``YYYY-MM-DD``: that day's start in ``tz``."""
    m = DAYS_BACK.match(text.strip())
    if m:
        return now - int(m.group(1)) * 86400
    from zoneinfo import ZoneInfo

    from ccspend.reports.options import parse_day

    try:
        day = parse_day(text)
    except ValueError:
        raise UsageError(f"--since {text!r}: use 7d (days back) or YYYY-MM-DD") from None
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(tz)).timestamp()


def review_main(args: list[str]) -> int:
    """``ccspend route review …``: the review command's own parser, errors as cli.main's."""
    import typer.main

    from ccspend.cli import program

    cmd = typer.main.get_command(review_app)
    try:
        code = cmd.main(args=args, prog_name="ccspend route review", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except BaseException as exc:  # noqa: BLE001 - the last line of defence, as cli.main
        program._unexpected(exc)  # exits
        return int(ExitCode.ERROR)
