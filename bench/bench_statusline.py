#!/usr/bin/env python3
"""Speed benchmark of the status line: ccspend statusline vs ccusage statusline.

Why this exists: Claude Code runs the status-line command on every update of
the conversation, so ccspend claims that ``ccspend statusline`` answers in
well under 60 ms, in little memory, however large the history behind it, and
no slower than ccusage's own status line. This script measures that on one
machine in one run, with the anchor installed fresh from npm at a pinned
version:

    python bench/bench_statusline.py [--corpus DIR] [--calls 30] [--rss-calls 5]
                                     [--ccspend CMD] [--ccusage BIN]
                                     [--skip-uncached] [--json-out FILE]

1. Takes the largest session transcript of the corpus (a generated Claude
   config dir, see gen_corpus.py and bench_daily.py) as ``transcript_path``
   and builds Claude Code's status-line JSON around it (session_id from its
   file name, cwd and model from its lines, rate_limits readings for the
   5-hour and 7-day windows).
2. Installs ccusage@20.0.24 and its native binary with npm (as bench_daily.py)
   and reads every corpus file once, so all runs see a warm page cache.
3. Gives each tool its own HOME, TMPDIR, CCSPEND_DB and CCSPEND_CONFIG_DIR in
   a temp dir, with CLAUDE_CONFIG_DIR=corpus and TZ=UTC.
4. ccspend: ``ccspend daily`` once (the database then holds the whole
   history) and ``ccspend statusline --refresh`` once (the summary the status
   line reads); then one warm-up call and --calls calls of
   ``ccspend statusline``, each fed the JSON on stdin.
5. ccusage: one warm-up call and --calls calls of
   ``ccusage statusline --offline`` (its defaults otherwise: a cache of its
   last line, valid for 1 s while the transcript is unchanged); then the
   same with ``--no-cache``, the cost of a call whenever that cache is stale
   (skip with --skip-uncached).
6. Prints, per command, median and p90 wall time (spawn to exit, as
   bench_daily.py measures it), the largest peak RSS, the line each tool
   printed (first and last call), the floor ``python -c pass``, and the
   verdicts: ccspend median < 60 ms, ccspend median <= ccusage median,
   ccspend peak RSS < 60 MB. A missed target prints MISSED; the exit code is
   still 0 (2 if a tool could not run).

Peak RSS: on Linux a child's ru_maxrss (os.wait4, as in bench_daily.py) never
reads below the peak RSS of the process that spawned it, here this script's
own (~20 MB), which is more than a small native binary uses. So the peak RSS
column comes from --rss-calls more calls per command, each under GNU time (a
~1 MB process that reports its child's own peak); the wait4 column is shown
next to it. Without GNU time, only the wait4 figure (an upper bound) is used.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_daily  # noqa: E402
from bench_daily import RunError, load_average, verdict  # noqa: E402

TARGET_MEDIAN_MS = 60.0  # ccspend statusline median wall time, below
TARGET_RSS_MB = 60.0  # ccspend statusline peak RSS, below


# -- the input ---------------------------------------------------------------


def largest_transcript(corpus: Path) -> Path:
    """The largest session transcript (projects/<project>/<session>.jsonl)."""
    best: tuple[int, str] | None = None
    projects = corpus / "projects"
    if not projects.is_dir():
        raise RunError(
            f"no projects/ in {corpus}: generate the corpus with "
            f"bench/bench_daily.py or bench/gen_corpus.py"
        )
    for project in os.scandir(projects):
        if not project.is_dir():
            continue
        for entry in os.scandir(project.path):
            if entry.name.endswith(".jsonl") and entry.is_file():
                size = entry.stat().st_size
                if best is None or size > best[0]:
                    best = (size, entry.path)
    if best is None:
        raise RunError(f"no session transcript under {projects}")
    return Path(best[1])


def transcript_facts(path: Path) -> tuple[str | None, str | None]:
    """The cwd of its first line that has one, and the model of its last response."""
    cwd = None
    model = None
    with open(path, "rb") as f:
        for raw in f:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(line, dict):
                continue
            if cwd is None and isinstance(line.get("cwd"), str):
                cwd = line["cwd"]
            msg = line.get("message")
            m = msg.get("model") if isinstance(msg, dict) else None
            if line.get("type") == "assistant" and isinstance(m, str) and m != "<synthetic>":
                model = m
    return cwd, model


def display_name(model_id: str) -> str:
    """claude-opus-4-6 -> Opus 4.6 (as Claude Code shows it, near enough)."""
    parts = model_id.removeprefix("claude-").split("-")
    family = [p for p in parts if not p.isdigit()]
    numbers = [p for p in parts if p.isdigit() and len(p) < 8]  # not a date
    name = " ".join(p.capitalize() for p in family) or model_id
    return f"{name} {'.'.join(numbers)}".strip()


def status_input(transcript: Path, now: float) -> dict:
    """Claude Code's status-line object for this transcript, like the reference example."""
    cwd, model = transcript_facts(transcript)
    cwd = cwd or str(transcript.parent)
    model = model or "claude-opus-4-6"
    return {
        "cwd": cwd,
        "session_id": transcript.stem,
        "session_name": "bench-session",
        "prompt_id": "550e8400-e29b-41d4-a716-446655440000",
        "transcript_path": str(transcript),
        "model": {"id": model, "display_name": display_name(model)},
        "workspace": {"current_dir": cwd, "project_dir": cwd, "added_dirs": []},
        "version": "2.1.90",
        "output_style": {"name": "default"},
        "cost": {
            "total_cost_usd": 0.01234,
            "total_duration_ms": 45000,
            "total_api_duration_ms": 2300,
            "total_lines_added": 156,
            "total_lines_removed": 23,
        },
        "context_window": {
            "total_input_tokens": 15500,
            "total_output_tokens": 1200,
            "context_window_size": 200000,
            "used_percentage": 8,
            "remaining_percentage": 92,
            "current_usage": {
                "input_tokens": 8500,
                "output_tokens": 1200,
                "cache_creation_input_tokens": 5000,
                "cache_read_input_tokens": 2000,
            },
        },
        "exceeds_200k_tokens": False,
        "fast_mode": False,
        "effort": {"level": "high"},
        "thinking": {"enabled": True},
        "rate_limits": {
            "five_hour": {"used_percentage": 23.5, "resets_at": int(now) + 2 * 3600},
            "seven_day": {"used_percentage": 41.2, "resets_at": int(now) + 3 * 86400},
        },
        "vim": {"mode": "NORMAL"},
    }


# -- running -----------------------------------------------------------------


def tool_env(corpus: Path, home: Path) -> dict:
    """bench_daily's isolated environment, plus the database and a private TMPDIR."""
    env = bench_daily.make_env(corpus, home)
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "CCSPEND_DB": str(home / "ccspend.duckdb"),
            "CCSPEND_CONFIG_DIR": str(home / "cfg"),
            "TMPDIR": str(home / "tmp"),  # ccusage keeps its status-line cache there
        }
    )
    return env


def measure_stdin(argv: list[str], env: dict, workdir: Path, stdin_path: Path) -> dict:
    """bench_daily.measure, with a file on stdin: wall seconds, the child's peak RSS, stdout."""
    out_path = workdir / "stdout"
    err_path = workdir / "stderr"
    with open(stdin_path, "rb") as inp, open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, env=env, stdin=inp, stdout=out, stderr=err)
        except FileNotFoundError as e:
            raise RunError(f"cannot run {argv[0]}: {e}") from e
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    rss_kb = usage.ru_maxrss
    if sys.platform == "darwin":
        rss_kb //= 1024  # bytes there
    if proc.returncode != 0:
        tail = err_path.read_bytes()[-2000:].decode("utf-8", "replace")
        raise RunError(f"{shlex.join(argv)} exited {proc.returncode}:\n{tail}")
    return {"seconds": secs, "rss_mb": rss_kb / 1024, "stdout": out_path.read_bytes()}


def gnu_time() -> str | None:
    """GNU time, if this machine has it: it reports its child's own peak RSS."""
    path = shutil.which("time")
    if path is None:
        return None
    try:
        p = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if "GNU" in p.stdout + p.stderr else None


def true_rss(argv: list[str], env: dict, workdir: Path, stdin_path: Path, tbin: str) -> float:
    """The child's peak RSS in MB, as GNU time (a ~1 MB process) reads it from wait4.

    os.wait4 in this script cannot say it: on Linux a child's ru_maxrss never
    reads below the peak RSS of the process that spawned it (its memory map is
    the parent's until exec), so every figure there is at least this script's
    own peak.
    """
    rss_file = workdir / "rss"
    measure_stdin([tbin, "-f", "%M", "-o", str(rss_file), *argv], env, workdir, stdin_path)
    return int(rss_file.read_text().split()[-1]) / 1024


def series(
    argv: list[str],
    env: dict,
    workdir: Path,
    stdin_path: Path,
    calls: int,
    rss_calls: int,
    tbin: str | None,
    after_each=None,
) -> dict:
    """One warm-up call, ``calls`` timed calls, then ``rss_calls`` calls under GNU time."""
    warm = measure_stdin(argv, env, workdir, stdin_path)
    runs = []
    for _ in range(calls):
        runs.append(measure_stdin(argv, env, workdir, stdin_path))
        if after_each is not None:
            after_each(runs[-1])
    rss = [true_rss(argv, env, workdir, stdin_path, tbin) for _ in range(rss_calls if tbin else 0)]
    return {"warm": warm, "runs": runs, "rss": rss}


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def summarise(name: str, res: dict) -> dict:
    runs = res["runs"]
    secs = [r["seconds"] for r in runs]
    return {
        "name": name,
        "calls": len(runs),
        "median_ms": statistics.median(secs) * 1000,
        "p90_ms": p90(secs) * 1000,
        "min_ms": min(secs) * 1000,
        "max_ms": max(secs) * 1000,
        "wait4_rss_mb": max(r["rss_mb"] for r in runs),
        "peak_rss_mb": max(res["rss"]) if res["rss"] else None,
        "rss_calls": len(res["rss"]),
        "warmup_ms": res["warm"]["seconds"] * 1000,
    }


def first_line(stdout: bytes) -> str:
    text = stdout.decode("utf-8", "replace")
    line = text.splitlines()[0] if text.strip() else "(nothing)"
    return line.replace("\x1b", "\\e")


def wait_for_refresh(folder: Path, limit: float = 300.0) -> float:
    """Wait while a background ``ccspend statusline --refresh`` holds its lock; seconds waited."""
    t0 = time.perf_counter()
    lock = folder / "refresh.lock"
    while lock.exists() and time.perf_counter() - t0 < limit:
        time.sleep(0.05)
    return time.perf_counter() - t0


def session_truth(corpus: Path, session_id: str) -> float | None:
    """This session's exact cost in the corpus truth (its subagents included), if known."""
    try:
        with open(corpus / "truth.json", encoding="utf-8") as f:
            truth = json.load(f)
        idx = truth["sessions"].index(session_id)
        col = truth["fields"].index("session")
        return sum(float(r[-1]) for r in truth["requests"] if r[col] == idx and r[-1] is not None)
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


# -- main --------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=bench_daily.DEFAULT_CORPUS)
    ap.add_argument(
        "--calls", type=int, default=30, help="timed calls per command, after one warm-up call"
    )
    ap.add_argument(
        "--rss-calls",
        type=int,
        default=5,
        help="further calls per command under GNU time, for the child's own peak RSS",
    )
    ap.add_argument("--ccspend", default="ccspend", metavar="CMD")
    ap.add_argument(
        "--ccusage", type=Path, metavar="BIN", help="use this ccusage binary instead of installing"
    )
    ap.add_argument(
        "--skip-uncached", action="store_true", help="do not time ccusage statusline --no-cache"
    )
    ap.add_argument("--json-out", type=Path, help="also write the results here as JSON")
    args = ap.parse_args(argv)
    if args.calls < 1:
        ap.error("--calls must be at least 1")

    corpus = args.corpus.resolve()
    ccspend = shlex.split(args.ccspend)
    if shutil.which(ccspend[0]) is None:
        print(f"ccspend command not found: {ccspend[0]} (pass --ccspend)", file=sys.stderr)
        return 2
    tbin = gnu_time()
    if tbin is None:
        print("note: no GNU time here: peak RSS is os.wait4's, at least this script's own")

    rows: list[dict] = []
    lines: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ccspend-bench-sl-") as t:
        tmp = Path(t)
        try:
            transcript = largest_transcript(corpus)
            obj = status_input(transcript, time.time())
            stdin_path = tmp / "statusline.json"
            stdin_path.write_text(json.dumps(obj, indent=2) + "\n")
            print(f"transcript: {transcript} ({transcript.stat().st_size / 1048576:.1f} MiB)")
            print(f"  session {obj['session_id']}, cwd {obj['cwd']}, model {obj['model']['id']}")

            binary = args.ccusage or bench_daily.install_ccusage(tmp / "anchor")
            bench_daily.warm_page_cache(corpus)
            load_before = load_average()

            # ccspend: the database holds the history, the summary is written.
            home = tmp / "home-ccspend"
            env = tool_env(corpus, home)
            folder = Path(env["CCSPEND_DB"] + ".cache") / "statusline"
            print("ccspend daily (fills the database) ...", flush=True)
            setup = bench_daily.measure(ccspend + ["daily"], env, home)
            print(f"  {setup['seconds']:.2f}s")
            print("ccspend statusline --refresh ...", flush=True)
            refresh = bench_daily.measure(ccspend + ["statusline", "--refresh"], env, home)
            print(f"  {refresh['seconds']:.2f}s")
            try:
                written_before = json.loads((folder / "summary.json").read_text())["written_at"]
            except (OSError, ValueError, KeyError) as e:
                raise RunError(f"no summary after --refresh in {folder}: {e}") from e

            print(f"running ccspend statusline 1+{args.calls} ...", flush=True)
            busy = []

            def saw_refresh(_run: dict) -> None:
                busy.append((folder / "refresh.lock").exists())

            res = series(
                ccspend + ["statusline"], env, home, stdin_path, args.calls, args.rss_calls,
                tbin, saw_refresh,
            )  # fmt: skip
            rows.append(summarise("ccspend statusline", res))
            lines["ccspend statusline"] = (
                first_line(res["warm"]["stdout"]),
                first_line(res["runs"][-1]["stdout"]),
            )
            distinct = {r["stdout"] for r in res["runs"]}
            if sum(busy):
                notes.append(
                    f"ccspend: a background refresh was running after "
                    f"{sum(busy)} of {len(busy)} timed calls"
                )
            waited = wait_for_refresh(folder)
            try:
                written_after = json.loads((folder / "summary.json").read_text())["written_at"]
            except (OSError, ValueError, KeyError):
                written_after = written_before
            if written_after != written_before:
                notes.append(
                    f"ccspend: the summary was rewritten in the background during "
                    f"the calls (waited {waited:.1f}s for the refresh to end)"
                )
            if len(distinct) > 1:
                notes.append(f"ccspend: the timed calls printed {len(distinct)} different lines")

            # ccusage: its defaults (a 1 s cache of its line) and then without the cache.
            home = tmp / "home-ccusage"
            env = tool_env(corpus, home)
            variants = [("ccusage statusline --offline", ["--offline"])]
            if not args.skip_uncached:
                variants.append(("ccusage sl --offline --no-cache", ["--offline", "--no-cache"]))
            for name, opts in variants:
                print(f"running {name} 1+{args.calls} ...", flush=True)
                argv_ = [str(binary), "statusline", *opts]
                res = series(argv_, env, home, stdin_path, args.calls, args.rss_calls, tbin)
                rows.append(summarise(name, res))
                lines[name] = (
                    first_line(res["warm"]["stdout"]),
                    first_line(res["runs"][-1]["stdout"]),
                )

            # The floor under any Python command here: the interpreter, doing nothing.
            res = series(
                [sys.executable, "-c", "pass"], env, home, stdin_path, args.calls,
                args.rss_calls, tbin,
            )  # fmt: skip
            rows.append(summarise("python -c pass (floor)", res))
            own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        except RunError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2

    print()
    print(
        f"{os.cpu_count()} CPUs, load average {load_before} before, {load_average()} "
        f"after (other work skews the timings)"
    )
    print(
        f"{'':<32}{'calls':>6}{'median ms':>11}{'p90 ms':>9}{'min ms':>9}{'max ms':>9}"
        f"{'warm-up ms':>12}{'peak RSS MB':>13}{'wait4 MB':>10}"
    )
    for r in rows:
        rss = f"{r['peak_rss_mb']:>13.1f}" if r["peak_rss_mb"] is not None else f"{'-':>13}"
        print(
            f"{r['name']:<32}{r['calls']:>6}{r['median_ms']:>11.1f}{r['p90_ms']:>9.1f}"
            f"{r['min_ms']:>9.1f}{r['max_ms']:>9.1f}{r['warmup_ms']:>12.0f}{rss}"
            f"{r['wait4_rss_mb']:>10.1f}"
        )
    if tbin:
        print(
            f"peak RSS: the largest of {args.rss_calls} more calls each under GNU time; "
            f"wait4: bench_daily's measure over the timed calls, which on Linux never reads "
            f"below this script's own peak RSS ({own_mb:.1f} MB)"
        )

    print()
    for name, (first, last) in lines.items():
        print(f"{name}:")
        print(f"  first: {first}")
        print(f"  last:  {last}")
    truth = session_truth(corpus, obj["session_id"])
    if truth is not None:
        subagents = len(list((transcript.parent / transcript.stem).glob("subagents/*.jsonl")))
        print(
            f"truth.json, this session: ${truth:.2f} (its {subagents} subagent transcripts "
            f"included; Claude Code's own cost.total_cost_usd in the input: "
            f"${obj['cost']['total_cost_usd']})"
        )
    for note in notes:
        print(f"note: {note}")

    ours, anchor = rows[0], rows[1]
    med = ours["median_ms"]
    rss = ours["peak_rss_mb"] if ours["peak_rss_mb"] is not None else ours["wait4_rss_mb"]
    print()
    print(
        f"ccspend median                {med:8.1f} ms  (target < {TARGET_MEDIAN_MS:g})  "
        f"{verdict(med < TARGET_MEDIAN_MS)}"
    )
    print(
        f"ccspend / ccusage median      {med / anchor['median_ms']:8.2f}     "
        f"(target <= 1)  {verdict(med <= anchor['median_ms'])}"
    )
    if len(rows) == 4:
        uncached = rows[2]["median_ms"]
        print(
            f"  (ccspend / ccusage --no-cache median: {med / uncached:.3f}; ccusage's cached "
            f"median is {anchor['median_ms'] / uncached:.4f} of its uncached one)"
        )
    print(
        f"ccspend peak RSS              {rss:8.1f} MB  (target < {TARGET_RSS_MB:g})  "
        f"{verdict(rss < TARGET_RSS_MB)}"
    )
    floor = rows[-1]
    floor_rss = floor["peak_rss_mb"] if floor["peak_rss_mb"] is not None else floor["wait4_rss_mb"]
    print(
        f"  (floor, python -c pass: median {floor['median_ms']:.1f} ms, "
        f"peak RSS {floor_rss:.1f} MB)"
    )

    if args.json_out:
        results = {
            "corpus": str(corpus),
            "transcript": str(transcript),
            "cpus": os.cpu_count(),
            "ccusage": bench_daily.CCUSAGE_VERSION,
            "setup": {"daily_s": setup["seconds"], "refresh_s": refresh["seconds"]},
            "rows": rows,
            "lines": lines,
            "session_truth_usd": truth,
            "notes": notes,
            "targets": {
                "median_ok": med < TARGET_MEDIAN_MS,
                "vs_ccusage_ok": med <= anchor["median_ms"],
                "rss_ok": rss < TARGET_RSS_MB,
            },
        }
        args.json_out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
