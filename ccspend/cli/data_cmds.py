"""Commands over the data itself: ``sql`` (read-only queries on your own history),
``import`` (provider exports in), ``reconcile`` (logs against a bill), ``export`` (usage out)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ccspend.cli.common import (
    ClaudeDir,
    Db,
    Json,
    Logs,
    NoIngest,
    SourceOpt,
    app,
    check_order,
    ingest,
)
from ccspend.cli.consoles import table_console
from ccspend.core import paths
from ccspend.core.errors import CcspendError, UsageError
from ccspend.core.text import inert


@app.command("sql")
def sql_command(
    query: Annotated[str, typer.Argument(help="One read-only statement (SELECT, WITH, FROM…).")],
    json_out: Json = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most this many rows (table default 200).")
    ] = None,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    no_ingest: NoIngest = False,
) -> None:
    """Run a read-only SQL query on your database (views: requests, priced_requests,
    runs, budgets). Any statement that writes is refused."""
    import json

    from ccspend.core import config
    from ccspend.pricing import load_card
    from ccspend.store import Store
    from ccspend.store.readonly import check_read_only, connect_read_only, run_query
    from ccspend.store.views import setup_steps

    if json_out and csv_out:
        raise UsageError("choose one of --json and --csv")
    check_read_only(query)  # refuse before any work (and before ingesting)
    db_path = db or paths.default_db_path()
    store = Store(db_path)
    ingest(store, paths.claude_project_roots(claude_dir), no_ingest, given=claude_dir)
    with store.connect():
        pass  # creates and migrates the database if needed; closed before the read-only open
    card = load_card(paths.rate_overrides_path())
    con = connect_read_only(db_path, setup_steps(card, list(config.load().budgets)))
    try:
        shown = limit if limit is not None else (None if (json_out or csv_out) else 200)
        columns, rows = run_query(con, query, None if shown is None else shown + 1)
    finally:
        con.close()
    cut = shown is not None and len(rows) > shown
    rows = rows[:shown] if cut else rows
    if json_out:
        sys.stdout.write(json.dumps({"columns": columns, "rows": [
            dict(zip(columns, r, strict=True)) for r in rows]}, default=str, indent=2) + "\n")
    elif csv_out:
        import csv

        # text from the logs is shown inert (a control character as \x1b), as in the table;
        # --json keeps it exact, JSON-escaped
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow([inert(c) for c in columns])
        w.writerows([inert(v) if isinstance(v, str) else v for v in r] for r in rows)
    else:
        hidden = _print_sql_table(columns, rows)
        if hidden:
            sys.stderr.write(f"ccspend: {len(hidden)} of {len(columns)} columns left out at this "
                             f"width: {inert(', '.join(hidden))} (--json or --csv shows "
                             "them all)\n")  # fmt: skip
    if cut:
        sys.stderr.write(f"ccspend: showing the first {shown} rows (--limit N for more)\n")


def _print_sql_table(columns: list[str], rows: list) -> list[str]:
    """A query's rows as a table that fits the terminal; the names of the columns left
    out. A number or a date is never shortened; text shortens in its middle; columns
    that still do not fit are left out from the right (the first one never is)."""
    import re
    from datetime import date, datetime, time
    from decimal import Decimal

    from ccspend.cli.layout import Col, fitted_table, shorten_middle

    whole = (int, float, Decimal, date, datetime, time)
    # a time with its zone comes as text (``store.readonly.run_query``): still a time
    stamp = re.compile(r"[\d\s.,:+\-T]+Z?")
    cols = []
    for i, name in enumerate(columns):
        values = [r[i] for r in rows]
        text = [v for v in values if v is not None and not isinstance(v, whole)
                and not (isinstance(v, str) and stamp.fullmatch(v))]  # fmt: skip
        numbers = any(isinstance(v, int | float | Decimal) for v in values)
        cols.append(Col(name, ["" if v is None else str(v) for v in values], key=str(i),
                        justify="right" if numbers and not text else "left",
                        shorten=shorten_middle if text else None, min_width=12))  # fmt: skip
    out = table_console()
    ladder = [str(i) for i in range(len(columns) - 1, 0, -1)]
    out.print(fitted_table(cols, out.width, ladder))
    return [c.header for c in cols if c.dropped]


def _format_help() -> str:
    from ccspend.imports.formats import FORMATS

    return "Formats: " + "; ".join(f"{f.name} ({f.description})" for f in FORMATS) + "."


# The order in which the import summary's columns give way, once the file name and
# the format are at their narrowest (docs/reports.md).
IMPORT_LADDER = ("already there", "new", "format", "rows")


@app.command("import")
def import_command(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Export files (JSON or CSV) to import.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="Read every file as this format instead of detecting it."),
    ] = None,
    same_as_local: Annotated[
        list[str] | None,
        typer.Option(
            "--same-as-local",
            help="An API key or workspace (id or name) that Claude Code itself uses: its "
            "export rows check the local logs (ccspend reconcile) instead of adding to them. "
            "Repeatable.",
        ),
    ] = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """Import provider usage or cost exports, idempotently: a bucket imported twice, or
    present in two overlapping exports, is kept once. Every file is read before anything
    is written, so a broken file changes nothing."""
    import json

    from ccspend.imports import formats
    from ccspend.store import Store, imported

    files = list(files or [])
    keys = [k.strip() for k in (same_as_local or []) if k.strip()]
    if not files and not keys:
        raise UsageError("name at least one export file (or --same-as-local KEY)")
    forced = formats.by_name(fmt) if fmt else None
    results = []
    # Each file is streamed to a staging folder (bounded memory), then all are
    # written in one transaction: a broken file stops before the store is opened.
    with imported.Staging() as staging:
        for path in files:
            f = forced or formats.detect(path)
            try:
                staged = staging.add_file(path, f)
            except ValueError as exc:
                raise CcspendError(f"cannot import: {exc}") from None
            results.append({"file": str(path), "format": f.name, "provider": f.provider,
                            "rows": staged.rows, "new": 0, "already_there": 0,
                            "totals": staged.totals.as_dict()})
        staging.close_db()
        store = Store(db or paths.default_db_path())
        with store.connect(write=True) as con:
            counts = imported.write_staged(con, staging.files, [str(p) for p in files])
            for result, (new, already) in zip(results, counts, strict=True):
                result.update(new=new, already_there=already)
            for k in keys:
                imported.add_same_as_local(con, k)
            stored = imported.totals(con)
            marked = imported.same_as_local(con)

    if json_out:
        sys.stdout.write(json.dumps({"report": "import", "files": results,
                                     "same_as_local": marked, "store": stored.as_dict()},
                                    indent=2) + "\n")  # fmt: skip
        return
    if results:
        from ccspend.cli.layout import Col, fitted_table, shorten_middle

        cols = [
            Col("file", [Path(r["file"]).name for r in results], shorten=shorten_middle,
                min_width=12),
            Col("format", [r["format"] for r in results], shorten=shorten_middle, min_width=8),
            *(Col(h, [f"{r[k]:,}" for r in results], justify="right") for h, k in
              (("rows", "rows"), ("new", "new"), ("already there", "already_there"))),
            Col("tokens", [f"{r['totals']['tokens']:,}" for r in results], justify="right"),
            Col("billed USD", [str(r["totals"]["cost_usd"]) for r in results],
                justify="right"),
        ]  # fmt: skip
        out = table_console()
        out.print(fitted_table(cols, out.width, IMPORT_LADDER))
    if keys:
        sys.stderr.write("ccspend: same as local (checked, not added): "
                         f"{inert(', '.join(marked))}\n")


# The order in which the reconcile table's columns give way, once the model and the
# explanation are at their narrowest (docs/reports.md).
RECONCILE_LADDER = ("export tokens", "local tokens", "why", "diff %")


@app.command("reconcile")
def reconcile_command(
    since: Annotated[
        str | None, typer.Option("--since", help="First UTC day (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last UTC day (YYYY-MM-DD).")
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Whose imported export to compare with "
                                 "(default anthropic).", show_default=False)
    ] = None,
    agents: Annotated[
        bool, typer.Option("--agents", help="Instead: each agent's stated costs (billed as "
                           "its log states) against the card's price of the same tokens, "
                           "per agent and model.")
    ] = False,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Flag differences past this percent.")
    ] = 5.0,
    json_out: Json = False,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    logs: Logs = None,
    no_ingest: NoIngest = False,
) -> None:
    """Compare local logs with an imported provider export, per UTC day and model: tokens,
    cost, the difference in USD and percent, and what likely explains it. Only the export
    rows of keys or workspaces marked --same-as-local are compared when any are marked.
    With --agents: the costs agents' logs state against the card's price, per agent."""
    import json

    from ccspend.pricing import load_card
    from ccspend.reports import reconcile
    from ccspend.reports.options import parse_day
    from ccspend.store import Store

    try:
        since_day = parse_day(since) if since else None
        until_day = parse_day(until) if until else None
    except ValueError:
        raise UsageError("--since and --until take dates (YYYY-MM-DD)") from None
    check_order(since_day, until_day)
    if threshold < 0:
        raise UsageError("--threshold takes a percent of 0 or more")
    if agents and provider is not None:
        raise UsageError("--agents compares the agents' logs with the card, not an export: "
                         "drop --provider")
    provider = provider or "anthropic"
    store = Store(db or paths.default_db_path())
    roots = paths.claude_project_roots(claude_dir)
    _ingested, warnings = ingest(store, roots, no_ingest, given=claude_dir, logs=logs)
    card = load_card(paths.rate_overrides_path())
    if agents:
        _stated_vs_card(store, card, since_day, until_day, json_out, warnings)
        return
    req = reconcile.Request(since=since_day, until=until_day, provider=provider,
                            threshold=threshold)  # fmt: skip
    with store.connect() as con:
        reconcile.check_provider(con, provider)
        covered = reconcile.coverage(con, provider)
        rows = reconcile.reconcile(con, card, req)
    if json_out:
        sys.stdout.write(json.dumps({
            "report": "reconcile", "provider": provider, "timezone": "UTC",
            "export_days": None if covered is None else {"first": covered[0].isoformat(),
                                                         "last": covered[1].isoformat()},
            "since": since_day.isoformat() if since_day else None,
            "until": until_day.isoformat() if until_day else None, "threshold_pct": threshold,
            "rows": [r.to_json() for r in rows], "totals": reconcile.totals(rows),
            "unpriced": reconcile.unpriced(rows), "warnings": warnings,
        }, indent=2) + "\n")
        return
    if rows:
        from ccspend.cli.layout import Col, fitted_table, shorten_end, shorten_middle

        cols = [
            Col("day", [r.day.isoformat() for r in rows]),
            Col("model", [r.model for r in rows], shorten=shorten_middle, min_width=12),
            Col("local tokens", [f"{r.local.total:,}" for r in rows], justify="right"),
            Col("export tokens", [f"{r.export.total:,}" for r in rows], justify="right"),
            Col("local USD", [f"{r.local.cost_usd:,.4f}" for r in rows], justify="right"),
            Col("export USD", [f"{r.export.cost_usd:,.4f}" for r in rows], justify="right"),
            Col("diff USD", [f"{r.diff_usd:+,.4f}" for r in rows], justify="right"),
            Col("diff %", ["" if r.diff_pct is None else f"{r.diff_pct:+.1f}%" for r in rows],
                justify="right"),
            Col("why", [r.explanation or "" for r in rows], shorten=shorten_end, min_width=12),
        ]  # fmt: skip
        out = table_console()
        out.print(fitted_table(cols, out.width, RECONCILE_LADDER,
                               row_styles=["bold red" if r.flag else None for r in rows]))
    elif covered is None:
        sys.stderr.write(f"ccspend: nothing to compare: no {provider} export imported "
                         "(ccspend import FILE)\n")
    else:
        sys.stderr.write("ccspend: nothing to compare: no local usage and no imported "
                         f"{provider} export in range\n")
    if covered is not None:
        sys.stderr.write(f"ccspend: compared the days the {provider} export covers, "
                         f"{covered[0]} to {covered[1]} (UTC)\n")
    t = reconcile.totals(rows)
    sys.stderr.write(f"ccspend: {t['flagged']} of {len(rows)} rows differ by more than "
                     f"{threshold:g}%\n")


def _stated_vs_card(store, card, since_day, until_day, json_out: bool, warnings) -> None:
    """``reconcile --agents``: per agent and model, the stated cost the reports bill and
    the card's price of the same tokens, as a table or JSON."""
    import json

    from ccspend.reports import reconcile

    with store.connect() as con:
        rows = reconcile.stated_vs_card(con, card, since_day, until_day)
    totals = reconcile.stated_totals(rows)
    if json_out:
        sys.stdout.write(json.dumps({
            "report": "reconcile-agents", "timezone": "UTC",
            "since": since_day.isoformat() if since_day else None,
            "until": until_day.isoformat() if until_day else None,
            "rows": [r.to_json() for r in rows], "totals": totals, "warnings": warnings,
        }, indent=2) + "\n")
        return
    for text in warnings:
        sys.stderr.write(f"warning: {inert(text)}\n")
    if not rows:
        sys.stderr.write("ccspend: nothing to compare: no agent's log states a cost in range\n")
        return
    from ccspend.cli.layout import Col, fitted_table, shorten_middle

    def usd(x) -> str:
        return "unpriced" if x is None else f"{x:,.4f}"

    cols = [
        Col("agent", [r.agent for r in rows], shorten=shorten_middle, min_width=8),
        Col("model", [r.model for r in rows], shorten=shorten_middle, min_width=12),
        Col("requests", [f"{r.requests:,}" for r in rows], justify="right"),
        Col("tokens", [f"{r.tokens:,}" for r in rows], justify="right"),
        Col("stated USD", [usd(r.stated_usd) for r in rows], justify="right"),
        Col("card USD", [usd(r.card_usd) for r in rows], justify="right"),
        Col("diff USD", ["" if r.diff_usd is None else f"{r.diff_usd:+,.4f}" for r in rows],
            justify="right"),
    ]  # fmt: skip
    out = table_console()
    out.print(fitted_table(cols, out.width, ("tokens", "requests")))
    sys.stderr.write(f"ccspend: stated ${totals['stated_usd']:,.4f} (billed as stated in the "
                     f"reports); the card prices the same tokens at ${totals['card_usd']:,.4f} "
                     f"({totals['diff_usd']:+,.4f})"
                     + (f"; {totals['unpriced_requests']} requests of models not on the card "
                        "left out" if totals["unpriced_requests"] else "") + "\n")


@app.command("export")
def export_command(
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv (default), jsonl or parquet.")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="First day (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last day (YYYY-MM-DD).")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write (csv, jsonl; default stdout), or the new "
                     "folder for parquet (partitioned month=YYYY-MM)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Append to a team's shared table instead: postgres://… "
                     "or a PATH.duckdb on shared storage (idempotent).", show_default=False),
    ] = None,
    table: Annotated[
        str, typer.Option("--table", help="The shared table (with --to).")
    ] = "ccspend_usage",
    user: Annotated[
        str | None, typer.Option("--user", help="User tag (with --to; default the login name).")
    ] = None,
    machine: Annotated[
        str | None,
        typer.Option("--machine", help="Machine tag (with --to; default the hostname)."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="With --to: print the counts as JSON.")
    ] = False,
    source: SourceOpt = None,
    db: Db = None,
    claude_dir: ClaudeDir = None,
    no_ingest: NoIngest = False,
) -> None:
    """Write the priced usage, one row per counted request (no message text), for
    spreadsheets, BI tools and other engines; or, with --to, append it to a team's
    shared PostgreSQL or DuckDB table, tagged with user and machine."""
    from ccspend.cli.common import date_filters
    from ccspend.core.records import replace
    from ccspend.pricing import load_card
    from ccspend.reports import export
    from ccspend.reports.options import source_filter
    from ccspend.store import Store

    if to is None and (json_out or user is not None or machine is not None
                       or table != "ccspend_usage"):  # fmt: skip
        raise UsageError("--table, --user, --machine and --json go with --to")
    if to is not None and (fmt is not None or out is not None):
        raise UsageError("--to sends rows to a table: leave out --format and --out")
    fmt = fmt or "csv"
    if fmt not in export.FORMATS:
        raise UsageError(f"--format takes one of {', '.join(export.FORMATS)}")
    filters = replace(date_filters(None, since, until), source=source_filter(source))
    if to is not None:
        from ccspend.reports import team_export

        target = team_export.parse_target(to)  # bad options fail before any log is read
        user, machine = team_export.tags(table, user, machine)
    store = Store(db or paths.default_db_path())
    ingest(store, paths.claude_project_roots(claude_dir), no_ingest, given=claude_dir)
    if filters.source is not None:
        from ccspend.reports.options import check_source

        with store.connect() as con:
            check_source(con, filters.source)
    card = load_card(paths.rate_overrides_path())
    if to is not None:
        r = team_export.export_team(store, card, filters, target, table, user, machine)
        if json_out:
            import json

            sys.stdout.write(json.dumps(r.as_dict()) + "\n")
        where = "files" if target.folder is not None else f"table {r.table}"
        sys.stderr.write(f"ccspend: sent {r.sent} rows to {inert(r.target)} ({where}, "
                         f"{inert(r.user)}@{inert(r.machine)}): {r.new} new, {r.updated} updated, "
                         f"{r.unchanged} already there\n")  # fmt: skip
        return
    n = export.export(store, card, filters, fmt, out, sys.stdout)
    if out is not None:
        sys.stderr.write(f"ccspend: wrote {n} rows to {out}\n")
