"""Every test runs in a sandbox: no test reads the real home's logs, settings or data."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ccspend.pricing import load_card
from ccspend.store import Store

REPO = Path(__file__).resolve().parent.parent

# A test run started in the background of a non-interactive shell inherits SIGINT
# ignored, and so would every ccspend the tests start (an ignored signal stays
# ignored across exec): the Ctrl-C tests would wait for a process that cannot hear
# them. With a handler here, each child starts with the default, as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def card_cache(tmp_path_factory) -> Path:
    """One rate card cache for the whole run: it is keyed on every file the card is made
    of, so sharing it is safe, and each ccspend process is spared rebuilding it."""
    return tmp_path_factory.mktemp("card") / "rate-card.pickle"


@pytest.fixture(autouse=True)
def sandbox(tmp_path, monkeypatch, card_cache):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    monkeypatch.setenv("CCSPEND_DB", str(tmp_path / "data" / "ccspend.duckdb"))
    monkeypatch.setenv("CCSPEND_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("CCSPEND_LOCK_TIMEOUT", raising=False)
    # no agent's own logs either: each agent's place is under the sandbox's HOME
    for var in ("CODEX_HOME", "GEMINI_CLI_HOME", "GEMINI_DATA_DIR", "QWEN_RUNTIME_DIR",
                "QWEN_DATA_DIR", "KIMI_SHARE_DIR", "KIMI_DATA_DIR",
                # agents-files (#19)
                "COPILOT_OTEL_FILE_EXPORTER_PATH", "AMP_DATA_DIR", "PI_CODING_AGENT_DIR",
                "PI_CODING_AGENT_SESSION_DIR", "PI_AGENT_DIR", "OPENCLAW_DIR",
                "CODEBUFF_DATA_DIR", "DROID_SESSIONS_DIR"):
        monkeypatch.delenv(var, raising=False)
    # no status-line refresh left running in the background: tests refresh by hand
    monkeypatch.setenv("CCSPEND_NO_BACKGROUND", "1")
    monkeypatch.setenv("CCSPEND_CARD_CACHE", str(card_cache))
    return tmp_path


@pytest.fixture
def projects(sandbox) -> Path:
    """The ``projects`` folder of the sandbox's Claude config dir."""
    p = sandbox / "claude" / "projects"
    p.mkdir(parents=True)
    return p


@pytest.fixture
def store(sandbox) -> Store:
    return Store(sandbox / "data" / "ccspend.duckdb")


@pytest.fixture(scope="session")
def card():
    return load_card()


def run_cli(*args: str, env: dict | None = None, cwd: str | None = None, timeout: float = 60):
    """Run the real ``ccspend`` in a subprocess, with the sandbox's environment."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "ccspend", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


@functools.cache
def _command():
    """The CLI's click command, built once: typer builds it anew on each call (~90 ms)."""
    import typer.main

    from ccspend.cli import app

    return typer.main.get_command(app)


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``ccspend ARGS`` run by the full CLI (typer) in this process, with the sandbox's
    environment: returncode, stdout and stderr, as ``run_cli`` gives them.

    For setup (an import, a budget) and for the data a command prints, where the
    process itself is not what a test checks: each ccspend process costs about
    0.4 s of CPU in imports. Exit codes, messages and the entry point's fast
    paths are checked with ``run_cli``. Not for ``run`` (it sets signal handlers).
    """
    import contextlib
    import io

    from ccspend.cli import main

    assert args[:1] != ("run",), "ccspend run changes signal handlers: use run_cli"
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in env or {}}
    argv, code = sys.argv, 0
    try:
        os.environ.update(env or {})
        sys.argv = ["ccspend", *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args), command=_command())
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        sys.argv = argv
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(["ccspend", *args], code, out.getvalue(), err.getvalue())


def read_pty(fd: int, needle: bytes | None = None, timeout: float = 30) -> tuple[bool, bytes]:
    """Read a pseudo-terminal until ``needle`` shows (True), or it closes or times out."""
    import select
    import time

    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if needle is not None and needle in out:
            return True, out
    return needle is None, out


def report_json(name: str = "daily", *args: str) -> dict:
    """A report's JSON, computed in this process after an ingest of the sandbox's logs.

    What ``ccspend NAME --json`` prints, for tests whose subject is the numbers
    rather than the command line (each ccspend process costs a third of a second
    of imports). Takes ``--source``, ``--since``, ``--until`` and ``-z``/``--timezone``.
    """
    from ccspend.core import paths
    from ccspend.ingest.logs import ingest_logs
    from ccspend.pricing import load_card
    from ccspend.reports.build import ReportRequest, build_report
    from ccspend.reports.options import parse_day, source_filter
    from ccspend.store import Store
    from ccspend.store.queries import Filters

    opts = dict(zip(args[::2], args[1::2], strict=True))
    tz = opts.pop("-z", None) or opts.pop("--timezone", None) or "UTC"
    source = source_filter(opts.pop("--source", None))
    since, until = opts.pop("--since", None), opts.pop("--until", None)
    logs = opts.pop("--logs", None)
    assert not opts, f"report_json does not take {sorted(opts)}"
    store = Store(paths.default_db_path())
    from ccspend.sources.agents import parse_logs

    ingest_logs(store, paths.claude_project_roots(), False, logs=parse_logs([logs] if logs else []))
    card = load_card(paths.rate_overrides_path())
    filters = Filters(tz=tz, source=source, since=since and parse_day(since),
                      until=until and parse_day(until))  # fmt: skip
    return build_report(store, card, ReportRequest(name, filters)).to_json()
