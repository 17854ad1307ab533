"""Codex CLI rollout logs: record shape, token arithmetic, turns, bad lines, discovery.

Expected numbers are written out by hand from the fixtures.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ccspend.sources import claude_code, codex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"
EXAMPLE = FIXTURES / "codex_rollout-2026-09-01T10-02-11-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl"
TRAPS = FIXTURES / "codex_rollout-2026-09-02T08-00-00-0199b2c3-d4e5-7f60-8a9b-1c2d3e4f5a6b.jsonl"
OLD = FIXTURES / "codex_rollout-2025-05-10T09-00-00-5b0f0e2a-1c3d-4e5f-9a8b-7c6d5e4f3a2b.jsonl"
SID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
SID2 = "0199b2c3-d4e5-7f60-8a9b-1c2d3e4f5a6b"

CLAUDE_LINE = {
    "type": "assistant", "timestamp": "2026-09-01T10:00:00Z", "sessionId": "s",
    "message": {"id": "m", "model": "claude-sonnet-4-6",
                "usage": {"input_tokens": 1, "output_tokens": 2}},
}


def test_record_shape_is_the_claude_code_one():
    claude = claude_code.extract(CLAUDE_LINE)
    records, _ = codex.read(str(EXAMPLE), 3)
    assert [list(r) for r in records] == [[*claude, "f", "o"]] * 2


def test_example_records_exactly():
    records, skipped = codex.read(str(EXAMPLE), 3)
    common = {
        "sid": SID, "rid": None, "model": "gpt-5.2-codex", "c5": 0, "c1": 0, "ws": 0,
        "cwd": "/home/alice/src/ccspend", "br": "feat/route-cmd", "ver": "0.58.0",
        "ent": "codex", "sc": False, "aid": None, "err": False, "cu": None, "f": 3,
        # Codex has no fast mode, region or compaction steps
        "sp": None, "geo": None, "ki": 0, "ko": 0, "k5": 0, "k1": 0, "kr": 0,
    }
    assert skipped == 0
    assert records == [
        # 18,220 input of which 12,288 cached; 905 output (640 reasoning inside)
        {**common, "ts": 1_788_256_949_771_000, "mid": f"{SID}:1", "in": 5_932, "out": 905,
         "cr": 12_288, "o": 573},
        # last_token_usage: 21,590 input, 18,432 cached, 1,106 output (682 reasoning inside)
        {**common, "ts": 1_788_256_982_115_000, "mid": f"{SID}:2", "in": 3_158, "out": 1_106,
         "cr": 18_432, "o": 1_159},
    ]


def test_offsets_point_at_the_token_count_lines():
    for path in (EXAMPLE, TRAPS):
        buf = path.read_bytes()
        for rec in codex.read(str(path), 1)[0]:
            line = buf[rec["o"]: buf.index(b"\n", rec["o"])]
            assert rec["o"] == 0 or buf[rec["o"] - 1: rec["o"]] == b"\n"
            assert json.loads(line)["payload"]["type"] == "token_count"


def test_traps_fixture():
    records, skipped = codex.read(str(TRAPS), 9)
    # bad: the garbage line and the truncated line in the middle; the unfinished last
    # line is not counted
    assert skipped == 2
    got = [(r["mid"], r["model"], r["cwd"], r["in"], r["cr"], r["out"]) for r in records]
    assert got == [
        # info: null before it, and its exact repeat after it, are no calls
        (f"{SID2}:1", "gpt-5.2-codex", "/home/bob/proj", 6_000, 4_000, 500),
        # last_token_usage, after a turn_context that changed model and cwd
        (f"{SID2}:2", "gpt-5.1-codex-mini", "/home/bob/proj/sub", 7_000, 8_000, 800),
        # totals only: 31,000/15,000/1,700 minus 25,000/12,000/1,300
        (f"{SID2}:3", "gpt-5.1-codex-mini", "/home/bob/proj/sub", 3_000, 3_000, 400),
    ]
    assert sum(r["in"] for r in records) == 16_000
    assert sum(r["cr"] for r in records) == 15_000
    assert sum(r["out"] for r in records) == 1_700
    assert {(r["br"], r["ver"], r["ent"], r["f"]) for r in records} == {
        ("main", "0.60.1", "codex", 9)}


def test_mids_unique_and_stable():
    first = [r["mid"] for r in codex.read(str(TRAPS), 1)[0]]
    assert len(set(first)) == len(first)
    assert [r["mid"] for r in codex.read(str(TRAPS), 2)[0]] == first


def test_old_log_without_token_counts_gives_nothing():
    assert codex.read(str(OLD), 1) == ([], 0)


# -- single traps, on generated files ---------------------------------------------------


def line(ts: str, kind: str, payload: dict) -> str:
    return json.dumps({"timestamp": ts, "type": kind, "payload": payload})


def usage(inp: int, cached: int, out: int, reasoning: int = 0) -> dict:
    return {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
            "reasoning_output_tokens": reasoning, "total_tokens": inp + out}


def count(ts: str, total: dict | None = None, last: dict | None = None) -> str:
    info = {}
    if total is not None:
        info["total_token_usage"] = total
    if last is not None:
        info["last_token_usage"] = last
    return line(ts, "event_msg", {"type": "token_count", "info": info})


META = line("2026-09-03T00:00:00Z", "session_meta", {"id": "s-1", "cwd": "/w", "cli_version": "1"})
CONTEXT = line("2026-09-03T00:00:01Z", "turn_context", {"model": "gpt-5", "cwd": "/w"})


def rollout(tmp_path: Path, *lines: str, end: str = "\n") -> str:
    path = tmp_path / "rollout-2026-09-03T00-00-00-0199c3d4-e5f6-7a8b-9c0d-1e2f3a4b5c6d.jsonl"
    path.write_text("\n".join(lines) + end)
    return str(path)


def test_reasoning_is_never_added(tmp_path):
    path = rollout(tmp_path, META, CONTEXT, count("2026-09-03T00:00:02Z", last=usage(10, 0, 7, 5)))
    ((rec,), _) = codex.read(path, 1)
    assert (rec["in"], rec["out"], rec["cr"]) == (10, 7, 0)


def test_a_total_that_went_down_starts_again(tmp_path):
    path = rollout(tmp_path, META,
                   count("2026-09-03T00:00:02Z", total=usage(100, 50, 10)),
                   count("2026-09-03T00:00:03Z", total=usage(30, 10, 5)))
    records, _ = codex.read(path, 1)
    assert [(r["in"], r["cr"], r["out"]) for r in records] == [(50, 50, 10), (20, 10, 5)]
    assert records[0]["model"] is None  # no turn_context yet


def test_complete_last_line_without_newline_is_read(tmp_path):
    path = rollout(tmp_path, META, count("2026-09-03T00:00:02Z", last=usage(10, 4, 2)), end="")
    records, skipped = codex.read(path, 1)
    assert len(records) == 1 and skipped == 0


def test_bad_timestamp_blank_line_and_bom(tmp_path):
    path = rollout(tmp_path, "\ufeff" + META, "",
                   count("not a time", last=usage(10, 4, 2)),
                   count("2026-09-03T00:00:03Z", last=usage(12, 4, 2)))
    records, skipped = codex.read(path, 1)
    assert skipped == 2  # the blank line and the line that cannot be placed in time
    assert [(r["sid"], r["in"], r["mid"]) for r in records] == [("s-1", 8, "s-1:1")]


def test_session_id_from_the_file_name_without_session_meta(tmp_path):
    path = rollout(tmp_path, count("2026-09-03T00:00:02Z", last=usage(10, 4, 2)))
    ((rec,), _) = codex.read(path, 1)
    assert rec["sid"] == "0199c3d4-e5f6-7a8b-9c0d-1e2f3a4b5c6d"
    assert rec["mid"] == "0199c3d4-e5f6-7a8b-9c0d-1e2f3a4b5c6d:1"


def test_hostile_values_never_raise(tmp_path):
    path = rollout(tmp_path, META,
                   line("2026-09-03T00:00:01Z", "turn_context", {"model": 7, "cwd": ["x"]}),
                   count("2026-09-03T00:00:02Z", last={"input_tokens": -5, "cached_input_tokens":
                                                       "many", "output_tokens": 3.0}),
                   count("2026-09-03T00:00:03Z", last=usage(5, 9, 1)),
                   line("2026-09-03T00:00:04Z", "event_msg", {"type": "token_count", "info": 3}),
                   '{"payload": 1}', "[1, 2]", "{")
    records, skipped = codex.read(path, 1)
    # the line with -5 and "many" is implausible: skipped and counted, never clamped
    assert [(r["model"], r["cwd"], r["in"], r["cr"], r["out"]) for r in records] == [
        (None, "/w", 0, 9, 1)]
    assert skipped == 3  # that line, "[1, 2]" and "{"


# -- finding logs, rate limits -----------------------------------------------------------


def test_default_roots(monkeypatch, tmp_path):
    monkeypatch.delenv("CODEX_HOME", raising=False)
    assert codex.default_roots() == [Path.home() / ".codex" / "sessions"]
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "ch"))
    assert codex.default_roots() == [tmp_path / "ch" / "sessions"]


def test_discover_finds_only_rollouts(tmp_path):
    day = tmp_path / "sessions" / "2026" / "09" / "02"
    day.mkdir(parents=True)
    shutil.copy(TRAPS, day / TRAPS.name.removeprefix("codex_"))
    (day / "notes.jsonl").write_text("{}\n")
    (day / "rollout-x.json").write_text("{}\n")
    found = list(codex.discover([tmp_path / "sessions"]))
    assert [Path(f.path).name for f in found] == [TRAPS.name.removeprefix("codex_")]
    assert found[0].size == TRAPS.stat().st_size


def test_latest_rate_limits():
    reading = codex.latest_rate_limits(str(TRAPS))
    assert reading["ts"] == claude_code.parse_timestamp_us("2026-09-02T08:04:00Z")
    assert reading["primary"]["used_percent"] == 5.0
    assert reading["secondary"]["window_minutes"] == 10080
    assert codex.latest_rate_limits(str(OLD)) is None
    assert codex.latest_rate_limits(str(FIXTURES / "missing.jsonl")) is None


@pytest.mark.parametrize("bad", [10**30, -5, "12", True, 1.5, 2 * 10**9])
def test_an_implausible_count_skips_the_line_as_a_bad_line(tmp_path, bad):
    """As for Claude Code's logs: a count that is negative, huge, a fraction or no number
    skips its line (counted as bad), never clamped into a total."""
    def line(ts: str, last: dict, total: dict) -> str:
        return json.dumps({"timestamp": ts, "type": "event_msg", "payload": {
            "type": "token_count", "info": {"total_token_usage": total,
                                            "last_token_usage": last}}})  # fmt: skip

    good = {"input_tokens": 100, "cached_input_tokens": 0, "output_tokens": 10,
            "reasoning_output_tokens": 0}  # fmt: skip
    hostile = dict(good, output_tokens=bad)
    twice = {k: 2 * v for k, v in good.items()}
    path = tmp_path / "rollout-2026-09-01T10-00-00-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl"
    path.write_text("\n".join([
        line("2026-09-01T10:00:01Z", good, good),
        line("2026-09-01T10:00:02Z", hostile, dict(twice, output_tokens=bad)),
        line("2026-09-01T10:00:03Z", good, twice),
    ]) + "\n")  # fmt: skip
    records, skipped = codex.read(str(path), 1)
    assert skipped == 1
    assert [(r["in"], r["out"]) for r in records] == [(100, 10), (100, 10)]
