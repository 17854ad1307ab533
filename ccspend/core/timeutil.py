"""Time zones: a day is a day in the user's zone, so reports need an IANA name."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ccspend.core.errors import UsageError


def local_timezone() -> str:
    """The machine's IANA time zone name (``TZ``, then /etc/localtime), else UTC."""
    env = os.environ.get("TZ", "").strip().lstrip(":")
    if env and _valid(env):
        return env
    try:
        target = os.readlink("/etc/localtime")
        marker = "zoneinfo/"
        if marker in target:
            name = target.split(marker, 1)[1]
            if _valid(name):
                return name
    except OSError:
        pass
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name and _valid(name):
            return name
    except OSError:
        pass
    return "UTC"


def _valid(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_timezone(name: str | None) -> str:
    """The zone to report in: the given IANA name, checked, or the machine's."""
    if not name:
        return local_timezone()
    if not _valid(name):
        raise UsageError(f"unknown time zone {name!r}", hint="use an IANA name like Europe/Paris")
    return name
