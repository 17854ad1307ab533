"""A report's options as a user writes them, read into what the queries take.

Dates (``YYYY-MM-DD`` or ``YYYYMMDD``), ``--project`` as the absolute path
Claude Code logs, and ``--source``. Standard library only: the fast front
ends read options with these before anything heavy is imported.
"""

from __future__ import annotations

from pathlib import Path

from ccspend.core.errors import UsageError

SOURCES = ("local", "codex", "anthropic", "openai", "openrouter")


def parse_day(text: str):
    """``YYYY-MM-DD`` or ``YYYYMMDD`` (the one definition every command uses)."""
    from datetime import datetime

    text = text.strip()
    fmt = "%Y%m%d" if len(text) == 8 and text.isdigit() else "%Y-%m-%d"
    return datetime.strptime(text, fmt).date()


def project_path(project: str | None) -> str | None:
    """``--project`` as an absolute path without a trailing slash (how cwd is logged)."""
    if not project:
        return None
    return str(Path(project).expanduser().absolute()).rstrip("/") or "/"


def source_filter(source: str | None) -> str | None:
    """``--source`` as the value of ``Filters.source`` (None: every source).

    A generic CSV import can name any provider, so an unlisted name is taken as
    a provider's; it only has to look like one.
    """
    if source is None or source.strip().lower() in ("", "all"):
        return None
    value = source.strip().lower()
    if value not in SOURCES and not value.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"--source {source!r}: use {', '.join(SOURCES)} or all")
    return value
