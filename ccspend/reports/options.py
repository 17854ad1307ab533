"""A report's options as a user writes them, read into what the queries take.

Dates (``YYYY-MM-DD`` or ``YYYYMMDD``), ``--project`` as the absolute path
Claude Code logs, and ``--source``. Standard library only: the fast front
ends read options with these before anything heavy is imported.
"""

from __future__ import annotations

from pathlib import Path

from ccspend.core.errors import UsageError
from ccspend.sources.agents import names as agent_names

# Claude Code's logs, each registered agent's (``sources.agents``), the providers' imports
SOURCES = ("local", *agent_names(), "anthropic", "openai", "openrouter")


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


# -- a ccusage user's habits (docs/ccusage-flags.md) -----------------------------------------

ORDERS = ("asc", "desc")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def looks_like_day(text: str) -> bool:
    """Whether ``--since``/``--until`` was meant as a day: eight digits (YYYYMMDD) or
    YYYY-MM-DD's shape. Anything else given to ``--since`` is a git ref."""
    t = text.strip()
    if len(t) == 8:
        return t.isdigit()
    return len(t) == 10 and t[4] == t[7] == "-" and t.replace("-", "").isdigit()


def parse_order(text: str | None) -> str | None:
    """``--order`` as ``asc`` or ``desc`` (None: the report's own order)."""
    if text is None:
        return None
    value = text.strip().lower()
    if value not in ORDERS:
        raise UsageError(f"--order takes asc or desc, not {text!r}")
    return value


def parse_weekday(text: str, where: str = "--start-of-week", error=UsageError) -> int:
    """A day of the week by its name (``sunday``, or its first three letters ``sun``):
    0 for Monday to 6 for Sunday, as ``date.weekday`` counts. ``error``: the exception
    a bad name raises (a usage error on the command line, another in the config)."""
    value = text.strip().lower()
    for i, day in enumerate(WEEKDAYS):
        if value == day or (len(value) >= 3 and day.startswith(value)):
            return i
    raise error(f"{where} takes a day of the week, monday to sunday, not {text!r}")


def last_days(n: int, tz: str, since: str | None = None, until: str | None = None):
    """``--last N``: the first and last day of the last ``n`` days, today included,
    in the report's time zone ``tz``. It says both ends: with ``--since`` or
    ``--until`` (``since``, ``until``) it is a usage error."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    if since or until:
        raise UsageError("--last N is the last N days, today included: give it without "
                         "--since and --until")  # fmt: skip
    if n <= 0:
        raise UsageError(f"--last takes a positive whole number, not '{n}'")
    today = datetime.now(ZoneInfo(tz)).date()
    return today - timedelta(days=n - 1), today


def week_start(given: str | None) -> int:
    """The day weekly reports start on (0 Monday .. 6 Sunday): ``--start-of-week``,
    else the config's ``[reports] start_of_week``, else Monday."""
    if given is not None:
        return parse_weekday(given)
    from ccspend.core import config
    from ccspend.core.errors import CcspendError

    path = config.config_path()
    name = config.start_of_week(path)
    return 0 if name is None else parse_weekday(name, f"{path}: reports.start_of_week",
                                                 CcspendError)  # fmt: skip


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
