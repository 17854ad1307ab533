"""A fake agent: writes Claude Code-style log lines at a set pace and cost.

    python fake_agent.py --config DIR --cwd CWD [--session ID] [--lines N] [--every S]
                         [--usd-per-line X] [--ignore-sigint] [--ignore-sigterm]
                         [--subagent] [--child] [--setsid-child]

Each line is an assistant response on claude-haiku-4-5 whose input tokens cost
exactly ``--usd-per-line`` ($1 per million input tokens). On SIGINT it writes
"saved" to stdout and exits 130 (unless --ignore-sigint). With --child it also
starts a sleeping child in its process group, to check the whole group stops; with
--setsid-child, a copy of itself in a new session (out of the group) that spends too.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--cwd", required=True)
    ap.add_argument("--session", default=None)
    ap.add_argument("--lines", type=int, default=100)
    ap.add_argument("--every", type=float, default=0.1)
    ap.add_argument("--first-after", type=float, default=0.0,
                    help="seconds before the first response (a real agent's first API call)")
    ap.add_argument("--usd-per-line", type=float, default=0.1)
    ap.add_argument("--ignore-sigint", action="store_true")
    ap.add_argument("--subagent", action="store_true")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--setsid-child", action="store_true",
                    help="also start a copy of this agent in a session of its own (setsid), "
                         "spending on its own log, its pid in DIR/setsid.pid")
    ap.add_argument("--ignore-sigterm", action="store_true")
    ap.add_argument("--pid-file", default=None, help="write this process's pid here")
    ap.add_argument("--report", default=None, help="write timings here (JSON) on exit")
    args = ap.parse_args()
    started = time.time()
    writes: list[float] = []

    def report(sigint_at=None):
        if args.report:
            import resource

            ru = resource.getrusage(resource.RUSAGE_SELF)
            Path(args.report).write_text(json.dumps({
                "started": started, "writes": writes, "sigint_at": sigint_at,
                "ended": time.time(), "cpu": ru.ru_utime + ru.ru_stime}))
    session = args.session or str(uuid.uuid4())
    if args.pid_file:
        Path(args.pid_file).write_text(str(os.getpid()))
    folder = Path(args.config) / "projects" / args.cwd.replace("/", "-").replace(".", "-")
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{session}.jsonl"
    if args.ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        def on_int(*_):
            report(time.time())
            print("saved", flush=True)
            sys.exit(130)

        signal.signal(signal.SIGINT, on_int)
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.setsid_child:
        argv = [a for a in sys.argv[1:] if a != "--setsid-child"]
        for own in ("--session", "--pid-file"):  # the copy has a session and no pid file
            if own in argv:
                i = argv.index(own)
                del argv[i:i + 2]
        child = subprocess.Popen([sys.executable, __file__, *argv], start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (Path(args.config) / "setsid.pid").write_text(str(child.pid))
    if args.child:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        (Path(args.config) / "child.pid").write_text(str(child.pid))
    tokens = round(args.usd_per_line * 1_000_000)
    time.sleep(args.first_after)
    for i in range(args.lines):
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        line = {"type": "assistant", "sessionId": session, "cwd": args.cwd, "timestamp": now,
                "requestId": f"req_{session}_{i}", "message": {
                    "id": f"msg_{session}_{i}", "model": "claude-haiku-4-5",
                    "usage": {"input_tokens": tokens, "output_tokens": 0}}}
        target = log
        if args.subagent and i % 2:
            target = folder / session / "subagents" / "agent-x.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            line["isSidechain"] = True
        with open(target, "a") as fh:
            fh.write(json.dumps(line) + "\n")
        writes.append(time.time())
        time.sleep(args.every)
    report()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
