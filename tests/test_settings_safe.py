"""Claude Code's settings, installed into and taken out of: nothing lost, nothing leaked, and
commands that really run.

Backups never overwrite one another and are owner-only; uninstall puts back what install
replaced; a symlinked settings file stays a link; install then uninstall gives back the same
bytes; the installed commands name this ccspend by its path and answer with an empty PATH;
``ccspend cap`` says when the installed hook does not run.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from ccspend.live import claude_settings as cs
from tests.conftest import cli, run_cli


@pytest.fixture
def settings(sandbox):
    path = sandbox / "claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def probe(command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run an installed command the way Claude Code does: through the shell."""
    return subprocess.run(["/bin/sh", "-c", command], input=json.dumps(
        {"hook_event_name": "ccspend-probe"}), capture_output=True, text=True, timeout=30,
        env=env)  # fmt: skip


def hook_command(path) -> str:
    data = json.loads(path.read_text())
    return data["hooks"]["PreToolUse"][-1]["hooks"][0]["command"]


def test_backups_never_overwrite_one_another_and_are_owner_only(settings):
    original = b'{"model": "opus", "env": {"ANTHROPIC_API_KEY": "sk-secret"}}\n'
    settings.write_bytes(original)
    start = time.time()
    for step in (cs.install, cs.install_hooks, cs.uninstall, cs.uninstall_hooks):
        step(settings)  # four writes, well within one second
    assert time.time() - start < 1 or pytest.skip("too slow to land in the same second")
    backups = sorted(settings.parent.glob("settings.json.bak-*"))
    assert len(backups) == 4, backups
    assert original in {b.read_bytes() for b in backups}  # the first is still there
    assert {b.stat().st_mode & 0o777 for b in backups} == {0o600}


def test_uninstall_puts_back_the_status_line_install_replaced(settings):
    original = ('{\n  "statusLine": {\n    "type": "command",\n    "command": "~/bin/mine.sh",\n'
                '    "padding": 0\n  },\n  "model": "opus"\n}\n')
    settings.write_text(original)
    r = run_cli("statusline", "--install")
    assert r.returncode == 0 and "mine.sh" in r.stdout, r.stderr
    assert json.loads(settings.read_text())["statusLine"]["command"].endswith("statusline")
    # another setting changes meanwhile: the replaced status line still comes back
    data = json.loads(settings.read_text())
    data["model"] = "sonnet"
    settings.write_text(json.dumps(data, indent=2) + "\n")
    r = run_cli("statusline", "--uninstall")
    assert r.returncode == 0 and "put back" in r.stdout, r.stdout
    assert settings.read_text() == original.replace('"opus"', '"sonnet"')


def test_uninstall_keeps_hook_lists_install_found_and_hooks_merged_into_ours(settings):
    before = {"hooks": {"PreToolUse": [], "UserPromptSubmit": [
        {"hooks": [{"type": "command", "command": "log-prompt.sh"}]}]}, "model": "opus"}
    original = json.dumps(before, indent=2) + "\n"
    settings.write_text(original)
    assert run_cli("cap", "install", "--session-cap", "5").returncode == 0
    # another tool adds its hook to the group ccspend made
    data = json.loads(settings.read_text())
    ours = data["hooks"]["PreToolUse"][0]
    ours["hooks"].append({"type": "command", "command": "audit.sh"})
    settings.write_text(json.dumps(data, indent=2) + "\n")
    assert run_cli("cap", "uninstall").returncode == 0
    after = json.loads(settings.read_text())
    assert after["hooks"]["PreToolUse"] == [
        {"matcher": "*", "hooks": [{"type": "command", "command": "audit.sh"}]}]
    assert after["hooks"]["UserPromptSubmit"] == before["hooks"]["UserPromptSubmit"]
    # without the merged hook: the very bytes, empty list and all
    data = json.loads(settings.read_text())
    data["hooks"]["PreToolUse"] = []
    settings.write_text(json.dumps(data, indent=2) + "\n")
    assert run_cli("cap", "install").returncode == 0
    assert run_cli("cap", "uninstall").returncode == 0
    assert settings.read_text() == original


def test_an_empty_hooks_object_install_found_stays(settings):
    original = '{\n  "hooks": {},\n  "model": "opus"\n}\n'
    settings.write_text(original)
    cs.install_hooks(settings)
    data = json.loads(settings.read_text())
    data["model"] = "haiku"  # so the bytes cannot simply be copied back
    settings.write_text(json.dumps(data, indent=2) + "\n")
    cs.uninstall_hooks(settings)
    assert settings.read_text() == original.replace("opus", "haiku")


def test_a_symlinked_settings_file_stays_a_link_and_its_target_is_edited(settings, sandbox):
    dotfiles = sandbox / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "claude-settings.json"
    original = '{\n  "model": "opus"\n}\n'
    target.write_text(original)
    target.chmod(0o640)
    settings.symlink_to(target)
    for args in (("statusline", "--install"), ("cap", "install", "--daily-cap", "9")):
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr
        assert settings.is_symlink() and os.readlink(settings) == str(target)
    data = json.loads(target.read_text())
    assert "statusLine" in data and "PreToolUse" in data["hooks"]
    assert target.stat().st_mode & 0o777 == 0o640  # its mode kept
    assert run_cli("statusline", "--uninstall").returncode == 0
    assert run_cli("cap", "uninstall").returncode == 0
    assert settings.is_symlink() and target.read_text() == original
    assert sorted(p.name for p in dotfiles.iterdir()) == ["claude-settings.json"]  # no temp


SHAPES = {
    "indent 2": '{\n  "model": "opus",\n  "permissions": {\n    "allow": ["Bash(ls)"]\n  }\n}\n',
    "indent 4": '{\n    "model": "opus",\n    "env": {\n        "A": "1"\n    }\n}\n',
    "tabs": '{\n\t"model": "opus",\n\t"env": {\n\t\t"A": "1"\n\t}\n}\n',
    "no final newline": '{\n  "model": "opus"\n}',
    "one line": '{"model": "opus", "env": {"A": "1"}}',
    "compact": '{"model":"opus","env":{"A":"1"}}\n',
    "unicode": '{\n  "name": "Zoë ✓ 日本",\n  "model": "opus"\n}\n',
    "escaped unicode": '{\n  "name": "Zo\\u00eb",\n  "model": "opus"\n}\n',
    "unknown keys and order": ('{\n  "zzz": {"nested": [1, 2, {"x": null}]},\n  "aaa": true,\n'
                               '  "hooks": {\n    "Stop": []\n  },\n  "mmm": 1.5\n}\n'),
    "windows line ends": '{\r\n  "model": "opus"\r\n}\r\n',
    "empty file": "",
    "byte order mark": '\ufeff{\n  "model": "opus"\n}\n',
}


@pytest.mark.parametrize("shape", SHAPES)
def test_install_then_uninstall_gives_back_the_same_bytes(settings, shape):
    original = SHAPES[shape]
    settings.write_bytes(original.encode())
    cs.install(settings)
    cs.install_hooks(settings)
    installed = settings.read_bytes().decode()
    # the file keeps its style while ccspend is in it
    assert installed.endswith("\n") == original.endswith("\n") or not original
    for word in ("Zoë", "\\u00eb", "\t\"model\"", "    \"model\"", "\r\n"):
        assert (word in installed) == (word in original) or not original, word
    cs.uninstall_hooks(settings)
    cs.uninstall(settings)
    assert settings.read_bytes() == original.encode()
    assert not list(settings.parent.glob("*.ccspend"))  # the record goes with the last part


@pytest.mark.parametrize("shape", ["indent 4", "tabs", "one line", "unicode", "byte order mark"])
def test_a_setting_changed_meanwhile_is_kept_in_the_files_own_style(settings, shape):
    original = SHAPES[shape]
    settings.write_text(original)
    cs.install(settings)
    cs.install_hooks(settings)
    text = settings.read_text()
    settings.write_text(text.replace('"opus"', '"sonnet"'))
    cs.uninstall(settings)
    cs.uninstall_hooks(settings)
    assert settings.read_text() == original.replace('"opus"', '"sonnet"')


def test_a_file_install_created_is_removed_by_uninstall(settings):
    assert not settings.exists()
    assert run_cli("statusline", "--install").returncode == 0
    assert run_cli("cap", "install", "--daily-cap", "3").returncode == 0
    assert settings.exists() and settings.stat().st_mode & 0o777 == 0o600
    assert run_cli("cap", "uninstall").returncode == 0
    assert json.loads(settings.read_text())["statusLine"]
    r = run_cli("statusline", "--uninstall")
    assert r.returncode == 0 and "removed" in r.stdout
    assert not settings.exists()
    assert os.listdir(settings.parent) == [] or all(
        ".bak-" in n for n in os.listdir(settings.parent))


def test_the_installed_commands_name_this_ccspend_and_run_with_an_empty_path(settings, sandbox):
    assert run_cli("cap", "install", "--session-cap", "5").returncode == 0
    assert run_cli("statusline", "--install").returncode == 0
    command = hook_command(settings)
    assert os.path.isabs(shlex.split(command)[0]), command
    assert shlex.split(command)[-2:] == ["cap", "hook"]
    env = {**os.environ, "PATH": ""}
    r = probe(command, env)
    assert r.returncode == 0 and json.loads(r.stdout)["probe"] == "ok", r.stderr
    line = json.loads(settings.read_text())["statusLine"]["command"]
    r = subprocess.run(["/bin/sh", "-c", line], input='{"model": {"display_name": "Opus"}}',
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("Opus"), r.stderr


def test_the_command_is_this_pythons_console_script_quoted_or_python_m(tmp_path, monkeypatch):
    bindir = tmp_path / "my venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").write_text("")
    monkeypatch.setattr(sys, "executable", str(bindir / "python"))
    assert cs.ccspend_program() == f"{shlex.quote(str(bindir / 'python'))} -m ccspend"
    script = bindir / "ccspend"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert cs.ccspend_program() == shlex.quote(str(script))
    assert shlex.split(cs.ccspend_program()) == [str(script)]  # the space is quoted


def test_an_older_bare_install_is_brought_up_to_date_not_doubled(settings):
    old = {"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [
        {"type": "command", "command": "ccspend cap hook", "timeout": 5}]}],
        "UserPromptSubmit": [{"hooks": [
            {"type": "command", "command": "ccspend cap hook", "timeout": 5}]}]},
        "statusLine": {"type": "command", "command": "ccspend statusline"}}
    settings.write_text(json.dumps(old, indent=2) + "\n")
    assert "updated" in cs.install_hooks(settings)
    assert "updated" in cs.install(settings)
    data = json.loads(settings.read_text())
    assert len(data["hooks"]["PreToolUse"]) == 1 and len(data["hooks"]["UserPromptSubmit"]) == 1
    assert os.path.isabs(shlex.split(hook_command(settings))[0])
    assert os.path.isabs(shlex.split(data["statusLine"]["command"])[0])
    assert "already" in cs.install_hooks(settings)
    cs.uninstall_hooks(settings)
    cs.uninstall(settings)
    assert json.loads(settings.read_text()) == {}


def test_cap_status_says_whether_the_installed_hook_runs(settings, sandbox):
    assert cli("cap", "install", "--session-cap", "5").returncode == 0  # setup
    status = json.loads(cli("cap", "--json").stdout)
    assert status["hooks_installed"] and status["hook_runs"] is True, status
    # the hook names a ccspend that is then removed (a deleted venv, an uninstalled tool)
    gone = sandbox / "old venv" / "bin"
    gone.mkdir(parents=True)
    script = gone / "ccspend"
    shutil.copy2(shlex.split(hook_command(settings))[0], script)
    text = settings.read_text().replace(json.dumps(hook_command(settings))[1:-1],
                                        json.dumps(shlex.quote(str(script)) + " cap hook")[1:-1])
    settings.write_text(text)
    assert json.loads(cli("cap", "--json").stdout)["hook_runs"] is True
    script.unlink()
    r = run_cli("cap")
    assert r.returncode == 0, r.stderr
    assert "does not run" in r.stdout and "ccspend cap install" in r.stdout, r.stdout
    status = json.loads(cli("cap", "--json").stdout)
    assert status["hook_runs"] is False and status["hook_problem"]
    assert cli("cap", "install").returncode == 0  # install again mends it
    assert json.loads(cli("cap", "--json").stdout)["hook_runs"] is True


def test_the_probe_leaves_no_state_and_the_hook_still_fails_open(settings, sandbox):
    assert cli("cap", "install", "--session-cap", "0.01").returncode == 0  # setup
    files = sorted(p for p in sandbox.rglob("*") if "card" not in p.parts[-2:])
    r = probe(hook_command(settings))
    assert r.returncode == 0 and json.loads(r.stdout)["probe"] == "ok"
    assert "Traceback" not in r.stderr
    assert sorted(p for p in sandbox.rglob("*") if "card" not in p.parts[-2:]) == files
    assert cli("cap", "--json").returncode == 0
    assert json.loads(cli("cap", "--json").stdout)["decisions"] == []  # nothing journaled


@pytest.mark.parametrize("content", [b'{"name": "Zo\xeb"}', b"[1, 2]", b"{broken"])
def test_a_settings_file_ccspend_cannot_read_is_left_alone_with_one_line(settings, content):
    settings.write_bytes(content)
    for args in (("cap", "install", "--daily-cap", "3"), ("statusline", "--install")):
        r = run_cli(*args)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert str(settings) in r.stderr and "changed nothing" in r.stderr
    assert settings.read_bytes() == content
    assert sorted(p.name for p in settings.parent.iterdir()) == ["settings.json"]
