"""DuckDB itself: its C extension, without the Python layer ccspend never uses.

Why a module of its own: ``import duckdb`` (2.x) loads a Python layer on top
of the engine (relations, expressions, its version through importlib.metadata)
that costs about 100 ms of CPU per process, against 15 ms for the extension
``_duckdb`` that the package re-exports. Every command that opens the store
(a cold report, the CLI's other commands, each test process) paid it. The
extension answers every call ccspend makes (``connect``, ``Error``,
``DuckDBPyConnection``, ``StatementType``, ``tokenize``, ``extract_statements``);
a DuckDB without a top-level ``_duckdb`` (1.x) is imported as the package.

Import it where a database is opened (``from ccspend.store.engine import duckdb``),
not at the top of a module a cold start imports before it forks.
"""

import signal
import threading

# A Ctrl-C or SIGTERM whose handler raises while the extension initialises (from
# inside the extension's own calls into Python) aborts the process ("Critical
# nanobind error"). During the import a signal is only noted; it is raised again
# once the import is done, and handled as anywhere else.
_held = (signal.SIGINT, signal.SIGTERM)
_caught: list[int] = []
_saved = {}
if threading.current_thread() is threading.main_thread():
    _saved = {sig: signal.getsignal(sig) for sig in _held}
    for _sig in _held:
        signal.signal(_sig, lambda signum, _frame: _caught.append(signum))
try:
    try:
        import _duckdb as duckdb
    except ImportError:  # pragma: no cover - DuckDB 1.x keeps its extension inside the package
        import duckdb  # type: ignore[no-redef]
finally:
    for _sig, _handler in _saved.items():
        signal.signal(_sig, _handler)
    for _sig in _caught:
        signal.raise_signal(_sig)

__all__ = ["duckdb"]
