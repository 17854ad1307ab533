"""Generated log trees of other coding agents, with every trap their formats have, and the truth.

    python bench/gen_agents.py gemini OUT [--seed N]

writes ``OUT/home/...`` (the agent's own layout below a home folder) and
``OUT/truth.json``: per UTC day, the tokens each billed call counts (uncached
input, output, cache reads) and their cost at the card's list prices, summed.

Independent of ccspend's readers (it shares no code with them): the truth is
what the calls were, written down as they are generated, before any trap copies,
re-appends or hides them. Prices are the card's (pricing/data/rates.toml),
written here again. See docs/agents.md for what each trap is and where it comes from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

# USD per million tokens: (input, output, cache read), and the long-context tier:
# (threshold on prompt tokens, its input, output, cache read), as on the card.
PRICES = {
    "gemini-2.5-pro": ((Decimal("1.25"), Decimal("10"), Decimal("0.31")),
                       (200_000, Decimal("2.5"), Decimal("15"), Decimal("0.625"))),
    "gemini-2.5-flash": ((Decimal("0.3"), Decimal("2.5"), Decimal("0.075")), None),
    "gemini-2.5-flash-lite": ((Decimal("0.1"), Decimal("0.4"), Decimal("0.01")), None),
    "gemini-3-pro-preview": ((Decimal("2"), Decimal("12"), Decimal("0.2")),
                             (200_000, Decimal("4"), Decimal("18"), Decimal("0.4"))),
    "qwen3-coder-plus": ((Decimal("1"), Decimal("5"), Decimal("0.2")),
                         (32_000, Decimal("1.8"), Decimal("9"), Decimal("0.36"))),
    "kimi-k2.5": ((Decimal("0.6"), Decimal("3"), Decimal("0.1")), None),
}
MILLION = Decimal(1_000_000)


def cost(model: str, inp: int, out: int, cached: int) -> Decimal:
    """A call's cost at list price: past the tier's threshold (uncached input plus cache
    reads), the whole call at the higher rates."""
    base, tier = PRICES[model]
    rates = base
    if tier is not None and inp + cached > tier[0]:
        rates = tier[1:]
    return (inp * rates[0] + out * rates[1] + cached * rates[2]) / MILLION


class Truth:
    """What was billed, per UTC day (and per model, for a reader's own tests)."""

    def __init__(self) -> None:
        self.days: dict[str, dict] = {}
        self.calls = 0

    def add(self, ts: datetime, model: str | None, inp: int, out: int, cached: int) -> None:
        day = self.days.setdefault(ts.astimezone(UTC).strftime("%Y-%m-%d"), {
            "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
            "cost_usd": Decimal(0), "unpriced_requests": 0})  # fmt: skip
        day["input_tokens"] += inp
        day["output_tokens"] += out
        day["cache_read_tokens"] += cached
        if model in PRICES:
            day["cost_usd"] += cost(model, inp, out, cached)
        else:
            day["unpriced_requests"] += 1
        self.calls += 1

    def write(self, path: Path, **extra) -> dict:
        data = {"calls": self.calls, **extra, "days": {
            d: {**v, "cost_usd": str(v["cost_usd"])} for d, v in sorted(self.days.items())}}
        path.write_text(json.dumps(data, indent=2) + "\n")
        return data


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# -- Gemini CLI ---------------------------------------------------------------------


def gemini(out: Path, seed: int = 1) -> dict:
    """A ``~/.gemini/tmp`` tree: sessions in slug folders with ``.project_root``, a
    project copied from its sha256 folder, a legacy ``.json`` resumed into ``.jsonl``,
    a subagent, re-appended messages, checkpoints, rewinds, garbage, other JSON files."""
    rng = random.Random(seed)
    tmp = out / "home" / ".gemini" / "tmp"
    truth = Truth()
    start = datetime(2026, 5, 17, 9, 0, tzinfo=UTC)
    models = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
              "gemini-3-pro-preview", "gemini-3-pro-preview"]  # fmt: skip

    def call(ts: datetime, model: str, huge: bool = False) -> dict:
        """A gemini message of one API call, its tokens as the API reports them."""
        cached = rng.choice([0, rng.randrange(1000, 9000)])
        inp = cached + rng.randrange(200, 5000) + (210_000 if huge else 0)
        outp = rng.randrange(20, 900)
        thoughts = rng.choice([0, rng.randrange(10, 700)])
        tool = rng.choice([0, 0, rng.randrange(5, 300)])
        truth.add(ts, model, inp - cached + tool, outp + thoughts, cached)
        return {"id": _uuid(rng), "timestamp": iso(ts), "type": "gemini", "content": "done",
                "thoughts": [], "model": model,
                "tokens": {"input": inp, "output": outp, "cached": cached, "thoughts": thoughts,
                           "tool": tool, "total": inp + outp + thoughts + tool}}  # fmt: skip

    def user(ts: datetime) -> dict:
        return {"id": _uuid(rng), "timestamp": iso(ts), "type": "user",
                "content": [{"text": "go on"}]}  # fmt: skip

    def session(ts: datetime, n: int, kind: str | None = None) -> tuple[dict, list[str]]:
        """A session's metadata and its lines: calls with every in-file trap."""
        sid = _uuid(rng)
        meta = {"sessionId": sid, "projectHash": "x" * 64, "startTime": iso(ts),
                "lastUpdated": iso(ts)}  # fmt: skip
        if kind:
            meta["kind"] = kind
        lines = [json.dumps(meta)]
        messages = []
        for i in range(n):
            ts += timedelta(minutes=rng.randrange(1, 40))
            u = user(ts)
            lines.append(json.dumps(u))
            ts += timedelta(seconds=rng.randrange(2, 50))
            msg = call(ts, rng.choice(models), huge=(i == 2))
            if i % 3 == 0:
                # re-appended: first with a tool call executing and an early (wrong) count,
                # then the final message; the last line of an id is the message
                early = dict(msg, tokens={**msg["tokens"], "output": msg["tokens"]["output"] + 999},
                             toolCalls=[{"id": "t", "status": "executing"}])
                lines.append(json.dumps(early))
            lines.append(json.dumps(msg))
            messages += [u, msg]
            if i % 4 == 1:  # a checkpoint: copies of every message so far, tokens included
                lines.append(json.dumps({"$set": {"messages": messages,
                                                  "lastUpdated": iso(ts)}}))  # fmt: skip
            else:
                lines.append(json.dumps({"$set": {"lastUpdated": iso(ts)}}))
            if i % 5 == 4:  # rewound: dropped from the chat, still billed
                lines.append(json.dumps({"$rewindTo": u["id"]}))
        return meta, lines

    def project(slug: str, root: str) -> Path:
        folder = tmp / slug
        (folder / "chats").mkdir(parents=True, exist_ok=True)
        (folder / ".project_root").write_text(root + "\n")
        (folder / "logs.json").write_text(json.dumps([{"sessionId": "s", "messageId": 0,
                                                        "type": "user", "message": "hi"}]))
        return folder

    def name(meta: dict, suffix: str) -> str:
        t = meta["startTime"][:16].replace(":", "-")
        return f"session-{t}-{meta['sessionId'][:8]}{suffix}"

    # 1. plain sessions over three days, one with a garbage line and a half-written last line
    web = project("acme-web", "/home/dev/acme-web")
    for d in range(3):
        meta, lines = session(start + timedelta(days=d), 6)
        if d == 1:
            lines.insert(3, "{not json")
            lines.append('{"id": "unfinished", "type": "gem')  # no newline: being written
            (web / "chats" / name(meta, ".jsonl")).write_text("\n".join(lines))
        else:
            (web / "chats" / name(meta, ".jsonl")).write_text("\n".join(lines) + "\n")
        if d == 0:  # 2. a subagent of that session: extra calls of its own
            sub, sub_lines = session(start + timedelta(hours=1), 3, kind="subagent")
            folder = web / "chats" / meta["sessionId"]
            folder.mkdir()
            (folder / f"{sub['sessionId']}.jsonl").write_text("\n".join(sub_lines) + "\n")
    # 3. a legacy .json session, resumed: every message copied into a .jsonl beside it
    api = project("acme-api", "/home/dev/acme-api")
    meta, lines = session(start + timedelta(hours=5), 5)
    msgs = [json.loads(line) for line in lines[1:]]
    latest: dict = {}
    for m in msgs:
        if "id" in m:
            latest[m["id"]] = m
    legacy = dict(meta, messages=list(latest.values()))
    (api / "chats" / name(meta, ".json")).write_text(json.dumps(legacy, indent=2))
    resumed_lines = [json.dumps(meta)] + [json.dumps(m) for m in latest.values()]
    ts = start + timedelta(days=1, hours=3)
    for _ in range(2):  # the resumed session goes on
        ts += timedelta(minutes=7)
        resumed_lines.append(json.dumps(call(ts, "gemini-2.5-flash")))
    (api / "chats" / name(dict(meta, startTime=iso(ts)), ".jsonl")).write_text(
        "\n".join(resumed_lines) + "\n")
    (api / "chats" / "notes.json").write_text(json.dumps({"kind": "not a session"}))
    # 4. the storage migration's copy: a project's chats in its sha256 folder and its slug
    root = "/home/dev/old-tool"
    old = tmp / hashlib.sha256(root.encode()).hexdigest() / "chats"
    old.mkdir(parents=True)
    meta, lines = session(start + timedelta(days=2, hours=2), 4)
    (old / name(meta, ".jsonl")).write_text("\n".join(lines) + "\n")
    slug = project("old-tool", root)
    (slug / "chats" / name(meta, ".jsonl")).write_text("\n".join(lines) + "\n")
    return truth.write(out / "truth.json", bad_lines=1)


GENERATORS = {"gemini": gemini}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agent", choices=sorted(GENERATORS))
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    truth = GENERATORS[args.agent](args.out, args.seed)
    print(f"{args.agent}: {truth['calls']} calls over {len(truth['days'])} days -> {args.out}")


if __name__ == "__main__":
    main()
