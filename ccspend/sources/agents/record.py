"""The usage record every agent reader gives, in the Claude Code records' shape.

One function, so that each reader states only what its log says and the rest
(no cache writes, no fast mode, no compaction steps...) is the same everywhere.
"""

from __future__ import annotations

import os


def record(*, ts: int, sid: str | None, mid: str | None, model: str | None, inp: int, out: int,
           cache_read: int = 0, cache_write: int = 0, cwd: str | None = None,
           branch: str | None = None, version: str | None = None, entrypoint: str,
           sidechain: bool = False, agent_id: str | None = None, cost: float | None = None,
           rid: str | None = None) -> dict:  # fmt: skip
    """A record: ``inp`` is uncached input, ``cache_write`` 5-minute cache writes (the one
    kind other agents report), ``cost`` what the log says the call cost (None: nothing)."""
    return {
        "ts": ts, "sid": sid, "mid": mid, "rid": rid, "model": model, "in": inp, "out": out,
        "c5": cache_write, "c1": 0, "cr": cache_read, "ws": 0, "cwd": cwd, "br": branch,
        "ver": version, "ent": entrypoint, "sc": sidechain, "aid": agent_id, "err": False,
        "cu": cost, "sp": None, "geo": None, "ki": 0, "ko": 0, "k5": 0, "k1": 0, "kr": 0,
    }  # fmt: skip


def env_paths(env, name: str) -> list[str]:
    """An environment variable's folders: a comma- or ``os.pathsep``-separated list, each
    with ``~`` expanded; [] when it is unset or blank."""
    raw = env.get(name, "")
    parts = [p.strip() for chunk in raw.split(",") for p in chunk.split(os.pathsep)]
    return [os.path.expanduser(p) for p in parts if p]
