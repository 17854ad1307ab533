"""What the SQLite agents' readers share: the record shape, counts and timestamps.

A record has exactly the keys of ``ccspend.sources.codex``'s, so the store, the
deduplication and the pricing treat every agent alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from ccspend.sources.claude_record import BAD, MAX_TOKENS, count

SESSION_TOTAL = "session-total"  # the ``rid`` of a record that is a whole session's total


def record(*, ts: int, sid: str | None, mid: str, model: str | None, inp: int, out: int,
           c5: int = 0, cr: int = 0, cwd: str | None = None, br: str | None = None,
           ver: str | None = None, ent: str, aid: str | None = None, cu: float | None = None,
           rid: str | None = None) -> dict:
    """One usage record (``in`` is uncached input; reasoning is already inside ``out``)."""
    return {
        "ts": ts, "sid": sid, "mid": mid, "rid": rid, "model": model, "in": inp, "out": out,
        "c5": c5, "c1": 0, "cr": cr, "ws": 0, "cwd": cwd, "br": br, "ver": ver, "ent": ent,
        "sc": False, "aid": aid, "err": False, "cu": cu, "sp": None, "geo": None,
        "ki": 0, "ko": 0, "k5": 0, "k1": 0, "kr": 0,
    }  # fmt: skip


def counts(*values: object) -> tuple[int, ...] | None:
    """Token counts as whole numbers (None and absent are 0); None when one is implausible
    (negative, fractional, over ``MAX_TOKENS``): the row is bad, skipped and counted."""
    out = []
    for v in values:
        c = 0 if v is None else count(v)
        if c is BAD or c > MAX_TOKENS:
            return None
        out.append(c)
    return tuple(out)


def stated_cost(value: object) -> float | None:
    """A cost the agent wrote, in USD; None when there is none or it is 0.

    0 is what OpenCode and Kilo write for a provider they have no price for (a
    subscription such as ``github-copilot``, a free tier they do not know): it
    says nothing about the bill, so such a call is priced from the card (and an
    unknown model stays unpriced, never $0).
    """
    if value.__class__ not in (int, float) or value != value or value <= 0 or value > 1e6:
        return None
    return float(value)


def ms_to_us(ms: object) -> int | None:
    if ms.__class__ is not int or ms <= 0:
        return None
    return ms * 1000


def seconds_to_us(s: object) -> int | None:
    if s.__class__ not in (int, float) or s != s or s <= 0 or s > 4e10:
        return None
    return int(round(s * 1_000_000))


def text_to_us(text: object) -> int | None:
    """``2026-06-03 07:12:40`` (UTC, as SQLite's CURRENT_TIMESTAMP writes it) or RFC 3339."""
    if text.__class__ is not str or not text:
        return None
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1_000_000)


def env_dirs(env: Mapping[str, str], var: str) -> list[Path] | None:
    """The folders a comma-separated variable names (None when it is not set)."""
    raw = env.get(var, "").strip()
    if not raw:
        return None
    return [Path(os.path.expanduser(p.strip())) for p in raw.split(",") if p.strip()]


def xdg_data(env: Mapping[str, str], home: Path) -> Path:
    raw = env.get("XDG_DATA_HOME", "").strip()
    return Path(raw) if raw and os.path.isabs(raw) else home / ".local" / "share"


def find_dbs(roots: list[Path], accept) -> Iterator[Path]:
    """The database files ``accept(name)`` takes in each root (a root may be the file
    itself), each once."""
    seen: set[str] = set()
    for root in roots:
        candidates: list[Path]
        if root.is_file():
            candidates = [root]
        else:
            try:
                candidates = sorted(p for p in root.iterdir() if p.is_file())
            except OSError:
                continue
        for p in candidates:
            key = os.path.realpath(p)
            if key in seen or not accept(p.name):
                continue
            seen.add(key)
            yield p
