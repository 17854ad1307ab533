"""The loaded rate card, kept in a pickle while the files it was made from are unchanged.

Why: every report, run and route prices something, and building the card (TOML,
pydantic validation, the id index) costs ~180 ms with pydantic's import, against
~1 ms to unpickle. The key is the version of ccspend and the size and mtime of
every file the card depends on (the shipped card, the user's overrides, the code
that builds it), so an edit to any of them is seen at once. The pickle lives in
the user's data directory, is written owner-only, and is loaded only if the
current user owns it; anything unreadable is rebuilt.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from ccspend import __version__
from ccspend.core import paths
from ccspend.core.files import write_cache

_NAME = "rate-card.pickle"


def _path() -> str:
    """``$CCSPEND_CARD_CACHE``, else ``rate-card.pickle`` in the user's data directory."""
    return os.environ.get("CCSPEND_CARD_CACHE") or os.path.join(paths.data_dir_str(), _NAME)


def key(files: list[Path | None]) -> tuple:
    parts: list = [__version__]
    for f in files:
        if f is None:
            parts.append(None)
            continue
        try:
            st = os.stat(f)
            parts.append((str(f), st.st_size, st.st_mtime_ns))
        except OSError:
            parts.append(None)  # a missing file (no overrides) is the same wherever it is not
    return tuple(parts)


def get(wanted: tuple):
    """The card stored under ``wanted``, or None."""
    try:
        with open(_path(), "rb") as fh:
            if os.fstat(fh.fileno()).st_uid != os.getuid():
                return None
            stored, card = pickle.load(fh)
    except Exception:  # noqa: BLE001 - a missing or damaged cache is rebuilt
        return None
    return card if stored == wanted else None


def put(k: tuple, card) -> None:
    write_cache(_path(), pickle.dumps((k, card), protocol=pickle.HIGHEST_PROTOCOL))
