"""The counted requests and their rollup, kept current where the data comes in.

Why: a report used to deduplicate and price every stored line, every time, so
its cost grew with the history ccspend keeps after Claude Code deletes its logs
(0.7 s after a new line with five earlier periods stored, 2.4 s with ten times
a 1 GiB history). Now each ingest batch decides, for exactly the response keys
it touched, which line counts (``counted``), and the first report after it
prices the new rows and sums the 15-minute buckets they changed (``rollup``).
A report reads the rollup: its cost is what it shows.

The rules are those of ``queries.PRICED``, unchanged, applied to fewer rows:

- A response's kept line is the first in the order (output_tokens DESC,
  is_sidechain, the file's first_ts, last_ts and path, line_offset), over its
  lines that are not API errors nor ``<synthetic>``. A batch recomputes the keys
  of the lines it inserted (a streamed response grown in a later run, a resumed
  copy arriving late), of the files it replaced or retired (their rows left or
  moved: ``<path>#replaced-<id>`` keeps the history), and of the files whose
  place in that order may have moved: a file that grew takes a later last_ts,
  which only matters against another file with the same first_ts.
- The rows of a touched key are looked up within two days of the touched
  lines' timestamps: every line of a response, and every copy of it in a
  resumed session, carries the response's own timestamp (the same bound
  ``queries._time_window`` prunes a dated report with). This keeps a batch's
  work proportional to the recent rows, through DuckDB's zone maps on ``ts``.
- A line without a response key counts on its own: it is added and removed
  with its file, never deduplicated.
- Prices: each log model's prices (its model map spans, price periods and
  multipliers) have a fingerprint; a card whose prices of a model changed
  reprices that model's rows, and only those (``refresh``). ``whatif`` and
  ``--card`` price history on another card, so they keep ``PRICED``.

``rebuild`` recomputes everything from the stored lines: the migration's
result, and what the tests compare the maintained tables with.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from ccspend.core.digest import blake2b

if TYPE_CHECKING:
    import duckdb

# The 15-minute UTC bucket of an instant: every time zone in use is a whole
# number of quarter hours from UTC, so each bucket lies in one local day.
BUCKET = "make_timestamp(epoch_us({ts}) // 900000000 * 900000000)::TIMESTAMPTZ"
QUARTER = "INTERVAL 15 MINUTE"
MARGIN = "INTERVAL 2 DAY"  # around a touched line: where its response's other lines are

# The stored columns of a counted row, as read from ``requests`` (alias ``r``,
# its file ``f``); the priced columns follow, NULL until a report prices them.
_LINE_COLUMNS = (
    "file_id, line_offset, ts, session_id, model, cwd, git_branch, "
    "input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
    "cache_read_tokens, web_search_requests, speed, inference_geo, compaction_input_tokens, "
    "compaction_output_tokens, compaction_cache_write_5m_tokens, "
    "compaction_cache_write_1h_tokens, compaction_cache_read_tokens, logged_cost_usd"
)
# Claude Code's lines are 'local' (the JSON contract's name); every other agent's, its name.
_SOURCE = "CASE WHEN f.source = 'claude-code' THEN 'local' ELSE f.source END"
# Whether a counted row (its key ``{key}``) is a whole session's total, not a call (Goose,
# Hermes: ``sources.agents.dbrecords.SESSION_TOTAL`` is the record's request id).
SESSION_TOTAL = "coalesce(ends_with({key}, '|session-total'), false)"

# The kept line of each response key among the candidate lines ``{where}``
# selects (``r``: requests; a filter on keys and time), as counted rows.
_KEPT = f"""
WITH cand AS (
    SELECT r.rowid AS row_id, r.dedup_key, r.output_tokens, r.is_sidechain, r.line_offset,
           r.file_id, f.first_ts AS f_first, f.last_ts AS f_last, f.path AS f_path
    FROM requests r JOIN files f USING (file_id)
    WHERE NOT r.is_api_error AND coalesce(r.model, '') <> '<synthetic>'
      AND r.dedup_key IS NOT NULL {{where}}
),
ranked AS (
    SELECT file_id, row_number() OVER (ORDER BY f_first NULLS LAST, f_last NULLS LAST, f_path)
           AS f_rank
    FROM (SELECT DISTINCT file_id, f_first, f_last, f_path FROM cand)
),
kept AS (
    SELECT arg_min(row_id, (-output_tokens, is_sidechain, f_rank, line_offset)) AS row_id
    FROM cand JOIN ranked USING (file_id) GROUP BY dedup_key
)
SELECT r.dedup_key AS ckey, {_SOURCE} AS source,
       {", ".join("r." + c for c in _LINE_COLUMNS.split(", "))}
FROM requests r JOIN files f USING (file_id)
WHERE r.rowid IN (SELECT row_id FROM kept) {{where}}
"""

# Lines without a response key, each a counted row of its own.
_SINGLES = f"""
SELECT NULL::VARCHAR AS ckey, {_SOURCE} AS source,
       {", ".join("r." + c for c in _LINE_COLUMNS.split(", "))}
FROM requests r JOIN files f USING (file_id)
WHERE NOT r.is_api_error AND coalesce(r.model, '') <> '<synthetic>'
  AND r.dedup_key IS NULL {{where}}
"""


# The rows of ``session_totals`` for the sessions in ``session_dirty``, from all of their
# rollup rows: the sums, and what the session report shows besides (first and last
# activity, models and branches, sorted; the project: the most frequent cwd, by the
# rollup rows' request counts, a tie to the greatest, as ``queries.summarise`` finds it).
SESSION_TOTALS = """
WITH s AS (
    SELECT *, coalesce(session_id, '(unknown)') AS k FROM rollup
    WHERE coalesce(session_id, '(unknown)') IN (SELECT k FROM session_dirty)
),
pc AS (
    SELECT k, arg_max(cwd, (w, cwd)) AS project
    FROM (SELECT k, cwd, sum(requests) AS w FROM s WHERE cwd IS NOT NULL GROUP BY ALL)
    GROUP BY k
)
SELECT s.k, sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT,
       sum(cache_write_5m_tokens)::BIGINT, sum(cache_write_1h_tokens)::BIGINT,
       sum(cache_read_tokens)::BIGINT, sum(web_search_requests)::BIGINT,
       coalesce(sum(cost_micro), 0)::DECIMAL(38,6), coalesce(sum(savings_micro), 0)::DECIMAL(38,6),
       coalesce(sum(requests), 0)::BIGINT,
       list_sort(list_distinct(list(coalesce(model_name, model, '(unknown)')))),
       min(first_ts), max(last_ts),
       list_sort(list_distinct(list(coalesce(nullif(git_branch, ''), '(none)')))),
       any_value(pc.project), bool_or(session_total), min(source)
FROM s LEFT JOIN pc USING (k)
GROUP BY s.k
"""


def counted_from_requests() -> str:
    """Every counted row, from all stored lines (into an empty ``counted``)."""
    return "".join(f"INSERT INTO counted BY NAME {q.format(where='')};\n"
                   for q in (_KEPT, _SINGLES))


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """``counted`` and ``rollup`` made again from the stored lines (unpriced: the next
    ``refresh`` prices them), with the log models seen."""
    forget_current()
    con.execute("DELETE FROM models_seen")
    con.execute("INSERT INTO models_seen SELECT DISTINCT model FROM requests")
    con.execute("DELETE FROM counted")
    con.execute("DELETE FROM rollup")
    con.execute("DELETE FROM rollup_dirty")
    con.execute("DELETE FROM session_totals")
    con.execute("DELETE FROM session_dirty")
    con.execute("DELETE FROM card_state")
    con.execute(counted_from_requests())
    con.execute(f"INSERT INTO rollup_dirty SELECT DISTINCT {BUCKET.format(ts='ts')} FROM counted")


# -- an ingest batch ---------------------------------------------------------------


def _of_files(ids: list[int], alias: str = "r") -> str:
    """A filter on a list of file ids that DuckDB's zone maps can prune by (the
    range), and the exact list."""
    return (f"{alias}.file_id BETWEEN {min(ids)} AND {max(ids)} "
            f"AND list_contains({[int(i) for i in ids]}, {alias}.file_id)")


def before_batch(con: duckdb.DuckDBPyConnection, replaced: list[int]) -> bool:
    """What a batch is about to change, noted before it changes it; whether any key
    was noted (``after_batch``'s ``alone`` is its negation).

    ``batch_files`` holds the batch's file states; ``replaced`` the ids of files
    whose rows the batch drops or retires. Their keys, and those of files whose
    place in the kept-line order may move, go to ``touched``; the counted rows
    of replaced files leave (their buckets are dirty).
    """
    forget_current()
    con.execute("CREATE OR REPLACE TEMP TABLE touched (ckey VARCHAR, ts TIMESTAMPTZ)")
    # A file that grew gets a later last_ts: its rows may now lose a tie on first_ts.
    moved = [r[0] for r in con.execute(
        "SELECT b.file_id FROM batch_files b JOIN files f USING (file_id) "
        "WHERE NOT b.is_new AND NOT b.from_start "
        "AND greatest(f.last_ts, b.last_ts) IS DISTINCT FROM f.last_ts "
        "AND EXISTS (SELECT 1 FROM files o WHERE o.file_id <> f.file_id "
        "            AND o.first_ts IS NOT DISTINCT FROM f.first_ts)").fetchall()]  # fmt: skip
    ids = sorted(set(replaced) | set(moved))
    if ids:
        con.execute("INSERT INTO touched SELECT dedup_key, ts FROM requests r "
                    f"WHERE {_of_files(ids)} AND dedup_key IS NOT NULL")  # fmt: skip
    if replaced:
        where = _of_files(replaced, "counted")
        con.execute(f"INSERT INTO rollup_dirty SELECT DISTINCT {BUCKET.format(ts='ts')} "
                    f"FROM counted WHERE {where}")  # fmt: skip
        con.execute(f"DELETE FROM counted WHERE {where}")
    return bool(ids)


def after_batch(con: duckdb.DuckDBPyConnection, retired: list[int],
                ids: list[int] | None = None, alone: bool = False,
                card: tuple | None = None) -> bool:
    """Bring ``counted`` up to date with the batch just written (``batch_files``,
    with each file's ``start``: its rows from there on are new) and the retired
    files' ids (their rows without a response key count again, under the new id);
    ``ids``: those of the batch's files; ``alone``: ``before_batch`` noted no key;
    ``card``: what ``current_card`` said before the batch (the store was current with
    that card load). Whether the batch left the store current with it (its new rows
    priced and summed here: ``_add_alone``), for ``keep_current`` after the commit."""
    forget_current()
    if not con.execute("SELECT EXISTS (FROM counted)").fetchone()[0]:
        # A first ingest (or nothing counted yet): every row is new, and the plain
        # recompute is the cheapest way to the same rows (no key lookups, no copy).
        rebuild(con)
        return False
    if ids is None:  # the batch's file ids, when the caller did not say them
        ids = [r[0] for r in con.execute("SELECT file_id FROM batch_files").fetchall()]
    new = (f"{_of_files(ids)} AND EXISTS (SELECT 1 FROM batch_files b "
           "WHERE b.file_id = r.file_id AND r.line_offset >= b.start)")
    # The batch's new lines, found once, as counted rows would hold them: the keys,
    # models and key-less lines below read this small table, not the requests three
    # times (some 15 ms a new line), and new responses alone are copied from it.
    # (``f``: the batch's files, whose ``source`` is the file's.)
    con.execute("CREATE OR REPLACE TEMP TABLE new_lines AS SELECT "
                f"r.dedup_key, r.is_api_error, {_SOURCE} AS source, "
                f"{', '.join('r.' + c for c in _LINE_COLUMNS.split(', '))} "
                "FROM requests r JOIN batch_files f "
                "ON f.file_id = r.file_id AND r.line_offset >= f.start "
                f"WHERE {_of_files(ids)}")  # fmt: skip
    con.execute("INSERT INTO models_seen SELECT model FROM new_lines "
                "EXCEPT SELECT model FROM models_seen")
    if alone and not retired:
        added = _add_alone(con, card)
        if added is not None:
            return added
    con.execute("INSERT INTO touched SELECT dedup_key, ts FROM new_lines "
                "WHERE dedup_key IS NOT NULL")  # fmt: skip
    if con.execute("SELECT EXISTS (FROM new_lines WHERE dedup_key IS NULL)").fetchone()[0]:
        _insert_marking(con, _SINGLES.format(where=f"AND {new}"), {})
    if retired:
        _insert_marking(con, _SINGLES.format(where=f"AND {_of_files(retired)}"), {})
    lo, hi = con.execute("SELECT min(ts), max(ts) FROM touched").fetchone()
    if lo is None:
        return False
    window = f"AND r.ts >= $lo::TIMESTAMPTZ - {MARGIN} AND r.ts <= $hi::TIMESTAMPTZ + {MARGIN}"
    keys = "AND r.dedup_key IN (SELECT ckey FROM touched)"
    span = {"lo": lo, "hi": hi}
    gone = (f"ckey IN (SELECT ckey FROM touched) AND ts >= $lo::TIMESTAMPTZ - {MARGIN} "
            f"AND ts <= $hi::TIMESTAMPTZ + {MARGIN}")
    con.execute(f"INSERT INTO rollup_dirty SELECT DISTINCT {BUCKET.format(ts='ts')} "
                f"FROM counted WHERE {gone}", span)  # fmt: skip
    con.execute(f"DELETE FROM counted WHERE {gone}", span)
    _insert_marking(con, _KEPT.format(where=f"{window} {keys}"), span)
    return False


def _add_alone(con: duckdb.DuckDBPyConnection, card: tuple | None) -> bool | None:
    """The batch's new lines added as counted rows, when each is a response seen nowhere
    else (the common new line: a new response); None when they are not, and nothing
    was written (``after_batch`` then decides their keys as ever); else whether the
    store is left current with ``card`` (``after_batch``).

    The rule's own outcome, for fewer statements (some 12 ms a new line): a key with
    one line, no API error nor ``<synthetic>``, and no other line within ``MARGIN``
    of the batch's lines (where ``after_batch`` looks for a key's lines) keeps that
    line, and had no counted row there to replace.

    With ``card`` (the store was current with it before the batch), rows of the common
    case and of models the card load knew are priced here and added to their rollup
    rows and sessions (``_add_priced``): the refresh after the ingest then has nothing
    to do, where it took some 20 statements to price one row and sum its bucket again.
    """
    # The lines of the batch's keys within MARGIN (its own, when no other line has them),
    # with the first few new lines themselves, as ``_add_priced`` takes them: one query.
    rows = con.execute(
        f"SELECT {_ALONE_COLUMNS}, (SELECT count(*) FROM new_lines), "
        "(SELECT count(DISTINCT dedup_key) FROM new_lines), "
        "(SELECT count(*) FILTER (WHERE is_api_error OR coalesce(model, '') = '<synthetic>') "
        " FROM new_lines), "
        "(SELECT count(*) FROM requests r WHERE r.dedup_key IN (SELECT dedup_key FROM new_lines) "
        f"AND r.ts >= (SELECT min(ts) FROM new_lines) - {MARGIN} "
        f"AND r.ts <= (SELECT max(ts) FROM new_lines) + {MARGIN}) "
        f"FROM new_lines LIMIT {FEW + 1}").fetchall()  # fmt: skip
    if not rows:
        return card is not None  # nothing counted changed: still current
    n, keys, odd, lines = rows[0][-4:]
    if keys != n or odd or lines != n:  # a key-less line counts too: DISTINCT leaves it out
        return None
    if card is not None and n <= FEW and _add_priced(con, card, [r[:-4] for r in rows]):
        return True
    con.execute(f"INSERT INTO rollup_dirty SELECT DISTINCT {BUCKET.format(ts='ts')} "
                "FROM new_lines")  # fmt: skip
    con.execute(f"INSERT INTO counted BY NAME SELECT dedup_key AS ckey, source, "
                f"{_LINE_COLUMNS} FROM new_lines")  # fmt: skip
    return False


# A rollup row's grouping columns (``_reprice_and_sum``'s GROUP BY ALL), and its sums.
_ROLLUP_KEYS = ("bucket", "session_id", "model", "model_name", "cwd", "git_branch", "source",
                "priced", "pricing_mode", "modifier_unknown", "session_total")
_ROLLUP_SUMS = ("input_tokens", "output_tokens", "cache_write_5m_tokens",
                "cache_write_1h_tokens", "cache_read_tokens", "web_search_requests",
                "cost_micro", "savings_micro", "requests", "first_ts", "last_ts")
# Rollup rows a batch adds to one by one, at most (each one statement): more go to the
# refresh, which sums their buckets again in one.
FEW_GROUPS = 4
_BUCKET_US = 900_000_000  # ``BUCKET``'s quarter hour, in microseconds


def _add_priced(con: duckdb.DuckDBPyConnection, card: tuple, rows: list[tuple]) -> bool:
    """The batch's new lines, ``rows`` (``_ALONE_COLUMNS``: every line of ``new_lines``),
    added to ``counted`` priced (``_priced_columns``), their sums added to the rollup
    rows of their groups (a new group, a new row), and their sessions noted dirty, or,
    when ``card`` says the caller wants ``session_totals`` current, added to their
    sessions' rows (``_add_to_sessions``) or else summed again; whether they were. Not
    when a row is not of the common case, its model was not among those the card was
    loaded for (its card tables lack it), or they fall in more than ``FEW_GROUPS``
    rollup rows: nothing is written then.

    Exact: a rollup row is the sum of its group's counted rows (``_reprice_and_sum``), and
    adding rows adds their numbers to it, in Python as DuckDB would (a DECIMAL's sum
    never rounded; a NULL cost, no priced row, kept as SQL's ``sum`` keeps it); first
    and last activity are the least and the greatest.
    """
    from decimal import Decimal

    loaded, sessions = card
    now = loaded[3]
    if now is None or any((r[7] or "") not in now or r[6] < 0 for r in rows):
        return False
    cols = _priced_columns(con, [r[4:] for r in rows], now)
    if cols is None:
        return False
    groups: dict[tuple, list] = {}
    for r, name, priced, cost, savings in zip(rows, cols[3], cols[4], cols[5], cols[6],
                                              strict=True):  # fmt: skip
        ckey, session, cwd, branch, ts, model, source = r[0], r[1], r[2], r[3], r[6], r[7], r[8]
        t = r[12:]  # input, output, writes 5m and 1h, reads, searches, compaction's five
        key = (ts // _BUCKET_US * _BUCKET_US, session, model, name, cwd, branch, source, priced,
               None, None, ckey.endswith("|session-total"))  # fmt: skip
        add = [t[0] + t[6], t[1] + t[7], t[2] + t[8], t[3] + t[9], t[4] + t[10], t[5],
               None if cost is None else Decimal(cost),
               None if savings is None else Decimal(savings), 1, ts, ts]  # fmt: skip
        was = groups.get(key)
        groups[key] = add if was is None else _added(was, add)
    if len(groups) > FEW_GROUPS:
        return False
    con.execute(
        f"INSERT INTO counted BY NAME SELECT n.dedup_key AS ckey, n.source, "
        f"{', '.join('n.' + c for c in _LINE_COLUMNS.split(', '))}, p.fp AS card, "
        "p.model_name, p.priced, p.cost_micro, p.savings_micro, p.pricing_mode, "
        f"p.modifier_unknown FROM new_lines n JOIN ({_PRICED_VALUES}) p "
        "USING (file_id, line_offset)", cols)  # fmt: skip
    buckets = sorted({k[0] for k in groups})
    sums = ", ".join(_ROLLUP_SUMS[:-2])
    found: set[tuple] = set()  # the groups a rollup row had
    for row in con.execute(
            f"SELECT rowid, epoch_us(bucket), {', '.join(_ROLLUP_KEYS[1:])}, {sums}, "
            "epoch_us(first_ts), epoch_us(last_ts) FROM rollup "
            "WHERE bucket IN (SELECT make_timestamp(unnest($1::BIGINT[]))::TIMESTAMPTZ)",
            [buckets]).fetchall():  # fmt: skip
        add = groups.get(row[1:12])
        if add is not None and row[1:12] not in found:  # its rollup row: those sums and these
            found.add(row[1:12])
            new = _added(list(row[12:]), add)
            con.execute(f"UPDATE rollup SET {', '.join(c + ' = ?' for c in _ROLLUP_SUMS[:-2])}, "
                        "first_ts = make_timestamp(?)::TIMESTAMPTZ, "
                        "last_ts = make_timestamp(?)::TIMESTAMPTZ WHERE rowid = ?",
                        [*new, row[0]])  # fmt: skip
    for key, add in groups.items():  # a group no rollup row had: a row of its own
        if key not in found:
            con.execute(f"INSERT INTO rollup ({', '.join(_ROLLUP_KEYS + _ROLLUP_SUMS)}) VALUES "
                        f"(make_timestamp(?)::TIMESTAMPTZ, {', '.join('?' * 19)}, "
                        "make_timestamp(?)::TIMESTAMPTZ, make_timestamp(?)::TIMESTAMPTZ)",
                        [*key, *add])  # fmt: skip
    if sessions and _add_to_sessions(con, groups):
        return True
    con.execute("INSERT INTO session_dirty SELECT DISTINCT unnest($1::VARCHAR[])",
                [[r[1] if r[1] is not None else "(unknown)" for r in rows]])
    if sessions:
        _sum_sessions(con)
    return True


_SESSION_COLUMNS = ("input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
                    "cache_read_tokens, web_search_requests, cost_micro, savings_micro, requests, "
                    "models, first_ts, last_ts, branches, project, session_total, source")
_SESSION_READ = _SESSION_COLUMNS.replace("first_ts, last_ts",
                                         "epoch_us(first_ts), epoch_us(last_ts)")


def _add_to_sessions(con: duckdb.DuckDBPyConnection, groups: dict[tuple, list]) -> bool:
    """The rollup's new sums ``groups`` (``_add_priced``'s: a group's key, its sums) added to
    their sessions' rows of ``session_totals`` (current before the batch) as
    ``SESSION_TOTALS`` sums rollup rows; whether they were. Not when a group's cwd could
    change its session's project (another cwd than the project it has): nothing is
    written then, and the caller sums the sessions again.

    A session's project is its most frequent cwd by requests, a tie to the greatest: rows
    in its project, or without a cwd, leave it as it is; a new session's is its rows' own.
    """
    from decimal import Decimal

    new: dict[str, dict] = {}
    for key, add in groups.items():
        session, model, name, cwd, branch, source, total = (key[1], key[2], key[3], key[4],
                                                            key[5], key[6], key[10])
        k = session if session is not None else "(unknown)"  # ``session_totals.k``
        s = new.get(k)
        if s is None:
            s = new[k] = {
                "sums": add, "models": set(), "branches": set(), "cwds": {}, "total": False,
                "source": source}  # fmt: skip
        else:
            s["sums"] = _added(s["sums"], add)
        s["models"].add(name if name is not None else model if model is not None
                        else "(unknown)")  # fmt: skip
        s["branches"].add(branch or "(none)")  # NULL or '': '(none)'
        if cwd is not None:
            s["cwds"][cwd] = s["cwds"].get(cwd, 0) + add[8]
        s["total"] = s["total"] or total
        s["source"] = min(s["source"], source)
    had = {row[1]: row for row in con.execute(
        f"SELECT rowid, k, {_SESSION_READ} FROM session_totals "
        "WHERE k IN (SELECT unnest($1::VARCHAR[]))", [list(new)]).fetchall()}  # fmt: skip
    out = []
    for k, s in new.items():
        row = had.get(k)
        cwds = s["cwds"]
        if row is None:  # a new session: its sums are its rows', a NULL cost none
            old = [0] * 6 + [Decimal(0), Decimal(0), 0, s["sums"][9], s["sums"][10]]
            project = None
            models, branches, total, source = [], [], False, s["source"]
        else:
            first, last = (row[12] if row[12] is not None else s["sums"][9],
                           row[13] if row[13] is not None else s["sums"][10])
            old = [*row[2:11], first, last]  # the sums, requests, first and last activity
            models, branches, project, total, source = row[11], row[14], *row[15:18]
            if project is not None and any(c != project for c in cwds):
                return False
        if project is None and cwds:
            project = max(cwds, key=lambda c: (cwds[c], c))
        sums = _added(old, s["sums"])
        out.append((None if row is None else row[0], k, [
            *sums[:9], sorted(set(models) | s["models"]), sums[9], sums[10],
            sorted(set(branches) | s["branches"]), project, total or s["total"],
            min(source, s["source"]) if source is not None else s["source"]]))
    for rowid, k, values in out:
        if rowid is None:
            con.execute(f"INSERT INTO session_totals (k, {_SESSION_COLUMNS}) VALUES "
                        f"(?, {', '.join('?' * 10)}, make_timestamp(?)::TIMESTAMPTZ, "
                        f"make_timestamp(?)::TIMESTAMPTZ, ?, ?, ?, ?)", [k, *values])  # fmt: skip
        else:
            sets = ", ".join(f"{c} = make_timestamp(?)::TIMESTAMPTZ" if c.endswith("_ts")
                             else f"{c} = ?" for c in _SESSION_COLUMNS.split(", "))  # fmt: skip
            con.execute(f"UPDATE session_totals SET {sets} WHERE rowid = ?", [*values, rowid])
    return True


def _added(was: list, add: list) -> list:
    """A rollup row's sums (``_ROLLUP_SUMS``: the counts, cost and savings, requests, first
    and last activity in epoch microseconds) with ``add``'s added."""
    from decimal import localcontext

    out = [a + b for a, b in zip(was[:6], add[:6], strict=True)]
    with localcontext() as exact:  # DECIMAL(38,6) sums, never rounded
        exact.prec = 80
        out += [b if a is None else a if b is None else a + b
                for a, b in zip(was[6:8], add[6:8], strict=True)]  # fmt: skip
    return [*out, was[8] + add[8], min(was[9], add[9]), max(was[10], add[10])]


# Work on a few rows (a new line's batch, the buckets it changed) runs on one of
# DuckDB's threads: handing each small statement's tasks to the scheduler's others
# costs more than they share. After a new line, the ingest's and the refresh's
# 40-odd statements took 228 ms on two threads and 190 ms on one (medians of four,
# alternated, 2 cores); a report's own query over the history keeps them all.
SMALL_BYTES = 1 << 20  # a batch's records up to this size: a new line, a few sessions
SMALL_SPAN_S = 86400  # dirty buckets within a day: a session's tail, not a new card's


@contextlib.contextmanager
def one_thread(con: duckdb.DuckDBPyConnection, small: bool = True):
    """The block run on one DuckDB thread when ``small``; the thread count is DuckDB's
    own again after it (the setting is the database instance's, not the connection's)."""
    if not small:
        yield
        return
    con.execute("SET threads = 1")
    try:
        yield
    except BaseException:
        # the error in flight is the one to tell; an aborted transaction refuses the
        # reset, and the process then ends on one thread, which costs it nothing
        with contextlib.suppress(Exception):
            con.execute("RESET threads")
        raise
    con.execute("RESET threads")


def _insert_marking(con: duckdb.DuckDBPyConnection, select: str, params: dict) -> None:
    """Add the counted rows ``select`` gives, marking their buckets dirty."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE added AS {select}", params)
    con.execute(f"INSERT INTO rollup_dirty SELECT DISTINCT {BUCKET.format(ts='ts')} FROM added")
    con.execute("INSERT INTO counted BY NAME SELECT * FROM added")


# -- pricing and the rollup, with the card loaded ----------------------------------


def fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each stored log model's price fingerprint, from the card ``queries.load_card``
    put in the temp tables: its model map spans, and the price periods and
    multipliers of the card models they name. ``""`` stands for a NULL model."""
    spans: dict[str, list] = {}
    for raw, name, start, end in con.execute(
            "SELECT raw, name, valid_from::VARCHAR, valid_to::VARCHAR FROM model_map "
            "ORDER BY ALL").fetchall():  # fmt: skip
        spans.setdefault(raw, []).append((name, start, end))
    prices: dict[str, list] = {}
    for row in con.execute("SELECT name, COLUMNS(* EXCLUDE (name))::VARCHAR FROM card_prices "
                           "ORDER BY ALL").fetchall():  # fmt: skip
        prices.setdefault(row[0], []).append(row[1:])
    for row in con.execute("SELECT name, COLUMNS(* EXCLUDE (name))::VARCHAR FROM card_modifiers "
                           "ORDER BY ALL").fetchall():  # fmt: skip
        prices.setdefault(row[0], []).append(("modifier",) + row[1:])
    out = {}
    for (model,) in con.execute("SELECT DISTINCT coalesce(model, '') FROM models_seen").fetchall():
        parts = [(s, prices.get(s[0], [])) for s in spans.get(model, [])]
        out[model] = blake2b(repr(parts).encode(), digest_size=12).hexdigest()
    return out


def stale(con: duckdb.DuckDBPyConnection) -> tuple[list[str], bool]:
    """What ``refresh`` has to do with the card loaded: the models whose prices
    changed since their rows were priced, and whether any bucket is dirty."""
    return _stale(con, fingerprints(con))


# The (connection, card load) ``up_to_date`` last found current, until this process
# writes a batch: the refresh after an ingest and the report's read that follows on
# the same connection ask twice, and the second answer is known (some 10 ms of
# fingerprints and checks after a new line). A connection that may write holds the
# file alone, so no other process can have changed it meanwhile.
_CURRENT: tuple | None = None


def up_to_date(con: duckdb.DuckDBPyConnection, price_counted: str, loaded=None,
               sessions: bool = True) -> bool:  # fmt: skip
    """Bring the counted rows and the rollup up to date with the card loaded, if anything
    is pending and ``con`` may write; whether they are now current. The one check every
    caller makes (the report after its ingest, and ``summarise`` before it reads the
    rollup), with the card's fingerprints computed once. ``loaded``: what names the
    card load (``queries.load_card``'s), so that a second ask answers from memory.
    ``sessions``: ``session_totals`` too (False: only a session report reads it, and
    summing a new line's session again costs the others some 20 ms for nothing)."""
    global _CURRENT
    if loaded is not None and _CURRENT is not None and _CURRENT[0] is con \
            and _CURRENT[1] is loaded and _CURRENT[2] >= sessions:  # fmt: skip
        return True
    _CURRENT = None
    # the store's card tables come with their fingerprints; temporary ones are read
    now = loaded[3] if loaded is not None and loaded[3] is not None else fingerprints(con)
    changed, dirty = _stale(con, now, sessions)
    may_write = writable(con)
    if (changed or dirty) and not may_write:
        return False
    if changed or dirty:
        refresh(con, price_counted, changed, now, sessions)
    if loaded is not None and may_write:
        _CURRENT = (con, loaded, sessions)
    return True


def current_card(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(the card load, whether ``session_totals`` too) that ``up_to_date`` found ``con``'s
    store current with, if nothing has been written since; else None. What a batch
    about to be written may price its new rows by (``after_batch``)."""
    if _CURRENT is None or _CURRENT[0] is not con:
        return None
    return _CURRENT[1], _CURRENT[2]


def keep_current(con: duckdb.DuckDBPyConnection, card: tuple) -> None:
    """A batch that ``after_batch`` said left the store current with ``card``
    (``current_card``'s) is committed: the store is current with it again."""
    global _CURRENT
    _CURRENT = (con, card[0], card[1])


def sessions_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``session_totals`` is current (summed again first for the sessions
    ``session_dirty`` names, when ``con`` may write), with the rollup current already."""
    if not con.execute("SELECT EXISTS (FROM session_dirty)").fetchone()[0]:
        return True
    if not writable(con):
        return False
    with transaction(con):
        _sum_sessions(con)
    return True


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """One transaction around the block: committed, or rolled back on any error (the
    error in flight is the one raised, never the rollback's)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")
        raise


def is_current(con: duckdb.DuckDBPyConnection, loaded) -> bool:
    """Whether ``up_to_date`` found ``con`` current with the card load ``loaded`` and
    nothing has been written since (no batch, no import: ``forget_current``)."""
    return _CURRENT is not None and _CURRENT[0] is con and _CURRENT[1] is loaded


def forget_current() -> None:
    """A batch or an import is being written: the next ``up_to_date`` checks again."""
    global _CURRENT
    _CURRENT = None


def _stale(con: duckdb.DuckDBPyConnection, now: dict[str, str],
           sessions: bool = True) -> tuple[list[str], bool]:  # fmt: skip
    was = dict(con.execute("SELECT model, fp FROM card_state").fetchall())
    changed = sorted(m for m, fp in now.items() if was.get(m) != fp)
    dirty = con.execute("SELECT EXISTS (FROM rollup_dirty)"
                        + (" OR EXISTS (FROM session_dirty)" if sessions else "")
                        ).fetchone()[0]  # fmt: skip
    return changed, bool(dirty)


def writable(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con``'s database may be written: asked of DuckDB once per connection
    (the card's load and the refresh both ask, about 1 ms each)."""
    global _WRITABLE
    if _WRITABLE is not None and _WRITABLE[0] is con:
        return _WRITABLE[1]
    answer = not con.execute("SELECT readonly FROM duckdb_databases() "
                             "WHERE database_name = current_database()").fetchone()[0]
    _WRITABLE = (con, answer)  # holding it keeps its id from going to another connection
    return answer


_WRITABLE: tuple | None = None


# What ``refresh`` keeps of a priced row: the row's key and its priced columns. Naming
# them, not ``p.*``, lets DuckDB skip computing and copying the pricing's other outputs
# (the request key, the token sums with compaction): a first ingest's 44,827 rows are
# priced in 0.15 s of CPU instead of 0.19 s (median of six, alternated).
_PRICED_KEEP = ("p.file_id, p.line_offset, p.model, p.model_name, p.priced, p.cost_micro, "
                "p.savings_micro, p.pricing_mode, p.modifier_unknown")


# Up to this many unpriced rows are priced in Python (``pricing.counted``); more go to
# the pricing query, whose fixed cost (some 30 ms) is then spread over them.
FEW = 64
_FEW_COLUMNS = ("file_id, line_offset, epoch_us(ts), model, source, logged_cost_usd, speed, "
                "inference_geo, input_tokens, output_tokens, cache_write_5m_tokens, "
                "cache_write_1h_tokens, cache_read_tokens, web_search_requests, "
                "compaction_input_tokens, compaction_output_tokens, "
                "compaction_cache_write_5m_tokens, compaction_cache_write_1h_tokens, "
                "compaction_cache_read_tokens")
# What ``_add_priced`` reads of a new line: its key, session, cwd and branch, then the
# columns ``_priced_columns`` prices from.
_ALONE_COLUMNS = f"dedup_key, session_id, cwd, git_branch, {_FEW_COLUMNS}"


def _price_few(con: duckdb.DuckDBPyConnection, rows: str, span: dict,
               now: dict[str, str]) -> bool:  # fmt: skip
    """``repriced`` made in Python for the unpriced rows of ``rows``, when they are few and
    all of the common case (``pricing.counted``); whether it was. Else the caller runs
    the pricing query, which prices every case."""
    todo = con.execute(f"SELECT {_FEW_COLUMNS} FROM counted WHERE card IS NULL AND {rows} "
                       f"LIMIT {FEW + 1}", span).fetchall()  # fmt: skip
    cols = None if len(todo) > FEW else _priced_columns(con, todo, now)
    if cols is None:
        return False
    con.execute(f"CREATE OR REPLACE TEMP TABLE repriced AS {_PRICED_VALUES}", cols)
    return True


# The priced columns ``_priced_columns`` gives, as a table (``repriced``'s columns)
_PRICED_VALUES = (
    "SELECT unnest($1::BIGINT[]) AS file_id, unnest($2::BIGINT[]) AS line_offset, "
    "unnest($3::VARCHAR[]) AS model, unnest($4::VARCHAR[]) AS model_name, "
    "unnest($5::BOOLEAN[]) AS priced, unnest($6::VARCHAR[])::DECIMAL(38,6) AS cost_micro, "
    "unnest($7::VARCHAR[])::DECIMAL(38,6) AS savings_micro, "
    "NULL::VARCHAR AS pricing_mode, NULL::VARCHAR AS modifier_unknown, "
    "unnest($8::VARCHAR[]) AS fp")


def _priced_columns(con: duckdb.DuckDBPyConnection, todo: list[tuple],
                    now: dict[str, str]) -> list[list] | None:  # fmt: skip
    """The rows ``todo`` (``_FEW_COLUMNS`` each) priced in Python by the card loaded
    (``pricing.counted``), as the columns of ``_PRICED_VALUES``; None unless every row
    is of the common case."""
    from ccspend.pricing import counted as rule

    if not all(rule.common(r[4], r[5], r[6], r[7], r[8:]) for r in todo):
        return None
    spans, periods = _card_spans(con)
    cols: list[list] = [[] for _ in range(8)]
    for r in todo:
        name, priced, cost, savings = rule.price(r[3], r[2], r[8:], spans, periods)
        for col, value in zip(cols, (r[0], r[1], r[3], name, priced,
                                     None if cost is None else format(cost, "f"),
                                     None if savings is None else format(savings, "f"),
                                     now.get(r[3] or "")), strict=True):  # fmt: skip
            col.append(value)
    return cols


def _card_spans(con: duckdb.DuckDBPyConnection) -> tuple[dict, dict]:
    """The card's model map spans and price periods as ``pricing.counted.price`` takes them."""
    spans: dict = {}
    for raw, name, lo, hi in con.execute(
            "SELECT raw, name, epoch_us(valid_from), epoch_us(valid_to) FROM model_map"
            ).fetchall():  # fmt: skip
        spans.setdefault(raw, []).append((name, lo, hi))
    periods: dict = {}
    for row in con.execute(
            "SELECT name, epoch_us(valid_from), epoch_us(valid_to), i, o, w5, w1, r, "
            "lc_threshold, li, lo, lw5, lw1, lr, ws FROM card_prices").fetchall():  # fmt: skip
        periods.setdefault(row[0], []).append(row[1:])
    return spans, periods


def _sum_sessions(con: duckdb.DuckDBPyConnection) -> None:
    """``session_totals`` summed again for the sessions of ``session_dirty`` (in the
    caller's transaction)."""
    con.execute("DELETE FROM session_totals WHERE k IN (SELECT k FROM session_dirty)")
    con.execute(f"INSERT INTO session_totals {SESSION_TOTALS}")
    con.execute("DELETE FROM session_dirty")


def refresh(con: duckdb.DuckDBPyConnection, price_counted: str, changed: list[str],
            now: dict[str, str] | None = None, sessions: bool = True) -> None:
    """Price what is not priced, reprice the rows of ``changed`` models, and sum the
    dirty buckets again, in one transaction. ``price_counted`` is ``queries.PRICE_COUNTED``;
    ``now``: the card's fingerprints, when the caller has them; ``sessions``: sum
    ``session_totals`` too (else its dirty sessions wait for ``sessions_current``).

    Unpriced rows are always in dirty buckets (an ingest marks the buckets of the
    rows it adds), so the work is bounded by the dirty buckets' time range,
    which DuckDB's zone maps prune the tables to.
    """
    now = fingerprints(con) if now is None else now
    with transaction(con):
        if changed:
            models = list(changed)
            which = "coalesce(model, '') IN (SELECT unnest($models::VARCHAR[]))"
            con.execute(f"INSERT INTO rollup_dirty SELECT DISTINCT {BUCKET.format(ts='ts')} "
                        f"FROM counted WHERE card IS NOT NULL AND {which}",
                        {"models": models})  # fmt: skip
            con.execute(f"UPDATE counted SET card = NULL WHERE card IS NOT NULL AND {which}",
                        {"models": models})
            con.execute("DELETE FROM card_state")
            con.execute("INSERT INTO card_state SELECT unnest($1::VARCHAR[]), "
                        "unnest($2::VARCHAR[])", [list(now), list(now.values())])
        lo, hi = con.execute("SELECT min(bucket), max(bucket) FROM rollup_dirty").fetchone()
        # a new line's buckets (and its session), not a new card's or a first ingest's
        small = lo is not None and not changed and (hi - lo).total_seconds() <= SMALL_SPAN_S
        with one_thread(con, small):
            if lo is not None:
                _reprice_and_sum(con, price_counted, lo, hi, now)
            if sessions and con.execute("SELECT EXISTS (FROM session_dirty)").fetchone()[0]:
                _sum_sessions(con)


def _reprice_and_sum(con: duckdb.DuckDBPyConnection, price_counted: str, lo, hi,
                     now: dict[str, str]) -> None:
    """``refresh``'s work on the dirty buckets from ``lo`` to ``hi``: price their unpriced
    rows, then sum the buckets again (in the caller's transaction)."""
    span = {"lo": lo, "hi": hi}
    rows = f"ts >= $lo AND ts < $hi::TIMESTAMPTZ + {QUARTER}"
    in_counted = (f"counted.ts >= $lo AND counted.ts < $hi::TIMESTAMPTZ + {QUARTER}")
    if not _price_few(con, rows, span, now):
        con.execute("CREATE OR REPLACE TEMP TABLE card_fp AS SELECT "
                    "unnest($1::VARCHAR[]) AS model, unnest($2::VARCHAR[]) AS fp",
                    [list(now), list(now.values())])  # fmt: skip
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE repriced AS SELECT {_PRICED_KEEP}, c.fp FROM ("
            + price_counted.format(where=f"card IS NULL AND {rows}")
            + ") p LEFT JOIN card_fp c ON c.model = coalesce(p.model, '')", span)
    con.execute(
        "UPDATE counted SET card = coalesce(x.fp, ''), model_name = x.model_name, "
        "priced = x.priced, cost_micro = x.cost_micro, savings_micro = x.savings_micro, "
        "pricing_mode = x.pricing_mode, modifier_unknown = x.modifier_unknown "
        "FROM repriced x WHERE counted.file_id = x.file_id "
        "AND counted.line_offset = x.line_offset AND counted.card IS NULL "
        f"AND {in_counted}", span)
    bucket = BUCKET.format(ts="ts")
    note_sessions = ("INSERT INTO session_dirty SELECT DISTINCT coalesce(session_id, "
                     "'(unknown)') FROM rollup WHERE bucket >= $lo AND bucket <= $hi "
                     "AND bucket IN (SELECT bucket FROM rollup_dirty)")
    con.execute(note_sessions, span)  # the sessions the buckets held
    con.execute("DELETE FROM rollup WHERE bucket >= $lo AND bucket <= $hi "
                "AND bucket IN (SELECT bucket FROM rollup_dirty)", span)
    con.execute(
        f"INSERT INTO rollup SELECT {bucket} AS b, session_id, model, model_name, cwd, "
        "git_branch, source, priced, pricing_mode, modifier_unknown, "
        "sum(input_tokens + compaction_input_tokens), "
        "sum(output_tokens + compaction_output_tokens), "
        "sum(cache_write_5m_tokens + compaction_cache_write_5m_tokens), "
        "sum(cache_write_1h_tokens + compaction_cache_write_1h_tokens), "
        "sum(cache_read_tokens + compaction_cache_read_tokens), sum(web_search_requests), "
        "sum(cost_micro), sum(savings_micro), count(*), min(ts), max(ts), "
        f"{SESSION_TOTAL.format(key='ckey')} "
        f"FROM counted WHERE {rows} AND {bucket} IN (SELECT bucket FROM rollup_dirty) "
        "GROUP BY ALL", span)
    con.execute(note_sessions, span)  # and those they hold now
    con.execute("DELETE FROM rollup_dirty")
