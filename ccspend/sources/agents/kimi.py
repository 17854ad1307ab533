"""Kimi CLI's wire logs: ``$KIMI_SHARE_DIR/sessions/<md5(work dir)>/<session>/wire.jsonl``.

Each LLM step sends a ``StatusUpdate`` whose ``token_usage`` is that step's
(docs/agents.md, "Kimi CLI"): ``input_other`` excludes cache reads and cache
creation, ``output`` includes reasoning. So uncached input = input_other,
cache reads = input_cache_read, cache writes = input_cache_creation.

- A ``StatusUpdate`` without ``token_usage`` (plan mode, MCP status) is no step.
- ``/fork``, ``/undo`` and the web UI copy wire lines verbatim into a new
  session: a step's id is ``<message_id>@<timestamp>``, global, so the store
  keeps one copy whichever session it sits in.
- A subagent's steps reach the parent's wire as ``SubagentEvent``s and may also
  be in ``subagents/<id>/wire.jsonl``: the forwarded events are counted (the
  subagent's own file is not always written) and the subagent files are not
  read. ``SUBAGENTS`` is that one setting.
- The model is not in the wire: it is the config's ``default_model``
  (``config.toml``, else the older ``config.json``'s ``model``), else
  ``kimi-for-coding``: per-model attribution is coarse.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources import logfiles
from ccspend.sources.agents.filecommon import jsonl_objects
from ccspend.sources.agents.record import env_paths, record
from ccspend.sources.claude_record import BAD, count
from ccspend.sources.logfiles import LogFile

ENTRYPOINT = "kimi-cli"
SUFFIX = ".jsonl"
DEFAULT_MODEL = "kimi-for-coding"
SUBAGENTS = "forwarded"  # count the SubagentEvents in the parent's wire, not subagents/*


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``$KIMI_SHARE_DIR`` (Kimi CLI's), else ``$KIMI_DATA_DIR`` (ccusage's), else ``~/.kimi``;
    each one's ``sessions``."""
    bases = env_paths(env, "KIMI_SHARE_DIR") or env_paths(env, "KIMI_DATA_DIR")
    return [Path(b) / "sessions" for b in bases] or [Path(home) / ".kimi" / "sessions"]


def accept(path: str) -> bool:
    if os.path.basename(path) != "wire.jsonl":
        return False
    return (os.sep + "subagents" + os.sep) not in path  # forwarded into the parent's wire


def discover(roots: list[Path]) -> Iterator[LogFile]:
    for path, size, mtime_ns, dev, ino in logfiles.stat_logs(roots, SUFFIX):
        if accept(path):
            yield LogFile(path, size, mtime_ns, dev, ino)


def _share(path: str) -> str:
    """The share folder of a wire (the parent of ``sessions``)."""
    parts = path.split(os.sep)
    at = len(parts) - 1 - parts[::-1].index("sessions") if "sessions" in parts else 0
    return os.sep.join(parts[:at]) or os.sep


def model_of(share: str) -> str:
    """The configured model: ``config.toml``'s ``default_model``, else ``config.json``'s
    ``model``, else ``kimi-for-coding``."""
    try:
        import tomllib

        with open(os.path.join(share, "config.toml"), "rb") as fh:
            name = tomllib.load(fh).get("default_model")
        if isinstance(name, str) and name:
            return name
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(share, "config.json"), encoding="utf-8") as fh:
            name = json.load(fh).get("model")
        if isinstance(name, str) and name:
            return name
    except (OSError, ValueError, AttributeError):
        pass
    return DEFAULT_MODEL


def work_dir_of(share: str, group: str) -> str | None:
    """The work dir whose md5 names the session group, from ``kimi.json``'s ``work_dirs``."""
    try:
        with open(os.path.join(share, "kimi.json"), encoding="utf-8") as fh:
            dirs = json.load(fh).get("work_dirs") or []
    except (OSError, ValueError, AttributeError):
        return None
    for d in dirs:
        p = d.get("path") if isinstance(d, dict) else None
        if isinstance(p, str) and hashlib.md5(p.encode()).hexdigest() == group.split("_")[-1]:
            return p
    return None


def _usage(payload: object) -> tuple[int, int, int, int] | None | bool:
    tu = payload.get("token_usage") if payload.__class__ is dict else None
    if tu.__class__ is not dict:
        return None
    vals = [count(tu.get(k)) for k in ("input_other", "output", "input_cache_read",
                                       "input_cache_creation")]  # fmt: skip
    if any(v is BAD for v in vals):
        return False
    return tuple(vals)


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    share = _share(path)
    session_dir = os.path.dirname(path)
    sid = os.path.basename(session_dir)
    cwd = work_dir_of(share, os.path.basename(os.path.dirname(session_dir)))
    model = model_of(share)
    records: list[dict] = []
    objs, skipped = jsonl_objects(path)
    for here, obj in objs:
        msg = obj.get("message")
        if msg.__class__ is not dict:
            continue  # the metadata line
        kind, payload, sub = msg.get("type"), msg.get("payload"), None
        if kind == "SubagentEvent" and payload.__class__ is dict and SUBAGENTS == "forwarded":
            event = payload.get("event")
            if event.__class__ is dict:
                sub = payload.get("agent_id")
                kind, payload = event.get("type"), event.get("payload")
        if kind != "StatusUpdate":
            continue
        used = _usage(payload)
        stamp = obj.get("timestamp")
        if used is None:
            continue
        if used is False or stamp.__class__ not in (int, float):
            skipped += 1
            continue
        other, out, cread, cwrite = used
        if not (other or out or cread or cwrite):
            continue
        mid = payload.get("message_id")
        rec = record(ts=int(round(stamp * 1_000_000)), sid=sid,
                     mid=f"{mid}@{stamp!r}" if mid.__class__ is str and mid else None,
                     model=model, inp=other, out=out, cache_read=cread, cache_write=cwrite,
                     cwd=cwd, entrypoint=ENTRYPOINT, sidechain=sub is not None,
                     agent_id=sub if sub.__class__ is str else None)  # fmt: skip
        rec["f"], rec["o"] = file_id, here
        records.append(rec)
    return records, skipped
