#!/usr/bin/env python3
"""What a report costs right after one new log line, with N times the history in the store.

Why this exists: ccspend keeps history after Claude Code deletes its logs, so a
year of use lives only in the database. A report must cost what it shows, not
what is stored (issue #17): ``daily`` and ``session`` right after a new log line
at most 0.30 s, and at most 1.5x their time on the recent history alone with
200x that history in the database. This script builds those databases the way
a user's grows, and times the reports in one run, round-robin, so the ratios
compare like with like on a shared machine:

    python bench/bench_history.py [--recent-mb 25] [--history 0,10,200] [--runs 5]

1. Generates (once, under /tmp/ccspend-bench/history) a recent corpus and a
   history corpus with ``gen_corpus.py``.
2. For the largest N asked, ingests N periods of history one after another: each
   period is the history corpus with its message and session ids made its own
   (``h<k>_``), written to a temp folder, ingested (``ingest_claude``, in the
   benchmark's venv), then deleted: it lives on only in the store, as a user's
   history does after Claude Code removed the logs. The database is copied
   aside at each N asked. Then each database ingests the recent corpus, which
   stays on disk.
3. Times, per database and report, as a child process in a sandboxed HOME
   (never the real one) with ``CCSPEND_TIMING`` set: one line appended to an
   active transcript, then ``ccspend <report> --json``. The child's marks
   (``ccspend.core.timing``) give the breakdown: interpreter and imports up to
   the entry point, the cache check, imports, listing the logs, opening the
   store and planning, the ingest, settling the file, loading the card, the
   query, rendering, exit. Also a repeat with nothing changed (the cached answer).
4. Times ccusage (the native binary of bench_daily's pinned version) beside it
   in the same rounds, for each history size up to ``--anchor-max`` (ccusage
   keeps no history: its 10x is ten periods of logs on disk, each a copy of the
   history corpus with its own ids, written once under /tmp/ccspend-bench); the
   same line appended to its live transcript first. ccusage has no cache, so
   its "unchanged" is its "new line".
5. Prints medians, the breakdown, the ratios to the 0x database and to
   ccusage, and the database size per million stored requests; the load average
   before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _venv import VenvError, ensure_venv, sandbox_env
from bench_daily import RunError, ccusage_binary, install_ccusage
from bench_daily import live_line as line

HERE = Path(__file__).resolve().parent
WORK = Path("/tmp/ccspend-bench/history")
TARGET_S = 0.30
TARGET_RATIO = 1.5
PHASES = ("start", "cache-miss", "imports", "list-logs", "open-store-and-plan", "ingest-claude",
          "ingest-agents", "refresh", "settle", "load-card", "summarise", "report", "render",
          "exit")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def corpus(name: str, mb: float, seed: int) -> Path:
    out = WORK / f"{name}-{mb:g}mb-s{seed}"
    if not (out / "truth.json").is_file():
        subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), str(out), "--size-mb",
                        str(mb), "--seed", str(seed), "--force"], check=True)
    return out


_MSG = re.compile(rb'"(msg_)')
_SID = re.compile(rb'("sessionId":\s*")')


def period_copy(src: Path, dst: Path, k: int) -> None:
    """The history corpus as period ``k``: its own message and session ids."""
    for root, _dirs, names in os.walk(src / "projects"):
        rel = Path(root).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for n in names:
            data = Path(root, n).read_bytes()
            if n.endswith(".jsonl"):
                data = _SID.sub(rb"\g<1>h%d-" % k, _MSG.sub(rb'"msg_h%d_' % k, data))
            (dst / rel / n).write_bytes(data)


INGEST = ("import sys; from pathlib import Path; from ccspend.store import Store; "
          "from ccspend.ingest.claude import ingest_claude; "
          "r = ingest_claude(Store(sys.argv[1]), [Path(sys.argv[2]) / 'projects']); "
          "print(r.records)")


def grow(python: str, history: Path, db: Path, n: int, tmp: Path, env: dict) -> None:
    """``db`` holding ``n`` periods of history (resumed from what it holds)."""
    count = db.with_suffix(".periods")  # how many periods the database holds
    done = int(count.read_text()) if count.exists() and db.exists() else 0
    while done < n:
        done += 1
        copy = tmp / f"period-{done}"
        period_copy(history, copy, done)
        # cwd: not the checkout, whose ccspend ``python -c`` would import first
        subprocess.run([python, "-c", INGEST, str(db), str(copy)], env=env, check=True,
                       stdout=subprocess.DEVNULL, cwd=tmp)
        shutil.rmtree(copy)  # Claude Code deleted the logs: history only in the store
        count.write_text(str(done))
        if done % 10 == 0:
            print(f"  {done} periods of history ingested (load {load()})", flush=True)


def anchor_corpus(history: Path, recent: Path, n: int) -> Path:
    """What ccusage reads for ``n`` periods of history: the recent corpus and ``n``
    period copies on disk (ccusage forgets what was deleted), and a live transcript."""
    out = WORK / f"anchor-{recent.name}-{n}"
    done = out / "complete"
    if not done.exists():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(recent / "projects", out / "projects", copy_function=os.link)
        for k in range(1, n + 1):  # each period's project folders under names of their own
            period_copy(history, out / f"period-{k}", k)
            for folder in (out / f"period-{k}" / "projects").iterdir():
                folder.rename(out / "projects" / f"{folder.name}-h{k}")
            shutil.rmtree(out / f"period-{k}")
        done.write_text("ok")
    live = out / "projects" / "-home-dev-live"
    live.mkdir(exist_ok=True)
    return out


def build(python: str, history: Path, recent: Path, sizes: list[int], tmp: Path) -> dict:
    """A database per history size in ``sizes``, each with the recent corpus ingested last."""
    dbs = {}
    env = sandbox_env(tmp / "home-build")
    for n in sorted(sizes):
        target = tmp / f"h{n}.duckdb"
        if not target.exists():  # else made by an earlier, interrupted build
            db = tmp / "grow.duckdb"
            if db.with_suffix(".periods").exists() and int(
                    db.with_suffix(".periods").read_text()) > n:
                db = tmp / f"grow-{n}.duckdb"  # the shared one is past n already
            grow(python, history, db, n, tmp, env)
            if db.exists():
                shutil.copyfile(db, target)
            subprocess.run([python, "-c", INGEST, str(target), str(recent)], env=env,
                           check=True, stdout=subprocess.DEVNULL, cwd=tmp)
        dbs[n] = target
    return dbs


def run(argv: list[str], env: dict) -> tuple[float, dict, bytes]:
    marks = Path(env["CCSPEND_TIMING"])
    marks.unlink(missing_ok=True)
    t_spawn = time.time()
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, capture_output=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{argv} failed: {p.stderr.decode()[-1500:]}")
    phases: dict[str, float] = {}
    prev = t_spawn
    if marks.exists():
        for row in marks.read_text().splitlines():
            name, _, at = row.partition("\t")
            if name == "end" or not at:
                continue
            phases[name] = phases.get(name, 0.0) + float(at) - prev
            prev = float(at)
    phases["(teardown)"] = t_spawn + wall - prev
    return wall, phases, p.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recent-mb", type=float, default=25)
    ap.add_argument("--history", default="0,10,200",
                    help="history sizes, in periods of the recent corpus's size")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reports", default="daily,session")
    ap.add_argument("--keep", type=Path, help="keep (and reuse) the databases in this folder")
    ap.add_argument("--ccspend", help="time this command instead of the clean venv's")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--anchor-max", type=int, default=10,
                    help="time ccusage for history sizes up to this (-1: never)")
    ap.add_argument("--ccusage", type=ccusage_binary,
                    help="this ccusage binary (default: npm install)")
    args = ap.parse_args()
    sizes = sorted({int(x) for x in args.history.split(",")})
    reports = args.reports.split(",")
    if args.ccspend:  # its venv's python builds the databases, when there is one
        ccspend = args.ccspend.split()
        beside = Path(ccspend[0]).parent / "python"
        python = str(beside) if beside.exists() else sys.executable
    else:
        try:
            venv = ensure_venv()
        except VenvError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        ccspend, python = [str(venv / "bin" / "ccspend")], str(venv / "bin" / "python")
    recent = corpus("recent", args.recent_mb, 1)
    history = corpus("period", args.recent_mb, 2)
    with tempfile.TemporaryDirectory(prefix="ccspend-bench-history-") as t:
        tmp = Path(t)
        folder = args.keep or tmp
        folder.mkdir(parents=True, exist_ok=True)
        have = {n: folder / f"h{n}.duckdb" for n in sizes}
        if not all(p.exists() for p in have.values()):
            print(f"building databases with {sizes} periods of history "
                  f"({args.recent_mb:g} MB each; load {load()}) ...", flush=True)
            t0 = time.perf_counter()
            have = build(python, history, recent, sizes, folder)
            print(f"  built in {time.perf_counter() - t0:.0f}s")
        info = {}
        for n, db in have.items():
            import duckdb

            con = duckdb.connect(str(db), read_only=True)
            rows = con.execute("SELECT count(*) FROM requests").fetchone()[0]
            con.close()
            info[n] = {"requests": rows, "built_mb": db.stat().st_size / 1e6}
        anchored = [n for n in sizes if n <= args.anchor_max]
        ccusage = None
        if anchored:
            try:
                ccusage = args.ccusage or install_ccusage(tmp / "ccusage")
            except RunError as e:
                print(f"ccusage not timed: {e}", file=sys.stderr)
                anchored = []
        anchors = {n: anchor_corpus(history, recent, n) for n in anchored}
        anchor_envs = {n: sandbox_env(tmp / f"home-anchor-{n}", claude=anchors[n], TZ="UTC",
                                      CCSPEND_TIMING=str(tmp / f"marks-anchor-{n}"),
                                      NO_COLOR="1") for n in anchored}  # fmt: skip
        # One working copy per database, one live transcript per copy.
        envs, argvs = {}, {}
        for n, db in have.items():
            home = tmp / f"home-{n}"
            live = home / "live" / "projects" / "-home-dev-live"
            live.mkdir(parents=True)
            work = home / "db.duckdb"
            shutil.copyfile(db, work)
            envs[n] = sandbox_env(home, claude=recent, CCSPEND_TIMING=str(home / "marks"),
                                  TZ="UTC", NO_COLOR="1")
            argvs[n] = [str(work), str(recent), str(home / "live"), live]
        results: dict = {}
        load_before = load()
        for n in sizes:  # the first run reads the live file cold: not timed
            work, rec, live_root, live = argvs[n]
            (live / "s.jsonl").write_text(line(0, "live-session"))
            for report in ("daily", "session"):
                run(ccspend + [report, "--json", "--db", work, "--claude-dir", rec,
                               "--claude-dir", live_root], envs[n])
            # The size a user's database has: after the reports that price what the ingest
            # added and sum its rollup and sessions (the file, and its log if one is left).
            wal = Path(work + ".wal")
            info[n]["mb"] = (Path(work).stat().st_size
                             + (wal.stat().st_size if wal.exists() else 0)) / 1e6
        i = 0
        for _ in range(args.runs):
            for report in reports:
                for n in sizes:
                    i += 1
                    work, rec, live_root, live = argvs[n]
                    with open(live / "s.jsonl", "a") as fh:
                        fh.write(line(i, "live-session"))
                    argv = ccspend + [report, "--json", "--db", work, "--claude-dir", rec,
                                      "--claude-dir", live_root]
                    wall, phases, _ = run(argv, envs[n])
                    results.setdefault((report, n, "new line"), []).append((wall, phases))
                    wall, phases, _ = run(argv, envs[n])
                    results.setdefault((report, n, "unchanged"), []).append((wall, phases))
                    if n in anchors:
                        with open(anchors[n] / "projects" / "-home-dev-live" / "s.jsonl",
                                  "a") as fh:
                            fh.write(line(i, "live-session"))
                        wall, _, _ = run([str(ccusage), report, "--offline", "--json"],
                                         anchor_envs[n])
                        results.setdefault(("ccusage " + report, n, "new line"),
                                           []).append((wall, {}))
        load_after = load()
    print()
    print(f"recent corpus {args.recent_mb:g} MB; {os.cpu_count()} CPUs; load average "
          f"{load_before} before, {load_after} after")
    for n in sizes:
        per_m = info[n]["mb"] / max(info[n]["requests"], 1) * 1e6
        print(f"  {n:>4}x history: {info[n]['requests']:>10,} stored requests, database "
              f"{info[n]['mb']:,.1f} MB after its first reports ({per_m:,.0f} MB per million "
              f"requests; as built, before them: {info[n]['built_mb']:,.1f} MB)")
    print()
    print(f"{'report':<17}{'history':>8}{'case':>11}{'median s':>10}{'min s':>8}{'max s':>8}"
          f"{'vs 0x':>7}{'ccusage/':>10}")
    out = []
    for (report, n, case), runs in sorted(results.items(), key=lambda kv: (
            kv[0][0].removeprefix("ccusage "), kv[0][0].startswith("ccusage"), kv[0][1],
            kv[0][2])):
        walls = [w for w, _ in runs]
        base = results.get((report, sizes[0], case))
        ratio = statistics.median(walls) / statistics.median([w for w, _ in base])
        anchor = results.get(("ccusage " + report, n, "new line"))
        versus = (f"{statistics.median([w for w, _ in anchor]) / statistics.median(walls):>10.2f}"
                  if anchor else f"{'':>10}")
        print(f"{report:<17}{n:>7}x{case:>11}{statistics.median(walls):>10.3f}"
              f"{min(walls):>8.3f}{max(walls):>8.3f}{ratio:>7.2f}{versus}")
        out.append({"report": report, "history": n, "case": case,
                    "median_s": statistics.median(walls), "ratio_to_0x": ratio,
                    "phases": {k: statistics.median(p.get(k, 0.0) for _, p in runs)
                               for k in PHASES + ("(teardown)",)}})
    print()
    print("where the time goes after a new line (median ms per phase):")
    names = [p for p in PHASES + ("(teardown)",)
             if any(r["phases"][p] > 0.0005 for r in out if r["case"] == "new line")]
    print(f"{'':<16}" + "".join(f"{p[:9]:>10}" for p in names))
    for r in out:
        if r["case"] != "new line" or r["report"].startswith("ccusage"):
            continue
        print(f"{r['report']:<8}{r['history']:>6}x  "
              + "".join(f"{r['phases'][p] * 1000:>10.1f}" for p in names))
    print()
    worst = {}
    for r in out:
        if r["case"] == "new line" and not r["report"].startswith("ccusage"):
            worst[r["report"]] = max(worst.get(r["report"], 0), r["median_s"])
    for report, s in worst.items():
        big = max(sizes)
        ratio = next(r["ratio_to_0x"] for r in out if r["report"] == report
                     and r["history"] == big and r["case"] == "new line")
        print(f"{report}: slowest median after a new line {s:.3f} s (target <= {TARGET_S}) "
              f"{'ok' if s <= TARGET_S else 'MISSED'}; {big}x / 0x {ratio:.2f} "
              f"(target <= {TARGET_RATIO}) {'ok' if ratio <= TARGET_RATIO else 'MISSED'}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"load": [load_before, load_after], "info": info,
                                             "rows": out}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
