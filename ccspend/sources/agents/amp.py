"""Amp (Sourcegraph) threads: one JSON document per thread, rewritten whole.

``${AMP_DATA_DIR:-~/.local/share/amp}/threads/T-<uuid>.json`` (``AMP_DATA_DIR``
may list several folders, comma-separated, as ccusage reads it). A thread holds
``messages[]`` (an assistant message may carry ``usage:{model, inputTokens,
outputTokens, cacheCreationInputTokens, cacheReadInputTokens, totalTokens,
credits, timestamp}``) and, in older threads, ``usageLedger.events[]`` (``{id,
timestamp, model, credits, tokens:{input, output}, fromMessageId,
toMessageId}``).

- **One call, two records.** A ledger event and the usage of the message it
  points to (``toMessageId``) describe the same call: it counts once, input and
  output from the event, the cache counts (only the message has them) from the
  message. A message with usage that no event points to counts on its own (a
  thread written without a ledger, the newer schema).
- A call's id is ``amp:<thread>:<message id>`` (``:e<event id>`` for an event
  pointing nowhere), the same on every read and in a copied thread file, which
  therefore counts once.
- **Input that includes the cache.** Amp's names are Anthropic's and its input
  excludes the cache (``totalTokens`` = input + output + cache writes + reads).
  Where a message's ``totalTokens`` is instead input + output with the cache
  inside input, the cache is taken out of input.
- ``credits`` are Amp's billing unit, not dollars: calls are priced from the card.
  Threads carry no working folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents.filecommon import (
    LogFile,
    env_list,
    files_below,
    json_document,
    record,
    tokens,
    when_us,
)

NAME = "amp"


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``AMP_DATA_DIR``'s folders, else ``~/.local/share/amp`` (where ccusage and tokscale
    look on every system)."""
    return env_list(env, "AMP_DATA_DIR") or [home / ".local" / "share" / "amp"]


def complete_end(path: str, size: int) -> int:
    """A thread is one JSON document: all of it is complete (one being rewritten does not
    parse, counts as one bad record, and is read again once it changes)."""
    return size


def discover(roots: list[Path]) -> Iterator[LogFile]:
    """Every ``T-*.json`` thread below the roots."""
    return files_below(roots, ".json", lambda name: name.startswith("T-"))


def _str(value: object) -> str | None:
    return value if value.__class__ is str and value else None


def _key(value: object) -> str | None:
    if value.__class__ is int or (value.__class__ is str and value):
        return str(value)
    return None


def _message_usage(usage: dict) -> tuple[int, int, int, int] | None:
    """(uncached input, output, cache writes, cache reads) of a message's usage; None if
    a count is implausible."""
    counts = tokens(usage.get("inputTokens"), usage.get("outputTokens"),
                    usage.get("cacheCreationInputTokens"), usage.get("cacheReadInputTokens"),
                    usage.get("totalTokens"))  # fmt: skip
    if counts is None:
        return None
    inp, out, cw, cr, total = counts
    if (cw or cr) and total and total == inp + out and inp >= cw + cr:
        inp -= cw + cr  # input written with the cache inside it
    return inp, out, cw, cr


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    """The calls of one thread, each once, and how many records are bad (a thread that is
    not JSON, being rewritten, counts as one bad record)."""
    thread = json_document(path, dict)
    if thread is None:
        return [], 1
    tid = _str(thread.get("id")) or os.path.basename(path)[: -len(".json")]
    messages = thread.get("messages")
    messages = messages if messages.__class__ is list else []
    by_id: dict[str, dict] = {}
    for m in messages:
        usage = m.get("usage") if m.__class__ is dict else None
        if usage.__class__ is dict and (k := _key(m.get("messageId"))) is not None:
            by_id[k] = usage
    ledger = thread.get("usageLedger")
    events = ledger.get("events") if ledger.__class__ is dict else None
    events = events if events.__class__ is list else []
    out: list[dict] = []
    bad = 0
    covered: set[str] = set()
    for n, ev in enumerate(events):
        if ev.__class__ is not dict or ev.get("operationType", "inference") != "inference":
            continue
        toks = ev.get("tokens")
        toks = toks if toks.__class__ is dict else {}
        target = _key(ev.get("toMessageId"))
        usage = by_id.get(target) if target is not None else None
        counts = tokens(toks.get("input"), toks.get("output"))
        cache = _message_usage(usage) if usage is not None else (0, 0, 0, 0)
        ts = when_us(ev.get("timestamp"))
        if counts is None or cache is None or ts is None:
            bad += 1
            continue
        if target is not None:
            covered.add(target)
        model = _str(ev.get("model")) or (_str(usage.get("model")) if usage else None)
        mid = f"amp:{tid}:{target}" if target is not None else f"amp:{tid}:e{ev.get('id', n)}"
        out.append(record(NAME, ts, tid, mid, model, inp=counts[0], out=counts[1], cw=cache[2],
                          cr=cache[3], f=file_id, o=n))  # fmt: skip
    for n, m in enumerate(messages):
        if m.__class__ is not dict or m.get("usage").__class__ is not dict:
            continue
        k = _key(m.get("messageId"))
        if k is not None and k in covered:
            continue  # the ledger event of this call is already counted
        usage = m["usage"]
        counts = _message_usage(usage)
        ts = when_us(usage.get("timestamp"))
        if counts is None or ts is None:
            bad += 1
            continue
        if not any(counts):
            continue
        inp, outp, cw, cr = counts
        mid = f"amp:{tid}:{k if k is not None else f'i{n}'}"
        out.append(record(NAME, ts, tid, mid, _str(usage.get("model")), inp=inp, out=outp,
                          cw=cw, cr=cr, f=file_id, o=len(events) + n))  # fmt: skip
    return out, bad
