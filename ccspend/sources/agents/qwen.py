"""Qwen Code's chat recordings: ``~/.qwen/projects/<sanitized cwd>/chats/<sessionId>.jsonl``.

Usage is ``usageMetadata`` on ``type: "assistant"`` records, in Gemini's field
names but, on the OpenAI-compatible backends Qwen Code mostly runs on (Qwen
OAuth, DashScope, OpenRouter), with OpenAI's meaning (docs/agents.md, "Qwen Code"):

- ``promptTokenCount`` includes ``cachedContentTokenCount``: uncached input is
  the difference (when the cache is not larger than the prompt, which some
  providers report; then the prompt is taken as uncached).
- ``candidatesTokenCount`` already includes the reasoning (``thoughtsTokenCount``
  is a part of it) unless the total says otherwise: thoughts are added only
  when ``total == prompt + candidates + thoughts`` (Gemini's own meaning, on
  the native Gemini backend). This is the one uncertain relation: ``THOUGHTS``.
- ``type: "system"`` records (``ui_telemetry`` copies of each API response,
  ``chat_compression`` history) are never usage.
- A record's id is ``<sessionId>:<uuid>``; a uuid written twice counts once.
- A provider that sends only a total gets a 70/30 split invented by Qwen Code:
  it cannot be told apart for certain, so it is priced as logged (coarse).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources import logfiles
from ccspend.sources.agents.filecommon import jsonl_objects
from ccspend.sources.agents.record import env_paths, record
from ccspend.sources.claude_record import BAD, count, parse_timestamp_us
from ccspend.sources.logfiles import LogFile

ENTRYPOINT = "qwen-code"
SUFFIX = ".jsonl"
# "auto": thoughts added to output only when the total says they are outside it;
# "inside": never added (OpenAI-compatible backends); "outside": always (native Gemini).
THOUGHTS = os.environ.get("CCSPEND_QWEN_THOUGHTS", "auto")


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``$QWEN_DATA_DIR``'s folders (ccusage's), else ``$QWEN_RUNTIME_DIR``, else ``~/.qwen``;
    each one's ``projects``."""
    bases = env_paths(env, "QWEN_DATA_DIR") or env_paths(env, "QWEN_RUNTIME_DIR")
    return [Path(b) / "projects" for b in bases] or [Path(home) / ".qwen" / "projects"]


def accept(path: str) -> bool:
    return os.path.basename(os.path.dirname(path)) == "chats" and path.endswith(SUFFIX)


def discover(roots: list[Path]) -> Iterator[LogFile]:
    for path, size, mtime_ns, dev, ino in logfiles.stat_logs(roots, SUFFIX):
        if accept(path):
            yield LogFile(path, size, mtime_ns, dev, ino)


def split(usage: dict, thoughts_rule: str = THOUGHTS) -> tuple[int, int, int] | None | bool:
    """(uncached input, output, cache read) of a ``usageMetadata``; None: none; False: bad."""
    g = usage.get
    if "promptTokenCount" not in usage and "input" in usage:  # an early version's names
        vals = [count(g(k)) for k in ("input", "output", "cached", "thoughts", "tool", "total")]
        if any(v is BAD for v in vals):
            return False
        inp, out, cached, thoughts, tool, _total = vals
        return max(inp - cached, 0) + tool, out + thoughts, min(cached, inp)
    vals = [count(g(k)) for k in ("promptTokenCount", "candidatesTokenCount",
                                  "cachedContentTokenCount", "thoughtsTokenCount",
                                  "totalTokenCount")]  # fmt: skip
    if any(v is BAD for v in vals):
        return False
    prompt, cand, cached, thoughts, total = vals
    if cached > prompt:
        inp, cached = prompt, 0  # not a part of the prompt: nothing to split
    else:
        inp = prompt - cached
    outside = thoughts_rule == "outside" or (
        thoughts_rule == "auto" and thoughts and total == prompt + cand + thoughts)
    return inp, cand + (thoughts if outside else 0), cached


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    last: dict[str, tuple[int, dict]] = {}
    objs, skipped = jsonl_objects(path, (b'"assistant"',))  # only those lines are decoded
    for pos, obj in objs:
        if obj.get("type") == "assistant" and obj.get("usageMetadata").__class__ is dict:
            key = obj.get("uuid")
            last[key if key.__class__ is str and key else f"@{pos}"] = (pos, obj)
    records = []
    for offset, obj in sorted(last.values(), key=lambda x: x[0]):
        used = split(obj["usageMetadata"])
        ts = parse_timestamp_us(obj.get("timestamp"))
        if used is False or ts is None:
            skipped += 1
            continue
        if used is None or not any(used):
            continue
        sid = obj.get("sessionId") if obj.get("sessionId").__class__ is str else None
        uuid = obj.get("uuid") if obj.get("uuid").__class__ is str else None
        model = obj.get("model")
        rec = record(ts=ts, sid=sid, mid=f"{sid}:{uuid}" if sid and uuid else None,
                     model=model if model.__class__ is str else None, inp=used[0], out=used[1],
                     cache_read=used[2], cwd=_text(obj.get("cwd")),
                     branch=_text(obj.get("gitBranch")),
                     version=_text(obj.get("version")), entrypoint=ENTRYPOINT)  # fmt: skip
        rec["f"], rec["o"] = file_id, offset
        records.append(rec)
    return records, skipped


def _text(v: object) -> str | None:
    return v if v.__class__ is str and v else None
