#!/usr/bin/env python3
"""A corpus of 2026-style Claude Code logs, with the exact truth of what it cost.

Why this exists: 2026's logs carry what 2025's did not, and each changes the
bill: fast mode (``usage.speed``), US-only inference (``usage.inference_geo``),
compaction steps inside a request (``usage.iterations``), thinking tokens inside
the output, and models whose prices changed during the year. This generator
writes sessions with every one of them (and the old traps: streamed lines with a
placeholder output, resumed sessions that copy earlier responses, subagents),
and a ``truth.json`` in the schema of ``gen_corpus.py`` that ``check_exact.py``
aggregates per report. Its price table is typed here from
``shared/reference/prices-2026.md`` and the providers' pages, independently of
ccspend's card and code, so a multiplier missing from either shows as a
difference.

    python bench/gen_corpus_2026.py OUT [--sessions N] [--seed S]

Standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from decimal import Decimal, getcontext
from pathlib import Path

getcontext().prec = 50

# USD per million tokens: input, output, cache write 5m, cache write 1h, cache read.
OPUS = (Decimal(5), Decimal(25), Decimal("6.25"), Decimal(10), Decimal("0.5"))
SONNET_4 = (Decimal(3), Decimal(15), Decimal("3.75"), Decimal(6), Decimal("0.3"))
SONNET_5 = (Decimal(2), Decimal(10), Decimal("2.5"), Decimal(4), Decimal("0.2"))
SONNET_5_5_CUT = (Decimal(2), Decimal(10), Decimal("2.5"), Decimal(4), Decimal("0.1"))
HAIKU_4_5 = (Decimal(1), Decimal(5), Decimal("1.25"), Decimal(2), Decimal("0.1"))
HAIKU_5_5 = (Decimal("0.1"), Decimal("0.5"), Decimal("0.125"), Decimal("0.2"), Decimal("0.01"))
HAIKU_5_5_LONG = (Decimal("0.5"), Decimal("2.5"), Decimal("0.625"), Decimal(1), Decimal("0.05"))
SONNET_LONG = (Decimal(6), Decimal("22.5"), Decimal("7.5"), Decimal(12), Decimal("0.6"))
WEB_SEARCH = Decimal("0.01")  # $10 per 1,000, never multiplied

D = dt.date
# model -> (released, [(from, rates)], (long-context threshold, rates) or None,
#           fast (factor, from, until or None) or None, US-only 1.1x?)
MODELS = {
    "claude-sonnet-4-5": (D(2025, 9, 29), [(D(2025, 9, 29), SONNET_4)], (200_000, SONNET_LONG),
                          None, False),
    "claude-haiku-4-5": (D(2025, 10, 15), [(D(2025, 10, 15), HAIKU_4_5)], None, None, False),
    "claude-opus-4-6": (D(2026, 2, 5), [(D(2026, 2, 5), OPUS)], None,
                        (6, D(2026, 2, 5), D(2026, 6, 29)), True),
    "claude-sonnet-4-6": (D(2026, 2, 17), [(D(2026, 2, 17), SONNET_4)], None, None, True),
    "claude-opus-4-7": (D(2026, 4, 16), [(D(2026, 4, 16), OPUS)], None,
                        (6, D(2026, 4, 16), D(2026, 7, 24)), True),
    "claude-opus-4-8": (D(2026, 5, 28), [(D(2026, 5, 28), OPUS)], None,
                        (2, D(2026, 5, 28), D(2026, 11, 30)), True),
    "claude-sonnet-5": (D(2026, 6, 30), [(D(2026, 6, 30), SONNET_5)], None, None, True),
    "claude-opus-5": (D(2026, 7, 24), [(D(2026, 7, 24), OPUS)], None, (2, D(2026, 7, 24), None),
                      True),
    "claude-sonnet-5-5": (D(2026, 9, 28), [(D(2026, 9, 28), SONNET_5),
                                           (D(2026, 10, 7), SONNET_5_5_CUT)], None, None, True),
    "claude-haiku-5-5": (D(2026, 10, 7), [(D(2026, 10, 7), HAIKU_5_5)],
                         (100_000, HAIKU_5_5_LONG), None, True),
}
# how a log may write each model
SPELLINGS = {
    "claude-sonnet-4-5": ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"],
    "claude-haiku-4-5": ["claude-haiku-4-5-20251001", "claude-haiku-4-5"],
    "claude-opus-4-6": ["claude-opus-4-6"],
    "claude-sonnet-4-6": ["claude-sonnet-4-6"],
    "claude-opus-4-7": ["claude-opus-4-7"],
    "claude-opus-4-8": ["claude-opus-4-8"],
    "claude-sonnet-5": ["claude-sonnet-5"],
    "claude-opus-5": ["claude-opus-5"],
    "claude-sonnet-5-5": ["claude-sonnet-5-5"],
    "claude-haiku-5-5": ["claude-haiku-5-5"],
}
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
END = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)


def rates_on(model: str, day: dt.date) -> tuple:
    released, periods, _lc, _fast, _us = MODELS[model]
    chosen = periods[0][1]
    for first, rates in periods:
        if first <= day:
            chosen = rates
    return chosen


def factor(model: str, day: dt.date, speed: str, geo: str) -> Decimal:
    """Fast mode and US-only inference, multiplied; an unknown value costs nothing extra."""
    _released, _periods, _lc, fast, us = MODELS[model]
    f = Decimal(1)
    if speed == "fast" and fast is not None:
        k, first, until = fast
        if first <= day and (until is None or day < until):
            f *= k
    if geo == "us" and us:
        f *= Decimal("1.1")
    return f


def step_cost(model: str, day: dt.date, inp: int, out: int, w5: int, w1: int, cr: int) -> Decimal:
    """One sampling step's tokens at the model's rates (the long-context rates, for the
    whole step, past its threshold)."""
    rates = rates_on(model, day)
    lc = MODELS[model][2]
    if lc is not None and inp + w5 + w1 + cr > lc[0]:
        rates = lc[1]
    return (inp * rates[0] + out * rates[1] + w5 * rates[2] + w1 * rates[3]
            + cr * rates[4]) / 1_000_000


class Corpus:
    def __init__(self, out: Path, seed: int):
        self.out = out
        self.rng = random.Random(seed)
        self.truth: dict[str, list] = {}  # response key -> request row
        self.n = 0
        self.traps: dict[str, int] = {}

    def trap(self, name: str) -> None:
        self.traps[name] = self.traps.get(name, 0) + 1

    def request(self, when: dt.datetime, session: str, cwd: str, branch: str,
                sidechain: bool = False) -> tuple[list[dict], list]:
        """A response's log lines (streamed: placeholder outputs first) and its truth row."""
        rng = self.rng
        day = when.date()
        models = [m for m, spec in MODELS.items() if spec[0] <= day]
        model = rng.choice(models)
        self.n += 1
        mid, rid = f"msg_{self.n:07d}", f"req_{self.n:07d}"
        inp = rng.choice([3, 10, 40, 2_000])
        out = rng.randint(20, 6_000)
        w1 = rng.choice([0, 0, rng.randint(500, 40_000)])
        w5 = rng.choice([0, rng.randint(100, 20_000)])
        cr = rng.choice([0, rng.randint(1_000, 180_000), rng.randint(150_000, 400_000)])
        ws = rng.choice([0, 0, 0, 1, 3])
        fast = MODELS[model][3]
        speed = "standard"
        if rng.random() < 0.35:
            speed = "fast"  # on a model or a day without fast mode too: priced at standard
            self.trap("fast" if fast and fast[1] <= day and (fast[2] is None or day < fast[2])
                      else "fast_without_fast_mode")
        elif rng.random() < 0.02:
            speed = "turbo"  # an unknown value: priced at standard and warned of
            self.trap("unknown_speed")
        geo = rng.choice(["", "", "not_available", "global", "us", "us"])
        if rng.random() < 0.02:
            geo = "eu"
            self.trap("unknown_geo")
        if geo == "us":
            self.trap("us_only" if MODELS[model][4] else "us_on_older_model")
        steps: list[dict] = []
        k = (0, 0, 0, 0, 0)
        if rng.random() < 0.12:  # the API compacted the context inside this request
            ki, ko, kr = rng.randint(50_000, 190_000), rng.randint(500, 4_000), rng.choice(
                [0, rng.randint(1_000, 60_000)])
            k = (ki, ko, 0, 0, kr)
            steps = [{"type": "compaction", "input_tokens": ki, "output_tokens": ko,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": kr},
                     {"type": "message", "input_tokens": inp, "output_tokens": out,
                      "cache_creation_input_tokens": w5 + w1, "cache_read_input_tokens": cr}]
            self.trap("compaction")
        thinking = rng.randint(0, out)  # inside output_tokens, never added to it
        cost = (step_cost(model, day, inp, out, w5, w1, cr) + step_cost(model, day, *k)) \
            * factor(model, day, speed, geo) + ws * WEB_SEARCH
        usage_final = {
            "input_tokens": inp, "cache_creation_input_tokens": w5 + w1,
            "cache_read_input_tokens": cr, "output_tokens": out,
            "server_tool_use": {"web_search_requests": ws, "web_fetch_requests": 0},
            "service_tier": "standard",
            "cache_creation": {"ephemeral_1h_input_tokens": w1, "ephemeral_5m_input_tokens": w5},
            "inference_geo": geo, "iterations": steps, "speed": speed,
            "output_tokens_details": {"thinking_tokens": thinking},
        }
        raw_model = rng.choice(SPELLINGS[model])
        lines = []
        n_lines = rng.choice([1, 2, 3])
        for i in range(n_lines):
            usage = dict(usage_final)
            if i < n_lines - 1:  # streamed: an early line carries a placeholder output
                usage["output_tokens"] = 1
                usage["iterations"] = []
            ts = when + dt.timedelta(milliseconds=40 * i)
            lines.append({
                "parentUuid": None, "isSidechain": sidechain, "userType": "external",
                "cwd": cwd, "sessionId": session, "version": "2.1.240", "gitBranch": branch,
                "type": "assistant", "requestId": rid,
                "timestamp": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "message": {"id": mid, "type": "message", "role": "assistant",
                            "model": raw_model, "content": [{"type": "text", "text": "ok"}],
                            "usage": usage},
                "uuid": f"u{self.n}-{i}",
            })
        if n_lines > 1:
            self.trap("streamed")
        ts_truth = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        row = [ts_truth, session, cwd, branch, model, inp + k[0], out + k[1],
               w5 + w1 + k[2] + k[3], cr + k[4], w1 + k[3], ws,
               0, _dec(cost)]
        self.truth[f"{mid}|{rid}"] = row
        return lines, row

    def run(self, sessions: int) -> None:
        rng = self.rng
        projects = self.out / "projects"
        made: list[tuple[Path, list[dict], str, str, str]] = []
        span = (END - START).total_seconds()
        for s in range(sessions):
            sid = f"5e55{s:04d}-0000-4000-8000-{rng.randrange(16**12):012x}"
            cwd = rng.choice(["/home/dev/app", "/home/dev/api", "/srv/tools"])
            branch = rng.choice(["main", "feat/fast", "fix/geo"])
            folder = projects / cwd.replace("/", "-")
            folder.mkdir(parents=True, exist_ok=True)
            when = START + dt.timedelta(seconds=rng.uniform(0, span))
            lines: list[dict] = []
            copied: list[dict] = []
            here = [m for m in made if m[3] == cwd]  # Claude Code resumes within a project
            if here and rng.random() < 0.25:  # resumed: the file starts with copies
                _path, earlier, _sid, _cwd, _br = rng.choice(here)
                copied = [json.loads(json.dumps(x)) for x in earlier[: rng.randint(1, 6)]]
                if rng.random() < 0.5:
                    for x in copied:
                        x["sessionId"] = sid  # a copy under the new session's id
                lines += copied
                when = max(when, _time(earlier[-1]) + dt.timedelta(minutes=5))
                self.trap("resumed")
            for _turn in range(rng.randint(3, 14)):
                when += dt.timedelta(seconds=rng.uniform(5, 3_000))
                if when >= END:
                    break
                new, _row = self.request(when, sid, cwd, branch)
                lines += new
            path = folder / f"{sid}.jsonl"
            path.write_text("".join(_compact(x) + "\n" for x in lines))
            made.append((path, [x for x in lines if x not in copied], sid, cwd, branch))
            if rng.random() < 0.3:  # a subagent: its own file, the parent's session
                sub = folder / sid / "subagents"
                sub.mkdir(parents=True, exist_ok=True)
                at = _time(lines[-1]) - dt.timedelta(seconds=30) if lines else when
                agent = []
                for _ in range(rng.randint(1, 4)):
                    at += dt.timedelta(seconds=rng.uniform(1, 20))
                    new, _row = self.request(at, sid, cwd, branch, sidechain=True)
                    agent += new
                (sub / f"agent-{s:04d}.jsonl").write_text(
                    "".join(_compact(x) + "\n" for x in agent))
                self.trap("subagent")

    def write_truth(self) -> None:
        rows = sorted(self.truth.values(), key=lambda r: (r[0], r[1]))
        tables: dict[str, dict] = {"sessions": {}, "cwds": {}, "branches": {}, "models": {}}

        def idx(name: str, v: str) -> int:
            t = tables[name]
            return t.setdefault(v, len(t))

        out_rows = [[r[0], idx("sessions", r[1]), idx("cwds", r[2]), idx("branches", r[3]),
                     idx("models", r[4]), *r[5:]] for r in rows]
        total = sum((Decimal(r[-1]) for r in rows), Decimal(0))
        head = {
            "schema": "ccspend-bench-truth/1",
            "generator": {"name": "gen_corpus_2026", "requests": len(rows)},
            "note": "cost_usd exact (decimal string); timestamp is UTC",
            "fields": ["timestamp", "session", "cwd", "branch", "model", "input_tokens",
                       "output_tokens", "cache_write_tokens", "cache_read_tokens",
                       "cache_write_1h_tokens", "web_search_requests", "long_context",
                       "cost_usd"],
            **{k: list(v) for k, v in tables.items()},
            "unpriced_models": [],
            "totals": {"requests": len(rows), "cost_usd": _dec(total)},
            "traps": dict(sorted(self.traps.items())),
            "requests": out_rows,
        }
        (self.out / "truth.json").write_text(json.dumps(head, indent=1))


def _compact(line: dict) -> str:
    """A log line as Claude Code writes it: compact JSON (ccusage reads no other)."""
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


def _time(line: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))


def _dec(x: Decimal) -> str:
    s = format(x.normalize(), "f")
    return s


def generate(out: Path | str, sessions: int = 60, seed: int = 1) -> dict:
    """Write a corpus to ``out`` (``projects/`` and ``truth.json``); return the traps made."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(out, seed)
    corpus.run(sessions)
    corpus.write_truth()
    return corpus.traps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    traps = generate(args.out, args.sessions, args.seed)
    print(f"wrote {args.out}: {traps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
