"""pi (badlogic/pi-mono) session files: a tree of entries, each call counted once.

pi writes ``<sessions>/<encoded-cwd>/<time>_<uuid>.jsonl``, in
``$PI_CODING_AGENT_SESSION_DIR``, else ``$PI_CODING_AGENT_DIR/sessions``, else
``~/.pi/agent/sessions`` (pi's own variables); ccusage's ``PI_AGENT_DIR`` (a
comma-separated list of sessions folders) is honoured too. The first line is the
session header ``{"type":"session", id, cwd, timestamp}``; an assistant entry is
``{"type":"message", id, parentId, message:{role:"assistant", model, usage:{input,
output, cacheRead, cacheWrite, totalTokens, cost:{total}}, timestamp (ms)}}``.

- **Counts**: pi-ai normalises every provider: ``input`` is uncached input (its
  OpenAI path subtracts ``cached_tokens`` from ``prompt_tokens``), ``cacheRead`` and
  ``cacheWrite`` are apart. Taken as written.
- **Stated cost**: ``usage.cost.total`` (USD, pi's own price list) is the record's
  ``cu``: billed as stated.
- **Branches** (entries sharing a ``parentId``: a message regenerated, ``/tree``)
  are separate calls, each billed: all count.
- **Forks and clones** (``/fork``, ``/clone``: a new session file with a new session
  id holding copies of the earlier entries) must not count twice. A call's id is
  therefore made of what a copy keeps, not of the file or session: the message's
  own time (ms), model and counts (``pi:<ms>:<model>:<counts>``). The store keeps
  one line per id, so the copies count once.
- Known coarse point: pi's ``openai-completions`` provider adds
  ``reasoning_tokens`` to ``completion_tokens``, which already hold them, and prices
  that; the log keeps no separate reasoning count, so it cannot be undone here
  (the stated cost carries the same excess).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents.filecommon import (
    LogFile,
    env_list,
    files_below,
    jsonl_objects,
    record,
    tokens,
    when_us,
)

NAME = "pi"


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """pi's session folder as pi itself resolves it, plus ccusage's ``PI_AGENT_DIR`` list."""
    extra = env_list(env, "PI_AGENT_DIR") or []
    session_dir = env.get("PI_CODING_AGENT_SESSION_DIR", "").strip()
    if session_dir:
        return [Path(os.path.expanduser(session_dir)), *extra]
    agent_dir = env.get("PI_CODING_AGENT_DIR", "").strip()
    base = Path(os.path.expanduser(agent_dir)) if agent_dir else home / ".pi" / "agent"
    return [base / "sessions", *extra]


def discover(roots: list[Path]) -> Iterator[LogFile]:
    """Every ``*.jsonl`` below the sessions folders."""
    return files_below(roots, ".jsonl", lambda name: True)


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    """The calls of one pi session file, and how many lines are bad."""
    return read_session(path, file_id, NAME)


def _str(value: object) -> str | None:
    return value if value.__class__ is str and value else None


def stated_cost(usage: dict) -> float | None:
    """``usage.cost.total`` in USD when it is a plausible number, else None (priced
    from the card instead)."""
    cost = usage.get("cost")
    total = cost.get("total") if cost.__class__ is dict else None
    if total.__class__ in (int, float) and total.__class__ is not bool and 0 <= total < 1e6:
        return float(total)
    return None


def read_session(path: str, file_id: int, ent: str, aid: str | None = None
                 ) -> tuple[list[dict], int]:  # fmt: skip
    """The calls of a pi-format session file (pi, and OpenClaw which is built on it)."""
    objs, bad = jsonl_objects(path)
    sid: str | None = None
    cwd: str | None = None
    model_state: str | None = None
    out: list[dict] = []
    for pos, obj in objs:
        kind = obj.get("type")
        if kind == "session":
            sid = _str(obj.get("id")) or sid
            cwd = _str(obj.get("cwd")) or cwd
            continue
        if kind == "model_change":
            model_state = _str(obj.get("modelId")) or model_state
            continue
        if kind == "custom" and obj.get("customType") == "model-snapshot":
            data = obj.get("data")
            if data.__class__ is dict:
                model_state = _str(data.get("modelId")) or model_state
            continue
        msg = obj.get("message")
        if kind != "message" or msg.__class__ is not dict or msg.get("role") != "assistant":
            continue
        usage = msg.get("usage")
        if usage.__class__ is not dict:
            continue
        counts = tokens(usage.get("input"), usage.get("output"), usage.get("cacheRead"),
                        usage.get("cacheWrite"))  # fmt: skip
        if counts is None:
            bad += 1
            continue
        if not any(counts):
            continue  # an aborted or failed call: nothing billed
        stamp = msg.get("timestamp")
        ts = when_us(stamp) or when_us(obj.get("timestamp"))
        if ts is None:
            bad += 1
            continue
        model = _str(msg.get("model")) or model_state
        inp, outp, cr, cw = counts
        when = stamp if stamp.__class__ is int else ts // 1000
        mid = f"{ent}:{when}:{model}:{inp}:{outp}:{cr}:{cw}"
        out.append(record(ent, ts, sid, mid, model, inp=inp, out=outp, cw=cw, cr=cr, cwd=cwd,
                          cu=stated_cost(usage), aid=aid, f=file_id, o=pos))  # fmt: skip
    return out, bad
