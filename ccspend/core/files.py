"""Atomic file writes: a reader sees the old file or the new one, never half of one.

ccspend writes many small files that other processes read at any moment: the
status line's summary and state, the answer cache, the price index, the run
journal, the user's config, Claude Code's settings. Each is written to a
temporary file in the same folder and renamed over the old one, which POSIX
makes atomic. The standard library only (``os`` and ``_thread``): the status
line and the cap hook write through here on every call.

Everything ccspend keeps is owner-only, whatever the umask: a file 0600, a
folder it creates 0700 (the config holds webhook URLs; the caches, the state and
the database hold what your sessions cost, where and on which branch).
"""

from __future__ import annotations

import os
from _thread import get_ident

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def write_atomic(path, data: bytes | str | list, *, mode: int = PRIVATE_FILE,
                 folder_mode: int = PRIVATE_FOLDER) -> None:  # fmt: skip
    """Replace ``path`` with ``data`` (text is written as UTF-8; a list, of ``bytes``-like
    pieces, one after another) in one step.

    The folder is created if missing (with ``folder_mode``), the file with
    ``mode`` (both less the umask). On any failure the temporary file is
    removed and the error raised; ``path`` is then as it was.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=folder_mode, exist_ok=True)
    # the process and the thread in the name: two writers never share a temporary file
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}-{get_ident()}.tmp")
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            for piece in data if isinstance(data, list) else (data,):
                fh.write(piece)
        os.replace(tmp, path)
    except BaseException:
        try:  # noqa: SIM105 - contextlib is an import the status line need not pay for
            os.unlink(tmp)
        except OSError:
            pass
        raise


def private_folder(path) -> None:
    """Make the folder ``path`` (owner-only when it is made here) if it is missing."""
    os.makedirs(os.fspath(path), mode=PRIVATE_FOLDER, exist_ok=True)


def append_private(path, text: str) -> None:
    """Append ``text`` to ``path``, created owner-only if missing (its folder too)."""
    path = os.fspath(path)
    private_folder(os.path.dirname(path) or ".")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(text)


def write_cache(path, data: bytes | str | list, *, mode: int = PRIVATE_FILE,
                folder_mode: int = PRIVATE_FOLDER) -> bool:  # fmt: skip
    """``write_atomic`` for a file that can always be made again: a failure (a full
    disk, a read-only folder) is not an error. True if the file was written."""
    try:
        write_atomic(path, data, mode=mode, folder_mode=folder_mode)
    except OSError:
        return False
    return True
