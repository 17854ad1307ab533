"""Where logs are looked for: CLAUDE_CONFIG_DIR (comma-separated), else both defaults."""

import json

from ccspend import paths
from tests.conftest import run_cli
from tests.logs import assistant, write


def test_claude_config_dir_takes_several_dirs(sandbox, monkeypatch):
    a, b = sandbox / "a", sandbox / "b"
    write(a / "projects" / "p" / "s.jsonl", [assistant(msg="x")])
    write(b / "projects" / "p" / "s.jsonl", [assistant(msg="y")])
    r = run_cli("daily", "--json", env={"CLAUDE_CONFIG_DIR": f"{a}, {b}"})
    assert json.loads(r.stdout)["totals"]["requests"] == 2


def test_without_the_variable_both_default_dirs_are_read(sandbox, monkeypatch):
    home = sandbox / "home"
    write(home / ".claude" / "projects" / "p" / "s.jsonl", [assistant(msg="x")])
    write(home / ".config" / "claude" / "projects" / "p" / "s.jsonl", [assistant(msg="y")])
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    assert paths.claude_project_roots() == [
        home / ".config" / "claude" / "projects",
        home / ".claude" / "projects",
    ]
    env = {k: v for k, v in __import__("os").environ.items() if k != "CLAUDE_CONFIG_DIR"}
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "ccspend", "--json"], env=env,
                       capture_output=True, text=True)
    assert json.loads(r.stdout)["totals"]["requests"] == 2


def test_claude_dir_option_overrides_and_repeats(sandbox):
    a, b = sandbox / "a", sandbox / "b"
    write(a / "projects" / "p" / "s.jsonl", [assistant(msg="x")])
    write(b / "p" / "s.jsonl", [assistant(msg="y")])  # a projects dir given directly
    r = run_cli("daily", "--json", "--claude-dir", str(a), "--claude-dir", str(b))
    assert json.loads(r.stdout)["totals"]["requests"] == 2


def test_default_database_lives_in_the_user_data_dir(sandbox, monkeypatch):
    monkeypatch.delenv("CCSPEND_DB")
    assert paths.default_db_path().is_relative_to(sandbox / "xdg-data")
