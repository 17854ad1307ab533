"""Nothing from a log reaches the terminal as a control character or as rich markup.

Every field a log can carry (model, cwd, branch, session id, agent type, file name,
version, entrypoint) holds escape sequences here; every command's stdout and stderr
(NO_COLOR and not a terminal, so ccspend itself styles nothing) must then hold no
ESC, BEL, C1 or bidi control, and the values must show escaped (``\\x1b``)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccspend.core.text import inert
from tests.conftest import run_cli
from tests.logs import assistant, user, write

# a screen clear, a window title, an OSC 52 clipboard write, a C1 CSI, a bidi override,
# a forged line and rich markup
EVIL = ("\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x9b31m\u202e\r\n"
        "[red]x[/red][link=http://e.example]y[/link]")
FORBIDDEN = ["\x1b", "\x07", "\x9b", "\x9d", "\x90", "\u202e", "\r", "\x08"]
FAKE = str(Path(__file__).with_name("fake_agent.py"))


def stamp(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def clean(text: str) -> list[str]:
    return [repr(c) for c in FORBIDDEN if c in text]


@pytest.fixture
def evil_logs(projects) -> Path:
    now = stamp(datetime.now(UTC))
    session = "s\x1b]0;t\x07" + EVIL
    folder = projects / ("-evil-\x1b[2J" + "\x9b1m")
    t = write(folder / f"sess\x1b[2J{chr(0x9b)}.jsonl", [
        user(session=session, ts=now),
        assistant(session=session, ts=now, msg="a", req="ra", model="claude-" + EVIL,
                  cwd="/home/\x1b]0;t\x07/" + EVIL, branch="b\x1b[31m" + EVIL,
                  version="2\x1b[2J" + EVIL, entrypoint="cli\x1b[2J" + EVIL),
        assistant(session=session, ts=now, msg="b", req="rb", model="claude-haiku-4-5",
                  cwd="/home/\x1b]0;t\x07/" + EVIL, branch="b\x1b[31m" + EVIL),
    ])
    sub = folder / t.stem / "subagents"
    write(sub / "agent-e1\x1b[2J.jsonl", [
        assistant(session=session, ts=now, msg="c", req="rc", model="claude-haiku-4-5",
                  sidechain=True, agent_id="e1\x1b[2J", cwd="/x" + EVIL),
    ])
    (sub / "agent-e1\x1b[2J.meta.json").write_text(json.dumps({"agentType": "Ex" + EVIL}))
    return t


def test_inert_escapes_controls_and_keeps_unicode():
    assert inert("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert inert("\x9b\x07\x7f\n\t") == "\\x9b\\x07\\x7f\\x0a\\x09"
    assert inert("r\u202eeversed \u2066x\u2069") == "r\\u202eeversed \\u2066x\\u2069"
    assert inert("\ud800") == "\\ud800"  # a lone surrogate from JSON cannot even be encoded
    assert inert("café ✓ 日本 👍 [red]x[/red]") == "café ✓ 日本 👍 [red]x[/red]"
    assert inert(3) == "3"


REPORTS = ["daily", "weekly", "monthly", "session", "model", "project", "branch", "blocks",
           "source"]


@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("extra", [(), ("--breakdown",)])
def test_reports_show_log_fields_inert(evil_logs, name, extra):
    if name == "blocks" and extra:
        extra = ("--recent",)  # blocks has no breakdown
    r = run_cli(name, *extra, env={"COLUMNS": "400"})  # wide enough to shorten no name
    assert r.returncode == 0, r.stderr
    assert not clean(r.stdout + r.stderr), (r.stdout + r.stderr)[-3000:]
    assert "Traceback" not in r.stderr
    if name in ("model", "project", "branch", "session"):
        # the value is there, escaped; rich markup in it was not interpreted
        assert "\\x1b" in r.stdout and "[red]x" in r.stdout, r.stdout


def test_chart_and_html_report_are_inert(evil_logs, sandbox):
    r = run_cli("daily", "--breakdown", "--chart")
    assert r.returncode == 0, r.stderr
    assert not clean(r.stdout + r.stderr) and "[red]x" in r.stdout, r.stdout
    # the JSON report escapes every control character (\\u001b), so it is inert too
    r = run_cli("model", "--json")
    assert r.returncode == 0 and not clean(r.stdout + r.stderr)
    assert any("\x1b" in row["key"] for row in json.loads(r.stdout)["rows"])


@pytest.mark.parametrize("fmt", [(), ("--csv",), ("--json",)])
def test_sql_output_is_inert(evil_logs, fmt):
    r = run_cli("sql", "select r.model, r.cwd, r.git_branch, r.session_id, r.version, "
                "r.entrypoint, r.agent_id, f.path, f.agent_type from requests r "
                "join files f using (file_id) order by r.ts, r.line_offset", *fmt)
    assert r.returncode == 0, r.stderr
    assert not clean(r.stdout + r.stderr), r.stdout[-3000:]
    assert "\\x1b" in r.stdout or "\\u001b" in r.stdout
    if fmt == ("--json",):
        # JSON escapes every control character (\u001b); the data itself is intact
        assert any("\x1b" in row["model"] for row in json.loads(r.stdout)["rows"])


def test_an_error_that_quotes_a_value_is_inert(sandbox):
    r = run_cli("daily", "--since", "2026\x1b[2J\x9b31m")
    assert r.returncode != 0 and "\\x1b" in r.stderr and not clean(r.stdout + r.stderr)
    r = run_cli("sql", "select '\x1b[2J' || chr(155) || '\u202e' as x")
    assert r.returncode == 0 and not clean(r.stdout + r.stderr), r.stdout


def test_status_line_shows_the_model_name_inert(evil_logs, sandbox):
    payload = {"session_id": "x", "transcript_path": str(evil_logs),
               "model": {"display_name": "Opus" + EVIL}}
    r = subprocess.run([sys.executable, "-m", "ccspend", "statusline"], input=json.dumps(payload),
                       capture_output=True, text=True, env=dict(os.environ), timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("Opus\\x1b"), r.stdout
    assert not clean(r.stdout + r.stderr) and "\n" not in r.stdout.rstrip("\n")


def test_watch_frame_is_inert(evil_logs, store, card, projects):
    from rich.console import Console

    from ccspend.cli.render import live_view
    from ccspend.ingest.claude import ingest_claude
    from ccspend.live.watch import take

    ingest_claude(store, [projects])
    snap = take(store, card, "UTC", datetime.now(UTC).timestamp() + 1)
    assert snap.sessions
    out = io.StringIO()
    Console(file=out, width=120, color_system=None, force_terminal=False).print(
        live_view(snap, "UTC", [projects / "\x1b[2J"]))
    assert not clean(out.getvalue()), out.getvalue()


def test_run_json_and_its_notices_are_inert(sandbox):
    cwd = str(sandbox / "w")
    os.makedirs(cwd)
    r = run_cli("run", "--cap", "5", "--json", "--task", "t\x1b[2J", "--", sys.executable,
                FAKE, "--config", str(sandbox / "claude"), "--cwd", cwd, "--lines", "2",
                "--every", "0.05", "--usd-per-line", "0.01", "--session", "z\x1b]0;t\x07")
    assert not clean(r.stdout + r.stderr), (r.stdout + r.stderr)[-3000:]
    r = run_cli("runs")
    assert r.returncode == 0 and not clean(r.stdout + r.stderr), r.stdout
