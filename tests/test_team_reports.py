"""Reports over a team store (--team): a real PostgreSQL server, a real DuckDB file and a
real Parquet folder written by several exporting processes at once.

Two people's halves of one corpus are exported by each; every team report must equal
the report of one local store holding both halves (the truth), per day to 1e-6 USD,
and split it by user correctly. The dedup, the read-only role, the errors (one line,
never the password) and the team budget are checked against the same stores.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests import pg_server
from tests.conftest import cli, run_cli
from tests.logs import assistant, write
from tests.pg_server import PASSWORD, free_port

pg_module = pg_server.pg  # the throwaway server, one for this module's tests


@pytest.fixture
def pg(pg_module):
    """The server with no team table yet: each test exports into its own."""
    pg_module.execute("DROP TABLE IF EXISTS ccspend_usage, ccspend_usage_rollup; "
                      "DROP ROLE IF EXISTS reader")
    return pg_module

MODELS = ("claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-opus-4-1-20250805",
          "mystery-model-9")  # the last is not on the card: unpriced, never $0


def corpus(folder: Path, who: str, seed: int, n: int = 120) -> None:
    """``n`` requests of one person over three weeks, in three projects and sessions."""
    rnd = random.Random(seed)
    lines = []
    for i in range(n):
        day, hour, minute = rnd.randint(1, 21), rnd.randint(0, 23), rnd.randint(0, 59)
        lines.append(assistant(
            ts=f"2026-09-{day:02d}T{hour:02d}:{minute:02d}:{i % 60:02d}.000Z",
            msg=f"msg_{who}_{i}", req=f"req_{who}_{i}", model=rnd.choice(MODELS),
            inp=rnd.randint(1, 5000), out=rnd.randint(1, 4000),
            cache_write=rnd.randint(0, 3000), cache_read=rnd.randint(0, 90000),
            session=f"sess-{who}-{i % 3}", cwd=f"/home/{who}/proj{i % 3}",
            branch=rnd.choice(("main", "feature")),
        ))  # fmt: skip
    write(folder / "projects" / "p" / "s.jsonl", lines)


@pytest.fixture
def halves(sandbox) -> dict:
    """Two people's logs, each in a Claude dir and a database of its own."""
    out = {}
    for who, seed in (("ann", 1), ("bob", 2)):
        claude = sandbox / f"claude-{who}"
        corpus(claude, who, seed)
        out[who] = (claude, sandbox / f"{who}.duckdb")
    return out


def truth(halves: dict, name: str = "daily", *args: str) -> dict:
    """The report of one local store holding both halves."""
    dirs = [a for claude, _ in halves.values() for a in ("--claude-dir", str(claude))]
    r = cli(name, "--json", *dirs, *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def export_cmd(target: str, halves: dict, who: str, machine: str) -> list[str]:
    claude, db = halves[who]
    return [sys.executable, "-m", "ccspend", "export", "--to", target, "--user", who,
            "--machine", machine, "--claude-dir", str(claude), "--db", str(db)]


def export_all(target: str, halves: dict, jobs=(("ann", "laptop"), ("bob", "desktop"))) -> None:
    """Each job exports at the same time, in a process of its own."""
    procs = [subprocess.Popen(export_cmd(target, halves, who, m), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for who, m in jobs]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err


def team(target: str, name: str = "daily", *args: str) -> dict:
    r = cli(name, "--team", target, "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def assert_same(got: dict, want: dict) -> None:
    """Per row: the same keys, requests and tokens, the cost to 1e-6 USD."""
    assert [r["key"] for r in got["rows"]] == [r["key"] for r in want["rows"]]
    for g, w in zip(got["rows"], want["rows"], strict=True):
        assert abs(g["cost_usd"] - w["cost_usd"]) < 1e-6, g["key"]
        assert abs(g["cache_savings_usd"] - w["cache_savings_usd"]) < 1e-6, g["key"]
        for field in ("requests", "input_tokens", "output_tokens", "cache_write_tokens",
                      "cache_read_tokens", "total_tokens", "models"):
            assert g[field] == w[field], (g["key"], field)
    assert abs(got["totals"]["cost_usd"] - want["totals"]["cost_usd"]) < 1e-6
    assert got["unpriced"] == want["unpriced"]


def check_store(target: str, halves: dict) -> None:
    """Every report the team store answers equals the single store's truth."""
    for name, args in (("daily", ()), ("daily", ("-z", "Pacific/Auckland")), ("weekly", ()),
                       ("monthly", ()), ("session", ()), ("model", ()), ("project", ()),
                       ("branch", ()), ("source", ()), ("daily", ("--since", "2026-09-05", "--until",
                                                  "2026-09-12", "-z", "America/New_York")),
                       ("daily", ("--project", "/home/ann/proj1")),
                       ("daily", ("--branch", "feature"))):  # fmt: skip
        got = team(target, name, *args)
        assert_same(got, truth(halves, name, *args))
        assert got["team"]["duplicates_dropped"] == 0
    # the split by user: each person's own half, exactly
    users = team(target, "user")
    assert sorted(r["key"] for r in users["rows"]) == ["ann", "bob"]
    for row in users["rows"]:
        claude, _ = halves[row["key"]]
        r = cli("daily", "--json", "--claude-dir", str(claude), "--db",
                str(halves[row["key"]][1]) + ".truth")  # fmt: skip
        alone = json.loads(r.stdout)["totals"]
        assert abs(row["cost_usd"] - alone["cost_usd"]) < 1e-6
        assert row["requests"] == alone["requests"]
        assert team(target, "daily", "--user", row["key"])["totals"]["requests"] == row["requests"]
    machines = team(target, "machine")
    assert {r["key"]: r["requests"] for r in machines["rows"]} == {
        "laptop": team(target, "daily", "--user", "ann")["totals"]["requests"],
        "desktop": team(target, "daily", "--user", "bob")["totals"]["requests"]}


# -- a Parquet folder ----------------------------------------------------------------------


def test_folder_written_by_processes_at_once_equals_the_truth(halves, sandbox):
    folder = sandbox / "shared"
    # three exporters at once: two people, and ann's synced ~/.claude on a second machine
    export_all(f"{folder}/", halves, (("ann", "laptop"), ("bob", "desktop"), ("ann", "zz-sync")))
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))
    files = ["ann@laptop.parquet", "ann@zz-sync.parquet", "bob@desktop.parquet"]
    assert names == [f"month=2026-09/{f}" for f in files] + [
        f"month=2026-09/rollup/{f}" for f in files]  # each file's rollup beside it
    got = team(str(folder), "daily")
    assert_same(got, truth(halves))
    assert got["team"]["duplicates_dropped"] == 120  # ann's copies, counted once


def test_folder_reports(halves, sandbox):
    folder = sandbox / "shared"
    export_all(f"{folder}/", halves)
    check_store(str(folder), halves)


def test_folder_export_is_idempotent_and_replaces_a_changed_row(halves, sandbox, tmp_path):
    folder = sandbox / "shared"
    cmd = export_cmd(f"{folder}/", halves, "ann", "laptop")
    subprocess.run(cmd, check=True, capture_output=True)
    f = folder / "month=2026-09" / "ann@laptop.parquet"
    before = (f.read_bytes(), f.stat().st_mtime_ns)
    again = subprocess.run([*cmd, "--json"], check=True, capture_output=True, text=True)
    assert json.loads(again.stdout)["new"] == 0 and json.loads(again.stdout)["updated"] == 0
    assert (f.read_bytes(), f.stat().st_mtime_ns) == before  # nothing new: not rewritten
    # a response that was still streaming: its final line replaces it, no second row
    claude, _ = halves["ann"]
    write(claude / "projects" / "p" / "late.jsonl", [
        assistant(ts="2026-09-03T10:00:00.000Z", msg="msg_ann_0", req="req_ann_0",
                  model=MODELS[0], inp=1, out=999_999)])  # fmt: skip
    third = json.loads(subprocess.run([*cmd, "--json"], check=True, capture_output=True,
                                      text=True).stdout)  # fmt: skip
    assert (third["new"], third["updated"]) == (0, 1)
    got = team(str(folder), "daily", "--user", "ann")
    assert got["totals"]["requests"] == 120
    assert got["totals"]["output_tokens"] == truth({"ann": halves["ann"]})["totals"][
        "output_tokens"]


def test_a_reader_never_reads_a_writer_s_temp_file(halves, sandbox):
    folder = sandbox / "shared"
    export_all(f"{folder}/", halves)
    # a writer caught mid-write, and a sync tool's partial download: neither is read
    (folder / "month=2026-09" / ".ann@laptop.parquet.tmp-1-ab").write_bytes(b"PAR1 half")
    (folder / "month=2026-09" / ".syncthing.bob.parquet.tmp").write_bytes(b"PAR1 half")
    assert_same(team(str(folder)), truth(halves))


def test_empty_folder_is_an_empty_report(sandbox):
    (sandbox / "empty").mkdir()
    got = team(str(sandbox / "empty"))
    assert got["rows"] == [] and got["totals"]["requests"] == 0


# -- dedup -----------------------------------------------------------------------------------


def test_copies_count_once_under_the_first_exporter(halves, sandbox):
    folder = sandbox / "shared"
    export_all(f"{folder}/", halves, (("ann", "desktop"),))
    export_all(f"{folder}/", halves, (("ann", "laptop"),))  # later: its rows are the copies
    machines = team(str(folder), "machine")
    assert [(r["key"], r["requests"]) for r in machines["rows"]] == [("desktop", 120)]
    assert machines["team"]["duplicates_dropped"] == 120
    assert team(str(folder), "daily", "--machine", "laptop")["totals"]["requests"] == 0
    assert_same(team(str(folder)), truth({"ann": halves["ann"]}))
    r = cli("daily", "--team", str(folder))
    assert "120 duplicate rows dropped" in r.stderr


# -- a shared DuckDB file --------------------------------------------------------------------


def test_duckdb_file_reports(halves, sandbox):
    path = sandbox / "team.duckdb"
    for who, machine in (("ann", "laptop"), ("bob", "desktop")):
        subprocess.run(export_cmd(str(path), halves, who, machine), check=True,
                       capture_output=True)  # fmt: skip
    check_store(str(path), halves)


# -- PostgreSQL ------------------------------------------------------------------------------


def test_postgres_reports_with_a_read_only_role(pg, halves):
    export_all(pg.url(), halves)
    pg.execute("CREATE ROLE reader LOGIN PASSWORD 'rd-Only-77'; "
                  "GRANT SELECT ON ccspend_usage TO reader")  # fmt: skip
    reader = pg.url().replace(f"ccspend:{PASSWORD}", "reader:rd-Only-77")
    check_store(reader, halves)
    # the reader may not write: the report's transaction is read-only, and so is the role
    import psycopg

    with pytest.raises(psycopg.errors.InsufficientPrivilege), psycopg.connect(reader) as c:
        c.execute("DELETE FROM ccspend_usage")


def test_postgres_budget_counts_everyone(pg, sandbox):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    halves = {}
    for i, who in enumerate(("ann", "bob")):  # this month's spend: a budget's period is now's
        ts = (now - timedelta(minutes=5 + i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        claude = sandbox / f"claude-{who}"
        write(claude / "projects" / "p" / "s.jsonl", [
            assistant(ts=ts, msg=f"m-{who}", req=f"r-{who}", inp=100_000 * (i + 1),
                      out=20_000, model=MODELS[0])])  # fmt: skip
        halves[who] = (claude, sandbox / f"{who}.duckdb")
    export_all(pg.url(), halves)
    want = truth(halves, "daily", "-z", "UTC")["totals"]["cost_usd"]
    assert want > 0
    assert cli("budget", "set", "monthly", "1000").returncode == 0
    r = cli("budget", "--json", "-z", "UTC", "--team", pg.url())
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)["budgets"][0]
    assert abs(row["used"] - want) < 1e-6
    r = cli("budget", "--json", "-z", "UTC", "--team", pg.url(), "--no-ingest")
    assert r.returncode == 2 and "--team" in r.stderr


def test_wrong_password_unreachable_and_bad_url_are_one_line(pg, halves):
    export_all(pg.url(), halves, (("ann", "laptop"),))
    wrong = pg.url(password="not-" + PASSWORD)
    for url in (wrong, f"postgresql://ann:{PASSWORD}@127.0.0.1:{free_port()}/team"
                "?connect_timeout=3"):  # fmt: skip
        r = run_cli("daily", "--team", url)
        assert r.returncode == 1 and r.stdout == "", r.stderr
        assert r.stderr.count("\n") == 1 and PASSWORD not in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    r = run_cli("daily", "--team", "ftp://somewhere/x")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    r = run_cli("daily", "--team", f"postgresql://ann:{PASSWORD}@/db?port=notaport")
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and PASSWORD not in r.stderr
    r = run_cli("daily", "--team", pg.url(), "--user", "ann", "--json",
                env={"PGPASSWORD": PASSWORD})  # fmt: skip
    assert r.returncode == 0 and json.loads(r.stdout)["totals"]["requests"] == 120


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("--db", "x.duckdb"), ("--claude-dir", "/tmp"), ("--demo",),
                                  ("--no-ingest",)])  # fmt: skip
def test_local_only_options_are_refused_with_team(sandbox, args):
    (sandbox / "t").mkdir()
    r = run_cli("daily", "--team", str(sandbox / "t"), *args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--team" in r.stderr


@pytest.mark.parametrize("args", [("user",), ("machine",), ("daily", "--user", "ann"),
                                  ("daily", "--machine", "m")])  # fmt: skip
def test_team_only_reports_and_filters_need_a_team_store(sandbox, args):
    r = run_cli(*args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--team" in r.stderr


def test_ccspend_team_and_the_config_name_the_store_and_skip_the_cache(halves, sandbox):
    folder = sandbox / "shared"
    export_all(f"{folder}/", halves, (("bob", "desktop"),))
    want_bob = truth({"bob": halves["bob"]})
    local = {"CLAUDE_CONFIG_DIR": str(halves["ann"][0]), "CCSPEND_DB": str(halves["ann"][1])}
    for _ in range(2):  # the second answer is the cached one
        mine = run_cli("daily", "--json", env=local)
        assert mine.returncode == 0 and "team" not in json.loads(mine.stdout)
    by_env = run_cli("daily", "--json", env={**local, "CCSPEND_TEAM": str(folder)})
    assert json.loads(by_env.stdout)["team"]["store"] == str(folder)
    assert_same(json.loads(by_env.stdout), want_bob)  # the team's rows, not ann's cached answer
    config = Path(os.environ["CCSPEND_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(f'[team]\nurl = "{folder}"\n')
    by_config = run_cli("daily", "--json", env=local)
    assert json.loads(by_config.stdout)["team"]["store"] == str(folder)
    assert_same(json.loads(by_config.stdout), want_bob)


def test_chart_and_html_over_a_team_store(halves, sandbox):
    folder = sandbox / "shared"
    export_all(f"{folder}/", halves)
    r = cli("daily", "--team", str(folder), "--chart")
    assert r.returncode == 0 and "cost by model" in r.stdout
    page = sandbox / "team.html"
    r = cli("report", "--html", str(page), "--team", str(folder))
    assert r.returncode == 0, r.stderr
    assert "sess-ann-0" in page.read_text() or "sess-ann" in page.read_text()
    r = cli("blocks", "--team", str(folder), "--json")
    assert r.returncode == 0, r.stderr
    blocks = json.loads(r.stdout)
    assert blocks["totals"]["requests"] == truth(halves, "daily")["totals"]["requests"]


# -- the dedup decided where rows come in -----------------------------------------------------

K1, K2, K3 = "msg_1|req_1", "msg_2|req_2", "msg_3|req_3"


def _stage(tmp: Path, rows: list[tuple], fmt: str) -> Path:
    """A staged export (the team table's columns) of (machine, request key, exported at,
    output tokens) rows, in the file format the store takes."""
    import duckdb

    from ccspend.store.team_table import NAMES

    out = tmp / f"stage-{random.random()}.{fmt}"
    values = ", ".join(
        f"('ann', '{m}', '{k}', TIMESTAMPTZ '2026-09-03 10:00:00+00', 'claude-code', 'anthropic', "
        f"'claude-haiku-4-5', 'claude-haiku-4-5', '/p', 'main', 's1', 1000, 0, 0, 0, {out_tok}, 0, "
        f"CAST({out_tok} * 0.000005 AS DECIMAL(38, 12)), CAST(0.25 AS DECIMAL(38, 12)), 'card', "
        f"TIMESTAMPTZ '2026-10-01 {at}:00+00')" for m, k, at, out_tok in rows)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE s ({', '.join(NAMES)}) AS SELECT * FROM (VALUES {values})")
    opts = "FORMAT csv, HEADER" if fmt == "csv" else "FORMAT parquet"
    con.execute(f"COPY s TO '{out}' ({opts})")
    con.close()
    return out


# Each step exports (machine, key, exported at, output tokens) rows; after it, the machine
# each response counts under. "early" exports its copy of K1 after the others but with an
# earlier exported_at (a clock behind, an upload held back): it becomes K1's first copy.
# desktop's K2 changes (exported_at moves after laptop's): laptop's copy counts. "aaa" ties
# laptop's K3 on exported_at: the machine name decides.
STEPS = [
    ([("desktop", K1, "10:00", 10), ("desktop", K2, "10:00", 10)],
     {K1: "desktop", K2: "desktop"}),
    ([("laptop", K1, "11:00", 10), ("laptop", K2, "11:00", 10), ("laptop", K3, "11:00", 10)],
     {K1: "desktop", K2: "desktop", K3: "laptop"}),
    ([("early", K1, "09:00", 10)], {K1: "early", K2: "desktop", K3: "laptop"}),
    ([("desktop", K1, "12:00", 10), ("desktop", K2, "12:00", 99)],
     {K1: "early", K2: "laptop", K3: "laptop"}),
    ([("aaa", K3, "11:00", 10)], {K1: "early", K2: "laptop", K3: "aaa"}),
]


def _machines(store, **kw) -> tuple[dict, int]:
    from ccspend.store import team_read
    from ccspend.store.queries import Filters

    got = team_read.summarise(store, "machine", Filters(), **kw)
    return {a.key: a.requests for a in got.summary.groups}, got.duplicates


def _expect(first: dict) -> dict:
    out: dict = {}
    for m in first.values():
        out[m] = out.get(m, 0) + 1
    return out


def test_postgres_decides_copies_at_export_as_a_read_would(pg, tmp_path, monkeypatch):
    """``counted`` is decided by each export, in its transaction; a report only sums.
    After every step, the flags equal the documented rule and the report equals the
    one that decides by sorting at read time (a table without the flags)."""
    from ccspend.store import postgres, team_read
    from ccspend.store.team_read import TeamStore

    store = TeamStore(team_read.POSTGRES, "pg", url=pg.url())
    rows_seen = 0
    for rows, first in STEPS:
        postgres.append(pg.url(), "pg", "ccspend_usage", _stage(tmp_path, rows, "csv"))
        rows_seen = pg.query("SELECT count(*) FROM ccspend_usage")[0][0]
        counted = dict(pg.query("SELECT request_key, machine FROM ccspend_usage WHERE counted"))
        assert counted == first
        want = (_expect(first), rows_seen - len(first))
        assert _machines(store) == want
        # the same rows decided at read time (the statement for a table without flags)
        with monkeypatch.context() as m:
            m.setattr(team_read, "OPTIONAL", frozenset({"savings_usd"}))
            assert _machines(store) == want
    assert rows_seen == 7  # desktop 2, laptop 3, early 1, aaa 1: a change adds no row
    # desktop's K2 changed: one row, updated in place, its savings kept
    assert pg.query(f"SELECT output_tokens, savings_usd FROM ccspend_usage "
                    f"WHERE machine = 'desktop' AND request_key = '{K2}'") == [(99, Decimal("0.25"))]


def test_a_table_from_before_the_flags_is_decided_by_its_next_export(pg, tmp_path):
    """An older ccspend's table (no ``counted``, no ``savings_usd``): read by sorting
    until an export adds the columns and decides every copy already there."""
    from ccspend.store import postgres, team_read
    from ccspend.store.team_read import TeamStore
    from ccspend.store.team_table import COLUMNS, KEY

    cols = ", ".join(f"{c} {t}" for c, t in COLUMNS if c != "savings_usd")
    pg.execute(f"CREATE TABLE ccspend_usage ({cols}, PRIMARY KEY ({', '.join(KEY)}))")
    names = ", ".join(c for c, _ in COLUMNS if c != "savings_usd")
    for m, at in (("laptop", "11:00"), ("desktop", "10:00")):  # an older ccspend's rows
        pg.execute(f"INSERT INTO ccspend_usage ({names}) VALUES ('ann', '{m}', '{K1}', "
                   "'2026-09-03 10:00+00', 'claude-code', NULL, 'm', NULL, '/p', 'main', 's', "
                   f"1, 0, 0, 0, 1, 0, NULL, 'card', '2026-10-01 {at}+00')")  # fmt: skip
    store = TeamStore(team_read.POSTGRES, "pg", url=pg.url())
    assert _machines(store) == ({"desktop": 1}, 1)  # decided at read time
    postgres.append(pg.url(), "pg", "ccspend_usage",
                    _stage(tmp_path, [("bob-pc", K3, "12:00", 5)], "csv"))  # fmt: skip
    assert dict(pg.query("SELECT machine, counted FROM ccspend_usage WHERE request_key = "
                         f"'{K1}'")) == {"desktop": True, "laptop": False}  # fmt: skip
    assert _machines(store) == ({"desktop": 1, "bob-pc": 1}, 1)
    got = team_read.summarise(store, "daily", team_read.Filters())
    assert got.summary.total.savings_micro == Decimal("0.25") * 1_000_000  # old rows: NULL


def test_folder_decides_copies_at_read_by_the_same_rule(sandbox, tmp_path):
    """The folder's read-time dedup (only keys whose hash occurs twice are ranked) gives
    the same answer as PostgreSQL's flags, step by step."""
    from ccspend.store import team_folder, team_read
    from ccspend.store.team_read import TeamStore

    folder = sandbox / "shared"
    store = TeamStore(team_read.PARQUET, str(folder), path=folder)
    rows_seen = 0
    for rows, first in STEPS:
        by_machine: dict = {}
        for row in rows:
            by_machine.setdefault(row[0], []).append(row)
        for machine, mine in by_machine.items():
            new, _ = team_folder.append(folder, _stage(tmp_path, mine, "parquet"), "ann",
                                        machine)  # fmt: skip
            rows_seen += new
        assert _machines(store) == (_expect(first), rows_seen - len(first))
        assert _machines(store, machine="laptop")[0] == {
            m: n for m, n in _expect(first).items() if m == "laptop"}
