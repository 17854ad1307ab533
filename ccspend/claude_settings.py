"""Claude Code's settings.json: add or remove ccspend's status line, keeping the rest.

Every change keeps every other setting and first writes a timestamped backup.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ccspend.errors import CcspendError

COMMAND = "ccspend statusline"


def settings_path() -> Path:
    """``$CLAUDE_CONFIG_DIR/settings.json`` (its first dir), else ``~/.claude/settings.json``."""
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return Path(env.split(",")[0].strip()).expanduser() / "settings.json"
    return Path.home() / ".claude" / "settings.json"


def _load(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text() or "{}")
    except ValueError:
        raise CcspendError(
            f"{path} is not valid JSON", hint="fix it by hand; ccspend changed nothing"
        ) from None
    if not isinstance(data, dict):
        raise CcspendError(f"{path} does not hold a JSON object; ccspend changed nothing")
    return data


def _save(path: Path, data: dict) -> Path | None:
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return backup


def install(path: Path) -> str:
    data = _load(path)
    ours = {"type": "command", "command": COMMAND}
    if data.get("statusLine") == ours:
        return f"ccspend's status line is already in {path}"
    previous = data.get("statusLine")
    data["statusLine"] = ours
    backup = _save(path, data)
    note = f" (it replaces {json.dumps(previous)})" if previous else ""
    saved = f"; backup: {backup}" if backup else ""
    return f"added ccspend's status line to {path}{note}{saved}"


def uninstall(path: Path) -> str:
    data = _load(path)
    line = data.get("statusLine")
    if not (isinstance(line, dict) and line.get("command", "").startswith(COMMAND)):
        return f"no ccspend status line in {path}; nothing changed"
    del data["statusLine"]
    backup = _save(path, data)
    return f"removed ccspend's status line from {path}; backup: {backup}"
