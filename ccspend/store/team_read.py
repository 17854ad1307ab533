"""Reports read back from a team store: a PostgreSQL table, a shared DuckDB file or a
Parquet folder (``ccspend export --to``), grouped by the engine that holds the rows.

Why it is shaped this way:

- The engine does the grouping. Over PostgreSQL the statement runs in PostgreSQL
  (parameterised, through psycopg: nothing is downloaded at run time, so no DuckDB
  postgres extension), and only grouped rows come back; over a Parquet folder
  DuckDB reads only the columns named and prunes the ``month=YYYY-MM`` partitions
  outside the window; a DuckDB file is attached read-only. The statement is one
  text for all three: both dialects take ``AT TIME ZONE``, ``date_trunc``,
  ``EXTRACT(ISODOW …)``, ``row_number() OVER``, ``FILTER``; only the parameter
  markers differ (``$name`` in DuckDB, ``%(name)s`` in psycopg).
- The engine groups at a grain a little finer than the report (report key ×
  model × priced, and project or branch where the report shows them), and
  ``_summary`` folds those few rows into the ``queries.Summary`` that
  ``reports.build`` turns into rows: rendering, JSON and charts are the local
  reports' own, not a second implementation.
- Money is the exported ``cost_usd`` (NUMERIC/DECIMAL), summed by the engine and
  handed over as ``Decimal``: never a float sum. A NULL cost is an unpriced model,
  reported as such, never as $0.
- Deduplication across machines: a request key names one response wherever it
  was logged (the message id and request id the API gave it), so a response
  exported by two machines (a synced ``~/.claude``) is counted once, under the
  machine that exported it first (``exported_at``, then the machine's name, then
  the user's), and the number of rows dropped is reported. It is decided where it
  is cheap, so that a report only sums: over PostgreSQL by the exports (the
  ``counted`` column, ``store.postgres``); over a folder or a DuckDB file here,
  ranking only the keys whose hash occurs twice in the window (copies carry the
  response's time and text fields, so the window and content filters hold every
  copy). The ``--user``/``--machine`` filters apply after it (a copy never counts
  for the machine that exported it second).
"""

from __future__ import annotations

import contextlib
import glob
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from ccspend.core.errors import CcspendError, StoreBusy
from ccspend.core.records import replace
from ccspend.store import LOCK_TIMEOUT_ENV, is_lock_error, lock_timeout
from ccspend.store.queries import Aggregate, Filters, Summary
from ccspend.store.team_table import (
    BUCKET_SECONDS,
    DEFAULT_TABLE,
    FOLDER_ROLLUP_DIR,
    FOLDER_TOKEN,
    ROLLUP_DIMS,
    ROLLUP_MONEY,
    ROLLUP_TOKENS,
    rollup_table,
)

POSTGRES, DUCKDB, PARQUET = "postgres", "duckdb", "parquet"
# Which copy of a response counts: the first exported, then by machine, then user (names
# in byte order, as store.postgres decides it at export).
FIRST_ORDER = 'exported_at, machine COLLATE "C", user_name COLLATE "C"'
OPTIONAL = frozenset({"counted", "savings_usd"})  # columns an older store may lack
ROLLUP = "rollup"  # in a PostgreSQL store's ``have``: its rollup table is there and readable
# The team table's ``source`` for the local reports' ``--source`` values.
SOURCES = {"local": "claude-code", "codex": "codex"}
_SOURCE_NAMES = {v: k for k, v in SOURCES.items()}
# A folder's files: ``DIR/month=YYYY-MM/<user>@<machine>.parquet`` (``store.team_folder``);
# a name that does not end in .parquet (a writer's temp file, a sync tool's) is never read.
FOLDER_GLOB = "month=*/*.parquet"


@dataclass(frozen=True)
class TeamStore:
    """Where a team's rows are: ``kind`` postgres (``url``), duckdb or parquet (``path``)."""

    kind: str
    shown: str  # for messages: never the password
    url: str | None = None
    path: Path | None = None
    table: str = DEFAULT_TABLE


@dataclass(frozen=True)
class FolderPlan:
    """Which files of a folder a report reads how: ``rollups``, the rollup files of month
    files that are summed by them and share no session with another machine's file (no
    copy of a response can be in them); ``rows``, the month files read row by row (the
    rest: a file without a current rollup, and the files that share a session, whose
    copies the read-time dedup decides)."""

    rollups: tuple[str, ...]
    rows: tuple[str, ...]


@dataclass
class TeamSummary:
    """A report's numbers from a team store, and the duplicate rows the dedup dropped."""

    summary: Summary
    duplicates: int


# -- the statement ------------------------------------------------------------------------

_LOCAL = "(ts AT TIME ZONE $tz)"
KEYS = {
    "daily": f"CAST({_LOCAL} AS DATE)",
    "monthly": f"CAST(date_trunc('month', {_LOCAL}) AS DATE)",
    "weekly": (f"CAST({_LOCAL} AS DATE) - CAST((CAST(EXTRACT(ISODOW FROM {_LOCAL}) AS INTEGER)"
               " - 1 - $week_start + 7) % 7 AS INTEGER)"),
    "session": "coalesce(session_id, '(unknown)')",
    "model": "coalesce(model_name, model, '(unknown)')",
    "project": "coalesce(project, '(unknown)')",
    "branch": "coalesce(nullif(branch, ''), '(none)')",
    "source": "source",
    "user": "user_name",
    "machine": "machine",
}
_DATED = {"daily", "weekly"}  # keys that come back as dates: shown as YYYY-MM-DD
_COLUMNS = ("user_name, machine, request_key, ts, source, model, model_name, project, branch, "
            "session_id, input_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
            "cache_read_tokens, output_tokens, web_search_requests, cost_usd, exported_at")
_TOKENS = ("input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
           "cache_read_tokens", "web_search_requests")


def _window(f: Filters) -> tuple[datetime | None, datetime | None]:
    """The report's local days as UTC instants [start, end): a range on ``ts`` that an
    index (PostgreSQL) or row-group statistics and month partitions (Parquet) prune by."""
    tz = ZoneInfo(f.tz)
    start = end = None
    if f.since is not None:
        start = datetime.combine(f.since, datetime.min.time(), tz).astimezone(UTC)
    if f.until is not None:
        end = datetime.combine(f.until + timedelta(days=1), datetime.min.time(),
                               tz).astimezone(UTC)  # fmt: skip
    if f.since_ts is not None:
        s = f.since_ts.astimezone(UTC)
        start = s if start is None else max(start, s)
    return start, end


def _content_where(f: Filters, kind: str, ts: str = "ts") -> tuple[list[str], dict]:
    """What every copy of a response shares: its time, project, branch, source, session.
    ``ts``: the column holding the time (the rollup's ``bucket``)."""
    clauses: list[str] = []
    params: dict = {}
    start, end = _window(f)
    for op, name, value in ((">=", "start", start), ("<", "end", end)):
        if value is not None:
            clauses.append(f"{ts} {op} ${name}")
            params[name] = value
    if kind == PARQUET:  # the month partitions (UTC months) that can hold the window
        if start is not None:
            clauses.append("month >= $m_first")
            params["m_first"] = start.strftime("%Y-%m")
        if end is not None:
            clauses.append("month <= $m_last")
            params["m_last"] = (end - timedelta(microseconds=1)).strftime("%Y-%m")
    for name, value in (("project", f.project), ("repo", f.repo_root)):
        if value is not None:
            clauses.append(f"(project = ${name} OR starts_with(project, ${name}_prefix))")
            params[name] = value
            params[f"{name}_prefix"] = value.rstrip("/") + "/"
    if f.branch is not None:
        clauses.append("coalesce(nullif(branch, ''), '(none)') = $branch")
        params["branch"] = f.branch
    if f.source is not None:
        clauses.append("source = $source")
        params["source"] = SOURCES.get(f.source, f.source)
    if f.session is not None:
        clauses.append("starts_with(coalesce(session_id, ''), $session)")
        params["session"] = f.session
    return clauses, params


def _deduped(store: TeamStore, f: Filters, user: str | None, machine: str | None,
             have: frozenset[str], files: tuple[str, ...] | None = None) -> tuple[str, dict]:
    """The statement's head: ``d``, the window's rows with ``dup`` (a copy of a response
    that counts under another machine) and ``mine`` (``--user``/``--machine``).

    ``have``: the store's optional columns (``counted``, ``savings_usd``). Over
    PostgreSQL the export decided the copies (``counted``): the report only sums. A
    table that lacks the column (made by an older ccspend, not yet exported to since)
    is decided here by sorting the window by request key. Over DuckDB (a folder, a
    file) it is decided here, cheaply: only the request keys whose hash occurs twice in
    the window are ranked, and the later copies are anti-joined away.
    """
    clauses, params = _content_where(f, store.kind)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    mine = []
    if user is not None:
        mine.append("{w}user_name = $user")
        params["user"] = user
    if machine is not None:
        mine.append("{w}machine = $machine")
        params["machine"] = machine
    mine_sql = " AND ".join(mine) or "true"
    savings = "savings_usd" if "savings_usd" in have else "CAST(NULL AS NUMERIC(38, 12))"
    cols = f"{_COLUMNS}, {savings} AS savings_usd"
    rel = _relation(store, files)
    if store.kind == POSTGRES and "counted" in have:
        return (f"WITH d AS (SELECT {cols}, NOT counted AS dup, {mine_sql.format(w='')} AS mine "
                f"FROM {rel}{where}) "), params  # fmt: skip
    if store.kind == POSTGRES:
        return (f"WITH w AS (SELECT {cols} FROM {rel}{where}), "
                "d AS (SELECT *, row_number() OVER (PARTITION BY request_key COLLATE \"C\" "
                f"ORDER BY {FIRST_ORDER}) > 1 AS dup, {mine_sql.format(w='')} AS mine "
                "FROM w) "), params
    # w is read again rather than materialised: a third faster (only the key's
    # column is read for ``twice``, and ``late`` reads only the few candidates)
    return (f"WITH w AS NOT MATERIALIZED (SELECT {cols} FROM {rel}{where}), "
            "twice AS (SELECT hash(request_key) AS h FROM w GROUP BY 1 HAVING count(*) > 1), "
            "late AS (SELECT user_name, machine, request_key FROM (SELECT user_name, machine, "
            f"request_key, row_number() OVER (PARTITION BY request_key ORDER BY {FIRST_ORDER}) "
            "AS rn FROM w WHERE hash(request_key) IN (SELECT h FROM twice)) WHERE rn > 1), "
            f"d AS (SELECT w.*, l.request_key IS NOT NULL AS dup, {mine_sql.format(w='w.')} "
            "AS mine FROM w "
            "LEFT JOIN late l ON w.request_key = l.request_key AND w.user_name = l.user_name "
            "AND w.machine = l.machine) "), params  # fmt: skip


def rollup_answers(group: str, f: Filters) -> bool:
    """Whether a rollup (15-minute UTC buckets, no session) answers the report exactly:
    not a session report or filter, and a window of whole buckets (local days in any
    zone in use are; an instant ``--since`` of a git ref may not be)."""
    if group == "session" or f.session is not None:
        return False
    return all(x is None or (x.timestamp() % BUCKET_SECONDS == 0) for x in _window(f))


_ROLLED = ", ".join((*ROLLUP_DIMS, *ROLLUP_TOKENS, *ROLLUP_MONEY, "requests"))


def _mine(user: str | None, machine: str | None, params: dict, w: str = "") -> str:
    mine = []
    for column, name, value in (("user_name", "user", user), ("machine", "machine", machine)):
        if value is not None:
            mine.append(f"{w}{column} = ${name}")
            params[name] = value
    return " AND ".join(mine) or "true"


def _rolled(rel: str, kind: str, f: Filters, user: str | None, machine: str | None,
            dup: str) -> tuple[str, dict]:
    """The rollup's rows in the window as ``d``'s rows (``ts``: the bucket; ``requests``:
    how many rows each sums). ``dup``: which of them are dropped copies."""
    clauses, params = _content_where(f, kind, ts="bucket")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    mine = _mine(user, machine, params)
    return (f"SELECT bucket AS ts, {_ROLLED}, {dup} AS dup, {mine} AS mine "
            f"FROM {rel}{where}"), params


def _relation(store: TeamStore, files: tuple[str, ...] | None = None) -> str:
    """The rows' relation; ``files``: only these files of a folder."""
    if store.kind == PARQUET:
        if files is None:
            pattern = str(Path(store.path) / FOLDER_GLOB).replace("'", "''")
            files_sql = f"'{pattern}'"
        else:
            files_sql = "[" + ", ".join("'{}'".format(p.replace("'", "''")) for p in files) + "]"
        return (f"read_parquet({files_sql}, hive_partitioning = true, "
                "hive_types = {'month': VARCHAR}, union_by_name = true)")
    if store.kind == DUCKDB:
        return f"team.{store.table}"
    return store.table


def summary_sql(store: TeamStore, group: str, f: Filters, by_model: bool, by_project: bool,
                week_start: int, user: str | None, machine: str | None,
                have: frozenset[str] = OPTIONAL, plan: FolderPlan | None = None
                ) -> tuple[str, dict]:  # fmt: skip
    """The grouped rows, in one scan of the window: ``dup`` false, the counted rows of
    ``--user``/``--machine``; ``dup`` true, the dropped copies (all of them).

    Read from the rollup where it answers (``rollup_answers``): PostgreSQL's rollup table
    (``ROLLUP`` in ``have``), a folder's rollup files (``plan``, with the files that need
    their rows read row by row beside them); otherwise from the rows."""
    count = "count(*)"
    if store.kind == POSTGRES and ROLLUP in have and "counted" in have \
            and rollup_answers(group, f):
        body, params = _rolled(rollup_table(store.table), POSTGRES, f, user, machine,
                               "NOT counted")  # fmt: skip
        head = f"WITH d AS ({body}) "
        count = "sum(requests)"
    elif plan is not None and plan.rollups:
        body, params = _rolled(_relation(store, plan.rollups) + " r", PARQUET, f, user,
                               machine, "false")  # fmt: skip
        body = body.replace(" WHERE ", " WHERE session_hash IS NULL AND ", 1) \
            if " WHERE " in body else body + " WHERE session_hash IS NULL"
        if plan.rows:
            head, more = _deduped(store, f, user, machine, have, plan.rows)
            params.update(more)
            head = head[:-1] + (", d2 AS (SELECT *, 1 AS requests "
                                f"FROM d UNION ALL BY NAME {body}) ")
        else:
            head = f"WITH d2 AS ({body}) "
        count = "sum(requests)"
    else:
        head, params = _deduped(store, f, user, machine, have,
                                plan.rows if plan is not None else None)
    params.update(tz=f.tz, week_start=week_start)
    source = "d2" if "d2 AS" in head else "d"
    session = group == "session"
    project = "coalesce(project, '(unknown)')" if (by_project or session) else "NULL"
    branch = "coalesce(nullif(branch, ''), '(none)')" if session else "NULL"
    times = "min(ts), max(ts)" if session else "NULL, NULL"
    sums = ", ".join(f"sum({c})" for c in _TOKENS)
    sql = (head + f"SELECT dup, {KEYS[group]} AS k, coalesce(model_name, model, '(unknown)') "
           f"AS lbl, coalesce(model, '(unknown)') AS raw, cost_usd IS NOT NULL AS priced, "
           f"{project} AS pk, {branch} AS br, {sums}, sum(cost_usd), sum(savings_usd), "
           f"{count}, {times} FROM {source} WHERE dup OR mine GROUP BY 1, 2, 3, 4, 5, 6, 7")
    return _dialect(sql, store.kind), params


def points_sql(store: TeamStore, f: Filters, user: str | None, machine: str | None,
               per_request: bool, have: frozenset[str] = OPTIONAL) -> tuple[str, dict]:
    """Spend over time, oldest first: per request (``blocks``: its time in µs, tokens,
    cost, model) or per minute (a budget's burn: the minute, its cost)."""
    head, params = _deduped(store, f, user, machine, have)
    if per_request:
        sql = (head + "SELECT ts, input_tokens, output_tokens, cache_write_5m_tokens "
               "+ cache_write_1h_tokens, cache_read_tokens, coalesce(cost_usd, 0), "
               "coalesce(model_name, model, '(unknown)'), cost_usd IS NOT NULL, "
               "coalesce(model, '(unknown)') FROM d WHERE mine AND NOT dup ORDER BY ts")
    else:
        sql = (head + "SELECT date_trunc('minute', ts) AS m, coalesce(sum(cost_usd), 0) "
               "FROM d WHERE mine AND NOT dup GROUP BY 1 ORDER BY 1")
    return _dialect(sql, store.kind), params


def _dialect(sql: str, kind: str) -> str:
    """``$name`` markers as psycopg takes them (``%(name)s``) for PostgreSQL."""
    if kind != POSTGRES:
        return sql.replace(' COLLATE "C"', "")  # DuckDB compares bytes already
    return re.sub(r"\$([a-z_]+)", r"%(\1)s", sql.replace("%", "%%"))


# -- running it -----------------------------------------------------------------------------


def summarise(store: TeamStore, group: str, f: Filters, by_model: bool = False,
              by_project: bool = False, week_start: int = 0, user: str | None = None,
              machine: str | None = None) -> TeamSummary:  # fmt: skip
    """Report ``group``'s numbers from the team store, as ``queries.summarise`` gives
    them from the local one."""
    if group not in KEYS:
        raise ValueError(f"unknown report {group}")
    rows = _fetch(store, lambda have, plan=None: summary_sql(
        store, group, f, by_model, by_project, week_start, user, machine, have, plan),
        grouped=True, plan=f if rollup_answers(group, f) else None)  # fmt: skip
    duplicates = 0
    grouped = []
    for r in rows:
        if r[0]:
            duplicates += int(r[15])
        else:
            grouped.append(r[1:])
    return TeamSummary(_summary(group, grouped, by_model, by_project), duplicates)


def timeline(store: TeamStore, f: Filters, user: str | None = None,
             machine: str | None = None) -> tuple[list[tuple], list[tuple[str, int, int]]]:
    """Every counted request, oldest first, as ``queries.timeline`` gives them (µs,
    input, output, cache write, cache read, micro-dollars (0 if unpriced), model), and
    the unpriced models among them (model, tokens, requests)."""
    rows = _fetch(store, lambda have: points_sql(store, f, user, machine, True, have))
    out = []
    unpriced: dict[str, list[int]] = {}
    for ts, inp, outp, cw, cr, cost, model, priced, raw in rows:
        us = int(ts.timestamp() * 1_000_000)
        out.append((us, int(inp), int(outp), int(cw), int(cr), Decimal(cost) * 1_000_000, model))
        if not priced:
            u = unpriced.setdefault(raw, [0, 0])
            u[0] += int(inp) + int(outp) + int(cw) + int(cr)
            u[1] += 1
    return out, sorted((m, t, n) for m, (t, n) in unpriced.items())


def minute_spend(store: TeamStore, f: Filters, user: str | None = None,
                 machine: str | None = None) -> list[tuple[float, float]]:
    """Spend per minute in the window, oldest first: (epoch s, USD), for a budget's burn."""
    rows = _fetch(store, lambda have: points_sql(store, f, user, machine, False, have))
    return [(m.timestamp(), float(c)) for m, c in rows]


def _fetch(store: TeamStore, statement, grouped: bool = False,
           plan: Filters | None = None) -> list[tuple]:
    """Run ``statement(have)`` (the SQL and parameters, given the optional columns the
    store has: ``OPTIONAL``) on the store; ``grouped``: a report's few grouped rows;
    ``plan``: the report's filters, when it may read a folder's rollup files
    (``statement(have, folder_plan)``)."""
    if store.kind == POSTGRES:
        return _fetch_postgres(store, statement, grouped)
    with _duckdb(store) as con:
        if con is None:  # a folder with no file yet: no rows
            return []
        try:
            if store.kind == DUCKDB:
                cur = con.execute(f"SELECT * FROM {_relation(store)} LIMIT 0")
                have = OPTIONAL & {d[0].lower() for d in cur.description}
                sql, params = statement(have)
                return con.execute(sql, _bind(sql, params)).fetchall()
            folder = folder_plan(con, Path(store.path), plan) if plan else None
            if folder is not None and not folder.rollups and not folder.rows:
                return []
            sql, params = statement(OPTIONAL, folder) if plan else statement(OPTIONAL)
            try:
                return con.execute(sql, _bind(sql, params)).fetchall()
            except Exception as exc:  # noqa: BLE001 - duckdb.Error, imported lazily
                if "savings_usd" not in str(exc):
                    raise
            # no file of the folder has the column yet (all written by an older ccspend)
            have = OPTIONAL - {"savings_usd"}
            sql, params = statement(have, folder) if plan else statement(have)
            return con.execute(sql, _bind(sql, params)).fetchall()
        except Exception as exc:  # noqa: BLE001 - duckdb.Error, imported lazily
            raise CcspendError(f"cannot read the team store {store.shown}: {_first_line(exc)}",
                               hint=_hint(exc)) from None  # fmt: skip


def folder_plan(con, folder: Path, f: Filters) -> FolderPlan:
    """Which month files a report reads through their rollup files, and which row by row.

    A month file is summed by its rollup when the rollup carries the same token (it was
    written from this version of the file) and no session of it occurs in another
    machine's file of the same month: copies of a response share its session (and time,
    so its month), so such a file holds no copy and its sums are exact. The others are
    read row by row with the read-time dedup: a synced person's machines, a file from
    an older ccspend, a file whose rollup has not arrived yet. Only the files' footers
    and the rollups' session rows are read to decide.
    """
    start, end = _window(f)
    first = start.strftime("%Y-%m") if start is not None else ""
    last = (end - timedelta(microseconds=1)).strftime("%Y-%m") if end is not None else "~"
    raw = sorted(p for p in glob.glob(str(folder / FOLDER_GLOB))
                 if first <= Path(p).parent.name.removeprefix("month=") <= last)
    sides = {}
    for path in raw:
        side = Path(path).parent / FOLDER_ROLLUP_DIR / Path(path).name
        if side.exists():
            sides[path] = str(side)
    tokens = dict(con.execute(
        "SELECT file_name, decode(value) FROM parquet_kv_metadata($f) "
        f"WHERE decode(key) = '{FOLDER_TOKEN}'", {"f": raw + list(sides.values())}).fetchall()
    ) if sides else {}  # fmt: skip
    summed = {p: s for p, s in sides.items() if p in tokens and tokens.get(s) == tokens[p]}
    shared: set[str] = set()
    if summed:
        shared = {r[0] for r in con.execute(
            "SELECT filename FROM (SELECT filename, count(*) OVER (PARTITION BY "
            "parse_dirpath(parse_dirpath(filename)), session_hash) AS n "
            "FROM read_parquet($f, filename = true) WHERE session_hash IS NOT NULL) "
            "WHERE n > 1", {"f": list(summed.values())}).fetchall()}  # fmt: skip
        # a file without a current rollup may share any session: its month is read row by
        # row, so a copy in it is ranked against every other file of the month
        unknown = {str(Path(p).parent) for p in raw if p not in summed}
        shared |= {s for p, s in summed.items() if str(Path(p).parent) in unknown}
    by_side = {s: p for p, s in summed.items()}
    rollups = tuple(s for s in summed.values() if s not in shared)
    rows = tuple(sorted(set(raw) - {by_side[s] for s in rollups}))
    return FolderPlan(rollups, rows)


def _bind(sql: str, params: dict) -> dict:
    """Only the parameters the statement names (DuckDB refuses extra ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def _hint(exc: Exception) -> str | None:
    text = str(exc)
    if "does not exist" in text or "not found" in text.lower():
        return "nothing exported there yet? ccspend export --to it first"
    return None


@contextlib.contextmanager
def _duckdb(store: TeamStore) -> Iterator:
    """An in-memory DuckDB over the folder's files, or with the team file attached
    read-only (waiting, as the export does, while an exporter holds it)."""
    from ccspend.store.engine import duckdb

    path = Path(store.path)
    if store.kind == PARQUET:
        if not path.is_dir():
            raise CcspendError(f"the team folder {path} does not exist")
        if not glob.glob(str(path / FOLDER_GLOB)):
            yield None
            return
    elif not path.is_file():
        raise CcspendError(f"the team file {path} does not exist")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        if store.kind == DUCKDB:
            _attach(con, path)
        yield con
    finally:
        con.close()


def _attach(con, path: Path) -> None:
    from ccspend.store.engine import duckdb

    deadline = time.monotonic() + lock_timeout()
    delay = 0.01
    quoted = str(path).replace("'", "''")
    while True:
        try:
            con.execute(f"ATTACH '{quoted}' AS team (READ_ONLY)")
            return
        except duckdb.Error as exc:
            if not is_lock_error(exc):
                raise CcspendError(f"cannot read the team file {path}: {_first_line(exc)}") \
                    from None
            if time.monotonic() >= deadline:
                raise StoreBusy(f"the team file {path} is held by another process",
                                hint=f"waited {lock_timeout():.0f}s; try again, or raise "
                                f"{LOCK_TIMEOUT_ENV}") from None  # fmt: skip
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.25)


# A report's grouping, for this transaction only: PostgreSQL cannot estimate how few
# groups the report's keys make (it takes one per distinct ts), so it would sort the
# whole window for a GroupAggregate; hashed, with the scan shared by parallel workers,
# and no JIT compilation (a fixed 100-200 ms for a statement that runs once), the
# month of a 25 M-row table is summed about twice as fast.
_GROUPED = ("SET LOCAL jit = off", "SET LOCAL enable_sort = off",
            "SET LOCAL parallel_setup_cost = 0", "SET LOCAL parallel_tuple_cost = 0")


def _fetch_postgres(store: TeamStore, statement, grouped: bool = False) -> list[tuple]:
    """One read-only transaction (a role granted SELECT on the table is enough)."""
    from ccspend.store.postgres import connect_params, scrub

    psycopg, params_conn, secret = connect_params(store.url or "", store.shown, "ccspend report")
    try:
        with psycopg.connect(**params_conn) as conn:
            conn.read_only = True
            with conn.cursor() as cur:
                cur.execute(f"SELECT * FROM {store.table} LIMIT 0")
                have = OPTIONAL & {d.name.lower() for d in cur.description}
                cur.execute("SELECT CASE WHEN c IS NULL THEN false ELSE "
                            "has_table_privilege(c, 'SELECT') END FROM to_regclass(%s) c",
                            (rollup_table(store.table),))  # fmt: skip
                if cur.fetchone()[0]:
                    have = have | {ROLLUP}
                for setting in _GROUPED if grouped and "counted" in have else ():
                    cur.execute(setting)
                if "counted" not in have:
                    # a table no export has upgraded yet: the dedup's window sort in
                    # memory, not in temp files, for this transaction only
                    cur.execute("SET LOCAL work_mem = '256MB'")
                sql, params = statement(frozenset(have))
                cur.execute(sql, params)
                return cur.fetchall()
    except psycopg.errors.UndefinedTable:
        raise CcspendError(f"no table {store.table} at {store.shown}",
                           hint="nothing exported there yet? ccspend export --to it first") \
            from None
    except psycopg.Error as exc:
        raise CcspendError(f"cannot read the team store {store.shown}: {scrub(exc, secret)}") \
            from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- the engine's rows as the local reports' numbers ------------------------------------------


def _iso(ts: datetime | None) -> str | None:
    """A UTC instant as the local reports print one (milliseconds, ``Z``)."""
    if ts is None:
        return None
    ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _key(group: str, k) -> str:
    if isinstance(k, (date, datetime)):
        day = k.date() if isinstance(k, datetime) else k
        return day.isoformat()[:7] if group == "monthly" else day.isoformat()
    return str(k)


class _Acc:
    """Sums of a group's engine rows, exactly (ints and ``Decimal``)."""

    __slots__ = ("tokens", "cost", "savings", "n", "models", "first", "last", "branches",
                 "cwds")

    def __init__(self) -> None:
        self.tokens = [0] * len(_TOKENS)
        self.cost = Decimal(0)
        self.savings = Decimal(0)
        self.n = 0
        self.models: set[str] = set()
        self.first = self.last = None
        self.branches: set[str] = set()
        self.cwds: dict[str, int] = {}

    def add(self, r: tuple) -> None:
        # r: k, lbl, raw, priced, pk, br, six token sums, cost, savings, count, min ts, max ts
        for i in range(len(_TOKENS)):
            self.tokens[i] += int(r[6 + i] or 0)
        if r[12] is not None:
            self.cost += Decimal(r[12])
        if r[13] is not None:  # NULL: unpriced, or exported before the column existed
            self.savings += Decimal(r[13])
        n = int(r[14])
        self.n += n
        self.models.add(r[1])
        if r[15] is not None:
            self.first = r[15] if self.first is None else min(self.first, r[15])
            self.last = r[16] if self.last is None else max(self.last, r[16])
        if r[5] is not None:
            self.branches.add(r[5])
        if r[4] is not None and r[4] != "(unknown)":
            self.cwds[r[4]] = self.cwds.get(r[4], 0) + n

    def aggregate(self, key: str, sub_key: str | None = None) -> Aggregate:
        cwd = max(self.cwds, key=lambda c: (self.cwds[c], c)) if self.cwds else None
        micro = self.cost * 1_000_000
        return Aggregate(key, self.tokens[0], self.tokens[1], self.tokens[2], self.tokens[3],
                         self.tokens[4], self.tokens[5], micro, self.savings * 1_000_000, self.n,
                         sorted(self.models), _iso(self.first), _iso(self.last),
                         sorted(self.branches), cwd, sub_key)  # fmt: skip


def _summary(group: str, rows: list[tuple], by_model: bool, by_project: bool) -> Summary:
    """The engine's grouped rows folded into the report's groups, per-model and
    per-project sub-rows, total and unpriced models (``queries.Summary``)."""
    groups: dict[str, _Acc] = {}
    subs: dict[tuple[str, str], _Acc] = {}
    projects: dict[tuple[str, str], _Acc] = {}
    total = _Acc()
    unpriced: dict[str, list[int]] = {}
    for r in rows:
        key = _key(group, r[0])
        if group == "source":  # the local reports' names: local (Claude Code), codex
            key = _SOURCE_NAMES.get(key, key)
        groups.setdefault(key, _Acc()).add(r)
        total.add(r)
        if by_model:
            subs.setdefault((key, r[1]), _Acc()).add(r)
        if by_project:
            projects.setdefault((key, r[4]), _Acc()).add(r)
        if not r[3]:
            u = unpriced.setdefault(r[2], [0, 0])
            u[0] += sum(int(x or 0) for x in r[6:11])
            u[1] += int(r[14])
    session = group == "session"

    def agg(acc: _Acc, key: str, sub: str | None = None) -> Aggregate:
        a = acc.aggregate(key, sub)
        return a if session else replace(a, first_ts=None, last_ts=None, branches=[], cwd=None)

    out_groups = [agg(a, k) for k, a in sorted(groups.items())]
    out_subs = [agg(a, k, s) for (k, s), a in sorted(subs.items())]
    out_projects = [agg(a, k, p) for (k, p), a in sorted(projects.items())]
    return Summary(
        groups=out_groups, subs=out_subs,
        total=total.aggregate("total") if total.n else None,
        unpriced=sorted((m, t, n) for m, (t, n) in unpriced.items()),
        unknown_modifiers=[], projects=out_projects,
    )  # fmt: skip
