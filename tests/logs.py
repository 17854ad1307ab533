"""Builders for Claude Code log lines, shaped like the real ones (see shared reference)."""

from __future__ import annotations

import json
from pathlib import Path

SESSION = "5d2c9c61-8a7b-4a8e-9e55-0f7e3c2b1a90"


def assistant(
    *,
    ts: str = "2026-09-01T09:14:05.402Z",
    session: str = SESSION,
    msg: str | None = "msg_01",
    req: str | None = "req_01",
    model: str = "claude-sonnet-4-5-20250929",
    inp: int = 10,
    out: int = 100,
    cache_write: int = 0,
    w1h: int | None = None,
    cache_read: int = 0,
    searches: int = 0,
    cwd: str = "/home/dev/app",
    branch: str | None = "main",
    sidechain: bool = False,
    agent_id: str | None = None,
    api_error: bool = False,
    **extra,
) -> dict:
    usage: dict = {
        "input_tokens": inp,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": out,
        "service_tier": "standard",
    }
    if w1h is not None:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": cache_write - w1h,
            "ephemeral_1h_input_tokens": w1h,
        }
    if searches:
        usage["server_tool_use"] = {"web_search_requests": searches, "web_fetch_requests": 0}
    message: dict = {
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "a reply"}],
        "stop_reason": None,
        "usage": usage,
    }
    if msg is not None:
        message["id"] = msg
    line: dict = {
        "parentUuid": "p",
        "isSidechain": sidechain,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session,
        "version": "2.0.41",
        "type": "assistant",
        "message": message,
        "uuid": "u",
        "timestamp": ts,
    }
    if branch is not None:
        line["gitBranch"] = branch
    if req is not None:
        line["requestId"] = req
    if agent_id:
        line["agentId"] = agent_id
    if api_error:
        line["isApiErrorMessage"] = True
    line.update(extra)
    return line


def user(text: str = "hello", ts: str = "2026-09-01T09:14:00.000Z", session: str = SESSION):
    return {
        "type": "user",
        "sessionId": session,
        "cwd": "/home/dev/app",
        "timestamp": ts,
        "message": {"role": "user", "content": text},
    }


def write(path: Path, lines: list, newline_at_end: bool = True) -> Path:
    """Write lines (dicts become JSON, str/bytes written as they are)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    for ln in lines:
        if isinstance(ln, dict):
            parts.append(json.dumps(ln).encode())
        elif isinstance(ln, str):
            parts.append(ln.encode())
        else:
            parts.append(ln)
    data = b"\n".join(parts) + (b"\n" if newline_at_end else b"")
    path.write_bytes(data)
    return path


def append(path: Path, lines: list, newline_at_end: bool = True) -> None:
    with path.open("ab") as fh:
        for i, ln in enumerate(lines):
            data = json.dumps(ln).encode() if isinstance(ln, dict) else (
                ln.encode() if isinstance(ln, str) else ln
            )
            fh.write(data)
            if newline_at_end or i < len(lines) - 1:
                fh.write(b"\n")
