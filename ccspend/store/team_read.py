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
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from ccspend.core.errors import CcspendError, StoreBusy
from ccspend.store import LOCK_TIMEOUT_ENV, is_lock_error, lock_timeout
from ccspend.store.queries import Aggregate, Filters, Summary
from ccspend.store.team_table import DEFAULT_TABLE

POSTGRES, DUCKDB, PARQUET = "postgres", "duckdb", "parquet"
# Which copy of a response counts: the first exported, then by machine, then user (names
# in byte order, as store.postgres decides it at export).
FIRST_ORDER = 'exported_at, machine COLLATE "C", user_name COLLATE "C"'
OPTIONAL = frozenset({"counted", "savings_usd"})  # columns an older store may lack
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


def _content_where(f: Filters, kind: str) -> tuple[list[str], dict]:
    """What every copy of a response shares: its time, project, branch, source, session."""
    clauses: list[str] = []
    params: dict = {}
    start, end = _window(f)
    if start is not None:
        clauses.append("ts >= $start")
        params["start"] = start
    if end is not None:
        clauses.append("ts < $end")
        params["end"] = end
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
             have: frozenset[str]) -> tuple[str, dict]:
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
    rel = _relation(store)
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


def _relation(store: TeamStore) -> str:
    if store.kind == PARQUET:
        pattern = str(Path(store.path) / FOLDER_GLOB).replace("'", "''")
        return (f"read_parquet('{pattern}', hive_partitioning = true, "
                "hive_types = {'month': VARCHAR}, union_by_name = true)")
    if store.kind == DUCKDB:
        return f"team.{store.table}"
    return store.table


def summary_sql(store: TeamStore, group: str, f: Filters, by_model: bool, by_project: bool,
                week_start: int, user: str | None, machine: str | None,
                have: frozenset[str] = OPTIONAL) -> tuple[str, dict]:
    """The grouped rows, in one scan of the window: ``dup`` false, the counted rows of
    ``--user``/``--machine``; ``dup`` true, the dropped copies (all of them)."""
    head, params = _deduped(store, f, user, machine, have)
    params.update(tz=f.tz, week_start=week_start)
    session = group == "session"
    project = "coalesce(project, '(unknown)')" if (by_project or session) else "NULL"
    branch = "coalesce(nullif(branch, ''), '(none)')" if session else "NULL"
    times = "min(ts), max(ts)" if session else "NULL, NULL"
    sums = ", ".join(f"sum({c})" for c in _TOKENS)
    sql = (head + f"SELECT dup, {KEYS[group]} AS k, coalesce(model_name, model, '(unknown)') "
           f"AS lbl, coalesce(model, '(unknown)') AS raw, cost_usd IS NOT NULL AS priced, "
           f"{project} AS pk, {branch} AS br, {sums}, sum(cost_usd), sum(savings_usd), "
           f"count(*), {times} FROM d WHERE dup OR mine GROUP BY 1, 2, 3, 4, 5, 6, 7")
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
    rows = _fetch(store, lambda have: summary_sql(store, group, f, by_model, by_project,
                                                  week_start, user, machine, have), grouped=True)
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


def _fetch(store: TeamStore, statement, grouped: bool = False) -> list[tuple]:
    """Run ``statement(have)`` (the SQL and parameters, given the optional columns the
    store has: ``OPTIONAL``) on the store; ``grouped``: a report's few grouped rows."""
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
            sql, params = statement(OPTIONAL)
            try:
                return con.execute(sql, _bind(sql, params)).fetchall()
            except Exception as exc:  # noqa: BLE001 - duckdb.Error, imported lazily
                if "savings_usd" not in str(exc):
                    raise
            # no file of the folder has the column yet (all written by an older ccspend)
            sql, params = statement(OPTIONAL - {"savings_usd"})
            return con.execute(sql, _bind(sql, params)).fetchall()
        except Exception as exc:  # noqa: BLE001 - duckdb.Error, imported lazily
            raise CcspendError(f"cannot read the team store {store.shown}: {_first_line(exc)}",
                               hint=_hint(exc)) from None  # fmt: skip


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
