"""Anthropic exports: the Admin API's JSON reports and the Console's CSV downloads.

Totals are written out by hand from the fixtures, not computed by the code under
test; money is compared as exact Decimals.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ccspend.imports import SNIFF_BYTES, ExportFormatError, anthropic, anthropic_console

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
FORMATS = {f.name: f for f in anthropic.FORMATS + anthropic_console.FORMATS}

# Which fixture belongs to which format; every other file there belongs to none of these.
OWNERS = {
    "anthropic_usage_page1.json": "anthropic-usage-api",
    "anthropic_usage_page2.json": "anthropic-usage-api",
    "anthropic_cost_report.json": "anthropic-cost-api",
    "anthropic_claude_code_report.json": "anthropic-claude-code-api",
    "anthropic_console_usage.csv": "anthropic-usage-csv",
    "anthropic_console_usage_old.csv": "anthropic-usage-csv",
    "anthropic_console_cost.csv": "anthropic-cost-csv",
    "anthropic_console_cost_reordered.csv": "anthropic-cost-csv",
}


def parse(name: str, path: Path | None = None):
    return list(FORMATS[OWNERS[name]].parse(path or FIXTURES / name))


def totals(rows) -> dict:
    return {
        "rows": len(rows),
        "input": sum(r.input_tokens for r in rows),
        "write_5m": sum(r.cache_write_5m_tokens for r in rows),
        "write_1h": sum(r.cache_write_1h_tokens for r in rows),
        "read": sum(r.cache_read_tokens for r in rows),
        "output": sum(r.output_tokens for r in rows),
        "web": sum(r.web_search_requests for r in rows),
        "cost": sum((r.cost_usd for r in rows if r.cost_usd is not None), Decimal(0)),
        "no_cost": sum(r.cost_usd is None for r in rows),
    }


def keys(rows) -> list[str]:
    return [r.key for r in rows]


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data, encoding="utf-8")
    return p


def assert_rejected(fmt: str, path: Path, *fragments: str) -> str:
    with pytest.raises(ExportFormatError) as info:
        list(FORMATS[fmt].parse(path))
    message = str(info.value)
    assert path.name in message
    assert "\n" not in message and "\r" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- (1) sniffing ---------------------------------------------------------------------

def test_every_owned_fixture_exists():
    assert set(OWNERS) <= {p.name for p in FIXTURES.iterdir()}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_sniff_claims_its_fixtures_and_no_other_file(fmt):
    for path in sorted(FIXTURES.iterdir()):
        head = path.read_bytes()[:SNIFF_BYTES]
        assert FORMATS[fmt].sniff(path.name, head) is (OWNERS.get(path.name) == fmt), path.name


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("head", [b"", b"\x00\xff\xfe", b"{", b"[[[", b"\xef\xbb\xbf",
                                  b"usage_date_utc\r", "é,€\n".encode("utf-16")])
def test_sniff_never_raises(fmt, head):
    assert FORMATS[fmt].sniff("x", head) in (True, False)


def test_sniff_reads_a_page_whose_head_is_only_empty_buckets_as_usage():
    empty = ('{"starting_at": "2025-08-01T00:00:00Z", "ending_at": "2025-08-01T00:01:00Z", '
             '"results": []},')
    head = ('{"data": [' + empty * 2000).encode()[:SNIFF_BYTES]
    assert FORMATS["anthropic-usage-api"].sniff("p.json", head)
    assert not FORMATS["anthropic-cost-api"].sniff("p.json", head)


# --- (2) totals -------------------------------------------------------------------------

PAGE1 = {"rows": 5, "input": 1500 + 100 + 300 + 250000 + 700, "write_5m": 500 + 100,
         "write_1h": 1000, "read": 200 + 40 + 900, "output": 500 + 40 + 120 + 800 + 60,
         "web": 10 + 1, "cost": Decimal(0), "no_cost": 5}
PAGE2 = {"rows": 2, "input": 700 + 50, "write_5m": 100, "write_1h": 2000, "read": 900 + 10000,
         "output": 60 + 25, "web": 1, "cost": Decimal(0), "no_cost": 2}
BOTH_PAGES = {"rows": 6, "input": 252600 + 50, "write_5m": 600, "write_1h": 3000,
              "read": 1140 + 10000, "output": 1520 + 25, "web": 11, "cost": Decimal(0),
              "no_cost": 6}


def test_usage_report_totals():
    assert totals(parse("anthropic_usage_page1.json")) == PAGE1
    assert totals(parse("anthropic_usage_page2.json")) == PAGE2


def test_usage_report_maps_every_field():
    first = parse("anthropic_usage_page1.json")[0]
    assert (first.source, first.provider, first.kind) == ("anthropic-usage-api", "anthropic", "usage")
    assert first.start == datetime(2025, 8, 1, tzinfo=UTC)
    assert first.end == datetime(2025, 8, 2, tzinfo=UTC)
    assert (first.model, first.workspace, first.api_key) == (
        "claude-opus-4-6", "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ", "apikey_01Rj2N8SVvo6BePZj99NhmiT")
    assert (first.service_tier, first.context_window) == ("standard", "0-200k")
    assert (first.input_tokens, first.cache_write_5m_tokens, first.cache_write_1h_tokens,
            first.cache_read_tokens, first.output_tokens, first.web_search_requests) == (
        1500, 500, 1000, 200, 500, 10)
    assert first.cost_usd is None and first.requests is None
    assert first.ident == ("account_id=user_01WCz1FkmYMm4gnmykNKUu3Q", "inference_geo=global",
                           "service_account_id=svac_01Hk3R9TWxq7CfQak00OiVw4")


def test_usage_report_null_dimensions_stay_none():
    last = parse("anthropic_usage_page2.json")[-1]
    assert (last.model, last.workspace, last.api_key, last.service_tier,
            last.context_window, last.ident) == (None, None, None, None, None, ())


def test_usage_report_empty_buckets_and_zero_results_give_no_rows():
    days = {r.start.day for r in parse("anthropic_usage_page2.json")}
    assert days == {2, 4}  # 08-03 is an empty bucket
    page1 = parse("anthropic_usage_page1.json")
    assert all(r.total_tokens for r in page1)


def test_cost_report_totals_are_exact_dollars():
    rows = parse("anthropic_cost_report.json")
    # cents: 123.78912 + 250.5 + 30 + 0.00001 + 5 + 7.125 (and a zero, dropped)
    assert totals(rows) == {"rows": 6, "input": 0, "write_5m": 0, "write_1h": 0, "read": 0,
                            "output": 0, "web": 0, "cost": Decimal("4.1641413"), "no_cost": 0}
    assert [r.cost_usd for r in rows] == [Decimal("1.2378912"), Decimal("2.505"), Decimal("0.3"),
                                          Decimal("0.0000001"), Decimal("0.05"),
                                          Decimal("0.07125")]
    assert all(isinstance(r.cost_usd, Decimal) for r in rows)


def test_cost_report_line_items_and_identity():
    rows = parse("anthropic_cost_report.json")
    assert [r.line_item for r in rows] == [
        "uncached_input_tokens", "output_tokens", "web_search",
        "cache_creation.ephemeral_1h_input_tokens", "code_execution", "code_execution"]
    assert all(r.kind == "cost" and r.source == "anthropic-cost-api" for r in rows)
    # the two code-execution items differ only by description: two rows, two keys
    a, b = rows[-2:]
    assert "description=Code Execution Usage" in a.ident
    assert "description=Code Execution Container Hours" in b.ident
    assert a.key != b.key
    assert rows[0].model == "claude-opus-4-6" and rows[2].model is None


def test_claude_code_report_totals_leave_the_estimate_out():
    rows = parse("anthropic_claude_code_report.json")
    assert totals(rows) == {"rows": 4, "input": 45230 + 23100 + 1000 + 10,
                            "write_5m": 2340 + 890 + 300 + 40, "write_1h": 0,
                            "read": 8790 + 3420 + 5000 + 30, "output": 12450 + 5680 + 200 + 20,
                            "web": 0, "cost": Decimal(0), "no_cost": 4}


def test_claude_code_report_actors():
    rows = parse("anthropic_claude_code_report.json")
    by_actor = {(r.api_key, r.ident[:1], r.model) for r in rows}
    assert by_actor == {
        (None, ("user=user@emaildomain.com",), "claude-opus-4-8"),
        (None, ("user=user@emaildomain.com",), "claude-sonnet-5"),
        ("ci-bot", ("organization_id=12345678-1234-5678-1234-567812345678",), "claude-sonnet-5"),
        (None, ("user=dev2@emaildomain.com",), "claude-opus-4-8"),
    }
    assert {(r.start, r.end) for r in rows} == {
        (datetime(2025, 8, 8, tzinfo=UTC), datetime(2025, 8, 9, tzinfo=UTC))}
    assert all(r.kind == "usage" and r.cost_usd is None for r in rows)


def test_console_usage_csv_totals():
    rows = parse("anthropic_console_usage.csv")
    assert totals(rows) == {"rows": 3, "input": 48210 + 9120 + 102400,
                            "write_5m": 152340 + 20480 + 88000, "write_1h": 12000,
                            "read": 3981200 + 184300 + 2210400, "output": 61250 + 7410 + 40120,
                            "web": 3, "cost": Decimal(0), "no_cost": 3}
    opus = rows[2]
    assert (opus.start, opus.end) == (datetime(2026, 8, 5, tzinfo=UTC),
                                      datetime(2026, 8, 6, tzinfo=UTC))
    assert (opus.model, opus.api_key, opus.workspace, opus.service_tier, opus.context_window) == (
        "claude-opus-4-7", "ci-bot", "Platform", "standard", "≤ 200k")
    assert opus.ident == ("inference_geo=global", "speed=standard")


def test_console_usage_csv_old_layout_reads_cache_writes_as_5m():
    rows = parse("anthropic_console_usage_old.csv")
    assert totals(rows) == {"rows": 3, "input": 1000 + 2000 + 50, "write_5m": 300 + 0 + 700,
                            "write_1h": 0, "read": 5000, "output": 200 + 400 + 5, "web": 2,
                            "cost": Decimal(0), "no_cost": 3}
    assert [r.api_key for r in rows] == ["dev-key", "ci-key", "dev-key"]


def test_console_cost_csv_totals():
    rows = parse("anthropic_console_cost.csv")
    assert totals(rows)["cost"] == Decimal("0.14") + Decimal("0.57") + Decimal("1.19") + \
        Decimal("0.92") + Decimal("0.12")
    assert [r.line_item for r in rows] == ["input_no_cache", "input_cache_write_5m",
                                           "input_cache_read", "output", "input_cache_write_1h"]
    assert rows[0].model == "Claude Sonnet 4.6"
    assert all(r.kind == "cost" and r.total_tokens == 0 for r in rows)


def test_console_cost_csv_in_another_column_order():
    rows = parse("anthropic_console_cost_reordered.csv")
    assert totals(rows)["rows"] == 4  # the 0.00 row is dropped
    assert totals(rows)["cost"] == Decimal("1.8495678")
    assert [str(r.cost_usd) for r in rows] == ["0.015", "1.2345678", "0.5", "0.10"]
    web = rows[3]
    assert (web.line_item, web.model, web.context_window) == ("web_search", None, None)
    assert rows[1].key != rows[2].key  # same token type, usage_type message vs batch


# --- (3) keys ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(OWNERS))
def test_keys_are_unique_and_stable(name):
    first, second = keys(parse(name)), keys(parse(name))
    assert len(set(first)) == len(first)
    assert first == second


def test_overlapping_pages_share_the_key_of_the_shared_bucket():
    page1, page2 = parse("anthropic_usage_page1.json"), parse("anthropic_usage_page2.json")
    shared = set(keys(page1)) & set(keys(page2))
    assert len(shared) == 1
    (row,) = [r for r in page2 if r.key in shared]
    assert (row.start.day, row.model) == (2, "claude-haiku-4-5-20251001")


def _pages() -> tuple[dict, dict]:
    load = lambda n: json.loads((FIXTURES / n).read_text())  # noqa: E731
    return load("anthropic_usage_page1.json"), load("anthropic_usage_page2.json")


def test_an_array_of_pages_reads_like_the_pages(tmp_path):
    page1, page2 = _pages()
    path = write(tmp_path, "pages.json", json.dumps([page1, page2]))
    rows = parse("anthropic_usage_page1.json", path)
    assert totals(rows) == BOTH_PAGES
    separate = set(keys(parse("anthropic_usage_page1.json"))) | set(
        keys(parse("anthropic_usage_page2.json")))
    assert set(keys(rows)) == separate


def test_concatenated_pages_and_a_bare_list_of_buckets(tmp_path):
    page1, page2 = _pages()
    text = (FIXTURES / "anthropic_usage_page1.json").read_text() + \
        (FIXTURES / "anthropic_usage_page2.json").read_text()
    assert totals(parse("anthropic_usage_page1.json", write(tmp_path, "cat.json", text))) == \
        BOTH_PAGES
    bare = write(tmp_path, "bare.json", json.dumps(page1["data"]))
    assert keys(parse("anthropic_usage_page1.json", bare)) == keys(
        parse("anthropic_usage_page1.json"))


def test_a_later_page_replaces_an_earlier_copy_of_a_bucket(tmp_path):
    page1, page2 = _pages()
    page2["data"][0]["results"][0]["output_tokens"] = 61
    rows = parse("anthropic_usage_page1.json",
                 write(tmp_path, "p.json", json.dumps([page1, page2])))
    assert totals(rows)["output"] == BOTH_PAGES["output"] + 1


def test_key_ignores_field_order_and_added_null_dimensions(tmp_path):
    page1, _ = _pages()
    for bucket in page1["data"]:
        bucket["results"] = [dict(reversed(list(r.items())), speed=None)
                             for r in bucket["results"]]
    path = write(tmp_path, "p.json", json.dumps(page1))
    assert keys(parse("anthropic_usage_page1.json", path)) == keys(
        parse("anthropic_usage_page1.json"))


def test_a_new_dimension_keeps_results_apart(tmp_path):
    page1, _ = _pages()
    result = page1["data"][1]["results"][0]
    page1["data"][1]["results"] = [dict(result, speed="fast"), dict(result, speed="standard")]
    rows = parse("anthropic_usage_page1.json", write(tmp_path, "p.json", json.dumps(page1)))
    assert len(set(keys(rows))) == len(rows) == 6


def test_console_keys_do_not_depend_on_column_order(tmp_path):
    lines = (FIXTURES / "anthropic_console_usage.csv").read_text(encoding="utf-8").splitlines()
    cells = [line.split(",") for line in lines]
    order = list(reversed(range(len(cells[0]))))
    text = "\n".join(",".join(row[i] for i in order) for row in cells) + "\n"
    path = write(tmp_path, "reordered.csv", text)
    assert keys(parse("anthropic_console_usage.csv", path)) == keys(
        parse("anthropic_console_usage.csv"))


# --- (4) hostile input ------------------------------------------------------------------

def _usage_text() -> str:
    return (FIXTURES / "anthropic_usage_page1.json").read_text()


@pytest.mark.parametrize("fmt, fixture", [
    ("anthropic-usage-api", "anthropic_usage_page1.json"),
    ("anthropic-cost-api", "anthropic_cost_report.json"),
    ("anthropic-claude-code-api", "anthropic_claude_code_report.json"),
])
def test_truncated_json(tmp_path, fmt, fixture):
    text = (FIXTURES / fixture).read_text()
    path = write(tmp_path, "cut.json", text[: len(text) // 2])
    assert_rejected(fmt, path, "not valid JSON")


@pytest.mark.parametrize("old, new, fragment", [
    ('"output_tokens": 500', '"output_tokens": "500"', "not a whole number"),
    ('"output_tokens": 500', '"output_tokens": -500', "negative"),
    ('"output_tokens": 500', '"output_tokens": true', "not a whole number"),
    ('"output_tokens": 500', '"output_tokens": 500.5', "not a whole number"),
    ('"output_tokens": 500', '"output_tokens": 500.0', "not a whole number"),
    ('"output_tokens": 500', '"output_tokens": NaN', "not valid JSON"),
    ('"output_tokens": 500', '"output_tokens": 1e400', "not a whole number"),
    ('"output_tokens": 500,', "", "no output_tokens"),
    ('"ephemeral_5m_input_tokens": 500', '"ephemeral_5m_input_tokens": "x"', "cache_creation"),
    ('"cache_creation": {', '"cache_creation": 7, "x": {', "expected an object"),
    ('"model": "claude-opus-4-6"', '"model": 46', "not a string"),
    ('"model": "claude-opus-4-6"', '"model": "\\ud800"', "not valid text"),
    ('"starting_at": "2025-08-01T00:00:00Z"', '"starting_at": "yesterday"', "ISO 8601"),
    ('"ending_at": "2025-08-02T00:00:00Z"', '"ending_at": "2025-07-02T00:00:00Z"', "not after"),
    ('"results": [', '"results": {"a": [', "not valid JSON"),
])
def test_bad_usage_values(tmp_path, old, new, fragment):
    text = _usage_text()
    assert old in text
    path = write(tmp_path, "bad.json", text.replace(old, new, 1))
    assert_rejected("anthropic-usage-api", path, fragment)


@pytest.mark.parametrize("data, fragment", [
    (b"", "empty"),
    (b"  \n", "empty"),
    (b"42", "not a report page"),
    (b'{"data": 3}', "data: not a list"),
    (b'{"data": [3]}', "expected an object"),
    (b'{"data": [{"starting_at": "2025-08-01T00:00:00Z"}]}', "no ending_at"),
    (b'{"data": [{"starting_at": "2025-08-01T00:00:00Z", "ending_at": "2025-08-02T00:00:00Z"}]}',
     "no results"),
    (b'{"type": "error", "error": {"type": "not_found_error"}}', "no starting_at"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 100_000, "not valid JSON"),
    (b"{} {", "not valid JSON"),
    (b'{"data": [{"starting_at": "9999-12-31", "ending_at": "10000-01-01", "results": []}]}',
     "ISO 8601"),
])
def test_not_a_usage_report(tmp_path, data, fragment):
    assert_rejected("anthropic-usage-api", write(tmp_path, "bad.json", data), fragment)


def test_a_bucket_repeated_within_one_page(tmp_path):
    page1, _ = _pages()
    page1["data"][1]["results"].append(page1["data"][1]["results"][0])
    path = write(tmp_path, "dup.json", json.dumps(page1))
    assert_rejected("anthropic-usage-api", path, "data[1].results[2]", "data[1].results[0]")


@pytest.mark.parametrize("old, new, fragment", [
    ('"amount": "250.5"', '"amount": "two"', "not a decimal"),
    ('"amount": "250.5"', '"amount": "-250.5"', "negative"),
    ('"amount": "250.5"', '"amount": "NaN"', "not a decimal"),
    ('"amount": "250.5"', '"amount": "1_000"', "not a decimal"),
    ('"amount": "250.5"', '"amount": true', "not an amount"),
    ('"amount": "250.5"', '"amount": -3', "not a non-negative amount"),
    ('"amount": "250.5",', "", "no amount"),
    ('"currency": "USD"', '"currency": "EUR"', "not USD"),
])
def test_bad_cost_values(tmp_path, old, new, fragment):
    text = (FIXTURES / "anthropic_cost_report.json").read_text()
    assert old in text
    path = write(tmp_path, "bad.json", text.replace(old, new, 1))
    assert_rejected("anthropic-cost-api", path, fragment)


def test_cost_amounts_written_as_json_numbers_are_still_exact(tmp_path):
    text = (FIXTURES / "anthropic_cost_report.json").read_text()
    path = write(tmp_path, "n.json", text.replace('"amount": "123.78912"', '"amount": 123.78912'))
    assert parse("anthropic_cost_report.json", path)[0].cost_usd == Decimal("1.2378912")


@pytest.mark.parametrize("old, new, fragment", [
    ('"input": 45230', '"input": "45230"', "not a whole number"),
    ('"input": 45230', '"input": -1', "negative"),
    ('"date": "2025-08-08T00:00:00Z"', '"date": "2025-08-08T13:00:00Z"', "not a UTC date"),
    ('"date": "2025-08-08T00:00:00Z",', "", "no date"),
    ('"email_address": "user@emaildomain.com",', "", "neither api_key_name nor email_address"),
    ('"model": "claude-opus-4-8",', "", "no model"),
    ('"model_breakdown": [', '"model_breakdown": {"x": [', "not valid JSON"),
])
def test_bad_claude_code_values(tmp_path, old, new, fragment):
    text = (FIXTURES / "anthropic_claude_code_report.json").read_text()
    assert old in text
    path = write(tmp_path, "bad.json", text.replace(old, new, 1))
    assert_rejected("anthropic-claude-code-api", path, fragment)


USAGE_CSV_HEADER = ("usage_date_utc,model_version,api_key,workspace,usage_type,context_window,"
                    "usage_input_tokens_no_cache,usage_input_tokens_cache_write_5m,"
                    "usage_input_tokens_cache_write_1h,usage_input_tokens_cache_read,"
                    "usage_output_tokens,web_search_count,inference_geo,speed")
GOOD_USAGE_LINE = "2026-08-04,claude-sonnet-4-6,k,Default,standard,0-200k,1,2,3,4,5,0,global,"


@pytest.mark.parametrize("line, fragment", [
    ("2026-08-04,claude-sonnet-4-6,k,Default,standard,0-200k,12a,2,3,4,5,0,global,",
     "line 3: usage_input_tokens_no_cache: not a whole number: '12a'"),
    ("2026-08-04,claude-sonnet-4-6,k,Default,standard,0-200k,1,-2,3,4,5,0,global,",
     "line 3: usage_input_tokens_cache_write_5m: negative"),
    ("2026-08-04,claude-sonnet-4-6,k,Default,standard,0-200k,1,2,3,4,1.5,0,global,",
     "line 3: usage_output_tokens: not a whole number"),
    ("2026-08-04,claude-sonnet-4-6,k,Default,standard,0-200k,1,2,3,4,,0,global,",
     "line 3: usage_output_tokens is empty"),
    ("04/08/2026,claude-sonnet-4-6,k,Default,standard,0-200k,1,2,3,4,5,0,global,",
     "line 3: usage_date_utc: not an ISO 8601 time"),
    ("2026-08-04,,k,Default,standard,0-200k,1,2,3,4,5,0,global,", "line 3: model_version is empty"),
    ("2026-08-04,claude-sonnet-4-6,k,Default,standard,0-200k,1,2,3,4,5,0,global,,extra",
     "line 3: more fields than the header"),
    (GOOD_USAGE_LINE, "line 3: the same day, model, key and dimensions as line 2"),
    ("2026-08-04,claude\x00,k,Default,standard,0-200k,1,2,3,4,5,0,global,", "line 3"),
    ('2026-08-05,"unclosed,k', "line 3"),
])
def test_bad_console_usage_rows(tmp_path, line, fragment):
    path = write(tmp_path, "usage.csv", f"{USAGE_CSV_HEADER}\n{GOOD_USAGE_LINE}\n{line}\n")
    assert_rejected("anthropic-usage-csv", path, fragment)


@pytest.mark.parametrize("header, fragment", [
    (USAGE_CSV_HEADER.replace("usage_output_tokens,", ""), "line 1 has no column usage_output_tokens"),
    (USAGE_CSV_HEADER.replace("usage_input_tokens_cache_write_5m,", ""),
     "no column usage_input_tokens_cache_write_5m or usage_input_tokens_cache_write"),
    (USAGE_CSV_HEADER + ",usage_input_tokens_cache_write", "both"),
    (USAGE_CSV_HEADER + ",workspace", "column 'workspace' appears twice"),
])
def test_bad_console_usage_headers(tmp_path, header, fragment):
    path = write(tmp_path, "usage.csv", f"{header}\n")
    assert_rejected("anthropic-usage-csv", path, fragment)


def test_console_files_that_are_empty_or_not_utf8(tmp_path):
    assert_rejected("anthropic-usage-csv", write(tmp_path, "e.csv", b""), "empty")
    data = f"{USAGE_CSV_HEADER}\n{GOOD_USAGE_LINE}\n".encode() + b"2026-08-05,\xff\xfe\n"
    assert_rejected("anthropic-usage-csv", write(tmp_path, "l.csv", data), "line 3: not UTF-8")


COST_CSV_HEADER = ("usage_date_utc,model,workspace,api_key,usage_type,context_window,token_type,"
                   "cost_usd,list_price_usd,cost_type,inference_geo,speed")


@pytest.mark.parametrize("cost, fragment", [
    ("abc", "line 2: cost_usd: not a decimal number: 'abc'"),
    ("-0.14", "line 2: cost_usd: negative amount"),
    ("1,40", "line 2: more fields than the header"),
    ('"1,40"', "line 2: cost_usd: not a decimal number"),
    ("$0.14", "not a decimal number"),
    ("inf", "not a decimal number"),
    ("", "line 2: cost_usd is empty"),
])
def test_bad_console_cost_rows(tmp_path, cost, fragment):
    row = f"2026-08-04,Claude Sonnet 4.6,Default,k,message,0-200k,output,{cost},0.14,token,global,"
    path = write(tmp_path, "cost.csv", f"{COST_CSV_HEADER}\n{row}\n")
    assert_rejected("anthropic-cost-csv", path, fragment)


def test_console_cost_needs_its_columns(tmp_path):
    path = write(tmp_path, "cost.csv", COST_CSV_HEADER.replace(",cost_usd", "") + "\n")
    assert_rejected("anthropic-cost-csv", path, "line 1 has no column cost_usd")


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_random_damage_raises_only_export_format_errors(tmp_path, name):
    data = (FIXTURES / name).read_bytes()
    rnd = random.Random(name)
    path = tmp_path / name
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(damaged))
            choice = rnd.random()
            if choice < 0.4:
                damaged[i] = rnd.choice(b'0-9a",:{}[]\n\x00\xff.')
            elif choice < 0.7:
                del damaged[i]
            else:
                damaged = damaged[:i]
                break
        path.write_bytes(bytes(damaged))
        try:
            rows = parse(name, path)
        except ExportFormatError as e:
            assert path.name in str(e) and "\n" not in str(e)
            continue
        for row in rows:
            assert row.start.tzinfo is not None and row.key
            assert min(row.input_tokens, row.output_tokens, row.cache_read_tokens) >= 0
