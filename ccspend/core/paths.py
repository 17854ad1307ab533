"""Where ccspend looks for logs and keeps its own files.

Every location can be overridden by an environment variable, so tests and
benchmarks never touch the real home directory:

- ``CCSPEND_DB``: the database file (default: the platform's user data dir).
- ``CCSPEND_CONFIG_DIR``: config directory (rate overrides and updates, budgets).
- ``CLAUDE_CONFIG_DIR``: Claude Code's config dir(s), comma-separated.

Each location exists twice: as a ``Path`` (the public functions) and as a
string (``*_str``). The string forms import neither pathlib nor platformdirs,
because a warm report (``ccspend.reports.answer_cache``) has a budget of a few
milliseconds for everything before its answer, and those two imports alone
cost more than that. The ``Path`` forms are built from the string forms, so
there is one answer per location, and ``str(path)`` is always the string form.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (4 ms)
if TYPE_CHECKING:
    from pathlib import Path

APP = "ccspend"

# platformdirs' user dirs on Linux: (environment variable, default under $HOME).
_XDG = {"data": ("XDG_DATA_HOME", "~/.local/share"), "config": ("XDG_CONFIG_HOME", "~/.config")}


# -- strings, without pathlib ----------------------------------------------


def norm(path: str) -> str:
    """``str(PurePosixPath(path))`` without importing pathlib.

    pathlib drops empty and ``.`` components and a trailing slash, and keeps
    ``..`` and a leading ``//`` (POSIX leaves its meaning to the system).
    """
    if os.sep != "/":  # Windows: pathlib's rules differ; pay for the import there
        from pathlib import Path

        return str(Path(path))
    if path.startswith("/"):
        root = "//" if path.startswith("//") and not path.startswith("///") else "/"
    else:
        root = ""
    parts = [p for p in path.split("/") if p and p != "."]
    return root + "/".join(parts) if (root or parts) else "."


def expand(path: str) -> str:
    """``str(Path(path).expanduser())``."""
    if path.startswith("~"):
        head, sep, tail = path.partition("/")
        home = os.path.expanduser(head)
        if not home.startswith("~"):  # pathlib raises here; leave it unexpanded instead
            path = home + sep + tail
    return norm(path)


def missing_dir_warnings(claude_dirs) -> list[str]:
    """A warning for each folder given with ``--claude-dir`` that is not there: what
    follows then comes from the history already stored, which a typo would otherwise
    pass off as a quiet month."""
    return [f"--claude-dir {d}: no such folder, so no log was read there; the figures "
            "come from the history already in the database"
            for d in map(str, claude_dirs) if not os.path.isdir(expand(d))]


def absolute(path: str) -> str:
    """``str(Path(path).absolute())``: relative to the working directory, not resolved."""
    path = norm(path)
    if path.startswith("/") or os.sep != "/":
        if os.sep != "/":
            from pathlib import Path

            return str(Path(path).absolute())
        return path
    return norm(os.getcwd() + "/" + path)


def _user_dir(kind: str) -> str:
    """platformdirs' ``user_<kind>_dir`` for ccspend.

    On Linux it is the XDG rule, computed here: ``$XDG_<KIND>_HOME`` if it is
    an absolute path, else ``~/.local/share`` or ``~/.config``, then
    ``/ccspend``. Anything unusual (another system, a relative ``HOME``) asks
    platformdirs itself.
    """
    var, default = _XDG[kind]
    android = os.environ.get("ANDROID_DATA") == "/data" and os.environ.get(
        "ANDROID_ROOT"
    ) == "/system"
    home = os.environ.get("HOME")
    if sys.platform == "linux" and not android and (home is None or home.startswith("/")):
        base = os.environ.get(var, "")
        if not base.startswith("/"):
            base = os.path.expanduser(default)
        if base.startswith("/"):
            return norm(os.path.join(base, APP))
    import platformdirs

    fn = platformdirs.user_data_dir if kind == "data" else platformdirs.user_config_dir
    return norm(fn(APP, appauthor=False))


def data_dir_str() -> str:
    return _user_dir("data")


def config_dir_str() -> str:
    env = os.environ.get("CCSPEND_CONFIG_DIR")
    if env:
        return expand(env)
    return _user_dir("config")


def default_db_str() -> str:
    env = os.environ.get("CCSPEND_DB")
    if env:
        return expand(env)
    return data_dir_str() + "/ccspend.duckdb"


def rate_overrides_str() -> str:
    return config_dir_str() + "/rates.toml"


RATE_UPDATES_NAME = "rates-updates.toml"  # beside rates.toml: ``ccspend rates update``


def rate_updates_str() -> str:
    return config_dir_str() + "/" + RATE_UPDATES_NAME


def claude_config_dir_strs() -> list[str]:
    """Claude Code's config directories, in the order Claude Code itself uses.

    ``CLAUDE_CONFIG_DIR`` (comma-separated) wins; otherwise both
    ``~/.config/claude`` and ``~/.claude``, whichever exist.
    """
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return [expand(p.strip()) for p in env.split(",") if p.strip()]
    home = norm(os.path.expanduser("~"))
    return [norm(home + "/.config/claude"), norm(home + "/.claude")]


def codex_sessions_str() -> str:
    """Codex CLI's session logs: ``$CODEX_HOME/sessions``, else ``~/.codex/sessions``."""
    home = os.environ.get("CODEX_HOME", "").strip()
    base = expand(home) if home else norm(os.path.expanduser("~") + "/.codex")
    return norm(base + "/sessions")


def claude_project_root_strs(explicit: list[str] | None = None) -> list[str]:
    """The ``projects`` folders to scan (existing or not, so we can say where we looked).

    ``explicit`` (from ``--claude-dir``) replaces the defaults; each may be a
    config dir (holding ``projects/``) or a projects dir itself.
    """
    bases = [expand(str(b)) for b in explicit] if explicit else claude_config_dir_strs()
    roots: list[str] = []
    isdir = os.path.isdir
    for base in bases:
        sub = norm(base + "/projects")
        root = sub if isdir(sub) or not isdir(base) else base
        if root not in roots:
            roots.append(root)
    return roots


# -- the same locations as Paths -------------------------------------------


def data_dir() -> Path:
    from pathlib import Path

    return Path(data_dir_str())


def config_dir() -> Path:
    from pathlib import Path

    return Path(config_dir_str())


def default_db_path() -> Path:
    from pathlib import Path

    return Path(default_db_str())


def rate_overrides_path() -> Path:
    from pathlib import Path

    return Path(rate_overrides_str())


def rate_updates_path() -> Path:
    from pathlib import Path

    return Path(rate_updates_str())


def claude_config_dirs() -> list[Path]:
    from pathlib import Path

    return [Path(p) for p in claude_config_dir_strs()]


def claude_project_roots(explicit: list[Path] | None = None) -> list[Path]:
    """``claude_project_root_strs`` as Paths."""
    from pathlib import Path

    return [Path(p) for p in claude_project_root_strs([str(p) for p in explicit or []] or None)]
