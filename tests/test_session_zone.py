"""A cold report's numbers do not depend on the machine's time zone.

Why: DuckDB's session time zone is per connection and starts as the machine's.
The report keeps one connection open from the ingest's write to its read
(``Store.keep_open``), and the refresh sums the rollup's 15-minute buckets on
it; a bucket made there in the machine's zone missed the buckets the ingest's
connection marked in UTC, and a cold report under TZ=Pacific/Kiritimati showed
under half of the requests. The test suite runs with TZ=UTC (``sandbox``), so
this runs the real command with the machine's zone far from UTC.
"""

from __future__ import annotations

import json

from tests.conftest import run_cli
from tests.logs import assistant


def test_cold_report_same_in_any_machine_zone(projects, sandbox):
    lines = [assistant(ts=f"2026-09-0{day}T{hour:02d}:{minute:02d}:05.402Z",
                       msg=f"msg_{day}_{hour}_{minute}", req=f"req_{day}_{hour}_{minute}",
                       out=100 + day + hour + minute)
             for day in (1, 2, 3) for hour in (0, 11, 23) for minute in (5, 40)]  # fmt: skip
    session = projects / "-home-dev-app" / "s1.jsonl"
    session.parent.mkdir(parents=True)
    session.write_text("".join(json.dumps(line) + "\n" for line in lines))
    answers = {}
    for zone in ("UTC", "Pacific/Kiritimati", "America/Adak"):
        db = sandbox / f"{zone.replace('/', '-')}.duckdb"  # a fresh database: a cold report
        r = run_cli("daily", "--json", "--timezone", "UTC", "--db", str(db), env={"TZ": zone})
        assert r.returncode == 0, r.stderr
        answers[zone] = json.loads(r.stdout)
        assert answers[zone]["totals"]["requests"] == len(lines), zone
    assert answers["Pacific/Kiritimati"] == answers["UTC"]
    assert answers["America/Adak"] == answers["UTC"]
