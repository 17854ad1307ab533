"""The live view: a snapshot that is right, and a screen that follows the logs."""

import contextlib
import os
import pty
import sys
import time
from datetime import UTC, datetime

from ccspend.ingest.claude import ingest_claude
from ccspend.live.watch import sparkline, take
from tests.conftest import read_pty
from tests.logs import append, assistant, write


def stamp(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def test_snapshot_has_today_the_block_sessions_and_the_last_hour(store, card, projects):
    now = datetime.now(UTC)
    write(projects / "p" / "s.jsonl", [
        assistant(session="s1", msg="a", ts=stamp(now), inp=1_000_000, out=0,
                  model="claude-haiku-4-5"),
    ])
    ingest_claude(store, [projects])
    snap = take(store, card, "UTC", now.timestamp() + 1)
    assert abs(snap.today_cost_usd - 1.0) < 1e-9
    assert snap.block is not None and snap.block["active"]
    assert snap.sessions[0][0] == "s1"
    assert sum(snap.minutes) == snap.today_cost_usd and len(snap.minutes) == 60


def test_sparkline_scales_and_handles_zero():
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([0, 1, 2]) == "▁▅█"


def test_watch_redraws_within_a_second_of_a_new_line_and_quits_on_ctrl_c(sandbox, projects):
    now = datetime.now(UTC)
    f = write(projects / "p" / "s.jsonl", [
        assistant(msg="a", ts=stamp(now), inp=1_000_000, out=0, model="claude-haiku-4-5"),
    ])
    pid, fd = pty.fork()
    if pid == 0:
        env = dict(os.environ, COLUMNS="100", LINES="40")
        os.execve(sys.executable, [sys.executable, "-m", "ccspend", "watch", "-z", "UTC"], env)
    try:
        ok, out = read_pty(fd, b"today: $1.00", 20)
        assert ok, out[-2000:]
        time.sleep(0.5)
        append(f, [assistant(msg="b", ts=stamp(now), inp=2_000_000, out=0,
                             model="claude-haiku-4-5")])
        t = time.monotonic()
        ok, out = read_pty(fd, b"today: $3.00", 5)
        assert ok, out[-2000:]
        assert time.monotonic() - t < 1.5
        os.kill(pid, 2)  # Ctrl-C
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
