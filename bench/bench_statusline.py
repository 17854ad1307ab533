#!/usr/bin/env python3
"""Speed benchmark of the status line: ccspend statusline vs ccusage statusline.

Why this exists: Claude Code runs the status-line command whenever the
conversation updates, so ccspend claims that ``ccspend statusline`` answers in
at most 40 ms (issue #17), in little memory, however large the history behind it, and
no slower than ccusage's own status line. This script measures that on one
machine in one run, with the anchor installed fresh from npm at a pinned
version:

    python bench/bench_statusline.py [--corpus DIR] [--calls 30] [--live-calls 30]
                                     [--rss-calls 5] [--pause 0.3 1.5] [--seed 1]
                                     [--ccspend CMD] [--shim CMD | --no-shim]
                                     [--ccusage BIN] [--skip-uncached] [--json-out FILE]
                                     [--history-db DB]
    python bench/bench_statusline.py --scales 1 10 [--live-calls 30] ...

Two regimes, both run every time:

- back to back: the same input, the transcript unchanged, calls one after the
  other. ccusage answers those from its own cache of its last line (valid
  1 s while the transcript is unchanged) in about a millisecond, which no
  Python command can match (the interpreter alone starts in ~10 ms).
- live session: what a user sees. Claude Code runs the command right after a
  new line was written to the transcript, so before each call one realistic
  assistant line (a new message id, usage tokens, the session's model, the
  current time) is appended to the session's transcript, and calls are paced
  --pause seconds apart (uniform, the same seeded pauses and token counts for
  both tools). ccusage's cache is then stale on every call. The verdict
  "no slower than ccusage on the same input" is computed here.

Steps:

1. Takes the largest session transcript of the corpus (a generated Claude
   config dir, see gen_corpus.py and bench_daily.py) and builds a private
   Claude config dir in a temp dir: every corpus file hard-linked (copied if
   links are impossible), except that transcript, which is copied, so that
   appending to it never touches the shared corpus while the rest of the
   1 GiB history still stands behind "today" and the 5-hour block for both
   tools (both find the history under CLAUDE_CONFIG_DIR/projects; ccspend's
   walk lists a hard-linked file once). Claude Code's status-line JSON is
   built around the copy (session_id from its file name, cwd and model from
   its lines, rate_limits readings for the 5-hour and 7-day windows); both
   tools get the same JSON on stdin in every regime.
2. Installs ccusage@20.0.24 and its native binary with npm (as bench_daily.py)
   and reads every corpus file once, so all runs see a warm page cache.
3. ccspend is run as a user has it: a regular (non-editable) pip install in a
   clean venv (bench/_venv.py), not the development machine's pyenv shim in
   front of an editable install (--ccspend CMD to time another command).
   The shim is timed back to back too, for comparison (--no-shim to skip).
4. Gives each tool its own HOME, TMPDIR, CCSPEND_DB and CCSPEND_CONFIG_DIR in
   a temp dir, with CLAUDE_CONFIG_DIR=the private config dir and TZ=UTC.
5. ccspend: ``ccspend daily`` once (the database then holds the whole
   history) and ``ccspend statusline --refresh`` once (the summary the status
   line reads); then, per regime, one warm-up call and --calls (back to back)
   or --live-calls (live) timed calls of ``ccspend statusline``. In the live
   regime its background ``--refresh`` (started at most every 5 s) runs as it
   would for a user, beside the timed calls.
6. ccusage: per regime one warm-up call and the timed calls of ``ccusage
   statusline --offline`` (its defaults otherwise, cache included); back to
   back also with ``--no-cache``, the cost of a call whenever that cache is
   stale (skip with --skip-uncached). Before the live regime the transcript
   is cut back to its original length, so both tools' live calls see the
   same transcript, line for line.
7. Prints, per command, median and p90 wall time (spawn to exit, as
   bench_daily.py measures it), the largest peak RSS, the 1-minute load
   average after the series, the line each tool printed (first and last
   call), the floor ``python -c pass`` of the venv's interpreter, and the
   verdicts: ccspend median <= 40 ms (both regimes), ccspend live median <=
   ccusage live median, ccspend peak RSS < 60 MB. A missed target prints
   MISSED; the exit code is still 0 (2 if a tool could not run).

--scales 1 10: is the status line's cost independent of the history's size?
For each scale N the private config dir holds the corpus and, beside the
session's project folder's files, N-1 rewritten copies of each of them (new
session ids, message and request ids, timestamps N days earlier: other
sessions of the same project, which is all the status line's state holds);
``ccspend daily`` and ``--refresh`` then build the database and the summary
from that history. Per scale: the live regime of ``ccspend statusline`` (wall
time, spawn to exit), the same calls in one process (``perf_counter`` around
``statusline.run``, much less noisy on a shared machine) and ccusage's live
regime; then p50/p90 of each, the load average, and the N/1 ratios measured in
the same run.

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
import random
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_daily  # noqa: E402
from _venv import VenvError, ensure_venv, wrapper_imports_re  # noqa: E402
from bench_daily import RunError, load_average, verdict  # noqa: E402

TARGET_MEDIAN_MS = 40.0  # ccspend statusline median wall time, at most (issue #17, item 4)
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


def private_config(corpus: Path, dest: Path, transcript: Path) -> tuple[Path, int]:
    """A Claude config dir at ``dest`` holding the corpus's projects/, the transcript copied.

    Every other file is hard-linked (same inode, never written: the shared
    corpus stays as it is), so both tools see the full history; the session
    transcript is a private copy the live regime can append to. Returns the
    copy's path and how many files had to be copied because a link failed.
    """
    src_root = corpus / "projects"
    copied = 0
    target = dest / "projects" / transcript.relative_to(src_root)
    for folder, _dirs, names in os.walk(src_root):
        out = dest / "projects" / Path(folder).relative_to(src_root)
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            src = Path(folder) / name
            if src == transcript:
                shutil.copy2(src, out / name)  # its times too: history until a line is added
                continue
            try:
                os.link(src, out / name)
            except OSError:  # another filesystem: a copy reads the same
                shutil.copy2(src, out / name)
                copied += 1
    return target, copied


def last_assistant(path: Path) -> dict:
    """The transcript's last assistant line with usage: the template of the lines appended."""
    last = None
    with open(path, "rb") as f:
        for raw in f:
            if b'"assistant"' not in raw or b'"usage"' not in raw:
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            msg = line.get("message") if isinstance(line, dict) else None
            if (
                line.get("type") == "assistant"
                and isinstance(msg, dict)
                and msg.get("usage")
                and msg.get("model") != "<synthetic>"
            ):
                last = line
    if last is None:
        raise RunError(f"no assistant line with usage in {path}")
    return last


class LiveSession:
    """Appends one new assistant response to the transcript per call, as Claude Code would.

    Each line is a new response (new message and request ids, a new uuid
    chained to the previous one) of the session's model, stamped with the
    current time, with usage drawn from a seeded generator: two instances with
    the same seed write the same token counts in the same order.
    """

    def __init__(self, path: Path, template: dict, seed: int):
        self.path = path
        self.template = template
        self.rng = random.Random(seed)
        self.parent = template.get("uuid")
        usage = template["message"]["usage"]
        self.context = int(usage.get("cache_read_input_tokens") or 0) + int(
            usage.get("cache_creation_input_tokens") or 0
        )
        self.appended = 0

    def line(self, now: datetime) -> bytes:
        rng = self.rng
        written = rng.randint(200, 3000)
        usage = {
            "input_tokens": rng.randint(1, 12),
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": self.context,
            "cache_creation": {
                "ephemeral_5m_input_tokens": written,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": rng.randint(20, 900),
            "service_tier": "standard",
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        }
        self.context += written
        me = str(uuid.uuid4())
        line = dict(self.template)
        line.update(
            {
                "parentUuid": self.parent,
                "uuid": me,
                "requestId": f"req_bench{uuid.uuid4().hex[:20]}",
                "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                "message": {
                    **self.template["message"],
                    "id": f"msg_bench{uuid.uuid4().hex[:20]}",
                    "content": [{"type": "text", "text": f"Done: step {self.appended + 1}."}],
                    "stop_reason": "end_turn",
                    "usage": usage,
                },
            }
        )
        self.parent = me
        return json.dumps(line, separators=(",", ":")).encode() + b"\n"

    def append(self) -> None:
        with open(self.path, "ab") as f:
            f.write(self.line(datetime.now(UTC)))
        self.appended += 1


# -- a larger history ----------------------------------------------------------

_UUID_HEAD = re.compile(rb'"[0-9a-f]{2}([0-9a-f]{6}-[0-9a-f]{4}-[0-9a-f]{4}-)')
_STAMP = re.compile(rb'"timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z"')


def rewritten_copy(data: bytes, k: int) -> bytes:
    """A transcript's bytes as another session's: ids (session, line, message, request)
    made new and timestamps moved ``k`` days back, so nothing is shared with the original."""
    data = _UUID_HEAD.sub(b'"z%d' % k + rb"\1", data)  # "z": no real id begins so
    data = data.replace(b'"id":"msg_', b'"id":"msg_z%d' % k)
    data = data.replace(b'"requestId":"req_', b'"requestId":"req_z%d' % k)
    shift = timedelta(days=k)

    def moved(m: re.Match) -> bytes:
        t = datetime.fromisoformat(m.group(1).decode()) - shift
        return b'"timestamp":"' + t.isoformat(timespec="milliseconds").encode() + b'Z"'

    return _STAMP.sub(moved, data)


def scale_project(project: Path, scale: int) -> int:
    """Add ``scale - 1`` rewritten copies of every file of a project folder to it; the
    number of files written."""
    written = 0
    originals = [Path(folder) / n for folder, _d, names in os.walk(project) for n in names]
    for k in range(1, scale):
        for src in originals:
            rel = src.relative_to(project)
            top = rel.parts[0]
            new_top = f"z{k}{top[2:]}" if len(top) > 8 and top[8:9] == "-" else f"z{k}-{top}"
            out = project / new_top / Path(*rel.parts[1:]) if len(rel.parts) > 1 else (
                project / new_top)
            out.parent.mkdir(parents=True, exist_ok=True)
            # a new file, never an existing name: the others are hard links to the corpus
            with open(out, "xb") as fh:
                fh.write(rewritten_copy(src.read_bytes(), k))
            st = src.stat()  # as old as the original: history, not files being written now
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
            written += 1
    return written


INPROC = r"""
import io, json, os, random, sys, time
sys.path.insert(0, sys.argv[1])
from bench_statusline import LiveSession, last_assistant
from pathlib import Path
transcript, stdin_path = Path(sys.argv[2]), sys.argv[3]
seed, calls = int(sys.argv[4]), int(sys.argv[5])
pauses = json.loads(sys.argv[6])
from ccspend.cli.fast import statusline
data = open(stdin_path).read()
live = LiveSession(transcript, last_assistant(transcript), seed)
live.append()
statusline.run(io.StringIO(data), io.StringIO())
out = []
for i in range(calls):
    time.sleep(pauses[i])
    live.append()
    buf = io.StringIO()
    t0 = time.perf_counter()
    statusline.run(io.StringIO(data), buf)
    out.append(time.perf_counter() - t0)
print(json.dumps({"seconds": out, "line": buf.getvalue().strip()}))
"""


def inproc_series(python: str, env: dict, transcript: Path, stdin_path: Path, seed: int,
                  calls: int, pauses: list[float]) -> dict:  # fmt: skip
    """The live regime in one process: ``statusline.run`` timed alone, no interpreter start."""
    p = subprocess.run(
        [python, "-c", INPROC, str(Path(__file__).parent), str(transcript), str(stdin_path),
         str(seed), str(calls), json.dumps(pauses[:calls])],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if p.returncode != 0:
        raise RunError(f"in-process series failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def ab_series(commands: dict[str, list[str]], envs: dict[str, dict], home: Path,
              stdin_path: Path, live: LiveSession, calls: int,
              pauses: list[float]) -> dict[str, list[float]]:  # fmt: skip
    """Several commands timed on the same new line: after each pause one line is
    appended and every command is called once, in an order that turns each time, so
    that the load of the moment weighs on all of them alike."""
    names = list(commands)
    out: dict[str, list[float]] = {n: [] for n in names}
    live.append()
    for n in names:
        measure_stdin(commands[n], envs[n], home, stdin_path)  # warm-up
    for i in range(calls):
        time.sleep(pauses[i])
        live.append()
        k = i % len(names)
        for n in names[k:] + names[:k]:
            out[n].append(measure_stdin(commands[n], envs[n], home, stdin_path)["seconds"])
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def scales_main(args: argparse.Namespace, live_calls: int) -> int:
    """``--scales``: the live regime at each history size, and the ratios."""
    corpus = args.corpus.resolve()
    venv = ensure_venv()
    ccspend = [str(venv / "bin" / "ccspend")]
    python = str(venv / "bin" / "python")
    original = largest_transcript(corpus)
    draw = random.Random(args.seed)
    pauses = [draw.uniform(*args.pause) for _ in range(live_calls)]
    results: list[dict] = []
    baseline = None
    if args.baseline_src:
        baseline = [str(ensure_venv(args.baseline_src.resolve()) / "bin" / "ccspend")]
    with tempfile.TemporaryDirectory(prefix="ccspend-bench-scales-") as t:
        tmp = Path(t)
        binary = None
        if not args.no_ccusage:
            binary = args.ccusage or bench_daily.install_ccusage(tmp / "anchor")
        for scale in args.scales:
            claude_dir = tmp / f"claude-{scale}"
            transcript, _copied = private_config(corpus, claude_dir, original)
            t0 = time.perf_counter()
            written = scale_project(transcript.parent, scale)
            files = sum(len(n) for _f, _d, n in os.walk(transcript.parent))
            mb = sum(os.path.getsize(os.path.join(f, x)) for f, _d, n in os.walk(claude_dir)
                     for x in n) / 1e6  # fmt: skip
            print(f"scale {scale}: {written} files rewritten ({time.perf_counter() - t0:.0f}s); "
                  f"the session's project folder holds {files} files, the history "
                  f"{mb:.0f} MB", flush=True)  # fmt: skip
            bench_daily.warm_page_cache(claude_dir)
            obj = status_input(transcript, time.time())
            template = last_assistant(transcript)
            stdin_path = tmp / f"statusline-{scale}.json"
            stdin_path.write_text(json.dumps(obj) + "\n")
            size = transcript.stat().st_size
            home = tmp / f"home-{scale}"
            env = tool_env(claude_dir, home)
            setup = bench_daily.measure(ccspend + ["daily"], env, home)
            bench_daily.measure(ccspend + ["statusline", "--refresh"], env, home)
            print(f"  ccspend daily {setup['seconds']:.0f}s", flush=True)
            row: dict = {"scale": scale, "files": files, "history_mb": round(mb)}
            notes: list[str] = []
            res = ccspend_series(
                "ccspend", ccspend + ["statusline"], env, home, stdin_path, live_calls,
                argparse.Namespace(rss_calls=0), None, notes,
                LiveSession(transcript, template, args.seed), pauses,
            )  # fmt: skip
            secs = [r["seconds"] for r in res["runs"]]
            row["wall"] = [pct(secs, 0.5) * 1000, pct(secs, 0.9) * 1000, os.getloadavg()[0]]
            row["line"] = first_line(res["runs"][-1]["stdout"])
            wait_for_refresh(Path(env["CCSPEND_DB"] + ".cache") / "statusline")
            env_in = dict(env, CCSPEND_NO_BACKGROUND="1")  # the refresh's CPU is not the call's
            inproc = inproc_series(python, env_in, transcript, stdin_path, args.seed + 1,
                                   live_calls, pauses)  # fmt: skip
            secs = inproc["seconds"]
            row["inproc"] = [pct(secs, 0.5) * 1000, pct(secs, 0.9) * 1000, os.getloadavg()[0]]
            os.truncate(transcript, size)
            home_cu = tmp / f"home-cu-{scale}"
            if args.no_ccusage:
                row["ccusage"] = [math.nan, math.nan, os.getloadavg()[0]]
            else:
                env_cu = tool_env(claude_dir, home_cu)
                res = live_series([str(binary), "statusline", "--offline"], env_cu, home_cu,
                                  stdin_path, live_calls, 0, None,
                                  LiveSession(transcript, template, args.seed), pauses)  # fmt: skip
                secs = [r["seconds"] for r in res["runs"]]
                row["ccusage"] = [pct(secs, 0.5) * 1000, pct(secs, 0.9) * 1000,
                                  os.getloadavg()[0]]  # fmt: skip
            if baseline is not None:
                # this ccspend, the baseline's and the bare interpreter on the same lines,
                # interleaved; no background refresh (it is the same code in both)
                os.truncate(transcript, size)
                commands = {"ab_new": ccspend + ["statusline"],
                            "ab_old": baseline + ["statusline"],
                            "ab_floor": [python, "-c", "pass"]}  # fmt: skip
                envs = {}
                for n in commands:
                    envs[n] = dict(tool_env(claude_dir, tmp / f"home-{n}-{scale}"),
                                   CCSPEND_NO_BACKGROUND="1")  # fmt: skip
                    if n != "ab_floor":
                        bench_daily.measure(commands[n][:1] + ["statusline", "--refresh"],
                                            envs[n], home)  # fmt: skip
                ab = ab_series(commands, envs, home, stdin_path,
                               LiveSession(transcript, template, args.seed), live_calls,
                               pauses)  # fmt: skip
                for n, secs in ab.items():
                    row[n] = [pct(secs, 0.5) * 1000, pct(secs, 0.9) * 1000, os.getloadavg()[0]]
            results.append(row)
            shutil.rmtree(claude_dir, ignore_errors=True)
            print(f"  done: {row}", flush=True)
    print()
    print(f"{os.cpu_count()} CPUs; live regime, {live_calls} calls per series, "
          f"{args.pause[0]:g}-{args.pause[1]:g} s apart; load1 after each series")  # fmt: skip
    print(f"{'':<34}" + "".join(f"{'x' + str(r['scale']) + ' p50':>10}{'p90':>8}{'load1':>7}"
                                for r in results))  # fmt: skip
    rows = [("ccspend statusline (wall ms)", "wall"),
            ("ccspend statusline.run (in-process ms)", "inproc"),
            ("ccusage statusline --offline (ms)", "ccusage")]
    if baseline is not None:
        rows += [("A/B, no refresh: this ccspend", "ab_new"),
                 ("A/B, no refresh: --baseline-src", "ab_old"),
                 ("A/B: python -c pass (floor)", "ab_floor")]  # fmt: skip
    for name, field in rows:
        print(f"{name:<34}" + "".join(f"{r[field][0]:>10.1f}{r[field][1]:>8.1f}{r[field][2]:>7.2f}"
                                      for r in results))  # fmt: skip
    if len(results) > 1:
        a, b = results[0], results[-1]
        for _name, field in rows:
            field_name = {"wall": "wall", "inproc": "in-process"}.get(field, field)
            print(f"ratio x{b['scale']}/x{a['scale']} {field_name:<11} "
                  f"p50 {b[field][0] / a[field][0]:.2f}  p90 {b[field][1] / a[field][1]:.2f}")
    for r in results:
        if "ab_old" in r:
            new, old = r["ab_new"], r["ab_old"]
            print(f"x{r['scale']}: this ccspend / baseline, A/B p50 {new[0] / old[0]:.2f}, "
                  f"p90 {new[1] / old[1]:.2f}")
        print(f"x{r['scale']}: {r['files']} files in the project folder, {r['history_mb']} MB "
              f"of history; last line: {r['line']}")  # fmt: skip
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


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


def live_series(
    argv: list[str],
    env: dict,
    workdir: Path,
    stdin_path: Path,
    calls: int,
    rss_calls: int,
    tbin: str | None,
    session: LiveSession,
    pauses: list[float],
    after_each=None,
) -> dict:
    """``series`` in a live session: each call follows a pause and one new transcript line."""
    session.append()
    warm = measure_stdin(argv, env, workdir, stdin_path)
    runs = []
    for i in range(calls):
        time.sleep(pauses[i])
        session.append()
        runs.append(measure_stdin(argv, env, workdir, stdin_path))
        if after_each is not None:
            after_each(runs[-1])
    rss = []
    for i in range(rss_calls if tbin else 0):
        time.sleep(pauses[calls + i])
        session.append()
        rss.append(true_rss(argv, env, workdir, stdin_path, tbin))
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
        "load1": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
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


def written_at(folder: Path) -> float | None:
    try:
        return json.loads((folder / "summary.json").read_text())["written_at"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ccspend_series(
    name: str,
    argv: list[str],
    env: dict,
    home: Path,
    stdin_path: Path,
    calls: int,
    args: argparse.Namespace,
    tbin: str | None,
    notes: list[str],
    live: LiveSession | None = None,
    pauses: list[float] | None = None,
) -> dict:
    """One ccspend regime; notes what its background refresh did meanwhile."""
    folder = Path(env["CCSPEND_DB"] + ".cache") / "statusline"
    busy: list[bool] = []
    seen: set[float] = set()

    def watch(_run: dict) -> None:
        busy.append((folder / "refresh.lock").exists())
        w = written_at(folder)
        if w is not None:
            seen.add(w)

    before = written_at(folder)
    if live is None:
        res = series(argv, env, home, stdin_path, calls, args.rss_calls, tbin, watch)
    else:
        res = live_series(
            argv, env, home, stdin_path, calls, args.rss_calls, tbin, live, pauses, watch
        )
    waited = wait_for_refresh(folder)
    after = written_at(folder)
    if after is not None:
        seen.add(after)
    seen.discard(before)
    if sum(busy):
        notes.append(
            f"{name}: a background refresh was running after {sum(busy)} of {len(busy)} timed calls"
        )
    if seen:
        notes.append(
            f"{name}: the summary was rewritten {len(seen)} times in the background "
            f"(waited {waited:.1f}s after the calls for the last refresh to end)"
        )
    distinct = {r["stdout"] for r in res["runs"]}
    if len(distinct) > 1:
        notes.append(f"{name}: the timed calls printed {len(distinct)} different lines")
    return res


def path_ccspend() -> list[str]:
    """The ``ccspend`` a shell finds: pyenv's shim when pyenv is in use.

    Run through pyenv's ``python`` shim, this script's PATH starts with the
    interpreter's own bin folder, so ``which`` alone would skip the shim.
    """
    root = os.environ.get("PYENV_ROOT")
    if root and os.access(os.path.join(root, "shims", "ccspend"), os.X_OK):
        return [os.path.join(root, "shims", "ccspend")]
    found = shutil.which("ccspend")
    return [found] if found else []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=bench_daily.DEFAULT_CORPUS)
    ap.add_argument(
        "--calls", type=int, default=30, help="back-to-back timed calls, after one warm-up call"
    )
    ap.add_argument(
        "--live-calls", type=int, help="live-session timed calls, after one warm-up (--calls)"
    )
    ap.add_argument(
        "--rss-calls",
        type=int,
        default=5,
        help="further calls per command under GNU time, for the child's own peak RSS",
    )
    ap.add_argument(
        "--pause", type=float, nargs=2, default=[0.3, 1.5], metavar=("MIN", "MAX"),
        help="seconds between live-session calls, drawn uniformly",
    )  # fmt: skip
    ap.add_argument("--seed", type=int, default=1, help="seed of the pauses and token counts")
    ap.add_argument(
        "--ccspend", metavar="CMD", help="time this command (default: a clean venv's ccspend)"
    )
    ap.add_argument(
        "--shim", metavar="CMD",
        help="also time this ccspend back to back (default: the one on PATH, pyenv's shim)",
    )  # fmt: skip
    ap.add_argument("--no-shim", action="store_true", help="do not time --shim")
    ap.add_argument(
        "--ccusage", type=bench_daily.ccusage_binary, metavar="BIN",
        help="use this ccusage binary instead of installing",
    )
    ap.add_argument(
        "--skip-uncached", action="store_true", help="do not time ccusage statusline --no-cache"
    )
    ap.add_argument("--json-out", type=Path, help="also write the results here as JSON")
    ap.add_argument(
        "--scales", type=int, nargs="+", metavar="N",
        help="only the live regime, at each history size (1: the corpus; 10: the session's "
        "project folder ten times larger), with the ratios",
    )  # fmt: skip
    ap.add_argument(
        "--baseline-src", type=Path, metavar="DIR",
        help="with --scales: also time the ccspend of this checkout (a clean venv of it), "
        "interleaved with this one and the bare interpreter, without the background refresh",
    )  # fmt: skip
    ap.add_argument("--no-ccusage", action="store_true", help="with --scales: leave ccusage out")
    ap.add_argument(
        "--history-db", type=Path, metavar="DB",
        help="start ccspend's database as a copy of this one (say bench_history.py's h200: "
        "200 periods of history kept only in the store), then ingest the corpus into it",
    )  # fmt: skip
    args = ap.parse_args(argv)
    live_calls = args.calls if args.live_calls is None else args.live_calls
    if args.calls < 1 or live_calls < 1:
        ap.error("--calls and --live-calls must be at least 1")
    if not 0 <= args.pause[0] <= args.pause[1]:
        ap.error("--pause MIN MAX: 0 <= MIN <= MAX")
    if args.scales:
        try:
            return scales_main(args, live_calls)
        except (RunError, VenvError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2

    corpus = args.corpus.resolve()
    tbin = gnu_time()
    if tbin is None:
        print("note: no GNU time here: peak RSS is os.wait4's, at least this script's own")

    rows: dict[str, dict] = {}
    lines: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ccspend-bench-sl-") as t:
        tmp = Path(t)
        try:
            if args.ccspend:
                ccspend = shlex.split(args.ccspend)
                floor_python = sys.executable
                if shutil.which(ccspend[0]) is None:
                    raise RunError(f"ccspend command not found: {ccspend[0]} (pass --ccspend)")
                label = "ccspend"
            else:
                try:
                    venv = ensure_venv()
                except VenvError as e:
                    raise RunError(f"cannot build the clean venv: {e}") from e
                ccspend = [str(venv / "bin" / "ccspend")]
                floor_python = str(venv / "bin" / "python")
                label = "ccspend (venv)"
                if wrapper_imports_re(venv):  # pip < 25's console script: ~10 ms more a call
                    notes.append("the venv's console script imports re (pip < 25 wrote it)")
            print(f"ccspend: {shlex.join(ccspend)}")

            original = largest_transcript(corpus)
            claude_dir = tmp / "claude"
            t0 = time.perf_counter()
            transcript, copied = private_config(corpus, claude_dir, original)
            how = f"{copied} files copied, the rest hard-linked" if copied else "hard links"
            print(
                f"private config dir {claude_dir}: {how}, the session transcript copied "
                f"({time.perf_counter() - t0:.1f}s)"
            )
            original_size = transcript.stat().st_size
            obj = status_input(transcript, time.time())
            template = last_assistant(transcript)
            stdin_path = tmp / "statusline.json"
            stdin_path.write_text(json.dumps(obj, indent=2) + "\n")
            print(f"transcript: {original} ({original_size / 1048576:.1f} MiB)")
            print(f"  session {obj['session_id']}, cwd {obj['cwd']}, model {obj['model']['id']}")
            draw = random.Random(args.seed)
            pauses = [
                draw.uniform(*args.pause) for _ in range(live_calls + args.rss_calls)
            ]  # the same pauses for both tools

            binary = args.ccusage or bench_daily.install_ccusage(tmp / "anchor")
            bench_daily.warm_page_cache(corpus)
            load_before = load_average()

            # ccspend: the database holds the history, the summary is written.
            home_sp = tmp / "home-ccspend"
            env_sp = tool_env(claude_dir, home_sp)
            if args.history_db:  # the history a user's store keeps after the logs are gone
                shutil.copyfile(args.history_db, env_sp["CCSPEND_DB"])
                notes.append(f"database started from {args.history_db} "
                             f"({args.history_db.stat().st_size / 1e6:.1f} MB)")
            print("ccspend daily (fills the database) ...", flush=True)
            setup = bench_daily.measure(ccspend + ["daily"], env_sp, home_sp)
            print(f"  {setup['seconds']:.2f}s")
            print("ccspend statusline --refresh ...", flush=True)
            refresh = bench_daily.measure(ccspend + ["statusline", "--refresh"], env_sp, home_sp)
            print(f"  {refresh['seconds']:.2f}s")
            if written_at(Path(env_sp["CCSPEND_DB"] + ".cache") / "statusline") is None:
                raise RunError(f"no summary after --refresh under {env_sp['CCSPEND_DB']}.cache")
            home_cu = tmp / "home-ccusage"
            env_cu = tool_env(claude_dir, home_cu)

            def record(name: str, res: dict) -> None:
                rows[name] = summarise(name, res)
                lines[name] = (
                    first_line(res["warm"]["stdout"]),
                    first_line(res["runs"][-1]["stdout"]),
                )

            # Back to back: the transcript unchanged between calls.
            name = f"{label} statusline"
            print(f"back to back: {name} 1+{args.calls} ...", flush=True)
            res = ccspend_series(
                name, ccspend + ["statusline"], env_sp, home_sp, stdin_path, args.calls,
                args, tbin, notes,
            )  # fmt: skip
            record(name, res)
            shim = [] if args.no_shim or args.ccspend else shlex.split(args.shim or "")
            if not shim:
                shim = [] if args.no_shim or args.ccspend else path_ccspend()
            if shim and shutil.which(shim[0]):
                name = "ccspend statusline (PATH)"
                print(f"back to back: {name} 1+{args.calls} ...", flush=True)
                # Without the variables pyenv's exec added to this script's environment,
                # so that the shim does its whole lookup, as from a user's shell.
                env_shim = {
                    k: v
                    for k, v in env_sp.items()
                    if k not in ("PYENV_VERSION", "PYENV_DIR", "PYENV_HOOK_PATH")
                    and k != "_PYENV_INSTALL_PREFIX"
                }
                res = ccspend_series(
                    name, shim + ["statusline"], env_shim, home_sp, stdin_path, args.calls,
                    args, tbin, notes,
                )  # fmt: skip
                record(name, res)
                notes.append(f"ccspend on PATH: {shlex.join(shim)}")
            variants = [("ccusage statusline --offline", ["--offline"])]
            if not args.skip_uncached:
                variants.append(("ccusage sl --offline --no-cache", ["--offline", "--no-cache"]))
            for name, opts in variants:
                print(f"back to back: {name} 1+{args.calls} ...", flush=True)
                argv_ = [str(binary), "statusline", *opts]
                record(
                    name,
                    series(argv_, env_cu, home_cu, stdin_path, args.calls, args.rss_calls, tbin),
                )
            # The floor under any Python command here: the interpreter, doing nothing.
            name = "python -c pass (floor)"
            res = series(
                [floor_python, "-c", "pass"], env_cu, home_cu, stdin_path, args.calls,
                args.rss_calls, tbin,
            )  # fmt: skip
            record(name, res)
            notes.append(f"floor interpreter: {floor_python}")

            # Live session: one new transcript line before each call, calls paced.
            name = f"{label} statusline [live]"
            print(f"live session: {name} 1+{live_calls} ...", flush=True)
            live = LiveSession(transcript, template, args.seed)
            # as a user's: its background refresh runs (the sandbox's env turns it off)
            env_live = {k: v for k, v in env_sp.items() if k != "CCSPEND_NO_BACKGROUND"}
            res = ccspend_series(
                name, ccspend + ["statusline"], env_live, home_sp, stdin_path, live_calls,
                args, tbin, notes, live, pauses,
            )  # fmt: skip
            record(name, res)
            os.truncate(transcript, original_size)  # ccusage sees the same lines appended
            name = "ccusage statusline --offline [live]"
            print(f"live session: {name} 1+{live_calls} ...", flush=True)
            live = LiveSession(transcript, template, args.seed)
            argv_ = [str(binary), "statusline", "--offline"]
            res = live_series(
                argv_, env_cu, home_cu, stdin_path, live_calls, args.rss_calls, tbin, live,
                pauses,
            )  # fmt: skip
            record(name, res)
            own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        except RunError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2

    print()
    print(
        f"{os.cpu_count()} CPUs, load average {load_before} before, {load_average()} "
        f"after (other work skews the timings; load1: the 1-minute figure after each series)"
    )
    print(
        f"{'':<38}{'calls':>6}{'median ms':>11}{'p90 ms':>9}{'min ms':>9}{'max ms':>9}"
        f"{'warm-up ms':>12}{'peak RSS MB':>13}{'wait4 MB':>10}{'load1':>7}"
    )
    for i, r in enumerate(rows.values()):
        if i == 0:
            print("back to back (transcript unchanged):")
        if r["name"].endswith("[live]") and "[live]" not in list(rows)[i - 1]:
            print(
                f"live session (a new line before each call, "
                f"{args.pause[0]:g}-{args.pause[1]:g} s apart):"
            )
        rss = f"{r['peak_rss_mb']:>13.1f}" if r["peak_rss_mb"] is not None else f"{'-':>13}"
        load1 = f"{r['load1']:>7.2f}" if r["load1"] is not None else f"{'-':>7}"
        print(
            f"  {r['name']:<36}{r['calls']:>6}{r['median_ms']:>11.1f}{r['p90_ms']:>9.1f}"
            f"{r['min_ms']:>9.1f}{r['max_ms']:>9.1f}{r['warmup_ms']:>12.0f}{rss}"
            f"{r['wait4_rss_mb']:>10.1f}{load1}"
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
        subagents = len(list((original.parent / original.stem).glob("subagents/*.jsonl")))
        print(
            f"truth.json, this session before any line was appended: ${truth:.2f} (its "
            f"{subagents} subagent transcripts included; Claude Code's own "
            f"cost.total_cost_usd in the input: ${obj['cost']['total_cost_usd']})"
        )
    for note in notes:
        print(f"note: {note}")

    names = list(rows)
    b2b, live_sp = rows[names[0]], rows[f"{label} statusline [live]"]
    cached = rows["ccusage statusline --offline"]
    live_cu = rows["ccusage statusline --offline [live]"]
    ours = [r for r in rows.values() if r["name"].startswith(label)]
    rss = max(r["peak_rss_mb"] if r["peak_rss_mb"] is not None else r["wait4_rss_mb"] for r in ours)
    ratio = live_sp["median_ms"] / live_cu["median_ms"]
    print()
    for tag, r in (("back to back", b2b), ("live session", live_sp)):
        print(
            f"ccspend median, {tag:<23}{r['median_ms']:8.1f} ms  (target <= "
            f"{TARGET_MEDIAN_MS:g})  {verdict(r['median_ms'] <= TARGET_MEDIAN_MS)}"
        )
    print(
        f"ccspend / ccusage median, live session {ratio:8.3f}     (target <= 1)  "
        f"{verdict(ratio <= 1)}   ({live_sp['median_ms']:.1f} ms vs "
        f"{live_cu['median_ms']:.1f} ms, the same input and transcript lines)"
    )
    print(
        f"  back to back, transcript unchanged: ccspend {b2b['median_ms']:.1f} ms vs ccusage "
        f"{cached['median_ms']:.1f} ms ({b2b['median_ms'] / cached['median_ms']:.0f}x slower): "
        f"a repeat with an unchanged transcript is answered from ccusage's own 1 s cache "
        f"of its last line, which no Python command can match (the interpreter's start "
        f"alone is {rows['python -c pass (floor)']['median_ms']:.1f} ms)"
    )
    if "ccusage sl --offline --no-cache" in rows:
        print(
            f"  ccusage without its cache, back to back: "
            f"{rows['ccusage sl --offline --no-cache']['median_ms']:.0f} ms"
        )
    print(
        f"ccspend peak RSS, both regimes       {rss:8.1f} MB  (target < {TARGET_RSS_MB:g})  "
        f"{verdict(rss < TARGET_RSS_MB)}"
    )
    floor = rows["python -c pass (floor)"]
    floor_rss = floor["peak_rss_mb"] if floor["peak_rss_mb"] is not None else floor["wait4_rss_mb"]
    print(
        f"  (floor, python -c pass: median {floor['median_ms']:.1f} ms, "
        f"peak RSS {floor_rss:.1f} MB)"
    )

    if args.json_out:
        results = {
            "corpus": str(corpus),
            "transcript": str(original),
            "ccspend": ccspend,
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "ccusage": bench_daily.CCUSAGE_VERSION,
            "pause_s": args.pause,
            "setup": {"daily_s": setup["seconds"], "refresh_s": refresh["seconds"]},
            "rows": list(rows.values()),
            "lines": lines,
            "session_truth_usd": truth,
            "notes": notes,
            "targets": {
                "median_ok_back_to_back": b2b["median_ms"] <= TARGET_MEDIAN_MS,
                "median_ok_live": live_sp["median_ms"] <= TARGET_MEDIAN_MS,
                "vs_ccusage_ok_live": ratio <= 1,
                "rss_ok": rss < TARGET_RSS_MB,
            },
        }
        args.json_out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
