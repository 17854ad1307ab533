"""The user's config file (TOML, in the platform's config directory): budgets for now.

``ccspend config path`` prints where it is; ``ccspend budget set daily 20``
writes to it. The file is small and ccspend writes it whole, keeping any
tables it does not know.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccspend import paths
from ccspend.errors import CcspendError, UsageError

PERIODS = ("daily", "weekly", "monthly")


class Budgets(BaseModel):
    model_config = ConfigDict(extra="forbid")
    daily: float | None = Field(default=None, gt=0)
    weekly: float | None = Field(default=None, gt=0)
    monthly: float | None = Field(default=None, gt=0)


def config_path() -> Path:
    return paths.config_dir() / "config.toml"


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CcspendError(f"{path}: cannot read the config ({exc})") from None


def budgets(path: Path | None = None) -> Budgets:
    path = path or config_path()
    try:
        return Budgets.model_validate(_read(path).get("budgets", {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise CcspendError(f"{path}: budgets.{where}: {err['msg']}") from None


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise CcspendError(f"cannot write {v!r} to the config")


def _write(path: Path, data: dict) -> None:
    lines = []
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"\n[{key}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text("\n".join(lines).lstrip("\n") + "\n", encoding="utf-8")
    os.replace(tmp, path)


def set_budget(period: str, usd: float | None, path: Path | None = None) -> Path:
    """Set (or with None, remove) the budget of a period; returns the file written."""
    if period not in PERIODS:
        raise UsageError(f"unknown period {period!r}", hint="daily, weekly or monthly")
    if usd is not None and not usd > 0:
        raise UsageError("a budget is a positive amount of dollars")
    path = path or config_path()
    data = _read(path)
    table = dict(data.get("budgets", {}))
    if usd is None:
        table.pop(period, None)
    else:
        table[period] = float(usd)
    data["budgets"] = table
    _write(path, data)
    return path
