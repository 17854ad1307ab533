"""The fast scanner against a plain reading of the same bytes: same records, same counts.

The scanner (``claude_code.scan``) and the file reader around it
(``ingest.claude._read_file``) are written for speed: a SIMD search for usage
lines, a decode of memoryview slices, the timestamp's common form read inline,
a reused page-aligned read buffer. Each is a place where a rule could drift. So
random hostile buffers are read both ways, and the records, the bad-line counts,
where the read stops and the first timestamp must agree with the reference below:
``json.loads`` and ``claude_record.extract`` per line, with the line-shape rule
written out plainly.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ccspend.ingest.claude as ic
import ccspend.sources.claude_code as cc
from ccspend.sources.claude_record import MAX_TOKENS, Unsure, scan_plain
from ccspend.sources.logfiles import LogFile
from tests.logs import assistant, user

BOM = b"\xef\xbb\xbf"


def reference(buf: bytes, base: int, file_id: int) -> tuple[list[dict], int, int, int | None]:
    """(records, bad lines, end offset, first timestamp) of ``buf``, read plainly: by
    ``claude_record.scan_plain`` (``json`` and ``extract`` per line, the line-shape rule
    written out plainly), which the ingest also uses for a few new lines."""
    return scan_plain(buf, base, file_id)


# -- hostile buffers -----------------------------------------------------------

GOOD_STAMPS = st.sampled_from([
    "2026-09-01T09:14:05.402Z", "2026-09-01T09:14:05Z", "2026-09-01T09:14:05",
    "2026-09-01T11:14:05.402+02:00", "2026-08-31T23:14:05-08:00", "2023-01-01T00:00:00Z",
])
ODD_STAMPS = st.sampled_from([
    "2026-09-01T09:14:05.402Z", "2026-09-01T09:14:05Z", "2026-09-01T09:14:05",
    "2026-09-01T11:14:05.402+02:00", "2026-08-31T23:14:05-08:00", "2026-09-01t09:14:05z",
    "2026-09-01T09:14:05.1234567Z", "2026-09-01T09:14:05.9999995Z", "2026-09-01",
    "2026-09-01 09:14:05Z", "20260901T091405Z", "2022-12-31T23:59:59Z", "2023-01-01T00:00:00Z",
    "2999-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",
    "not a time", "", 5, None, 1.5e9,
])
STAMPS = st.integers(0, 2).flatmap(lambda n: ODD_STAMPS if n == 0 else GOOD_STAMPS)
ODD_COUNTS = st.one_of(
    st.just(MAX_TOKENS), st.just(MAX_TOKENS + 1), st.integers(-3, -1), st.just(10**30),
    st.sampled_from([1e3, 2.5, "7", None, True, [], {}]),
)
COUNTS = st.integers(0, 4).flatmap(lambda n: ODD_COUNTS if n == 0 else st.integers(0, 5000))


@st.composite
def assistant_lines(draw) -> bytes:
    obj = assistant(
        ts="x", msg=draw(st.sampled_from(["m1", "m2", "m3", None])),
        req=draw(st.sampled_from(["r1", "r2", None])), inp=0, out=0,
        sidechain=draw(st.booleans()), api_error=draw(st.integers(0, 9)) == 0,
        model=draw(st.sampled_from(["claude-sonnet-4-5", "<synthetic>", "claude-opus-4-1"])),
    )
    stamp = draw(STAMPS)
    if stamp is None and draw(st.booleans()):
        del obj["timestamp"]
    else:
        obj["timestamp"] = stamp
    usage = obj["message"]["usage"]
    for key in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                "cache_read_input_tokens"):
        usage[key] = draw(COUNTS)
    if draw(st.booleans()):
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": draw(COUNTS),
                                   "ephemeral_1h_input_tokens": draw(COUNTS)}
    if draw(st.integers(0, 3)) == 0:
        usage["iterations"] = [{"type": draw(st.sampled_from(["compaction", "message"])),
                                "input_tokens": draw(COUNTS), "output_tokens": draw(COUNTS)}]
    if draw(st.integers(0, 5)) == 0:  # keys the scanner writes: the log's own are not ours
        obj[draw(st.sampled_from(["ts", "f", "o", "ki", "kr"]))] = draw(COUNTS)
    if draw(st.integers(0, 5)) == 0:
        obj["message"]["content"][0]["text"] = "x" * draw(st.integers(0, 3000))
    if draw(st.integers(0, 9)) == 0:
        obj["costUSD"] = draw(st.sampled_from([0.25, 1, "1", None]))
    return json.dumps(obj, separators=draw(st.sampled_from([(",", ":"), (", ", ": ")]))).encode()


PIECES = st.one_of(
    assistant_lines(),
    assistant_lines().map(lambda b: b[: len(b) // 2]),  # truncated mid-line
    assistant_lines().map(lambda b: BOM + b),
    assistant_lines().map(lambda b: b"  " + b + b" "),
    st.just(json.dumps(user("what is the usage of this?")).encode()),
    st.just(json.dumps(user("the \"usage\" key")).encode()),
    st.just(b'{"type":"user","message":{"content":"x"},"usage":{"input_tokens":5}}'),
    st.just(b'{"type":"summary","summary":"usage"}'),
    st.just(b'{"type":"assistant","timestamp":NaN,"message":{"usage":{}}}'),
    st.just(b'{"not json but shaped"}'),
    st.just(b'{"usage": \xff\xfe}'),
    # what json reads and msgspec refuses: a lone surrogate's escape
    assistant_lines().map(lambda b: b.replace(b'"m1"', b'"\\udcff"')),
    assistant_lines().map(lambda b: b.replace(b'"m2"', b'"\\ude00\\ud83d"')),
    assistant_lines().map(lambda b: b.replace(b'"m3"', b'"\\ud83d\\ude00"')),  # a pair: fine
    assistant_lines().map(lambda b: b.replace(b'"r1"', b'"\\\\udcff"')),  # an escaped backslash

    st.just(b'{"usage":' * 3000 + b"1" + b"}" * 3000),
    st.sampled_from([b"", b"   ", b"garbage", b"[1, 2]", b"{", b"}", b"\xef\xbb\xbf", b"\r"]),
    st.binary(max_size=40),
)
ENDS = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b"\r\r\n"])


@st.composite
def buffers(draw) -> bytes:
    lines = draw(st.lists(st.tuples(PIECES, ENDS), max_size=25))
    data = b"".join(p + e for p, e in lines)
    if draw(st.booleans()):
        data += draw(PIECES)  # an incomplete last line
    return data


def stored(line: cc.Line) -> dict:
    """The record of a ``Line`` as the ingest writes it for the store: the compaction
    steps as the five sums the scanner set (not recomputed from the steps, which the
    store never reads), the time in UTC."""
    assert not line.message.usage.iterations and line.timestamp is None
    assert line.ts.utcoffset().total_seconds() == 0
    rec = cc.record_of(line)
    return {**rec, "ki": line.ki, "ko": line.ko, "k5": line.k5, "k1": line.k1, "kr": line.kr}


def _fast(data: bytes, base: int, bulk: bool, padded: bool):
    saved = cc.BULK_MIN_BYTES
    cc.BULK_MIN_BYTES = 0 if bulk else 1 << 40
    try:
        if padded:  # the ingest's way: a bigger reused buffer, read up to ``limit``
            buf = bytearray(data + b'\n{"usage":1}\n' * 3)
            r = cc.scan(buf, base, 3, len(data))
        else:
            r = cc.scan(data, base, 3)
    finally:
        cc.BULK_MIN_BYTES = saved
    return [stored(line) for line in r.lines], r.skipped, r.end, r.first_ts


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(buffers(), st.sampled_from([0, 17]), st.booleans(), st.booleans())
def test_scan_reads_what_a_plain_reading_reads(data, base, bulk, padded):
    assert _fast(data, base, bulk, padded) == reference(data, base, 3)


def _read_whole(path: str, size: int, chunk: int, monkeypatch) -> tuple[list[dict], int, int]:
    """Records, bad lines and end offset of ``_read_file`` over a file, ``chunk`` bytes
    at a time, every usage line kept (the deduplication is tested elsewhere)."""
    import io

    # The lines as handed to the writer, not decoded back from what it wrote: a line the
    # tolerant path rebuilt may carry a cache write past MAX_TOKENS (5m and 1h each at
    # the bound), which the store reads as it is but the scanner's own schema refuses.
    kept: list = []
    monkeypatch.setattr(ic, "CHUNK", chunk)
    monkeypatch.setattr(cc, "best_per_response", lambda lines: kept.extend(lines) or lines)
    task = ic._Task(LogFile(path, size, 0, 0, 0), 0, False, None)
    sink = io.BytesIO()
    buf = ic.ReadBuffer(chunk) if chunk % 2 else None  # the batch's buffer, or the file's own
    update, _n, error, nrec = ic._read_file(task, 3, sink, buf)
    assert error is None and nrec == len(kept) == sink.getvalue().count(b"\n")
    return [stored(line) for line in kept], update.skipped, update.end, update.first_ts_us


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.function_scoped_fixture])
@given(data=buffers(), chunk=st.sampled_from([64, 257, 1024, 1 << 20]))
def test_reading_a_file_in_pieces_reads_what_a_plain_reading_reads(data, chunk, tmp_path,
                                                                    monkeypatch):
    """Lines longer than the piece read, pieces ending mid-line, a reused buffer."""
    path = tmp_path / "s.jsonl"
    path.write_bytes(data)
    recs, bad, end, first = _read_whole(str(path), len(data), chunk, monkeypatch)
    want, want_bad, want_end, want_first = reference(data, 0, 3)
    assert (recs, bad, end) == (want, want_bad, want_end)
    if chunk < len(data):
        return  # the first timestamp is looked for in the first piece only
    if want_first is not None:
        assert first == want_first
    else:  # no timestamp in the first lines: the earliest usage line's, if any
        assert first == (min(r["ts"] for r in want) if want else None)


@pytest.mark.parametrize("rule", ["shape", "timestamp", "bound"])
def test_the_reference_would_catch_a_broken_rule(rule, monkeypatch):
    """The comparison above can fail: with a rule broken on purpose, it does."""
    data = b"".join(json.dumps(o).encode() + b"\n" for o in (
        assistant(msg="a"), assistant(msg="b", ts="2026-09-01T09:14:05.402+02:00"),
        assistant(msg="c", ts="2022-01-01T00:00:00Z")))
    data += b"garbage\n"
    assert _fast(data, 0, True, False) == reference(data, 0, 3)
    if rule == "shape":
        monkeypatch.setattr(cc, "_odd_line", lambda *a: None)  # bad lines go uncounted
    elif rule == "timestamp":
        monkeypatch.setattr(cc, "request_time", lambda v: cc.utc_timestamp(v[:19]))  # zone lost
    else:
        monkeypatch.setattr(cc, "EARLIEST", cc.EPOCH)  # the 2023 bound lost
    assert _fast(data, 0, True, False) != reference(data, 0, 3)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.function_scoped_fixture])
@given(data=buffers(), start=st.sampled_from([0, 0, 9]))
def test_the_reader_of_a_few_new_lines_writes_what_the_fast_reader_writes(data, start,
                                                                          tmp_path, monkeypatch):
    """``ingest.claude._read_file_plain`` (no msgspec: a report after a new line) against
    ``_read_file``: the same records kept, bad lines, end, first and last timestamps."""
    import io

    path = tmp_path / "s.jsonl"
    path.write_bytes(data)
    task = ic._Task(LogFile(str(path), len(data), 0, 0, 0), min(start, len(data)), False, None)
    kept: list = []  # the fast reader's lines as handed to the writer (see ``_read_whole``)
    best = cc.best_per_response
    out = []
    with monkeypatch.context() as m:
        m.setattr(cc, "best_per_response", lambda lines: kept.extend(b := best(lines)) or b)
        sink = io.BytesIO()
        update, nbytes, error, nrec = ic._read_file(task, 3, sink)
        out.append(([stored(line) for line in kept], nrec, nbytes, error, update.end,
                    update.skipped, update.first_ts_us, update.last_ts_us, update.head_hash))
    sink = io.BytesIO()
    update, nbytes, error, nrec = ic._read_file_plain(task, 3, sink)
    out.append(([json.loads(line) for line in sink.getvalue().splitlines()], nrec, nbytes,
                error, update.end, update.skipped, update.first_ts_us, update.last_ts_us,
                update.head_hash))  # fmt: skip
    assert out[0] == out[1]


def test_both_readers_store_the_same_rows(sandbox, tmp_path, monkeypatch):
    """Through the store: the same logs ingested by the fast reader and by the plain one
    (``PLAIN_MAX_BYTES``) leave the same rows, file states and counted requests."""
    from ccspend.ingest.claude import ingest_claude
    from ccspend.store import Store

    logs = tmp_path / "projects" / "-home-dev-app"
    logs.mkdir(parents=True)
    lines = [assistant(msg=f"m{i % 7}", req=f"r{i % 7}", out=i, sidechain=i % 5 == 0,
                       ts=f"2026-09-01T09:{i:02d}:05.402Z") for i in range(40)]  # fmt: skip
    text = "".join(json.dumps(o) + "\n" for o in lines)
    (logs / "s.jsonl").write_text(text[:len(text) // 2] + "garbage\n")
    (logs / "agent-x1.jsonl").write_text(text + '{"usage": "\\udcff"}\n{"type":')
    results = []
    for limit in (-1, 1 << 30):  # every read fast, then every read plain
        monkeypatch.setattr(ic, "PLAIN_MAX_BYTES", limit)
        store = Store(tmp_path / f"db{limit}.duckdb")
        ingest_claude(store, [tmp_path / "projects"])
        with open(logs / "s.jsonl", "a") as fh:  # a second run reads the appended lines
            fh.write(text[len(text) // 2:])
        ingest_claude(store, [tmp_path / "projects"])
        (logs / "s.jsonl").write_text(text[:len(text) // 2] + "garbage\n")
        with store.connect() as con:
            results.append([con.execute(q).fetchall() for q in (
                "SELECT * EXCLUDE (file_id) FROM requests ORDER BY ALL",
                "SELECT path, size, read_offset, head_hash, agent_id, skipped_lines, first_ts, "
                "last_ts FROM files ORDER BY path",
                "SELECT ckey, line_offset, output_tokens FROM counted ORDER BY ALL")])
    assert results[0] == results[1]
    assert len(results[0][0]) > 20  # and there was something to compare


@pytest.mark.parametrize("odd", [
    b'"costUSD": 1e400, "type"',  # a field the fast scanner decodes: a bad line
    b'"x": -1e999, "type"',  # one it skips: a good line
    b'"timestamp": 5, "type"',  # a top-level key twice: the first line's time is the second
])  # fmt: skip
def test_lines_json_alone_cannot_judge_go_to_the_fast_scanner(odd, tmp_path):
    """A number past a float's range, or a key given twice: msgspec's verdict depends on
    where it lies, so ``scan_plain`` says ``Unsure`` and the plain reader hands the
    bytes to the fast scanner: its records are the fast reader's."""
    import io

    lines = [json.dumps(assistant(msg=f"m{i}", out=i)).encode() for i in range(3)]
    at = 0 if b"timestamp" in odd else 1  # a file's first time is read from its first line
    lines[at] = lines[at].replace(b'"type"', odd, 1)
    data = b"\n".join(lines) + b"\n"
    with pytest.raises(Unsure):
        scan_plain(data, 0, 3)
    path = tmp_path / "s.jsonl"
    path.write_bytes(data)
    task = ic._Task(LogFile(str(path), len(data), 0, 0, 0), 0, False, None)
    sink = io.BytesIO()
    update, _n, _error, nrec = ic._read_file_plain(task, 3, sink)
    want = cc.scan_records(data, 0, 3)
    assert [json.loads(x) for x in sink.getvalue().splitlines()] == want[0]
    assert (update.skipped, update.end, update.first_ts_us) == want[1:]
    assert nrec == len(want[0]) == (2 if odd.startswith(b'"costUSD"') else 3)
