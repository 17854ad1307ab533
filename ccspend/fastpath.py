"""Answer a repeated report from cache, before the heavy imports, when nothing changed.

A warm ``ccspend daily`` (no log grew since the last run) should cost little
more than starting Python: importing DuckDB, typer and rich alone takes longer
than the whole answer. So the console entry point first calls ``serve``,
which imports only the standard library: it parses the few options a report
takes, stats every log file, and if the logs, the database, the rate card and the request are all as
they were when a cached answer was written, prints that answer.

Anything it does not understand (another command, a git ref as ``--since``,
``--demo``) falls through to the full CLI, which is always right; this module
only ever repeats what the full CLI printed for the same state.

The budget is a few milliseconds on top of the interpreter's start, so this
module works on strings and avoids even the cheap-looking standard modules:
pathlib, json and zoneinfo each cost milliseconds to import (json pulls in
``re``). Paths come from ``ccspend.paths``' string forms, the request key is a
``repr``, and a cache entry is a length-prefixed file that needs no parser.
"""

from __future__ import annotations

import os
import sys

from ccspend import __version__, paths

REPORTS = {"daily", "weekly", "monthly", "session", "model", "project", "branch"}
_FLAGS = {"--json": "json", "--breakdown": "breakdown", "-b": "breakdown"}
_VALUES = {
    "--timezone": "timezone",
    "-z": "timezone",
    "--since": "since",
    "--until": "until",
    "--project": "project",
    "--branch": "branch",
    "--db": "db",
    "--claude-dir": "claude_dir",
}
_MAGIC = b"ccspend-cache 2"
_WALK_VERSION = 1
_CARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pricing", "data", "rates.toml")
_TZPATH = ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo", "/etc/zoneinfo")


def parse(argv: list[str]) -> dict | None:
    """The report request in ``argv``, or None when this module should not answer it."""
    opts: dict = {"name": "daily", "json": False, "breakdown": False, "claude_dir": []}
    args = list(argv)
    if args and not args[0].startswith("-"):
        if args[0] not in REPORTS:
            return None
        opts["name"] = args.pop(0)
    i = 0
    while i < len(args):
        arg = args[i]
        value = None
        if arg.startswith("--") and "=" in arg:
            arg, value = arg.split("=", 1)
        if arg in _FLAGS and value is None:
            opts[_FLAGS[arg]] = True
        elif arg in _VALUES:
            if value is None:
                i += 1
                if i >= len(args):
                    return None
                value = args[i]
            key = _VALUES[arg]
            if key == "claude_dir":
                opts[key].append(value)
            else:
                opts[key] = value
        else:
            return None
        i += 1
    for key in ("since", "until"):
        if opts.get(key) is not None and not _is_day(opts[key]):
            return None  # a git ref: its window depends on the repository's state
    return opts


def _is_day(text: str) -> bool:
    t = text.strip()
    digits = t.replace("-", "")
    return digits.isdigit() and len(digits) == 8 and len(t) in (8, 10)


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
) -> str:
    """What an answer depends on besides the data: the request and the terminal."""
    try:
        width = os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        width = None
    env = tuple(os.environ.get(k) for k in ("COLUMNS", "NO_COLOR", "FORCE_COLOR", "TERM"))
    return repr((
        __version__, name, tz, since, until, project, branch, bool(breakdown), bool(json_out),
        str(db), tuple(str(r) for r in roots), width,
        (sys.stdout.isatty(), sys.stderr.isatty()), env,
    ))  # fmt: skip


def _stat(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return (path, None)
    return (path, st.st_size, st.st_mtime_ns, st.st_ino)


def fingerprint(files, db) -> str:
    """The state an answer was computed from: every log's stat, the database, the prices.

    ``files`` holds ``(path, size, mtime_ns, dev, ino, ...)`` tuples: the
    ``LogFile``s an ingest found, or ``logfiles.stat_logs``' rows (logs of
    another agent can simply be added to the list). Kept whole rather than
    hashed (no hashlib import on the warm path, and no collision can ever
    serve a stale answer).
    """
    db = str(db)
    extra = (_stat(db), _stat(db + ".wal"), _stat(_CARD), _stat(paths.rate_overrides_str()))
    logs = sorted([f"{f[0]}\0{f[1]}\0{f[2]}\0{f[4]}\n" for f in files])
    return "".join(logs) + repr(extra)


def cache_dir(db):
    from pathlib import Path

    return Path(_cache_dir(str(db)))


def _cache_dir(db: str) -> str:
    return db + ".cache"


def _entry_name(key: str) -> str:
    import zlib

    return f"{zlib.crc32(key.encode()):08x}"


def save(db, key: str, state: str, stdout: str, stderr: str) -> None:
    """Remember an answer; a failure to write the cache is never an error.

    The entry is a header line of lengths, then the key, the state and the
    answer, so that reading it back needs no JSON parser.
    """
    folder = _cache_dir(str(db))
    name = _entry_name(key)
    parts = [s.encode("utf-8", "surrogateescape") for s in (key, state, stdout, stderr)]
    header = _MAGIC + b" " + b" ".join(str(len(p)).encode() for p in parts) + b"\n"
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}")
        with open(tmp, "wb") as fh:
            fh.write(header + b"".join(parts))
        os.replace(tmp, os.path.join(folder, name))
    except OSError:
        pass


def _load(db: str, key: str) -> list[bytes] | None:
    """The cached (key, state, stdout, stderr) for ``key``, or None."""
    try:
        with open(os.path.join(_cache_dir(db), _entry_name(key)), "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    nl = data.find(b"\n")
    head = data[:nl].split(b" ")
    if nl < 0 or b" ".join(head[:2]) != _MAGIC or len(head) != 6:
        return None
    parts = []
    pos = nl + 1
    for n in head[2:]:
        if not n.isdigit():
            return None
        end = pos + int(n)
        parts.append(data[pos:end])
        pos = end
    return parts if pos == len(data) else None  # a torn or foreign file: not an answer


def _timezone(explicit: str | None) -> str:
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
    from ccspend.timeutil import local_timezone

    return local_timezone()


def _zone_file(name: str) -> bool:
    if name.startswith("/") or ".." in name or os.environ.get("PYTHONTZPATH") is not None:
        return False
    return any(os.path.isfile(os.path.join(d, name)) for d in _TZPATH)


def log_files(roots: list[str], db: str | None = None) -> list:
    """The stat rows the fingerprint covers (the walk an ingest of ``roots`` does).

    With ``db``, the folder listings of the last walk of the same roots are
    kept beside its cache (see ``logfiles.stat_logs``: a listing is reused only
    while its folder is unchanged), which saves reading every folder again.
    """
    from ccspend.sources.logfiles import stat_logs

    if db is None:
        return stat_logs(roots)
    import marshal

    store = os.path.join(_cache_dir(db), "walk-" + _entry_name(repr(roots)))
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
        files = stat_logs(roots, known=known, learned=learned)
    except (TypeError, ValueError, IndexError):  # a damaged listing: walk without it
        learned = {}
        files = stat_logs(roots, learned=learned)
    if learned != known:
        try:
            tmp = f"{store}.{os.getpid()}"
            with open(tmp, "wb") as fh:
                fh.write(marshal.dumps((_WALK_VERSION, learned)))
            os.replace(tmp, store)
        except OSError:
            pass
    return files


def serve(argv: list[str]) -> bool:
    """Print a cached answer for ``argv`` if one is still right; True if it did."""
    if os.environ.get("CCSPEND_NO_CACHE"):
        return False
    opts = parse(argv)
    if opts is None:
        return False
    tz = _timezone(opts.get("timezone"))
    db = paths.absolute(paths.expand(opts["db"])) if opts.get("db") else paths.default_db_str()
    db = paths.absolute(db)
    roots = paths.claude_project_root_strs(opts["claude_dir"] or None)
    project = opts.get("project")
    if project:
        project = paths.absolute(paths.expand(project)).rstrip("/") or "/"
    key = request_key(
        name=opts["name"], tz=tz, since=opts.get("since"), until=opts.get("until"),
        project=project, branch=opts.get("branch"), breakdown=opts["breakdown"],
        json_out=opts["json"], db=db, roots=roots,
    )  # fmt: skip
    cached = _load(db, key)
    if cached is None or cached[0] != key.encode("utf-8", "surrogateescape"):
        return False
    # Codex CLI's rollouts are ingested beside Claude Code's logs (ccspend.ingest_codex)
    from ccspend.sources.logfiles import is_rollout

    codex = [f for f in log_files([paths.codex_sessions_str()], db) if is_rollout(f[0])]
    state = fingerprint(log_files(roots, db) + codex, db)
    if cached[1] != state.encode("utf-8", "surrogateescape"):
        return False
    sys.stdout.write(cached[2].decode("utf-8", "surrogateescape"))
    sys.stderr.write(cached[3].decode("utf-8", "surrogateescape"))
    sys.stdout.flush()
    return True
