#!/usr/bin/env python3
"""No run is lost: wrappers killed with SIGKILL at random points all leave a ledger row.

Why this exists: ``ccspend run`` in a crontab can be killed at any moment (OOM,
a reboot, a timeout). This first times, on unkilled runs, how long a run lives
(launch to exit) and how soon it journals itself (launch to the journal file's
timestamp: a kill before that, in the interpreter's start or our first imports,
leaves nothing). Then each of ``--runs`` runs starts ``tests/fake_agent.py``
under ``ccspend run --task kill-N`` and SIGKILLs the wrapper (not the agent) at
a uniformly random time over the whole life of a run, its first milliseconds
included.

The right outcome of a run: ``ok`` if it had finished before the kill;
``interrupted`` if its agent was still running, with the note "...before its
agent started" exactly when the agent never started; either if the agent had
ended but the wrapper not (killed before, or after, it recorded the end). A
run without a row is either killed before it journaled itself (no journal of
its task right after the kill, and no agent: reported with the window's width)
or lost (a bug).

    python bench/bench_run_kills.py [--runs 100] [--seed 1] [--ccspend CMD]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import ensure_venv, sandbox_env  # noqa: E402

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fake_agent.py"
NOT_STARTED = "the wrapper stopped before its agent started"  # ccspend.run.execute.NOT_STARTED


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ccspend", default=None, help="the command to kill (default: clean venv)")
    args = ap.parse_args()
    ccspend = args.ccspend.split() if args.ccspend else [str(ensure_venv() / "bin" / "ccspend")]
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = sandbox_env(tmp)
        journals = tmp / "db.duckdb.cache" / "runs"

        def launch(task: str, report: Path) -> subprocess.Popen:
            return subprocess.Popen(
                [*ccspend, "run", "--task", task, "--cap", "50", "--", sys.executable, FAKE,
                 "--config", str(tmp / "claude"), "--cwd", str(tmp), "--lines", "6",
                 "--every", "0.1", "--usd-per-line", "0.01", "--report", str(report)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

        def journaled_as(task: str) -> bool:
            """Whether a journal of this task is there (until the next run adopts it)."""
            for path in journals.glob("*.json") if journals.is_dir() else []:
                try:
                    if json.loads(path.read_text()).get("task_id") == task:
                        return True
                except (OSError, ValueError):
                    continue
            return False

        # 1. unkilled runs: how long a run lives, and how soon it is journaled
        lives, journaled = [], []
        for i in range(10):
            t0 = time.time()
            w = launch(f"calibrate-{i}", tmp / f"cal-{i}.json")
            while w.poll() is None:
                found = list(journals.glob("*.json")) if journals.is_dir() else []
                if found and len(journaled) <= i:
                    try:
                        row = json.loads(found[0].read_text())
                    except (OSError, ValueError):
                        continue
                    journaled.append(datetime.fromisoformat(row["started_at"]).timestamp() - t0)
                time.sleep(0.002)
            lives.append(time.time() - t0)
        life = statistics.median(lives)
        # 2. the kills
        runs = []
        for i in range(args.runs):
            report = tmp / f"agent-{i}.json"
            t0 = time.monotonic()
            wrapper = launch(f"kill-{i}", report)
            at = rng.uniform(0.0, 1.1 * life)
            time.sleep(max(0.0, at - (time.monotonic() - t0)))
            finished = wrapper.poll()
            killed_at = time.time()
            wrapper.send_signal(signal.SIGKILL)
            wrapper.wait()
            runs.append({"task": f"kill-{i}", "at": at, "finished": finished, "report": report,
                         "killed_at": killed_at, "journaled": journaled_as(f"kill-{i}")})
        time.sleep(1.0)  # orphaned agents finish (0.6 s at most) and write their reports
        out = subprocess.run([*ccspend, "runs", "--json"], env=env, capture_output=True,
                             text=True, check=True)  # fmt: skip
        rows = {r["task_id"]: r for r in json.loads(out.stdout)["rows"]}
        for r in runs:  # an agent that started writes its report when it exits
            r["started"] = r["report"].exists()
            r["agent_done"] = r["started"] and (
                json.loads(r["report"].read_text())["ended"] < r["killed_at"])
    right, wrong, early, lost = 0, [], [], []
    for r in runs:
        row = rows.get(r["task"])
        started = r["started"]
        if row is None:  # no journal right after the kill, and no agent: killed before it
            (lost if r["journaled"] or started else early).append(r["at"])
            continue
        if r["finished"] == 0:
            want = {"ok"}
        elif r["agent_done"]:  # killed before or after it recorded the agent's end
            want = {"ok", "interrupted"}
        else:
            want = {"interrupted"}
        note_ok = (row["note"] == NOT_STARTED) == (not started) or row["status"] == "ok"
        if row["status"] in want and note_ok:
            right += 1
        else:
            wrong.append((r["task"], f"{r['at'] * 1000:.0f} ms", row["status"], row["note"]))
    ms = sorted(x * 1000 for x in journaled)
    print(f"a run lives {life * 1000:.0f} ms (median of 10 unkilled); it is journaled "
          f"{statistics.median(ms):.0f} ms after launch (worst {ms[-1]:.0f} ms): a kill before "
          f"that (the interpreter's start, then our imports) leaves nothing ({ccspend[0]})")
    print(f"{args.runs} wrappers SIGKILLed at uniform random points over 0-{1.1 * life * 1000:.0f}"
          f" ms: {len(runs) - len(early) - len(lost)} left a row, {right} with the right outcome;"
          f" {len(early)} killed before the journal (at "
          f"{', '.join(f'{x * 1000:.0f}' for x in sorted(early)) or '-'} ms), {len(lost)} lost "
          f"after it; load average {os.getloadavg()[0]:.2f}")
    for w in wrong:
        print("  wrong outcome:", w)
    for at in lost:
        print(f"  lost: killed at {at * 1000:.0f} ms")
    ok = not lost and not wrong
    print("PASS" if ok else f"FAIL: {len(lost)} lost, {len(wrong)} wrong")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
