"""Faults during an ingest: a full disk, a read-only database (issue #15).

The error that reaches the user names the system's error (ENOSPC, EFBIG, EACCES),
in one line, without a traceback; the store stays consistent, so the next run
gives the exact answer. Real subprocesses, real files: a full disk is a file size
limit (``RLIMIT_FSIZE``, with SIGXFSZ ignored, so a write fails with EFBIG), a
read-only database is a file without write permission (as root, run without the
capability that overrides it).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest

from tests.logs import assistant, write


def _logs(projects, n: int = 3000) -> None:
    for s in range(3):
        write(projects / f"p{s}" / f"s{s}.jsonl",
              [assistant(msg=f"m{s}_{i}", req=f"r{s}_{i}", ts=f"2026-09-0{1 + i % 7}T10:00:00Z",
                         inp=i, out=i + 1) for i in range(n)])  # fmt: skip


def _run(*args: str, limit: int | None = None, prefix: list[str] | None = None):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([*(prefix or []), sys.executable, "-m", "ccspend", *args],
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=preexec if limit else None)  # fmt: skip


@pytest.mark.parametrize("limit", [64 << 10, 1 << 20])
def test_a_full_disk_is_named_and_the_next_run_is_exact(sandbox, projects, limit):
    """At 64 KiB the database cannot grow; at 1 MiB the parse's records file fills
    first, or the commit's write-ahead log: each names EFBIG, and ROLLBACK's own error
    ("no transaction is active") no longer hides it."""
    _logs(projects)
    failed = _run("daily", "--json", limit=limit)
    assert failed.returncode == 1, failed.stderr
    assert "(EFBIG)" in failed.stderr and "File too large" in failed.stderr
    assert failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr
    again = _run("daily", "--json")
    assert again.returncode == 0, again.stderr
    os.environ["CCSPEND_DB"] = str(sandbox / "clean.duckdb")
    clean = _run("daily", "--json")
    assert json.loads(again.stdout)["totals"] == json.loads(clean.stdout)["totals"]
    assert json.loads(clean.stdout)["totals"]["output_tokens"] == 3 * sum(
        i + 1 for i in range(3000))


def _without_root_powers() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root ignores file permissions, and setpriv is not here to drop that")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_a_read_only_database_is_named_with_eacces(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    assert _run("daily").returncode == 0
    write(projects / "p" / "s.jsonl", [assistant(), assistant(msg="m2")])
    db = sandbox / "data" / "ccspend.duckdb"
    db.chmod(0o400)
    done = _run("daily", prefix=_without_root_powers())
    assert done.returncode == 1, done.stderr
    assert "(EACCES)" in done.stderr and str(db) in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_an_unreadable_project_folder_is_named_in_a_warning(sandbox, projects):
    """As an unreadable file already is: its spend is missing, and the report says where."""
    write(projects / "ok" / "s.jsonl", [assistant()])
    locked = projects / "locked"
    write(locked / "s.jsonl", [assistant(msg="m2")])
    locked.chmod(0o000)
    try:
        done = _run("daily", prefix=_without_root_powers())
    finally:
        locked.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert f"could not read 1 log files or folders: {locked} (Permission denied)" in done.stderr
