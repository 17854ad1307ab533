"""The user's config file (TOML, in the platform's config directory).

``ccspend config path`` prints where it is; ``ccspend budget set daily 20``
writes to it. It holds budgets (global, and per project, branch and task, each a
hard cap per day, week or month with soft alert percentages), where alerts go,
and rate limits for ``ccspend run``::

    [budgets]
    daily = 20                # dollars: the hard cap
    alert_at = [50, 80]       # soft alerts, percent of each cap (the default)

    [budgets.project."~/src/app"]
    weekly = 40

    [budgets.branch.main]
    daily = 5

    [budgets.task.nightly-triage]
    daily = 2
    alert_at = [75]

    [alerts]
    webhook_url = "https://hooks.slack.com/services/..."   # or CCSPEND_ALERT_WEBHOOK
    command = ["notify.sh", "--urgent"]                     # gets the alert as JSON on stdin
    desktop = true

    [limits]
    max_requests_per_minute = 60
    max_usd_per_hour = 10

    [reports]
    start_of_week = "sunday"  # weekly reports (default monday); --start-of-week wins

Read with the standard library only: ``ccspend run`` and the cap hooks read it
before the agent starts, where every millisecond of import shows.
"""

from __future__ import annotations

import os
from pathlib import Path

from ccspend.core import paths
from ccspend.core.errors import CcspendError, UsageError
from ccspend.core.files import write_atomic
from ccspend.core.records import Factory, Frozen

PERIODS = ("daily", "weekly", "monthly")
SCOPES = ("project", "branch", "task")
DEFAULT_ALERT_AT = (50, 80)
WEBHOOK_ENV = "CCSPEND_ALERT_WEBHOOK"


class Budget(Frozen):
    """One hard cap on one scope's spend in one period, with soft alert levels."""

    scope: str  # 'global', 'project', 'branch' or 'task'
    name: str | None  # the project path, branch or task id (None for global)
    period: str  # daily, weekly, monthly
    cap_usd: float
    alert_at: tuple[int, ...] = DEFAULT_ALERT_AT

    @property
    def id(self) -> str:
        """A stable name: 'daily', 'task:nightly:daily', 'project:/src/app:weekly'."""
        return self.period if self.scope == "global" else f"{self.scope}:{self.name}:{self.period}"

    def applies(self, cwd: str | None, branch: str | None, task: str | None) -> bool:
        """Does a run in ``cwd`` on ``branch`` for ``task`` fall under this budget?"""
        if self.scope == "global":
            return True
        if self.scope == "project":
            root = self.name.rstrip("/")
            return cwd is not None and (cwd == self.name or cwd.startswith(root + "/"))
        if self.scope == "branch":
            return branch == self.name
        return task == self.name


class Alerts(Frozen):
    webhook_url: str | None = None
    command: tuple[str, ...] = ()
    desktop: bool = True
    terminal: bool = True


class Limits(Frozen):
    max_requests_per_minute: int | None = None
    max_usd_per_hour: float | None = None


class Config(Frozen):
    budgets: tuple[Budget, ...] = ()
    alerts: Alerts = Factory(Alerts)
    limits: Limits = Factory(Limits)

    def global_budget(self, period: str) -> float | None:
        for b in self.budgets:
            if b.scope == "global" and b.period == period:
                return b.cap_usd
        return None

    def applicable(self, cwd: str | None, branch: str | None, task: str | None) -> list[Budget]:
        return [b for b in self.budgets if b.applies(cwd, branch, task)]


def config_path() -> Path:
    return paths.config_dir() / "config.toml"


def _read(path: Path) -> dict:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise CcspendError(f"{path}: cannot read the config ({exc})") from None
    _make_private(path)
    import tomllib  # here: a machine without a config file never pays its import

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CcspendError(f"{path}: cannot read the config ({exc})") from None


def _make_private(path: Path) -> None:
    """Take group and other access off a config the user owns: it holds webhook URLs
    (tokens, often), and one written by ccspend before 0.3.0, or by hand, may be
    world-readable. A file someone else owns, or a failing chmod, is left as it is."""
    try:
        st = path.stat()
        if st.st_mode & 0o077 and st.st_uid == os.geteuid():
            os.chmod(path, st.st_mode & 0o700)
    except OSError:
        pass


def _amount(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise CcspendError(f"{where}: a budget is a positive number of dollars, not {value!r}")
    return float(value)


def _levels(value: object, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) and 0 < x < 100 for x in value
    ):
        raise CcspendError(f"{where}: alert_at is a list of percentages between 1 and 99")
    return tuple(sorted(set(value)))


def _scope_name(scope: str, name: str) -> str:
    if scope == "project":
        return project_key(name)
    return name


def project_key(path: str) -> str:
    """A project as the logs name it: an absolute path without a trailing slash."""
    return str(Path(path).expanduser().absolute()).rstrip("/") or "/"


def _budgets(table: dict, where: str) -> list[Budget]:
    if not isinstance(table, dict):
        raise CcspendError(f"{where}: [budgets] must be a table")
    out: list[Budget] = []
    default_levels = _levels(table.get("alert_at", list(DEFAULT_ALERT_AT)), f"{where}: budgets")

    def one(scope: str, name: str | None, t: dict, label: str) -> None:
        levels = _levels(t["alert_at"], label) if "alert_at" in t else default_levels
        for key, value in t.items():
            if key in PERIODS:
                out.append(Budget(scope, name, key, _amount(value, f"{label}.{key}"), levels))
            elif key == "alert_at" or (scope == "global" and key in SCOPES):
                continue
            else:
                raise CcspendError(
                    f"{label}: unknown key {key!r} (daily, weekly, monthly, alert_at"
                    + (", project, branch, task)" if scope == "global" else ")")
                )

    one("global", None, table, f"{where}: budgets")
    for scope in SCOPES:
        scoped = table.get(scope, {})
        if not isinstance(scoped, dict):
            raise CcspendError(f"{where}: budgets.{scope} must be a table of tables")
        for name, t in scoped.items():
            if not isinstance(t, dict):
                raise CcspendError(f"{where}: budgets.{scope}.{name} must be a table")
            one(scope, _scope_name(scope, name), t, f"{where}: budgets.{scope}.{name}")
    return out


def _alerts(t: object, where: str) -> Alerts:
    if not isinstance(t, dict):
        raise CcspendError(f"{where}: [alerts] must be a table")
    url = t.get("webhook_url") or os.environ.get(WEBHOOK_ENV) or None
    command = t.get("command", ())
    if isinstance(command, str):
        import shlex

        command = shlex.split(command)
    if not isinstance(command, (list, tuple)) or not all(isinstance(x, str) for x in command):
        raise CcspendError(f"{where}: alerts.command is a command line or a list of strings")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise CcspendError(f"{where}: alerts.webhook_url must be an http(s) URL")
    return Alerts(url, tuple(command), bool(t.get("desktop", True)), bool(t.get("terminal", True)))


def _limits(t: object, where: str) -> Limits:
    if not isinstance(t, dict):
        raise CcspendError(f"{where}: [limits] must be a table")
    rpm = t.get("max_requests_per_minute")
    usd = t.get("max_usd_per_hour")
    if rpm is not None and (isinstance(rpm, bool) or not isinstance(rpm, int) or rpm <= 0):
        raise CcspendError(f"{where}: limits.max_requests_per_minute is a positive whole number")
    if usd is not None:
        usd = _amount(usd, f"{where}: limits.max_usd_per_hour")
    return Limits(rpm, usd)


def load(path: Path | None = None) -> Config:
    """The config in force (an empty one when the file does not exist)."""
    path = path or config_path()
    data = _read(path)
    return Config(
        tuple(_budgets(data.get("budgets", {}), str(path))),
        _alerts(data.get("alerts", {}), str(path)),
        _limits(data.get("limits", {}), str(path)),
    )


def start_of_week(path: Path | None = None) -> str | None:
    """``[reports] start_of_week``, as written (None when not set: weeks start on Monday).

    Read on its own, not through ``load``: a weekly report needs this one key, and
    should not fail on a budget it never looks at.
    """
    path = path or config_path()
    reports = _read(path).get("reports", {})
    if not isinstance(reports, dict):
        raise CcspendError(f"{path}: [reports] must be a table")
    value = reports.get("start_of_week")
    if value is not None and not isinstance(value, str):
        raise CcspendError(f"{path}: reports.start_of_week is a day's name, e.g. \"sunday\"")
    return value


TEAM_ENV = "CCSPEND_TEAM"


def team_location(given: str | None) -> str | None:
    """The team store asked for: ``--team``, else ``$CCSPEND_TEAM``, else the config's
    ``[team] url``; None for the local store. Here, not with the team reports: every
    local report asks, and importing those (the team store's readers) cost it 5 ms."""
    if given is not None:
        return given
    env = os.environ.get(TEAM_ENV)
    if env:
        return env
    return team_url()


def team_url(path: Path | None = None) -> str | None:
    """``[team] url``: the team store every report and budget reads when no ``--team``
    or ``$CCSPEND_TEAM`` is given (None: the local store). Read on its own, as
    ``start_of_week`` is."""
    path = path or config_path()
    team = _read(path).get("team", {})
    if not isinstance(team, dict):
        raise CcspendError(f"{path}: [team] must be a table")
    value = team.get("url")
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise CcspendError(f"{path}: team.url is a postgresql:// URL, a .duckdb file or a folder")
    return value


# -- writing ---------------------------------------------------------------------


def _toml_key(k: str) -> str:
    if k and all(c.isalnum() or c in "-_" for c in k):
        return k
    return _toml_value(k)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise CcspendError(f"cannot write {v!r} to the config")


def _table_lines(prefix: list[str], table: dict, lines: list[str]) -> None:
    plain = [(k, v) for k, v in table.items() if not isinstance(v, dict)]
    nested = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    if prefix and (plain or not nested):
        lines.append(f"\n[{'.'.join(_toml_key(p) for p in prefix)}]")
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in plain]
    for k, v in nested:
        _table_lines([*prefix, k], v, lines)


def _write(path: Path, data: dict) -> None:
    lines: list[str] = []
    _table_lines([], data, lines)
    write_atomic(path, "\n".join(lines).lstrip("\n") + "\n")


def set_budget(
    period: str,
    usd: float | None,
    path: Path | None = None,
    scope: str = "global",
    name: str | None = None,
    alert_at: tuple[int, ...] | None = None,
) -> Path:
    """Set (or with None, remove) a budget; returns the file written.

    Other tables and keys of the file are kept; comments are not (the file is
    rewritten whole).
    """
    if period not in PERIODS:
        raise UsageError(f"unknown period {period!r}", hint="daily, weekly or monthly")
    if usd is not None and not usd > 0:
        raise UsageError("a budget is a positive amount of dollars")
    path = path or config_path()
    data = _read(path)
    budgets = dict(data.get("budgets", {}))
    if scope == "global":
        table = budgets
    else:
        key = _scope_name(scope, name or "")
        scoped = dict(budgets.get(scope, {}))
        table = dict(scoped.get(key, {}))
        scoped[key] = table
        budgets[scope] = scoped
    if usd is None:
        table.pop(period, None)
    else:
        table[period] = float(usd)
    if alert_at is not None:
        table["alert_at"] = list(alert_at)
    if scope != "global":
        if not any(p in table for p in PERIODS):
            budgets[scope].pop(_scope_name(scope, name or ""), None)
        if not budgets[scope]:
            budgets.pop(scope)
    data["budgets"] = budgets
    _budgets(budgets, str(path))  # refuse to write what could not be read back
    _write(path, data)
    return path


def set_cap(session_usd: float | None, daily_usd: float | None,
            path: Path | None = None) -> Path:  # fmt: skip
    """Write ``[cap]``, the interactive sessions' caps the hooks read (None: leave as is)."""
    path = path or config_path()
    data = _read(path)
    cap = dict(data.get("cap", {}))
    for key, value in (("session_usd", session_usd), ("daily_usd", daily_usd)):
        if value is not None:
            if not value > 0:
                raise UsageError("a cap is a positive amount of dollars")
            cap[key] = float(value)
    data["cap"] = cap
    _write(path, data)
    return path
