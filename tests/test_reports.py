"""Reports over the traps of the reference page: each counted once, in the right place."""

from datetime import date

import pytest

from ccspend.ingest.claude import ingest_claude
from ccspend.reports.build import ReportRequest, build_report
from ccspend.store.queries import Filters
from tests.logs import assistant, user, write

SONNET = 3 / 1e6  # USD per input token


def report(store, card, name, **filters):
    ingest_claude(store, [store.path.parent.parent / "claude" / "projects"])
    return build_report(store, card, ReportRequest(name, Filters(**{"tz": "UTC", **filters})))


def rows(rep):
    return {r["key"]: r for r in rep.to_json()["rows"]}


def test_one_response_on_several_lines_counts_once_with_largest_output(store, card, projects):
    write(
        projects / "p" / "s.jsonl",
        [
            assistant(msg="m", req="r", out=1, inp=1000),
            assistant(msg="m", req="r", out=1, inp=1000),
            assistant(msg="m", req="r", out=500, inp=1000),
        ],
    )
    t = report(store, card, "daily").to_json()["totals"]
    assert (t["input_tokens"], t["output_tokens"], t["requests"]) == (1000, 500, 1)


def test_resumed_session_copy_counts_once_in_the_original_session(store, card, projects):
    original = [
        assistant(session="orig", msg="m1", req="r1", ts="2026-09-01T10:00:00Z"),
        assistant(session="orig", msg="m2", req="r2", ts="2026-09-01T10:05:00Z"),
    ]
    resumed = [
        assistant(session="new", msg="m1", req="r1", ts="2026-09-01T10:00:00Z"),
        assistant(session="new", msg="m2", req="r2", ts="2026-09-01T10:05:00Z"),
        assistant(session="new", msg="m3", req="r3", ts="2026-09-02T09:00:00Z"),
    ]
    # the resumed file sorts first by path: attribution must not depend on that
    write(projects / "p" / "a-new.jsonl", resumed)
    write(projects / "p" / "z-orig.jsonl", original)
    r = rows(report(store, card, "session"))
    assert r["orig"]["requests"] == 2 and r["new"]["requests"] == 1


def test_resumed_copy_of_the_first_response_goes_to_the_session_that_began_first(
    store, card, projects
):
    """The original began with a user line; the resumed file begins with the copied response."""
    write(
        projects / "p" / "a-orig.jsonl",
        [
            user(session="orig", ts="2026-09-01T09:59:43.195Z"),
            assistant(session="orig", msg="m1", req="r1", ts="2026-09-01T09:59:46.387Z"),
        ],
    )
    write(
        projects / "p" / "0-new.jsonl",
        [
            assistant(session="new", msg="m1", req="r1", ts="2026-09-01T09:59:46.387Z"),
            assistant(session="new", msg="m2", req="r2", ts="2026-09-01T11:00:00Z"),
        ],
    )
    r = rows(report(store, card, "session"))
    assert r["orig"]["requests"] == 1 and r["new"]["requests"] == 1


def test_old_lines_without_request_id_dedupe_on_message_id(store, card, projects):
    write(
        projects / "p" / "s.jsonl",
        [assistant(msg="m", req=None, out=1), assistant(msg="m", req=None, out=9)],
    )
    write(projects / "p" / "t.jsonl", [assistant(msg="m", req=None, out=9)])
    t = report(store, card, "daily").to_json()["totals"]
    assert (t["requests"], t["output_tokens"]) == (1, 9)


def test_lines_without_message_id_are_all_counted(store, card, projects):
    write(projects / "p" / "s.jsonl", [assistant(msg=None, req=None)] * 3)
    assert report(store, card, "daily").to_json()["totals"]["requests"] == 3


def test_api_errors_cost_nothing_and_are_no_model(store, card, projects):
    write(
        projects / "p" / "s.jsonl",
        [assistant(msg="e", model="<synthetic>", inp=0, out=0, api_error=True), assistant()],
    )
    rep = report(store, card, "model")
    assert list(rows(rep)) == ["claude-sonnet-4-5"]
    assert rep.unpriced == []


def test_unknown_model_is_unpriced_with_its_tokens_never_zero(store, card, projects):
    write(projects / "p" / "s.jsonl", [assistant(model="acme-coder-2", inp=70, out=30)])
    rep = report(store, card, "model").to_json()
    assert rep["unpriced"] == [{"model": "acme-coder-2", "tokens": 100, "requests": 1}]
    assert rep["rows"][0]["key"] == "acme-coder-2"
    assert rep["totals"]["total_tokens"] == 100 and rep["totals"]["cost_usd"] == 0
    assert any("acme-coder-2" in w for w in rep["warnings"])


def test_days_follow_the_time_zone(store, card, projects):
    write(projects / "p" / "s.jsonl", [assistant(ts="2026-09-01T02:30:00Z")])
    assert list(rows(report(store, card, "daily"))) == ["2026-09-01"]
    la = build_report(store, card, ReportRequest("daily", Filters(tz="America/Los_Angeles")))
    assert [r.key for r in la.rows] == ["2026-08-31"]
    kol = build_report(store, card, ReportRequest("daily", Filters(tz="Asia/Kolkata")))
    assert [r.key for r in kol.rows] == ["2026-09-01"]


def test_weeks_start_on_monday_and_months(store, card, projects):
    write(
        projects / "p" / "s.jsonl",
        [
            assistant(msg="a", ts="2026-11-01T12:00:00Z"),  # a Sunday
            assistant(msg="b", ts="2026-11-02T12:00:00Z"),  # a Monday
        ],
    )
    assert list(rows(report(store, card, "weekly"))) == ["2026-10-26", "2026-11-02"]
    assert list(rows(report(store, card, "monthly"))) == ["2026-11"]


def test_since_until_are_inclusive_local_days(store, card, projects):
    write(
        projects / "p" / "s.jsonl",
        [assistant(msg=f"m{d}", ts=f"2026-09-0{d}T12:00:00Z") for d in range(1, 6)],
    )
    rep = report(store, card, "daily", since=date(2026, 9, 2), until=date(2026, 9, 4))
    assert list(rows(rep)) == ["2026-09-02", "2026-09-03", "2026-09-04"]


def test_branches_per_line_missing_and_empty_are_none(store, card, projects):
    write(
        projects / "p" / "s.jsonl",
        [
            assistant(msg="a", branch="main"),
            assistant(msg="b", branch="feat/x"),
            assistant(msg="c", branch=""),
            assistant(msg="d", branch=None),
            assistant(msg="e", branch="HEAD"),
        ],
    )
    r = rows(report(store, card, "branch"))
    assert r["(none)"]["requests"] == 2
    assert set(r) == {"main", "feat/x", "(none)", "HEAD"}


def test_subagents_count_in_the_parent_session(store, card, projects):
    write(projects / "p" / "parent.jsonl", [user(session="parent"), assistant(session="parent")])
    write(
        projects / "p" / "parent" / "subagents" / "agent-a1.jsonl",
        [assistant(session="parent", msg="sub", req="subr", sidechain=True, agent_id="a1")],
    )
    assert rows(report(store, card, "session"))["parent"]["requests"] == 2


def test_project_filter_and_keys(store, card, projects):
    write(
        projects / "-home-dev-my-site" / "s.jsonl",
        [assistant(msg="a", cwd="/home/dev/my.site"), assistant(msg="b", cwd="/home/dev/my.site/sub")],
    )
    write(projects / "-home-dev-other" / "s2.jsonl", [assistant(msg="c", cwd="/home/dev/other")])
    assert set(rows(report(store, card, "project"))) == {
        "/home/dev/my.site", "/home/dev/my.site/sub", "/home/dev/other"
    }
    rep = report(store, card, "daily", project="/home/dev/my.site")
    assert rep.to_json()["totals"]["requests"] == 2


def test_cache_hit_rate_and_savings(store, card, projects):
    write(projects / "p" / "s.jsonl", [assistant(inp=100, cache_read=900, out=0)])
    t = report(store, card, "daily").to_json()["totals"]
    assert t["cache_hit_rate"] == pytest.approx(0.9)
    assert t["cache_savings_usd"] == pytest.approx(900 * (3 - 0.3) / 1e6)


def test_breakdown_has_per_model_rows(store, card, projects):
    write(
        projects / "p" / "s.jsonl",
        [assistant(msg="a"), assistant(msg="b", model="claude-haiku-4-5")],
    )
    ingest_claude(store, [projects])
    rep = build_report(store, card, ReportRequest("daily", Filters(tz="UTC"), breakdown=True))
    sub = rep.to_json()["rows"][0]["breakdown"]
    assert {s["model"] for s in sub} == {"claude-sonnet-4-5", "claude-haiku-4-5"}


def test_skipped_lines_are_named_in_one_warning(store, card, projects):
    write(projects / "p" / "broken.jsonl", [assistant(), "garbage", "{oops"])
    w = report(store, card, "daily").to_json()["warnings"]
    assert w == ["skipped 2 bad log lines (unreadable, or an implausible count or date): "
                 "broken.jsonl (2)"]


def test_repricing_with_an_older_card_needs_no_reingest(store, card, projects):
    write(projects / "p" / "s.jsonl", [assistant(model="claude-3-5-haiku-20241022", inp=10**6, out=0)])
    now = report(store, card, "daily")
    then = build_report(
        store, card, ReportRequest("daily", Filters(tz="UTC"), card_at=date(2024, 11, 1))
    )
    assert float(now.cost_usd) == pytest.approx(0.8)
    assert float(then.cost_usd) == pytest.approx(1.0)
