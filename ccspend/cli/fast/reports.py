"""The report commands' front end without typer: a cached answer, or ingest, price, print.

Why a module of its own: typer 0.29 builds a pydantic adapter per option, so
parsing a report's options through the CLI costs about a quarter of a second
of CPU before any work starts. The console entry point (``ccspend.cli.fast.entry``)
first asks ``serve`` for a cached answer (``ccspend.reports.answer_cache``),
then hands a report whose options ``parse`` understands straight to ``main``.
``parse`` reads argv by the specs the typer report commands are declared from
(``ccspend.cli.options``), into the same ``ReportOptions``; the typer report
commands call ``run_report`` too, with the same renderers (``render_json``,
``render_table``) and progress bar, so both ways in run the same code and
print the same bytes. This module imports neither typer nor
rich; tables and the progress bar import rich when they are drawn.

On a cold start most of the time is the parse of the logs in worker
processes. They are forked before the heavy imports (DuckDB, and pydantic for
the rate card): those happen in this process while the workers parse
(``ingest_claude``'s ``while_parsing``), and the workers start smaller.
"""

from __future__ import annotations

import os
import sys

# Only what a cached answer needs is imported here (no pathlib, no enum): ``serve``
# runs on every report, and its budget is a few milliseconds.
from ccspend.cli import options
from ccspend.cli.options import ReportOptions
from ccspend.core import paths, timing
from ccspend.reports import answer_cache

TYPE_CHECKING = False  # typing's own costs a warm answer milliseconds
if TYPE_CHECKING:
    from pathlib import Path


def main(opts: ReportOptions, walked: dict | None = None, exits: bool = False) -> int:
    """Run the report ``parse`` read from the command line; the exit code.

    Errors end as the CLI ends them (``ccspend.cli.main``): one line on stderr
    and the exit code of the README, never a traceback. ``walked``: the log
    walks the answer cache's check made (``serve_options``), for the ingest.
    ``exits``: the process ends in ``os._exit`` right after, so the database is
    left open rather than closed (``Store.keep_open``).
    """
    from ccspend.cli.exits import say

    try:
        run_report(opts, render=renderer(opts), progress=_progress, walked=walked,
                   leave_open=exits)
        sys.stdout.flush()
        return 0
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one line, as the CLI's
        return say(exc)


def supported(opts: ReportOptions) -> bool:
    """Whether ``main`` answers as the CLI would (else the CLI runs): no empty option
    values (typer's messages for those are the reference)."""
    values = (opts.since, opts.until, opts.timezone, opts.project, opts.branch, opts.db,
              opts.order, opts.start_of_week, opts.session_id)  # fmt: skip
    return all(v is None or v.strip() for v in values) and all(opts.claude_dir)


def renderer(opts: ReportOptions):
    """The ``render`` of ``run_report`` for ``opts``: JSON, or tables drawn as asked
    (``--compact``, ``--color``, ``--no-color``)."""
    if opts.json:
        return render_json
    colour = colour_choice(opts.color, opts.no_color)

    def render(report, window, roots, ingested, dated: bool):
        return render_table(report, window, roots, ingested, dated, colour=colour,
                            compact=opts.compact)  # fmt: skip

    return render


def colour_choice(color: bool, no_color: bool) -> bool | None:
    """``--color`` True, ``--no-color`` False, neither None (both: a usage error)."""
    if color and no_color:
        from ccspend.core.errors import UsageError

        raise UsageError("--color and --no-color: pick one")
    return True if color else False if no_color else None


def _progress():
    """The CLI's progress bar (on a terminal only; rich is imported only then)."""
    from ccspend.cli.consoles import progress_callback

    return progress_callback()


def run_report(opts: ReportOptions, *, render, progress=None, walked: dict | None = None,
               leave_open: bool = False) -> None:
    """Bring the store up to date, build the report, print it, and cache the answer.

    ``render(report, window, roots, ingested, dated)`` returns the text for
    stdout and stderr (``render_json``, or the CLI's tables), or ``None`` when
    it printed the report itself (a chart: not cached). ``progress`` makes the
    ingest's progress callback and its closer (``ingest_logs``); ``walked``, the
    log walks just made by the cache check, saves the ingest walking them again;
    ``leave_open``: the process exits right after, leaving the database open.

    The database starts opening first, in a thread (``store.early``), while the
    options are checked and the store, the ingest and the rate card are imported
    and loaded: not for a team report, ``--demo`` or ``--no-ingest``, which do not
    write this machine's database.
    """
    soon = open_early(opts)  # before the store's and the report's imports: they run beside it
    try:
        _run_report(opts, render, progress, walked, leave_open, soon)
    finally:
        if soon:
            from ccspend.store import early

            early.drop()  # an opening the report ended before taking


def open_early(opts: ReportOptions) -> bool:
    """Start opening the report's database in a thread (``store.early``), unless the report
    does not write this machine's database (a team report, ``--demo``, ``--no-ingest``);
    whether an opening is under way. Called by ``run_report``, or earlier by the cache
    check once it knows the cached answer is stale."""
    if (opts.demo or opts.no_ingest or opts.team is not None or opts.user is not None
            or opts.machine is not None or opts.name in TEAM_REPORTS):  # fmt: skip
        return False
    from pathlib import Path  # noqa: F401 - before the opening: DuckDB's connect imports it

    from ccspend.store import early

    return early.open_soon(os.path.expanduser(opts.db or paths.default_db_str()))


def _run_report(opts: ReportOptions, render, progress, walked: dict | None, leave_open: bool,
                soon: bool) -> None:
    import shutil
    import tempfile
    from pathlib import Path

    from ccspend.core.errors import UsageError
    from ccspend.core.timeutil import check_timezone
    from ccspend.ingest.logs import ingest_logs
    from ccspend.reports.options import parse_order, week_start

    timing.mark("imports")
    name, since, until, branch = opts.name, opts.since, opts.until, opts.branch
    breakdown, json_out, chart, demo = opts.breakdown, opts.json, opts.chart, opts.demo
    tz = check_timezone(opts.timezone)
    if chart and name not in ("daily", "weekly", "monthly"):
        raise UsageError("--chart goes with daily, weekly or monthly")
    if chart and json_out:
        raise UsageError("--chart draws for a person; --json is for scripts: pick one")
    colour_choice(opts.color, opts.no_color)  # before any work: both at once are a mistake
    order = parse_order(opts.order)
    from ccspend.sources.agents import parse_logs

    logs = parse_logs(opts.logs)  # a wrong --logs ends here, before any work
    filters, window, dated = report_filters(opts, tz)  # reads no config
    # before the config is read: its state as read; --last's days as the filters have them
    shape = answer_shape(opts, tz, (filters.since, filters.until))
    week = week_start(opts.start_of_week) if name == "weekly" else 0
    from ccspend.core.config import team_location

    team = team_location(opts.team)
    if team is not None or name in TEAM_REPORTS or opts.user is not None \
            or opts.machine is not None:  # fmt: skip
        run_team_report(opts, team, filters, week, order, window, render)
        return
    db = Path(opts.db) if opts.db is not None else None
    tmp = None
    try:
        if demo:
            from ccspend.demo import LOGS

            tmp = tempfile.mkdtemp(prefix="ccspend-demo-")
            db = Path(tmp) / "demo.duckdb"
            roots = [LOGS / "projects"]
        else:
            roots = paths.claude_project_roots(list(opts.claude_dir) or None)
        from ccspend.store import Store

        store = Store(db or paths.default_db_path())
        # Kept open from the ingest's write to the report's read: no close and reopen.
        with store.keep_open(close=not leave_open):
            prepared: dict = {}
            tables = not json_out  # drawn with rich (a chart too)
            if soon:
                _prepare(prepared, tables)  # the card and the report's imports, while it opens
            sessions = name == "session"  # the session totals: only its report reads them
            # a new line's rows priced as they are written: the refresh then has nothing to do
            store.price_batches(lambda: (prepared["card"], sessions) if "card" in prepared
                                else None)  # fmt: skip
            ingested, warnings = ingest_logs(
                store, roots, opts.no_ingest, progress=progress,
                while_parsing=lambda: prepared or _prepare(prepared, tables), codex=not demo,
                logs=logs,
                walked=None if demo else walked,
            )
            if filters.source is not None:
                from ccspend.reports.options import check_source

                with store.connect() as con:
                    check_source(con, filters.source)
            missing = [] if demo else paths.missing_dir_warnings(opts.claude_dir)
            warnings += missing
            if not prepared:
                _prepare(prepared, tables)
            if "error" in prepared:  # raised after the ingest, as before the overlap
                raise prepared["error"]
            # price and sum what the ingest added (the sessions' totals for their report)
            store.refresh(prepared["card"], sessions=sessions)
            timing.mark("refresh")
            store.settle()  # the file as the next run will find it, before its fingerprint
            timing.mark("settle")
            db_path = store.path.absolute()
            # An answer is cached only when it reflects every log: an unreadable file
            # could become readable without its size or time changing.
            cacheable = (
                ingested is not None and not demo and window is None and not ingested.unreadable
                and filters.source is None and not missing
            )
            from ccspend.reports import build as reports

            if cacheable:
                logs = answer_cache.logs_state(ingested.files)  # as read: it cannot change
                state = logs + answer_cache.files_state(db_path)
            request = reports.ReportRequest(
                name, filters, breakdown or chart, order=order, week_start=week,
                by_project=opts.instances, entries=opts.session_id is not None,
                by_agent=opts.by_agent, json_only=json_out,
            )  # fmt: skip
            report = reports.build_report(store, prepared["card"], request, warnings)
            timing.mark("report")
            text = render(report, window, roots, ingested, dated)
            timing.mark("render")
            if text is None:
                return
            out, err = text
            if demo:
                err += f"(sample logs shipped with ccspend: {roots[0]})\n"
            write_out(out)
            sys.stderr.write(err)
            if cacheable and state == logs + answer_cache.files_state(db_path):
                key = answer_cache.request_key(
                    name=name, tz=tz, since=since, until=until, project=filters.project,
                    branch=branch,
                    breakdown=breakdown, json_out=json_out, db=db_path, roots=roots,
                    terminal=terminal(), shape=shape,
                )  # fmt: skip
                answer_cache.save(db_path, key, state, out, err)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


# Reports a team store answers alone: its rows say who and on which machine.
TEAM_REPORTS = ("user", "machine")
# What makes no sense over a team store: this machine's database and logs.
_LOCAL_ONLY = (("db", "--db"), ("claude_dir", "--claude-dir"), ("demo", "--demo"),
               ("no_ingest", "--no-ingest"), ("session_id", "--id"),
               ("logs", "--logs"))  # fmt: skip


def run_team_report(opts: ReportOptions, team: str | None, filters, week: int, order,
                    window, render) -> None:
    """``run_report`` over a team store (``reports.team``): no ingest and no local
    database; the same rows, renderers and JSON contract, never cached."""
    from ccspend.core import config
    from ccspend.core.errors import UsageError
    from ccspend.reports import build as reports
    from ccspend.reports import team as team_reports

    if team is None:
        what = (f"ccspend {opts.name}" if opts.name in TEAM_REPORTS
                else "--user" if opts.user is not None else "--machine")  # fmt: skip
        raise UsageError(f"{what} reads a team store: give --team URL (or set "
                         f"{config.TEAM_ENV})")  # fmt: skip
    for dest, flag in _LOCAL_ONLY:
        if getattr(opts, dest):
            raise UsageError(f"{flag} is about this machine's logs: it does not go with --team")
    if filters.source in ("anthropic", "openai", "openrouter"):
        raise UsageError("a team store holds agent logs only: --source local or an agent")
    if opts.by_agent:
        raise UsageError("--by-agent reads this machine's store: it does not go with --team "
                         "yet (ccspend source --team gives a row per agent)")
    store = team_reports.parse_team(team)
    request = reports.ReportRequest(opts.name, filters, opts.breakdown or opts.chart,
                                    order=order, week_start=week, by_project=opts.instances)
    report = team_reports.build_report(store, request, [], opts.user, opts.machine)
    timing.mark("report")
    text = render(report, window, [], None, False)
    if text is not None:
        write_out(text[0])
        sys.stderr.write(text[1])


def write_out(out: str | list) -> None:
    """A renderer's output to stdout: text, or pieces of bytes written as they are (a
    session report's 7 MB of rows is never copied into one string)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if isinstance(out, str) or buffer is None:
        from ccspend.cli.jsonout import text_of

        sys.stdout.write(text_of(out))
        return
    sys.stdout.flush()
    for piece in out:
        buffer.write(piece)


def report_filters(opts: ReportOptions, tz: str):
    """What the report is restricted to, as ``opts`` says: (the ``Filters``, the git
    branch's window when ``--since`` names one, whether days were given).

    ``--since`` is a day when it looks like one (YYYY-MM-DD, or eight digits:
    YYYYMMDD), else a git ref; ``--last N`` is the last N days, today included.
    """
    from ccspend.core.errors import UsageError
    from ccspend.reports.options import last_days, looks_like_day, project_path, source_filter
    from ccspend.store.queries import Filters

    since, until = opts.since, opts.until
    since_day = until_day = window = None
    if opts.last is not None:
        since_day, until_day = last_days(opts.last, tz, since, until)
    if since:
        if looks_like_day(since):
            since_day = _day(since, "--since")
        else:
            from ccspend.sources.git import branch_window

            window = branch_window(since, os.getcwd())
    if until:
        until_day = _day(until, "--until")
    if since_day and until_day and since_day > until_day:
        raise UsageError(f"--since {since_day} is after --until {until_day}")
    session = opts.session_id.strip() if opts.session_id is not None else None
    if session == "":
        raise UsageError("--id takes a session id")
    filters = Filters(
        tz=tz,
        since=since_day,
        until=until_day,
        project=project_path(opts.project),
        branch=window.branch if window else opts.branch,
        since_ts=window.since if window else None,
        repo_root=window.repo_root if window else None,
        source=source_filter(opts.source),
        session=session,
    )
    return filters, window, bool(since_day or until_day)


def _day(text: str, flag: str):
    """``text`` as the day ``flag`` takes, or the usage error that says so."""
    from ccspend.core.errors import UsageError
    from ccspend.reports.options import parse_day

    try:
        return parse_day(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a date (YYYY-MM-DD or YYYYMMDD)") from None


def answer_shape(opts: ReportOptions, tz: str, days: tuple | None = None) -> tuple:
    """What else of a request a printed answer depends on (a part of its cache key): the
    order, the look, the sub-rows, the session, ``--last``'s days (they move at midnight;
    ``days``: as the report's filters already have them) and a weekly report's first day
    (given, or the config file's state)."""
    last = None
    if opts.last is not None and opts.last > 0:
        if days is None:
            from ccspend.reports.options import last_days

            days = last_days(opts.last, tz)
        last = tuple(d.isoformat() for d in days)
    week = None
    if opts.name == "weekly":
        week = opts.start_of_week if opts.start_of_week is not None else answer_cache.config_state()
    # a team store's report is never cached (``serve_options`` declines it), but its
    # options still change the answer; the config may name a team store ([team] url)
    return (opts.order, opts.compact, opts.color, opts.no_color, opts.instances, opts.session_id,
            opts.by_agent, last, week, tuple(str(v) for v in opts.logs), opts.team, opts.user,
            opts.machine, answer_cache.config_state())  # fmt: skip


def _prepare(prepared: dict, tables: bool) -> None:
    """What the report needs besides the data, made while the logs are parsed, or while
    the database opens (``store.early``): the card, and the modules the rest of the run
    imports, which cost nothing while this process only waits.

    An error (a rate overrides file that cannot be read) is kept, not raised, so
    that the ingest still completes as it did when the card was loaded after it,
    and the error is the card's, never taken for the ingest's. ``tables``: the report
    is drawn (rich and the renderer: 36-110 ms of imports, by the load), not printed as JSON.
    """
    try:
        from ccspend.pricing import load_card
        from ccspend.reports import build as reports  # noqa: F401 - imported now, while the workers parse

        prepared["card"] = load_card(paths.rate_overrides_path())
    except Exception as exc:  # noqa: BLE001 - raised again after the ingest
        prepared["error"] = exc
        return
    # json reads a few new lines; uuid is imported by DuckDB at its first bound
    # parameter; a few new rows are priced in Python (pricing.counted).
    import json  # noqa: F401
    import uuid  # noqa: F401

    from ccspend.pricing import counted  # noqa: F401

    if tables:
        from ccspend.cli import consoles, render  # noqa: F401
    else:
        from ccspend.cli import jsonout  # noqa: F401


def render_json(report, window, roots, ingested, dated: bool) -> tuple[str | list, str]:
    """The JSON report for stdout (text, or pieces of it: ``jsonout.dumps_with_rows``), and
    for stderr the hint when no log was found."""
    from ccspend.cli.jsonout import dumps, dumps_with_rows

    data = report.to_json(rows=report.rows_json is None)
    if window is not None:  # --since BRANCH: the ref, and the commit its work is counted from
        data["since"] = window.branch
        data["since_ref"] = {"ref": window.branch, "base": window.base,
                             "commit": window.merge_base, "at": window.since.isoformat()}
    err = nothing_found(report, window, roots, ingested, dated)
    if report.rows_json is None:
        return dumps(data) + "\n", err
    return dumps_with_rows(data, report.rows_json, "\n"), err


def render_table(report, window, roots, ingested, dated: bool, colour: bool | None = None,
                 compact: bool = False) -> tuple[str, str]:  # fmt: skip
    """The report as rich tables for stdout (trailing spaces trimmed), and for
    stderr its warnings, or the hint when no log was found. ``colour``: ``--color``
    (True), ``--no-color`` (False); ``compact``: at most 80 columns wide."""
    err = nothing_found(report, window, roots, ingested, dated)
    if err:
        return "", err
    from ccspend.cli.consoles import stderr_console, table_console
    from ccspend.cli.render import print_report

    out_console = table_console(colour=colour, compact=compact)
    err_console = stderr_console(colour)
    out_console.begin_capture()
    err_console.begin_capture()
    print_report(report, out_console, err_console)
    if window is not None:
        out_console.print(branch_summary(report, window), soft_wrap=True)
    text = "".join(line.rstrip() + "\n" for line in out_console.end_capture().splitlines())
    return text, err_console.end_capture()


def branch_summary(report, window) -> str:
    """``--since BRANCH``'s summary, in two lines that fit 80 columns: the cost, over
    how many calendar days the work spans (and on how many of them there was use)."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from ccspend.core.text import inert

    t = report.totals
    head = f"{inert(window.branch)}: ${float(report.cost_usd):,.2f}"
    span = None
    if report.name == "daily" and report.rows:  # rows are the days with use
        first, last = (date.fromisoformat(report.rows[i].key) for i in (0, -1))
        span = (last - first).days + 1
    elif t.first_ts and t.last_ts:
        tz = ZoneInfo(report.filters.tz)
        first, last = (datetime.fromisoformat(str(x).replace("Z", "+00:00")).astimezone(tz).date()
                       for x in (t.first_ts, t.last_ts))  # fmt: skip
        span = (last - first).days + 1
    if span is not None:
        head += f" over {span} day{'s' if span != 1 else ''}"
        if report.name == "daily" and len(report.rows) != span:
            head += f" ({len(report.rows)} with use)"
    head += f", {t.requests:,} request{'s' if t.requests != 1 else ''}"
    return (f"{head}\nsince it left {inert(window.base)} at {window.merge_base[:10]} "
            f"({window.since:%Y-%m-%d})")


def nothing_found(report, window, roots, ingested, dated: bool) -> str:
    """Where logs were looked for, when none was there and nothing narrowed the report
    (logs that were there but could not be read are named in the warnings instead)."""
    nothing = (ingested is not None and ingested.files_seen == 0 and not ingested.unreadable
               and report.totals.requests == 0)  # fmt: skip
    if nothing and not dated and window is None:
        return no_logs_message(roots) + "\n"
    return ""


# -- what every command that reads the logs needs (``ccspend.cli.common`` has the same) --


def no_logs_message(roots: list[Path]) -> str:
    lines = ["No Claude Code logs found. Looked in:"]
    for r in roots:
        lines.append(f"  {r}{'' if r.is_dir() else ' (missing)'}")
    lines.append("Point CLAUDE_CONFIG_DIR or --claude-dir at your Claude config dir.")
    lines.append("To see a report on the sample logs shipped with ccspend: ccspend daily --demo")
    return "\n".join(lines)


REPORTS = {"daily", "weekly", "monthly", "session", "model", "project", "branch", "user",
           "machine"}

# Options this module leaves to the typer commands: their work (a demo database, a
# chart, a source filter, a report from the database alone, the version) is never cached.
TYPER_ONLY = ("demo", "no_ingest", "chart", "source", "version")


class _Decline(Exception):
    """An argv the fast parser does not read: typer answers it, with its own message."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)


def parse(argv: list[str]) -> ReportOptions | None:
    """The report request in ``argv``, or None when this module should not answer it.

    Read by the same specs as the typer commands (``ccspend.cli.options``:
    ``REPORT`` after a report's name, ``ROOT`` without one); anything typer
    would refuse, or read otherwise, is declined, and typer's message stands.
    """
    args = list(argv)
    name, specs = "daily", options.ROOT
    if args and not args[0].startswith("-"):
        if args[0] not in REPORTS:
            return None
        name = args.pop(0)
        specs = options.report_specs(name)
    try:
        values, _ = options.parse(specs, args, name, _Decline)
    except _Decline:
        return None
    if any(values.pop(k, None) not in (None, False) for k in TYPER_ONLY):
        return None
    for key in ("since", "until"):
        if values[key] is not None and not _is_day(values[key]):
            return None  # a git ref: its window depends on the repository's state
    return ReportOptions(name, **values)


def _is_day(text: str) -> bool:
    t = text.strip()
    digits = t.replace("-", "")
    return digits.isdigit() and len(digits) == 8 and len(t) in (8, 10)


def terminal() -> tuple:
    """What of this terminal a printed answer depends on: its width, and whether
    stdout and stderr are terminals (a table is drawn for a terminal's width)."""
    from ccspend.cli.consoles import terminal_width

    return (terminal_width(), (sys.stdout.isatty(), sys.stderr.isatty()))


def serve(argv: list[str]) -> bool:
    """Print a cached answer for ``argv`` if one is still right; True if it did."""
    opts = parse(argv)
    return opts is not None and serve_options(opts)


def serve_options(opts: ReportOptions, walked: dict | None = None) -> bool:
    """Print a cached answer for the report ``opts`` if one is still right; True if it did.
    ``walked`` receives the log walks the check made (``answer_cache.cached_answer``)."""
    if os.environ.get("CCSPEND_NO_CACHE"):
        return False
    # a team store's report reads the team's rows, never this machine's cached answer
    # ($CCSPEND_TEAM is ``core.config.TEAM_ENV``; the config's [team] url is in the key)
    if os.environ.get("CCSPEND_TEAM") or opts.team is not None or opts.user is not None \
            or opts.machine is not None or opts.name in TEAM_REPORTS:  # fmt: skip
        return False
    logs = None
    if opts.logs:
        from ccspend.sources.agents import parse_logs

        try:
            logs = parse_logs(opts.logs)
        except Exception:  # noqa: BLE001 - the full front end says what is wrong
            return False
    answer = answer_cache.cached_answer(
        name=opts.name, timezone=opts.timezone, since=opts.since, until=opts.until,
        project=opts.project, branch=opts.branch, breakdown=opts.breakdown, json_out=opts.json,
        db=opts.db, claude_dirs=list(opts.claude_dir), terminal=terminal(),
        shape=lambda tz: answer_shape(opts, tz), logs=logs, walked=walked,
        on_miss=lambda: open_early(opts),
    )  # fmt: skip
    if answer is None:
        return False
    sys.stdout.write(answer[0])
    sys.stderr.write(answer[1])
    sys.stdout.flush()
    return True
