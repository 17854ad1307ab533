"""GitHub Copilot CLI's OpenTelemetry file exports: one call counted once, from its chat span.

Copilot CLI writes usage only where the user asked for telemetry in a file
(``COPILOT_OTEL_ENABLED=true``, ``COPILOT_OTEL_EXPORTER_TYPE=file``,
``COPILOT_OTEL_FILE_EXPORTER_PATH=<file.jsonl>``); ccusage also reads
``~/.copilot/otel/*.jsonl``. Each line is a span (``{"type":"span", traceId,
spanId, name, endTime:[s, ns], attributes}``), a log record (``{hrTime,
attributes:{"event.name"}, _body}``) or a metric (an aggregate: never usage).

**Telemetry duplicates.** One model call shows up to four times: its ``chat …``
span; a ``gen_ai.client.inference.operation.details`` log; the
``copilot_chat.agent.turn`` log that sums a turn; the ``invoke_agent …`` span that
sums the agent's run (a subagent's own ``invoke_agent`` span sums its calls again:
subagent usage logged twice). So a chat span always counts; an inference log only
where no chat span shares its trace or response id; a turn log only where neither
does; an agent span only where none of the three does (ccusage's rule). A call's
id is ``copilot:<traceId>:<spanId>`` (its inference log carries the chat span's
ids and gets the same id), so the same call in two exported files counts once.

**Counts.** Copilot follows the OpenTelemetry GenAI conventions and fills the
attributes from OpenAI-style usage (microsoft/vscode-copilot-chat
``chatMLFetcher``: ``input_tokens`` = ``prompt_tokens``, the cache reads
``prompt_tokens_details.cached_tokens`` and writes ``cache_creation_input_tokens``
are parts of it; ``output_tokens`` = ``completion_tokens``, reasoning a part of
it). So uncached input is input − cache reads − cache writes, and output is
billed as it is: reasoning is never added again (``REASONING_IN_OUTPUT``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents.filecommon import (
    LogFile,
    files_below,
    jsonl_objects,
    record,
    tokens,
    when_us,
)

NAME = "copilot"
EXPORTER_ENV = "COPILOT_OTEL_FILE_EXPORTER_PATH"
REASONING_IN_OUTPUT = True
"""The one setting for an uncertain relation: whether ``output_tokens`` already holds
``reasoning.output_tokens`` (OpenAI's and the GenAI conventions' meaning). If Copilot
ever reports them apart, set False and reasoning is added to output."""
INPUT_HOLDS_CACHE = True
"""Whether ``input_tokens`` includes the cache reads and writes (the GenAI conventions)."""

_CHAT, _INFERENCE, _TURN, _AGENT = 0, 1, 2, 3
_SESSION_KEYS = (
    "gen_ai.conversation.id", "copilot_chat.session_id", "copilot_chat.chat_session_id",
    "session.id", "github.copilot.interaction_id",
)  # fmt: skip
_MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``~/.copilot/otel`` (ccusage's folder) and the exporter's file, if one is named."""
    roots = [home / ".copilot" / "otel"]
    named = env.get(EXPORTER_ENV, "").strip()
    if named:
        roots.append(Path(os.path.expanduser(named)))
    return roots


def discover(roots: list[Path]) -> Iterator[LogFile]:
    """Every ``*.jsonl`` below the roots (a root may be the exporter's file itself)."""
    return files_below(roots, ".jsonl", lambda name: True)


def _str(value: object) -> str | None:
    return value.strip() if value.__class__ is str and value.strip() else None


def _time(obj: dict) -> int | None:
    for key in ("endTime", "hrTime", "startTime"):
        parts = obj.get(key)
        if parts.__class__ is list and len(parts) == 2 and all(
                p.__class__ is int and p >= 0 for p in parts):  # fmt: skip
            return when_us(parts[0] + parts[1] / 1e9)
    return None


def _kind(obj: dict, attrs: dict) -> int | None:
    name = _str(obj.get("name")) or ""
    op = attrs.get("gen_ai.operation.name")
    if obj.get("type") == "span" or (name and ("spanId" in obj or "endTime" in obj)):
        if op == "chat" or name.startswith("chat "):
            return _CHAT
        if op == "invoke_agent" or name.startswith("invoke_agent "):
            return _AGENT
        return None
    event = attrs.get("event.name")
    body = _str(obj.get("_body")) or _str(obj.get("body")) or ""
    if event == "gen_ai.client.inference.operation.details" or body.startswith("GenAI inference:"):
        return _INFERENCE
    if event == "copilot_chat.agent.turn" or body.startswith("copilot_chat.agent.turn"):
        return _TURN
    return None


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    """The model calls of one export file, each once, and how many lines are bad."""
    objs, bad = jsonl_objects(path, (b'"attributes"',))
    cands: list[tuple[int, int, dict, dict]] = []  # (kind, offset, line, attributes)
    trace_model: dict[str, str] = {}
    trace_session: dict[str, str] = {}
    for n, obj in objs:
        attrs = obj.get("attributes")
        if attrs.__class__ is not dict:
            continue  # a metric, or a line without attributes: no call
        trace = _str(obj.get("traceId"))
        if trace is not None:
            model = next((m for k in _MODEL_KEYS if (m := _str(attrs.get(k)))), None)
            if model and trace not in trace_model:
                trace_model[trace] = model
            session = next((s for k in _SESSION_KEYS if (s := _str(attrs.get(k)))), None)
            if session and trace not in trace_session:
                trace_session[trace] = session
        kind = _kind(obj, attrs)
        if kind is not None:
            cands.append((kind, n, obj, attrs))
    # which traces and response ids each kind of record covers
    traces: list[set[str]] = [set(), set(), set(), set()]
    responses: list[set[str]] = [set(), set(), set(), set()]
    for kind, _n, obj, attrs in cands:
        if (t := _str(obj.get("traceId"))) is not None:
            traces[kind].add(t)
        if (r := _str(attrs.get("gen_ai.response.id"))) is not None:
            responses[kind].add(r)
    out: list[dict] = []
    for kind, n, obj, attrs in cands:
        trace = _str(obj.get("traceId"))
        response = _str(attrs.get("gen_ai.response.id"))
        if any((trace is not None and trace in traces[k])
               or (response is not None and response in responses[k]) for k in range(kind)):
            continue  # a better record of the same calls is in this file  # fmt: skip
        rec = _record(kind, n, obj, attrs, trace, trace_model, trace_session, file_id)
        if rec is False:
            bad += 1
        elif rec is not None:
            out.append(rec)
    return out, bad


def _record(kind: int, n: int, obj: dict, attrs: dict, trace: str | None,
            trace_model: dict, trace_session: dict, file_id: int) -> dict | None | bool:
    g = attrs.get
    counts = tokens(g("gen_ai.usage.input_tokens"), g("gen_ai.usage.output_tokens"),
                    g("gen_ai.usage.cache_read.input_tokens"),
                    g("gen_ai.usage.cache_creation.input_tokens")
                    or g("gen_ai.usage.cache_write.input_tokens"),
                    g("gen_ai.usage.reasoning.output_tokens")
                    or g("gen_ai.usage.reasoning_tokens"))  # fmt: skip
    if counts is None:
        return False
    inp, out, cr, cw, reasoning = counts
    if not (inp or out or cr or cw or reasoning):
        return None
    ts = _time(obj)
    if ts is None:
        return False
    if INPUT_HOLDS_CACHE:
        inp = max(0, inp - cr - cw) if inp >= cr + cw else max(0, inp - cr)
    if not REASONING_IN_OUTPUT:
        out += reasoning
    model = next((m for k in _MODEL_KEYS if (m := _str(g(k)))), None) or trace_model.get(trace)
    session = (next((s for k in _SESSION_KEYS if (s := _str(g(k)))), None)
               or trace_session.get(trace) or trace)  # fmt: skip
    span = _str(obj.get("spanId"))
    if kind == _TURN:
        turn = g("turn.index", g("copilot_chat.turn.index"))
        key = f"turn:{trace}:{turn}" if trace else f"turn:{session}:{ts}:{n}"
    elif trace and span:
        key = f"{trace}:{span}"
    else:
        key = f"line:{session}:{ts}:{n}"
    return record(NAME, ts, session, f"copilot:{key}", model, inp=inp, out=out, cw=cw, cr=cr,
                  f=file_id, o=n)
