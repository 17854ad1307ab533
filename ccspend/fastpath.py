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
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path

from ccspend import __version__, paths
from ccspend.sources.logfiles import LogFile

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
    db: Path,
    roots: list[Path],
) -> str:
    """What an answer depends on besides the data: the request and the terminal."""
    try:
        width = os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        width = None
    env = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR", "FORCE_COLOR", "TERM")}
    parts = {
        "v": __version__,
        "name": name,
        "tz": tz,
        "since": since,
        "until": until,
        "project": project,
        "branch": branch,
        "breakdown": breakdown,
        "json": json_out,
        "db": str(db),
        "roots": [str(r) for r in roots],
        "width": width,
        "tty": (sys.stdout.isatty(), sys.stderr.isatty()),
        "env": env,
    }
    return json.dumps(parts, sort_keys=True)


def _stat(path: Path) -> list:
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns, st.st_ino]


def fingerprint(files: list[LogFile], db: Path) -> str:
    """The state an answer was computed from: every log's stat, the database, the prices.

    Kept whole rather than hashed (no hashlib import on the warm path, and no
    collision can ever serve a stale answer).
    """
    card = Path(__file__).parent / "pricing" / "data" / "rates.toml"
    extra = [_stat(db), _stat(Path(str(db) + ".wal")), _stat(card),
             _stat(paths.rate_overrides_path())]  # fmt: skip
    logs = "".join(
        f"{f.path}\0{f.size}\0{f.mtime_ns}\0{f.ino}\n" for f in sorted(files)
    )
    return logs + json.dumps(extra)


def cache_dir(db: Path) -> Path:
    return Path(str(db) + ".cache")


def _entry_name(key: str) -> str:
    return f"{zlib.crc32(key.encode()):08x}"


def save(db: Path, key: str, state: str, stdout: str, stderr: str) -> None:
    """Remember an answer; a failure to write the cache is never an error."""
    folder = cache_dir(db)
    name = _entry_name(key)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = folder / f".{name}.{os.getpid()}"
        tmp.write_text(
            json.dumps({"key": key, "state": state, "stdout": stdout, "stderr": stderr})
        )
        os.replace(tmp, folder / name)
    except OSError:
        pass


def serve(argv: list[str]) -> bool:
    """Print a cached answer for ``argv`` if one is still right; True if it did."""
    if os.environ.get("CCSPEND_NO_CACHE"):
        return False
    opts = parse(argv)
    if opts is None:
        return False
    from ccspend.sources.logfiles import discover
    from ccspend.timeutil import check_timezone

    try:
        tz = check_timezone(opts.get("timezone"))
    except Exception:  # noqa: BLE001 - the full CLI reports it properly
        return False
    db = Path(opts["db"]).expanduser() if opts.get("db") else paths.default_db_path()
    db = db.absolute()
    roots = paths.claude_project_roots([Path(p) for p in opts["claude_dir"]] or None)
    project = opts.get("project")
    if project:
        project = str(Path(project).expanduser().absolute()).rstrip("/") or "/"
    key = request_key(
        name=opts["name"], tz=tz, since=opts.get("since"), until=opts.get("until"),
        project=project, branch=opts.get("branch"), breakdown=opts["breakdown"],
        json_out=opts["json"], db=db, roots=roots,
    )  # fmt: skip
    try:
        cached = json.loads((cache_dir(db) / _entry_name(key)).read_text())
    except (OSError, ValueError):
        return False
    if cached.get("key") != key or cached.get("state") != fingerprint(list(discover(roots)), db):
        return False
    sys.stdout.write(cached["stdout"])
    sys.stderr.write(cached["stderr"])
    sys.stdout.flush()
    return True
