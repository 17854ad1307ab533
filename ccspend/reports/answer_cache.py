"""Answer a repeated report from cache, before the heavy imports, when nothing changed.

A warm ``ccspend daily`` (no log grew since the last run) should cost little
more than starting Python: importing DuckDB, typer and rich alone takes longer
than the whole answer. So the console entry point first asks ``cached_answer``,
which imports only the standard library: it stats every log file, and if the
logs, the database, the rate card and the request are all as they were when a
cached answer was written, returns that answer for the front end to print.

A request the fast front end does not understand (another command, a git ref
as ``--since``, ``--demo``) never reaches this module; it only ever repeats what
a report printed for the same state.

The budget is a few milliseconds on top of the interpreter's start, so this
module works on strings and avoids even the cheap-looking standard modules:
pathlib, json and zoneinfo each cost milliseconds to import (json pulls in
``re``). Paths come from ``ccspend.core.paths``' string forms, the request key is a
``repr``, and a cache entry is a length-prefixed file that needs no parser.
"""

from __future__ import annotations

import os

from ccspend import __version__
from ccspend.core import paths
from ccspend.core.files import write_cache

_MAGIC = b"ccspend-cache 3"
_WALK_VERSION = 1
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CARD = os.path.join(_PACKAGE, "pricing", "data", "rates.toml")

def request_key(
    *,
    name: str,
    tz: str,
    since: str | None,
    until: str | None,
    project: str | None,
    branch: str | None,
    breakdown: bool,
    json_out: bool,
    db,
    roots: list,
    terminal: tuple,
    shape: tuple = (),
) -> str:
    """What an answer depends on besides the data: the request and the terminal
    (``terminal``: what the front end knows of its own, such as its width; ``shape``:
    the rest of the request, as the front end reads it: order, look, sub-rows...)."""
    env = tuple(os.environ.get(k) for k in ("COLUMNS", "NO_COLOR", "FORCE_COLOR", "TERM"))
    return repr((
        __version__, name, tz, since, until, project, branch, bool(breakdown), bool(json_out),
        str(db), tuple(str(r) for r in roots), terminal, env, shape,
    ))  # fmt: skip


def config_state() -> tuple:
    """The state of the user's config file: a weekly answer depends on the day its
    weeks start on, which the config may set (a stat is cheaper than reading it)."""
    return _stat(paths.config_dir_str() + "/config.toml")


def _stat(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return (path, None)
    return (path, st.st_size, st.st_mtime_ns, st.st_ino)


def logs_state(files) -> str:
    """The logs' part of the state an answer was computed from (``files_state`` is the
    rest): every log's line, sorted, after the newest log's (which ``_newest_changed``
    checks before the walk: the log a session in progress writes to).

    ``files`` holds ``(path, size, mtime_ns, dev, ino, ...)`` tuples: the ``LogFile``s an
    ingest found, or ``logfiles.stat_logs``' rows (logs of another agent can simply be
    added to the list). Kept whole rather than hashed (no hashlib import on the warm
    path, and no collision can ever serve a stale answer)."""
    if not files:
        return ""
    newest = max(files, key=lambda f: (f[2], f[0]))
    return (f"{newest[0]}\0{newest[1]}\0{newest[2]}\0{newest[4]}\n"
            + "".join(sorted([f"{f[0]}\0{f[1]}\0{f[2]}\0{f[4]}\n" for f in files])))


def _newest_changed(state: bytes) -> bool:
    """Whether the log a cached state names first (then the newest) has changed: a miss
    told by one stat, before the walk, so that the report's database starts opening
    (``cached_answer``'s ``on_miss``). False when the line is not a log's."""
    parts = state[:state.find(b"\n")].split(b"\0")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[1:]):
        return False
    try:
        st = os.stat(parts[0])
    except (OSError, ValueError):
        return True
    return (st.st_size, st.st_mtime_ns, st.st_ino) != tuple(int(p) for p in parts[1:])


def files_state(db) -> str:
    """The state's part for the database and the card's files, as they are now."""
    db = str(db)
    return repr((_stat(db), _stat(db + ".wal"), _stat(_CARD), _stat(paths.rate_overrides_str()),
                 _stat(paths.rate_updates_str())))


def cache_dir(db):
    from pathlib import Path

    return Path(_cache_dir(str(db)))


def _cache_dir(db: str) -> str:
    return db + ".cache"


def _entry_name(key: str) -> str:
    import zlib

    return f"{zlib.crc32(key.encode()):08x}"


def save(db, key: str, state: str, stdout: str | list, stderr: str) -> None:
    """Remember an answer; a failure to write the cache is never an error.

    The entry is a header line of lengths, then the key, the state and the
    answer, so that reading it back needs no JSON parser. ``stdout`` is text, or
    pieces of bytes (``cli.jsonout.dumps_with_rows``), written as they are.
    """
    folder = _cache_dir(str(db))
    name = _entry_name(key)
    out = ([stdout.encode("utf-8", "surrogateescape")] if isinstance(stdout, str)
           else stdout)  # fmt: skip
    key_b, state_b, err_b = (s.encode("utf-8", "surrogateescape") for s in (key, state, stderr))
    sizes = (len(key_b), len(state_b), sum(len(p) for p in out), len(err_b))
    header = _MAGIC + b" " + b" ".join(str(n).encode() for n in sizes) + b"\n"
    write_cache(os.path.join(folder, name), [header, key_b, state_b, *out, err_b])


def _open(db: str, key: str):
    """The entry for ``key``, open and read up to its answer: (the file, the state it
    holds, the sizes of stdout and stderr), or None (no entry, another key's, or not an
    entry). The answer is read only once the state matches (``_rest``): a session report
    over a long history is megabytes, and a miss would read them for nothing."""
    try:
        fh = open(os.path.join(_cache_dir(db), _entry_name(key)), "rb")  # noqa: SIM115
    except OSError:
        return None
    try:
        head = fh.readline(200).rstrip(b"\n").split(b" ")
        if b" ".join(head[:2]) != _MAGIC or len(head) != 6 or not all(
                n.isdigit() for n in head[2:]):  # fmt: skip
            fh.close()
            return None
        sizes = [int(n) for n in head[2:]]
        if fh.read(sizes[0]) != key.encode("utf-8", "surrogateescape"):
            fh.close()
            return None
        state = fh.read(sizes[1])
    except OSError:
        fh.close()
        return None
    return fh, state, sizes


def _changed(cached_state: bytes, logs_now: str, db_now: str) -> set[str] | None:
    """The logs whose stat differs from the cached answer's, if the database is as that
    answer left it (its own stat, the card's files); else None.

    Then the store's file states are those of the cached walk for every other log (the
    answer's state is the logs as that run read them, taken after its ingest), so an
    ingest needs the states of these logs alone: after a new line, one path, not the
    2,631 of a 1 GiB history (10-15 ms).
    """
    tail = db_now.encode("utf-8", "surrogateescape")
    if not cached_state.endswith(tail):
        return None
    before = set(cached_state[:len(cached_state) - len(tail)].split(b"\n"))
    return {line.split("\0", 1)[0] for line in logs_now.split("\n")[:-1]
            if line.encode("utf-8", "surrogateescape") not in before}


def _rest(fh, key: str, state: bytes, sizes: list[int]) -> list[bytes] | None:
    """The whole entry, its answer read now; None if the file is torn or longer."""
    out, err = fh.read(sizes[2]), fh.read(sizes[3])
    if len(state) != sizes[1] or len(out) != sizes[2] or len(err) != sizes[3] or fh.read(1):
        return None  # a torn or foreign file: not an answer
    return [key.encode("utf-8", "surrogateescape"), state, out, err]


def log_files(roots: list[str], db: str | None = None, suffix=".jsonl",
              unreadable: dict | None = None) -> list:
    """The stat rows the state covers (the walk an ingest of ``roots`` does).

    With ``db``, the folder listings of the last walk of the same roots are
    kept beside its cache (see ``logfiles.stat_logs``: a listing is reused only
    while its folder is unchanged), which saves reading every folder again.
    ``unreadable`` is filled with the folders that could not be listed.
    """
    from ccspend.sources.logfiles import stat_logs

    if db is None:
        return stat_logs(roots, suffix, unreadable=unreadable)
    import marshal

    key = repr(roots) if suffix == ".jsonl" else repr((roots, suffix))
    store = os.path.join(_cache_dir(db), "walk-" + _entry_name(key))
    known = None
    try:
        with open(store, "rb") as fh:
            version, known = marshal.loads(fh.read())
        if version != _WALK_VERSION or not isinstance(known, dict):
            known = None
    except (OSError, ValueError, EOFError, TypeError):
        known = None
    learned: dict = {}
    try:
        files = stat_logs(roots, suffix, known=known, learned=learned, unreadable=unreadable)
    except (TypeError, ValueError, IndexError):  # a damaged listing: walk without it
        learned = {}
        if unreadable is not None:
            unreadable.clear()
        files = stat_logs(roots, suffix, learned=learned, unreadable=unreadable)
    if learned != known:
        write_cache(store, marshal.dumps((_WALK_VERSION, learned)))
    return files


_TZPATH = ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo", "/etc/zoneinfo")


def report_zone(explicit: str | None) -> str:
    """The zone the full CLI would report in (``timeutil.check_timezone``), cheaply.

    An explicit name is taken as given: an answer is only ever cached under a
    name the full CLI accepted. The machine's zone is found as
    ``timeutil.local_timezone`` finds it, with a name checked by the presence
    of its zone file; anything less plain asks timeutil (and zoneinfo).
    """
    if explicit:
        return explicit
    env = os.environ.get("TZ", "").strip().lstrip(":")
    if env:
        name = env
    else:
        try:
            target = os.readlink("/etc/localtime")
        except OSError:
            target = ""
        name = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
    if name and _zone_file(name):
        return name
    from ccspend.core.timeutil import local_timezone

    return local_timezone()


def _zone_file(name: str) -> bool:
    if name.startswith("/") or ".." in name or os.environ.get("PYTHONTZPATH") is not None:
        return False
    return any(os.path.isfile(os.path.join(d, name)) for d in _TZPATH)


def cached_answer(
    *,
    name: str,
    timezone: str | None,
    since: str | None,
    until: str | None,
    project: str | None,
    branch: str | None,
    breakdown: bool,
    json_out: bool,
    db: str | None,
    claude_dirs: list[str],
    terminal: tuple,
    shape=None,
    logs: dict[str, list[str]] | None = None,
    walked: dict | None = None,
    on_miss=None,
) -> tuple[str, str] | None:
    """The (stdout, stderr) a report printed for this request, if it is still right.
    ``shape(tz)``: the rest of the request's key (``request_key``), for the report's zone;
    ``logs``: the folders ``--logs`` gives agents (``agents.parse_logs``).

    ``walked``, if given, receives the walk of the Claude Code roots this check made,
    ``{tuple(roots): (stat rows, unreadable folders, the logs changed since the cached
    answer or None: ``_changed``)}``: on a miss, the report's ingest plans from it
    instead of walking the same folders again, and reads the states of those logs alone.
    ``on_miss()`` is called as soon as a miss is certain from the newest log alone,
    before the walk."""
    tz = report_zone(timezone)
    db = paths.absolute(paths.expand(db)) if db else paths.default_db_str()
    db = paths.absolute(db)
    roots = paths.claude_project_root_strs(claude_dirs or None)
    if project:
        project = paths.absolute(paths.expand(project)).rstrip("/") or "/"
    key = request_key(
        name=name, tz=tz, since=since, until=until, project=project, branch=branch,
        breakdown=breakdown, json_out=json_out, db=db, roots=roots, terminal=terminal,
        shape=shape(tz) if shape is not None else (),
    )  # fmt: skip
    entry = _open(db, key)
    if entry is None:
        return None
    fh, cached_state, sizes = entry
    with fh:
        if on_miss is not None and _newest_changed(cached_state):
            on_miss()
        return _answer(fh, key, cached_state, sizes, db, roots, logs, walked)


def _answer(fh, key: str, cached_state: bytes, sizes: list[int], db: str, roots: list[str],
            logs, walked: dict | None) -> tuple[str, str] | None:  # fmt: skip
    """``cached_answer``'s answer from the open entry ``fh``, if the state it was made
    from is the state now."""
    # The other agents' logs are ingested beside Claude Code's (ccspend.ingest.logs)
    from ccspend.sources import agents

    others = agents.stats(os.environ, os.path.expanduser("~"), logs,
                          walk=lambda found, suffix: log_files(found, db, suffix))
    unreadable: dict = {}
    claude = log_files(roots, db, unreadable=unreadable)
    logs_now, db_now = logs_state(claude + others), files_state(db)
    miss = cached_state != (logs_now + db_now).encode("utf-8", "surrogateescape")
    if walked is not None:  # the logs changed since, for a miss's ingest (a hit needs none)
        walked[tuple(roots)] = (claude, unreadable,
                                _changed(cached_state, logs_now, db_now) if miss else set())
    if miss:
        return None
    cached = _rest(fh, key, cached_state, sizes)
    if cached is None:
        return None
    return (cached[2].decode("utf-8", "surrogateescape"),
            cached[3].decode("utf-8", "surrogateescape"))  # fmt: skip
