#!/usr/bin/env python3
"""How long the interactive cap hook makes Claude Code wait on each tool call.

Why this exists: ``ccspend cap hook`` runs before every tool call of a capped
session, so it must answer in under 100 ms. This builds a sandbox with a
session transcript of a few thousand responses, primes the summary (as the
background refresh does), then times the hook end to end (process start to
exit) for PreToolUse calls while the transcript grows, beside a bare
``python -c pass`` (the floor any Python hook pays).

    python bench/bench_cap_hook.py [--calls 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def line(i: int) -> str:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    usage = {"input_tokens": 1000, "output_tokens": 200, "cache_read_input_tokens": 20000}
    message = {"id": f"m{i}", "model": "claude-sonnet-4-6", "usage": usage}
    return json.dumps({"type": "assistant", "sessionId": "s1", "timestamp": now, "cwd": "/x",
                       "requestId": f"r{i}", "message": message})


def timed(cmd: list[str], env: dict, stdin: str) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, input=stdin, env=env, capture_output=True, text=True, check=True)
    return (time.perf_counter() - t) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "HOME": str(tmp), "CLAUDE_CONFIG_DIR": str(tmp / "claude"),
               "CCSPEND_DB": str(tmp / "db.duckdb"), "CCSPEND_CONFIG_DIR": str(tmp / "cfg"),
               "CCSPEND_NO_BACKGROUND": "1"}
        folder = tmp / "claude" / "projects" / "-x"
        folder.mkdir(parents=True)
        transcript = folder / "s1.jsonl"
        transcript.write_text("\n".join(line(i) for i in range(3000)) + "\n")
        ccspend = [sys.executable, "-m", "ccspend"]
        subprocess.run([*ccspend, "cap", "install", "--session-cap", "10000"], env=env,
                       check=True, capture_output=True)
        subprocess.run([*ccspend, "statusline", "--refresh"], env=env, check=True)
        event = json.dumps({"hook_event_name": "PreToolUse", "session_id": "s1",
                            "transcript_path": str(transcript), "tool_name": "Bash",
                            "tool_input": {"command": "ls"}})
        hook, floor = [], []
        for i in range(args.calls):
            with open(transcript, "a") as fh:  # the session goes on between tool calls
                fh.write(line(10_000 + i) + "\n")
            hook.append(timed([*ccspend, "cap", "hook"], env, event))
            floor.append(timed([sys.executable, "-c", "pass"], env, ""))
    med, worst = statistics.median(hook), max(hook)
    p95 = sorted(hook)[int(len(hook) * 0.95) - 1]
    base = statistics.median(floor)
    print(f"cap hook: median {med:.0f} ms, p95 {p95:.0f} ms, worst {worst:.0f} ms "
          f"(target < 100 ms); python -c pass: {base:.0f} ms; hook/floor {med / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
