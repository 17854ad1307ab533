"""Commands over the data itself: ``sql`` (read-only queries on your own history)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ccspend import paths
from ccspend.cli.app import ClaudeDir, Db, Json, NoIngest, _ingest, _stdout, app
from ccspend.errors import UsageError


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

    from ccspend import config
    from ccspend.pricing import load_card
    from ccspend.store import Store
    from ccspend.store.readonly import check_read_only, connect_read_only, run_query
    from ccspend.store.views import setup_steps

    if json_out and csv_out:
        raise UsageError("choose one of --json and --csv")
    check_read_only(query)  # refuse before any work (and before ingesting)
    db_path = db or paths.default_db_path()
    store = Store(db_path)
    _ingest(store, paths.claude_project_roots(claude_dir), no_ingest)
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

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
    else:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, header_style="bold")
        for c in columns:
            table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*["" if v is None else str(v) for v in r])
        _stdout().print(table)
    if cut:
        sys.stderr.write(f"ccspend: showing the first {shown} rows (--limit N for more)\n")
