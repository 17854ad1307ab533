"""A team's Parquet folder (``ccspend export --to DIR/``): each machine its own files.

Why it is shaped this way: a folder that a sync tool (Syncthing, Dropbox) shares
between machines has no server to take turns at, so no two machines ever write
the same file. A machine's rows go to ``DIR/month=YYYY-MM/<user>@<machine>.parquet``
(the UTC month of the request; user and machine percent-encoded), in the team
table's columns (``store.team_table``), sorted by time:

- a reader (``store.team_read``) prunes months outside its window by the folder
  name, and row groups by their ``ts`` statistics;
- a re-export merges with the machine's file of that month as the table's upsert
  does: a new request is added, a changed one replaces its old version (its
  ``exported_at`` moves), an unchanged one keeps its ``exported_at``; a month
  with nothing new is not rewritten (a sync tool sees no change);
- a file is written under a temporary name in the same folder (a leading dot and
  no ``.parquet`` ending: readers and the glob never see it), flushed to disk,
  then renamed over the old one: a reader sees the old file or the new one, never
  half of one. Two exports of the same machine at once take turns on a lock file
  (``.ccspend-<user>@<machine>.lock``); different machines never wait for each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from ccspend.core.errors import CcspendError
from ccspend.store.engine import duckdb
from ccspend.store.team_table import (
    ADDED,
    FOLDER_ROLLUP_DIR,
    FOLDER_TOKEN,
    KEY,
    NAMES,
    VALUES,
    count_sql,
    folder_rollup_sql,
)

MONTH_DIR = "month={}"


def file_name(user: str, machine: str) -> str:
    """This machine's file name in each month's folder (safe on every file system)."""
    return f"{quote(user, safe='')}@{quote(machine, safe='')}.parquet"


@contextlib.contextmanager
def _machine_lock(folder: Path, name: str) -> Iterator[None]:
    """One export of this user and machine at a time (others' files are not touched)."""
    lock = folder / f".ccspend-{name.removesuffix('.parquet')}.lock"
    with open(lock, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _sql_path(path: Path) -> str:
    return "'{}'".format(str(path).replace("'", "''"))


def append(folder: Path, stage: Path, user: str, machine: str) -> tuple[int, int]:
    """Merge the staged Parquet file ``stage`` (the team table's columns) into this
    machine's month files under ``folder``; (new rows, updated rows)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CcspendError(f"cannot export to {folder}: {exc.strerror or exc}") from None
    name = file_name(user, machine)
    new_total = updated_total = 0
    try:
        with _machine_lock(folder, name):
            con = duckdb.connect(":memory:")
            try:
                con.execute("SET TimeZone = 'UTC'")
                con.execute(f"CREATE TABLE staged AS SELECT *, strftime(ts, '%Y-%m') AS month "
                            f"FROM read_parquet({_sql_path(stage)})")
                months = [r[0] for r in con.execute(
                    "SELECT DISTINCT month FROM staged ORDER BY 1").fetchall()]
                for month in months:
                    new, updated = _merge_month(con, folder / MONTH_DIR.format(month), name, month)
                    new_total += new
                    updated_total += updated
            finally:
                con.close()
    except duckdb.Error as exc:
        text = str(exc).strip().splitlines()
        raise CcspendError(f"cannot export to {folder}: {text[0] if text else exc}") from None
    except OSError as exc:
        raise CcspendError(f"cannot export to {folder}: {exc.strerror or exc}") from None
    return new_total, updated_total


def _merge_month(con, month_dir: Path, name: str, month: str) -> tuple[int, int]:
    target = month_dir / name
    cols = ", ".join(NAMES)
    con.execute(f"CREATE OR REPLACE TEMP TABLE stage_month AS SELECT {cols} FROM staged "
                "WHERE month = $m", {"m": month})  # fmt: skip
    if target.exists():
        old = _sql_path(target)
        have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({old})").fetchall()}
        # a file written before a column was added: NULL there (filled in by this merge)
        picked = ", ".join(c if c in have else f"CAST(NULL AS {ADDED[c]}) AS {c}" for c in NAMES)
        con.execute(f"CREATE OR REPLACE TEMP TABLE old AS SELECT {picked} "
                    f"FROM read_parquet({old})")  # fmt: skip
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE old AS SELECT {cols} FROM stage_month LIMIT 0")
    new, updated = con.execute(count_sql("old", "stage_month")).fetchone()
    if not new and not updated:
        if target.exists() and not rollup_current(con, month_dir, name):
            write_files(con, "old", month_dir, name)  # a file from before the rollup
        return 0, 0  # nothing changed: the file stays as it is
    on = " AND ".join(f"o.{c} = s.{c}" for c in KEY)
    same = " AND ".join(f"o.{c} IS NOT DISTINCT FROM s.{c}" for c in VALUES)
    keep_time = f"CASE WHEN o.request_key IS NOT NULL AND {same} THEN o.exported_at " \
                "ELSE s.exported_at END AS exported_at"
    s_cols = ", ".join(f"s.{c}" for c in NAMES if c != "exported_at")
    merged = (f"SELECT {s_cols}, {keep_time} FROM stage_month s LEFT JOIN old o ON {on} "
              f"UNION ALL SELECT {cols} FROM old o WHERE NOT EXISTS "
              f"(SELECT 1 FROM stage_month s WHERE {on})")  # fmt: skip
    con.execute(f"CREATE OR REPLACE TEMP TABLE merged AS {merged}")
    write_files(con, "merged", month_dir, name)
    return new, updated


def rollup_path(month_dir: Path, name: str) -> Path:
    """The rollup file of the month file ``name``."""
    return month_dir / FOLDER_ROLLUP_DIR / name


def rollup_current(con, month_dir: Path, name: str) -> bool:
    """Whether the month file has a rollup summed from this version of it."""
    side = rollup_path(month_dir, name)
    if not side.exists():
        return False
    got = con.execute(f"SELECT decode(value) FROM parquet_kv_metadata($f) "
                      f"WHERE decode(key) = '{FOLDER_TOKEN}'",
                      {"f": [str(month_dir / name), str(side)]}).fetchall()  # fmt: skip
    return len(got) == 2 and got[0] == got[1]


def write_files(con, relation: str, month_dir: Path, name: str) -> None:
    """Write ``relation`` (on ``con``: one machine's rows of one month, in the table's
    columns) as the month file ``name`` and its rollup, each atomically (a temp name in
    the same folder, fsynced, renamed, the folder fsynced), sharing a new token.

    The rollup goes first: a reader that sees the new rollup beside the old file (or
    a sync tool that delivers one before the other) finds the tokens differ and reads
    that file's rows; it never sums a rollup that is not its file's."""
    cols = ", ".join(NAMES)
    token = secrets.token_hex(8)
    kv = f"KV_METADATA {{{FOLDER_TOKEN}: '{token}'}}"
    side_dir = month_dir / FOLDER_ROLLUP_DIR
    side_dir.mkdir(parents=True, exist_ok=True)
    for sql, where, folder in (
        (folder_rollup_sql(relation), side_dir / name, side_dir),
        (f"SELECT {cols} FROM {relation} ORDER BY ts, request_key", month_dir / name, month_dir),
    ):
        tmp = folder / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            con.execute(f"COPY ({sql}) TO {_sql_path(tmp)} "
                        f"(FORMAT parquet, COMPRESSION zstd, {kv})")  # fmt: skip
            _fsync(tmp)
            os.replace(tmp, where)
            _fsync(folder)
        finally:
            tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """The file (or the folder's entry for the rename) on disk before it counts."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
