"""Generated SQLite stores of the SQLite agents, with every trap and an exact truth.

``python -m bench.agents_db_gen OUT`` writes one database per agent under OUT
(``opencode/opencode.db``, ``kilo/kilo.db``, ``goose/sessions.db``,
``hermes/state.db``, ``copilot-store/session-store.db``) and prints each truth.

Each builder returns a ``Truth``: per UTC day, the tokens a correct reader must
find (uncached input, output with reasoning, cache reads, cache writes), the
number of calls, and the stated cost. The truth is written down from what the
generator *means* (each API call once), never by running a reader. The traps
(docs/agents.md):

- OpenCode/Kilo: several steps per message (the message keeps only the last
  step's tokens, its cost the sum), messages without step parts (older
  versions), a forked session (copies under new ids), subagent sessions, a
  provider with cost 0, reasoning inside output in an older version, a message
  still streaming (no tokens yet), text and tool parts, a row of broken JSON.
- Goose: session totals (the plain columns hold the last request only), a row
  without accumulated totals (no total known: bad), a total above input+output.
- Hermes: cumulative sessions, reasoning apart from output, actual vs estimated
  cost, a session with no tokens.
- Copilot session store: input that includes cache reads and writes, ``auto``
  as the model, reasoning inside output.

``mutate_*`` change a store the way the agent would between two ingests (a step
added to a message, a new session, a reverted message, a session grown) and
return the new truth.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

DAY_MS = 86_400_000
START_MS = 1_780_000_000_000  # 2026-05-28


@dataclass
class Truth:
    days: dict[str, list[int]] = field(default_factory=dict)  # day -> [in, out, cr, cw, calls]
    cost: float = 0.0  # the sum of the stated costs (USD) of the calls that state one
    bad: int = 0

    def add(self, ms: int, inp: int, out: int, cr: int = 0, cw: int = 0,
            cost: float | None = None) -> None:
        day = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")
        row = self.days.setdefault(day, [0, 0, 0, 0, 0])
        for i, v in enumerate((inp, out, cr, cw, 1)):
            row[i] += v
        if cost:
            self.cost += cost

    def totals(self) -> list[int]:
        return [sum(r[i] for r in self.days.values()) for i in range(5)]


def _connect(path: Path, wal: bool) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    return con


# -- OpenCode and Kilo ---------------------------------------------------------------

OPENCODE_SCHEMA = """
CREATE TABLE IF NOT EXISTS project (id TEXT PRIMARY KEY, worktree TEXT, name TEXT,
  time_created INTEGER, time_updated INTEGER);
CREATE TABLE IF NOT EXISTS session (id TEXT PRIMARY KEY, project_id TEXT, parent_id TEXT,
  slug TEXT, directory TEXT, path TEXT, title TEXT, version TEXT, time_created INTEGER,
  time_updated INTEGER, time_archived INTEGER);
CREATE TABLE IF NOT EXISTS message (id TEXT PRIMARY KEY, session_id TEXT, time_created INTEGER,
  time_updated INTEGER, data TEXT);
CREATE TABLE IF NOT EXISTS part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT,
  time_created INTEGER, time_updated INTEGER, data TEXT);
"""

MODELS = [("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-5"), ("google", "gemini-2.5-pro")]


class OpenCodeGen:
    """Builds an OpenCode-shaped store and keeps its truth as it goes."""

    def __init__(self, path: Path, seed: int = 19, wal: bool = True, prefix: str = "") -> None:
        self.rng = random.Random(seed)
        self.con = _connect(path, wal)
        self.con.executescript(OPENCODE_SCHEMA)
        self.truth = Truth()
        self.prefix = prefix
        self.n = 0

    def _id(self, kind: str) -> str:
        self.n += 1
        return f"{kind}_{self.prefix}{self.n:06d}"

    def session(self, t: int, parent: str | None = None, title: str = "work",
                sid: str | None = None) -> str:
        sid = sid or self._id("ses")
        self.con.execute("INSERT INTO session VALUES (?,?,?,?,?,?,?,?,?,?,NULL)",
                         (sid, "prj_1", parent, "slug", "/home/dev/acme", "", title, "1.14.3",
                          t, t))
        return sid

    def _tokens(self, reasoning: bool) -> dict:
        r = self.rng
        return {"input": r.randint(1, 5000), "output": r.randint(1, 900),
                "reasoning": r.randint(0, 600) if reasoning else 0,
                "cache": {"read": r.choice([0, r.randint(1000, 60000)]),
                          "write": r.choice([0, 0, r.randint(100, 9000)])}}

    def message(self, sid: str, t: int, steps: int = 2, provider_model=None,
                cost: bool = True, with_parts: bool = True, old_reasoning: bool = False) -> str:
        """An assistant message of ``steps`` API calls, with its truth."""
        provider, model = provider_model or self.rng.choice(MODELS)
        mid = self._id("msg")
        user = self._id("msg")
        self.con.execute("INSERT INTO message VALUES (?,?,?,?,?)", (user, sid, t - 500, t - 500,
                         json.dumps({"role": "user", "time": {"created": t - 500}})))
        self.con.execute("INSERT INTO part VALUES (?,?,?,?,?,?)", (self._id("prt"), user, sid,
                         t - 500, t - 500, json.dumps({"type": "text", "text": "do the thing"})))
        total_cost = 0.0
        step_t = t
        last = None
        for _ in range(steps):
            tok = self._tokens(reasoning=provider == "openai")
            if old_reasoning:  # an older version: reasoning inside output, total without it
                tok["reasoning"] = min(tok["output"], 300)
            step_t += self.rng.randint(2000, 30000)
            c = round(self.rng.uniform(0.001, 0.05), 6) if cost else 0
            total_cost += c
            tok["total"] = (tok["input"] + tok["output"] + tok["cache"]["read"]
                            + tok["cache"]["write"]
                            + (0 if old_reasoning else tok["reasoning"]))
            out = tok["output"] + (0 if old_reasoning else tok["reasoning"])
            self.truth.add(t, tok["input"], out, tok["cache"]["read"],
                           tok["cache"]["write"], c or None)
            if with_parts:
                self.con.execute("INSERT INTO part VALUES (?,?,?,?,?,?)", (
                    self._id("prt"), mid, sid, step_t - 1000, step_t - 1000,
                    json.dumps({"type": "tool", "tool": "bash", "state": {"output": "x" * 50}})))
                self.con.execute("INSERT INTO part VALUES (?,?,?,?,?,?)", (
                    self._id("prt"), mid, sid, step_t, step_t,
                    json.dumps({"type": "step-finish", "reason": "tool-calls", "cost": c,
                                "tokens": tok})))
            last = tok
        data = {"role": "assistant", "time": {"created": t, "completed": step_t},
                "parentID": user, "modelID": model, "providerID": provider, "mode": "build",
                "path": {"cwd": "/home/dev/acme", "root": "/home/dev/acme"},
                "cost": total_cost, "tokens": last, "finish": "stop"}
        self.con.execute("INSERT INTO message VALUES (?,?,?,?,?)",
                         (mid, sid, t, step_t, json.dumps(data)))
        return mid

    def fork(self, sid: str, t: int) -> str:
        """Session.fork: every message and part copied under new ids, the data as it was."""
        new = self.session(t, title="work (fork #1)")
        for mid, data in self.con.execute("SELECT id, data FROM message WHERE session_id = ? "
                                          "ORDER BY id", (sid,)).fetchall():
            copy = self._id("msg")
            self.con.execute("INSERT INTO message VALUES (?,?,?,?,?)", (copy, new, t, t, data))
            for (pdata,) in self.con.execute("SELECT data FROM part WHERE message_id = ? "
                                             "ORDER BY id", (mid,)).fetchall():
                self.con.execute("INSERT INTO part VALUES (?,?,?,?,?,?)",
                                 (self._id("prt"), copy, new, t, t, pdata))
        return new

    def streaming(self, sid: str, t: int) -> str:
        """A message whose first step has not finished: zero tokens, no step part."""
        mid = self._id("msg")
        data = {"role": "assistant", "time": {"created": t}, "modelID": "gpt-5",
                "providerID": "openai", "cost": 0,
                "tokens": {"input": 0, "output": 0, "reasoning": 0,
                           "cache": {"read": 0, "write": 0}}}
        self.con.execute("INSERT INTO message VALUES (?,?,?,?,?)",
                         (mid, sid, t, t, json.dumps(data)))
        return mid

    def broken(self, sid: str, t: int) -> None:
        self.con.execute("INSERT INTO message VALUES (?,?,?,?,?)",
                         (self._id("msg"), sid, t, t, '{"role":"assistant","tokens":{'))
        self.truth.bad += 1

    def commit(self) -> None:
        self.con.commit()


def build_opencode(path: Path, seed: int = 19, wal: bool = True, prefix: str = "",
                   sessions: int = 4, messages: int = 5) -> OpenCodeGen:
    g = OpenCodeGen(path, seed, wal, prefix)
    t = START_MS
    roots = []
    for s in range(sessions):
        t += DAY_MS // 2 + g.rng.randint(0, 3_600_000)
        sid = g.session(t)
        roots.append(sid)
        for m in range(messages):
            t += g.rng.randint(60_000, 900_000)
            g.message(sid, t, steps=1 + (m % 3))
        if s == 0:  # a subagent session, real usage
            child = g.session(t + 1000, parent=sid, title="explore (@explore subagent)")
            g.message(child, t + 2000, steps=2, provider_model=MODELS[0])
            t += 60_000
        if s == 1:  # a subscription provider: cost 0, priced from the card
            t += 60_000
            g.message(sid, t, steps=1, provider_model=("github-copilot", "gpt-5-mini"),
                      cost=False)
        if s == 2:  # older versions: no step parts; reasoning inside output
            t += 60_000
            g.message(sid, t, steps=1, with_parts=False)
            t += 60_000
            g.message(sid, t, steps=1, provider_model=("openai", "gpt-5"), old_reasoning=True)
    g.streaming(roots[-1], t + 120_000)
    g.broken(roots[-1], t + 130_000)
    g.fork(roots[0], t + 200_000)  # copies: no new usage
    g.commit()
    return g


def mutate_opencode(g: OpenCodeGen) -> None:
    """Between two ingests: a step added to the last message of the first session (its
    tokens and cost change), a new session, a message reverted away (billed anyway)."""
    t = g.con.execute("SELECT max(time_updated) FROM message").fetchone()[0] + 600_000
    sid = g.con.execute("SELECT id FROM session WHERE parent_id IS NULL ORDER BY time_created "
                        "LIMIT 1").fetchone()[0]
    mid, data = g.con.execute("SELECT id, data FROM message WHERE session_id = ? AND data LIKE "
                              "'%assistant%' ORDER BY time_created DESC LIMIT 1",
                              (sid,)).fetchone()
    msg = json.loads(data)
    tok = g._tokens(reasoning=False)
    tok["total"] = tok["input"] + tok["output"] + tok["cache"]["read"] + tok["cache"]["write"]
    done = msg["time"]["completed"] + 5000
    g.con.execute("INSERT INTO part VALUES (?,?,?,?,?,?)", (g._id("prt"), mid, sid, done, done,
                  json.dumps({"type": "step-finish", "cost": 0.01, "tokens": tok})))
    msg["tokens"], msg["cost"], msg["time"]["completed"] = tok, msg["cost"] + 0.01, done
    g.con.execute("UPDATE message SET data = ?, time_updated = ? WHERE id = ?",
                  (json.dumps(msg), t, mid))
    g.truth.add(msg["time"]["created"], tok["input"], tok["output"], tok["cache"]["read"],
                tok["cache"]["write"],
                0.01)
    new = g.session(t)
    g.message(new, t + 1000, steps=3)
    # revert: the session's second message (with its parts) removed; its calls were billed
    victim = g.con.execute("SELECT id FROM message WHERE session_id = ? AND data LIKE "
                           "'%assistant%' ORDER BY time_created LIMIT 1 OFFSET 1",
                           (sid,)).fetchone()[0]
    g.con.execute("DELETE FROM part WHERE message_id = ?", (victim,))
    g.con.execute("DELETE FROM message WHERE id = ?", (victim,))
    g.con.execute("UPDATE session SET time_updated = ? WHERE id = ?", (t, sid))
    g.commit()


# -- Goose -------------------------------------------------------------------------------

GOOSE_SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',
  session_type TEXT NOT NULL DEFAULT 'user', working_dir TEXT NOT NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  total_tokens INTEGER, input_tokens INTEGER, output_tokens INTEGER,
  accumulated_total_tokens INTEGER, accumulated_input_tokens INTEGER,
  accumulated_output_tokens INTEGER, accumulated_cost REAL, provider_name TEXT,
  model_config_json TEXT);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT,
  session_id TEXT NOT NULL, role TEXT NOT NULL, content_json TEXT NOT NULL,
  created_timestamp INTEGER NOT NULL, tokens INTEGER);
"""


def _stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


class GooseGen:
    def __init__(self, path: Path, seed: int = 19) -> None:
        self.rng = random.Random(seed)
        self.con = _connect(path, wal=False)
        self.con.executescript(GOOSE_SCHEMA)
        self.truth = Truth()
        self.rows: dict[str, tuple] = {}  # id -> (updated ms, in, out incl. gap, cost)

    def session(self, sid: str, created: int, updated: int, model: str, gap: int = 0,
                accumulated: bool = True, cost: float | None = None) -> None:
        r = self.rng
        inp, out = r.randint(5000, 300000), r.randint(100, 8000)
        if self.rows.get(sid):  # resumed: the totals grow
            inp, out = inp + self.rows[sid][1], out + self.rows[sid][2] - gap
        last_in, last_out = inp // 7, out // 5  # the last request only
        self.con.execute(
            "INSERT OR REPLACE INTO sessions (id, name, working_dir, created_at, updated_at, "
            "total_tokens, input_tokens, output_tokens, accumulated_total_tokens, "
            "accumulated_input_tokens, accumulated_output_tokens, accumulated_cost, "
            "provider_name, model_config_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (sid, "task", "/home/dev/acme", _stamp(created), _stamp(updated),
             last_in + last_out, last_in, last_out,
             inp + out + gap if accumulated else None, inp if accumulated else None,
             out if accumulated else None, cost, "anthropic",
             json.dumps({"model_name": model, "context_limit": 200000})))
        self.con.execute("INSERT INTO messages (message_id, session_id, role, content_json, "
                         "created_timestamp, tokens) VALUES (?,?,?,?,?,?)",
                         ("m1", sid, "assistant", "[]", updated // 1000, 999))
        self.rows[sid] = (updated, inp, out + gap, cost) if accumulated else None


def _goose_truth(g: GooseGen) -> Truth:
    truth = Truth()
    for row in g.rows.values():
        if row is None:
            truth.bad += 1
            continue
        updated, inp, out, cost = row
        truth.add(updated, inp, out, cost=cost)
    return truth


def build_goose(path: Path, seed: int = 19) -> GooseGen:
    g = GooseGen(path, seed)
    t = START_MS
    g.session("20260528_1", t, t + 1_200_000, "claude-sonnet-4-5")
    # a session over midnight: all of it on its last update's day (a session total)
    g.session("20260528_2", t + DAY_MS - 1_800_000, t + DAY_MS + 1_800_000, "claude-haiku-4-5")
    g.session("20260529_3", t + DAY_MS * 2, t + DAY_MS * 2 + 600_000, "gpt-5", gap=732)
    g.session("20260420_1", t - DAY_MS * 30, t - DAY_MS * 30 + 700_000, "gemini-2.5-pro",
              accumulated=False)  # an older Goose: no session total known
    g.session("20260530_4", t + DAY_MS * 3, t + DAY_MS * 3 + 300_000, "claude-sonnet-4-5",
              cost=0.4213)
    g.con.commit()
    g.truth = _goose_truth(g)
    return g


def mutate_goose(g: GooseGen) -> None:
    """A session resumed a day later (its total grows and moves to that day), a new one."""
    t = START_MS
    g.session("20260528_1", t, t + DAY_MS * 4, "claude-sonnet-4-5")
    g.session("20260601_5", t + DAY_MS * 4, t + DAY_MS * 4 + 60_000, "claude-haiku-4-5")
    g.con.commit()
    g.truth = _goose_truth(g)


# -- Hermes ------------------------------------------------------------------------------

HERMES_SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, model TEXT, billing_provider TEXT, started_at REAL,
  ended_at REAL, message_count INTEGER, input_tokens INTEGER, output_tokens INTEGER,
  cache_read_tokens INTEGER, cache_write_tokens INTEGER, reasoning_tokens INTEGER,
  estimated_cost_usd REAL, actual_cost_usd REAL);
"""


class HermesGen:
    def __init__(self, path: Path, seed: int = 19) -> None:
        self.rng = random.Random(seed)
        self.con = _connect(path, wal=True)
        self.con.executescript(HERMES_SCHEMA)
        self.truth = Truth()
        self.rows: dict[str, tuple] = {}

    def session(self, sid: str, start: int, end: int | None, model: str, reasoning: int = 0,
                estimated: float | None = None, actual: float | None = None,
                empty: bool = False) -> None:
        r = self.rng
        inp, out = (0, 0) if empty else (r.randint(100, 30000), r.randint(50, 9000))
        cr, cw = (0, 0) if empty else (r.randint(0, 400000), r.randint(0, 40000))
        if self.rows.get(sid):  # the session went on: its totals grow
            _, i0, o0, cr0, cw0, _ = self.rows[sid]
            inp, out, cr, cw = inp + i0, out + o0, cr + cr0, cw + cw0
        self.con.execute("INSERT OR REPLACE INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         (sid, model, "anthropic", start / 1000,
                          None if end is None else end / 1000, 4, inp, out, cr, cw, reasoning,
                          estimated, actual))
        cost = actual if actual is not None else estimated
        self.rows[sid] = None if empty else (end or start, inp, out + reasoning, cr, cw, cost)


def _hermes_truth(g: HermesGen) -> Truth:
    truth = Truth()
    for row in g.rows.values():
        if row is not None:
            at, inp, out, cr, cw, cost = row
            truth.add(at, inp, out, cr, cw, cost or None)
    return truth


def build_hermes(path: Path, seed: int = 19) -> HermesGen:
    g = HermesGen(path, seed)
    t = START_MS
    g.session("20260528_081502_a1", t, t + 900_000, "claude-sonnet-4-5", estimated=0.4145,
              actual=0.4151)
    g.session("20260529_093011_d4", t + DAY_MS, t + DAY_MS + 300_000, "gpt-5", reasoning=1536,
              estimated=0.0683)
    g.session("20260530_101500_0a", t + DAY_MS * 2, None, "qwen3-coder-plus")  # still open
    g.session("20260530_120000_ff", t + DAY_MS * 2 + 5000, None, "claude-haiku-4-5",
              estimated=0.0, actual=0.0, empty=True)
    g.con.commit()
    g.truth = _hermes_truth(g)
    return g


def mutate_hermes(g: HermesGen) -> None:
    """The open session ends, larger; a new one starts."""
    t = START_MS
    g.session("20260530_101500_0a", t + DAY_MS * 2, t + DAY_MS * 2 + 4_000_000,
              "qwen3-coder-plus", reasoning=200)
    g.session("20260531_070000_bb", t + DAY_MS * 3, t + DAY_MS * 3 + 10_000, "gpt-5")
    g.con.commit()
    g.truth = _hermes_truth(g)


# -- Copilot CLI session store -------------------------------------------------------------

COPILOT_SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, cwd TEXT, repository TEXT, host_type TEXT,
  branch TEXT, summary TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE assistant_usage_events (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT,
  turn_index INTEGER, model TEXT, copilot_usage_model TEXT, input_tokens INTEGER,
  output_tokens INTEGER, cache_read_tokens INTEGER, cache_write_tokens INTEGER,
  reasoning_tokens INTEGER, total_nano_aiu INTEGER, duration_ms INTEGER, created_at TEXT);
"""


class CopilotGen:
    def __init__(self, path: Path, seed: int = 19) -> None:
        self.rng = random.Random(seed)
        self.con = _connect(path, wal=True)
        self.con.executescript(COPILOT_SCHEMA)
        self.truth = Truth()
        self.turn = 0

    def session(self, sid: str, t: int) -> None:
        self.con.execute("INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?)",
                         (sid, "/home/dev/acme", "acme/acme", "github", "main", "s",
                          _stamp(t), _stamp(t)))

    def event(self, sid: str, t: int, model: str = "auto", billed: str | None = "claude-sonnet-4.5",
              reasoning: int = 0) -> None:
        r = self.rng
        uncached, cr = r.randint(1, 3000), r.randint(0, 20000)
        cw = r.choice([0, r.randint(1, 4000)])
        out = r.randint(10, 900) + reasoning  # reasoning inside output
        self.turn += 1
        self.con.execute(
            "INSERT INTO assistant_usage_events (session_id, turn_index, model, "
            "copilot_usage_model, input_tokens, output_tokens, cache_read_tokens, "
            "cache_write_tokens, reasoning_tokens, total_nano_aiu, duration_ms, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (sid, self.turn, model, billed, uncached + cr + cw, out, cr, cw, reasoning,
             r.randint(10**8, 10**10), 1000, _stamp(t)))
        self.truth.add(t - t % 1000, uncached, out, cr, cw)


def build_copilot(path: Path, seed: int = 19) -> CopilotGen:
    g = CopilotGen(path, seed)
    t = START_MS
    for s in range(3):
        sid = f"d3e1a7c2-5b44-4f8e-9a61-0c2b7e3f9a1{s}"
        g.session(sid, t)
        for _ in range(4):
            t += g.rng.randint(60_000, 4 * 3_600_000)
            g.event(sid, t)
        t += 60_000
        g.event(sid, t, model="gpt-5-mini", billed=None, reasoning=384)
    g.con.commit()
    return g


def mutate_copilot(g: CopilotGen) -> None:
    t = START_MS + 5 * DAY_MS
    g.event("d3e1a7c2-5b44-4f8e-9a61-0c2b7e3f9a10", t)
    g.session("new-session", t)
    g.event("new-session", t + 60_000, model="gpt-5", billed=None, reasoning=100)
    g.con.commit()


BUILDERS = {
    "opencode": ("opencode/opencode.db", build_opencode),
    "kilo": ("kilo/kilo.db", lambda p, seed=23: build_opencode(p, seed, prefix="k")),
    "goose": ("goose/sessions.db", build_goose),
    "hermes": ("hermes/state.db", build_hermes),
    "copilot-store": ("copilot-store/session-store.db", build_copilot),
}


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("agents-db")
    for name, (rel, build) in BUILDERS.items():
        path = out / rel
        if path.exists():
            path.unlink()
        g = build(path)
        g.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        g.con.close()
        sys.stdout.write(f"{name}: {path} {g.truth.totals()} cost {g.truth.cost:.6f} "
                         f"bad {g.truth.bad}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
