"""The status line's fast path (``live.project_state``) counts what the session report counts.

A call reads only this session's files, the files sharing a response with them and
new files; everything else is left to the slow path, which stats the whole project
folder. Each test drives the case where a fast path could miscount (a resumed copy
appearing between two calls, a response streamed over two calls, a new subagent, a
rewritten or deleted file, new prices, a resume and its original written at once,
random appends across many files) and checks the library's answer against
``ccspend session --json`` and against a state made from scratch, and that the fast
path did answer where it should.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import report_json
from tests.logs import append, assistant, user, write

HAIKU = "claude-haiku-4-5"
MODELS = ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-1-20250805"]


@pytest.fixture
def live(sandbox, projects, monkeypatch):
    """Calls of the status line's library function, in this process, with the racy
    window of the folder check cut to 20 ms (``settle`` waits it out)."""
    from ccspend.live import project_state

    monkeypatch.setattr(project_state, "RACY_NS", 20_000_000)
    return Live(projects)


class Live:
    def __init__(self, projects: Path) -> None:
        self.projects = projects
        self.paths: list[str] = []

    def settle(self, sid: str | None = None, transcript: Path | None = None) -> None:
        """Past the racy window; then one call (given a session) that lists the folder
        anew, so that the next call may take the fast path."""
        time.sleep(0.03)
        if sid is not None:
            self.cost(sid, transcript)

    def cost(self, sid: str, transcript: Path) -> float:
        from ccspend.live import project_state
        from ccspend.live.sessions import session_cost, state_dir
        from ccspend.pricing.today import today_price_index

        prices_id, prices = today_price_index()
        usd = session_cost(str(transcript), sid, state_dir(), prices, prices_id)
        self.paths.append(project_state.LAST["path"])
        return usd

    def scratch(self, project: Path, tmp: Path) -> dict:
        """Every session's cost from a state made from scratch (the slow path alone)."""
        from ccspend.live.sessions import project_costs
        from ccspend.pricing.today import today_price_index

        shutil.rmtree(tmp, ignore_errors=True)
        prices_id, prices = today_price_index()
        return project_costs(str(project), tmp, prices, prices_id)

    @property
    def last(self) -> str:
        return self.paths[-1]


def _stamp(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def _at(minutes: float) -> str:
    return _stamp(T0 + timedelta(minutes=minutes))


def _resp(sid, minutes, msg, inp=1_000_000, out=0, **kw) -> dict:
    return assistant(session=sid, ts=_at(minutes), msg=msg, req=f"r-{msg}", inp=inp, out=out,
                     model=kw.pop("model", HAIKU), **kw)  # fmt: skip


def _report() -> dict[str, float]:
    return {r["key"]: r["cost_usd"] for r in report_json("session")["rows"]}


def test_a_new_line_of_this_session_is_counted_on_the_fast_path(live, projects):
    s = write(projects / "p" / "s.jsonl", [user(session="s", ts=_at(0)), _resp("s", 0, "a")])
    assert live.cost("s", s) == pytest.approx(1.0)
    live.settle()
    assert live.cost("s", s) == pytest.approx(1.0)  # the slow path that records the folder
    append(s, [_resp("s", 1, "b", inp=2_000_000)])
    assert live.cost("s", s) == pytest.approx(3.0)
    assert live.last == "fast"


def test_a_response_streamed_over_two_calls_counts_at_its_final_line(live, projects):
    s = write(projects / "p" / "s.jsonl", [user(session="s", ts=_at(0)), _resp("s", 0, "a")])
    live.cost("s", s)
    live.settle()
    live.cost("s", s)
    append(s, [_resp("s", 1, "b", out=1)])  # the placeholder line of a streamed response
    live.cost("s", s)
    append(s, [_resp("s", 1, "b", out=200_000)])  # its final line: the output grew
    got = live.cost("s", s)
    assert live.paths[-2:] == ["fast", "fast"]
    append(s, [_resp("s", 1, "b", out=1)])  # a later placeholder: the largest still counts
    assert live.cost("s", s) == pytest.approx(got) and live.last == "fast"
    assert got == pytest.approx(_report()["s"]) == pytest.approx(1.0 + 2.0)


def test_a_resumed_copy_appearing_between_two_calls(live, projects, tmp_path):
    """A new file copying this session's lines (with the new id, or keeping the old one)
    changes nothing for it; a copy holding a line of more output moves the response."""
    first = [user(session="a", ts=_at(0)), _resp("a", 0, "m1", out=1), _resp("a", 1, "m2")]
    a = write(projects / "p" / "a.jsonl", first)
    live.cost("a", a)
    live.settle()
    assert live.cost("a", a) == pytest.approx(2.000005)
    b = write(projects / "p" / "b.jsonl",
              [{**ln, "sessionId": "b"} for ln in first] + [_resp("b", 5, "m3")])  # fmt: skip
    assert live.cost("a", a) == pytest.approx(2.000005)
    assert live.cost("b", b) == pytest.approx(1.0)
    live.settle("a", a)
    append(a, [_resp("a", 6, "m4")])  # the original goes on beside its copy
    append(b, [_resp("b", 7, "m5")])
    assert live.cost("a", a) == pytest.approx(3.000005) and live.last == "fast"
    assert live.cost("b", b) == pytest.approx(2.0)
    report = _report()
    assert report["a"] == pytest.approx(3.000005) and report["b"] == pytest.approx(2.0)
    # a copy whose line of a response has more output than the original's: the copy counts
    c = write(projects / "p" / "c.jsonl", [user(session="c", ts=_at(0)),
                                           _resp("c", 0, "m1", out=400_000)])  # fmt: skip
    report = _report()
    for sid, path in (("a", a), ("b", b), ("c", c)):
        assert live.cost(sid, path) == pytest.approx(report[sid], abs=1e-9)
    assert live.scratch(projects / "p", tmp_path / "scratch") == pytest.approx(
        {k: v for k, v in report.items() if k in "abc"}, abs=1e-9)


def test_a_resume_and_its_original_written_at_once(live, projects, monkeypatch):
    """A resume copies the whole session, so both files start at the same timestamp and
    the newest request decides which counts the copies: each append can turn it, and
    the session whose cost turns is the one not written to, asked before the other (the
    file written is its peer: no file is young here, so only that makes it read)."""
    from ccspend.live import project_state

    monkeypatch.setattr(project_state, "YOUNG_S", -1.0)
    first = [user(session="a", ts=_at(0)), _resp("a", 0, "m1"), _resp("a", 1, "m2")]
    a = write(projects / "p" / "a.jsonl", first)
    b = write(projects / "p" / "b.jsonl", [{**ln, "sessionId": "b"} for ln in first])
    live.cost("a", a)
    live.settle("b", b)
    minute = 10
    for turn in range(6):
        (who, path), (other, other_path) = (("a", a), ("b", b))[::1 if turn % 2 else -1]
        minute += 1
        append(path, [_resp(who, minute, f"n{turn}", inp=100_000 * (turn + 1))])
        report = _report()
        assert live.cost(other, other_path) == pytest.approx(report.get(other, 0.0), abs=1e-9)
        assert live.cost(who, path) == pytest.approx(report.get(who, 0.0), abs=1e-9)


def test_a_resume_whose_copies_are_written_over_several_calls(live, projects):
    """The copies reach a new file after it was first seen: it is watched while young,
    and a copy of a response the base holds (older than the hot layer's last few) is
    decided by the slow path."""
    first = [user(session="s", ts=_at(0)), *(_resp("s", i / 10, f"m{i}", inp=100_000)
                                             for i in range(20))]  # fmt: skip
    s = write(projects / "p" / "s.jsonl", first)
    live.cost("s", s)
    live.settle("s", s)
    b = write(projects / "p" / "b.jsonl", [{"type": "summary", "summary": "resumed"},
                                           user(session="b", ts=_at(0))])  # fmt: skip
    live.cost("s", s)
    live.settle("s", s)
    # copies of s's first responses: b starts as early and its newest is older, so b
    # counts them (the database's rule)
    append(b, [{**ln, "sessionId": "b"} for ln in first[1:7]])
    report = _report()
    assert report["s"] == pytest.approx(1.4) and report["b"] == pytest.approx(0.6)
    assert live.cost("s", s) == pytest.approx(1.4)
    assert live.cost("b", b) == pytest.approx(0.6)
    live.settle("s", s)
    append(b, [_resp("b", 5, "own", out=1)])  # a streamed response of the copy's own
    assert live.cost("s", s) == pytest.approx(2.0)  # b is newer now: s counts its own
    append(b, [_resp("b", 5, "own", out=200_000)])
    assert live.cost("b", b) == pytest.approx(2.0) and live.last == "fast"
    report = _report()
    assert report["s"] == pytest.approx(2.0) and report["b"] == pytest.approx(2.0)


def test_a_new_subagent_file_is_counted_on_the_fast_path(live, projects):
    s = write(projects / "p" / "s.jsonl", [user(session="s", ts=_at(0)), _resp("s", 0, "a")])
    write(projects / "p" / "s" / "subagents" / "agent-1.jsonl",
          [_resp("s", 1, "x", sidechain=True, agent_id="1")])  # fmt: skip
    live.cost("s", s)
    live.settle()
    assert live.cost("s", s) == pytest.approx(2.0)
    write(projects / "p" / "s" / "subagents" / "agent-2.jsonl",
          [_resp("s", 2, "y", inp=500_000, sidechain=True, agent_id="2")])  # fmt: skip
    assert live.cost("s", s) == pytest.approx(2.5) and live.last == "fast"
    append(projects / "p" / "s" / "subagents" / "agent-2.jsonl",
           [_resp("s", 3, "z", inp=500_000, sidechain=True, agent_id="2")])  # fmt: skip
    assert live.cost("s", s) == pytest.approx(3.0) and live.last == "fast"
    assert _report()["s"] == pytest.approx(3.0)


def test_a_file_rewritten_shorter_is_counted_again(live, projects):
    """A file replaced by a shorter one is counted again from what it holds now, on the
    slow path, as the status line always did. Not the session report's figure: the
    database keeps the old file's responses the new one does not hold (1.3 here, not
    0.3), a difference older than the fast path and left as it was."""
    s = write(projects / "p" / "s.jsonl", [user(session="s", ts=_at(0)), _resp("s", 0, "a"),
                                           _resp("s", 1, "b")])  # fmt: skip
    live.cost("s", s)
    live.settle()
    assert live.cost("s", s) == pytest.approx(2.0)
    write(s, [user(session="s", ts=_at(0)), _resp("s", 0, "a", inp=300_000)])
    assert live.cost("s", s) == pytest.approx(0.3)
    assert live.last.startswith("slow")
    live.settle("s", s)
    append(s, [_resp("s", 2, "c", inp=100_000)])
    assert live.cost("s", s) == pytest.approx(0.4)


def test_a_deleted_file_keeps_what_it_gave(live, projects):
    """As in the database: a transcript Claude Code removed still counts its responses,
    and its copies elsewhere are not counted a second time."""
    first = [user(session="a", ts=_at(0)), _resp("a", 0, "m1")]
    a = write(projects / "p" / "a.jsonl", first)
    b = write(projects / "p" / "b.jsonl",
              [{**ln, "sessionId": "b"} for ln in first] + [_resp("b", 5, "m2")])  # fmt: skip
    _report()  # the database has read both
    live.cost("a", a)
    live.settle()
    assert live.cost("b", b) == pytest.approx(1.0)
    a.unlink()
    assert live.cost("b", b) == pytest.approx(1.0)
    live.settle("b", b)
    append(b, [_resp("b", 6, "m3")])
    assert live.cost("b", b) == pytest.approx(2.0) and live.last == "fast"
    report = _report()
    assert report["b"] == pytest.approx(2.0) and report["a"] == pytest.approx(1.0)


def test_new_prices_reprice_everything(live, projects, tmp_path):
    from ccspend.live import project_state
    from ccspend.live.sessions import session_cost, state_dir

    s = write(projects / "p" / "s.jsonl", [user(session="s", ts=_at(0)),
                                           _resp("s", 0, "a", model="claude-haiku-4-5")])
    prices = {"claude-haiku-4-5": {"base": [1, 5, 1.25, 2, 0.1]}}
    assert session_cost(str(s), "s", state_dir(), prices, "card-1") == pytest.approx(1.0)
    live.settle()
    session_cost(str(s), "s", state_dir(), prices, "card-1")
    append(s, [_resp("s", 1, "b", model="claude-haiku-4-5")])
    assert session_cost(str(s), "s", state_dir(), prices, "card-1") == pytest.approx(2.0)
    assert project_state.LAST["path"] == "fast"
    card_2 = {"claude-haiku-4-5": {"base": [3, 15, 3.75, 6, 0.3]}}
    assert session_cost(str(s), "s", state_dir(), card_2, "card-2") == pytest.approx(6.0)
    assert project_state.LAST["path"].startswith("slow")
    # and through the card the status line reads: a rate override changes its id
    base = live.cost("s", s)
    assert base == pytest.approx(_report()["s"])


def test_a_call_stats_this_session_not_the_history(live, projects, monkeypatch):
    """The work of a call does not grow with the files of the project folder."""
    for i in range(150):
        write(projects / "p" / f"old-{i:03d}.jsonl",
              [user(session=f"old-{i:03d}", ts=_at(0)), _resp(f"old-{i:03d}", 0, f"o{i}")])
    old = (time.time() - 2 * 86400, time.time() - 2 * 86400)
    for f in (projects / "p").iterdir():
        os.utime(f, old)  # idle for two days: not the working set
    s = write(projects / "p" / "s.jsonl", [user(session="s", ts=_at(0)), _resp("s", 0, "a")])
    live.cost("s", s)
    live.settle()
    live.cost("s", s)
    append(s, [_resp("s", 1, "b")])
    stats = []
    real = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: stats.append(p) or real(p, *a, **k))
    assert live.cost("s", s) == pytest.approx(2.0) and live.last == "fast"
    monkeypatch.setattr(os, "stat", real)
    assert len(stats) < 10, stats  # the folder, the transcript, the card's files


@pytest.mark.parametrize(("seed", "small"), [(3, False), (4, True)])
def test_random_appends_across_files_agree_with_the_session_report(live, projects, tmp_path,
                                                                   monkeypatch, seed, small):  # fmt: skip
    """Sessions, resumes (with the old or the new id), subagents and streamed responses,
    appended at random; after each step every session's cost is a state made from
    scratch's, and at the end the session report's. ``small``: a hot layer of a few
    responses, so that most spill and the spill is merged often."""
    from ccspend.live import project_state

    if small:
        monkeypatch.setattr(project_state, "HOT_KEYS", 4)
        monkeypatch.setattr(project_state, "LAST_KEYS", 2)
        monkeypatch.setattr(project_state, "SPILL_MAX", 12)
    rng = random.Random(seed)
    project = projects / "p"
    files: dict[str, list] = {}
    sessions: dict[str, Path] = {}
    n = [0]

    def resp(sid: str, sidechain: bool = False) -> list:
        n[0] += 1
        msg, outs = f"m{seed}-{n[0]}", [1] * rng.randrange(0, 3) + [rng.randrange(1, 4000)]
        model = rng.choice(MODELS)
        inp, cr = rng.choice([3, 1200, 40_000, 230_000]), rng.randrange(0, 150_000)
        return [assistant(session=sid, ts=_at(n[0] / 10), msg=msg, req=f"r{n[0]}",
                          model=model, inp=inp, out=o, cache_read=cr, sidechain=sidechain,
                          agent_id="x" if sidechain else None) for o in outs]  # fmt: skip

    def add(path: Path, lines: list) -> None:
        if path.exists():
            append(path, lines)
        else:
            write(path, lines)
        files.setdefault(str(path), []).extend(lines)

    for i in range(4):
        sid = f"s{i}"
        sessions[sid] = project / f"{sid}.jsonl"
        add(sessions[sid], [user(session=sid, ts=_at(0)), *resp(sid)])
    for sid, path in sessions.items():
        live.cost(sid, path)
    live.settle()
    for step in range(30):
        sid = rng.choice(sorted(sessions))
        path = sessions[sid]
        roll = rng.random()
        if roll < 0.1:  # a resumed session: this one's lines copied into a new file
            new = f"r{step}"
            keep = rng.random() < 0.5
            copied = [ln if keep else {**ln, "sessionId": new} for ln in files[str(path)]]
            sessions[new] = project / f"{new}.jsonl"
            add(sessions[new], [*copied, *resp(new)])
        elif roll < 0.25:  # a subagent of this session
            add(project / sid / "subagents" / f"agent-{rng.randrange(3)}.jsonl",
                resp(sid, sidechain=True))  # fmt: skip
        elif roll < 0.4:  # a response streamed: its final line comes in the next step
            lines = resp(sid)
            add(path, lines[:1])
            live.cost(sid, path)
            add(path, lines[1:] or lines[:1])
        else:
            add(path, [user(session=sid, ts=_at(n[0] / 10)), *resp(sid)])
        asked = rng.sample(sorted(sessions), min(3, len(sessions)))
        got = {s: live.cost(s, sessions[s]) for s in asked}
        truth = live.scratch(project, tmp_path / "scratch")
        for s in asked:
            assert got[s] == pytest.approx(truth.get(s, 0.0), abs=1e-9), (step, s)
        if rng.random() < 0.3:
            live.settle()
    report = _report()
    for sid, path in sessions.items():
        assert live.cost(sid, path) == pytest.approx(report.get(sid, 0.0), abs=1e-6), sid
    assert live.paths.count("fast") >= len(live.paths) // 3, live.paths
    if small:
        assert any("spill" in p for p in live.paths), live.paths
