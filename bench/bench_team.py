#!/usr/bin/env python3
"""Team reports at team scale (issue #18): 50 users x a year, in PostgreSQL and a Parquet folder.

    nice -n 10 python bench/bench_team.py [--users 50] [--days 365] [--per-day 1370]
                                          [--pg-url URL] [--keep DIR] [--reuse] [--no-export]

1. Generates the team table's rows in DuckDB (users x days x requests per day:
   about 25 million at the defaults), month by month for all users at once, with
   sessions of 40 consecutive requests (one machine, project and branch), three
   models (one not on the card: NULL cost); user00's two machines share sessions.
2. Writes each month as ``ccspend export --to DIR/`` lays a folder out, with the
   export's own writer (``team_folder.write_files``: the month files and their rollup
   files), and COPYs the rows into PostgreSQL in bulk: a throwaway server
   (tests/pg_server.py) unless --pg-url is given. The table is made by a real export;
   its secondary indexes and rollup are made again by a last real export after the load.
3. Times, as a user runs them (a child process, the best of three), ``ccspend monthly
   --team …`` over the last month (a team lead's monthly report: what the budget and
   the month-to-date show) and over the whole year, on each store.
4. Times the export itself per million rows: the staged rows of one machine merged
   into the folder (``store.team_folder.append``) and upserted into PostgreSQL
   (``store.postgres.append``), for a fresh million and for the same million again.

Prints the figures; the README and docs/team.md quote them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from ccspend.store import postgres, team_folder  # noqa: E402
from ccspend.store.team_table import NAMES  # noqa: E402

MODELS = (("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", 0.000015),
          ("claude-haiku-4-5", "claude-haiku-4-5", 0.000004),
          ("mystery-model-9", None, None))  # fmt: skip
START = date(2025, 12, 1)
PER_SESSION = 40  # requests per session: a session has one machine, project and branch


def rows_sql(users: int, first_day: int, days: int, per_day: int, user0: int = 0) -> str:
    """Users ``user0``.. ``user0 + users - 1``'s rows of days ``first_day``.. (from START),
    in the team table's columns (deterministic: the same request is the same row in
    every call). A session (``PER_SESSION`` consecutive requests, spread evenly over the
    day) has one machine, project and branch, as real sessions do; its requests mix three
    models (one not on the card:
    NULL cost). user00 alternates machines request by request, so its two machines'
    files share every session, as a synced ``~/.claude`` does: a folder reads them row by
    row and deduplicates."""
    span = days * per_day
    cases = " ".join(f"WHEN {i} THEN '{m}'" for i, (m, _, _) in enumerate(MODELS))
    names = " ".join(f"WHEN {i} THEN {repr(nm) if nm else 'NULL'}"
                     for i, (_, nm, _) in enumerate(MODELS))  # fmt: skip
    price = " ".join(f"WHEN {i} THEN {p if p is not None else 'NULL'}"
                     for i, (_, _, p) in enumerate(MODELS))  # fmt: skip
    return f"""
    WITH k AS (SELECT {user0} + k // {span} AS u, {first_day * per_day} + k % {span} AS i,
                      ({first_day * per_day} + k % {span}) // {PER_SESSION} AS s
               FROM range({users * span}) t(k))
    SELECT 'user' || lpad(u::VARCHAR, 2, '0') AS user_name,
        'host' || lpad(u::VARCHAR, 2, '0') || '-' || (CASE WHEN u = 0 THEN i ELSE s END % 2)
            AS machine,
        'msg_' || u || '_' || i || '|req_' || u || '_' || i AS request_key,
        TIMESTAMPTZ '{START} 00:00:00+00' + to_seconds((i // {per_day}) * 86400
            + (i % {per_day}) * {86400 // per_day} + hash(i, u) % {86400 // per_day}) AS ts,
        'claude-code' AS source, 'anthropic' AS provider,
        CASE i % 3 {cases} END AS model, CASE i % 3 {names} END AS model_name,
        '/home/user' || lpad(u::VARCHAR, 2, '0') || '/proj' || (s % 5) AS project,
        CASE WHEN s % 4 = 0 THEN 'main' ELSE 'feature-' || (s % 7) END AS branch,
        'sess-' || u || '-' || s AS session_id,
        (hash(i) % 5000)::BIGINT AS input_tokens, (hash(i, 1) % 2000)::BIGINT
            AS cache_write_5m_tokens, 0::BIGINT AS cache_write_1h_tokens,
        (hash(i, 2) % 90000)::BIGINT AS cache_read_tokens,
        (hash(i, 3) % 4000)::BIGINT AS output_tokens, 0::BIGINT AS web_search_requests,
        CAST((hash(i) % 5000) * (CASE i % 3 {price} END) AS DECIMAL(38, 12)) AS cost_usd,
        CAST((hash(i, 2) % 90000) * (CASE i % 3 {price} END) * 0.9 AS DECIMAL(38, 12))
            AS savings_usd,
        'bench' AS card_version,
        TIMESTAMPTZ '{START} 00:00:00+00' + to_seconds((i // {per_day}) * 86400 + 90000)
            AS exported_at
    FROM k"""


def months(days: int) -> list[tuple[str, int, int]]:
    """(YYYY-MM, first day index, days) of each calendar month of ``days`` from START."""
    out: list[tuple[str, int, int]] = []
    for d in range(days):
        m = (START + timedelta(days=d)).strftime("%Y-%m")
        if out and out[-1][0] == m:
            out[-1] = (m, out[-1][1], out[-1][2] + 1)
        else:
            out.append((m, d, 1))
    return out


def generate(folder: Path, pg_url: str | None, users: int, days: int, per_day: int) -> int:
    """Month by month, all users at once: the folder's files (and their rollup files)
    written by the export's own writer (``team_folder.write_files``), and the rows
    COPYed into PostgreSQL in bulk. The PostgreSQL table is made by a real export of the
    first rows; its secondary indexes are dropped for the load and, with the rollup,
    made again by a last real export (``postgres.append`` upgrades a table without them
    and sums a missing rollup from every row): the export's code, not a copy of it."""
    import psycopg

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cols = ", ".join(NAMES)
    total = 0
    tmp = Path(tempfile.mkdtemp(prefix="ccspend-bench-gen-"))
    stage = tmp / "first.csv"
    if pg_url:
        con.execute(f"COPY ({rows_sql(1, 0, 1, 10)}) TO '{stage}' (FORMAT csv, HEADER)")
        postgres.append(pg_url, "bench", "ccspend_usage", stage)  # the table, as an export
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DROP INDEX IF EXISTS ccspend_usage_ts, ccspend_usage_request_key")
            conn.execute("DROP TABLE IF EXISTS ccspend_usage_rollup")
            conn.execute("TRUNCATE ccspend_usage")
    for month, first, n in months(days):
        t0 = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TABLE g AS SELECT * FROM "
                    f"({rows_sql(users, first, n, per_day)}) ORDER BY user_name, machine, ts")
        total += con.execute("SELECT count(*) FROM g").fetchone()[0]
        month_dir = folder / f"month={month}"
        for user, machine in con.execute("SELECT DISTINCT user_name, machine FROM g "
                                         "ORDER BY 1, 2").fetchall():  # fmt: skip
            con.execute(f"CREATE OR REPLACE TEMP VIEW one AS SELECT * FROM g "
                        f"WHERE user_name = '{user}' AND machine = '{machine}'")
            team_folder.write_files(con, "one", month_dir, team_folder.file_name(user, machine))
        if pg_url:
            csv = tmp / "month.csv"
            con.execute(f"COPY (SELECT {cols} FROM g) TO '{csv}' (FORMAT csv, HEADER)")
            with psycopg.connect(pg_url) as conn, conn.cursor() as cur, cur.copy(
                f"COPY ccspend_usage ({cols}) FROM STDIN (FORMAT csv, HEADER)"
            ) as copy, open(csv, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
            csv.unlink()
        print(f"  {month}: {total:,} rows ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr, flush=True)
    if pg_url:
        t0 = time.perf_counter()
        postgres.append(pg_url, "bench", "ccspend_usage", stage)  # indexes and the rollup
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE ccspend_usage")
            conn.execute("VACUUM ANALYZE ccspend_usage_rollup")
            n_roll = conn.execute("SELECT count(*) FROM ccspend_usage_rollup").fetchone()[0]
        print(f"  postgres indexes and rollup ({n_roll:,} rows) by an export: "
              f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return total


def best_of(args: list[str], env: dict, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "ccspend", *args], env=env,
                           capture_output=True, text=True)  # fmt: skip
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"ccspend {' '.join(args)} failed: {r.stderr.strip()}")
    return min(times)


def export_per_million(folder: Path, pg_url: str | None) -> dict:
    """The export's write side for one machine's million rows, fresh and again."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        sql = rows_sql(1, 0, 730, 1370, user0=99)
        con.execute(f"CREATE TABLE g AS SELECT * REPLACE ('bench-export' AS machine) "
                    f"FROM ({sql}) LIMIT 1000000")  # fmt: skip
        stage_pq, stage_csv = Path(tmp) / "rows.parquet", Path(tmp) / "rows.csv"
        con.execute(f"COPY g TO '{stage_pq}' (FORMAT parquet)")
        con.execute(f"COPY g TO '{stage_csv}' (FORMAT csv, HEADER)")
        for label in ("fresh", "again"):
            t0 = time.perf_counter()
            team_folder.append(folder, stage_pq, "user99", "bench-export")
            out[f"folder {label}"] = time.perf_counter() - t0
            if pg_url:
                t0 = time.perf_counter()
                postgres.append(pg_url, "bench", "ccspend_usage", stage_csv)
                out[f"postgres {label}"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=1370)
    ap.add_argument("--pg-url", help="an existing PostgreSQL (default: a throwaway server)")
    ap.add_argument("--no-pg", action="store_true", help="the Parquet folder only")
    ap.add_argument("--keep", type=Path, help="write the folder here and keep it")
    ap.add_argument("--reuse", action="store_true",
                    help="time the stores --keep and --pg-url already hold (no generation)")
    ap.add_argument("--no-export", action="store_true", help="skip the export timings")
    a = ap.parse_args()
    server = None
    pg_url = a.pg_url
    if not pg_url and not a.no_pg:
        sys.path.insert(0, str(ROOT / "tests"))
        import pg_server

        server = pg_server.start("-c fsync=off -c shared_buffers=1GB -c work_mem=64MB "
                                 "-c max_parallel_workers_per_gather=2")  # fmt: skip
        if isinstance(server, str):
            raise SystemExit(server)
        pg_url = server.url()
    work = Path(tempfile.mkdtemp(prefix="ccspend-bench-team-"))
    folder = a.keep or work / "team"
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(HOME=str(work), CCSPEND_CONFIG_DIR=str(work / "config"), TZ="UTC",
               CCSPEND_DB=str(work / "local.duckdb"), XDG_DATA_HOME=str(work / "xdg"))
    try:
        if not a.reuse:
            t0 = time.perf_counter()
            n = generate(folder, pg_url, a.users, a.days, a.per_day)
            print(f"generated {n:,} rows ({a.users} users x {a.days} days) in "
                  f"{time.perf_counter() - t0:.0f} s (load {os.getloadavg()[0]:.1f})")
        last = duckdb.connect().execute(
            f"SELECT max(month) FROM read_parquet('{folder}/month=*/*.parquet', "
            "hive_partitioning = true)").fetchall()[0][0]  # fmt: skip
        first_day = f"{last}-01"
        month = ["--since", first_day, "--until", f"{last}-28"]
        stores = [("parquet folder", str(folder))] + ([("postgresql", pg_url)] if pg_url else [])
        for label, where in stores:
            for what, extra in (("monthly, one month", month), ("monthly, whole year", [])):
                t = best_of(["monthly", "--team", where, "--json", *extra], env)
                print(f"{label:15} {what:20} {t:6.2f} s   (load {os.getloadavg()[0]:.1f})")
        for label, t in ({} if a.no_export else export_per_million(folder, pg_url)).items():
            print(f"export 1,000,000 rows: {label:16} {t:6.2f} s")
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        if server is not None:
            pg_server.stop(server)
        if a.keep is None:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
