"""The warm path: a repeated report is answered from cache only while nothing changed."""

import json

from ccspend import fastpath
from tests.conftest import run_cli
from tests.logs import append, assistant, write


def test_repeated_report_is_served_from_cache_and_identical(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    first = run_cli("daily", "--json")
    cache = sandbox / "data" / "ccspend.duckdb.cache"
    assert first.returncode == 0 and len(list(cache.iterdir())) == 1
    second = run_cli("daily", "--json")
    assert second.stdout == first.stdout and second.stderr == first.stderr


def test_cache_answers_without_importing_duckdb(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant()])
    assert run_cli("daily").returncode == 0
    import subprocess
    import sys

    code = (
        "import sys; from ccspend.fastpath import serve; ok = serve(['daily']); "
        "print(ok, 'duckdb' in sys.modules, 'typer' in sys.modules, 'rich' in sys.modules, "
        "file=sys.stderr)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stderr.strip().splitlines()[-1] == "True False False False"


def test_a_new_log_line_invalidates_the_cache(sandbox, projects):
    f = write(projects / "p" / "s.jsonl", [assistant(msg="a")])
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["requests"] == 1
    append(f, [assistant(msg="b")])
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["requests"] == 2


def test_a_price_override_invalidates_the_cache(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant(model="acme-2", inp=1_000_000, out=0)])
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["cost_usd"] == 0
    cfg = sandbox / "config"
    cfg.mkdir()
    (cfg / "rates.toml").write_text(
        '[[model]]\nname = "acme-2"\nprovider = "local"\n[[model.price]]\n'
        "effective_from = 2020-01-01\ninput = 2\noutput = 2\n"
    )
    assert json.loads(run_cli("daily", "--json").stdout)["totals"]["cost_usd"] == 2.0


def test_options_change_the_answer(sandbox, projects):
    write(projects / "p" / "s.jsonl", [assistant(ts="2026-09-01T02:00:00Z")])
    utc = json.loads(run_cli("daily", "--json", "-z", "UTC").stdout)
    la = json.loads(run_cli("daily", "--json", "-z", "America/Los_Angeles").stdout)
    assert utc["rows"][0]["key"] != la["rows"][0]["key"]


def test_parse_declines_what_it_does_not_know():
    assert fastpath.parse(["rates"]) is None
    assert fastpath.parse(["daily", "--demo"]) is None
    assert fastpath.parse(["--since", "feat/x"]) is None
    assert fastpath.parse(["weekly", "--since=2026-01-01", "-z", "UTC"])["name"] == "weekly"
