"""Exact to 1e-6 USD per key, on generated corpora with every trap, in several zones.

The generator (bench/gen_corpus.py) and the checker (bench/check_exact.py)
are an independent implementation of the log and pricing rules: they share
no code with ccspend.
"""

import pytest

from ccspend.ingest.claude import ingest_claude
from ccspend.reports.build import REPORTS, ReportRequest, build_report
from ccspend.store import Store
from ccspend.store.queries import Filters
from tests.bench_modules import load

gen = load("gen_corpus")
check = load("check_exact")


@pytest.mark.parametrize("seed", [3, 11])
def test_every_report_matches_the_truth(tmp_path, card, seed):
    corpus = tmp_path / "corpus"
    gen.generate(corpus, 1.5, seed=seed)
    truth = check.Truth(corpus / "truth.json")
    store = Store(tmp_path / "db.duckdb")
    ingest_claude(store, [corpus / "projects"])
    # a second ingest changes nothing
    assert ingest_claude(store, [corpus / "projects"]).records == 0
    for tz in ("UTC", "America/Los_Angeles", "Asia/Kolkata"):
        for name in REPORTS:
            got = build_report(store, card, ReportRequest(name, Filters(tz=tz))).to_json()
            problems = check.compare(check.expected(truth, name, tz), got, name, tz)
            assert problems == [], f"{name} {tz}: {problems[:5]}"


def test_filtered_reports_equal_the_same_rows_of_the_full_report(tmp_path, card):
    """Time filters skip old history before deduplication; that must change no row."""
    from datetime import date, timedelta

    corpus = tmp_path / "corpus"
    gen.generate(corpus, 1.5, seed=9)
    store = Store(tmp_path / "db.duckdb")
    ingest_claude(store, [corpus / "projects"])
    for tz in ("UTC", "Pacific/Kiritimati", "America/Los_Angeles"):
        full = build_report(store, card, ReportRequest("daily", Filters(tz=tz))).to_json()
        rows = {r["key"]: r for r in full["rows"]}
        days = sorted(rows)
        first = date.fromisoformat(days[0])
        for start, length in ((0, 1), (3, 10), (20, 2), (40, 60)):
            since = first + timedelta(days=start)
            until = since + timedelta(days=length)
            got = build_report(
                store, card, ReportRequest("daily", Filters(tz=tz, since=since, until=until))
            ).to_json()
            want = [rows[k] for k in days if since.isoformat() <= k <= until.isoformat()]
            assert got["rows"] == want, (tz, since, until)
