"""JSON reports run by the entry point without typer print exactly what the CLI prints."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import cli, run_cli
from tests.logs import assistant, user, write

CASES = [
    ("daily", "--json"),
    ("--json", "-z", "America/Los_Angeles"),
    ("weekly", "--json", "--breakdown"),
    ("monthly", "--json", "-b"),
    ("session", "--json", "--since", "2026-09-01", "--until=20260902"),
    ("model", "--json"),
    ("project", "--json", "--project", "/home/dev"),
    ("branch", "--branch", "main", "--json"),
    ("daily", "--json", "--timezone", "Not/AZone"),  # usage error: exit 2, one line
    ("daily", "--json", "--since", "2026-09-01", "--until", "2026-13-45"),  # not a date
    ("daily", "--json", "--claude-dir", "/nowhere"),  # no logs: a hint on stderr
    # tables: the same renderer, run without typer
    ("daily",),
    ("weekly", "--breakdown"),
    ("session", "--since", "2026-09-01"),
    ("model", "-z", "Asia/Kolkata"),
    ("branch", "--branch", "feature"),
    ("daily", "--claude-dir", "/nowhere"),
    ("monthly", "--timezone", "Not/AZone"),
]


def _logs(projects):
    write(
        projects / "p" / "s.jsonl",
        [
            user(session="s1", ts="2026-09-01T08:00:00Z"),
            assistant(session="s1", msg="m1", req="r1", ts="2026-09-01T08:00:05Z", out=3),
            assistant(session="s1", msg="m1", req="r1", ts="2026-09-01T08:00:06Z", out=300),
            assistant(session="s1", msg="m2", req="r2", ts="2026-09-02T23:30:00Z",
                      model="claude-opus-4-1-20250805", cache_write=5000, w1h=1000),
            assistant(session="s1", msg="m3", req="r3", ts="2026-09-03T01:00:00Z",
                      model="acme-coder-2", branch="feature"),
        ],
    )  # fmt: skip
    (projects / "p" / "bad.jsonl").write_text('{"type":"assistant","usage" broken}\n')


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_the_entry_point_prints_what_the_cli_prints(sandbox, projects, args):
    """The entry point in a process of its own; the typer CLI (the reference) in this one."""
    _logs(projects)
    env = {"CCSPEND_NO_CACHE": "1"}
    fast = run_cli(*args, "--db", str(sandbox / "fast.duckdb"), env=env)
    full = cli(*args, "--db", str(sandbox / "full.duckdb"), env=env)
    assert (fast.returncode, fast.stdout, fast.stderr) == (full.returncode, full.stdout,
                                                           full.stderr)  # fmt: skip
    assert fast.stdout or fast.stderr


def test_a_cold_report_never_imports_typer_and_forks_before_duckdb(sandbox, projects):
    _logs(projects)
    code = (
        "import sys, multiprocessing.context as c\n"
        "seen = []\n"
        "real = c.ForkProcess._Popen\n"
        "def popen(p):\n"
        "    seen.append(bool({'duckdb', '_duckdb', 'pydantic'} & set(sys.modules)))\n"
        "    return real(p)\n"
        "c.ForkProcess._Popen = staticmethod(popen)\n"
        "import os\n"
        "os.cpu_count = lambda: 2\n"
        # The entry point ends without teardown: let finally run, in this process only.
        # A forked parse worker ends with os._exit too; were it to raise SystemExit,
        # it would unwind into the copy of this script's stack and print here as well.
        "main_pid, real_exit = os.getpid(), os._exit\n"
        "os._exit = lambda n: sys.exit(n) if os.getpid() == main_pid else real_exit(n)\n"
        "import ccspend.ingest.claude as i\n"
        "i.PARALLEL_MIN_BYTES = 0\n"
        "i.BATCH_BYTES = 1\n"
        "sys.argv = ['ccspend', 'daily', '--json']\n"
        "from ccspend.cli.fast.entry import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print(sorted(set(seen)), 'typer' in sys.modules, '_duckdb' in sys.modules,\n"
        "          'duckdb' in sys.modules,  # the engine only, not the package's Python layer\n"
        "          file=sys.stderr)\n"
    )
    write(projects / "q" / "t.jsonl", [assistant(msg="m9", req="r9")])
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "[False] False True False"
    assert '"requests": 4' in r.stdout


def test_a_bad_rate_card_fails_after_the_ingest_as_before(sandbox, projects):
    _logs(projects)
    cfg = sandbox / "config"
    cfg.mkdir()
    (cfg / "rates.toml").write_text("[[model]]\nname = 3\n")
    r = run_cli("daily", "--json")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("ccspend: error: ") and len(r.stderr.splitlines()) == 1
    (cfg / "rates.toml").unlink()
    ok = run_cli("daily", "--json", "--no-ingest")  # the logs were read all the same
    assert ok.returncode == 0 and '"requests": 3' in ok.stdout


def test_a_closed_stdout_is_one_error_line_not_a_traceback(sandbox, projects):
    """The entry point ends a report with os._exit after flushing; with no stdout at all
    (``>&-``) the flush fails, and the ordinary exit reports it."""
    _logs(projects)
    r = subprocess.run(f"'{sys.executable}' -m ccspend daily --json >&-", shell=True,
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode != 0
    assert "Traceback" not in r.stderr


def test_a_table_report_runs_without_typer(sandbox, projects):
    _logs(projects)
    code = (
        "import os, sys\n"
        "os._exit = sys.exit  # let finally run\n"
        "sys.argv = ['ccspend', 'weekly', '--breakdown']\n"
        "from ccspend.cli.fast.entry import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print('typer' in sys.modules, 'rich.table' in sys.modules, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "False True"
    assert "Total" in r.stdout or "TOTAL" in r.stdout.upper()
