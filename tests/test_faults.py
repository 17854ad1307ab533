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


def test_a_failed_webhook_is_not_recorded_as_sent_and_is_retried(sandbox, projects):
    """A local webhook that fails (503), then works: the next check sends the alert."""
    import http.server
    import threading
    from datetime import UTC, datetime
    from pathlib import Path

    from tests.conftest import cli, run_cli

    received, answers = [], [503]

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hooks/SECRET"
        cfg = Path(cli("config", "path").stdout.strip())
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(f"[budgets]\ndaily = 1\n[alerts]\ndesktop = false\nterminal = false\n"
                       f"webhook_url = {json.dumps(url)}\n")  # fmt: skip
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        write(projects / "p" / "s.jsonl", [assistant(ts=now, inp=600_000, out=0,
                                                     model="claude-haiku-4-5")])  # fmt: skip

        def channels():
            rows = json.loads(cli("budget", "alerts", "--json").stdout)["rows"]
            return sorted((r["level"], r["channels"]) for r in rows)

        first = run_cli("budget", "check")
        assert first.returncode == 0 and "webhook failed" in first.stderr, first.stderr
        assert "SECRET" not in first.stderr
        assert channels() == [(50, "webhook:pending")]
        second = run_cli("budget", "check")  # the webhook works again: sent now
        assert second.returncode == 0 and "0 alerts sent" in second.stdout, second.stderr
        assert channels() == [(50, "webhook")]
        assert run_cli("budget", "check").returncode == 0  # nothing pending: nothing sent
    finally:
        server.shutdown()
    assert [r["ccspend"]["level"] for r in received] == [50, 50]
    assert received[1]["text"].startswith("ccspend: daily budget at 50%")
