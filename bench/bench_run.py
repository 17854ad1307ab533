#!/usr/bin/env python3
"""How fast ``ccspend run`` reacts at the cap, and what the wrapper costs.

Why this exists: a cap is only as good as its reaction, and a wrapper that
slows the agent's start or burns a core while it waits is one nobody keeps.
With 50 other sessions' logs being written elsewhere in the same Claude dir:

    python bench/bench_run.py [--runs 10] [--noise 50] [--steady 30] [--ccspend CMD]

- start: from launching ``ccspend run`` to the agent's first instruction, less
  the same for launching the agent directly (target: under 150 ms);
- reaction: from the agent writing the log line that crosses the cap to the
  agent receiving SIGINT (target: median under 250 ms, worst under 1 s);
- CPU: the wrapper's own CPU time (from /proc, its threads included, not the
  agent's) per second, over ``--steady`` seconds of a run whose agent logs one
  response a second, started 5 s into it (steady state); and over the whole run,
  its start and ledger writes included (target: under 3% of one core).

``ccspend`` is, by default, a clean non-editable install of this checkout in a
venv (``bench/_venv.py``: what ``pip install ccspend`` gives a user); the start is
also timed through ``python -m ccspend`` of the development install (an editable
install, and here a sandbox ``.pth``, make every interpreter start slower) and
through the ``ccspend`` on PATH (here a pyenv shim: a bash script before Python).
The agent is tests/fake_agent.py; the start is timed with a shell one-liner
writing the time, so an agent's own start does not blur it.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import ensure_venv, sandbox_env  # noqa: E402

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fake_agent.py"
TICK = os.sysconf("SC_CLK_TCK")


def noise(config: Path, sessions: int) -> subprocess.Popen:
    """Other sessions, each appending a response every 50 ms, in other project folders."""
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


def own_cpu(pid: int) -> float:
    """CPU seconds a process has used itself (all its threads; not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start_delays(kinds: list[tuple[str, list[str]]], env: dict, work: Path,
                 runs: int) -> tuple[float, dict]:  # fmt: skip
    """Median ms from launch to the agent's start: launched directly, and under ``run``
    by each command (interleaved, so that each sees the same load)."""
    mark = work / "started"
    agent = ["/bin/sh", "-c", f"date +%s.%N > {mark}"]
    direct: list[float] = []
    wrapped: dict[str, list[float]] = {name: [] for name, _ in kinds}
    for _ in range(runs):
        t = time.time()
        subprocess.run(agent, env=env, cwd=work, check=True)
        direct.append(float(mark.read_text()) - t)
        for name, ccspend in kinds:
            t = time.time()
            subprocess.run([*ccspend, "run", "--cap", "5", "--", *agent], env=env, cwd=work,
                           check=True, stderr=subprocess.DEVNULL)  # fmt: skip
            wrapped[name].append(float(mark.read_text()) - t)
    return statistics.median(direct) * 1000, {
        name: statistics.median(w) * 1000 for name, w in wrapped.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--noise", type=int, default=50)
    ap.add_argument("--steady", type=float, default=30.0, help="seconds of steady state")
    ap.add_argument("--ccspend", default=None, help="the command to time (default: clean venv)")
    args = ap.parse_args()
    if args.ccspend:
        ccspend, label = args.ccspend.split(), args.ccspend
    else:
        ccspend, label = [str(ensure_venv() / "bin" / "ccspend")], "clean venv"
    dev = [sys.executable, "-m", "ccspend"]
    tmp = Path(tempfile.mkdtemp(prefix="ccspend-bench-run-"))
    config = tmp / "claude"
    (config / "projects").mkdir(parents=True)
    work = tmp / "work"
    work.mkdir()
    env = sandbox_env(tmp, claude=config)
    agent = [sys.executable, str(FAKE), "--config", str(config), "--cwd", str(work)]
    # the start is timed before the other sessions begin writing (they take CPU too)
    kinds = [(label, ccspend), ("python -m ccspend (dev)", dev)]
    on_path = shutil.which("ccspend")
    if on_path and not args.ccspend:
        kinds.append((f"ccspend on PATH, {on_path}", [on_path]))
    for _name, cmd in kinds:  # warm: the page cache, and the dev install's bytecode
        subprocess.run([*cmd, "run", "--", "true"], env=env, cwd=work, check=True)
    direct, starts = start_delays(kinds, env, work, args.runs)
    load_start = os.getloadavg()
    writer = noise(config, args.noise)
    reactions = []
    try:
        time.sleep(1)
        for i in range(args.runs):
            rep = tmp / f"agent-{i}.json"
            subprocess.run([*ccspend, "run", "--cap", "0.5", "--grace", "2", "--", *agent,
                            "--usd-per-line", "0.1", "--every", "0.3", "--lines", "30",
                            "--report", str(rep)],
                           cwd=work, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)  # fmt: skip
            r = json.loads(rep.read_text())
            crossing = r["writes"][4]  # the fifth $0.10 line reaches $0.50
            reactions.append(r["sigint_at"] - crossing if r["sigint_at"] else float("nan"))
        load_react = os.getloadavg()
        # steady state: a run whose agent logs one response a second
        rep = tmp / "long.json"
        lines = int(args.steady) + 8
        t0 = time.time()
        p = subprocess.Popen([*ccspend, "run", "--cap", "100", "--", *agent, "--usd-per-line",
                              "0.01", "--every", "1", "--lines", str(lines), "--report",
                              str(rep)],
                             cwd=work, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(5)
        c0, s0 = own_cpu(p.pid), time.time()
        time.sleep(args.steady)
        c1, s1 = own_cpu(p.pid), time.time()
        _, _, ru = os.wait4(p.pid, 0)
        whole = time.time() - t0
        load_steady = os.getloadavg()
        agent_cpu = json.loads(rep.read_text())["cpu"]
        wrapper_total = ru.ru_utime + ru.ru_stime - agent_cpu
    finally:
        writer.kill()
        writer.wait()
    ms = [x * 1000 for x in reactions]

    def load(avg) -> str:
        return f"load average {avg[0]:.2f} {avg[1]:.2f} {avg[2]:.2f}"

    print(f"ccspend: {label} ({ccspend[0]}); {args.noise} other sessions writing every 50 ms")
    for name, wrapped in starts.items():
        print(f"start ({name}): agent running {wrapped:.0f} ms after launch, "
              f"{wrapped - direct:.0f} ms more than launched directly (target < 150 ms); "
              f"median of {args.runs}, no other session writing")
    print(f"  ({load(load_start)})")
    print(f"reaction (line crossing the cap -> SIGINT), {args.runs} capped runs: median "
          f"{statistics.median(ms):.0f} ms, worst {max(ms):.0f} ms (targets < 250 ms, < 1000 ms)"
          f" ({load(load_react)})")
    print(f"wrapper CPU, steady state ({s1 - s0:.0f} s, one response a second): "
          f"{(c1 - c0) / (s1 - s0) * 100:.2f}% of one core (target < 3%)")
    print(f"wrapper CPU over the whole {whole:.0f} s run, start and ledger included: "
          f"{wrapper_total:.2f} s, {wrapper_total / whole * 100:.2f}% of one core "
          f"({load(load_steady)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
