"""Factory Droid sessions: cumulative session totals only, shown as such.

Droid keeps ``~/.factory/sessions/**/<sessionId>.settings.json`` beside the
session's ``<sessionId>.jsonl`` transcript (``DROID_SESSIONS_DIR`` lists other
folders, comma-separated, as ccusage reads it). The settings hold
``tokenUsage:{inputTokens, outputTokens, cacheCreationTokens, cacheReadTokens,
thinkingTokens}``: the **whole session so far**, rewritten as it grows. Nothing in
Droid's files splits it by call, day or model.

- **A session total, never a daily split.** Each session is one record: its
  totals, dated once, labelled ``droid:session-total`` (its entrypoint), id
  ``droid:<sessionId>``. The date is ``providerLockTimestamp`` (when Droid bound the
  session to its provider: its first call), which every copy of the file carries
  alike; the file's mtime only where that is missing. A report shows the whole
  session on that day; a session that ran over several days is not spread.
- **Never add snapshots.** A copy of the file elsewhere (a backup, a second root)
  is an older or equal snapshot of the same totals. Both have the same id; the store
  keeps the line with the most output tokens, which, the totals only growing, is the
  newest: the session counts once, at its latest totals.
- **Counts**: ``inputTokens`` excludes the cache (both cache counts are apart, in
  Anthropic's manner). ``thinkingTokens`` is taken as apart from ``outputTokens`` and
  billed as output (``THINKING_IN_OUTPUT``, the one setting for this uncertain
  relation; ccusage and tokscale read it so too).
- **Model**: ``model`` (``custom:Claude-Sonnet-4.5-[Anthropic]`` becomes
  ``claude-sonnet-4-5``: ``custom:`` and ``[...]`` dropped, dots and spaces to dashes,
  lower case), else the ``Model: X [Provider]`` the transcript's first lines name,
  else none (unpriced, never $0).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents.dbrecords import SESSION_TOTAL
from ccspend.sources.agents.filecommon import (
    LogFile,
    env_list,
    files_below,
    json_document,
    record,
    tokens,
    when_us,
)

NAME = "droid"
ENTRYPOINT = "droid:session-total"
SUFFIX = ".settings.json"
THINKING_IN_OUTPUT = False
"""Whether ``outputTokens`` already holds ``thinkingTokens``. Droid is closed source; its
usage object keeps every other part apart (cache writes and reads apart from input), so
thinking is read as apart too and added to output."""
_SIDECAR_LINES = 500
_MODEL_LINE = re.compile(r"Model: ([^\[\]\"\\\n]+?) \[")


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``DROID_SESSIONS_DIR``'s folders, else ``~/.factory/sessions``."""
    return env_list(env, "DROID_SESSIONS_DIR") or [home / ".factory" / "sessions"]


def complete_end(path: str, size: int) -> int:
    """A settings file is one JSON document: all of it is complete (see ``amp.complete_end``)."""
    return size


def discover(roots: list[Path]) -> Iterator[LogFile]:
    """Every ``*.settings.json`` below the roots."""
    return files_below(roots, SUFFIX, lambda name: len(name) > len(SUFFIX))


def normalise_model(raw: str) -> str | None:
    """Droid's display name of a model as a card's model id (see the module's docstring)."""
    name = raw.removeprefix("custom:")
    name = re.sub(r"\[[^\]]*\]", "", name)
    name = re.sub(r"[.\s-]+", "-", name.strip().lower()).strip("-")
    name = re.sub(r"-\d+$", "", name) if re.search(r"\]-\d+$", raw) else name
    name = name.removesuffix("-thinking")  # a thinking-enabled variant: the same model
    return name or None


def _sidecar_model(settings_path: str) -> str | None:
    transcript = settings_path[: -len(SUFFIX)] + ".jsonl"
    try:
        with open(transcript, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh):
                if n >= _SIDECAR_LINES:
                    break
                if (m := _MODEL_LINE.search(line)) is not None:
                    return normalise_model(m.group(1))
    except OSError:
        return None
    return None


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    """The session's one record (its totals), and 1 bad record when the file is not a
    settings object or its counts are implausible."""
    settings = json_document(path, dict)
    if settings is None:
        return [], 1
    usage = settings.get("tokenUsage")
    if usage.__class__ is not dict:
        return [], 0  # a session that never called a model
    counts = tokens(usage.get("inputTokens"), usage.get("outputTokens"),
                    usage.get("cacheCreationTokens"), usage.get("cacheReadTokens"),
                    usage.get("thinkingTokens"))  # fmt: skip
    if counts is None:
        return [], 1
    inp, out, cw, cr, thinking = counts
    if not any(counts):
        return [], 0
    if not THINKING_IN_OUTPUT:
        out += thinking
    ts = when_us(settings.get("providerLockTimestamp"))
    if ts is None:
        ts = when_us(os.stat(path).st_mtime)
    if ts is None:
        return [], 1
    sid = os.path.basename(path)[: -len(SUFFIX)]
    model_raw = settings.get("model")
    model = (normalise_model(model_raw) if model_raw.__class__ is str and model_raw.strip()
             else _sidecar_model(path))  # fmt: skip
    rec = record(ENTRYPOINT, ts, sid, f"droid:{sid}", model, inp=inp, out=out, cw=cw, cr=cr,
                 f=file_id, o=0)
    rec["rid"] = SESSION_TOTAL  # the reports label it a session's total, never a day's
    return [rec], 0
