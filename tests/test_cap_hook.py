"""Interactive caps: the hooks' pure verdicts, their answers to Claude Code, the
settings they install and remove exactly, failing open, and the ledger."""

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from ccspend.live.caps import OVERRIDE_WORD, Caps, answer, judge
from tests.conftest import cli, run_cli
from tests.logs import assistant, write

CAPS = Caps(session_usd=2.0, daily_usd=10.0, alert_at=(50, 80))


def test_verdicts():
    assert judge("PreToolUse", 0.5, 1.0, CAPS, False, set()).decision == "allow"
    w = judge("PreToolUse", 1.7, 1.0, CAPS, False, set())
    assert w.decision == "warn" and w.level == 80 and "85%" in w.reason
    assert judge("PreToolUse", 1.7, 1.0, CAPS, False, {50, 80}).decision == "allow"  # once
    d = judge("PreToolUse", 2.01, 3.0, CAPS, False, set())
    assert d.decision == "deny" and "$2.01 of its $2.00" in d.reason and OVERRIDE_WORD in d.reason
    assert judge("PreToolUse", 0.1, 10.0, CAPS, False, set()).decision == "deny"  # daily cap
    assert judge("UserPromptSubmit", 2.5, 0, CAPS, False, set()).decision == "block"
    assert judge("UserPromptSubmit", 2.5, 0, CAPS, False, set(),
                 f"go on {OVERRIDE_WORD}").decision == "override"
    assert judge("PreToolUse", 2.5, 0, CAPS, True, {50, 80}).decision == "allow"  # overridden
    assert judge("PreToolUse", 99.0, 99.0, Caps(), False, set()).decision == "allow"  # no caps


def test_answers_follow_claude_codes_hook_contract():
    deny = answer("PreToolUse", judge("PreToolUse", 3, 0, CAPS, False, set()))
    assert deny["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert deny["hookSpecificOutput"]["hookEventName"] == "PreToolUse"
    block = answer("UserPromptSubmit", judge("UserPromptSubmit", 3, 0, CAPS, False, set()))
    assert block["decision"] == "block" and block["reason"]
    warn = answer("PreToolUse", judge("PreToolUse", 1.1, 0, CAPS, False, set()))
    assert "additionalContext" in warn["hookSpecificOutput"]
    assert answer("PreToolUse", judge("PreToolUse", 0, 0, CAPS, False, set())) is None


def test_install_and_uninstall_leave_the_settings_exactly_as_they_were(sandbox):
    settings = sandbox / "claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    before = {"model": "opus", "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": "my-guard.sh"}]}], "Stop": []}, "env": {"A": "1"}}
    settings.write_text(json.dumps(before))
    r = run_cli("cap", "install", "--session-cap", "5", "--daily-cap", "30")
    assert r.returncode == 0 and "backup" in r.stdout, r.stderr
    data = json.loads(settings.read_text())
    assert data["hooks"]["PreToolUse"][0] == before["hooks"]["PreToolUse"][0]
    command = data["hooks"]["PreToolUse"][1]["hooks"][0]["command"]
    assert command.endswith("ccspend cap hook") and command.startswith("/")  # this ccspend
    assert data["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"] == command
    assert "already" in run_cli("cap", "install").stdout
    status = json.loads(cli("cap", "--json").stdout)  # the settings read back, in this process
    assert status["hooks_installed"] and status["session_usd"] == 5 and status["daily_usd"] == 30
    assert run_cli("cap", "uninstall").returncode == 0
    assert json.loads(settings.read_text()) == before
    assert "nothing changed" in run_cli("cap", "uninstall").stdout


def test_install_on_a_machine_without_settings_and_back(sandbox):
    settings = sandbox / "claude" / "settings.json"
    assert run_cli("cap", "install", "--daily-cap", "3").returncode == 0
    assert run_cli("cap", "uninstall").returncode == 0
    assert not settings.exists()  # install made it: uninstall removes it


def hook(event: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ccspend", "cap", "hook"],
                          input=json.dumps(event), capture_output=True, text=True, timeout=30)


def test_the_hook_denies_past_the_cap_warns_once_and_can_be_overridden(sandbox, projects):
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    t = write(projects / "p" / "s1.jsonl", [
        assistant(session="s1", ts=now, msg="a", req="a", inp=1_200_000, out=0,
                  model="claude-haiku-4-5")])  # $1.20
    assert cli("cap", "install", "--session-cap", "2").returncode == 0  # setup
    assert cli("statusline", "--refresh").returncode == 0
    tool = {"hook_event_name": "PreToolUse", "session_id": "s1", "transcript_path": str(t),
            "tool_name": "Bash", "tool_input": {"command": "ls"}}
    first = hook(tool)
    assert first.returncode == 0
    assert "additionalContext" in json.loads(first.stdout)["hookSpecificOutput"]  # 60%: warn
    assert hook(tool).stdout == ""  # once per level
    from tests.logs import append

    append(t, [assistant(session="s1", ts=now, msg="b", req="b", inp=900_000, out=0,
                         model="claude-haiku-4-5")])  # $2.10
    denied = json.loads(hook(tool).stdout)["hookSpecificOutput"]
    assert denied["permissionDecision"] == "deny" and "$2.10 of its $2.00" in denied[
        "permissionDecisionReason"]
    prompt = {**tool, "hook_event_name": "UserPromptSubmit", "prompt": "keep going"}
    assert json.loads(hook(prompt).stdout)["decision"] == "block"
    assert hook({**prompt, "prompt": f"finish it {OVERRIDE_WORD}"}).stdout == ""
    assert hook(tool).stdout == ""  # the override holds for the session
    status = json.loads(cli("cap", "--json").stdout)  # the ledger's rows
    assert [d["decision"] for d in reversed(status["decisions"])] == [
        "warn", "deny", "block", "override"]


@pytest.mark.parametrize("stdin", ["", "not json", "[]", '{"hook_event_name": "PreToolUse"}',
                                   '{"hook_event_name": "PreToolUse", "transcript_path": 5}'])
def test_the_hook_fails_open(sandbox, stdin):
    assert cli("cap", "install", "--session-cap", "0.01").returncode == 0  # setup
    r = subprocess.run([sys.executable, "-m", "ccspend", "cap", "hook"], input=stdin,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == "" and "Traceback" not in r.stderr


def test_the_hook_never_imports_the_heavy_stack(sandbox):
    code = ("import io, sys, json; from ccspend.cli.fast.cap_hook import run; "
            "run(io.StringIO(json.dumps({'hook_event_name': 'PreToolUse'})), io.StringIO()); "
            "print(sorted(m.split('.')[0] for m in sys.modules "
            "if m.split('.')[0] in ('duckdb', 'pydantic', 'typer', 'rich', 'msgspec')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stderr


def test_the_session_total_counts_only_new_bytes_and_each_response_once(tmp_path, monkeypatch):
    """The hook's (and the status line's) session cost: new bytes only, a response's later
    line with a larger output replaces its earlier one, subagents count, a rewritten file
    is recounted, new prices reprice."""
    import os

    from ccspend.live import lines, sessions
    from tests.logs import append

    reads = []
    scan = lines.scan_appended
    monkeypatch.setattr(lines, "scan_appended",
                        lambda data, base: reads.append((base, len(data))) or scan(data, base))
    prices = {"claude-haiku-4-5": {"base": [1, 5, 1.25, 2, 0.1]}}
    folder = tmp_path / "state"

    def cost(ident="p1"):
        return sessions.session_cost(str(t), "s1", folder, prices, ident)

    t = write(tmp_path / "p" / "s1.jsonl", [
        assistant(session="s1", msg="a", req="a", inp=1_000_000, out=1, model="claude-haiku-4-5"),
        {"type": "user", "message": {"role": "user", "content": "x" * 5000}}])
    assert cost() == pytest.approx(1.000005)
    size = os.path.getsize(t)
    append(t, [assistant(session="s1", msg="a", req="a", inp=1_000_000, out=200_000,
                         model="claude-haiku-4-5")])  # the same response, final line
    sub = tmp_path / "p" / "s1" / "subagents" / "agent-1.jsonl"
    write(sub, [assistant(session="s1", msg="b", req="b", inp=500_000, out=0,
                          model="claude-haiku-4-5")])
    reads.clear()
    assert cost() == pytest.approx(2.5)
    assert sorted(reads) == [(0, os.path.getsize(sub)), (size, os.path.getsize(t) - size)]
    reads.clear()
    assert cost() == pytest.approx(2.5) and reads == []  # nothing new, nothing read
    write(t, [assistant(session="s1", msg="c", req="c", inp=100_000, out=0,
                        model="claude-haiku-4-5")])  # rewritten, shorter: counted again
    assert cost() == pytest.approx(0.6)
    prices["claude-haiku-4-5"] = {"base": [2, 10, 2.5, 4, 0.2]}
    assert cost() == pytest.approx(0.6)  # the same prices id: the costs counted stand
    assert cost("p2") == pytest.approx(1.2)
