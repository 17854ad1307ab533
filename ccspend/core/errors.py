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
    CAPPED = 124  # ``ccspend run``: the agent was stopped at its cap (as timeout(1) does)
    INTERRUPTED = 130
    TERMINATED = 143  # SIGTERM (128 + 15), as a shell reports it


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
