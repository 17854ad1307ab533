"""Atomic file writes: a reader sees the old file or the new one, never half of one.

ccspend writes many small files that other processes read at any moment: the
status line's summary and state, the answer cache, the price index, the run
journal, the user's config, Claude Code's settings. Each is written to a
temporary file in the same folder and renamed over the old one, which POSIX
makes atomic. The standard library only (``os`` and ``_thread``): the status
line and the cap hook write through here on every call.
"""

from __future__ import annotations

import os
from _thread import get_ident


def write_atomic(path, data: bytes | str, *, mode: int = 0o666, folder_mode: int = 0o777) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step.

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
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:  # noqa: SIM105 - contextlib is an import the status line need not pay for
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_cache(path, data: bytes | str, *, mode: int = 0o600, folder_mode: int = 0o700) -> bool:
    """``write_atomic`` for a file that can always be made again: a failure (a full
    disk, a read-only folder) is not an error. True if the file was written."""
    try:
        write_atomic(path, data, mode=mode, folder_mode=folder_mode)
    except OSError:
        return False
    return True
