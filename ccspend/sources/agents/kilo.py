"""Kilo CLI, a fork of OpenCode: the same tables and JSON, so the same reader
(``opencode``: per-step parts, forks, subagent sessions), from its own place:
``$KILO_DATA_DIR``, else ``$XDG_DATA_HOME/kilo``, file ``kilo.db``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents import dbrecords, opencode

NAME = "kilo"
FAMILY = "opencode"
DB_NAME = "kilo"


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    return dbrecords.env_dirs(env, "KILO_DATA_DIR") or [dbrecords.xdg_data(env, home) / DB_NAME]


def discover(roots: list[Path]) -> Iterator[Path]:
    return dbrecords.find_dbs(roots, lambda name: opencode.accept(name, DB_NAME))


def records(rows: dict) -> tuple[list[dict], int]:
    return opencode.records(rows, NAME)
