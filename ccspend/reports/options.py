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


def check_source(con, source: str | None) -> None:
    """A UsageError for a ``--source`` (as ``source_filter`` read it) that names nothing:
    not one of ``SOURCES``, nor the provider of any imported row (a generic CSV may name
    any provider). ``con``: an open store connection."""
    if source is None or source in SOURCES:
        return
    from ccspend.store import imported

    known = imported.providers(con)
    if source not in known:
        raise UsageError(f"--source {source!r}: use {', '.join(SOURCES)} or all"
                         + (f", or an imported provider: {', '.join(known)}" if known else ""))
