"""Project-wide promises: completions current, layering, README, no hidden network."""

import ast
from pathlib import Path

from tests.conftest import REPO, run_cli

PKG = REPO / "ccspend"


def test_completion_scripts_are_current():
    for shell in ("bash", "zsh", "fish"):
        r = run_cli("completions", shell)
        assert r.returncode == 0
        shipped = (REPO / "completions" / f"ccspend.{shell}").read_text()
        assert shipped == r.stdout, f"run: ccspend completions {shell} > completions/ccspend.{shell}"


def test_completions_name_every_command_and_option():
    bash = (REPO / "completions" / "ccspend.bash").read_text()
    for word in ("daily", "weekly", "monthly", "session", "model", "project", "branch", "rates",
                 "--since", "--timezone", "--breakdown", "--claude-dir", "--json"):
        assert word in bash


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_nothing_below_the_cli_imports_typer_or_rich():
    for path in PKG.rglob("*.py"):
        if "cli" in path.relative_to(PKG).parts:
            continue
        assert not _imports(path) & {"typer", "rich", "click"}, path


def test_only_the_store_imports_duckdb():
    for path in PKG.rglob("*.py"):
        if "duckdb" in _imports(path):
            assert path.relative_to(PKG).parts[0] == "store", path


def test_the_fast_entry_point_imports_only_light_modules():
    heavy = {"duckdb", "typer", "rich", "pydantic"}
    for name in ("cli/fast/entry.py", "cli/fast/reports.py", "reports/answer_cache.py",
                 "core/paths.py", "core/timeutil.py", "core/errors.py", "sources/logfiles.py"):
        assert not _imports(PKG / name) & (heavy | {"msgspec"}), name
    assert not _imports(PKG / "sources" / "claude_code.py") & heavy


def test_every_command_has_help():
    r = run_cli("--help")
    for cmd in ("daily", "weekly", "monthly", "session", "model", "project", "branch", "rates",
                "completions"):
        assert cmd in r.stdout
        sub = run_cli(cmd, "--help")
        assert sub.returncode == 0 and "Usage" in sub.stdout


def test_unknown_option_is_a_usage_error_not_a_traceback():
    r = run_cli("daily", "--bogus")
    assert r.returncode == 2 and r.stderr.startswith("ccspend: error: No such option")


def test_readme_opens_with_the_two_commands():
    head = (REPO / "README.md").read_text().splitlines()[:6]
    text = "\n".join(head)
    assert "ccspend daily" in text and "pytest" in text


def test_a_console_script_of_an_older_install_still_runs(sandbox):
    """Scripts written before 0.2 import ``ccspend.entry``; Claude Code runs them for the
    status line and the cap hook, which must not start failing after an upgrade."""
    import subprocess
    import sys

    code = "import sys; sys.argv = ['ccspend', 'statusline']; from ccspend.entry import main; main()"
    r = subprocess.run([sys.executable, "-c", code], input="{}", capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
