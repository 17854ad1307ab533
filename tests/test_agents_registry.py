"""The agents' registry and the one ingest front end of file agents: what is read, from where,
and that an agent which is not installed costs nothing (no import of its reader)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from ccspend.sources import agents
from tests.conftest import report_json, run_cli
from tests.test_codex_ingest import ROLLOUTS, expected_tokens


def test_every_agent_is_well_formed():
    seen = set()
    for a in agents.AGENTS:
        assert a.name not in seen and a.name == a.name.lower()
        seen.add(a.name)
        assert a.kind in ("files", "sqlite") and a.label and a.exactness
        assert a.module.startswith("ccspend.sources.")
        assert a.env or a.homes  # something to find it by without importing it
    assert "codex" in seen


def test_an_agent_not_installed_is_not_imported(sandbox, projects):
    """A report with no agent's home in place imports no reader but Claude Code's."""
    code = (
        "import sys\n"
        "from ccspend.core import paths\n"
        "from ccspend.ingest.logs import ingest_logs\n"
        "from ccspend.store import Store\n"
        "ingest_logs(Store(paths.default_db_path()), paths.claude_project_roots(), False)\n"
        "from ccspend.sources import agents\n"
        "print(sorted(a.name for a in agents.AGENTS if a.module in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    (sandbox / "home" / ".codex").mkdir()  # now Codex is installed: its reader is used
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "['codex']", r.stderr


def test_logs_points_an_agent_at_a_folder(sandbox):
    folder = sandbox / "elsewhere" / "2026" / "09" / "01"
    folder.mkdir(parents=True)
    for path in ROLLOUTS:
        shutil.copy(path, folder / path.name.removeprefix("codex_"))
    assert report_json("daily", "--source", "codex")["rows"] == []  # not in Codex's place
    got = report_json("daily", "--source", "codex", "--logs", f"codex={sandbox / 'elsewhere'}")
    assert got["totals"]["total_tokens"] == expected_tokens(folder) > 0


def test_logs_is_checked_before_any_work(sandbox):
    for value, says in (("nope=/tmp", "no agent 'nope'"), ("codex", "AGENT=PATH"),
                        (f"codex={sandbox}/missing", "no such file or folder")):
        r = run_cli("daily", "--json", "--logs", value)
        assert r.returncode == 2, (value, r.stderr)
        assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr


def test_a_cached_answer_sees_a_new_agent_log(sandbox, projects):
    """An agent's files join the answer cache's fingerprint: a new rollout is not missed."""
    root = sandbox / "home" / ".codex" / "sessions" / "2026" / "09" / "01"
    root.mkdir(parents=True)
    shutil.copy(ROLLOUTS[0], root / ROLLOUTS[0].name.removeprefix("codex_"))
    first = run_cli("daily", "--json")
    assert first.returncode == 0, first.stderr
    assert run_cli("daily", "--json").stdout == first.stdout
    shutil.copy(ROLLOUTS[1], root / ROLLOUTS[1].name.removeprefix("codex_"))
    second = json.loads(run_cli("daily", "--json").stdout)
    assert second["totals"]["total_tokens"] > json.loads(first.stdout)["totals"]["total_tokens"]


def test_a_sqlite_agent_without_its_ingest_module_is_skipped(sandbox, monkeypatch, projects):
    """The SQLite agents' ingest (``ingest.agent_db``) is another module: until it exists, a
    registered SQLite agent is skipped, never an error; once it does, it is called."""
    from ccspend.ingest import logs as ingest_logs_module

    fake = agents.Agent("fakedb", "Fake DB", "tests.test_agents_registry", "sqlite", "test",
                        env=(), homes=(".fakedb",))
    (sandbox / "home" / ".fakedb").mkdir()
    monkeypatch.setattr(agents, "AGENTS", (*agents.AGENTS, fake))
    monkeypatch.setitem(sys.modules, "ccspend.ingest.agent_db", None)  # import fails
    report_json("daily")  # no error
    calls = []

    class FakeModule:
        @staticmethod
        def ingest_agent_db(store, agent, roots):
            calls.append((agent.name, roots))
            from ccspend.ingest.claude import IngestReport

            return IngestReport(roots=roots)

    monkeypatch.setitem(sys.modules, "ccspend.ingest.agent_db", FakeModule)
    report_json("daily")
    assert calls == [("fakedb", [Path(sandbox / "home" / ".fakedb")])]
    assert ingest_logs_module  # imported above: the module under test


def default_roots(env, home):
    """The fake SQLite agent's roots (this module stands in for its reader)."""
    return [home / ".fakedb"]


def discover(roots):
    return iter(())
