"""The one package that owns DuckDB: opening, locking, migrations, and named queries.

DuckDB admits one writing process at a time, and while a process holds the
file read-write no other process may open it at all. So every ccspend process
opens the database for one short piece of work and closes it again; a process
that finds it locked waits and retries (``CCSPEND_LOCK_TIMEOUT`` seconds,
default 15) and then fails with a clear error. DuckDB errors become ccspend
errors here, and nowhere else.

``database`` holds the store itself (``Store``, its connections and writes, the runs'
journal). This file imports nothing of ccspend's: it gives ``database``'s names, and the
submodules, on first use (PEP 562), so that a report's first step, ``store.early``
(the file attached in a thread), starts before the rest of the store is imported.
"""

import os
import sys


def __getattr__(name: str):
    """A submodule (``from ccspend.store import queries``), else a name of ``database``."""
    if name.startswith("__"):
        raise AttributeError(name)
    if os.path.isfile(os.path.join(__path__[0], name + ".py")):  # a stat, not a failed import
        __import__(f"{__name__}.{name}")
        value = sys.modules[f"{__name__}.{name}"]
    else:
        __import__(f"{__name__}.database")
        try:
            value = getattr(sys.modules[f"{__name__}.database"], name)
        except AttributeError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value
