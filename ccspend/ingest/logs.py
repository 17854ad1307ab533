"""Every local agent's logs into the store: the one call a command makes before it reads.

Claude Code's logs (``ingest.claude``), then Codex CLI's (``ingest.codex``);
what could not be read becomes a warning for the report, never an error.
The ingest modules are imported when the call is made, so a front end that
imports this module pays nothing until it ingests.
"""

from __future__ import annotations

from pathlib import Path


def ingest_logs(store, roots: list[Path], skip: bool, progress=None, while_parsing=None,
                codex: bool = True, walked: dict | None = None):
    """Bring the store up to date (unless told not to); the run's report and warnings.

    Claude Code's logs, then Codex CLI's from their own place whatever
    ``--claude-dir`` says (their files join the fingerprint of a cached report,
    so a new Codex line is seen). ``progress()`` returns the ingest's progress
    callback (or None) and a closer; ``while_parsing`` runs once, during the parse.
    ``walked``: walks this process just made, ``{tuple of root strings: (stat rows,
    unreadable folders)}`` (the answer cache's check): the Claude Code roots' walk is
    reused when it is there.
    """
    if skip:
        if while_parsing is not None:
            while_parsing()
        return None, []
    from ccspend.ingest.claude import ingest_claude
    from ccspend.ingest.codex import ingest_codex

    update, close = progress() if progress is not None else (None, None)
    try:
        walk = (walked or {}).get(tuple(str(r) for r in roots))
        ingested = ingest_claude(store, roots, progress=update, while_parsing=while_parsing,
                                 walked=walk)
    finally:
        if close is not None:
            close()
    if codex:  # not for the demo: the shipped sample logs alone, never the user's own
        other = ingest_codex(store)
        ingested.files.extend(other.files)
        ingested.files_seen += other.files_seen
        ingested.unreadable.update(other.unreadable)
        ingested.skipped.update(other.skipped)
        from ccspend.core import timing

        timing.mark("ingest-codex")
    warnings = []
    if ingested.unreadable:
        named = ", ".join(f"{p} ({why})" for p, why in list(ingested.unreadable.items())[:3])
        warnings.append(f"could not read {len(ingested.unreadable)} log files or folders: "
                        f"{named}")
    return ingested, warnings
