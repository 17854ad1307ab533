"""Where ccspend looks for logs and keeps its own files.

Every location can be overridden by an environment variable, so tests and
benchmarks never touch the real home directory:

- ``CCSPEND_DB``: the database file (default: the platform's user data dir).
- ``CCSPEND_CONFIG_DIR``: config directory (rate overrides, budgets).
- ``CLAUDE_CONFIG_DIR``: Claude Code's config dir(s), comma-separated.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "ccspend"


def data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP, appauthor=False))


def config_dir() -> Path:
    env = os.environ.get("CCSPEND_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP, appauthor=False))


def default_db_path() -> Path:
    env = os.environ.get("CCSPEND_DB")
    if env:
        return Path(env).expanduser()
    return data_dir() / "ccspend.duckdb"


def rate_overrides_path() -> Path:
    return config_dir() / "rates.toml"


def claude_config_dirs() -> list[Path]:
    """Claude Code's config directories, in the order Claude Code itself uses.

    ``CLAUDE_CONFIG_DIR`` (comma-separated) wins; otherwise both
    ``~/.config/claude`` and ``~/.claude``, whichever exist.
    """
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return [Path(p.strip()).expanduser() for p in env.split(",") if p.strip()]
    home = Path.home()
    return [home / ".config" / "claude", home / ".claude"]


def claude_project_roots(explicit: list[Path] | None = None) -> list[Path]:
    """The ``projects`` folders to scan (existing or not, so we can say where we looked).

    ``explicit`` (from ``--claude-dir``) replaces the defaults; each may be a
    config dir (holding ``projects/``) or a projects dir itself.
    """
    bases = explicit if explicit else claude_config_dirs()
    roots: list[Path] = []
    for base in bases:
        base = Path(base).expanduser()
        root = base / "projects" if (base / "projects").is_dir() or not base.is_dir() else base
        if root not in roots:
            roots.append(root)
    return roots
