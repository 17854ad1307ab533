"""Issue #16, item 3: what the review found, one test (at least) per defect."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ccspend.forecast.limits import from_official, from_spend
from tests.conftest import cli, run_cli
from tests.logs import assistant, write

NOW = 1_800_000_000.0


def stamp(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# -- a limit already passed: when it was passed, not "now" -------------------------------------


def test_a_limit_already_passed_was_reached_when_the_running_total_crossed_it():
    points = [(NOW - 40 * 60, 10_000.0), (NOW - 20 * 60, 15_000.0), (NOW - 5 * 60, 5_000.0)]
    f = from_spend(30_000, 19_000, "tokens", points, NOW, resets_at=NOW + 3600, source="plan")
    assert f.reaches_at == NOW - 20 * 60
    readings = [(NOW - 30 * 60, 90.0, NOW + 60), (NOW - 10 * 60, 100.0, NOW + 60),
                (NOW, 100.0, NOW + 60)]  # fmt: skip
    assert from_official(readings, NOW).reaches_at == NOW - 10 * 60


def test_blocks_limit_already_passed_says_exceeded_at_the_time_it_was(sandbox, projects):
    now = datetime.now(UTC)
    crossed = now - timedelta(minutes=10)
    write(projects / "p" / "s.jsonl", [
        assistant(msg="a", ts=stamp(now - timedelta(minutes=20)), inp=10_000, out=0),
        assistant(msg="b", ts=stamp(crossed), inp=15_000, out=0),
    ])  # fmt: skip
    r = run_cli("blocks", "--active", "--limit", "pro", "-z", "UTC")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("5-hour block"))
    assert f"exceeded at {crossed:%H:%M}" in line, line
    assert "reached at" not in line and "%" not in line.split("Source:")[0], line


# -- --since BRANCH: days spanned, the ref and commit in the JSON, a summary that fits ---------


def _git(cwd, *args) -> str:
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(cwd), "GIT_COMMITTER_DATE":
           "2026-09-02T00:00:00Z", "GIT_AUTHOR_DATE": "2026-09-02T00:00:00Z"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env).stdout.strip()  # fmt: skip


def _branch_repo(sandbox, projects):
    repo = sandbox / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    base = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "-b", "feature/router-with-a-longer-name")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "work")
    days = ("2026-09-03", "2026-09-05", "2026-09-08")  # three days with use, six days of work
    write(projects / "p" / "s.jsonl", [
        assistant(msg=f"m{i}", branch="feature/router-with-a-longer-name", cwd=str(repo),
                  ts=f"{d}T12:00:00Z", inp=1_000_000, out=100_000) for i, d in enumerate(days)
    ])  # fmt: skip
    return repo, base


def test_since_a_branch_counts_the_days_its_work_spans_and_fits_80_columns(sandbox, projects):
    repo, _ = _branch_repo(sandbox, projects)
    r = run_cli("--since", "feature/router-with-a-longer-name", "-z", "UTC", cwd=str(repo),
                env={"COLUMNS": "80"})  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = r.stdout[r.stdout.index("feature/router-with-a-longer-name: $"):]
    assert "over 6 days (3 with use), 3 requests" in summary, summary
    assert "since it left main at" in summary
    assert all(len(line) <= 80 for line in summary.splitlines()), summary


def test_since_a_branch_json_names_the_ref_and_the_commit(sandbox, projects):
    repo, base = _branch_repo(sandbox, projects)
    r = run_cli("--since", "feature/router-with-a-longer-name", "--json", cwd=str(repo))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["since"] == "feature/router-with-a-longer-name"
    assert out["since_ref"]["commit"] == base and out["since_ref"]["base"] == "main"


# -- --claude-dir that is not there: said, and where the figures come from ---------------------


def test_a_missing_claude_dir_is_warned_and_the_history_named(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    assert run_cli("daily").returncode == 0  # the history: one request
    for args in ((), ("--json",)):
        r = run_cli("daily", "--claude-dir", str(sandbox / "nope"), *args)
        assert r.returncode == 0, r.stderr
        said = r.stderr + (json.dumps(json.loads(r.stdout)["warnings"]) if args else "")
        assert f"--claude-dir {sandbox / 'nope'}: no such folder" in said, said
        assert "the figures come from the history already in the database" in said


@pytest.mark.parametrize("command", [("blocks",), ("export",),
                                     ("reconcile", "--provider", "anthropic"),
                                     ("report", "--html", "{sandbox}/page.html")])
def test_every_command_reading_logs_warns_of_a_missing_claude_dir(sandbox, projects, command):
    """Not only the reports: every command that reads the logs before it answers says
    that a --claude-dir is not there, and that its figures come from the history."""
    write(projects / "p" / "s.jsonl", [assistant()])
    command = [c.format(sandbox=sandbox) for c in command]
    r = run_cli(*command, "--claude-dir", str(sandbox / "nope"))
    assert f"--claude-dir {sandbox / 'nope'}: no such folder" in r.stderr, (r.returncode, r.stderr)
    assert "the figures come from the history already in the database" in r.stderr


# -- bad values exit 2 with a message ------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("daily", "--source", "foo"),
    ("report", "--html", "x.html", "--source", "foo"),
    ("export", "--source", "foo"),
    ("daily", "--since", "2026-09-05", "--until", "2026-09-01"),
    ("--since", "2026-09-05", "--until", "2026-09-01"),
    ("blocks", "--since", "2026-09-05", "--until", "2026-09-01"),
    ("reconcile", "--provider", "foo"),
    ("reconcile", "--since", "2026-09-05", "--until", "2026-09-01"),
])  # fmt: skip
def test_a_bad_value_exits_2_with_a_message(sandbox, projects, args):
    write(projects / "p" / "s.jsonl", [assistant()])
    r = run_cli(*args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("ccspend: error:") and args[-2] in r.stderr, r.stderr
    assert r.stdout == ""


def test_a_provider_named_by_an_imported_csv_is_a_source(sandbox, projects):
    csv = sandbox / "usage.csv"
    csv.write_text("timestamp,provider,model,input_tokens,output_tokens\n"
                   "2026-09-01T10:00:00Z,mistral,mistral-large,100,10\n")  # fmt: skip
    assert cli("import", str(csv)).returncode == 0
    r = run_cli("daily", "--source", "mistral", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["requests"] == 1
    assert run_cli("reconcile", "--provider", "mistral").returncode == 0


def test_reconcile_compares_only_the_days_the_export_covers(sandbox, projects):
    from pathlib import Path

    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "reconcile"
    # local use on 40 days; the export covers 2026-09-01 to 2026-09-04
    start = datetime(2026, 8, 1, 12, tzinfo=UTC)
    write(projects / "p" / "s.jsonl", [
        assistant(msg=f"m{i}", req=f"r{i}", ts=stamp(start + timedelta(days=i)))
        for i in range(40)
    ])  # fmt: skip
    assert cli("import", str(fixtures / "anthropic_usage.json")).returncode == 0
    out = json.loads(run_cli("reconcile", "--json").stdout)
    days = {r["day"] for r in out["rows"]}
    assert days and min(days) >= "2026-09-01" and max(days) <= "2026-09-04", sorted(days)
    assert out["export_days"] == {"first": "2026-09-01", "last": "2026-09-04"}
    r = run_cli("reconcile")
    assert "compared the days the anthropic export covers, 2026-09-01 to 2026-09-04" in r.stderr


# -- charts: a glyph a series, the legend's glyph beside its label ----------------------------

CHART_MODELS = ("claude-3-5-haiku", "claude-3-5-sonnet", "claude-3-7-sonnet", "claude-3-haiku",
                "claude-3-opus", "claude-haiku-4-5", "claude-haiku-5-5", "claude-opus-4",
                "claude-opus-4-1", "claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-7",
                "claude-sonnet-4", "claude-sonnet-4-5", "claude-sonnet-4-6", "claude-sonnet-5")


@pytest.mark.parametrize("count", [12, 16])
def test_chart_gives_every_model_its_own_glyph_and_keeps_the_legend_whole(projects, count):
    models = CHART_MODELS[:count]
    write(projects / "p" / "s.jsonl", [
        assistant(msg=f"m{i}-{d}", req=f"r{i}-{d}", model=m, ts=f"2026-09-0{d}T10:00:00Z",
                  inp=100_000 * (i + 1), out=0)
        for i, m in enumerate(models) for d in (1, 2)
    ])  # fmt: skip
    r = run_cli("daily", "--chart", "-z", "UTC", env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    bars = [ln for ln in lines if ln.startswith("2026-09-0")]
    legend = " ".join(lines[lines.index(bars[-1]) + 1:])
    assert all(len(ln) <= 80 for ln in lines), r.stdout
    items = {}
    for m in models:
        name = m.removeprefix("claude-")
        found = [g for g in re.findall(r"(\S) " + re.escape(name) + r"(?:\s|$)", legend)]
        assert len(found) == 1, (name, legend)  # glyph and label on the same line, together
        items[name] = found[0]
    assert len(set(items.values())) == count, items  # no glyph for two models
    drawn = set("".join(b[10:].rsplit("$", 1)[0] for b in bars)) - {" "}
    assert drawn == set(items.values())


# -- smaller fixes -----------------------------------------------------------------------------


def test_budget_help_lists_check_whole_and_counts_say_one_alert(sandbox, projects):
    h = run_cli("budget", "--help")
    assert h.returncode == 0
    check = next(ln for ln in h.stdout.splitlines() if ln.strip().startswith("check"))
    assert "e.g." not in check and check.rstrip().endswith("."), check
    write(projects / "p" / "s.jsonl", [assistant(ts=stamp(datetime.now(UTC)), inp=2_000_000,
                                                 out=0, model="claude-haiku-4-5")])  # fmt: skip
    assert cli("budget", "set", "daily", "100", "--alert-at", "1").returncode == 0
    r = run_cli("budget", "check")  # $2 of $100: past 1%, one alert
    assert "1 budget checked, 1 alert sent" in r.stdout, r.stdout


def _ledger(sandbox, runs):
    from ccspend.store import Store, finish_run, start_run

    with Store(sandbox / "data" / "ccspend.duckdb").connect(write=True) as con:
        for i, (tier, reason, status, command) in enumerate(runs):
            start_run(con, {"run_id": f"r{i}", "task_id": f"t{i}", "command": command,
                            "cwd": "/w", "host": "h", "pid": 1, "session_id": None,
                            "cap_usd": 2.0, "route_tier": tier, "route_reason": reason})
            finish_run(con, {"run_id": f"r{i}", "status": status, "exit_code": 0,
                             "cost_usd": 0.5, "stopped_by": None, "session_id": None})


def test_route_review_does_not_say_every_tier_works_while_one_fails_and_names_untyped(sandbox):
    heavy = "explicit type 'refactor'"
    runs = [("light", "explicit type 'refactor'", "ok", "claude -p x")] * 4
    runs += [("heavy", heavy, "failed", "claude -p x")] * 3  # failing, and no tier above heavy
    runs += [("standard", None, "ok", "make test")] * 2  # no type recorded, no prompt
    _ledger(sandbox, runs)
    r = run_cli("route", "review", "--since", "7d")
    assert r.returncode == 0, r.stderr
    assert "every tier judged is doing the work it gets" not in r.stdout, r.stdout
    assert "'refactor' on heavy: 3 of 3 runs failed" in r.stdout, r.stdout
    assert "2 runs of task type (untyped) not judged" in r.stdout, r.stdout
    out = json.loads(run_cli("route", "review", "--since", "7d", "--json").stdout)
    assert out["struggling"] and out["not_judged"]


def test_cap_install_on_a_broken_settings_file_writes_no_cap(sandbox):
    settings = sandbox / "claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('{"hooks": {')
    r = run_cli("cap", "install", "--session-cap", "5")
    assert r.returncode == 1 and "is not valid JSON" in r.stderr, r.stderr
    assert "caps written" not in r.stdout
    config = sandbox / "config" / "config.toml"
    assert not config.exists() or "[cap]" not in config.read_text()
    assert settings.read_text() == '{"hooks": {'


# -- completions: a group's subcommands, --source's values ------------------------------------


def _bash_complete(*words: str) -> list[str]:
    import shutil
    import subprocess

    from tests.conftest import REPO

    if shutil.which("bash") is None:
        pytest.skip("no bash")
    quoted = " ".join(w or '""' for w in words)
    script = (f"source {REPO / 'completions' / 'ccspend.bash'}; "
              f"COMP_WORDS=(ccspend {quoted}); "
              f"COMP_CWORD={len(words)}; _ccspend; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          check=True).stdout.split()  # fmt: skip


def test_completions_offer_subcommands_and_source_values():
    assert {"check", "alerts", "set", "unset"} <= set(_bash_complete("budget", ""))
    assert {"policy", "review"} <= set(_bash_complete("route", ""))
    from ccspend.reports.options import SOURCES

    assert _bash_complete("daily", "--source", "") == ["all", *SOURCES]
    assert SOURCES[:2] == ("local", "codex") and SOURCES[-3:] == ("anthropic", "openai",
                                                                  "openrouter")
    assert {"gemini", "opencode", "droid"} <= set(SOURCES)  # every agent of the registry
    assert _bash_complete("daily", "--source", "cod") == ["codex", "codebuff"]
    from tests.conftest import REPO

    zsh = (REPO / "completions" / "ccspend.zsh").read_text()
    fish = (REPO / "completions" / "ccspend.fish").read_text()
    assert "'2:command:(check alerts set unset)'" in zsh and ":value:(all local codex" in zsh
    assert "__fish_seen_subcommand_from route' -a 'policy review'" in fish
    assert f"-l source -r -f -a '{' '.join(['all', *SOURCES])}'" in fish


# -- the README's set-up, and CI running its test command --------------------------------------


def test_readme_sets_up_a_virtual_environment_and_ci_runs_its_test_command():
    from tests.conftest import REPO

    head = (REPO / "README.md").read_text().splitlines()[:10]
    block = head[head.index("```sh") + 1:head.index("```", head.index("```sh") + 1)]
    assert "venv" in block[0] and "activate" in block[0], block  # before any pip install
    assert "pipx install ." in "\n".join(head) and "uv tool install ." in "\n".join(head)
    install, tests = (ln.split("#")[0].strip() for ln in block[1:3])
    assert "ccspend daily" in install and "pytest" in tests
    ci = (REPO / ".ci" / "run").read_text()
    for part in tests.split("&&"):  # pip install -e '.[test]', then pytest: the same in CI
        part = part.strip().removeprefix("pip install ")
        assert part in ci, part
    assert "python3 -m venv .venv" in ci and ci.rstrip().endswith("pytest")


@pytest.mark.parametrize("argv", [("-h",), ("daily", "-h"), ("route", "-h"), ("run", "-h"),
                                  ("route", "review", "-h"), ("budget", "-h")])
def test_dash_h_is_help_everywhere(sandbox, argv):
    """``-h`` is help, as in ccusage and most tools: ``route -h`` was routed as a task
    named "-h", and every other command refused it."""
    r = run_cli(*argv)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Usage: ") and " [OPTIONS]" in r.stdout.splitlines()[0], r.stdout
    assert "Options:" in r.stdout


def test_dash_h_after_run_s_double_dash_is_the_agent_s(sandbox):
    r = run_cli("run", "--cap", "1", "--", sys.executable, "-c", "import sys; print(sys.argv)",
                "-h")
    assert "'-h'" in r.stdout, (r.stdout, r.stderr)


def test_an_unpriced_model_reads_unpriced_in_the_model_table_never_zero(projects):
    from tests.logs import assistant, write

    write(projects / "p" / "s.jsonl", [assistant(msg="a", model="claude-unknown-9"),
                                       assistant(msg="b", model="claude-haiku-4-5")])
    from tests.conftest import run_cli

    out = run_cli("model").stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("claude-unknown-9"))
    assert line.rstrip().endswith("unpriced") and "$0.00" not in line
    assert "$" in next(ln for ln in out.splitlines() if ln.startswith("haiku")
                       or ln.startswith("claude-haiku"))
