"""Budgets: set in the config file, reported with burn and time to run out."""

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccspend.reports.build import period_window
from tests.conftest import cli, run_cli
from tests.logs import assistant, write


def test_budget_set_show_unset(sandbox, projects):
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    write(projects / "p" / "s.jsonl", [assistant(ts=now, inp=2_000_000, out=0,
                                                 model="claude-haiku-4-5")])
    assert "No budgets set" in run_cli("budget").stdout
    r = run_cli("budget", "set", "daily", "10")
    assert r.returncode == 0
    path = run_cli("config", "path").stdout.strip()
    assert "[budgets]" in Path(path).read_text()
    out = json.loads(run_cli("budget", "--json", "-z", "UTC").stdout)["budgets"]
    daily = out[0]
    assert daily["name"] == "daily" and daily["used"] == pytest.approx(2.0)
    assert daily["remaining"] == pytest.approx(8.0) and daily["percent"] == pytest.approx(20)
    # $2 in the last 30 minutes: $4/h, $8 left: two hours (or not before the day ends)
    assert daily["rate_per_hour"] == pytest.approx(4.0)
    assert run_cli("budget", "unset", "daily").returncode == 0
    assert "No budgets set" in run_cli("budget").stdout


def test_bad_budgets_are_refused(sandbox):
    assert run_cli("budget", "set", "yearly", "3").returncode == 2
    assert run_cli("budget", "set", "daily", "0").returncode == 2


def test_period_windows():
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday
    assert period_window("daily", now)[:2] == (now.date(), now.date())
    first, last, end = period_window("weekly", now)
    assert (first.isoformat(), last.isoformat()) == ("2026-11-23", "2026-11-29")
    first, last, end = period_window("monthly", now)
    assert (first.isoformat(), last.isoformat(), end.isoformat()) == (
        "2026-11-01", "2026-11-30", "2026-12-01T00:00:00+00:00")


# -- scoped budgets, alert levels, and alerts sent once per level ----------------

from ccspend.core import config  # noqa: E402
from ccspend.core.errors import CcspendError  # noqa: E402
from ccspend.reports.alerts import crossed, level_reached, mask_url  # noqa: E402


def _now_iso():
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def test_scoped_budgets_round_trip_through_the_config_file(sandbox):
    path = config.set_budget("daily", 20)
    config.set_budget("weekly", 40, scope="project", name="/src/my app")
    config.set_budget("daily", 5, scope="branch", name="main", alert_at=(75,))
    config.set_budget("monthly", 9, scope="task", name="nightly-triage")
    cfg = config.load(path)
    ids = {b.id: b for b in cfg.budgets}
    assert set(ids) == {"daily", "project:/src/my app:weekly", "branch:main:daily",
                        "task:nightly-triage:monthly"}
    assert ids["branch:main:daily"].alert_at == (75,) and ids["daily"].alert_at == (50, 80)
    assert [b.id for b in cfg.applicable("/src/my app/sub", "main", None)] == [
        "daily", "project:/src/my app:weekly", "branch:main:daily"]
    assert [b.id for b in cfg.applicable("/src/my apple", "dev", "nightly-triage")] == [
        "daily", "task:nightly-triage:monthly"]
    config.set_budget("monthly", None, scope="task", name="nightly-triage")
    assert "task" not in Path(path).read_text()


@pytest.mark.parametrize("text", [
    "[budgets]\ndaily = -1\n", "[budgets]\ndaily = 'ten'\n", "[budgets]\nyearly = 3\n",
    "[budgets]\nalert_at = [150]\n", "[budgets.task.x]\nhourly = 2\n", "[budgets\n",
    "[alerts]\nwebhook_url = 'ftp://x'\n", "[limits]\nmax_requests_per_minute = 0\n",
])
def test_a_bad_config_is_one_clear_error(sandbox, text):
    path = sandbox / "config.toml"
    path.write_text(text)
    with pytest.raises(CcspendError) as exc:
        config.load(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_alert_levels():
    assert level_reached(49.9, (50, 80)) is None
    assert level_reached(85, (50, 80)) == 80 and level_reached(100, (50, 80)) == 100
    assert crossed(90, (80, 50)) == [50, 80]
    assert mask_url("https://hooks.slack.com/services/T0/B0/SECRET") == "https://hooks.slack.com/…"


def test_budget_rows_by_scope(sandbox, projects):
    now = _now_iso()
    write(projects / "p" / "s.jsonl", [
        assistant(ts=now, msg="a", req="a", inp=1_000_000, out=0, model="claude-haiku-4-5",
                  cwd="/src/app", branch="main"),
        assistant(ts=now, msg="b", req="b", inp=3_000_000, out=0, model="claude-haiku-4-5",
                  cwd="/src/other", branch="dev"),
    ])
    config.set_budget("daily", 10)
    config.set_budget("daily", 2, scope="project", name="/src/app")
    config.set_budget("daily", 2, scope="branch", name="dev")
    rows = {r["name"]: r for r in json.loads(cli("budget", "--json").stdout)["budgets"]}
    assert rows["daily"]["used"] == pytest.approx(4.0) and rows["daily"]["alert_level"] is None
    assert rows["project:/src/app:daily"]["used"] == pytest.approx(1.0)
    assert rows["project:/src/app:daily"]["alert_level"] == 50
    assert rows["branch:dev:daily"]["exhausted"] and rows["branch:dev:daily"]["alert_level"] == 100
    assert "EXHAUSTED" in run_cli("budget").stdout


def test_budget_check_alerts_once_per_level_to_webhook_and_command(sandbox, projects):
    import http.server
    import threading

    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/services/T000/B000/SECRETPART"
    got = sandbox / "command-got.json"
    script = sandbox / "alert_command.py"
    script.write_text(f"import sys\nopen({str(got)!r}, 'a').write(sys.stdin.read() + '\\n')\n")
    cfg_path = Path(cli("config", "path").stdout.strip())
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text(
        "[budgets]\ndaily = 4\n\n[alerts]\ndesktop = false\n"
        f"webhook_url = {json.dumps(url)}\n"
        f"command = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]\n")
    log = projects / "p" / "s.jsonl"
    write(log, [assistant(ts=_now_iso(), msg="a", req="a", inp=2_200_000, out=0,
                          model="claude-haiku-4-5")])
    first = run_cli("budget", "check")
    assert first.returncode == 0 and "1 budget checked, 1 alert sent" in first.stdout, first.stderr
    for run in (run_cli, cli, cli):  # a cron job every minute: nothing new, nothing sent
        assert "0 alerts sent" in run("budget", "check").stdout
    from tests.logs import append

    append(log, [assistant(ts=_now_iso(), msg="b", req="b", inp=2_000_000, out=0,
                           model="claude-haiku-4-5")])
    last = run_cli("budget", "check")  # 105%: the cap level (80 is skipped into it)
    assert last.returncode == 4 and "1 alert sent" in last.stdout
    server.shutdown()
    assert [r["ccspend"]["level"] for r in received] == [50, 100]
    assert received[0]["text"].startswith("ccspend: daily budget at 50%")
    lines = [json.loads(x) for x in got.read_text().splitlines()]
    assert [x["ccspend"]["level"] for x in lines] == [50, 100]
    history = json.loads(cli("budget", "alerts", "--json").stdout)["rows"]
    assert sorted(r["level"] for r in history) == [50, 80, 100]
    assert all("SECRETPART" not in r["message"] for r in history)


def test_a_broken_webhook_is_a_warning_with_the_url_masked(sandbox, projects):
    cfg_path = Path(cli("config", "path").stdout.strip())
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text("[budgets]\ndaily = 1\n[alerts]\ndesktop = false\n")
    write(projects / "p" / "s.jsonl", [assistant(ts=_now_iso(), inp=600_000, out=0,
                                                 model="claude-haiku-4-5")])
    r = run_cli("budget", "check",
                env={"CCSPEND_ALERT_WEBHOOK": "http://127.0.0.1:9/hooks/TOPSECRET"})
    assert r.returncode == 0 and "webhook failed" in r.stderr
    assert "TOPSECRET" not in r.stderr + r.stdout
