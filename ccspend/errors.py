"""ccspend's own errors, each carrying the exit code the CLI returns.

Library code raises these; only the CLI turns them into a one-line message and
an exit code, so no user ever sees a traceback for bad input.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes are an API: scripts rely on them (see the README)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    STORE_BUSY = 3
    REFUSED = 4  # a budget is exhausted, or the pre-flight estimate exceeds the cap
    INTERRUPTED = 130


class CcspendError(Exception):
    """An error with a message fit for a user, and the exit code it maps to."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(CcspendError):
    exit_code = ExitCode.USAGE


class StoreBusy(CcspendError):
    """Another ccspend process held the database for longer than we wait."""

    exit_code = ExitCode.STORE_BUSY


class StoreTooNew(CcspendError):
    """The database was written by a newer ccspend: refuse rather than damage it."""

    exit_code = ExitCode.STORE_BUSY


class StoreCorrupt(CcspendError):
    """The database path holds something that is not a ccspend DuckDB file."""


class RateCardError(CcspendError):
    """A rate card or overrides file that cannot be read."""


def say(exc: BaseException) -> int:
    """Write the one line a ccspend command ends with for ``exc``; return its exit code.

    Every entry point (the typer CLI, the typer-free report and review paths)
    ends the same way: a ccspend error, an interrupt or a file the user named
    as one line on stderr, anything else as an internal error (re-raised, with
    its traceback, when ``CCSPEND_DEBUG`` is set).
    """
    import os
    import sys

    if isinstance(exc, CcspendError):
        msg, code = f"error: {exc}", int(exc.exit_code)
    elif isinstance(exc, KeyboardInterrupt):
        msg, code = "interrupted", int(ExitCode.INTERRUPTED)
    elif isinstance(exc, OSError):  # a file or folder the user named: say which, and why
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        msg, code = f"error:{where}: {exc.strerror or exc}", int(ExitCode.ERROR)
    else:
        if os.environ.get("CCSPEND_DEBUG"):
            raise exc
        msg = (f"internal error: {type(exc).__name__}: {exc} "
               "(set CCSPEND_DEBUG=1 for a traceback)")  # fmt: skip
        code = int(ExitCode.ERROR)
    sys.stderr.write(f"ccspend: {msg}\n")
    return code
