"""The generic CSV read by DuckDB's CSV reader (``store.csv_bulk``): it must leave exactly
the rows, keys, totals and errors of the Python reader, which stays the rule.

Each test imports a file both ways: the bulk path (``Staging.add_file`` then
``write_staged``, as ``ccspend import`` does) and the old reference (``formats.read``
then ``write_rows``), and compares the tables; where the bulk path should have been
taken (or refused), that is checked too, so a file silently left to Python does not
pass for a fast one.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccspend.imports import ExportFormatError, generic_csv
from ccspend.store import Store, csv_bulk, imported
from tests.conftest import run_cli
from tests.test_import_stream import HEADER, table  # one file shape, one reading of the table

(GENERIC,) = generic_csv.FORMATS


def bulk_import(path: Path, db: Path) -> imported.StagedFile:
    """``ccspend import``'s own steps, in process: stage, then write in one transaction."""
    with imported.Staging() as staging:
        staged = staging.add_file(path, GENERIC)
        staging.close_db()
        with Store(db).connect(write=True) as con:
            imported.write_staged(con, staging.files, [str(path)])
    return staged


def reference(path: Path, db: Path) -> imported.Totals:
    rows = list(GENERIC.parse(path))
    with Store(db).connect(write=True) as con:
        imported.write_rows(con, rows, [str(path)] * len(rows))
    return imported.row_totals(rows)


def same_as_python(tmp_path: Path, path: Path) -> imported.StagedFile:
    staged = bulk_import(path, tmp_path / "bulk.duckdb")
    want = reference(path, tmp_path / "ref.duckdb")
    assert table(tmp_path / "bulk.duckdb") == table(tmp_path / "ref.duckdb")
    assert staged.totals.as_dict() == want.as_dict()
    return staged


def write(tmp_path: Path, data: str | bytes, name: str = "usage.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


# --- values: what SQL reads equals what Python reads -----------------------------------

TIMES = ["2026-09-01", "2026-09-01T10:02:11Z", "2026-09-01 10:02:11+02:00",
         "2026-09-01T23:30:00-05:30", "2026-12-31T23:59:59.5+00:00", "2026-09-01T10:02",
         "2026-09-01T10:02:11.123456", "2026-09-01T10:02:11.000001Z", " 2026-09-02 ",
         "2024-02-29T00:00:00+14:00", "1000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]
COUNTS = ["0", "7", "12.0", "12.", "0012", "999999999999999", " 42 ", ""]
COSTS = ["", "0", "0.0", "5", "10", "100", "120", "1200.50", "0.1", "0.10", ".5", "1.",
         "0.000001", "0.0000001", "0.00000012", "0.000000000001", "12345678901234",
         "000.0500", "3.14159", "99999999999999.999999999999"]  # the last: huge sums
LABELS = ["", "x", "proj one", "Ünïcødé", "a,b", "  padded  ", "emoji 💸", "007", "1e3", "NULL"]


def test_sql_values_equal_python_values_on_every_form(tmp_path):
    rnd = random.Random(11)
    lines = [HEADER]
    for i in range(3000):
        provider = rnd.choice(["openai", "Anthropic", "", "OpenRouter", "x"])
        cells = [rnd.choice(TIMES), provider, rnd.choice(LABELS[1:]) + str(i % 3),
                 rnd.choice(COUNTS[:-1]), rnd.choice(COUNTS[:-1]), rnd.choice(COUNTS),
                 rnd.choice(COUNTS), rnd.choice(COSTS[:-1]), rnd.choice(LABELS),
                 rnd.choice(LABELS)]
        lines.append(",".join(f'"{c}"' if "," in c else c for c in cells))
        if rnd.random() < 0.05:
            lines.append(lines[-1])  # a copy: numbered
    staged = same_as_python(tmp_path, write(tmp_path, "\n".join(lines) + "\n"))
    assert staged.bulk is not None  # read by DuckDB, not left to the exact path


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(TIMES), st.sampled_from(COUNTS[:-1]),
                          st.sampled_from(COSTS),
                          st.text(st.characters(codec="utf-8", exclude_characters='\x00"\r\n'),
                                  max_size=6)),
                min_size=1, max_size=30))
def test_random_rows_equal_python(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("h")
    body = "".join(f'{t},p,m,{n},1,,,{c},"{label}",\n' for t, n, c, label in rows)
    path = write(tmp, f"{HEADER}\n{body}")
    try:
        want = [r.key for r in GENERIC.parse(path)]
    except ExportFormatError as e:  # a label Python refuses: the bulk path refuses it alike
        with pytest.raises(ExportFormatError) as info:
            bulk_import(path, tmp / "bulk.duckdb")
        assert str(info.value) == str(e)
        return
    bulk_import(path, tmp / "bulk.duckdb")
    assert sorted(r[0] for r in table(tmp / "bulk.duckdb")) == sorted(want)


def test_cost_text_is_decimals_own(tmp_path):
    """The key holds str(Decimal(cost).normalize()); the SQL writes it the same way."""
    lines = [HEADER] + [f"2026-09-01,p,m,1,1,,,{c},{i},\n" for i, c in enumerate(COSTS)]
    staged = same_as_python(tmp_path, write(tmp_path, "\n".join(lines)))
    assert staged.bulk is not None
    assert staged.totals.cost_usd == sum((Decimal(c) for c in COSTS if c), Decimal(0))


# --- files: the dialect ------------------------------------------------------------------

@pytest.mark.parametrize("name, data, fast", [
    ("bom-crlf", "\ufeff" + HEADER + "\r\n2026-09-01,p,m,1,2,3,4,0.5,x,y\r\n", True),
    ("empty-trailing-lines", HEADER + "\n2026-09-01,p,m,1,2,,,,,\n\n\n", True),
    ("blank-and-comma-rows", HEADER + "\n,,,,,,,,,\n2026-09-01,p,m,1,2,,,,,\n   \n", True),
    ("short-rows", HEADER + "\n2026-09-01,p,m,1,2\n2026-09-01,p,m,1,3,,,0.1\n", True),
    ("quoted-commas", HEADER + '\n2026-09-01,p,"m,1",1,2,,,,"a, b",\n', True),
    ("quoted-all", ",".join(f'"{h}"' for h in HEADER.split(",")) + "\n"
     + ",".join(f'"{c}"' for c in ["2026-09-01", "p", "m", "1", "2", "3", "4", "0.5", "x", "y"]) + "\n", True),
    ("quoted-newline", HEADER + '\n2026-09-01,p,m,1,2,,,,"two\nlines",\n', False),
    ("space-beside-quote", HEADER + '\n2026-09-01,p,m,1,2,,,, "x",\n', False),
    ("mixed-line-ends", HEADER + "\r\n2026-09-01,p,m,1,2,,,,,\n2026-09-01,p,m,1,3,,,,,\r\n",
     True),
    ("lone-cr", HEADER + "\r2026-09-01,p,m,1,2,,,,,\n2026-09-01,p,m,1,3,,,,,\r", True),
    # past Decimal's precision (28 digits unless a caller widened it) the exact way sums it
    ("a-huge-total", HEADER + "\n2026-09-01,p,m,1,2,,,99999999999999.999999999999,,\n" * 200,
     None),
    ("types-a-sniffer-would-guess", "timestamp,model,input_tokens,output_tokens,project,task\n"
     "2026-09-01,1e3,1,2,007,0012\n2026-09-02,2e3,3,4,008,12.50\n", True),
    ("tab-and-nbsp", HEADER + "\n2026-09-01,p,m\t,1,2,,,,\u00a0x,\n", True),
    ("extra-and-repeated-columns", "Model,extra,,Output_Tokens,input_tokens,,timestamp\n"
     "m1,ignored,,5,7,z,2026-09-03T00:00:00Z\n,,,,,,\n", True),
    ("unicode-lower", HEADER + "\n2026-09-01,\u0130stanbul,m,1,2,,,,,\n", True),
])
def test_files_equal_python(tmp_path, name, data, fast):
    staged = same_as_python(tmp_path, write(tmp_path, data))
    assert fast is None or (staged.bulk is not None) is fast, name


# --- errors: exactly the Python reader's ----------------------------------------------------

@pytest.mark.parametrize("bad", [
    "2026-09-01,p,m,ten,2,,,,,", "2026-09-01,p,m,1,-2,,,,,", "2026-09-01,p,m,1,2.5,,,,,",
    "2026-09-01,p,m,1,2,,,NaN,,", "2026-09-01,p,m,1,2,,,0.5,,,surplus",
    "2026-09-01,p,m,1,2,,,,,,", "2026-02-30,p,m,1,2,,,,,", "2026-09-01T24:00:00,p,m,1,2,,,,,",
    "1788220800,p,m,1,2,,,,,", ",p,m,1,2,,,,,", "2026-09-01,p,,1,2,,,,,",
    "2026-09-01,p,m,,2,,,,,", "2026-09-01,p,m\x01x,1,2,,,,,", "2026-09-01,p,m,1,2,\u0663,,,,",
    "0001-01-01T00:00:00+01:00,p,m,1,2,,,,,", "2026-09-01,p,m,1,9999999999999999,,,,,",
    "2026-09-01,p,m,1,2,,,0.0000000000001,,", "2026-09-01,p,m,1,2,,,100000000000000,,",
])
def test_a_bad_row_among_good_ones_is_the_same_error(tmp_path, bad):
    """The row Python's reader refuses is refused with its message (file, line, column);
    a row it accepts although it looks odd (an Arabic-Indic digit, 10^14 dollars) is
    imported as it imports it."""
    rows = ["2026-09-01T10:00:00Z,p,m,1,2,,,0.5,x,"] * 500
    path = write(tmp_path, "\n".join([HEADER, *rows[:300], bad, *rows[300:]]) + "\n")
    try:
        with imported.Staging() as exact:
            exact.add(generic_csv.stream(path))
    except (ExportFormatError, ValueError) as e:
        with imported.Staging() as staging, pytest.raises(type(e)) as info:
            staging.add_file(path, GENERIC)
        assert str(info.value) == str(e)
        assert "line 302" in str(e) or "decimal places" in str(e)
    else:
        same_as_python(tmp_path, path)


def test_the_cli_names_the_bad_row_and_changes_nothing(tmp_path, sandbox):
    good = write(tmp_path, HEADER + "\n" + "2026-09-01,p,m,1,2,,,,,\n" * 100, "good.csv")
    assert run_cli("import", str(good)).returncode == 0
    before = table(sandbox / "data" / "ccspend.duckdb")
    bad = write(tmp_path, HEADER + "\n" + "2026-09-02,p,m,1,2,,,,,\n" * 100
                + "2026-09-02,p,m,1,x,,,,,\n", "bad.csv")
    r = run_cli("import", str(bad))
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (f"ccspend: error: {bad}: line 102: output_tokens: not a whole "
                        "number: 'x'\n")
    assert table(sandbox / "data" / "ccspend.duckdb") == before


def test_not_utf8_names_its_line(tmp_path):
    data = (HEADER + "\n").encode() + b"2026-09-01,p,m,1,2,,,,,\n" * 3000 \
        + b"2026-09-01,p,m\xff,1,2,,,,,\n"
    path = write(tmp_path, data)
    with imported.Staging() as staging, pytest.raises(ExportFormatError,
                                                       match="line 3002: not UTF-8 text"):
        staging.add_file(path, GENERIC)


def test_plain_guard_spans_chunk_edges(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_bulk, "_CHUNK", 8)
    assert csv_bulk.plain(write(tmp_path, b"abcdefg,h\n1234567,2\n"))
    assert not csv_bulk.plain(write(tmp_path, b'abcdefg "h\n'))  # ' "' across the edge
    assert not csv_bulk.plain(write(tmp_path, b"abcdefgh\x00"))


# --- the store: idempotent, all or nothing ---------------------------------------------------

def test_reimport_counts_once_and_writes_nothing(tmp_path):
    lines = [HEADER] + [f"2026-09-01T00:00:{i % 60:02d}Z,p,m{i % 7},{i},1,,,,,"
                        for i in range(2000)]
    lines += lines[1:50]  # copies
    path = write(tmp_path, "\n".join(lines) + "\n")
    db = tmp_path / "s.duckdb"
    bulk_import(path, db)
    before = table(db)
    with imported.Staging() as staging:
        staging.add_file(path, GENERIC)
        staging.close_db()
        with Store(db).connect(write=True) as con:
            ((new, already),) = imported.write_staged(con, staging.files, [str(path)])
    assert (new, already) == (0, 2049) and table(db) == before
    moved = tmp_path / "moved.csv"
    moved.write_bytes(path.read_bytes())
    bulk_import(moved, db)  # the same rows from another file: it is theirs now
    assert [r[:-1] for r in table(db)] == [r[:-1] for r in before]
    assert {r[-1] for r in table(db)} == {str(moved)}
