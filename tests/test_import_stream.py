"""ccspend import in bounded memory: streamed rows equal the old reader's, a bad row
anywhere changes nothing, and a large file imports in a bounded peak RSS.

The old path (``formats.read`` then ``imported.write_rows``) is kept as the
reference: every fixture imported by the CLI must leave exactly the rows it leaves.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ccspend.imports import ExportFormatError, formats, generic_csv
from ccspend.imports.records import content_key, flat
from ccspend.store import Store, imported
from tests.conftest import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
EXPORTS = sorted(p for p in FIXTURES.iterdir() if not p.name.startswith("codex_"))
(GENERIC,) = generic_csv.FORMATS
HEADER = ("timestamp,provider,model,input_tokens,output_tokens,cache_read_tokens,"
          "cache_write_tokens,cost_usd,project,task")


def table(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT * EXCLUDE (imported_at) FROM imported_usage ORDER BY row_key").fetchall()
    finally:
        con.close()


def numbered(rows: list[tuple]) -> list[tuple]:
    """Streamed rows with their copies numbered, as the store numbers them."""
    seen: dict[str, int] = {}
    out = []
    for r in rows:
        n = seen.get(r[0], 0)
        seen[r[0]] = n + 1
        out.append((content_key(r, n) if r[1] and n else r[0], False, *r[2:]))
    return out


def generated(path: Path, n: int, seed: int = 3, bad_at: int | None = None) -> Path:
    rnd = random.Random(seed)
    lines = [HEADER]
    for i in range(n):
        if i and rnd.random() < 0.01:
            lines.append(lines[-1])  # an identical second request
            continue
        ts = f"2026-09-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i * 7 % 60:02d}Z"
        cost = f"0.{rnd.randrange(10**6):06d}" if i % 3 else ""
        lines.append(f"{ts},{rnd.choice(['openai', 'Anthropic', ''])},m{i % 5},"
                     f"{rnd.randrange(9999)},{rnd.randrange(999)},{i % 4 or ''},,{cost},"
                     f"p{i % 7},")
    if bad_at is not None:
        lines[bad_at] = lines[bad_at].replace(",m", ",m,surplus", 1)
    path.write_text("\n".join(lines) + "\n")
    return path


# --- the streamed rows are the parsed rows ---------------------------------------------

@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.name)
def test_stream_flattens_to_the_parsed_rows(path):
    fmt = formats.detect(path)
    assert numbered(list(formats.stream(path, fmt))) == [flat(r) for r in formats.read(path, fmt)]


def test_generic_stream_numbers_copies_like_parse(tmp_path):
    path = generated(tmp_path / "g.csv", 3000)
    rows = list(generic_csv.stream(path))
    assert len({r[0] for r in rows}) < len(rows)  # copies share their content key
    assert numbered(rows) == [flat(r) for r in generic_csv.parse(path)]


@pytest.mark.parametrize("line", [
    "2026-09-01,p,m,ten,2,,,,,", "2026-09-01,p,m,1,-2,,,,,", "2026-09-01,p,m,1,2.5,,,,,",
    "2026-09-01,p,m,1,2,,,-0.5,,", "2026-09-01,p,m,1,2,,,NaN,,", "2026-09-01,p,m,1,2,,,0.5,,,x",
    "2026-09-01,p,m,1,9999999999999999,,,,,", "1788220800,p,m,1,2,,,,,", ",p,m,1,2,,,,,",
    "0001-01-01T00:00:00+01:00,p,m,1,2,,,,,", "2026-09-01,p,,1,2,,,,,",
    "2026-09-01,p,m,,2,,,,,", "2026-09-01,p,m\x00x,1,2,,,,,", '2026-09-01,p,"m\n\n,1,2',
    "2026-09-01,p\x01,m,1,2,,,,,", "2026-09-01,p,m,1,2,\u0663,,,,", "2026-09-01, ,m, 7 ,2,,,,,",
])
def test_stream_refuses_what_parse_refuses_with_the_same_message(tmp_path, line):
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\r\n2026-09-01,p,m,1,2,,,,,\r\n{line}\r\n")
    try:
        want = [flat(r) for r in generic_csv.parse(path)]
    except ExportFormatError as e:
        with pytest.raises(ExportFormatError) as info:
            list(generic_csv.stream(path))
        assert str(info.value) == str(e)
    else:
        assert numbered(list(generic_csv.stream(path))) == want


@pytest.mark.parametrize("data, line", [
    (HEADER.encode() + b"\n2026-09-01,p,m,1,2,,,,,\n2026-09-01,\xe9,m,1,2,,,,,\n", 3),
    (b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n" + b"2026-09-01,p,m,1,2,,,,,\r\n" * 5000
     + b"2026-09-01,p,m\xff,1,2,,,,,\r\n", 5002),
])
def test_stream_names_the_line_that_is_not_utf8(tmp_path, data, line):
    path = tmp_path / "latin1.csv"
    path.write_bytes(data)
    with pytest.raises(ExportFormatError, match=f"latin1.csv: line {line}: not UTF-8 text"):
        list(generic_csv.stream(path))


# --- the store: the same rows as the old path, all or nothing -------------------------------

def test_cli_import_leaves_exactly_the_old_paths_rows(sandbox, tmp_path):
    """Golden: every fixture (and a generated file with copies), imported by the CLI,
    leaves the table the old importer (formats.read, write_rows) leaves."""
    files = [*EXPORTS, generated(tmp_path / "g.csv", 2000)]
    old = Store(tmp_path / "old.duckdb")
    with old.connect(write=True) as con:
        for path in files:
            rows = formats.read(path, formats.detect(path))
            imported.write_rows(con, rows, [str(path)] * len(rows))
    r = run_cli("import", *map(str, files), "--json")
    assert r.returncode == 0, r.stderr
    assert table(sandbox / "data" / "ccspend.duckdb") == table(tmp_path / "old.duckdb")
    doc = json.loads(r.stdout)
    for f in doc["files"]:
        path = Path(f["file"])
        assert f["totals"] == imported.row_totals(formats.read(path, formats.detect(path))).as_dict()
    assert list(doc["files"][0]) == ["file", "format", "provider", "rows", "new",
                                     "already_there", "totals"]


def test_a_bad_row_near_the_end_changes_nothing(sandbox, tmp_path):
    good = generated(tmp_path / "good.csv", 20_000)
    assert run_cli("import", str(good)).returncode == 0
    db = sandbox / "data" / "ccspend.duckdb"
    before = table(db)
    bad = generated(tmp_path / "bad.csv", 20_000, seed=4, bad_at=19_990)
    r = run_cli("import", str(good), str(bad))
    assert r.returncode == 1
    assert r.stderr == f"ccspend: error: {bad}: line 19991: more fields than the header has\n"
    assert r.stdout == ""
    assert table(db) == before
    again = json.loads(run_cli("import", str(good), "--json").stdout)["files"][0]
    assert (again["new"], again["already_there"]) == (0, len(before))


# A child's ru_maxrss counts the memory of the process it was started from: Linux records
# the old image's high-water mark at exec, and subprocess starts children with vfork, so a
# test worker grown to 350 MB made a 170 MB import read as 353 MB. A small Python process
# in between starts the import and reports its child's peak, which is then the import's.
_PEAK_RSS = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1] + ".out", "wb"),
                     stderr=open(sys.argv[1] + ".err", "wb"))
_, status, usage = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def peak_rss(argv: list[str], tmp_path) -> tuple[int, bytes, bytes, int]:
    """Run ``argv``; its exit code, stdout, stderr and its own peak RSS in KB."""
    report = tmp_path / "peak"
    subprocess.run([sys.executable, "-c", _PEAK_RSS, str(report), *argv], check=True,
                   env=dict(os.environ), timeout=300)
    code, kb = report.read_text().split()
    out = (tmp_path / "peak.out").read_bytes()
    err = (tmp_path / "peak.err").read_bytes()
    return int(code), out, err, int(kb)


def test_a_large_file_imports_in_bounded_memory(sandbox, tmp_path):
    """200,000 rows (13 MB): the old importer peaked near 1 GB; now about 210 MB (the
    staging database's memory is capped, and it spills past the cap), whatever the
    file's size: 1.5 M rows peak near 260 MB."""
    path = generated(tmp_path / "big.csv", 200_000, seed=5)
    returncode, out, err, peak_kb = peak_rss([sys.executable, "-m", "ccspend", "import",
                                              str(path), "--json"], tmp_path)
    assert returncode == 0, err
    peak_mb = peak_kb / 1024
    doc = json.loads(out)
    assert doc["files"][0]["rows"] == doc["store"]["rows"] > 190_000
    assert peak_mb < 300, f"peak RSS {peak_mb:.0f} MB"  # the old importer: ~1 GB
