"""Finding log files: a directory walk that needs nothing beyond the standard library.

Kept apart from the parser so that the warm path (``ccspend.reports.answer_cache``), which
only needs to know whether any log changed, imports no parsing machinery.
The walk itself is ``stat_logs``: plain tuples of strings and ints, no Path
objects, because a warm report walks thousands of files and its whole budget
is a few tens of milliseconds; on a big log folder the system calls (one
``scandir`` per folder, one ``stat`` per file) are nearly all of what it costs.

Every file must still be stat'ed on every walk (an append changes a file's
size, not its folder), but a folder's listing need not be read again while
the folder itself is unchanged: creating, removing or renaming an entry
changes the folder's ctime, which nothing can set back (unlike mtime, which
``touch`` and ``rsync`` can). So a walk can be handed the listings an earlier
walk learned (``known``), keyed by folder and trusted while the folder's
(ctime, inode, device) match. That turns a ``scandir`` (open, read, close)
into one ``stat`` per folder. A folder changed in the few seconds before it
was listed is never remembered: a later change could fall in the same tick
of a coarse clock and leave the ctime as it was. This is the same trust the
ingest puts in a file's size and mtime.
"""

from __future__ import annotations

import os
import time
from collections import namedtuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

SUBAGENT_PREFIX = "agent-"
_SUBAGENTS = os.sep + "subagents"
RACY_NS = 5_000_000_000  # a folder changed this recently is read again on every walk

LogFile = namedtuple("LogFile", "path size mtime_ns dev ino agent_id", defaults=(None,))
LogFile.__doc__ = """One ``*.jsonl`` below a Claude ``projects`` folder, as stat saw it.

``agent_id`` is set for subagent transcripts, ``<session>/subagents/agent-<id>.jsonl``."""

Stat = tuple  # (path, size, mtime_ns, dev, ino)
# A folder listing in ``known``/``learned``: folder -> ((ctime_ns, ino, dev), files, subfolders).


def stat_logs(
    roots: Iterable[str | os.PathLike],
    suffix: str = ".jsonl",
    known: dict | None = None,
    learned: dict | None = None,
    unreadable: dict | None = None,
) -> list[Stat]:
    """``(path, size, mtime_ns, dev, ino)`` of every regular ``*suffix`` file below ``roots``.

    Folders are entered without following symbolic links (a link to a folder
    is not a log; a link loop cannot trap the walk); a file reached twice
    (overlapping roots, hard links) is listed once. A missing or unreadable
    root or folder is skipped: where nothing can be read there is nothing to
    report; ``unreadable``, if given, is filled with each folder that exists but
    could not be listed (path -> why), for a warning that names it.

    ``known``: folder listings learned by an earlier walk, used instead of
    reading a folder that has not changed since. ``learned``: a dict this
    walk fills with the listings a later walk may trust.
    """
    out: list[Stat] = []
    add = out.append
    seen: set[tuple[int, int]] = set()
    scandir = os.scandir
    stat = os.stat
    check = known is not None or learned is not None
    oldest = time.time_ns() - RACY_NS  # taken before any folder is stat'ed
    for root in roots:
        stack = [os.fspath(root)]
        push = stack.append
        pop = stack.pop
        while stack:
            folder = pop()
            if check:
                try:
                    fst = stat(folder)  # before the listing: a later change shows next time
                except OSError:
                    continue
                ident = (fst.st_ctime_ns, fst.st_ino, fst.st_dev)
                hint = known.get(folder) if known is not None else None
                if hint is not None and hint[0] == ident:
                    prefix = folder if folder.endswith(os.sep) else folder + os.sep
                    for name in hint[1]:
                        path = prefix + name
                        try:
                            st = stat(path)
                        except OSError:
                            continue
                        if st.st_mode & 0o170000 != 0o100000:
                            continue
                        key = (st.st_dev, st.st_ino)
                        if key not in seen:
                            seen.add(key)
                            add((path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino))
                    for name in hint[2]:
                        push(prefix + name)
                    if learned is not None:
                        learned[folder] = hint
                    continue
            try:
                entries = scandir(folder)
            except FileNotFoundError:
                continue  # a root not made yet (no agent of that kind), or just removed
            except OSError as exc:
                if unreadable is not None:
                    unreadable[folder] = exc.strerror or type(exc).__name__
                continue
            files: list[str] = []
            subs: list[str] = []
            with entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            push(entry.path)
                            subs.append(entry.name)
                            continue
                        if not entry.name.endswith(suffix):
                            continue
                        files.append(entry.name)
                        st = entry.stat()
                    except OSError:
                        continue
                    if st.st_mode & 0o170000 != 0o100000:
                        continue  # not a regular file (a FIFO, a link to a folder)
                    key = (st.st_dev, st.st_ino)
                    if key in seen:
                        continue
                    seen.add(key)
                    add((entry.path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino))
            if learned is not None and fst.st_ctime_ns <= oldest:
                learned[folder] = (ident, tuple(files), tuple(subs))
    return out


def complete_end(path: str, size: int) -> int:
    """The offset just past the file's last newline: the end of its last complete line
    (a line after it is still being written, and is read with the rest next time)."""
    with open(path, "rb") as fh:
        step = 64 * 1024
        pos = size
        while pos > 0:
            start = max(0, pos - step)
            fh.seek(start)
            chunk = fh.read(pos - start)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                return start + nl + 1
            pos = start
    return 0


def is_rollout(path: str) -> bool:
    """A Codex CLI session log (``rollout-*.jsonl``), as opposed to any other JSONL."""
    name = os.path.basename(path)
    return name.startswith("rollout-") and name.endswith(".jsonl")


def discover(roots: Iterable[str | os.PathLike],
             unreadable: dict | None = None) -> Iterator[LogFile]:
    """Every ``*.jsonl`` below the given ``projects`` folders (subagent files included);
    the folders that could not be listed go to ``unreadable`` (``stat_logs``)."""
    return log_files_of(stat_logs(roots, unreadable=unreadable))


def log_files_of(rows: Iterable[Stat]) -> Iterator[LogFile]:
    """``LogFile``s of a walk's stat rows (``stat_logs``), subagent files marked."""
    for path, size, mtime_ns, dev, ino in rows:
        agent_id = None
        name = os.path.basename(path)
        if name.startswith(SUBAGENT_PREFIX) and os.path.dirname(path).endswith(_SUBAGENTS):
            agent_id = name[len(SUBAGENT_PREFIX) : -len(".jsonl")]
        yield LogFile(path, size, mtime_ns, dev, ino, agent_id)


def storable(files: Iterable[LogFile]) -> tuple[list[LogFile], dict[str, str]]:
    """The files whose path the store can hold, and the others (named printably) with why.

    A path is a database key, so it must be UTF-8; Linux allows any bytes in a
    name (Claude Code never makes such a name, but a copied or restored folder
    can). Such a file is reported, never a reason for the whole ingest to fail.
    """
    ok: list[LogFile] = []
    bad: dict[str, str] = {}
    for f in files:
        try:
            f.path.encode("utf-8")
        except UnicodeEncodeError:
            shown = f.path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            bad[shown] = "its name is not UTF-8"
            continue
        ok.append(f)
    return ok, bad
