"""Codebuff (formerly Manicode) chats: one JSON array of messages per chat, rewritten whole.

``~/.config/manicode{,-dev,-staging}/projects/<project>/chats/<chatId>/chat-messages.json``,
or the folders ``CODEBUFF_DATA_DIR`` lists (comma-separated, as ccusage reads it).
An assistant message (``variant`` or ``role`` of ``ai``, ``agent`` or ``assistant``)
carries its usage in ``metadata.usage``, else ``metadata.codebuff.usage``, else the
last assistant entry of its run state's ``providerOptions`` (the newest call; the
entries before it belong to earlier messages and are never added).

- **Input that includes the cache.** Usage comes in two spellings. Anthropic's
  (``inputTokens``, ``cacheReadInputTokens``, ``cacheCreationInputTokens``) keeps the
  cache out of input. OpenAI's (``prompt_tokens`` with
  ``prompt_tokens_details.cached_tokens``, or ``promptTokens`` with
  ``promptTokensDetails.cachedTokens``) counts the cache reads inside the prompt: they
  are taken out of it (ccusage does not, and bills them twice).
- A call's id is ``codebuff:<channel>/<project>/<chat>:<message id>``, the same on
  every read: a chat file rewritten with its earlier messages counts each once.
- ``credits`` are Codebuff's unit, not dollars: calls are priced from the card.
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

NAME = "codebuff"
CHANNELS = ("manicode", "manicode-dev", "manicode-staging")
_ASSISTANT = ("ai", "agent", "assistant")


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``CODEBUFF_DATA_DIR``'s folders, else each channel's ``~/.config/<channel>``."""
    return env_list(env, "CODEBUFF_DATA_DIR") or [home / ".config" / c for c in CHANNELS]


def complete_end(path: str, size: int) -> int:
    """A chat is one JSON document: all of it is complete (see ``amp.complete_end``)."""
    return size


def discover(roots: list[Path]) -> Iterator[LogFile]:
    """Every ``chat-messages.json`` below the roots."""
    return files_below(roots, ".json", lambda name: name == "chat-messages.json")


def _str(value: object) -> str | None:
    return value if value.__class__ is str and value else None


def _first(obj: dict, *keys: str) -> object:
    for key in keys:
        if obj.get(key) is not None:
            return obj[key]
    return None


def usage_counts(usage: object) -> tuple[int, int, int, int] | None | bool:
    """(uncached input, output, cache writes, cache reads) of a usage object in either
    spelling; None when there is none, False when a count is implausible."""
    if usage.__class__ is not dict:
        return None
    openai = "prompt_tokens" in usage or "promptTokens" in usage
    details = _first(usage, "prompt_tokens_details", "promptTokensDetails")
    cached = _first(details, "cached_tokens", "cachedTokens") if details.__class__ is dict else None
    counts = tokens(
        _first(usage, "inputTokens", "input_tokens", "promptTokens", "prompt_tokens"),
        _first(usage, "outputTokens", "output_tokens", "completionTokens", "completion_tokens"),
        _first(usage, "cacheCreationInputTokens", "cache_creation_input_tokens",
               "cacheCreationTokens", "cache_creation_tokens"),
        _first(usage, "cacheReadInputTokens", "cache_read_input_tokens"),
        cached,
    )  # fmt: skip
    if counts is None:
        return False
    inp, out, cw, cr, cached_n = counts
    if openai and cached_n:
        cr = max(cr, cached_n)
        inp = inp - cached_n if inp >= cached_n else 0  # the prompt holds its cache reads
    elif cached_n and not cr:
        cr = cached_n
    if not (inp or out or cw or cr):
        return None
    return inp, out, cw, cr


def _run_state_usage(metadata: dict) -> tuple[object, str | None]:
    """The usage and model of the newest assistant entry of the run state, if any."""
    state = metadata.get("runState")
    for key in ("sessionState", "mainAgentState", "messageHistory"):
        state = state.get(key) if state.__class__ is dict else None
    if state.__class__ is not list:
        return None, None
    for entry in reversed(state):
        if entry.__class__ is not dict or entry.get("role") != "assistant":
            continue
        options = entry.get("providerOptions")
        if options.__class__ is not dict:
            continue
        inner = options.get("codebuff")
        inner = inner if inner.__class__ is dict else {}
        usage = options.get("usage") or inner.get("usage")
        if usage.__class__ is dict:
            return usage, _str(inner.get("model"))
    return None, None


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    """The calls of one chat, and how many records are bad (a chat that is not a JSON
    array, being rewritten, counts as one)."""
    messages = json_document(path, list)
    if messages is None:
        return [], 1
    parts = os.path.normpath(path).split(os.sep)
    chat = parts[-2] if len(parts) >= 2 else "unknown"
    project = parts[-4] if len(parts) >= 4 else "unknown"
    channel = parts[-6] if len(parts) >= 6 else CHANNELS[0]
    sid = f"{channel}/{project}/{chat}"
    out: list[dict] = []
    bad = 0
    for n, m in enumerate(messages):
        if m.__class__ is not dict:
            continue
        if (_str(m.get("variant")) or _str(m.get("role"))) not in _ASSISTANT:
            continue
        metadata = m.get("metadata")
        metadata = metadata if metadata.__class__ is dict else {}
        inner = metadata.get("codebuff")
        model = _str(metadata.get("model"))
        counts = usage_counts(metadata.get("usage"))
        if counts is None and inner.__class__ is dict:
            counts = usage_counts(inner.get("usage"))
        if counts is None:
            usage, run_model = _run_state_usage(metadata)
            counts = usage_counts(usage)
            model = model or run_model
        if counts is None:
            continue
        ts = when_us(m.get("timestamp"))
        if counts is False or ts is None:
            bad += 1
            continue
        inp, outp, cw, cr = counts
        key = _str(m.get("id")) or f"i{n}"
        out.append(record(NAME, ts, sid, f"codebuff:{sid}:{key}", model, inp=inp, out=outp,
                          cw=cw, cr=cr, cwd=None, f=file_id, o=n))  # fmt: skip
    return out, bad
