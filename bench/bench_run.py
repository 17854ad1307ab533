#!/usr/bin/env python3
"""How fast ``ccspend run`` reacts at the cap, and what the wrapper costs.

Why this exists: a cap is only as good as its reaction. This measures, with
50 other sessions' logs being written elsewhere in the same Claude dir:

    python bench/bench_run.py [--runs 10] [--noise 50]

- reaction: from the agent writing the log line that crosses the cap to the
  agent receiving SIGINT (target: median under 250 ms, worst under 1 s);
- overhead: the wrapper's CPU time over the run, less the agent's own, per
  second of run (target: under 3% of one core);
- start: from launching ``ccspend run`` to the agent starting (target: under
  150 ms more than launching the agent directly).
The agent is tests/fake_agent.py, writing a $0.10 line every 0.3 s against a
$0.50 cap, so the fifth line crosses it.
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
from pathlib import Path

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fake_agent.py"


def noise(config: Path, sessions: int) -> subprocess.Popen:
    code = f"""
import json, time, pathlib
from datetime import UTC, datetime
root = pathlib.Path({str(config)!r}) / "projects"
files = []
for i in range({sessions}):
    d = root / f"-elsewhere-{{i}}"; d.mkdir(parents=True, exist_ok=True)
    files.append(d / f"noise-{{i}}.jsonl")
n = 0
while True:
    for f in files:
        n += 1
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        line = {{"type": "assistant", "sessionId": f.stem, "timestamp": now, "cwd": "/x",
                "requestId": f"r{{n}}", "message": {{"id": f"m{{n}}", "model": "claude-haiku-4-5",
                "usage": {{"input_tokens": 1000, "output_tokens": 10}}}}}}
        with open(f, "a") as fh:
            fh.write(json.dumps(line) + "\\n")
    time.sleep(0.05)
"""
    return subprocess.Popen([sys.executable, "-c", code])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--noise", type=int, default=50)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ccspend-bench-run-"))
    config = tmp / "claude"
    (config / "projects").mkdir(parents=True)
    work = tmp / "work"
    work.mkdir()
    env = dict(os.environ, HOME=str(tmp), CLAUDE_CONFIG_DIR=str(config),
               CCSPEND_DB=str(tmp / "db.duckdb"), CCSPEND_CONFIG_DIR=str(tmp / "cfg"))  # fmt: skip
    agent = [sys.executable, str(FAKE), "--config", str(config), "--cwd", str(work),
             "--usd-per-line", "0.1", "--every", "0.3", "--lines", "30"]  # fmt: skip
    writer = noise(config, args.noise)
    reactions, overheads, starts, direct = [], [], [], []  # seconds, fractions
    try:
        time.sleep(1)
        for i in range(args.runs):
            rep = tmp / f"agent-{i}.json"
            t0 = time.time()
            p = subprocess.Popen(agent + ["--report", str(rep), "--lines", "1", "--every", "0"],
                                 cwd=work, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
            p.wait()
            direct.append(json.loads(rep.read_text())["started"] - t0)
            t0 = time.time()
            p = subprocess.Popen(
                [sys.executable, "-m", "ccspend", "run", "--cap", "0.5", "--grace", "2", "--",
                 *agent, "--report", str(rep)],
                cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.time() - t0
            r = json.loads(rep.read_text())
            crossing = r["writes"][4]  # the fifth $0.10 line reaches $0.50
            reactions.append(r["sigint_at"] - crossing if r["sigint_at"] else float("nan"))
            starts.append(r["started"] - t0)
            del wall, status, ru
        # steady state: a 10-second uncapped run, the wrapper's CPU less the agent's
        for i in range(3):
            rep = tmp / f"long-{i}.json"
            p = subprocess.Popen(
                [sys.executable, "-m", "ccspend", "run", "--cap", "100", "--",
                 *agent[:-2], "--lines", "20", "--every", "0.5", "--report", str(rep)],
                cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.time()
            _, _, ru = os.wait4(p.pid, 0)
            r = json.loads(rep.read_text())
            wrapper_cpu = ru.ru_utime + ru.ru_stime - r["cpu"]
            overheads.append(wrapper_cpu / (time.time() - t0))
    finally:
        writer.kill()
        writer.wait()
    ms = [x * 1000 for x in reactions]
    print(f"{args.runs} capped runs, {args.noise} other sessions writing every 50 ms")
    print(f"reaction (line crossing the cap -> SIGINT): median {statistics.median(ms):.0f} ms, "
          f"worst {max(ms):.0f} ms (targets < 250 ms, < 1000 ms)")
    print(f"wrapper CPU over a 10 s run (its start, ledger and card load included): median "
          f"{statistics.median(overheads) * 100:.1f}% of one core (target < 3%)")
    extra = (statistics.median(starts) - statistics.median(direct)) * 1000
    print(f"start: agent running {statistics.median(starts) * 1000:.0f} ms after launch, "
          f"{extra:.0f} ms more than launched directly (target < 150 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
