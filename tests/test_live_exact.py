"""Every surface shows the same cost for the same requests (issue #14, part 5).

The status line and the cap hook count a session as the session report does: a
response once, at its line of most output, in the file that started first, for the
session of the line kept. So a resumed session's copies of an earlier session's lines
(keeping the old session id, or carrying the new one) count in the earlier session,
subagents count in their session, and a response streamed over several lines counts
at its final line. Checked on a generated corpus of ~50 sessions, in the library to
1e-6 and through real ``ccspend statusline`` processes, from the first call (no
summary yet) and again after more lines are appended.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import cli, report_json
from tests.logs import append, assistant, user, write

MODELS = ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-1-20250805"]


def _stamp(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Corpus:
    """Sessions in a few project folders, written as Claude Code writes them."""

    def __init__(self, projects, seed: int) -> None:
        self.rng = random.Random(seed)
        self.projects = projects
        self.start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        self.n = 0
        self.files: dict[str, list] = {}  # path -> lines written
        self.sessions: dict[str, str] = {}  # session id -> its transcript

    def _t(self) -> datetime:
        self.n += 1
        return self.start + timedelta(seconds=7 * self.n)

    def response(self, sid: str, sidechain: bool = False, keyless: bool = False) -> list:
        """One response: its lines, streamed (placeholder outputs, then the final one)."""
        rng = self.rng
        self.n += 1
        mid, req = f"msg_{self.n:05d}", f"req_{self.n:05d}"
        model = rng.choice(MODELS)
        inp = rng.choice([3, 1200, 40_000, 190_000, 230_000])
        cw, w1h, cr = rng.randrange(0, 30_000), None, rng.randrange(0, 150_000)
        if rng.random() < 0.3:
            w1h = rng.randrange(0, cw + 1)
        final = rng.randrange(1, 4000)
        outs = [1] * rng.randrange(0, 3) + [final]
        if rng.random() < 0.15:  # a later placeholder after the final line: the largest wins
            outs.append(1)
        t = self._t()
        return [assistant(ts=_stamp(t), session=sid, msg=None if keyless else mid, req=req,
                          model=model, inp=inp, out=o, cache_write=cw, w1h=w1h, cache_read=cr,
                          searches=rng.choice([0, 0, 0, 2]), sidechain=sidechain,
                          agent_id="a1" if sidechain else None)
                for o in outs]  # fmt: skip

    def session(self, project: str, sid: str, copied: list | None = None,
                keep_old_id: bool = False) -> None:  # fmt: skip
        """A session: optionally resumed (the earlier session's lines copied first, with
        their own session id or this one), then its own turns, and maybe a subagent."""
        rng = self.rng
        lines: list = []
        if copied is not None:
            lines.append({"type": "summary", "summary": "resumed", "leafUuid": "x"})
            for ln in copied:
                if isinstance(ln, dict) and not keep_old_id and "sessionId" in ln:
                    ln = {**ln, "sessionId": sid}
                lines.append(ln)
        for _ in range(rng.randrange(1, 6)):
            lines.append(user(ts=_stamp(self._t()), session=sid))
            lines += self.response(sid, keyless=rng.random() < 0.05)
        path = self.projects / project / f"{sid}.jsonl"
        write(path, lines)
        self.files[str(path)] = lines
        self.sessions[sid] = str(path)
        if rng.random() < 0.3:
            sub = self.projects / project / sid / "subagents" / f"agent-{sid[:6]}.jsonl"
            sub_lines = [ln for _ in range(rng.randrange(1, 4))
                         for ln in self.response(sid, sidechain=True)]  # fmt: skip
            write(sub, sub_lines)
            self.files[str(sub)] = sub_lines

    def build(self, n: int = 50) -> None:
        rng = self.rng
        for i in range(n):
            project = f"-home-dev-p{i % 3}"
            sid = f"s{i:02d}-{rng.randrange(16**6):06x}"
            earlier = [s for s, p in self.sessions.items() if f"/{project}/" in p]
            if earlier and rng.random() < 0.45:
                old = rng.choice(earlier)
                copied = self.files[self.sessions[old]]
                if rng.random() < 0.3:  # part of it only, from the start or from its middle
                    cut = rng.randrange(len(copied))
                    copied = copied[:cut] if rng.random() < 0.5 else copied[cut:]
                self.session(project, sid, copied, keep_old_id=rng.random() < 0.5)
            else:
                self.session(project, sid)


def _costs() -> dict[str, float]:
    return {r["key"]: r["cost_usd"] for r in report_json("session")["rows"]}


def _library_cost(sid: str, transcript: str) -> float:
    from ccspend.live.sessions import session_cost, state_dir
    from ccspend.pricing.today import today_price_index

    prices_id, prices = today_price_index()
    return session_cost(transcript, sid, state_dir(), prices, prices_id)


def _own_files_cost(transcript: str) -> float:
    """What the status line counted before: the transcript and its subagents' files, each
    response once at its largest output, whatever other files hold."""
    from ccspend.live.sessions import response_key, response_row, scan_appended, session_files
    from ccspend.pricing.index import price_responses
    from ccspend.pricing.today import today_prices

    rows: dict = {}
    for path in session_files(transcript):
        with open(path, "rb") as fh:
            records, _end = scan_appended(fh.read(), 0)
        for r in records:
            key = response_key(r, path)
            if key not in rows or r["out"] > rows[key][3]:
                rows[key] = response_row(r)
    return price_responses(rows, today_prices())[0]


def _status(sid: str, transcript: str) -> str:
    payload = {"session_id": sid, "transcript_path": transcript, "model": {"id": "x"}}
    r = subprocess.run([sys.executable, "-m", "ccspend", "statusline"], input=json.dumps(payload),
                       capture_output=True, text=True, timeout=30)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("seed", [1, 2])
def test_the_status_line_counts_every_session_as_the_session_report(sandbox, projects, seed):
    corpus = Corpus(projects, seed)
    corpus.build(50)
    report = _costs()
    assert not (sandbox / "data" / "ccspend.duckdb.cache" / "statusline" / "summary.json").exists()
    resumed = sum(1 for lines in corpus.files.values()
                  if lines and lines[0].get("type") == "summary")  # fmt: skip
    assert resumed >= 10
    # the corpus has what the status line used to count wrong: summing each session's own
    # files (deduplicated within them) disagrees with the report on many sessions
    naive = sum(abs(_own_files_cost(t) - report.get(sid, 0.0)) > 1e-6
                for sid, t in corpus.sessions.items())  # fmt: skip
    assert naive >= 10
    for sid, transcript in corpus.sessions.items():
        # first through the real status line (its first call: no summary, no state)
        out = _status(sid, transcript)
        assert f"session ${report.get(sid, 0.0):.2f}" in out, (sid, out)
        assert _library_cost(sid, transcript) == pytest.approx(report.get(sid, 0.0), abs=1e-6)
    # then the sessions go on: new responses (streamed) in some, a resumed one included
    rng = random.Random(seed)
    for sid in rng.sample(sorted(corpus.sessions), 12):
        path = corpus.sessions[sid]
        new = [user(ts=_stamp(corpus._t()), session=sid), *corpus.response(sid)]
        append(Path(path), new)
        corpus.files[path] += new
    report = _costs()
    for sid, transcript in corpus.sessions.items():
        assert _library_cost(sid, transcript) == pytest.approx(report.get(sid, 0.0), abs=1e-6)
    for sid in rng.sample(sorted(corpus.sessions), 5):
        out = _status(sid, corpus.sessions[sid])
        assert f"session ${report.get(sid, 0.0):.2f}" in out, (sid, out)


def test_the_first_call_shows_the_sessions_cost_without_a_summary(sandbox, projects):
    now = datetime.now(UTC)
    t = write(projects / "p" / "s1.jsonl", [
        user(session="s1", ts=_stamp(now)),
        assistant(session="s1", ts=_stamp(now), msg="a", req="a", inp=1_000_000, out=0,
                  model="claude-haiku-4-5")])  # $1.00
    out = _status("s1", str(t))
    assert "session $1.00" in out
    assert not (sandbox / "data" / "ccspend.duckdb.cache" / "statusline" / "summary.json").exists()


def test_a_resumed_sessions_copies_count_in_the_session_that_began_first(sandbox, projects):
    """Both ways Claude Code has copied lines into a resumed session: with the old id
    and with the new one. The originals count in the first session, once."""
    t0 = datetime.now(UTC) - timedelta(hours=1)
    first = [user(session="a", ts=_stamp(t0)),
             assistant(session="a", ts=_stamp(t0), msg="m1", req="r1", inp=1_000_000, out=1,
                       model="claude-haiku-4-5"),
             assistant(session="a", ts=_stamp(t0), msg="m1", req="r1", inp=1_000_000, out=0,
                       model="claude-haiku-4-5")]  # fmt: skip
    a = write(projects / "p" / "a.jsonl", first)
    later = assistant(session="b", ts=_stamp(t0 + timedelta(minutes=5)), msg="m2", req="r2",
                      inp=2_000_000, out=0, model="claude-haiku-4-5")
    b = write(projects / "p" / "b.jsonl", [{**ln, "sessionId": "b"} for ln in first] + [later])
    c = write(projects / "p" / "c.jsonl", [*first, later])  # old ids kept
    report = _costs()
    assert report["a"] == pytest.approx(1.000005)
    for sid, path in (("a", a), ("b", b), ("c", c)):
        assert _library_cost(sid, str(path)) == pytest.approx(report.get(sid, 0.0), abs=1e-9)
        assert f"session ${report.get(sid, 0.0):.2f}" in _status(sid, str(path))


def test_the_first_tool_call_after_cap_install_is_denied_when_over_the_cap(sandbox, projects):
    now = datetime.now(UTC)
    t = write(projects / "p" / "s1.jsonl", [
        user(session="s1", ts=_stamp(now)),
        assistant(session="s1", ts=_stamp(now), msg="a", req="a", inp=3_000_000, out=0,
                  model="claude-haiku-4-5")])  # $3.00
    assert cli("cap", "install", "--session-cap", "2").returncode == 0  # the documented way
    assert "session_usd = 2" in (sandbox / "config" / "config.toml").read_text()
    event = {"hook_event_name": "PreToolUse", "session_id": "s1", "transcript_path": str(t),
             "tool_name": "Bash", "tool_input": {"command": "ls"}}
    r = subprocess.run([sys.executable, "-m", "ccspend", "cap", "hook"], input=json.dumps(event),
                       capture_output=True, text=True, timeout=30)  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert "$3.00 of its $2.00" in out["permissionDecisionReason"]
