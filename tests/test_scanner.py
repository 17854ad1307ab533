"""The byte scanner: what it takes, what it skips and counts, where it stops."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ccspend.sources.claude_code import extract, scan
from tests.logs import assistant, user


def lines(*objs) -> bytes:
    return b"".join((json.dumps(o).encode() if isinstance(o, dict) else o) + b"\n" for o in objs)


def test_only_assistant_usage_lines_become_records():
    data = lines(user(), assistant(), {"type": "summary", "summary": "usage of x"})
    r = scan(data, 0, 7)
    assert len(r.records) == 1
    rec = r.records[0]
    assert rec["f"] == 7 and rec["o"] == len(lines(user()))
    assert rec["in"] == 10 and rec["out"] == 100 and rec["model"] == "claude-sonnet-4-5-20250929"
    assert r.skipped == 0 and r.end == len(data)


def test_bad_lines_are_skipped_and_counted():
    data = lines(
        assistant(msg="a"),
        b"this is not json",
        b"",
        b"   ",
        b'{"type":"assistant","message":{"usage":{"input_tokens":',  # truncated mid-file
        b"[1, 2]",
        assistant(msg="b"),
    )
    r = scan(data, 0, 0)
    assert [x["mid"] for x in r.records] == ["a", "b"]
    assert r.skipped == 5


def test_incomplete_last_line_is_left_for_next_run():
    full = lines(assistant(msg="a"))
    partial = json.dumps(assistant(msg="b")).encode()[:50]
    r = scan(full + partial, 0, 0)
    assert len(r.records) == 1 and r.skipped == 0
    assert r.end == len(full)


def test_bom_and_crlf_do_not_lose_a_line():
    data = b"\xef\xbb\xbf" + json.dumps(assistant(msg="a")).encode() + b"\r\n"
    data += json.dumps(assistant(msg="b")).encode() + b"\r\n"
    r = scan(data, 0, 0)
    assert [x["mid"] for x in r.records] == ["a", "b"] and r.skipped == 0


def test_offsets_are_absolute():
    data = lines(assistant())
    r = scan(data, 1000, 0)
    assert r.records[0]["o"] == 1000 and r.end == 1000 + len(data)


def test_cache_split_defaults_to_5m_and_reads_1h():
    no_split = extract(assistant(cache_write=500))
    assert (no_split["c5"], no_split["c1"]) == (500, 0)
    split = extract(assistant(cache_write=500, w1h=300))
    assert (split["c5"], split["c1"]) == (200, 300)


def test_web_searches_api_errors_and_sidechains_are_kept_as_metadata():
    rec = extract(assistant(searches=3, api_error=True, sidechain=True, agent_id="a1"))
    assert rec["ws"] == 3 and rec["err"] is True and rec["sc"] is True and rec["aid"] == "a1"


def test_missing_branch_and_no_message_text_stored():
    rec = extract(assistant(branch=None))
    assert rec["br"] is None
    assert "a reply" not in json.dumps(rec)


def test_line_without_timestamp_is_skipped_and_counted():
    bad = assistant()
    del bad["timestamp"]
    r = scan(lines(bad), 0, 0)
    assert r.records == [] and r.skipped == 1


def test_odd_token_values_never_crash():
    line = assistant()
    line["message"]["usage"].update(input_tokens="12", output_tokens=None, cache_read_input_tokens=-5)
    assert extract(line) is False  # implausible counts: the line is skipped (test_implausible)


@given(st.binary(max_size=400))
def test_garbage_never_raises(blob):
    r = scan(blob, 0, 0)
    assert r.end <= len(blob)


def test_hostile_token_counts_are_skipped_not_fatal():
    for n in (99999999999999999999999, 9999999999999999):
        r = scan(lines(assistant(inp=n), assistant(msg="m2")), 0, 0)
        assert len(r.records) == 1 and r.skipped == 1


def test_non_utf8_and_deep_nesting_are_skipped():
    deep = b'{"usage":' * 5000 + b"1" + b"}" * 5000
    r = scan(lines(b'\xff\xfe{"usage"', deep, assistant()), 0, 0)
    assert len(r.records) == 1 and r.skipped == 2


_PIECES = st.sampled_from([
    b"\n", b"\r\n", b"{", b"}", b'"usage"', b'"usage', b"usage\"", b" ", b"\xef\xbb\xbf", b"x",
    json.dumps(assistant(msg="m")).encode(), json.dumps(user()).encode(),
    b'{"type":"assistant","message":{"usage":{"input_tokens":',
])


@given(st.lists(_PIECES, max_size=40))
def test_the_bulk_search_of_big_buffers_finds_what_per_line_find_finds(pieces):
    """Big buffers look for usage in one SIMD pass; small ones per line: same result."""
    import ccspend.sources.claude_code as cc

    data = b"".join(pieces)
    saved = cc.BULK_MIN_BYTES
    try:
        cc.BULK_MIN_BYTES = 1 << 40
        by_line = scan(data, 5, 3)
        cc.BULK_MIN_BYTES = 0
        by_bulk = scan(data, 5, 3)
    finally:
        cc.BULK_MIN_BYTES = saved
    assert by_bulk == by_line


_ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.integers(1 << 39, 1 << 65),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from(["", "7", "x"]),
    st.just({}), st.just([]),
)  # fmt: skip
_COUNT = st.integers(0, 9).flatmap(lambda n: st.integers(0, 10_000) if n < 8 else _ODD)


@st.composite
def _odd_assistant_line(draw) -> dict:
    """An assistant line whose fields may have any type: most take the fast path, some
    the tolerant one."""
    def maybe(value):  # mostly the right type: most lines take the fast path
        return value if draw(st.integers(0, 19)) else draw(_ODD)

    usage = {k: draw(_COUNT) for k in ("input_tokens", "output_tokens",
                                       "cache_creation_input_tokens", "cache_read_input_tokens")}
    usage["cache_creation"] = maybe(draw(st.fixed_dictionaries({
        "ephemeral_5m_input_tokens": _COUNT, "ephemeral_1h_input_tokens": _COUNT})))
    usage["server_tool_use"] = maybe(draw(st.fixed_dictionaries(
        {"web_search_requests": _COUNT})))
    return {
        "type": "assistant", "sessionId": maybe("s1"), "requestId": maybe("req_1"),
        "cwd": maybe("/w"), "gitBranch": maybe("main"), "isSidechain": maybe(True),
        "isApiErrorMessage": maybe(False), "costUSD": maybe(0.25), "agentId": maybe("a1"),
        "timestamp": draw(st.sampled_from(["2026-09-01T10:00:00.123Z", "2026-09-01T10:00:00",
                                           "2026-09-01T12:00:00+02:00", "not a time", 5])),
        "message": {"id": maybe("msg_1"), "model": maybe("claude-sonnet-4-5"), "usage": usage},
        draw(st.sampled_from(["ts", "f", "o", "uuid"])): maybe(1),  # keys the scanner also uses
    }  # fmt: skip


@settings(max_examples=300)
@given(_odd_assistant_line())
def test_the_fast_path_and_the_tolerant_path_agree(obj):
    """The msgspec schema (then ``record_of``) and ``extract`` on the parsed JSON give the
    same record, or both skip the line."""
    data = lines(obj)
    r = scan(data, 0, 3)
    want = extract(json.loads(data))
    if want is False or want is None:
        assert r.records == [] and r.skipped == (1 if want is False else 0)
        return
    assert r.skipped == 0
    assert r.records == [{**want, "f": 3, "o": 0}]
