"""OpenAI exports: sniffing, token arithmetic, exact money, stable keys, hostile input.

Expected totals are written out by hand from the fixtures, not computed by the
code under test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ccspend.imports import SNIFF_BYTES, ExportFormatError
from ccspend.imports.openai import FORMATS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
FORMAT = {f.name: f for f in FORMATS}
MINE = {
    "openai-usage-api": {
        "openai_usage_api_page1.json", "openai_usage_api_page2.json",
        "openai_usage_api_pages.json", "openai_usage_api_doc_example.json",
        "openai_usage_api_grouped.json",
    },
    "openai-costs-api": {"openai_costs_api_grouped.json", "openai_costs_api_doc_example.json"},
    "openai-usage-csv": {"openai_usage_export.csv", "openai_usage_export_reordered.csv"},
    "openai-cost-csv": {"openai_cost_export.csv"},
}
SEPT_1 = datetime(2026, 9, 1, tzinfo=UTC)
SEPT_2 = datetime(2026, 9, 2, tzinfo=UTC)
SEPT_3 = datetime(2026, 9, 3, tzinfo=UTC)


def parse(fmt: str, name: str | Path) -> list:
    return list(FORMAT[fmt].parse(FIXTURES / name))


def tokens(rows: list) -> dict:
    return {
        "input": sum(r.input_tokens for r in rows),
        "cached": sum(r.cache_read_tokens for r in rows),
        "write": sum(r.cache_write_5m_tokens + r.cache_write_1h_tokens for r in rows),
        "output": sum(r.output_tokens for r in rows),
        "requests": sum(r.requests or 0 for r in rows),
    }


def cost(rows: list) -> Decimal:
    return sum((r.cost_usd for r in rows if r.cost_usd is not None), Decimal(0))


# -- sniffing ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_sniff_claims_its_fixtures_and_no_other_file(fmt):
    files = sorted(p for p in FIXTURES.iterdir() if p.is_file())
    claimed = {p.name for p in files if fmt.sniff(p.name, p.read_bytes()[:SNIFF_BYTES])}
    assert claimed == MINE[fmt.name]


@pytest.mark.parametrize("head", [
    b"", b"\xff\xfe\x00garbage", b"{", b"[" * 5000, b'"object": "page"', b"start_time\n",
    b'{"object":"page","data":[{"object":"bucket","results":[{"object":"organization.usage.'
    b'embeddings.result"}]}]}',
])
def test_sniff_is_false_and_never_raises_on_odd_heads(head):
    assert not any(f.sniff("x.json", head) for f in FORMATS)


def test_sniff_goes_by_the_result_type_not_the_page_object():
    head = b'{"object": "list", "data": [{"results": [{"object": ' \
           b'"organization.usage.completions.result"}]}]}'
    assert FORMAT["openai-usage-api"].sniff("p.json", head)


def test_sniff_reads_a_page_of_empty_buckets_as_usage():
    head = b'{"object": "page", "data": [{"object": "bucket", "start_time": 1, "end_time": 2,' \
           b' "results": []}], "has_more": false}'
    assert FORMAT["openai-usage-api"].sniff("p.json", head)
    assert not FORMAT["openai-costs-api"].sniff("p.json", head)


# -- usage API --------------------------------------------------------------------


def test_usage_doc_example_subtracts_cached_from_input():
    (row,) = parse("openai-usage-api", "openai_usage_api_doc_example.json")
    # input_tokens 1000 include the 800 cached ones
    assert (row.input_tokens, row.cache_read_tokens, row.cache_write_5m_tokens) == (200, 800, 0)
    assert (row.output_tokens, row.requests) == (500, 5)
    assert row.start == datetime(2024, 11, 1, tzinfo=UTC)
    assert row.end == datetime(2024, 11, 2, tzinfo=UTC)
    assert (row.source, row.provider, row.kind, row.model) == (
        "openai-usage-api", "openai", "usage", None)


def test_usage_grouped_example_prefers_input_uncached_tokens():
    (row,) = parse("openai-usage-api", "openai_usage_api_grouped.json")
    # 1,820,400 input = 298,400 uncached + 1,510,000 cached + 12,000 cache writes
    assert row.input_tokens == 298_400
    assert row.cache_read_tokens == 1_510_000
    assert row.cache_write_5m_tokens == 12_000
    assert row.total_tokens == 1_820_400 + 61_230
    assert (row.model, row.project, row.api_key, row.service_tier) == (
        "gpt-5.2-codex", "proj_abc", "key_abc", "default")
    assert row.ident == ("batch=false",)
    assert row.cost_usd is None


def test_usage_pages_totals():
    page1 = parse("openai-usage-api", "openai_usage_api_page1.json")
    page2 = parse("openai-usage-api", "openai_usage_api_page2.json")
    assert tokens(page1) == {"input": 63_000, "cached": 105_000, "write": 2_000,
                             "output": 9_000, "requests": 20}
    assert tokens(page2) == {"input": 18_000, "cached": 40_000, "write": 0,
                             "output": 5_000, "requests": 7}
    assert len(page1) == 3 and len(page2) == 2  # the empty bucket gives no row


def test_usage_page_without_uncached_field_subtracts_cached():
    rows = parse("openai-usage-api", "openai_usage_api_page1.json")
    (mini,) = [r for r in rows if r.model == "gpt-5-mini-2025-08-07"]
    assert (mini.input_tokens, mini.cache_read_tokens, mini.cache_write_5m_tokens) == (
        15_000, 5_000, 0)


def test_overlapping_pages_give_the_same_key_for_the_shared_bucket():
    page1 = {r.key: r for r in parse("openai-usage-api", "openai_usage_api_page1.json")}
    page2 = {r.key: r for r in parse("openai-usage-api", "openai_usage_api_page2.json")}
    shared = set(page1) & set(page2)
    assert len(shared) == 1
    (key,) = shared
    assert page1[key] == page2[key]
    assert (page1[key].start, page1[key].end, page1[key].input_tokens) == (SEPT_2, SEPT_3, 10_000)
    # both files imported: four buckets, the shared one once
    assert len(set(page1) | set(page2)) == 4


def test_a_list_of_overlapping_pages_keeps_each_bucket_once():
    rows = parse("openai-usage-api", "openai_usage_api_pages.json")
    assert len(rows) == 4
    assert tokens(rows) == {"input": 71_000, "cached": 105_000, "write": 2_000,
                            "output": 11_000, "requests": 21}
    batch = [r for r in rows if "batch=true" in r.ident]
    assert len(batch) == 1 and batch[0].start == SEPT_3


# -- costs API --------------------------------------------------------------------


def test_costs_doc_example_amount_is_exact():
    (row,) = parse("openai-costs-api", "openai_costs_api_doc_example.json")
    assert row.cost_usd == Decimal("0.06") and str(row.cost_usd) == "0.06"
    assert (row.kind, row.line_item, row.project, row.total_tokens) == ("cost", None, None, 0)


def test_costs_grouped_totals_and_models():
    rows = parse("openai-costs-api", "openai_costs_api_grouped.json")
    assert cost(rows) == Decimal("1.64367")  # 0.5222 + 0.26425 + 0.85722
    assert {r.line_item: r.cost_usd for r in rows} == {
        "gpt-5.2-codex, input_tokens": Decimal("0.5222"),
        "gpt-5.2-codex, cached_input_tokens": Decimal("0.26425"),
        "gpt-5.2-codex, output_tokens": Decimal("0.85722"),
    }
    assert {r.model for r in rows} == {"gpt-5.2-codex"}
    assert all(r.total_tokens == 0 and r.kind == "cost" for r in rows)


# -- dashboard CSVs -----------------------------------------------------------------


def test_usage_csv_totals():
    rows = parse("openai-usage-csv", "openai_usage_export.csv")
    # no input_cache_write_tokens column: input - cached - uncached are the writes
    assert tokens(rows) == {"input": 329_920, "cached": 1_530_480, "write": 12_000,
                            "output": 65_330, "requests": 155}
    assert {r.start for r in rows} == {SEPT_1} and {r.end for r in rows} == {SEPT_2}


def test_usage_csv_matches_the_api_for_the_same_bucket():
    (api,) = parse("openai-usage-api", "openai_usage_api_grouped.json")
    csv_row = next(r for r in parse("openai-usage-csv", "openai_usage_export.csv")
                   if r.model == "gpt-5.2-codex")
    fields = ("start", "end", "model", "project", "api_key", "service_tier", "input_tokens",
              "cache_write_5m_tokens", "cache_read_tokens", "output_tokens", "requests")
    assert [getattr(csv_row, f) for f in fields] == [getattr(api, f) for f in fields]


def test_usage_csv_with_columns_reordered():
    rows = parse("openai-usage-csv", "openai_usage_export_reordered.csv")
    assert len(rows) == 2  # the empty bucket's row gives none
    assert tokens(rows) == {"input": 21_000, "cached": 30_000, "write": 1_000,
                            "output": 3_200, "requests": 11}
    first = next(r for r in rows if r.service_tier == "default")
    assert (first.input_tokens, first.cache_read_tokens, first.cache_write_5m_tokens) == (
        9_000, 30_000, 1_000)
    assert first.ident == ("user=user_1", "batch=false")
    assert (first.start, first.end) == (SEPT_2, SEPT_3)


def test_cost_csv_totals():
    rows = parse("openai-cost-csv", "openai_cost_export.csv")
    assert len(rows) == 3  # the empty 2026-09-02 bucket gives none
    assert cost(rows) == Decimal("1.64367")
    assert {r.line_item.split(", ")[1] for r in rows} == {
        "input_tokens", "cached_input_tokens", "output_tokens"}
    assert all(r.model == "gpt-5.2-codex" and r.project == "proj_abc" for r in rows)


# -- keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,name", [(f, n) for f, names in MINE.items() for n in sorted(names)])
def test_keys_unique_in_a_file_and_stable_across_parses(fmt, name):
    first = [r.key for r in parse(fmt, name)]
    assert first and len(set(first)) == len(first)
    assert [r.key for r in parse(fmt, name)] == first


# -- hostile input --------------------------------------------------------------------


def broken(fmt: str, path: Path) -> str:
    with pytest.raises(ExportFormatError) as info:
        list(FORMAT[fmt].parse(path))
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def usage_page(**fields) -> str:
    result = {"object": "organization.usage.completions.result", "input_tokens": 100,
              "output_tokens": 10, "input_cached_tokens": 20, "num_model_requests": 1,
              "model": "gpt-5"}
    result.update(fields)
    return json.dumps({"object": "page", "data": [
        {"object": "bucket", "start_time": 1788220800, "end_time": 1788307200,
         "results": [result]}]})


@pytest.mark.parametrize("fields,words", [
    ({"input_tokens": -5}, "negative"),
    ({"output_tokens": True}, "not a number"),
    ({"input_tokens": 1.5}, "whole number"),
    ({"input_tokens": "lots"}, "not a number"),
    ({"input_tokens": 1e300}, "implausibly large"),
    ({"input_cached_tokens": 500}, "exceed input_tokens"),
    ({"input_uncached_tokens": 90}, "exceed input_tokens"),
    ({"input_tokens": None}, "missing"),
    ({"model": 5}, "not text"),
    ({"object": "organization.usage.embeddings.result"}, "not 'organization.usage"),
])
def test_usage_api_bad_values(tmp_path, fields, words):
    message = broken("openai-usage-api", write(tmp_path, "u.json", usage_page(**fields)))
    assert words in message and "bucket 1: result 1" in message


@pytest.mark.parametrize("content,words", [
    ("", "not valid JSON"),
    ('"a string"', "not an API page"),
    ('{"object": "page"}', "no data list"),
    ('{"object": "page", "data": [{"start_time": 1788220800}]}', "no results list"),
    ('{"object": "page", "data": [{"start_time": "soon", "results": []}]}', "unix seconds"),
    ('{"object": "page", "data": [{"start_time": 2, "end_time": 1, "results": []}]}',
     "not after"),
    ('{"data": [{"start_time": NaN, "results": []}]}', "not valid JSON"),
    ("[1, 2]", "page 1 has no data list"),
])
def test_usage_api_broken_documents(tmp_path, content, words):
    assert words in broken("openai-usage-api", write(tmp_path, "u.json", content))


def test_truncated_json_and_bad_bytes(tmp_path):
    whole = (FIXTURES / "openai_usage_api_page1.json").read_bytes()
    assert "not valid JSON" in broken(
        "openai-usage-api", write(tmp_path, "cut.json", whole[: len(whole) // 2]))
    assert "UTF-8" in broken("openai-usage-api", write(tmp_path, "bin.json", b"\xff\xfe{}"))
    assert "cannot read" in broken("openai-usage-api", tmp_path / "missing.json")


def test_two_results_with_the_same_dimensions_in_one_bucket(tmp_path):
    page = json.loads(usage_page())
    page["data"][0]["results"] *= 2
    message = broken("openai-usage-api", write(tmp_path, "u.json", json.dumps(page)))
    assert "same dimensions" in message


@pytest.mark.parametrize("amount,words", [
    ({"value": -1.5, "currency": "usd"}, "negative"),
    ({"value": 1.5, "currency": "eur"}, "only usd"),
    ({"value": None, "currency": "usd"}, "missing"),
    ({"value": "lots", "currency": "usd"}, "not a number"),
    (7, "no amount"),
])
def test_costs_api_bad_amounts(tmp_path, amount, words):
    page = {"object": "page", "data": [{"start_time": 1788220800, "end_time": 1788307200,
            "results": [{"object": "organization.costs.result", "amount": amount}]}]}
    assert words in broken("openai-costs-api", write(tmp_path, "c.json", json.dumps(page)))


USAGE_HEADER = ("start_time,end_time,start_time_iso,end_time_iso,model,input_tokens,"
                "output_tokens,input_cached_tokens,num_model_requests\n")
USAGE_ROW = "1788220800,1788307200,2026-09-01T00:00:00+00:00,2026-09-02T00:00:00+00:00,gpt-5,"


@pytest.mark.parametrize("cells,words", [
    ("100,10,12a,1", "input_cached_tokens is not a number"),
    ("100,-10,0,1", "output_tokens is negative"),
    ("100.5,10,0,1", "not a whole number"),
    ("100,10,200,1", "exceed input_tokens"),
    ("100,10,0,1,extra", "cells where the header has"),
    ("100,10", "cells where the header has"),
    ("1e999999999,10,0,1", "implausibly large"),
])
def test_usage_csv_bad_cells_name_the_line(tmp_path, cells, words):
    content = USAGE_HEADER + USAGE_ROW + "100,10,0,1\n" + USAGE_ROW.replace("gpt-5", "o3") + cells
    message = broken("openai-usage-csv", write(tmp_path, "u.csv", content + "\n"))
    assert words in message and ", line 3:" in message


def test_usage_csv_missing_column(tmp_path):
    content = USAGE_HEADER.replace(",input_tokens", "") + USAGE_ROW + "10,0,1\n"
    message = broken("openai-usage-csv", write(tmp_path, "u.csv", content))
    assert "missing column input_tokens" in message and ", line 1:" in message
    assert "missing column" in broken("openai-usage-csv", write(tmp_path, "e.csv", "a,b\n1,2\n"))
    assert "empty file" in broken("openai-usage-csv", write(tmp_path, "z.csv", ""))


def test_csv_repeated_rows(tmp_path):
    row = USAGE_ROW + "100,10,0,1\n"
    same = write(tmp_path, "same.csv", USAGE_HEADER + row + row)
    assert len(list(FORMAT["openai-usage-csv"].parse(same))) == 1
    other = write(tmp_path, "other.csv", USAGE_HEADER + row + USAGE_ROW + "999,10,0,1\n")
    assert "same bucket as line 2" in broken("openai-usage-csv", other)


def test_cost_csv_bad_amount(tmp_path):
    header = "start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,line_item\n"
    times = "1788220800,1788307200,2026-09-01T00:00:00+00:00,2026-09-02T00:00:00+00:00,"
    for cells, words in [("abc,usd,x", "amount_value is not a number"),
                         ("-0.5,usd,x", "negative"), ("0.5,gbp,x", "only usd"),
                         (",usd,gpt-5, input_tokens", "cells where the header")]:
        path = write(tmp_path, "c.csv", header + times + cells + "\n")
        message = broken("openai-cost-csv", path)
        assert words in message and ", line 2:" in message


@pytest.mark.parametrize("fmt,name", [(f, n) for f, names in MINE.items() for n in sorted(names)])
def test_any_truncation_parses_or_raises_export_format_error(tmp_path, fmt, name):
    whole = (FIXTURES / name).read_bytes()
    path = tmp_path / name
    for cut in range(0, len(whole), 13):
        path.write_bytes(whole[:cut])
        try:
            list(FORMAT[fmt].parse(path))
        except ExportFormatError as exc:
            assert "\n" not in str(exc)
