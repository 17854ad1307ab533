"""Tables that fit (#16, item 1): at every width from 80 to 200 columns, no number is cut
and no line is wider than the terminal, on a corpus with real-sized numbers and names
(``tests/wide_corpus.py``: 9- and 10-digit token counts, costs over $10,000, long paths,
branches and model lists).

What each check means:

- *fits*: every line's display width (``rich.cells.cell_len``: a CJK character is two
  cells) is at most the terminal's;
- *numbers whole*: every number of the report's ``--json`` whose column is shown is in
  the table as a whole word, formatted in full (``1,234,567``, ``$12,345.67``) or, for
  token counts only, in compact units (``1.2M``); no word of the table is a number cut
  short (``125,…``, ``$129.…``);
- *stated order*: the columns missing at a width are the first ones of the table's
  ladder (``render.REPORT_LADDER``), and a wider terminal never shows fewer columns.

The reports run through the full CLI in this process (``cli``: the same ``run_report``
and tables as a process, at a fraction of the cost), at 80, 100, 120, 140, 160 and 200
columns; the golden files at 80, 120 and 200 (``fixtures/golden/wide/``) are real
processes through the console entry. To accept a reviewed change:
UPDATE_GOLDEN=1 pytest tests/test_table_widths.py
"""

from __future__ import annotations

import json
import os
import re

import pytest
from rich.cells import cell_len

from ccspend.cli.render import REPORT_LADDER, TITLES, money, tokens
from tests.conftest import REPO, cli, run_cli
from tests.wide_corpus import write_corpus

WIDTHS = (80, 100, 120, 140, 160, 200)
GROUPED = ("daily", "weekly", "monthly", "session", "model", "project", "branch", "source")
GOLDEN = REPO / "fixtures" / "golden" / "wide"
CUT_NUMBER = re.compile(r"^[$+-]?\d[\d,.]*…$")
MONEY = re.compile(r"^\$\d{1,3}(,\d{3})*\.\d\d$")
NUMBER_HEADERS = {"Input": "input_tokens", "Output": "output_tokens",
                  "Cache write": "cache_write_tokens", "Cache read": "cache_read_tokens",
                  "Total tokens": "total_tokens"}  # fmt: skip


@pytest.fixture
def wide(projects):
    write_corpus(projects)
    return projects


def at(width: int, *args: str) -> str:
    r = cli(*args, env={"COLUMNS": str(width)})
    assert r.returncode == 0, r.stderr
    return r.stdout


def check_fits(text: str, width: int) -> None:
    for line in text.splitlines():
        assert cell_len(line) <= width, f"{cell_len(line)} > {width}: {line!r}"
    words = [w.rstrip(",;:") for w in text.split()]  # a sentence's punctuation
    assert not [w for w in words if CUT_NUMBER.match(w)], text
    assert not [w for w in words if w.startswith("$") and w != "$/hour" and not MONEY.match(w)], text


def header_line(text: str, title: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(title))


def shown_ladder(text: str, title: str) -> list[str]:
    head = header_line(text, title)
    return [c for c in REPORT_LADDER if c != title and re.search(rf"\b{c}\b", head)]


def check_numbers_whole(text: str, data: dict, title: str) -> None:
    """Every number of the JSON report whose column is shown is in ``text``, whole."""
    head = header_line(text, title)
    fields = [f for h, f in NUMBER_HEADERS.items() if h in head]
    assert "input_tokens" in fields and "output_tokens" in fields, head
    words = set(text.split())
    lines = [*data["rows"], *(b for r in data["rows"] for b in r.get("breakdown", [])),
             data["totals"]]  # fmt: skip
    for n in lines:
        assert money(n["cost_usd"]) in words, (money(n["cost_usd"]), text)
        for f in fields:
            forms = {tokens(n[f], False), tokens(n[f], True)}
            assert forms & words, (f, n[f], text)


@pytest.mark.parametrize("name", GROUPED)
@pytest.mark.parametrize("extra", [(), ("--breakdown",)])
def test_grouped_reports_fit_at_every_width(wide, name, extra):
    args = (name, "-z", "UTC", *extra)
    data = json.loads(at(120, *args, "--json"))
    assert data["rows"]
    title = TITLES[name]
    everything = shown_ladder(at(400, *args), title)
    before = -1
    for width in WIDTHS:
        text = at(width, *args)
        check_fits(text, width)
        check_numbers_whole(text, data, title)
        shown = shown_ladder(text, title)
        missing = [c for c in everything if c not in shown]
        assert missing == everything[: len(missing)], (width, missing, everything)
        assert len(shown) >= before, (width, shown)
        before = len(shown)


def test_session_rows_show_project_and_last_activity(wide):
    data = json.loads(at(120, "session", "-z", "Asia/Tokyo", "--json"))
    for row in data["rows"]:
        assert row["project"].startswith("/") and row["last_activity"].endswith("Z")
        # the day in the report's zone: 23:xx UTC is the next day in Tokyo
        assert row["last_activity_date"] >= row["last_activity"][:10]
    text = at(200, "session", "-z", "Asia/Tokyo")
    head = header_line(text, "Session")
    assert "Project" in head and "Last activity" in head
    for row in data["rows"]:
        line = next(x for x in text.splitlines() if x.startswith(row["key"][:8]))
        assert line.rstrip().endswith(row["last_activity_date"]), line
    assert "…/billing-reconciliation-engine" in text  # a long path keeps its end


def test_blocks_fit_at_every_width(wide):
    data = json.loads(at(120, "blocks", "-z", "UTC", "--json"))
    for width in WIDTHS:
        text = at(width, "blocks", "-z", "UTC")
        check_fits(text, width)
        words = set(text.split())
        for row in [*data["rows"], data["totals"]]:
            assert money(row["cost_usd"]) in words
            assert {tokens(row["total_tokens"], False), tokens(row["total_tokens"], True)} & words


def test_rates_show_whole_model_names_at_every_width(sandbox):
    models = [m["model"] for m in json.loads(at(120, "rates", "--json"))["models"]]
    for width in WIDTHS:
        text = at(width, "rates")
        check_fits(text, width)
        words = set(text.split())
        assert [m for m in models if m not in words] == [], text


def test_sql_headers_and_numbers_stay_whole(wide):
    query = ("SELECT session_id, cwd AS working_directory_of_the_request, model, "
             "ts, input_tokens, output_tokens, cache_read_tokens FROM requests ORDER BY ts "
             "LIMIT 5")  # fmt: skip
    out = json.loads(at(120, "sql", query, "--json"))
    for width in WIDTHS:
        r = cli("sql", query, env={"COLUMNS": str(width)})
        assert r.returncode == 0, r.stderr
        check_fits(r.stdout, width)
        left_out = re.search(r"columns left out at this width: (.*) \(--json", r.stderr)
        hidden = left_out.group(1).split(", ") if left_out else []
        shown = [c for c in out["columns"] if c not in hidden]
        assert shown[0] == "session_id" and len(shown) >= 3
        head = r.stdout.splitlines()[0].split()
        assert [c for c in shown if c not in head] == [], r.stdout
        words = set(r.stdout.split())
        for row in out["rows"]:
            for c in shown:
                if isinstance(row[c], int):
                    assert str(row[c]) in words, (c, row[c], r.stdout)
                elif c == "ts":  # a time with its zone, which comes as text: whole too
                    assert row[c] in r.stdout, (row[c], r.stdout)


def test_runs_fit_at_every_width(sandbox):
    from ccspend.store import Store, finish_run, start_run

    store = Store(sandbox / "data" / "ccspend.duckdb")
    command = ("claude -p 'refactor the billing reconciliation engine so that retries are "
               "idempotent and every failure is logged with its request id' --max-turns 40")
    with store.connect(write=True) as con:
        for i in range(3):
            run_id = f"run-{i}"
            start_run(con, {"run_id": run_id, "task_id": f"JIRA-4821{i}-reconciliation",
                            "command": command, "cwd": "/srv/app", "host": "h", "pid": 1,
                            "session_id": None, "cap_usd": 25_000.0})  # fmt: skip
            finish_run(con, {"run_id": run_id, "status": "ok", "exit_code": 0,
                             "cost_usd": 12_345.67 * (i + 1), "stopped_by": None,
                             "session_id": None})  # fmt: skip
    for width in WIDTHS:
        text = at(width, "runs")
        check_fits(text, width)
        assert len(text.splitlines()) == 6, text  # title, header, 3 runs, the summary
        for i in range(3):
            assert money(12_345.67 * (i + 1)) in text.split()


def test_reconcile_and_import_fit(sandbox, projects):
    from tests.test_reconcile import FIXTURES

    write_corpus(projects)
    files = [str(FIXTURES / "anthropic_usage.json"), str(FIXTURES / "anthropic_cost.json")]
    for width in (80, 200):
        check_fits(at(width, "import", *files), width)
    out = json.loads(at(120, "reconcile", "--json"))
    assert out["rows"]
    for width in WIDTHS:
        text = at(width, "reconcile", "--no-ingest")
        check_fits(text, width)
        assert len(text.splitlines()) == len(out["rows"]) + 1, text  # no row wraps
        words = set(text.split())
        for row in out["rows"]:
            assert row["day"] in words and f"{row['diff_usd']:+,.4f}" in words


GOLDEN_CASES = {
    "session": ["session"],
    "daily-breakdown": ["daily", "--breakdown"],
    "project": ["project"],
    "blocks": ["blocks"],
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_wide_corpus_golden(name, wide, tmp_path):
    """The layouts themselves at 80, 120 and 200 columns, through the console entry."""
    db = str(tmp_path / "wide.duckdb")
    for width in (80, 120, 200):
        args = [*GOLDEN_CASES[name], "--claude-dir", str(wide), "--db", db, "-z", "UTC"]
        r = run_cli(*args, env={"COLUMNS": str(width), "NO_COLOR": "1", "TERM": "dumb"})
        assert r.returncode == 0, r.stderr
        check_fits(r.stdout, width)
        path = GOLDEN / f"{name}-{width}.txt"
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(r.stdout, encoding="utf-8")
        assert r.stdout == path.read_text(encoding="utf-8"), f"{path.name} differs"
