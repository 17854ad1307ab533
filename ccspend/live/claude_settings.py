"""Claude Code's settings.json: add or remove ccspend's status line and cap hooks,
keeping the rest.

Every change keeps every other setting and first writes a timestamped backup.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ccspend.core.errors import CcspendError
from ccspend.core.files import write_atomic

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
    write_atomic(path, json.dumps(data, indent=2) + "\n")
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


HOOK_COMMAND = "ccspend cap hook"
HOOK_EVENTS = {"PreToolUse": "*", "UserPromptSubmit": None}  # event -> matcher


def _is_ours(hook: object) -> bool:
    return isinstance(hook, dict) and str(hook.get("command", "")).startswith(HOOK_COMMAND)


def install_hooks(path: Path) -> str:
    """Add the cap hooks (PreToolUse for every tool, UserPromptSubmit), once each."""
    data = _load(path)
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise CcspendError(f"{path}: \"hooks\" is not an object; ccspend changed nothing")
    added = []
    for event, matcher in HOOK_EVENTS.items():
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise CcspendError(f"{path}: hooks.{event} is not a list; ccspend changed nothing")
        if any(_is_ours(h) for g in groups if isinstance(g, dict) for h in g.get("hooks", [])):
            continue
        group: dict = {"hooks": [{"type": "command", "command": HOOK_COMMAND, "timeout": 5}]}
        if matcher is not None:
            group = {"matcher": matcher, **group}
        groups.append(group)
        added.append(event)
    if not added:
        return f"ccspend's cap hooks are already in {path}"
    backup = _save(path, data)
    saved = f"; backup: {backup}" if backup else ""
    return f"added ccspend's cap hooks ({', '.join(added)}) to {path}{saved}"


def uninstall_hooks(path: Path) -> str:
    """Remove exactly the hooks ``install_hooks`` added (and containers left empty)."""
    data = _load(path)
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return f"no ccspend cap hooks in {path}; nothing changed"
    removed = False
    for event in HOOK_EVENTS:
        groups = hooks.get(event)
        if not isinstance(groups, list):
            continue
        kept = []
        for g in groups:
            if isinstance(g, dict) and isinstance(g.get("hooks"), list):
                inner = [h for h in g["hooks"] if not _is_ours(h)]
                if len(inner) != len(g["hooks"]):
                    removed = True
                    if not inner:
                        continue
                    g = {**g, "hooks": inner}
            kept.append(g)
        if kept:
            hooks[event] = kept
        else:
            del hooks[event]
    if not removed:
        return f"no ccspend cap hooks in {path}; nothing changed"
    if not hooks:
        del data["hooks"]
    backup = _save(path, data)
    return f"removed ccspend's cap hooks from {path}; backup: {backup}"


def hooks_installed(path: Path) -> bool:
    try:
        data = _load(path)
    except CcspendError:
        return False
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return False
    return all(
        any(_is_ours(h) for g in hooks.get(event) or [] if isinstance(g, dict)
            for h in g.get("hooks", []))  # fmt: skip
        for event in HOOK_EVENTS
    )
