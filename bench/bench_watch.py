#!/usr/bin/env python3
"""How fast ``ccspend watch`` follows a new log line, and what it costs while idle.

Why this exists: the live view promises to redraw within a second of a log
line being written, using under 2% of one core while nothing happens. This
measures both on a large history:

    python bench/bench_watch.py [--corpus /tmp/ccspend-bench/corpus-1g] [--idle 60]

It links every log of the corpus into a temp Claude dir (so the history is
the corpus's), ingests it once, starts ``ccspend watch`` on a pseudo-terminal,
appends lines to a file of its own, and times until the screen shows each;
then leaves it idle and reads its CPU time from /proc.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def line(n: int) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    obj = {"type": "assistant", "sessionId": "bench-watch", "cwd": "/bench", "timestamp": now,
           "requestId": f"req_bw{n}", "message": {"id": f"msg_bw{n}", "model": "claude-haiku-4-5",
           "usage": {"input_tokens": 1_000_000, "output_tokens": 0}}}  # fmt: skip
    return json.dumps(obj).encode() + b"\n"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="/tmp/ccspend-bench/corpus-1g")
    ap.add_argument("--lines", type=int, default=5)
    ap.add_argument("--idle", type=float, default=60.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ccspend-bench-watch-"))
    projects = tmp / "claude" / "projects"
    src = Path(args.corpus) / "projects"
    for f in src.rglob("*.jsonl"):
        dest = projects / f.relative_to(src)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(f)
    mine = projects / "-bench" / "bench-watch.jsonl"
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_bytes(b"")
    env = dict(os.environ, HOME=str(tmp), CLAUDE_CONFIG_DIR=str(tmp / "claude"),
               CCSPEND_DB=str(tmp / "db.duckdb"), CCSPEND_CONFIG_DIR=str(tmp / "cfg"),
               TZ="UTC", COLUMNS="110", LINES="45", CCSPEND_NO_CACHE="1")  # fmt: skip
    cmd = [sys.executable, "-m", "ccspend"]
    subprocess.run([*cmd, "daily"], env=env, capture_output=True, check=True)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [*cmd, "watch", "-z", "UTC"], env)
    screen = b""

    def wait_for(needle: bytes, timeout: float) -> float | None:
        nonlocal screen
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            ready, _, _ = select.select([fd], [], [], 0.02)
            if ready:
                screen += os.read(fd, 1 << 16)
                if needle in screen:
                    return time.monotonic() - t0
        return None

    try:
        first = wait_for(b"today: $", 60)
        print(f"first screen after {first:.2f} s" if first else "no first screen")
        latencies = []
        for n in range(1, args.lines + 1):
            time.sleep(1.0)
            screen = b""
            with open(mine, "ab") as fh:
                fh.write(line(n))
            # the bench session's cost appears in the live-sessions table
            lat = wait_for(f"${n:.2f}".encode(), 10)
            latencies.append(lat if lat is not None else float("nan"))
        print("redraw after a new line (s):", ", ".join(f"{x:.2f}" for x in latencies))
        print(f"median {statistics.median(latencies):.2f} s (target < 1 s)")
        time.sleep(2)
        c0, t0 = cpu_seconds(pid), time.monotonic()
        end = t0 + args.idle
        while time.monotonic() < end:
            if select.select([fd], [], [], 0.5)[0]:
                os.read(fd, 1 << 16)
        used = (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100
        print(f"idle CPU over {args.idle:.0f} s: {used:.2f}% of one core (target < 2%)")
    finally:
        os.kill(pid, 2)
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
