"""OpenClaw session files: pi's format (OpenClaw is built on pi), with archives that count.

OpenClaw keeps ``agents/<agentId>/sessions/<uuid>.jsonl`` under ``~/.openclaw``
(and its former names ``~/.clawdbot``, ``~/.moltbot``, ``~/.moldbot``), or the
folders ``OPENCLAW_DIR`` lists (comma-separated, as ccusage reads it). A session
reset or deleted is kept as ``<uuid>.jsonl.reset.<time>`` / ``.jsonl.deleted.<time>``:
its calls were billed, so they count.

Lines are pi's (``ccspend.sources.agents.pi``): the model comes from the assistant
message, else the last ``model_change`` or ``custom`` ``model-snapshot`` line; the
cost OpenClaw states (``usage.cost.total``, USD) is billed as stated. A call's id
is made of what a copy keeps (time, model, counts), so an archive that still holds
the live file's calls, or a copied folder, counts them once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents.filecommon import LogFile, env_list, files_below
from ccspend.sources.agents.pi import read_session

NAME = "openclaw"
_HOMES = (".openclaw", ".clawdbot", ".moltbot", ".moldbot")


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``OPENCLAW_DIR``'s folders, else OpenClaw's home folder under each of its names."""
    return env_list(env, "OPENCLAW_DIR") or [home / name for name in _HOMES]


def is_session_file(name: str) -> bool:
    """A live session (``*.jsonl``) or an archived one (``*.jsonl.reset.*``, ``.deleted.*``)."""
    at = name.find(".jsonl")
    if at <= 0:
        return False
    tail = name[at:]
    return tail == ".jsonl" or tail.startswith((".jsonl.reset.", ".jsonl.deleted."))


def discover(roots: list[Path]) -> Iterator[LogFile]:
    """Every session file, live or archived, below the roots."""
    return files_below(roots, "", is_session_file)


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    """The calls of one session file; the agent is the ``agents/<agentId>`` folder."""
    parts = path.split(os.sep)
    nested = len(parts) >= 4 and parts[-2] == "sessions" and parts[-4] == "agents"
    aid = parts[-3] if nested else None
    return read_session(path, file_id, NAME, aid)
