"""``ccspend watch`` as a person sees it: in a real terminal (tmux) at 80 and 120 columns,
while an agent writes its log. Skipped, saying why, where tmux is missing."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.logs import append, assistant, write

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install "
                                "tmux): the live view is checked in a real terminal")  # fmt: skip

PROJECT = "/home/dev/a-project-with-a-rather-long-name/and/a/deep/folder/inside/it"
FORECAST = re.compile(
    r"5-hour block \(estimated\): \S+ of 19\.0k, exceeded at \d\d:\d\d; burning \S+ over the "
    r"last 30 min\. Source: plan pro: Claude-Code-Usage-Monitor's plan estimates \(not "
    r"published by Anthropic\)"
)


def stamp(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _tmux(sock: str, *args: str) -> str:
    return subprocess.run([TMUX, "-L", sock, *args], capture_output=True, text=True,
                          timeout=10, check=False).stdout  # fmt: skip


def _screen_until(sock: str, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux(sock, "capture-pane", "-p", "-t", "watch")
        if needle in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never showed:\n{screen}")


@pytest.mark.parametrize("width", [80, 120])
def test_watch_fits_the_terminal_while_an_agent_writes(sandbox, projects, width):
    now = datetime.now(UTC)
    log = write(projects / "p" / "s.jsonl", [
        assistant(msg="m0", ts=stamp(now - timedelta(minutes=20)), inp=30_000, out=0,
                  cwd=PROJECT, model="claude-haiku-4-5"),
    ])  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    command = shlex.join([sys.executable, "-m", "ccspend", "watch", "-z", "UTC", "--limit",
                          "pro", "--db", str(sandbox / "w.duckdb")])  # fmt: skip
    sock = f"ccspend-test-{os.getpid()}-{width}"
    subprocess.run([TMUX, "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "watch",
                    "-x", str(width), "-y", "40", command], env=env, check=True,
                   timeout=10)  # fmt: skip
    try:
        _screen_until(sock, "today: $0.03")  # haiku 4.5: $1 per million input tokens
        for i in range(1, 6):  # an agent at work: a line now and then
            append(log, [assistant(msg=f"m{i}", ts=stamp(datetime.now(UTC)), inp=10_000, out=0,
                                   cwd=PROJECT, model="claude-haiku-4-5")])  # fmt: skip
            time.sleep(0.3)
        screen = _screen_until(sock, "today: $0.08")
    finally:
        _tmux(sock, "kill-server")
    lines = screen.splitlines()
    too_wide = [ln for ln in lines if len(ln) > width]
    assert not too_wide, screen
    inside = [ln.strip("│ ") for ln in lines if ln.startswith("│")]
    text = " ".join(ln for ln in inside if ln and "━" not in ln)
    assert FORECAST.search(text), screen  # the whole sentence, however it wrapped
    bars = [ln for ln in inside if "━" in ln]
    assert bars and all(re.fullmatch(r"━+ +\d+%", b) for b in bars), screen  # nothing else on it
    assert "live sessions (active in the last hour)" in [ln.strip() for ln in lines], screen
    assert "a-project-with" in screen
