"""The store flattens the scanner's ``Line`` objects as ``record_of`` does in Python.

The ingest writes decoded log lines back out nested, with fields that held their
default left out, and ``store.write_ingest`` flattens them in SQL (the 5m/1h
split, absent counts as zero, the largest plausible counts, file index and offset 0). The
status line and the cap hook use ``record_of`` on the same lines, so the two
must agree on every line, however odd its usage object.
"""

from __future__ import annotations

import json

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccspend.sources.claude_code import MAX_TOKENS, scan
from ccspend.store import FileUpdate, Store

COUNT = st.one_of(st.integers(0, 5000), st.integers(MAX_TOKENS - 2, MAX_TOKENS))
MAYBE = st.none() | COUNT  # None: the key is absent


def _obj(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


@st.composite
def usage(draw) -> dict:
    out = _obj({
        "input_tokens": draw(MAYBE), "output_tokens": draw(MAYBE),
        "cache_creation_input_tokens": draw(MAYBE), "cache_read_input_tokens": draw(MAYBE),
    })  # fmt: skip
    split = draw(st.sampled_from(["absent", "empty", "some"]))
    if split == "empty":
        out["cache_creation"] = {}
    elif split == "some":
        out["cache_creation"] = _obj({
            "ephemeral_5m_input_tokens": draw(MAYBE), "ephemeral_1h_input_tokens": draw(MAYBE),
        })  # fmt: skip
    if draw(st.booleans()):
        out["server_tool_use"] = _obj({"web_search_requests": draw(MAYBE)})
    return out


@st.composite
def log_line(draw, n: int) -> dict:
    return _obj({
        "type": "assistant",
        "timestamp": draw(st.sampled_from([
            "2026-09-01T09:14:05.402Z", "2026-09-01T23:59:59.999+02:00", "2026-09-01T00:00:00",
        ])),
        "sessionId": f"s{n}",
        "requestId": draw(st.sampled_from([None, "", "req_1"])),
        "isSidechain": draw(st.sampled_from([None, True, False])),
        "isApiErrorMessage": draw(st.sampled_from([None, True, False])),
        "costUSD": draw(st.sampled_from([None, 0.5, 2])),
        "gitBranch": draw(st.sampled_from([None, "", "main"])),
        "message": _obj({
            "id": draw(st.sampled_from([None, f"msg_{n}"])),
            "model": draw(st.sampled_from([None, "claude-sonnet-4-5", "<synthetic>"])),
            "usage": draw(usage()),
        }),
    })  # fmt: skip


COLUMNS = (
    "session_id", "message_id", "request_id", "model", "input_tokens", "output_tokens",
    "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens",
    "web_search_requests", "git_branch", "is_sidechain", "is_api_error", "logged_cost_usd",
)  # fmt: skip
RECORD_KEYS = (
    "sid", "mid", "rid", "model", "in", "out", "c5", "c1", "cr", "ws", "br", "sc", "err", "cu",
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 12).flatmap(lambda k: st.tuples(*[log_line(i) for i in range(k)])))
def test_store_rows_equal_record_of(tmp_path_factory, objs):
    data = b"".join(json.dumps(o).encode() + b"\n" for o in objs)
    result = scan(data, 0, 0)  # file index 0 and the first line at offset 0: both left out
    assert len(result.lines) == len(objs) and result.skipped == 0
    want = [(r["o"], *(r[k] for k in RECORD_KEYS), r["ts"]) for r in result.records]
    folder = tmp_path_factory.mktemp("flat")
    path = folder / "lines.ndjson"
    path.write_bytes(msgspec.json.Encoder().encode_lines(result.lines))
    store = Store(folder / "ccspend.duckdb")
    update = FileUpdate(path="/logs/0.jsonl", source="claude-code", dev=1, ino=1, size=len(data),
                        mtime_ns=1, start=0, end=len(data), head_hash=None, skipped=0,
                        agent_id=None, agent_type=None, replace=False, expected=None, tmp_id=0,
                        first_ts_us=None, last_ts_us=None)  # fmt: skip
    with store.connect(write=True) as con:
        assert store.write_ingest(con, [update], [str(path)], "claude-lines") == len(objs)
        got = con.execute(
            f"SELECT line_offset, {', '.join(COLUMNS)}, epoch_us(ts) FROM requests "
            "ORDER BY line_offset"
        ).fetchall()
    assert [tuple(r) for r in got] == want
