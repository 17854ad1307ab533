"""The generic usage CSV: totals, identity of repeated rows, and broken files.

Expected numbers are written out by hand from ``fixtures/imports/generic_usage.csv``
(UTF-8 with a byte-order mark and CRLF line ends).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ccspend.imports import SNIFF_BYTES, ExportFormatError, generic_csv

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
FIXTURE = FIXTURES / "generic_usage.csv"
(FORMAT,) = generic_csv.FORMATS
HEADER = ("timestamp,provider,model,input_tokens,output_tokens,cache_read_tokens,"
          "cache_write_tokens,cost_usd,project,task")


def parse(path: Path = FIXTURE):
    return list(FORMAT.parse(path))


def write(tmp_path: Path, text: str | bytes, name: str = "usage.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def assert_rejected(path: Path, *fragments: str) -> None:
    with pytest.raises(ExportFormatError) as info:
        parse(path)
    message = str(info.value)
    assert path.name in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


# --- (1) sniffing ---------------------------------------------------------------------

def test_sniff_claims_the_generic_fixture_and_no_other_file():
    assert FIXTURE.exists()
    for path in sorted(FIXTURES.iterdir()):
        head = path.read_bytes()[:SNIFF_BYTES]
        assert FORMAT.sniff(path.name, head) is (path == FIXTURE), path.name


@pytest.mark.parametrize("head", [b"", b"\xff\xfe\x00", b"timestamp", b'"a,b\n', b"\xef\xbb\xbf"])
def test_sniff_never_raises(head):
    assert FORMAT.sniff("x.csv", head) in (True, False)


def test_sniff_reads_headers_in_any_order_and_case():
    assert FORMAT.sniff("x.csv", b"Output_Tokens, MODEL ,input_tokens,Timestamp\r\n1,2,3,4\r\n")
    assert not FORMAT.sniff("x.csv", b"timestamp,model,input_tokens\n")


# --- (2) totals -------------------------------------------------------------------------

def test_totals_match_the_file():
    assert FIXTURE.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in FIXTURE.read_bytes()
    rows = parse()
    assert len(rows) == 5
    assert sum(r.input_tokens for r in rows) == 1200 + 1200 + 300 + 500 + 10
    assert sum(r.output_tokens for r in rows) == 340 + 340 + 90 + 100 + 5
    assert sum(r.cache_read_tokens for r in rows) == 8000 + 8000
    assert sum(r.cache_write_5m_tokens for r in rows) == 4000
    assert sum(r.cache_write_1h_tokens for r in rows) == 0
    costs = [r.cost_usd for r in rows]
    assert costs == [Decimal("0.0191"), Decimal("0.0191"), None, None, Decimal("0.000021")]
    assert sum(c for c in costs if c is not None) == Decimal("0.038221")


def test_rows_map_every_column():
    rows = parse()
    first = rows[0]
    assert (first.source, first.provider, first.kind, first.end) == (
        "generic-csv", "openai", "usage", None)
    assert (first.model, first.project, first.task) == ("gpt-5.2-codex", "billing-api", "fix-tests")
    assert [r.provider for r in rows] == ["openai", "openai", "anthropic", "other", "openrouter"]
    assert [r.start for r in rows] == [
        datetime(2026, 9, 1, 10, 2, 11, tzinfo=UTC),
        datetime(2026, 9, 1, 10, 2, 11, tzinfo=UTC),
        datetime(2026, 9, 1, 10, 5, tzinfo=UTC),  # +02:00 converted
        datetime(2026, 9, 2, tzinfo=UTC),  # a plain date
        datetime(2026, 9, 2, 8, tzinfo=UTC),  # naive is UTC
    ]
    assert rows[2].task is None and rows[3].project is None
    assert all(r.kind == "usage" for r in rows)  # even those with a cost


def test_columns_in_another_order_with_extras_and_lf(tmp_path):
    text = ("Model,extra,Output_Tokens,input_tokens,timestamp\n"
            "m1,ignored,5,7,2026-09-03T00:00:00Z\n"
            "\n"
            "m2,,6,8,2026-09-03T00:00:01Z\n")
    rows = parse(write(tmp_path, text))
    assert [(r.model, r.input_tokens, r.output_tokens, r.provider, r.cost_usd) for r in rows] == [
        ("m1", 7, 5, "other", None), ("m2", 8, 6, "other", None)]


def test_bom_and_crlf_built_here(tmp_path):
    data = ("\ufeff" + HEADER + "\r\n2026-09-01,p,m,1,2,3,4,0.5,x,y\r\n").encode()
    (row,) = parse(write(tmp_path, data))
    assert (row.input_tokens, row.output_tokens, row.cache_read_tokens,
            row.cache_write_5m_tokens, row.cost_usd) == (1, 2, 3, 4, Decimal("0.5"))


def test_cost_is_kept_as_written(tmp_path):
    text = f"{HEADER}\n2026-09-01,p,m,1,2,,,0.10,,\n2026-09-01,p,m,1,2,,,1e-05,,\n"
    assert [str(r.cost_usd) for r in parse(write(tmp_path, text))] == ["0.10", "0.00001"]


# --- (3) keys ---------------------------------------------------------------------------

def test_identical_rows_both_count_and_keys_are_unique():
    rows = parse()
    assert rows[0].key != rows[1].key
    assert len({r.key for r in rows}) == len(rows)


def test_keys_are_stable_across_parses_and_reordering(tmp_path):
    keys = [r.key for r in parse()]
    assert keys == [r.key for r in parse()]
    lines = FIXTURE.read_bytes().split(b"\r\n")
    header, body = lines[0], [line for line in lines[1:] if line]
    reordered = write(tmp_path, b"\r\n".join([header, *reversed(body)]) + b"\r\n")
    assert sorted(r.key for r in parse(reordered)) == sorted(keys)


def test_a_later_export_with_more_rows_keeps_the_earlier_keys(tmp_path):
    keys = {r.key for r in parse()}
    lines = FIXTURE.read_bytes().split(b"\r\n")
    added = b"2026-09-01T10:02:11Z,openai,gpt-5.2-codex,1200,340,8000,,0.0191,billing-api,fix-tests"
    grown = write(tmp_path, b"\r\n".join([lines[0], added, *lines[1:]]))
    new_keys = {r.key for r in parse(grown)}
    assert keys < new_keys and len(new_keys) == len(keys) + 1


def test_rows_differing_only_in_tokens_or_provider_get_different_keys(tmp_path):
    text = (f"{HEADER}\n2026-09-01,a,m,1,2,,,,,\n2026-09-01,a,m,1,3,,,,,\n"
            "2026-09-01,b,m,1,2,,,,,\n2026-09-01,a,m,1,2,,,0.1,,\n")
    rows = parse(write(tmp_path, text))
    assert len({r.key for r in rows}) == 4


# --- (4) hostile input ------------------------------------------------------------------

@pytest.mark.parametrize("header, fragment", [
    ("timestamp,model,input_tokens", "line 1 has no column output_tokens"),
    ("provider,model,input_tokens,output_tokens", "line 1 has no column timestamp"),
    ("timestamp,model,input_tokens,output_tokens,model", "column 'model' appears twice"),
])
def test_missing_or_repeated_columns(tmp_path, header, fragment):
    assert_rejected(write(tmp_path, header + "\n2026-09-01,m,1,2\n"), "not a generic usage CSV"
                    if "no column" in fragment else "", fragment)


@pytest.mark.parametrize("line, fragment", [
    ("2026-09-01,p,m,ten,2,,,,,", "line 3: input_tokens: not a whole number: 'ten'"),
    ("2026-09-01,p,m,1,-2,,,,,", "line 3: output_tokens: negative count"),
    ("2026-09-01,p,m,1,2.5,,,,,", "line 3: output_tokens: not a whole number"),
    ("2026-09-01,p,m,1,2,x,,,,", "line 3: cache_read_tokens: not a whole number"),
    ("2026-09-01,p,m,1,2,,-4,,,", "line 3: cache_write_tokens: negative"),
    ("2026-09-01,p,m,1,2,,,-0.5,,", "line 3: cost_usd: negative amount"),
    ("2026-09-01,p,m,1,2,,,NaN,,", "line 3: cost_usd: not a decimal number"),
    ("2026-09-01,p,m,1,2,,,0.5,,,surplus", "line 3: more fields than the header"),
    ("2026-09-01,p,m,1,99999999999999999999,,,,,", "line 3: output_tokens: not a whole number"),
    ("2026-09-01,p,m,1,9999999999999999,,,,,", "line 3: output_tokens: implausibly large"),
    ("1788220800,p,m,1,2,,,,,", "line 3: timestamp: not an ISO 8601 time"),
    ("0001-01-01T00:00:00+01:00,p,m,1,2,,,,,", "line 3: timestamp: not an ISO 8601 time"),
    (",p,m,1,2,,,,,", "line 3: timestamp is empty"),
    ("2026-09-01,p,,1,2,,,,,", "line 3: model is empty"),
    ("2026-09-01,p,m,,2,,,,,", "line 3: input_tokens is empty"),
    ("2026-09-01,p,m\x00x,1,2,,,,,", "line 3: model: control character"),
    ('2026-09-01,p,"m\n\n,1,2', "line 5"),
])
def test_bad_rows_name_the_file_and_line(tmp_path, line, fragment):
    text = f"{HEADER}\r\n2026-09-01,p,m,1,2,,,,,\r\n{line}\r\n"
    assert_rejected(write(tmp_path, text), fragment)


def test_empty_and_undecodable_files(tmp_path):
    assert_rejected(write(tmp_path, b"", "empty.csv"), "empty")
    data = (HEADER + "\n2026-09-01,p,m,1,2,,,,,\n").encode() + b"2026-09-01,\xe9,m,1,2,,,,,\n"
    assert_rejected(write(tmp_path, data, "latin1.csv"), "line 3: not UTF-8")


def test_a_directory_is_not_a_file(tmp_path):
    assert_rejected(tmp_path, "cannot read")


def test_random_damage_raises_only_export_format_errors(tmp_path):
    data = FIXTURE.read_bytes()
    rnd = random.Random(7)
    path = tmp_path / "damaged.csv"
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(damaged))
            if rnd.random() < 0.6:
                damaged[i] = rnd.choice(b'0-9a",:\n\r\x00\xff.Z+')
            else:
                del damaged[i]
        path.write_bytes(bytes(damaged))
        try:
            rows = parse(path)
        except ExportFormatError as e:
            assert "damaged.csv" in str(e) and "\n" not in str(e)
            continue
        assert len({r.key for r in rows}) == len(rows)
        assert all(r.start.tzinfo is not None and r.input_tokens >= 0 for r in rows)
