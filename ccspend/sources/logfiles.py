"""Finding log files: a directory walk that needs nothing beyond the standard library.

Kept apart from the parser so that the warm path (``ccspend.fastpath``), which
only needs to know whether any log changed, imports no parsing machinery.
"""

from __future__ import annotations

import os
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

SUBAGENT_PREFIX = "agent-"

LogFile = namedtuple("LogFile", "path size mtime_ns dev ino agent_id", defaults=(None,))
LogFile.__doc__ = """One ``*.jsonl`` below a Claude ``projects`` folder, as stat saw it.

``agent_id`` is set for subagent transcripts, ``<session>/subagents/agent-<id>.jsonl``."""


def discover(roots: list[Path]) -> Iterator[LogFile]:
    """Every ``*.jsonl`` below the given ``projects`` folders (subagent files included)."""
    seen: set[tuple[int, int]] = set()
    for root in roots:
        stack = [str(root)]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                        continue
                    if not entry.name.endswith(".jsonl") or not entry.is_file():
                        continue
                    st = entry.stat()
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) in seen:
                    continue  # the same file reached twice (overlapping roots, links)
                seen.add((st.st_dev, st.st_ino))
                agent_id = None
                if entry.name.startswith(SUBAGENT_PREFIX) and folder.endswith("subagents"):
                    agent_id = entry.name[len(SUBAGENT_PREFIX) : -len(".jsonl")]
                yield LogFile(
                    entry.path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, agent_id
                )
