"""``ccspend cap hook``: the front end Claude Code calls before every tool use and prompt.

Reads the hook's JSON on stdin and prints ccspend's answer (``live.caps.respond``).
Standard library only, and fail-open: anything unexpected lets the call go on,
because a broken hook must never block the user.
"""

from __future__ import annotations

import json
import sys
import time


def run(stdin=None, stdout=None, now: float | None = None) -> int:
    """One hook call. Always exits 0; anything unexpected means 'allow' (fail open)."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    now = time.time() if now is None else now
    try:
        from ccspend.live.caps import respond

        obj = json.loads(stdin.read() or "{}")
        if not isinstance(obj, dict):
            return 0
        if obj.get("hook_event_name") == "ccspend-probe":  # claude_settings.PROBE_EVENT
            from ccspend.live.claude_settings import probe_reply

            stdout.write(probe_reply() + "\n")  # ``ccspend cap`` asks: do I run? nothing else
            return 0
        out = respond(obj, now)
        if out is not None:
            stdout.write(json.dumps(out) + "\n")
    except Exception:  # noqa: BLE001 - fail open: a broken hook never blocks the user
        return 0
    return 0
