"""GitHub Copilot CLI's ``session-store.db`` (``$COPILOT_HOME``, else ``~/.copilot``).

Known only from tokscale's reader (docs/agents.md): table
``assistant_usage_events``, one row per model call, appended with an
autoincrement id, and ``sessions`` (cwd, branch).

- One record per event, id ``copilot-store:<session>:<event id>``.
- The model is ``copilot_usage_model`` (what was billed) when set, else ``model``
  (which may say only ``auto``).
- ``input_tokens`` includes the cache reads and writes (as tokscale reads it):
  uncached input is the difference. A row whose input is smaller than its
  cache counts cannot include them, and is read as uncached already.
- ``reasoning_tokens`` are inside ``output_tokens`` (``REASONING_INSIDE``), as in
  the OpenAI and Anthropic APIs the events come from.
- ``total_nano_aiu`` is Copilot's billing unit, not dollars: no stated cost; the
  calls are priced from the card.
- The OpenTelemetry export of Copilot CLI (another reader) may describe the
  same calls: nothing links the two, so read one of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents import dbrecords

NAME = "copilot-store"
FAMILY = "copilot_store"
REASONING_INSIDE = True  # reasoning_tokens are a part of output_tokens


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    root = env.get("COPILOT_HOME", "").strip()
    return [Path(root).expanduser() if root else home / ".copilot"]


def discover(roots: list[Path]) -> Iterator[Path]:
    return dbrecords.find_dbs(roots, lambda name: name == "session-store.db")


def records(rows: dict) -> tuple[list[dict], int]:
    sessions = {s["id"]: s for s in rows.get("sessions", ())}
    out: list[dict] = []
    bad = 0
    for ev in rows.get("events", ()):
        got = dbrecords.counts(ev["input_tokens"], ev["output_tokens"], ev["cache_read_tokens"],
                               ev["cache_write_tokens"], ev["reasoning_tokens"])
        ts = dbrecords.text_to_us(ev["created_at"])
        if got is None or ts is None or not ev["session_id"]:
            bad += 1
            continue
        inp, output, read, write, reasoning = got
        if inp >= read + write:
            inp -= read + write
        if not REASONING_INSIDE:
            output += reasoning
        if not (inp or output or read or write):
            continue
        model = ev["copilot_usage_model"] or ev["model"]
        session = sessions.get(ev["session_id"]) or {}
        out.append(dbrecords.record(
            ts=ts, sid=ev["session_id"], mid=f"{NAME}:{ev['session_id']}:{ev['id']}",
            model=model if model.__class__ is str else None, inp=inp, out=output, c5=write,
            cr=read, cwd=session.get("cwd"), br=session.get("branch"), ent=NAME,
        ))  # fmt: skip
    return out, bad
