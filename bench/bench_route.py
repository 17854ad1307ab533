#!/usr/bin/env python3
"""Speed benchmark of ``ccspend route "…"``: the answer must come in under 150 ms.

Why this exists: ``ccspend route`` is asked before every agent run (and by
``ccspend run --route auto``), so it has to answer faster than a person notices,
however large the history behind it: the rate-limit check looks at the logs.
There is no routing command in ccusage to compare with, so the anchors are the
interpreter's own start (``python -c pass``: no Python command can beat it) and,
when it is installed, the import of LiteLLM's router (what a Python router
built on LiteLLM pays before it decides anything).

    python bench/bench_route.py [--corpus DIR] [--calls 20] [--python PY]

1. A temp HOME, CCSPEND_DB and CCSPEND_CONFIG_DIR; CLAUDE_CONFIG_DIR is the
   corpus (a generated Claude config dir: bench_daily.py / gen_corpus.py; the
   1 GiB one has 2,631 log files) plus a small "live" config dir made here, with
   one session written a minute ago and a subagent of it, so the rate-limit
   check has recent tails to read as it would during real work. The corpus
   itself is not touched (its mtimes stay as they are).
2. One warm-up call per command (it writes the price index and the parsed
   policy beside the database, as the first call of a day does, and the
   compiled modules, into the temp dir: PYTHONDONTWRITEBYTECODE is dropped and
   PYTHONPYCACHEPREFIX set, as an installed ccspend has its .pyc files), then
   --calls calls each of:
   ``python -c pass``; ``python -m ccspend route TASK`` (the quick token
   estimate); ``python -m ccspend route --estimate TASK`` (tiktoken, which the
   route loads only on --estimate or near a context window); and
   ``python -c "import litellm.router"`` if LiteLLM is importable.
   The calls are interleaved (one of each command in turn), so a load spike on
   the shared machine hits every command alike.
3. Prints median and p90 wall time (spawn to exit), the ratio of ccspend's
   median to the 150 ms target and to the floor, the verdict, and the load
   average before and after (the machine is shared; timings move with load).

Run it with the real interpreter, not a pyenv shim (a shim is a bash script
that adds ~30 ms to every call): --python defaults to sys.executable.
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

TARGET_MS = 150.0
DEFAULT_CORPUS = Path("/tmp/ccspend-bench/corpus-1g")
TASK = "rename this function across 200 files"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def live_dir(root: Path) -> Path:
    """A Claude config dir with one session written a minute ago, and its subagent."""
    proj = root / "projects" / "-home-dev-live"
    (proj / "live-session" / "subagents").mkdir(parents=True)
    line = {"type": "assistant", "sessionId": "live-session", "timestamp": "2026-01-01T00:00:00Z",
            "message": {"id": "m", "model": "claude-sonnet-4-6", "usage": {
                "input_tokens": 10, "output_tokens": 10, "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 0}}}  # fmt: skip
    body = (json.dumps(line) + "\n") * 3000  # ~1 MB: the tail read is 64 KiB
    (proj / "live-session.jsonl").write_text(body)
    (proj / "live-session" / "subagents" / "agent-a1.jsonl").write_text(body[:200_000])
    recent = time.time() - 60
    for f in proj.rglob("*.jsonl"):
        os.utime(f, (recent, recent))
    return root


def timed(cmd: list[str], env: dict, calls: int) -> tuple[list[float], str]:
    """Wall times of ``calls`` runs. The working directory is HOME: ``python -m`` puts
    the working directory first on sys.path, and a checkout there would shadow
    --baseline-src."""
    times, out = [], ""
    for _ in range(calls):
        t = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=env["HOME"])
        times.append((time.perf_counter() - t) * 1000)
        if r.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}: {r.stderr.strip()[:300]}")
        out = r.stdout
    return times, out


def p90(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--python", default=sys.executable,
                    help="the interpreter to run ccspend with (not a pyenv shim)")
    ap.add_argument("--baseline-src", type=Path,
                    help="another ccspend source tree (e.g. `git archive HEAD ccspend | tar -x "
                         "-C DIR`) to time beside this one, on its own database")
    args = ap.parse_args(argv)
    if not (args.corpus / "projects").is_dir():
        print(f"no corpus at {args.corpus}: make one with bench/bench_daily.py", file=sys.stderr)
        return 2
    py = args.python
    tmp = Path(tempfile.mkdtemp(prefix="bench-route-"))
    try:
        live = live_dir(tmp / "live")
        env = {**os.environ, "HOME": str(tmp / "home"), "CCSPEND_DB": str(tmp / "db" / "c.duckdb"),
               "CCSPEND_CONFIG_DIR": str(tmp / "config"), "XDG_DATA_HOME": str(tmp / "xd"),
               "XDG_CONFIG_HOME": str(tmp / "xc"), "TZ": "UTC",
               "CLAUDE_CONFIG_DIR": f"{args.corpus},{live}",
               "CCSPEND_NO_BACKGROUND": "1",
               "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}  # fmt: skip
        # compiled modules as an installed ccspend has them (the warm-up writes them,
        # into the temp dir): PYTHONDONTWRITEBYTECODE would recompile every edited
        # module on every call, which no user's installation does
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        (tmp / "home").mkdir()
        print(f"corpus: {args.corpus} + a live session; interpreter: {py}")
        print(f"load average before: {load_average()}")
        route = [py, "-m", "ccspend", "route", TASK]
        timed(route, env, 1)  # warm-up: price index and parsed policy written
        rows = [("python -c pass (floor)", [py, "-c", "pass"]),
                ("ccspend route TASK", route),
                ("ccspend route --estimate TASK", [py, "-m", "ccspend", "route", "--estimate",
                                                   TASK])]  # fmt: skip
        if args.baseline_src:
            base_env = {**env, "PYTHONPATH": str(args.baseline_src.resolve()),
                        "CCSPEND_DB": str(tmp / "db-base" / "c.duckdb")}  # fmt: skip
            rows.append(("baseline: ccspend route TASK", route, base_env))
        has_litellm = subprocess.run([py, "-c", "import litellm"], capture_output=True,
                                     env=env).returncode == 0  # fmt: skip
        if has_litellm:
            rows.append(("import litellm.router", [py, "-c", "import litellm.router"]))
        results = {}
        times: dict[str, list[float]] = {r[0]: [] for r in rows}
        outs: dict[str, str] = {}
        rows = [(r[0], r[1], r[2] if len(r) > 2 else env) for r in rows]
        for _, cmd, e in rows:
            timed(cmd, e, 1)  # warm-up: compiled modules written
        for _ in range(args.calls):  # interleaved: a load spike hits every command alike
            for name, cmd, e in rows:
                t, outs[name] = timed(cmd, e, 1)
                times[name] += t
        for name, _, _ in rows:
            results[name] = (statistics.median(times[name]), p90(times[name]), outs[name])
        after = load_average()
        print(f"\n{'command':<32} {'median':>9} {'p90':>9}")
        for name, (med, hi, _) in results.items():
            print(f"{name:<32} {med:7.1f}ms {hi:7.1f}ms")
        if not has_litellm:
            print(f"{'import litellm.router':<32} {'(LiteLLM is not installed here)':>20}")
        med = results["ccspend route TASK"][0]
        floor = results["python -c pass (floor)"][0]
        first = results["ccspend route TASK"][2].splitlines()[0]
        print(f"\nccspend route: {med:.1f} ms median = {med / TARGET_MS:.2f} x the "
              f"{TARGET_MS:.0f} ms target ({'ok' if med < TARGET_MS else 'MISSED'}); "
              f"{med - floor:.1f} ms above the "
              f"interpreter's start ({med / floor:.1f} x the floor)")  # fmt: skip
        est = results["ccspend route --estimate TASK"][0]
        print(f"--estimate (tiktoken): {est:.1f} ms median, {est - med:+.1f} ms for the "
              "exact count")
        if args.baseline_src:
            b = results["baseline: ccspend route TASK"][0]
            print(f"baseline ({args.baseline_src}): {b:.1f} ms median; this tree "
                  f"{med - b:+.1f} ms ({b - floor:.1f} -> {med - floor:.1f} ms above the floor)")
        if has_litellm:
            lm = results["import litellm.router"][0]
            print(f"LiteLLM's router import alone: {lm:.1f} ms ({lm / med:.1f} x ccspend route)")
        print(f"answer: {first}")
        print(f"load average after: {after}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
