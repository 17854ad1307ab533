"""OpenCode (sst/opencode, now anomalyco/opencode): usage from its SQLite store.

``$XDG_DATA_HOME/opencode/opencode.db`` (``opencode-<channel>.db`` for channel
builds); ``OPENCODE_DATA_DIR`` (comma-separated, ccusage's variable) replaces the
default folders. Tables ``message`` and ``part`` hold one JSON document each
(``data``); ``session.parent_id`` marks subagent sessions. docs/agents.md
gives the sources of each rule below.

- **Per step, not per message.** The processor adds each step's cost to its
  message but *overwrites* the message's tokens with the last step's. Every
  step is a ``part`` row of type ``step-finish`` with its own tokens and cost:
  one record per step-finish part (an API call each: prices with a tier above a
  prompt size apply per call), and the message's own tokens only for a message
  without any (older versions).
- **Forks** copy every message and part into a new session under new ids, with
  the same ``time.created``, model, tokens and cost. A record's id is therefore
  ``<agent>:<time.created>:<provider>/<model>:<step>``, the same for the copy
  and the original: the store's deduplication counts the call once. It carries
  no token counts, so it stays the same when a message's tokens are filled in.
  Every step is dated at its message's ``time.created`` (a step's part carries no
  time of its own in its data, and its row's time is the fork's in a copy): a
  call seconds or minutes before its step ended, the same in every copy.
- **Subagent sessions** (``parent_id`` set) are real usage, counted once, under
  their root session's id (as Claude Code's subagents are), with the subagent
  session's id as ``aid``.
- **Counts**: ``input`` is uncached input (the current ``getUsage`` subtracts
  cache reads and writes), ``output`` excludes ``reasoning``, which is billed
  as output, so output = output + reasoning. Older versions left reasoning
  inside output: when the message's ``total`` equals input + output + cache
  without the reasoning, it is not added again.
- **Cost**: ``cost`` (USD) is the stated cost of the call, used as billed; a 0
  (a provider OpenCode has no price for) is no cost at all (``stated_cost``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents import dbrecords

NAME = "opencode"
FAMILY = "opencode"  # the store's named query (``store.agent_db.FAMILIES``)
# Rows written up to this long (ms) before the last watermark are looked at again: a write
# stamped before the watermark may commit after it. Those sessions are re-read; unchanged ones
# are recognised by their content and write nothing.
SLACK = 60_000
DB_NAME = "opencode"
ENV_DIRS = "OPENCODE_DATA_DIR"


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``$OPENCODE_DATA_DIR`` (comma-separated), else ``$XDG_DATA_HOME/opencode``."""
    return dbrecords.env_dirs(env, ENV_DIRS) or [dbrecords.xdg_data(env, home) / DB_NAME]


def accept(name: str, db_name: str = DB_NAME) -> bool:
    """``opencode.db`` and the channel builds' ``opencode-<channel>.db``."""
    return name == f"{db_name}.db" or (name.startswith(f"{db_name}-") and name.endswith(".db"))


def discover(roots: list[Path]) -> Iterator[Path]:
    return dbrecords.find_dbs(roots, accept)


def records(rows: dict, agent: str = NAME) -> tuple[list[dict], int]:
    """The usage records of the messages and parts the store's ``opencode`` query read,
    and how many rows were bad (JSON that does not parse, implausible counts)."""
    sessions = {s["id"]: s for s in rows.get("sessions", ())}
    steps: dict[str, list[dict]] = {}
    bad = 0
    for part in sorted(rows.get("parts", ()), key=lambda p: (p["time_created"] or 0, p["id"])):
        data = _json(part["data"])
        if data is None:
            bad += 1
            continue
        if data.get("type") == "step-finish":
            steps.setdefault(part["message_id"], []).append(data)
    out: list[dict] = []
    for msg in rows.get("messages", ()):
        data = _json(msg["data"])
        if data is None:
            bad += 1
            continue
        if data.get("role") != "assistant":
            continue
        made, wrong = _message(msg, data, steps.get(msg["id"], ()), sessions, agent)
        out.extend(made)
        bad += wrong
    return out, bad


def _json(text: object) -> dict | None:
    if text.__class__ is bytes:
        text = text.decode("utf-8", "replace")
    if text.__class__ is not str:
        return None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return obj if obj.__class__ is dict else None


def _root(sid: str, sessions: dict) -> str:
    seen = set()
    while (parent := (sessions.get(sid) or {}).get("parent_id")) and sid not in seen:
        seen.add(sid)
        sid = parent
    return sid


def _message(msg: dict, data: dict, steps, sessions: dict, agent: str) -> tuple[list[dict], int]:
    time = data.get("time") if data.get("time").__class__ is dict else {}
    created = time.get("created") if time.get("created").__class__ is int else msg["time_created"]
    model = data.get("modelID") if data.get("modelID").__class__ is str else None
    provider = data.get("providerID") if data.get("providerID").__class__ is str else ""
    session_id = msg["session_id"]
    root = _root(session_id, sessions)
    session = sessions.get(session_id) or {}
    where = data.get("path") if data.get("path").__class__ is dict else {}
    cwd = where.get("cwd") if where.get("cwd").__class__ is str else session.get("directory")
    units = [(s.get("tokens"), s.get("cost")) for s in steps]
    if not units:  # a version without step parts: the message's own tokens
        units = [(data.get("tokens"), data.get("cost"))]
    out = []
    bad = 0
    for index, (tokens, cost) in enumerate(units):
        used = _tokens(tokens)
        if used is None:
            bad += 1
            continue
        if not any(used):
            continue
        inp, out_tokens, read, write = used
        # Dated at its message's creation, not its part's: a fork copies the message's
        # time but writes its parts at the fork, and a call must have one date in every copy.
        ts = dbrecords.ms_to_us(created)
        if ts is None:
            bad += 1
            continue
        out.append(dbrecords.record(
            ts=ts, sid=root, mid=f"{agent}:{created}:{provider}/{model}:{index}", model=model,
            inp=inp, out=out_tokens, c5=write, cr=read, cwd=cwd, ver=session.get("version"),
            ent=agent, aid=session_id if root != session_id else None,
            cu=dbrecords.stated_cost(cost),
        ))  # fmt: skip
    return out, bad


def _tokens(tokens: object) -> tuple[int, int, int, int] | None:
    """(uncached input, output with reasoning, cache read, cache write); None when bad."""
    if tokens is None:
        return (0, 0, 0, 0)
    if tokens.__class__ is not dict:
        return None
    cache = tokens.get("cache") if tokens.get("cache").__class__ is dict else {}
    got = dbrecords.counts(tokens.get("input"), tokens.get("output"), tokens.get("reasoning"),
                           cache.get("read"), cache.get("write"))
    if got is None:
        return None
    inp, out, reasoning, read, write = got
    total = tokens.get("total")
    if reasoning and total.__class__ is int and total == inp + out + read + write:
        reasoning = 0  # an older version: reasoning already inside output
    return inp, out + reasoning, read, write
