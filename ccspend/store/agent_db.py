"""Other agents' SQLite databases (OpenCode, Kilo, Goose, Hermes, Copilot CLI), read without
changing or locking them, and the named queries that read them.

The queries live here, with the other SQL of ccspend; ``ccspend.sources.agents``
turns the rows they return into usage records.

Why this is more than ``sqlite3.connect("file:...?mode=ro")``: measured with
SQLite 3.40, a ``mode=ro`` connection to a WAL database whose ``-wal`` file does
not exist (the agent is not running: its last connection checkpointed and
removed it) *creates* ``-wal`` and ``-shm`` next to the database and leaves them
there. So the way in depends on the database's state:

- rollback-journal database (header bytes 18/19 are 1): ``mode=ro``. A read
  takes a SHARED lock for the few milliseconds of each query; the agent's
  writer waits on its busy timeout meanwhile, as it does for its own readers.
- WAL database with ``-wal`` and ``-shm`` present (the agent is running, or
  crashed): ``mode=ro``. The connection reads the WAL through the shared-memory
  index like any reader, never blocks a writer, and writes nothing but its read
  mark in ``-shm`` (which is how WAL readers coordinate; the database and the
  WAL are untouched).
- WAL database without ``-wal``: every change is in the main file, so
  ``immutable=1`` reads it with no lock and no side file. An agent that starts
  writing during the read creates a ``-wal`` (and could checkpoint into the main
  file), so the database's stat and the absence of ``-wal`` are checked after
  the read, and a read that straddled a change is done again.
- WAL database with ``-wal`` but no ``-shm`` (a crash leftover): a read-only
  connection would have to create ``-shm``; the database and its WAL are copied
  to a private temporary folder and read there.

A database busy past ``BUSY_SECONDS`` (a writer holding an exclusive lock, a
WAL recovery in progress) raises ``Busy``: the ingest turns it into a warning
and reads the database next time. Nothing here holds a connection after
``read`` returns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
BUSY_SECONDS = 1.0  # how long one attempt waits on a lock (sqlite3's busy handler)
ATTEMPTS = 3


class Busy(Exception):
    """The database stayed locked or kept changing: read it next time."""


class NotSqlite(Exception):
    """The file is not a SQLite database (or is truncated)."""


def _header(path: str) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(100)
    if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
        raise NotSqlite("not a SQLite database")
    return head


def _stat(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def signature(path: str) -> str:
    """A database's state as stat sees it (its own and its WAL's): when it is unchanged
    since the last ingest, nothing was written and the database is not opened."""
    parts = []
    for p in (path, path + "-wal"):
        st = _stat(p)
        parts.append("-" if st is None else f"{st[0]}.{st[1]}.{st[2]}")
    return ":".join(parts)


def _uri(path: str, **params: str) -> str:
    from urllib.parse import quote

    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{quote(os.path.abspath(path))}?{query}"


def _connect(uri: str) -> sqlite3.Connection:
    con = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS, isolation_level=None,
                          check_same_thread=False)
    con.execute("PRAGMA query_only = 1")
    return con


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def read(path: str, fn: Callable[[sqlite3.Connection], T]) -> T:
    """``fn(connection)`` on the database at ``path``, opened as the module docstring says;
    raises ``Busy``, ``NotSqlite`` or ``OSError``."""
    last: Exception | None = None
    for _ in range(ATTEMPTS):
        head = _header(path)
        wal_mode = head[18] == 2 and head[19] == 2
        wal, shm = path + "-wal", path + "-shm"
        try:
            if not wal_mode or (os.path.exists(wal) and os.path.exists(shm)):
                with contextlib.closing(_connect(_uri(path, mode="ro"))) as con:
                    return _in_snapshot(con, fn)
            if not os.path.exists(wal):
                before = _stat(path)
                with contextlib.closing(_connect(_uri(path, mode="ro", immutable="1"))) as con:
                    result = _in_snapshot(con, fn)
                if _stat(path) == before and not os.path.exists(wal):
                    return result
                last = Busy("the database changed while it was read")
                continue
            return _read_copy(path, fn)
        except sqlite3.DatabaseError as exc:
            if _is_busy(exc):
                last = Busy("the database is locked by its agent")
                continue
            if "not a database" in str(exc) or "malformed" in str(exc):
                # a page torn by a concurrent checkpoint reads as malformed: try again
                last = NotSqlite(str(exc))
                continue
            raise NotSqlite(str(exc)) from None
    assert last is not None
    raise last


def _in_snapshot(con: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """All of ``fn``'s queries in one read transaction: one consistent state of the
    database, however many tables it reads, released at once after."""
    con.execute("BEGIN")
    try:
        return fn(con)
    finally:
        con.execute("COMMIT")


def _read_copy(path: str, fn: Callable[[sqlite3.Connection], T]) -> T:
    folder = tempfile.mkdtemp(prefix="ccspend-agentdb-")
    try:
        copy = os.path.join(folder, "copy.db")
        shutil.copyfile(path, copy)
        with contextlib.suppress(FileNotFoundError):
            shutil.copyfile(path + "-wal", copy + "-wal")
        with contextlib.closing(sqlite3.connect(copy, isolation_level=None)) as con:
            return _in_snapshot(con, fn)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def columns(con: sqlite3.Connection, table: str) -> set[str]:
    """The columns of ``table`` (empty when there is no such table): agents add columns
    over versions, so a reader asks before it selects."""
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}  # noqa: S608


# -- the named queries, one per agent family -------------------------------------------
#
# Each takes the open connection and the watermark (None: everything) and returns
# ``{"watermark": ..., <table>: [row dicts]}``. What "changed since" means is the
# agent's: see each function.

def _rows(con: sqlite3.Connection, sql: str, params: tuple = ()) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _pick(have: set[str], wanted: tuple[str, ...]) -> str:
    """A select list of the wanted columns, NULL for those this version lacks."""
    return ", ".join(c if c in have else f"NULL AS {c}" for c in wanted)


def opencode(con: sqlite3.Connection, since: int | None) -> dict:
    """OpenCode's (and Kilo's) messages and step-finish parts of every session tree with a
    message or part written after ``since`` (ms; the rows' ``time_updated``, or
    ``time_created`` where a version has no such column).

    A tree is a root session and its subagent sessions (``parent_id``): all of it is
    returned, so its records can replace the stored ones whole. Only ``step-finish``
    parts are read (the others hold text and tool output: most of the bytes).
    """
    msg_cols = columns(con, "message")
    part_cols = columns(con, "part")
    if not msg_cols:
        return {"watermark": since, "sessions": [], "messages": [], "parts": []}
    m_time = "time_updated" if "time_updated" in msg_cols else "time_created"
    p_time = "time_updated" if "time_updated" in part_cols else "time_created"
    ses_cols = columns(con, "session")
    sessions = (_rows(con, f"SELECT {_pick(ses_cols, ('id', 'parent_id', 'directory', 'version'))}"
                      " FROM session") if ses_cols else [])  # fmt: skip
    mark = con.execute(f"SELECT max({m_time}) FROM message").fetchone()[0]
    if part_cols:
        mark = max(filter(None, [mark, con.execute(f"SELECT max({p_time}) FROM part")
                                 .fetchone()[0]]), default=None)  # fmt: skip
    if since is None:
        wanted = None
    else:
        changed = {r[0] for r in con.execute(
            f"SELECT DISTINCT session_id FROM message WHERE {m_time} > ?", (since,))}
        if part_cols:
            changed |= {r[0] for r in con.execute(
                f"SELECT DISTINCT session_id FROM part WHERE {p_time} > ?", (since,))}
        wanted = _trees(changed, {s["id"]: s["parent_id"] for s in sessions})
        if not wanted:
            return {"watermark": mark, "sessions": sessions, "messages": [], "parts": []}
    where, params = ("", ()) if wanted is None else (
        " WHERE session_id IN (SELECT value FROM json_each(?))", (_json(wanted),))
    messages = _rows(con, f"SELECT id, session_id, time_created, data FROM message{where}",
                     params)  # fmt: skip
    parts = []
    if part_cols:
        step = "data LIKE '%step-finish%'"
        parts = _rows(con, "SELECT id, message_id, session_id, time_created, data FROM part"
                      + (f"{where} AND {step}" if where else f" WHERE {step}"), params)
    return {"watermark": mark, "sessions": sessions, "messages": messages, "parts": parts}


def _json(values) -> str:
    import json

    return json.dumps(sorted(values))


def _trees(changed: set[str], parent: dict[str, str | None]) -> set[str]:
    """Every session in the trees (root and subagent sessions) of the ``changed`` ones."""

    def root(sid: str) -> str:
        seen = set()
        while parent.get(sid) and sid not in seen:
            seen.add(sid)
            sid = parent[sid]
        return sid

    roots = {root(s) for s in changed}
    return {s for s in set(parent) | changed if root(s) in roots}


GOOSE_COLUMNS = ("id", "name", "working_dir", "session_type", "created_at", "updated_at",
                 "input_tokens", "output_tokens", "total_tokens", "accumulated_input_tokens",
                 "accumulated_output_tokens", "accumulated_total_tokens", "accumulated_cost",
                 "provider_name", "model_config_json")  # fmt: skip
# Goose writes its TIMESTAMP columns as text ('2026-06-03 07:12:40', or RFC 3339):
# julianday() reads both, so the watermark is in ms like the others.
_GOOSE_MS = "CAST(round((julianday({c}) - 2440587.5) * 86400000) AS INTEGER)"


def goose(con: sqlite3.Connection, since: int | None) -> dict:
    """Goose's session rows updated after ``since`` (ms, from ``updated_at``)."""
    have = columns(con, "sessions")
    if not have:
        return {"watermark": since, "sessions": []}
    stamp = _GOOSE_MS.format(c="updated_at" if "updated_at" in have else "created_at")
    mark = con.execute(f"SELECT max({stamp}) FROM sessions").fetchone()[0]
    sql = f"SELECT {_pick(have, GOOSE_COLUMNS)} FROM sessions"
    rows = _rows(con, sql + (f" WHERE {stamp} > ?" if since is not None else ""),
                 (since,) if since is not None else ())
    return {"watermark": mark, "sessions": rows}


HERMES_COLUMNS = ("id", "model", "billing_provider", "started_at", "ended_at", "message_count",
                  "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                  "reasoning_tokens", "estimated_cost_usd", "actual_cost_usd")  # fmt: skip


def hermes(con: sqlite3.Connection, since: int | None) -> dict:
    """Every Hermes session row: the table has no column that says when a row last
    changed, so all of them are read (one small row per session) and the ingest keeps
    only those whose content differs from what it stored."""
    have = columns(con, "sessions")
    if not have:
        return {"watermark": None, "sessions": []}
    return {"watermark": None,
            "sessions": _rows(con, f"SELECT {_pick(have, HERMES_COLUMNS)} FROM sessions")}


COPILOT_COLUMNS = ("id", "session_id", "turn_index", "model", "copilot_usage_model",
                   "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                   "reasoning_tokens", "total_nano_aiu", "created_at")  # fmt: skip


def copilot_store(con: sqlite3.Connection, since: int | None) -> dict:
    """Copilot CLI's ``assistant_usage_events`` of every session with an event after
    ``since`` (the events' autoincrement id: they are appended, never updated), and
    those sessions' rows (cwd, branch)."""
    have = columns(con, "assistant_usage_events")
    if not have:
        return {"watermark": since, "events": [], "sessions": []}
    mark = con.execute("SELECT max(id) FROM assistant_usage_events").fetchone()[0]
    sql = f"SELECT {_pick(have, COPILOT_COLUMNS)} FROM assistant_usage_events"
    if since is not None:
        sql += (" WHERE session_id IN (SELECT DISTINCT session_id FROM assistant_usage_events"
                " WHERE id > ?)")
    events = _rows(con, sql, (since,) if since is not None else ())
    ses_have = columns(con, "sessions")
    sessions = []
    if ses_have and events:
        sessions = _rows(con, f"SELECT {_pick(ses_have, ('id', 'cwd', 'branch', 'repository'))} "
                         "FROM sessions WHERE id IN (SELECT value FROM json_each(?))",
                         (_json({e["session_id"] for e in events if e["session_id"]}),))
    return {"watermark": mark, "events": events, "sessions": sessions}


FAMILIES = {"opencode": opencode, "goose": goose, "hermes": hermes,
            "copilot_store": copilot_store}  # fmt: skip


def fetch(family: str, path: str, since: int | None) -> dict:
    """The rows of ``family``'s database at ``path`` changed since ``since``, read in one
    consistent snapshot (``read``)."""
    query = FAMILIES[family]
    return read(path, lambda con: query(con, since))
