"""The session report's rows as JSON text, written again only where a session changed.

A session report of every session over a long history is thousands of rows (8,837 at
200 periods of history, 7 MB of JSON), and after a new log line one or two of them
differ from the last run's. Writing every row's text in SQL (``queries.session_rows_json``)
took 0.1 s of each such report. So the text of each row is kept in a file beside the
database with the hash of the row of ``session_totals`` it was written from
(``queries.session_row_hashes``); a report reads the sessions' keys and hashes in the
report's order, takes the kept text of each row whose hash is the same, and writes the
others again, in Python (``Row.to_json``, as a report of a few sessions is written:
``reports.build.session_row_text``).

The text comes as pieces (``bytes`` and slices of the file, mapped, not read): runs of
rows kept side by side are one slice each, and the 7 MB is never copied on its way to
the output.

The file is an optimisation and never the answer's source: a row is taken from it only
when its hash is the one the store has now, its text is the text of that row (the
contract of ``tests/test_session_json.py``), and a missing, foreign or torn file is
written again. Its key says what else the text depends on: the report's zone, the
version of ccspend, and the text's own SQL and DuckDB's version (its hash function).

The file: a header line (``_MAGIC``, then the sizes of the index and the text), the
index, then the text: each row followed by ``,\\n``, in the index's order. The index
(``_index``, ``_read_index``): a line with the size of the key, the session count and
whether the keys are sized, the key, then the sessions' keys (UTF-8: joined by NULs, or,
if one holds a NUL, each after its size), their hashes and the sizes of their rows'
text; the sizes and hashes as unsigned 64-bit integers in the machine's order. Read with
``array`` alone: neither msgspec (a report after a new line imports none) nor
``marshal`` (not for data that may be damaged).
"""

from __future__ import annotations

import os
from array import array
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from ccspend.store.queries import Aggregate

# the file's name in the database's cache folder (``answer_cache.cache_dir``)
FILE_NAME = "session-rows"
_MAGIC = b"ccspend-session-rows 3"
# Rows written again in one report past which the file is saved again: a run that wrote
# a few rows (the session in progress) leaves the file as it was, and the next run
# writes those few again rather than rewriting 7 MB each time.
SAVE_AFTER = 64
# More rows changed than this (a first run, a new card): all are written in SQL.
SQL_AFTER = 400

_SEP = b",\n"


def rows_json(db, row_text: Callable[[Aggregate, str], str], con, tz: str,
              descending: bool) -> list | None:
    """The rows of the session report of every session as the text ``json.dumps(indent=2)``
    writes inside the report's ``"rows": [...]``, in pieces (``bytes``-like, ASCII) to
    be written one after the other (oldest last activity first; ``descending``: newest
    first); None below ``queries.SQL_ROWS_MIN`` sessions, or when the rows must be
    built in Python (``queries.session_rows_json`` says when). ``row_text(session, tz)``
    writes one row that changed (``reports.build.session_row_text``)."""
    from ccspend.store import queries

    path = os.path.join(_cache_folder(db), FILE_NAME)
    # No kept rows yet: a count says whether there are enough sessions to keep any, for
    # less than their hashes (a few sessions are written in Python, their hashes unused).
    if not os.path.exists(path) and queries.session_count(con) < queries.SQL_ROWS_MIN:
        return None
    keyed = queries.session_row_hashes(con)
    if len(keyed) < queries.SQL_ROWS_MIN:
        return None
    key = _key(tz)
    kept = _load(path, key)
    where, hashes, sizes, text = kept if kept is not None else ({}, (), (), b"")
    stale = [k for k, h in keyed
             if (i := where.get(k)) is None or hashes[i] != h]  # fmt: skip
    written = len(stale) > SQL_AFTER  # every row written now, in SQL
    if written:
        rows = queries.session_rows_json(con, tz)
        if rows is None:
            return None
        try:
            where, sizes, text = _kept_of(rows)
        except UnicodeEncodeError:  # never (the text's escapes are ASCII): rows as before
            return None
        fresh: dict[str, bytes] = {}
    else:
        fresh = {a.key: row_text(a, tz).encode("ascii") for a in
                 queries.session_aggregates(con, stale)} if stale else {}  # fmt: skip
    starts = _starts(sizes)
    pieces: list = []
    run = None  # the text's range of the rows kept side by side just met: [start, end)
    for k, _ in (reversed(keyed) if descending else keyed):
        row = fresh.get(k)
        if row is None:
            i = where[k]
            start, end = starts[i], starts[i] + sizes[i] + 2
            if run is not None and run[1] == start:
                run[1] = end
                continue
            if run is not None:
                pieces.append(text[run[0]:run[1]])
            run = [start, end]
        else:
            if run is not None:
                pieces.append(text[run[0]:run[1]])
                run = None
            pieces += (row, _SEP)
    if run is not None:
        pieces.append(text[run[0]:run[1]])
    pieces[-1] = pieces[-1][:-2]  # no separator after the last row
    if written or len(fresh) > SAVE_AFTER or (kept is None and fresh):
        _save(path, key, keyed, fresh, where, sizes, starts, text)
    return pieces


def _kept_of(rows: list[tuple[str, str]]) -> tuple[dict, array, bytes]:
    """What ``_load`` gives but the hashes, for rows written in SQL: (key to index, sizes,
    the text)."""
    where = {k: i for i, (k, _) in enumerate(rows)}
    sizes = array("Q", [len(t) for _, t in rows])
    text = ("".join(f"{t},\n" for _, t in rows)).encode("ascii")
    return where, sizes, text


def _starts(sizes) -> list[int]:
    """Where each row's text starts in the file's text: each is followed by ``,\\n``."""
    from itertools import accumulate

    return [0, *accumulate(n + 2 for n in sizes)][:-1] if len(sizes) else []


def _cache_folder(db) -> str:
    from ccspend.reports.answer_cache import cache_dir

    return str(cache_dir(db))


def _key(tz: str) -> str:
    """What the rows' text depends on besides their numbers, as one line."""
    from ccspend import __version__
    from ccspend.core.digest import blake2b
    from ccspend.store import queries

    made = blake2b(queries.session_row_format().encode(), digest_size=8).hexdigest()
    return f"{__version__} {made} {tz}"


def _load(path: str, key: str) -> tuple[dict, array, array, memoryview] | None:
    """The kept rows: (session key to index, hashes, sizes of the rows' text, the text,
    mapped); None if the file is missing, torn, or another key's."""
    import mmap

    try:
        with open(path, "rb") as fh:
            head = fh.readline(100).split(b" ")
            if b" ".join(head[:2]) != _MAGIC or len(head) != 4:
                return None
            n_index, n_text = int(head[2]), int(head[3])
            at = fh.tell()
            index = fh.read(n_index)
            if os.fstat(fh.fileno()).st_size != at + n_index + n_text or n_text == 0:
                return None
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        file_key, keys, hashes, sizes = _read_index(index)
    except (OSError, ValueError):  # a UnicodeDecodeError too
        return None
    if file_key != key or not len(keys) == len(hashes) == len(sizes) \
            or sum(sizes) + 2 * len(sizes) != n_text:  # fmt: skip
        return None
    return {k: i for i, k in enumerate(keys)}, hashes, sizes, memoryview(mapped)[at + n_index:]


def _save(path: str, key: str, keyed: list[tuple[str, int]], fresh: dict[str, bytes],
          where: dict, sizes, starts: list[int], text) -> None:
    """Keep the rows of this report, ``keyed`` (in the report's order, oldest first): each
    row's text from ``fresh`` (written now) or the old ``text``. The pieces go to the file
    as they are, never joined into one string."""
    from ccspend.core.files import write_cache

    new_sizes = array("Q")
    pieces = []
    for k, _ in keyed:
        row = fresh.get(k)
        if row is None:
            i = where[k]
            row = text[starts[i]:starts[i] + sizes[i]]
        new_sizes.append(len(row))
        pieces += (row, _SEP)
    index = _index(key, [k for k, _ in keyed], array("Q", [h for _, h in keyed]), new_sizes)
    head = b"%s %d %d\n" % (_MAGIC, len(index), sum(new_sizes) + 2 * len(new_sizes))
    write_cache(path, [head, index, *pieces])


def _index(key: str, keys: list[str], hashes: array, sizes: array) -> bytes:
    """The file's index (see the module's docstring)."""
    key_b = key.encode("utf-8", "surrogatepass")
    if not any("\0" in k for k in keys):  # session ids: one string, split at NULs in C
        blob = "\0".join(keys).encode("utf-8", "surrogatepass")
        return b"".join([b"%d %d 0\n" % (len(key_b), len(keys)), key_b, blob,
                         hashes.tobytes(), sizes.tobytes()])  # fmt: skip
    encoded = [k.encode("utf-8", "surrogatepass") for k in keys]  # a log's id may hold any
    return b"".join([b"%d %d 1\n" % (len(key_b), len(keys)), key_b,
                     array("Q", map(len, encoded)).tobytes(), *encoded, hashes.tobytes(),
                     sizes.tobytes()])  # fmt: skip


def _read_index(index: bytes) -> tuple[str, list[str], array, array]:
    """What ``_index`` wrote; ValueError if it is not that."""
    line, found, rest = index.partition(b"\n")
    n_key, n, sized = (int(x) for x in line.split(b" "))  # ValueError unless three numbers
    if not found or n_key < 0 or n < 0 or sized not in (0, 1) or len(rest) < n_key + 16 * n:
        raise ValueError("not an index")
    key = rest[:n_key].decode("utf-8", "surrogatepass")
    body = rest[n_key:len(rest) - 16 * n]
    if sized:
        lens = array("Q")
        lens.frombytes(body[:8 * n])
        if len(lens) != n or len(body) != 8 * n + sum(lens):
            raise ValueError("not an index")
        keys, at = [], 8 * n
        for size in lens:
            keys.append(body[at:at + size].decode("utf-8", "surrogatepass"))
            at += size
    else:
        keys = body.decode("utf-8", "surrogatepass").split("\0") if n or body else []
        if len(keys) != n:
            raise ValueError("not an index")
    hashes, sizes = array("Q"), array("Q")
    hashes.frombytes(rest[len(rest) - 16 * n:len(rest) - 8 * n])
    sizes.frombytes(rest[len(rest) - 8 * n:])
    return key, keys, hashes, sizes
