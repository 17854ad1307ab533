"""OpenRouter exports: sniffing, cached/reasoning arithmetic, BYOK rows, keys, hostile input.

Expected totals are written out by hand from the fixtures, not computed by the
code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ccspend.imports import SNIFF_BYTES, ExportFormatError
from ccspend.imports.openrouter import FORMATS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
FORMAT = {f.name: f for f in FORMATS}
MINE = {
    "openrouter-activity-csv": {"openrouter_activity_export.csv",
                                "openrouter_activity_export_old.csv"},
    "openrouter-aggregate-csv": {"openrouter_activity_aggregate_export.csv"},
    "openrouter-activity-api": {"openrouter_activity_api.json"},
}


def parse(fmt: str, name: str) -> list:
    return list(FORMAT[fmt].parse(FIXTURES / name))


def split(rows: list) -> tuple[list, list]:
    """(usage rows, BYOK cost rows)"""
    usage = [r for r in rows if r.kind == "usage"]
    byok = [r for r in rows if r.kind == "cost"]
    assert len(usage) + len(byok) == len(rows)
    return usage, byok


def tokens(rows: list) -> dict:
    return {
        "input": sum(r.input_tokens for r in rows),
        "cached": sum(r.cache_read_tokens for r in rows),
        "output": sum(r.output_tokens for r in rows),
        "requests": sum(r.requests or 0 for r in rows),
    }


def cost(rows: list) -> Decimal:
    return sum((r.cost_usd for r in rows if r.cost_usd is not None), Decimal(0))


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_sniff_claims_its_fixtures_and_no_other_file(fmt):
    files = sorted(p for p in FIXTURES.iterdir() if p.is_file())
    claimed = {p.name for p in files if fmt.sniff(p.name, p.read_bytes()[:SNIFF_BYTES])}
    assert claimed == MINE[fmt.name]


@pytest.mark.parametrize("head", [b"", b"\x00\xff", b"{", b"Date,Slug\n", b'{"data": []}'])
def test_sniff_is_false_and_never_raises_on_odd_heads(head):
    assert not any(f.sniff("x", head) for f in FORMATS)


# -- per-request activity CSV ---------------------------------------------------------


def test_activity_csv_totals():
    usage, byok = split(parse("openrouter-activity-csv", "openrouter_activity_export.csv"))
    # prompt 10389 + 4200 + 3000 include cached 8192 + 0 + 1000
    assert tokens(usage) == {"input": 8_397, "cached": 9_192, "output": 1_947, "requests": 3}
    assert cost(usage) == Decimal("0.02885")  # 0.0261 + 0.0020 + 0.00075
    assert cost(byok) == Decimal("0.0150")
    assert [r.line_item for r in byok] == ["byok_usage_inference"]
    assert byok[0].total_tokens == 0


def test_activity_csv_row_fields():
    usage, _ = split(parse("openrouter-activity-csv", "openrouter_activity_export.csv"))
    first, gemini, ci = usage
    assert first.start == datetime(2026, 9, 1, 0, 3, 20, 114000, tzinfo=UTC)
    assert first.end is None
    assert first.ident == ("gen-1788221000-a1B2c3D4e5F6g7H8i9J0",)
    assert (first.model, first.api_key, first.project) == (
        "anthropic/claude-sonnet-4.6", "dev-laptop", "Claude Code")
    assert (first.input_tokens, first.cache_read_tokens, first.output_tokens) == (2_197, 8_192,
                                                                                  1_137)
    assert first.cost_usd == Decimal("0.0261")
    # reasoning (120) is part of the 310 completion tokens: not added
    assert gemini.output_tokens == 310 and gemini.project is None
    assert ci.api_key == "ci, nightly"
    assert {r.provider for r in usage} == {"openrouter"}


def test_old_activity_csv_without_tokens_cached():
    usage, byok = split(parse("openrouter-activity-csv", "openrouter_activity_export_old.csv"))
    assert tokens(usage) == {"input": 5_200, "cached": 0, "output": 500, "requests": 2}
    assert cost(usage) == Decimal("0.0159") and byok == []
    assert usage[0].project == "Cline" and usage[1].model == "openai/o4-mini"


# -- daily aggregate CSV ---------------------------------------------------------------


def test_aggregate_csv_totals_and_byok():
    usage, byok = split(parse("openrouter-aggregate-csv",
                              "openrouter_activity_aggregate_export.csv"))
    assert tokens(usage) == {"input": 4_222_569, "cached": 0, "output": 191_430,
                             "requests": 409}
    assert cost(usage) == Decimal("12.83")
    (row,) = byok
    assert (row.model, row.cost_usd, row.line_item) == (
        "openai/gpt-5", Decimal("1.20"), "byok_usage_inference")
    assert row.start == datetime(2026, 9, 2, tzinfo=UTC)
    assert all(r.end - r.start == timedelta(days=1) for r in usage + byok)
    gemini = next(r for r in usage if r.model == "google/gemini-2.5-flash")
    assert gemini.output_tokens == 40_210  # reasoning 11,800 already inside


def test_aggregate_row_at_another_time_than_midnight_has_no_end(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("Date,Slug,Usage,Prompt Tokens,Completion Tokens\n"
                    "2026-09-01 13:00:00,m,1,2,3\n2026-09-01,m,1,2,3\n")
    hour, day = FORMAT["openrouter-aggregate-csv"].parse(path)
    assert (hour.start, hour.end) == (datetime(2026, 9, 1, 13, tzinfo=UTC), None)
    assert day.end == datetime(2026, 9, 2, tzinfo=UTC) and hour.key != day.key


# -- activity API ------------------------------------------------------------------------


def test_activity_api_totals():
    usage, byok = split(parse("openrouter-activity-api", "openrouter_activity_api.json"))
    assert tokens(usage) == {"input": 1_050, "cached": 0, "output": 375, "requests": 7}
    assert cost(usage) == Decimal("0.019")  # 0.015 + 0.004, exact
    assert cost(byok) == Decimal("0.012") and len(byok) == 1  # the zero BYOK gives no row
    assert {r.model for r in usage} == {"openai/gpt-4.1-2025-04-14"}
    assert usage[0].start == datetime(2025, 8, 24, tzinfo=UTC)
    # the same model on two endpoints: two buckets
    assert usage[0].key != usage[1].key


# -- keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,name", [(f, n) for f, names in MINE.items() for n in sorted(names)])
def test_keys_unique_in_a_file_and_stable_across_parses(fmt, name):
    first = [r.key for r in parse(fmt, name)]
    assert first and len(set(first)) == len(first)
    assert [r.key for r in parse(fmt, name)] == first


def test_byok_row_key_differs_from_its_usage_row():
    rows = parse("openrouter-activity-csv", "openrouter_activity_export.csv")
    byok = next(r for r in rows if r.kind == "cost")
    twin = next(r for r in rows if r.kind == "usage" and r.ident == byok.ident)
    assert byok.key != twin.key


# -- hostile input ---------------------------------------------------------------------------


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


ACTIVITY_HEADER = ("generation_id,created_at,cost_total,byok_usage_inference,tokens_prompt,"
                   "tokens_completion,tokens_reasoning,tokens_cached,model_permaslug\n")
GOOD = "gen-1,2026-09-01 00:00:00,0.01,0,100,10,0,50,openai/gpt-5\n"


@pytest.mark.parametrize("row,words", [
    ("gen-2,2026-09-01 00:00:01,0.01,0,abc,10,0,0,m", "tokens_prompt is not a number"),
    ("gen-2,2026-09-01 00:00:01,0.01,0,100,-10,0,0,m", "tokens_completion is negative"),
    ("gen-2,2026-09-01 00:00:01,0.01,0,100,10,0,500,m", "tokens_cached (500) exceed"),
    ("gen-2,2026-09-01 00:00:01,-0.01,0,100,10,0,0,m", "cost_total is negative"),
    ("gen-2,2026-09-01 00:00:01,free,0,100,10,0,0,m", "cost_total is not a number"),
    ("gen-2,yesterday,0.01,0,100,10,0,0,m", "created_at is not a date"),
    (",2026-09-01 00:00:01,0.01,0,100,10,0,0,m", "generation_id is missing"),
    ("gen-2,2026-09-01 00:00:01,0.01,0,100,10.5,0,0,m", "not a whole number"),
    ("gen-2,2026-09-01 00:00:01,0.01,0,100,10,true,0,m", "tokens_reasoning is not a number"),
    ("gen-1,2026-09-01 00:00:00,0.02,0,100,10,0,50,openai/gpt-5", "same bucket as line 2"),
    ("gen-2,2026-09-01 00:00:01,0.01,0,100", "cells where the header has"),
])
def test_activity_csv_bad_rows_name_the_line(tmp_path, row, words):
    path = write(tmp_path, "a.csv", ACTIVITY_HEADER + GOOD + row + "\n")
    message = broken("openrouter-activity-csv", path)
    assert words in message and ", line 3:" in message


def test_activity_csv_exact_repeat_is_kept_once(tmp_path):
    path = write(tmp_path, "a.csv", ACTIVITY_HEADER + GOOD + GOOD)
    assert len(list(FORMAT["openrouter-activity-csv"].parse(path))) == 1


def test_missing_required_columns(tmp_path):
    path = write(tmp_path, "a.csv", ACTIVITY_HEADER.replace("tokens_prompt,", "") + "x\n")
    message = broken("openrouter-activity-csv", path)
    assert "missing column tokens_prompt" in message and ", line 1:" in message
    path = write(tmp_path, "g.csv", "Date,Slug,Usage,Prompt Tokens\n2026-09-01,m,1,2\n")
    assert "missing column completion tokens" in broken("openrouter-aggregate-csv", path)


def test_aggregate_bad_cells(tmp_path):
    header = "Date,Slug,Usage,BYOK Usage,Requests,Prompt Tokens,Completion Tokens\n"
    for row, words in [('"2026-09-01","m","1","0","2","x","3"', "Prompt Tokens is not a number"),
                       ('"2026-09-01","m","1","-2","2","1","3"', "BYOK Usage is negative"),
                       ('"someday","m","1","0","2","1","3"', "Date is not a date"),
                       ('"2026-09-01","","1","0","2","1","3"', "Slug is missing")]:
        message = broken("openrouter-aggregate-csv", write(tmp_path, "g.csv", header + row))
        assert words in message and ", line 2:" in message


@pytest.mark.parametrize("content,words", [
    ('{"data": [{"date": "2025-08-24", "prompt_tokens": 1', "not valid JSON"),
    ('{"data": {}}', "no data list"),
    ("[]", "no data list"),
    ('{"data": [{"date": "2025-08-24", "prompt_tokens": -1, "completion_tokens": 1}]}',
     "item 1: prompt_tokens is negative"),
    ('{"data": [{"date": "2025-08-24", "prompt_tokens": 1}]}', "completion_tokens is missing"),
    ('{"data": [{"date": 20250824, "prompt_tokens": 1, "completion_tokens": 1}]}', "date"),
    ('{"data": [{"date": "2025-08-24", "prompt_tokens": 1, "completion_tokens": 1,'
     ' "usage": "a lot"}]}', "usage is not a number"),
    ('{"data": [7]}', "item 1: not an object"),
])
def test_activity_api_broken(tmp_path, content, words):
    assert words in broken("openrouter-activity-api", write(tmp_path, "a.json", content))


@pytest.mark.parametrize("fmt,name", [(f, n) for f, names in MINE.items() for n in sorted(names)])
def test_any_truncation_parses_or_raises_export_format_error(tmp_path, fmt, name):
    whole = (FIXTURES / name).read_bytes()
    path = tmp_path / name
    for cut in range(0, len(whole), 11):
        path.write_bytes(whole[:cut])
        try:
            list(FORMAT[fmt].parse(path))
        except ExportFormatError as exc:
            assert "\n" not in str(exc)
