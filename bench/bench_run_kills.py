#!/usr/bin/env python3
"""No run is lost: wrappers killed with SIGKILL at random points all leave a ledger row.

Why this exists: ``ccspend run`` in a crontab can be killed at any moment (OOM,
a reboot, a timeout). Each run here starts ``tests/fake_agent.py`` under
``ccspend run --task kills`` and SIGKILLs the wrapper (not the agent) at a
uniformly random time in its first second. Afterwards ``ccspend runs`` must
list one row per run whose agent had started, each ``interrupted`` (a run
killed after its agent finished and its row was closed is ``ok``).

    python bench/bench_run_kills.py [--runs 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fake_agent.py"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "HOME": str(tmp), "CLAUDE_CONFIG_DIR": str(tmp / "claude"),
               "CCSPEND_DB": str(tmp / "db.duckdb"), "CCSPEND_CONFIG_DIR": str(tmp / "cfg"),
               "CCSPEND_NO_BACKGROUND": "1"}
        started, finished_first = 0, 0
        agents = []
        for i in range(args.runs):
            report = tmp / f"agent-{i}.json"
            wrapper = subprocess.Popen(
                [sys.executable, "-m", "ccspend", "run", "--task", "kills", "--cap", "50", "--",
                 sys.executable, FAKE, "--config", str(tmp / "claude"), "--cwd", str(tmp),
                 "--lines", "6", "--every", "0.1", "--usd-per-line", "0.01",
                 "--report", str(report)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.0, 1.0))
            done_already = wrapper.poll() is not None
            finished_first += done_already
            wrapper.send_signal(signal.SIGKILL)
            wrapper.wait()
            agents.append(report)
        time.sleep(1.0)  # orphaned agents finish writing their reports
        for report in agents:
            deadline = time.time() + 5
            while not report.exists() and time.time() < deadline:
                time.sleep(0.05)
        # an agent that started writes a report on exit (it runs 0.6 s at most)
        started = sum(1 for r in agents if r.exists())
        out = subprocess.run([sys.executable, "-m", "ccspend", "runs", "--task", "kills",
                              "--json"], env=env, capture_output=True, text=True, check=True)
        rows = json.loads(out.stdout)["rows"]
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    right = by_status.get("interrupted", 0) + by_status.get("ok", 0)
    print(f"{args.runs} wrappers SIGKILLed at random points; {started} had started their agent; "
          f"{finished_first} had already finished; ledger rows: {len(rows)} {by_status}; "
          f"rows with the right outcome: {right}/{len(rows)} (rows beyond the started agents are "
          f"runs killed after their journal entry, before the agent started: interrupted too)")
    lost = started - len(rows)
    wrong = len(rows) - right
    print("PASS" if lost <= 0 and wrong == 0 else f"FAIL: {lost} lost, {wrong} wrong")
    return 0 if lost <= 0 and wrong == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
