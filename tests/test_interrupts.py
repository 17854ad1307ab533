"""Ctrl-C or SIGTERM during an ingest (issue #15): one line, exit 130 or 143, no
temporary files left, and the next run exact.

Real processes: a cold ingest spread over parse workers (lowered thresholds make a
few megabytes do it), interrupted once its first batch of records is on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.logs import assistant, user, write

SMALL = {"CCSPEND_PARALLEL_MIN_BYTES": "1", "CCSPEND_BATCH_BYTES": str(64 << 10),
         "CCSPEND_FLUSH_BYTES": str(128 << 10)}  # fmt: skip


FILES, LINES = 40, 300  # 15 MB: parsed in jobs of 64 KiB, written every 128 KiB


def _corpus(projects, files: int = FILES, per_file: int = LINES) -> None:
    pad = "x" * 600  # tool results: most of a log's bytes carry no cost
    for f in range(files):
        lines = []
        for i in range(per_file):
            lines.append(user(pad))
            lines.append(assistant(msg=f"m{f}_{i}", req=f"r{f}_{i}", out=i + 1,
                                   ts=f"2026-09-{1 + f % 9:02d}T10:{i % 60:02d}:00Z"))  # fmt: skip
        write(projects / f"p{f % 4}" / f"s{f}.jsonl", lines)


def _env(sandbox, small: bool = False, **extra) -> dict:
    tmp = sandbox / "tmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, **(SMALL if small else {}), "TMPDIR": str(tmp), **extra}


def _ours(sandbox) -> list[str]:
    return sorted(p.name for p in (sandbox / "tmp").glob("ccspend-*"))


def _interrupt(sandbox, sig: int) -> subprocess.CompletedProcess:
    """Start a cold ``daily``, and signal it once a parse job's records are on disk."""
    proc = subprocess.Popen([sys.executable, "-m", "ccspend", "daily", "--json"],
                            env=_env(sandbox, small=True), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(d.is_dir() and any(d.iterdir()) for d in (sandbox / "tmp").glob("ccspend-ingest-*")):
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the ingest ended before it could be interrupted"
    workers = _children(proc.pid)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # a terminal's Ctrl-C reaches the whole group, workers too
    else:
        os.kill(proc.pid, sig)  # kill PID: the main process only
    out, err = proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_running, workers)):
        time.sleep(0.01)
    assert not any(map(_running, workers)), "a parse worker outlived its ingest"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.parametrize(("sig", "code", "said"), [
    (signal.SIGINT, 130, "ccspend: interrupted\n"),
    (signal.SIGTERM, 143, "ccspend: terminated\n"),
    (signal.SIGKILL, -9, ""),  # nothing to say: its workers die with it, silently
])  # fmt: skip
def test_an_interrupted_ingest_says_one_line_leaves_nothing_and_resumes_exactly(
        sandbox, projects, sig, code, said):  # fmt: skip
    _corpus(projects)
    done = _interrupt(sandbox, sig)
    assert (done.returncode, done.stderr) == (code, said)
    if sig != signal.SIGKILL:
        assert _ours(sandbox) == []
    again = subprocess.run([sys.executable, "-m", "ccspend", "daily", "--json"],
                           env=_env(sandbox), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    totals = json.loads(again.stdout)["totals"]  # every request once: none lost, none twice
    assert (totals["requests"], totals["output_tokens"]) == (FILES * LINES,
                                                             FILES * sum(range(1, LINES + 1)))
    assert _ours(sandbox) == []  # a killed run's folder: removed by the next


def test_temporary_folders_of_dead_processes_are_removed_at_the_next_run(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    tmp = sandbox / "tmp"
    tmp.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    for name in (f"ccspend-ingest-{gone}-abc", f"ccspend-codex-{gone}-abc",
                 f"ccspend-ingest-{os.getpid()}-live", "ccspend-ingest-oldstyle"):
        (tmp / name).mkdir()
        (tmp / name / "records.ndjson").write_bytes(b"{}\n" * 1000)
    old = time.time() - 2 * 86400
    os.utime(tmp / "ccspend-ingest-oldstyle", (old, old))
    done = subprocess.run([sys.executable, "-m", "ccspend", "daily"], env=_env(sandbox),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _ours(sandbox) == [f"ccspend-ingest-{os.getpid()}-live"]  # alive: left alone
