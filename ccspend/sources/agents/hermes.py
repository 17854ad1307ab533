"""Hermes Agent (Nous Research): session totals from ``$HERMES_HOME/state.db``
(default ``~/.hermes/state.db``), table ``sessions``, one row per session.

- The counts are the session's totals: one record per session, a **session
  total** (``rid = "session-total"``), dated at ``ended_at`` when the version
  has it and the session ended, else ``started_at`` (unix seconds). No daily
  split is invented.
- ``input_tokens`` excludes the cache (``cache_read_tokens`` and
  ``cache_write_tokens`` are apart); ``reasoning_tokens`` are apart from
  ``output_tokens`` and billed as output (``REASONING_APART``), as ccusage does.
- Cost: ``actual_cost_usd``, else ``estimated_cost_usd``, used as billed when
  above 0 (Hermes prices with its own table).
- A session with no tokens at all (opened, never sent) gives no record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents import dbrecords

NAME = "hermes"
FAMILY = "hermes"
REASONING_APART = True  # reasoning_tokens are not inside output_tokens: add them


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    root = env.get("HERMES_HOME", "").strip()
    return [Path(root).expanduser() if root else home / ".hermes"]


def discover(roots: list[Path]) -> Iterator[Path]:
    return dbrecords.find_dbs(roots, lambda name: name == "state.db")


def records(rows: dict) -> tuple[list[dict], int]:
    out: list[dict] = []
    bad = 0
    for row in rows.get("sessions", ()):
        got = dbrecords.counts(row["input_tokens"], row["output_tokens"],
                               row["cache_read_tokens"], row["cache_write_tokens"],
                               row["reasoning_tokens"])  # fmt: skip
        if got is None:
            bad += 1
            continue
        inp, output, read, write, reasoning = got
        if REASONING_APART:
            output += reasoning
        if not (inp or output or read or write):
            continue
        ts = dbrecords.seconds_to_us(row["ended_at"]) or dbrecords.seconds_to_us(row["started_at"])
        if ts is None or not row["id"]:
            bad += 1
            continue
        cost = row["actual_cost_usd"]
        if cost is None:
            cost = row["estimated_cost_usd"]
        out.append(dbrecords.record(
            ts=ts, sid=str(row["id"]), mid=f"{NAME}:{row['id']}", rid=dbrecords.SESSION_TOTAL,
            model=row["model"] if row["model"].__class__ is str and row["model"] else None,
            inp=inp, out=output, c5=write, cr=read, ent=NAME, cu=dbrecords.stated_cost(cost),
        ))  # fmt: skip
    return out, bad
