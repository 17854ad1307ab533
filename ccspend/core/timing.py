"""Where a run's time goes, when ``CCSPEND_TIMING`` names a file (the benchmarks).

A report after one new log line should cost little more than the cached answer;
finding which part does not (the interpreter and imports, opening the store,
listing the logs, the ingest, the query, the rendering) needs the phases timed
inside the process. ``mark`` notes the wall clock at the end of a phase;
``flush`` appends them to the file as ``name<TAB>epoch seconds`` lines, so the
benchmark can subtract its own spawn time for the interpreter's start. With
the variable unset, ``mark`` is one global lookup and a return.
"""

from __future__ import annotations

import os
import time

_FILE = os.environ.get("CCSPEND_TIMING")
_MARKS: list[tuple[str, float]] = []


def mark(name: str) -> None:
    """The phase ``name`` ends now."""
    if _FILE:
        _MARKS.append((name, time.time()))


def flush() -> None:
    """Append the marks to ``CCSPEND_TIMING``'s file (a failure is ignored: a benchmark aid)."""
    if not _FILE or not _MARKS:
        return
    try:
        with open(_FILE, "a", encoding="utf-8") as fh:
            fh.write("".join(f"{n}\t{t:.6f}\n" for n, t in _MARKS))
            fh.write("end\t\n")
    except OSError:
        pass
    _MARKS.clear()
