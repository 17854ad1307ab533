#!/usr/bin/env python3
"""How long the interactive cap hook makes Claude Code wait on each tool call.

Why this exists: ``ccspend cap hook`` runs before every tool call of a capped
session, so it must answer in under 100 ms. This builds a sandbox with a
session transcript of a few thousand responses, primes the summary (as the
background refresh does), then times the hook end to end (process start to
exit) for PreToolUse calls while the transcript grows, beside a bare
``python -c pass`` (the floor any Python hook pays). The first call reads the
whole transcript and is reported on its own; each later one reads only what
the session added since.

``ccspend`` is, by default, a clean non-editable install of this checkout in a
venv (``bench/_venv.py``: what ``pip install ccspend`` gives a user); it is also
timed through ``python -m ccspend`` of the development install and through the
``ccspend`` on PATH (here a pyenv shim: a bash script before Python).

    python bench/bench_cap_hook.py [--calls 50] [--ccspend CMD]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import ensure_venv, sandbox_env  # noqa: E402


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
    ap.add_argument("--ccspend", default=None, help="the command to time (default: clean venv)")
    args = ap.parse_args()
    if args.ccspend:
        ccspend, label = args.ccspend.split(), args.ccspend
        python = sys.executable
    else:
        venv = ensure_venv()
        ccspend, label = [str(venv / "bin" / "ccspend")], "clean venv"
        python = str(venv / "bin" / "python")
    kinds = {label: (ccspend, python),
             "python -m ccspend (dev)": ([sys.executable, "-m", "ccspend"], sys.executable)}
    on_path = shutil.which("ccspend")  # what Claude Code runs for "ccspend cap hook"
    if on_path and not args.ccspend:
        kinds[f"ccspend on PATH, {on_path}"] = ([on_path], sys.executable)
    for name, (cmd, py) in kinds.items():
        first, hook, floor = measure(cmd, py, args.calls)
        med, worst = statistics.median(hook), max(hook)
        p95 = sorted(hook)[int(len(hook) * 0.95) - 1]
        base = statistics.median(floor)
        print(f"cap hook ({name}): median {med:.0f} ms, p95 {p95:.0f} ms, worst {worst:.0f} ms "
              f"over {len(hook)} calls (target < 100 ms); first call of the session "
              f"{first:.0f} ms; {py} -c pass: {base:.0f} ms; load average "
              f"{os.getloadavg()[0]:.2f}")
    return 0


def measure(ccspend: list[str], python: str, calls: int) -> tuple[float, list, list]:
    """(first call ms, later calls ms, ``python -c pass`` ms) in a fresh sandbox."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = sandbox_env(tmp)
        folder = tmp / "claude" / "projects" / "-x"
        folder.mkdir(parents=True)
        transcript = folder / "s1.jsonl"
        transcript.write_text("\n".join(line(i) for i in range(3000)) + "\n")
        subprocess.run([*ccspend, "cap", "install", "--session-cap", "10000"], env=env,
                       check=True, capture_output=True)  # fmt: skip
        subprocess.run([*ccspend, "statusline", "--refresh"], env=env, check=True)
        event = json.dumps({"hook_event_name": "PreToolUse", "session_id": "s1",
                            "transcript_path": str(transcript), "tool_name": "Bash",
                            "tool_input": {"command": "ls"}})  # fmt: skip
        first = timed([*ccspend, "cap", "hook"], env, event)
        hook, floor = [], []
        for i in range(calls):
            with open(transcript, "a") as fh:  # the session goes on between tool calls
                fh.write(line(10_000 + i) + "\n")
            hook.append(timed([*ccspend, "cap", "hook"], env, event))
            floor.append(timed([python, "-c", "pass"], env, ""))
    return first, hook, floor


if __name__ == "__main__":
    sys.exit(main())
