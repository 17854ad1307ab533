#!/usr/bin/env python3
"""Speed and memory benchmark of ``ccspend import`` on a large generic usage CSV.

Why this exists: a proxy or an in-house gateway writes one generic-CSV row per
request, so a month of a busy team is a million rows and more. ccspend claims
that such a file imports in bounded memory, in seconds, and still all or nothing
(issue #15: 1.5 M rows, 79 MB, took 94 s and 6.9 GB before streaming; the
target is under 15 s and under 300 MB). Since the bulk CSV reader
(``ccspend/store/csv_bulk.py``) DuckDB parses the file and Python only hashes
the keys; a broken row still sends the file through the exact Python reader,
which is what ``--bad-at`` times.

    python bench/bench_import.py [--rows 1500000] [--seed 1] [--ccspend CMD]
                                 [--baseline-src DIR] [--bad-at N] [--keep DIR]

Steps:

1. Generates the CSV (seeded): every column of the generic format, a few
   empty optional cells, offsets and plain dates, and about one row in a
   thousand repeated exactly (two identical requests count twice).
2. Runs ``ccspend import FILE --json`` in a fresh sandbox (HOME, CCSPEND_DB,
   config and XDG folders in a temp dir) and prints its wall time and its peak
   RSS (``os.wait4``'s rusage of that one child: ``ru_maxrss``, what
   ``resource.getrusage(RUSAGE_CHILDREN)`` reports for it), then imports the
   same file again (idempotent: nothing new) and times that too. The load
   average is printed first, and each run's CPU seconds (user + system), which
   the load moves far less than the wall time.
3. ``--bad-at N`` also imports a copy whose row N is broken and checks that
   the command fails with one line naming it and that the store is unchanged.
4. ``--baseline-src DIR`` times another source tree the same way (a clean
   non-editable install of it, bench/_venv.py), e.g. the tree before
   streaming: ``git worktree add /tmp/ccspend-base-import 4d8eb23``.

ccspend is run as a user has it: a regular install of this checkout in a clean
venv (bench/_venv.py); ``--ccspend CMD`` runs another command instead.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import ROOT, ensure_venv, sandbox_env  # noqa: E402

HEADER = ("timestamp,provider,model,input_tokens,output_tokens,cache_read_tokens,"
          "cache_write_tokens,cost_usd,project,task")
MODELS = [("anthropic", "claude-sonnet-4-6"), ("anthropic", "claude-opus-4-5"),
          ("openai", "gpt-5.2-codex"), ("openrouter", "qwen/qwen3-coder"), ("", "local-llama")]


def generate(path: Path, rows: int, seed: int) -> None:
    """A generic usage CSV of ``rows`` requests, the same for the same seed."""
    rnd = random.Random(seed)
    t0 = 1_788_220_800  # 2026-09-01T00:00:00Z
    with open(path, "w", newline="") as fh:
        fh.write(HEADER + "\n")
        prev = ""
        for i in range(rows):
            if prev and rnd.random() < 0.001:
                fh.write(prev)  # an identical second request
                continue
            t = t0 + i * 2 + rnd.randrange(2)
            day, rest = divmod(t, 86400)
            h, rest = divmod(rest, 3600)
            m, s = divmod(rest, 60)
            date = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
            ts = (f"{date}T{h:02d}:{m:02d}:{s:02d}Z" if i % 50 else
                  f"{date} {h:02d}:{m:02d}:{s:02d}+00:00" if i % 100 else date)
            provider, model = MODELS[rnd.randrange(len(MODELS))]
            inp, out = rnd.randrange(1, 5000), rnd.randrange(1, 2000)
            cache_read = rnd.randrange(0, 90000) if i % 3 else ""
            cache_write = rnd.randrange(0, 9000) if i % 7 == 0 else ""
            cost = f"{rnd.randrange(1, 500000) / 1e6:.6f}" if i % 4 else ""
            project = f"proj-{rnd.randrange(40)}" if i % 5 else ""
            task = f"t{rnd.randrange(1000)}" if i % 2 else ""
            prev = (f"{ts},{provider},{model},{inp},{out},{cache_read},{cache_write},"
                    f"{cost},{project},{task}\n")
            fh.write(prev)


def break_row(src: Path, dst: Path, n: int) -> None:
    """A copy of ``src`` whose data row ``n`` (file line n + 1) has a bad output_tokens."""
    with open(src) as fi, open(dst, "w", newline="") as fo:
        for i, line in enumerate(fi):
            if i == n:
                f = line.split(",")
                f[4] = "12x"
                line = ",".join(f)
            fo.write(line)


LAST_CPU = [0.0]


def run(cmd: list[str], env: dict) -> tuple[float, int, int, str, str]:
    """(seconds, peak RSS in MB, exit code, stdout, stderr) of one child; its CPU seconds
    (user + system: what the machine's load moves least) go to ``LAST_CPU``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=env["HOME"])
        _, status, usage = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t
        LAST_CPU[0] = usage.ru_utime + usage.ru_stime
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (secs, usage.ru_maxrss // 1024, p.returncode, out.read().decode(),
                err.read().decode())


def bench(label: str, ccspend: list[str], csv_path: Path, work: Path,
          bad: Path | None) -> dict:
    home = work / label.replace(" ", "-")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = sandbox_env(home)
    result: dict = {"label": label}
    secs, rss, rc, out, err = run([*ccspend, "import", str(csv_path), "--json"], env)
    if rc != 0:
        raise SystemExit(f"{label}: import failed ({rc}): {err.strip()[:300]}")
    store = json.loads(out)["store"]
    result["first"] = {"seconds": round(secs, 2), "cpu_seconds": round(LAST_CPU[0], 2),
                       "peak_rss_mb": rss, "store": store}
    print(f"{label}: import   {secs:7.2f} s  cpu {LAST_CPU[0]:6.2f} s  peak RSS {rss:6d} MB  "
          f"rows {store['rows']:,}  "
          f"tokens {store['tokens']:,}  USD {store['cost_usd']}", flush=True)
    secs, rss, rc, out, err = run([*ccspend, "import", str(csv_path), "--json"], env)
    if rc != 0:
        raise SystemExit(f"{label}: re-import failed ({rc}): {err.strip()[:300]}")
    doc = json.loads(out)
    new = sum(f["new"] for f in doc["files"])
    result["again"] = {"seconds": round(secs, 2), "cpu_seconds": round(LAST_CPU[0], 2),
                       "peak_rss_mb": rss, "new": new, "same_store": doc["store"] == store}
    print(f"{label}: again    {secs:7.2f} s  cpu {LAST_CPU[0]:6.2f} s  peak RSS {rss:6d} MB  "
          f"new {new}  "
          f"store unchanged: {doc['store'] == store}", flush=True)
    if bad is not None:
        secs, rss, rc, out, err = run([*ccspend, "import", str(bad), "--json"], env)
        bad_cpu = LAST_CPU[0]
        _, _, _, out2, _ = run([*ccspend, "import", "--same-as-local", "x", "--json"], env)
        unchanged = json.loads(out2)["store"] == store
        result["bad"] = {"seconds": round(secs, 2), "peak_rss_mb": rss, "exit": rc,
                         "error": err.strip(), "store_unchanged": unchanged}
        print(f"{label}: bad row  {secs:7.2f} s  cpu {bad_cpu:6.2f} s  peak RSS {rss:6d} MB  "
              f"exit {rc}  "
              f"store unchanged: {unchanged}\n  {err.strip()[:200]}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_500_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ccspend", help="the command to time (default: a clean venv's ccspend)")
    ap.add_argument("--baseline-src", type=Path, help="another source tree to time beside")
    ap.add_argument("--bad-at", type=int, help="also import a copy with this row broken")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        csv_path = work / f"usage-{args.rows}-{args.seed}.csv"
        if not csv_path.exists():
            t = time.perf_counter()
            generate(csv_path, args.rows, args.seed)
            print(f"generated {csv_path} ({csv_path.stat().st_size / 1e6:.1f} MB, "
                  f"{args.rows:,} rows) in {time.perf_counter() - t:.1f} s", flush=True)
        bad = None
        if args.bad_at:
            bad = work / f"bad-{args.bad_at}.csv"
            break_row(csv_path, bad, args.bad_at)
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        runs = []
        if args.baseline_src:
            base = ensure_venv(args.baseline_src.resolve())
            runs.append(("baseline", [str(base / "bin" / "ccspend")]))
        cmd = shlex.split(args.ccspend) if args.ccspend else [
            str(ensure_venv(ROOT) / "bin" / "ccspend")]
        runs.append(("this tree", cmd))
        results = [bench(label, c, csv_path, work, bad) for label, c in runs]
        if args.json_out:
            args.json_out.write_text(json.dumps({"rows": args.rows, "seed": args.seed,
                                                 "bytes": csv_path.stat().st_size,
                                                 "results": results}, indent=2) + "\n")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
