"""Where logs are looked for: CLAUDE_CONFIG_DIR (comma-separated), else both defaults."""

import json
import os
from pathlib import Path, PurePosixPath

import platformdirs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccspend.core import paths
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


# -- the string forms the warm path uses agree with pathlib and platformdirs ---


@given(st.text(alphabet="/.ab~é ", max_size=12))
def test_norm_is_what_pathlib_prints(text):
    assert paths.norm(text) == str(PurePosixPath(text))


@pytest.mark.parametrize("text", ["~", "~/x//y/", "~/.claude", "a/~/b", "./x", "", "//srv/x", "/a/../b"])
def test_expand_and_absolute_are_what_pathlib_prints(text, sandbox, monkeypatch):
    monkeypatch.chdir(sandbox)
    assert paths.expand(text) == str(Path(text).expanduser())
    assert paths.absolute(text) == str(Path(text).absolute())


@pytest.mark.parametrize("xdg", [None, "", "relative/dir", "/abs/data//"])
def test_user_dirs_are_what_platformdirs_answers(xdg, monkeypatch):
    monkeypatch.delenv("CCSPEND_CONFIG_DIR")
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        if xdg is None:
            monkeypatch.delenv(var)
        else:
            monkeypatch.setenv(var, xdg)
    assert paths.data_dir() == Path(platformdirs.user_data_dir("ccspend", appauthor=False))
    assert paths.config_dir() == Path(platformdirs.user_config_dir("ccspend", appauthor=False))
    assert str(paths.data_dir()) == paths.data_dir_str()


def test_every_path_is_its_string_form(sandbox, monkeypatch):
    monkeypatch.setenv("CCSPEND_DB", "~/db//x.duckdb")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f" {sandbox}/a/ , ~/b")
    (sandbox / "a" / "projects").mkdir(parents=True)
    assert str(paths.default_db_path()) == paths.default_db_str() == os.environ["HOME"] + "/db/x.duckdb"
    assert str(paths.rate_overrides_path()) == paths.rate_overrides_str()
    assert [str(p) for p in paths.claude_project_roots()] == paths.claude_project_root_strs() == [
        f"{sandbox}/a/projects", os.environ["HOME"] + "/b/projects"]
    assert paths.claude_project_roots([sandbox / "a", sandbox / "a" / "projects"]) == [
        sandbox / "a" / "projects"]
