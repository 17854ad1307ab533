"""Every local agent's logs into the store: the one call a command makes before it reads.

Claude Code's logs (``ingest.claude``), then every other agent of the registry
(``ccspend.sources.agents``) that has logs here: the file agents through
``ingest.agent_files``, the SQLite ones through ``ingest.agent_db``. What could
not be read becomes a warning for the report, never an error. The ingest
modules are imported when the call is made, so a front end that imports this
module pays nothing until it ingests, and an agent that is not installed costs
a stat of its home folders.
"""

from __future__ import annotations

import os
from pathlib import Path


def ingest_logs(store, roots: list[Path], skip: bool, progress=None, while_parsing=None,
                codex: bool = True, logs: dict[str, list[str]] | None = None,
                walked: dict | None = None):
    """Bring the store up to date (unless told not to); the run's report and warnings.

    Claude Code's logs, then the other agents' from their own places whatever
    ``--claude-dir`` says, or from the folders ``logs`` (``--logs AGENT=PATH``,
    read by ``agents.parse_logs``) gives an agent (their files join the
    fingerprint of a cached report, so a new line of any agent is seen).
    ``codex``: False reads Claude Code's logs alone (the demo: the shipped sample
    logs, never the user's own). ``progress()`` returns the ingest's progress
    callback (or None) and a closer; ``while_parsing`` runs once, during the parse.
    ``walked``: walks this process just made, ``{tuple of root strings: (stat rows,
    unreadable folders, changed logs or None)}`` (the answer cache's check): the Claude
    Code roots' walk is reused when it is there.
    """
    if skip:
        if while_parsing is not None:
            while_parsing()
        return None, []
    from ccspend.ingest.claude import ingest_claude

    update, close = progress() if progress is not None else (None, None)
    try:
        walk = (walked or {}).get(tuple(str(r) for r in roots))
        ingested = ingest_claude(store, roots, progress=update, while_parsing=while_parsing,
                                 walked=walk)
    finally:
        if close is not None:
            close()
    if codex:
        ingest_agents(store, ingested, logs)
    warnings = []
    if ingested.unreadable:
        named = ", ".join(f"{p} ({why})" for p, why in list(ingested.unreadable.items())[:3])
        warnings.append(f"could not read {len(ingested.unreadable)} log files or folders: "
                        f"{named}")
    return ingested, warnings


def ingest_agents(store, ingested, logs: dict[str, list[str]] | None = None) -> None:
    """Every registered agent with logs here into the store, its files added to
    ``ingested`` (the Claude Code ingest's report)."""
    from ccspend.core import timing
    from ccspend.sources import agents

    for agent, reader, roots in agents.active(os.environ, os.path.expanduser("~"), logs):
        if agent.kind == "files":
            from ccspend.ingest.agent_files import ingest_agent_files

            other = ingest_agent_files(store, agent, reader, roots)
        else:
            other = _ingest_db(store, agent, roots)
            if other is None:
                continue
        ingested.files.extend(other.files)
        ingested.files_seen += other.files_seen
        ingested.unreadable.update(other.unreadable)
        ingested.skipped.update(other.skipped)
    timing.mark("ingest-agents")


def _ingest_db(store, agent, roots):
    """An SQLite agent's ingest (``ingest.agent_db``), None while that module is absent."""
    try:
        from ccspend.ingest.agent_db import ingest_agent_db
    except ImportError:
        return None
    return ingest_agent_db(store, agent, roots)
