#!/usr/bin/env python3
"""Log trees of Copilot CLI (OTel), Amp, pi, OpenClaw, Codebuff and Droid, with the exact truth.

Why this exists: each of these agents writes usage in a shape with its own traps,
and a reader is right only if it counts every call once, with the counts split
the way they are billed. Each ``gen_<agent>`` writes a tree below a root with
every trap the reference (``shared/reference/agents/agents.md``) lists for that
agent, and returns the truth it was written from, per UTC day:
``{"YYYY-MM-DD": {"in": uncached input, "out": output (reasoning included), "cw":
cache writes, "cr": cache reads, "cost": stated USD or 0, "calls": n}}``, plus the
count of bad lines planted. The truth is computed from the calls as generated, never
from the files, so a reader that counts a copy, a telemetry duplicate or a snapshot
twice, or splits the counts wrongly, disagrees with it.

    python bench/agents_files_gen.py OUT [--agent NAME] [--calls N] [--seed S]

writes ``OUT/<agent>/`` (the folders each agent uses, below a fake home) and
``OUT/<agent>/truth.json``. Standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
from collections import defaultdict
from pathlib import Path

START = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
ANTHROPIC = ("claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5")
OPENAI = ("gpt-5", "gpt-5-mini", "gpt-5.2")


class Truth:
    """The calls that count, summed per UTC day."""

    def __init__(self) -> None:
        self.days: dict[str, dict[str, float]] = defaultdict(
            lambda: {"in": 0, "out": 0, "cw": 0, "cr": 0, "cost": 0.0, "calls": 0})
        self.bad = 0

    def add(self, when: dt.datetime, inp: int, out: int, cw: int = 0, cr: int = 0,
            cost: float = 0.0) -> None:
        d = self.days[when.astimezone(dt.UTC).date().isoformat()]
        d["in"] += inp
        d["out"] += out
        d["cw"] += cw
        d["cr"] += cr
        d["cost"] = round(d["cost"] + cost, 9)
        d["calls"] += 1

    def as_json(self) -> dict:
        return {"days": {k: self.days[k] for k in sorted(self.days)}, "bad": self.bad}


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def _when(rng: random.Random, i: int) -> dt.datetime:
    return START + dt.timedelta(hours=7 * i + rng.randint(0, 5), minutes=rng.randint(0, 59),
                                seconds=rng.randint(0, 59), milliseconds=rng.randint(0, 999))


def _write_jsonl(path: Path, objs: list, garbage: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(o, separators=(",", ":")) for o in objs]
    if garbage:
        lines.insert(len(lines) // 2, '{"type":"span","traceId":"tr')  # truncated mid-file
    path.write_text("\n".join(lines) + "\n")


# --- Copilot CLI: OpenTelemetry file export ----------------------------------------------


def gen_copilot(root: Path, calls: int = 40, seed: int = 1) -> Truth:
    """``home/.copilot/otel/*.jsonl``. Traps: every chat span echoed by an inference log,
    summed again by a turn log and by the invoke_agent span (and a subagent's own
    invoke_agent span); traces with only an inference log or only a turn log (the
    fallbacks count); cache reads and writes inside ``input_tokens``; reasoning inside
    ``output_tokens``; metric aggregates; a truncated line; a copy of the export in a
    second file."""
    rng = random.Random(seed)
    truth = Truth()
    lines: list[dict] = []
    n = 0
    trace_no = 0
    while n < calls:
        trace_no += 1
        trace = f"{trace_no:032x}"
        conv = f"conv-{trace_no % 5}"
        t0 = _when(rng, trace_no)
        shape = rng.choice(("full", "full", "full", "subagent", "inference-only", "turn-only"))
        steps = rng.randint(1, 3)
        tot = {"in": 0, "out": 0, "cr": 0, "cw": 0}
        for s in range(steps):
            n += 1
            model = rng.choice(ANTHROPIC + OPENAI)
            cr = rng.randint(0, 30000)
            cw = rng.randint(0, 4000) if model.startswith("claude") else 0
            fresh = rng.randint(1, 3000)
            inp = fresh + cr + cw
            reasoning = rng.randint(0, 800) if model.startswith("gpt") else 0
            out = rng.randint(10, 1500) + reasoning
            end = t0 + dt.timedelta(seconds=10 * (s + 1))
            span = f"{trace_no:08x}{s + 2:08x}"
            attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                     "gen_ai.response.model": model, "gen_ai.response.id": f"resp-{trace}-{s}",
                     "gen_ai.conversation.id": conv, "gen_ai.usage.input_tokens": inp,
                     "gen_ai.usage.output_tokens": out,
                     "gen_ai.usage.cache_read.input_tokens": cr,
                     "gen_ai.usage.cache_creation.input_tokens": cw}
            if reasoning:
                attrs["gen_ai.usage.reasoning.output_tokens"] = reasoning
            secs = int(end.timestamp())
            nanos = (_ms(end) % 1000) * 1_000_000
            if shape in ("full", "subagent"):
                lines.append({"type": "span", "traceId": trace, "spanId": span,
                              "parentSpanId": f"{trace_no:08x}{1:08x}", "name": f"chat {model}",
                              "kind": 2, "startTime": [secs - 5, 0], "endTime": [secs, nanos],
                              "attributes": attrs})
            if shape != "turn-only":
                lines.append({"hrTime": [secs, nanos + 1000], "traceId": trace, "spanId": span,
                              "attributes": {"event.name":
                                             "gen_ai.client.inference.operation.details",
                                             **{k: v for k, v in attrs.items()
                                                if k != "gen_ai.operation.name"}},
                              "_body": f"GenAI inference: {model}"})
                truth.add(end, fresh, out, cw, cr)
            for k, v in (("in", inp), ("out", out), ("cr", cr), ("cw", cw)):
                tot[k] += v
        end = t0 + dt.timedelta(seconds=10 * steps + 1)
        secs = int(end.timestamp())
        turn_attrs = {"event.name": "copilot_chat.agent.turn", "turn.index": 1,
                      "gen_ai.conversation.id": conv, "gen_ai.response.model": model,
                      "gen_ai.usage.input_tokens": tot["in"],
                      "gen_ai.usage.output_tokens": tot["out"],
                      "gen_ai.usage.cache_read.input_tokens": tot["cr"],
                      "gen_ai.usage.cache_creation.input_tokens": tot["cw"]}
        lines.append({"hrTime": [secs, 0], "traceId": trace, "attributes": turn_attrs,
                      "_body": "copilot_chat.agent.turn"})
        if shape == "turn-only":  # the turn log is the only record of these calls
            truth.add(end, tot["in"] - tot["cr"] - tot["cw"], tot["out"], tot["cw"], tot["cr"])
        agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": conv,
                 "gen_ai.response.model": model, "gen_ai.usage.input_tokens": tot["in"],
                 "gen_ai.usage.output_tokens": tot["out"],
                 "gen_ai.usage.cache_read.input_tokens": tot["cr"]}
        lines.append({"type": "span", "traceId": trace, "spanId": f"{trace_no:08x}{1:08x}",
                      "name": "invoke_agent GitHub Copilot CLI", "startTime": [secs - 60, 0],
                      "endTime": [secs, 0], "attributes": agent})
        if shape == "subagent":  # a subagent's own span sums its calls once more
            lines.append({"type": "span", "traceId": trace, "spanId": f"{trace_no:08x}{99:08x}",
                          "name": "invoke_agent explore", "startTime": [secs - 30, 0],
                          "endTime": [secs - 1, 0], "attributes": dict(agent)})
    lines.insert(0, {"type": "metric", "name": "gen_ai.client.token.usage",
                     "dataPoints": [{"attributes": {"gen_ai.token.type": "input"},
                                     "sum": 123456, "count": 9}]})
    otel = root / "home" / ".copilot" / "otel"
    _write_jsonl(otel / "copilot-otel.jsonl", lines, garbage=True)
    truth.bad += 1
    _write_jsonl(otel / "backup" / "copilot-otel.jsonl", lines)  # a copied export
    return truth


# --- Amp -----------------------------------------------------------------------------------


def gen_amp(root: Path, calls: int = 40, seed: int = 2) -> Truth:
    """``home/.local/share/amp/threads/T-*.json``. Traps: a ledger event and its message's
    usage are one call (cache only on the message); newer threads with messages only; a
    message whose input holds its cache (``totalTokens`` = input + output); a backed-up
    copy of a thread in a second root (``AMP_DATA_DIR`` lists both)."""
    rng = random.Random(seed)
    truth = Truth()
    threads = root / "home" / ".local" / "share" / "amp" / "threads"
    threads.mkdir(parents=True, exist_ok=True)
    n = 0
    t_no = 0
    written: list[Path] = []
    while n < calls:
        t_no += 1
        tid = f"T-{t_no:08x}-0000-4000-8000-{seed:012x}"
        ledger = t_no % 2 == 1
        messages: list[dict] = [{"role": "user", "messageId": 0, "content": []}]
        events: list[dict] = []
        for s in range(rng.randint(1, 4)):
            n += 1
            when = _when(rng, t_no) + dt.timedelta(seconds=20 * s)
            model = rng.choice(ANTHROPIC + ("gpt-5",))
            inp, out = rng.randint(1, 2500), rng.randint(10, 1200)
            cw, cr = rng.randint(0, 5000), rng.randint(0, 40000)
            mid = 2 * s + 1
            inclusive = not ledger and s == 1
            usage = {"model": model, "inputTokens": inp + (cw + cr if inclusive else 0),
                     "outputTokens": out, "cacheCreationInputTokens": cw,
                     "cacheReadInputTokens": cr,
                     "totalTokens": inp + out + cw + cr,  # input + output when inclusive
                     "credits": round(rng.random() * 5, 2), "timestamp": _iso(when)}
            messages.append({"role": "assistant", "messageId": mid, "content": [], "usage": usage})
            messages.append({"role": "user", "messageId": mid + 1, "content": []})
            if ledger:
                stamp = _iso(when + dt.timedelta(milliseconds=1))
                events.append({"id": f"ev-{t_no}-{s}", "timestamp": stamp,
                               "model": model, "credits": usage["credits"],
                               "tokens": {"input": inp, "output": out},
                               "operationType": "inference", "fromMessageId": mid - 1,
                               "toMessageId": mid})
                truth.add(when + dt.timedelta(milliseconds=1), inp, out, cw, cr)
            else:
                truth.add(when, inp, out, cw, cr)
        doc = {"id": tid, "created": _ms(START), "title": "t", "messages": messages}
        if ledger:
            doc["usageLedger"] = {"events": events}
        path = threads / f"{tid}.json"
        path.write_text(json.dumps(doc, indent=1))
        written.append(path)
    backup = root / "backup" / "amp" / "threads"
    backup.mkdir(parents=True, exist_ok=True)
    for path in written[::3]:
        shutil.copy2(path, backup / path.name)
    (threads / "T-broken.json").write_text('{"id": "T-broken", "messages": [')
    truth.bad += 1
    return truth


# --- pi and OpenClaw -----------------------------------------------------------------------


def _pi_session(rng: random.Random, truth: Truth, sid: str, cwd: str, when0: dt.datetime,
                steps: int, with_model: bool, count: bool = True) -> list[dict]:
    """A pi-format session: header, model_change, user/assistant entries, one branch
    (a regenerated answer off the same parent: a second, real call)."""
    out: list[dict] = [{"type": "session", "version": 3, "id": sid, "timestamp": _iso(when0),
                        "cwd": cwd}]
    model = rng.choice(ANTHROPIC + OPENAI)
    out.append({"type": "model_change", "id": f"{sid[:4]}m0", "parentId": None,
                "timestamp": _iso(when0), "provider": "x", "modelId": model})
    parent = f"{sid[:4]}m0"
    for s in range(steps):
        when = when0 + dt.timedelta(seconds=30 * s + 1)
        uid = f"{sid[:4]}u{s}"
        out.append({"type": "message", "id": uid, "parentId": parent, "timestamp": _iso(when),
                    "message": {"role": "user", "content": [], "timestamp": _ms(when)}})
        for branch in range(2 if s == 0 else 1):
            bwhen = when + dt.timedelta(seconds=5 + 90 * branch, milliseconds=rng.randint(0, 999))
            inp, outp = rng.randint(1, 3000), rng.randint(5, 1500)
            cr, cw = rng.randint(0, 30000), rng.randint(0, 3000)
            cost = round((inp * 3 + outp * 15 + cr * 0.3 + cw * 3.75) / 1e6, 7)
            usage = {"input": inp, "output": outp, "cacheRead": cr, "cacheWrite": cw,
                     "totalTokens": inp + outp + cr + cw,
                     "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0,
                              "total": cost}}
            msg = {"role": "assistant", "content": [], "api": "anthropic-messages",
                   "provider": "x", "usage": usage, "stopReason": "stop",
                   "timestamp": _ms(bwhen)}
            if with_model:
                msg["model"] = model
            aid = f"{sid[:4]}a{s}{branch}"
            out.append({"type": "message", "id": aid, "parentId": uid, "timestamp": _iso(bwhen),
                        "message": msg})
            if count:
                truth.add(dt.datetime.fromtimestamp(_ms(bwhen) / 1000, dt.UTC), inp, outp, cw, cr,
                          cost)
        parent = aid
    return out


def gen_pi(root: Path, calls: int = 40, seed: int = 3) -> Truth:
    """``home/.pi/agent/sessions/<cwd>/<time>_<uuid>.jsonl``. Traps: branches (two answers
    off one parent: both billed); a ``/fork`` copy of a session into a new file with a new
    session id (its copied calls count once); stated costs; an aborted call with zero
    usage; a truncated line."""
    rng = random.Random(seed)
    truth = Truth()
    base = root / "home" / ".pi" / "agent" / "sessions" / "--home-dev-acme--"
    n = 0
    s_no = 0
    sessions: list[list[dict]] = []
    while n < calls:
        s_no += 1
        sid = f"{s_no:08x}-0b8a-4c7d-9e6f-{seed:012x}"
        steps = rng.randint(1, 4)
        objs = _pi_session(rng, truth, sid, "/home/dev/acme", _when(rng, s_no), steps, True)
        n += steps + 1
        sessions.append(objs)
        _write_jsonl(base / f"2026-05-01T00-00-00-000Z_{sid}.jsonl", objs, garbage=s_no == 2)
    truth.bad += 1
    # a fork: a new session id, the first entries of session 1 copied as they were
    src = sessions[0]
    fork = [{**src[0], "id": "f0f0f0f0-0b8a-4c7d-9e6f-000000000000", "parentSession": "x"}]
    fork += src[1:5]
    later = START + dt.timedelta(days=20)
    fork += _pi_session(rng, truth, "f0f0f0f0-0b8a-4c7d-9e6f-000000000000", "/home/dev/acme",
                        later, 1, True)[2:]
    aborted = {"type": "message", "id": "abrt", "parentId": None, "timestamp": _iso(later),
               "message": {"role": "assistant", "content": [], "model": "gpt-5",
                           "usage": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0,
                                     "totalTokens": 0, "cost": {"total": 0}},
                           "stopReason": "aborted", "timestamp": _ms(later)}}
    fork.append(aborted)
    _write_jsonl(base / "2026-05-21T00-00-00-000Z_f0f0f0f0.jsonl", fork)
    return truth


def gen_openclaw(root: Path, calls: int = 40, seed: int = 4) -> Truth:
    """``home/.openclaw/agents/<agent>/sessions/<uuid>.jsonl`` and its archives. Traps: a
    ``.jsonl.reset.<t>`` and a ``.jsonl.deleted.<t>`` archive (their calls count); messages
    without a model (from ``model_change``); the same session copied under the old name
    ``~/.clawdbot`` (counted once); stated costs."""
    rng = random.Random(seed)
    truth = Truth()
    base = root / "home" / ".openclaw" / "agents" / "main" / "sessions"
    n = 0
    s_no = 0
    paths: list[Path] = []
    while n < calls:
        s_no += 1
        sid = f"{s_no:08x}-0e1f-4a2b-8c3d-{seed:012x}"
        steps = rng.randint(1, 3)
        objs = _pi_session(rng, truth, sid, "/home/dev/.openclaw/workspace", _when(rng, s_no),
                           steps, with_model=s_no % 2 == 0)
        n += steps + 1
        suffix = ("", ".reset.2026-05-30T10-00-00Z", ".deleted.2026-05-31T10-00-00Z")[s_no % 3]
        path = base / f"{sid}.jsonl{suffix}"
        _write_jsonl(path, objs)
        paths.append(path)
    old = root / "home" / ".clawdbot" / "agents" / "main" / "sessions"
    old.mkdir(parents=True, exist_ok=True)
    shutil.copy2(paths[0], old / paths[0].name)
    (base / "sessions.json").write_text("{}")  # OpenClaw's index: no session file
    return truth


# --- Codebuff ------------------------------------------------------------------------------


def gen_codebuff(root: Path, calls: int = 40, seed: int = 5) -> Truth:
    """``home/.config/manicode/projects/<p>/chats/<chat>/chat-messages.json``. Traps: usage
    in Anthropic's spelling (cache apart) and OpenAI's (``prompt_tokens`` holding
    ``cached_tokens``); usage only in the run state, whose history also holds earlier
    calls (only the newest is this message's); a chat file that is not JSON."""
    rng = random.Random(seed)
    truth = Truth()
    base = root / "home" / ".config" / "manicode" / "projects"
    n = 0
    c_no = 0
    while n < calls:
        c_no += 1
        msgs: list[dict] = []
        history: list[dict] = []
        for s in range(rng.randint(1, 4)):
            n += 1
            when = _when(rng, c_no) + dt.timedelta(seconds=40 * s)
            msgs.append({"id": f"u-{c_no}-{s}", "variant": "user", "content": "x",
                         "timestamp": _iso(when)})
            inp, out, cr, cw = (rng.randint(1, 3000), rng.randint(5, 900),
                                rng.randint(0, 20000), rng.randint(0, 2000))
            style = rng.choice(("anthropic", "openai", "runstate"))
            meta: dict = {"model": rng.choice(("anthropic/claude-sonnet-4.5", "openai/gpt-5-mini"))}
            if style == "anthropic":
                meta["usage"] = {"inputTokens": inp, "outputTokens": out,
                                 "cacheReadInputTokens": cr, "cacheCreationInputTokens": cw,
                                 "totalTokens": inp + out + cr + cw}
            elif style == "openai":
                cw = 0
                meta["codebuff"] = {"usage": {"prompt_tokens": inp + cr, "completion_tokens": out,
                                              "prompt_tokens_details": {"cached_tokens": cr}}}
            else:
                history.append({"role": "assistant", "providerOptions": {"codebuff": {
                    "model": "openai/gpt-5-mini", "usage": {
                        "inputTokens": inp, "outputTokens": out, "cacheReadInputTokens": cr,
                        "cacheCreationInputTokens": cw}}}})
                meta = {"runState": {"sessionState": {"mainAgentState": {
                    "messageHistory": [dict(h) for h in history]}}}}
            if style != "runstate":
                history.append({"role": "assistant", "providerOptions": {"codebuff": {
                    "usage": {"inputTokens": 1, "outputTokens": 1}}}})
            msgs.append({"id": f"a-{c_no}-{s}", "variant": "ai", "content": "y",
                         "timestamp": _iso(when + dt.timedelta(seconds=9)), "credits": 3,
                         "metadata": meta})
            truth.add(when + dt.timedelta(seconds=9), inp, out, cw, cr)
        chat = base / f"proj{c_no % 3}" / "chats" / f"2026-05-{1 + c_no % 28:02d}-chat{c_no}"
        chat.mkdir(parents=True, exist_ok=True)
        (chat / "chat-messages.json").write_text(json.dumps(msgs, indent=2))
    bad = base / "proj0" / "chats" / "broken"
    bad.mkdir(parents=True, exist_ok=True)
    (bad / "chat-messages.json").write_text("[{")
    truth.bad += 1
    return truth


# --- Droid ---------------------------------------------------------------------------------


def gen_droid(root: Path, calls: int = 40, seed: int = 6) -> Truth:
    """``home/.factory/sessions/<project>/<id>.settings.json``: cumulative session totals.
    Traps: an older snapshot of a session in a second root (keep the newest, never add);
    ``thinkingTokens`` billed as output; the model only in the transcript's first lines;
    the whole session on its ``providerLockTimestamp`` day though it ran past midnight."""
    rng = random.Random(seed)
    truth = Truth()
    base = root / "home" / ".factory" / "sessions" / "-home-dev-acme"
    backup = root / "backup" / "factory" / "sessions" / "-home-dev-acme"
    base.mkdir(parents=True, exist_ok=True)
    backup.mkdir(parents=True, exist_ok=True)
    for s_no in range(1, max(2, calls // 4) + 1):
        sid = f"{s_no:08x}-8e7a-4d6c-9b5a-{seed:012x}"
        lock = _when(rng, s_no).replace(hour=23, minute=50)
        tot = {"inputTokens": rng.randint(1000, 90000), "outputTokens": rng.randint(500, 20000),
               "cacheCreationTokens": rng.randint(0, 60000),
               "cacheReadTokens": rng.randint(0, 900000), "thinkingTokens": rng.randint(0, 4000)}
        settings: dict = {"providerLock": "anthropic", "providerLockTimestamp": _iso(lock),
                          "tokenUsage": tot}
        if s_no % 3:
            settings["model"] = "custom:Claude-Sonnet-4.5-[Anthropic]"
        else:
            (base / f"{sid}.jsonl").write_text(json.dumps({"type": "message", "message": {
                "role": "user", "content": [{"type": "text", "text":
                                             "<system-reminder>Model: GPT-5 [OpenAI]"}]}}) + "\n")
        (base / f"{sid}.settings.json").write_text(json.dumps(settings, indent=2))
        truth.add(lock, tot["inputTokens"], tot["outputTokens"] + tot["thinkingTokens"],
                  tot["cacheCreationTokens"], tot["cacheReadTokens"])
        if s_no % 2:
            older = {k: v // 2 for k, v in tot.items()}
            (backup / f"{sid}.settings.json").write_text(json.dumps({**settings,
                                                                     "tokenUsage": older}))
    return truth


GENERATORS = {"copilot": gen_copilot, "amp": gen_amp, "pi": gen_pi, "openclaw": gen_openclaw,
              "codebuff": gen_codebuff, "droid": gen_droid}
"""Each agent's generator; ``ENV`` names the variables that point the agent's reader at the
tree (relative to the tree's root), ``home`` being the fake home."""
ENV = {"amp": {"AMP_DATA_DIR": ("home/.local/share/amp", "backup/amp")},
       "droid": {"DROID_SESSIONS_DIR": ("home/.factory/sessions", "backup/factory/sessions")}}


def env_for(agent: str, root: Path) -> dict[str, str]:
    """The environment that points ``agent``'s reader at a generated tree."""
    env = {"HOME": str(root / "home")}
    for name, rels in ENV.get(agent, {}).items():
        env[name] = ",".join(str(root / r) for r in rels)
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--agent", choices=sorted(GENERATORS), action="append")
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for agent in args.agent or sorted(GENERATORS):
        root = args.out / agent
        seed = args.seed or sorted(GENERATORS).index(agent) + 1
        truth = GENERATORS[agent](root, args.calls, seed)
        (root / "truth.json").write_text(json.dumps(truth.as_json(), indent=1) + "\n")
        sys.stderr.write(f"{agent}: {root}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
