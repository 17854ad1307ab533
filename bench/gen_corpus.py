#!/usr/bin/env python3
"""Generate a synthetic Claude Code config dir whose exact spend is known.

Why this exists: ccspend's correctness and speed claims need a corpus that
looks like real Claude Code logs (mostly large tool results that carry no
cost, a few small assistant lines that do) and that contains every trap of
shared/reference/claude-code-logs.md several times, together with the right
answer. The right answer is computed here, while the lines are written, from
a price table hard-coded below (copied from shared/reference/prices.md), so
it is independent of ccspend's own rate card and reader.

    python bench/gen_corpus.py OUT --size-mb N [--seed S]

writes OUT/projects/<encoded-cwd>/<sessionId>.jsonl, subagent transcripts
OUT/projects/<enc>/<sessionId>/subagents/agent-<id>.jsonl (+ .meta.json), and
OUT/truth.json (written last: its presence marks a complete corpus).

truth.json holds one row per counted request (after deduplication), with its
UTC timestamp, the session it is attributed to, cwd, branch key, normalised
model, token fields and exact cost, so that every report can be recomputed in
any time zone (see check_exact.py). Rules applied by the truth:

* a response written as several lines (same message.id + requestId) counts
  once, with the largest output_tokens among its complete lines;
* a resumed session's copies of earlier lines count once, attributed to the
  session whose file has the earliest first line (the generator makes every
  file start with a timestamped line, strictly increasing within a file);
* lines without requestId deduplicate on message.id alone; lines without
  message.id always count (they are never copied into resumed sessions);
* API error lines (isApiErrorMessage, model <synthetic>, zero usage) count
  nothing and are no model;
* model ids are normalised to the price table's family; an unknown id keeps
  its raw name, keeps its tokens, and has no cost (cost null);
* only complete lines count: garbage, empty, truncated lines and a last line
  without a trailing newline never do; a BOM before the first line is not
  part of the line;
* a request is priced with the 1h cache-write rate for
  usage.cache_creation.ephemeral_1h_input_tokens (all of
  cache_creation_input_tokens are 5m writes where that split is absent);
  on claude-sonnet-4-5 and claude-sonnet-4 a request whose input + cache
  write + cache read tokens exceed 200,000 is priced wholly at the
  long-context rates; web searches cost $10 per 1,000.

Each response's lines, and each API error with the response next to it, sit
inside one quarter-hour of UTC, so no time zone can split them across days.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import datetime as dt
import json
import math
import random
import re
import shutil
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

# --------------------------------------------------------------------------
# Prices: shared/reference/prices.md, Anthropic table, in hundredths of a USD
# per million tokens, so that tokens * price is an exact integer count of
# 1e-8 USD. Order: input, output, cache write 5m, cache write 1h, cache read.
# --------------------------------------------------------------------------
_OPUS_NEW = (500, 2500, 625, 1000, 50)
_OPUS_OLD = (1500, 7500, 1875, 3000, 150)
_SONNET = (300, 1500, 375, 600, 30)
PRICES = {
    "claude-opus-4-7": _OPUS_NEW,
    "claude-opus-4-6": _OPUS_NEW,
    "claude-opus-4-5": _OPUS_NEW,
    "claude-opus-4-1": _OPUS_OLD,
    "claude-opus-4": _OPUS_OLD,
    "claude-sonnet-4-6": _SONNET,
    "claude-sonnet-4-5": _SONNET,
    "claude-sonnet-4": _SONNET,
    "claude-3-7-sonnet": _SONNET,
    "claude-haiku-4-5": (100, 500, 125, 200, 10),
    "claude-3-5-haiku": (80, 400, 100, 160, 8),
    "claude-3-haiku": (25, 125, 30, 50, 3),
}
LONG_CONTEXT_FAMILIES = frozenset({"claude-sonnet-4-5", "claude-sonnet-4"})
LONG_CONTEXT_PRICES = (600, 2250, 750, 1200, 60)
LONG_CONTEXT_THRESHOLD = 200_000
WEB_SEARCH_UNITS = 1_000_000  # $10 per 1,000 searches = $0.01 = 1e6 * 1e-8 USD
UNITS_PER_USD = 100_000_000

# raw model id as written in the log -> price-table family (None: unknown),
# and a relative weight for how often a session uses it.
MODEL_VARIANTS = [
    ("claude-opus-4-7", "claude-opus-4-7", 10),
    ("claude-opus-4-6", "claude-opus-4-6", 6),
    ("claude-opus-4-5-20251101", "claude-opus-4-5", 4),
    ("us.anthropic.claude-opus-4-5-20251101-v1:0", "claude-opus-4-5", 1),
    ("claude-opus-4-1-20250805", "claude-opus-4-1", 2),
    ("claude-opus-4-1@20250805", "claude-opus-4-1", 1),
    ("claude-opus-4-20250514", "claude-opus-4", 1),
    ("claude-sonnet-4-6", "claude-sonnet-4-6", 10),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", 8),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", 2),
    ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5", 1),
    ("claude-sonnet-4-5", "claude-sonnet-4-5", 1),
    ("claude-sonnet-4-20250514", "claude-sonnet-4", 3),
    ("anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4", 1),
    ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet", 1),
    ("claude-haiku-4-5-20251001", "claude-haiku-4-5", 4),
    ("anthropic/claude-haiku-4-5", "claude-haiku-4-5", 1),
    ("claude-haiku-4-5", "claude-haiku-4-5", 1),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku", 2),
    ("claude-3-haiku-20240307", "claude-3-haiku", 1),
    ("acme-coder-2", None, 1),
]
FAMILY_OF = {raw: fam for raw, fam, _ in MODEL_VARIANTS}
SUBAGENT_VARIANTS = ["claude-haiku-4-5-20251001", "claude-haiku-4-5",
                     "anthropic/claude-haiku-4-5"]

# (cwd, branches); "" = not a git repository. my.site and my-site share one
# folder name: readers must take the project from each line's cwd.
PROJECTS = [
    ("/home/dev/code/webapp", ["main", "feat/router", "fix/login-loop"]),
    ("/home/dev/my.site", ["main", "draft/post-42"]),
    ("/home/dev/my-site", ["main"]),
    ("/home/dev/code/api-server", ["main", "feat/grpc", "HEAD"]),
    ("/home/dev/.dotfiles", ["master"]),
    ("/tmp/scratch", [""]),
    ("/home/dev/work/client app", ["develop", "release/2026.1", "HEAD"]),
    ("/home/dev/code/ml_pipeline", ["main", "exp/lora"]),
    ("/home/dev/src/ccspend", ["main", "feat/route-cmd"]),
    ("/home/dev/oss/données", ["main"]),
]
PROJECT_WEIGHTS = [10, 4, 2, 7, 1, 2, 4, 5, 6, 2]

LEGACY_VERSIONS = ["0.2.125", "1.0.17"]  # no requestId, no gitBranch
VERSIONS = [("1.0.98", 1), ("2.0.41", 2), ("2.1.114", 3), ("2.1.240", 4)]

START = dt.datetime(2026, 1, 1, 3, 0, tzinfo=dt.UTC)
SPAN_DAYS = 90
START_MS = int(START.timestamp() * 1000)
END_MS = START_MS + SPAN_DAYS * 86_400_000
QUARTER_MS = 15 * 60 * 1000

# Session start times placed just before a boundary that matters in some
# time zone, so that small corpora cross each of them too.
_ANCHOR_TIMES = [
    ("anchor_year_start_la", "2026-01-01T02:50:00"),  # still 2025 in LA
    ("anchor_month_utc", "2026-01-31T23:45:00"),  # Jan -> Feb in UTC
    ("anchor_week_utc", "2026-02-01T23:45:00"),  # Sunday -> Monday UTC
    ("anchor_month_kolkata", "2026-02-28T18:15:00"),  # Mar 1 00:00 IST
    ("anchor_month_la", "2026-03-01T07:45:00"),  # Mar 1 00:00 PST
    ("anchor_dst_la", "2026-03-08T09:45:00"),  # PST -> PDT
]
ANCHORS = [
    (name, int(dt.datetime.fromisoformat(t).replace(
        tzinfo=dt.UTC).timestamp() * 1000))
    for name, t in _ANCHOR_TIMES
]

# Minimum number of occurrences of each trap; generation goes on past the
# planned size until all are met (they are met early for any real size).
MIN_TRAPS = {
    "split_placeholder": 6, "split_equal": 2,
    "resume": 4, "resume_chain": 2, "resume_no_new": 1,
    "legacy_no_request_id": 6, "no_message_id": 6,
    "no_message_id_repeat": 2,
    "api_error": 4, "unknown_model": 3,
    "bad_garbage": 4, "bad_non_object": 2, "bad_odd_object": 2,
    "bad_invalid_utf8": 2, "bad_empty": 4, "bad_truncated_mid": 4,
    "bom": 3, "bom_assistant_first": 2,
    "incomplete_partial": 2, "incomplete_complete_json": 2,
    "incomplete_split_final": 2,
    "branch_change": 3, "branch_absent": 3, "branch_empty": 3,
    "branch_head": 3,
    "sidechain_inline": 3, "subagent_file": 4,
    "cache_1h": 5, "cache_mixed": 3, "cache_nosplit": 5,
    "lc_sonnet45": 4, "lc_sonnet4": 4, "lc_exact_200000": 2,
    "lc_200001": 2, "over200k_not_lc": 3,
    "web_search": 5, "spaced_json": 3,
    "cross_midnight_utc": 3, "cross_midnight_la": 3,
    "cross_midnight_kolkata": 3, "lossy_folder": 2,
    **{name: 1 for name, _ in ANCHORS},
    **{"model:" + raw: 3 for raw, _, _ in MODEL_VARIANTS},
    **{"project:" + cwd: 1 for cwd, _ in PROJECTS},
}

AGENT_TYPES = ["general-purpose", "Explore", "Plan", "code-reviewer",
               "test-runner"]
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

# Key orders seen in real lines (see examples/claude_code_real_lines.jsonl).
ORDERS = [
    ["parentUuid", "isSidechain", "userType", "cwd", "sessionId", "version",
     "gitBranch", "agentId", "type", "message", "requestId", "uuid",
     "timestamp", "toolUseResult", "isApiErrorMessage"],
    ["parentUuid", "isSidechain", "message", "requestId", "type", "uuid",
     "timestamp", "sessionId", "cwd", "version", "userType", "entrypoint",
     "gitBranch", "agentId", "toolUseResult", "isApiErrorMessage"],
    ["parentUuid", "isSidechain", "userType", "cwd", "sessionId", "version",
     "gitBranch", "agentId", "message", "requestId", "type", "uuid",
     "timestamp", "toolUseResult", "isApiErrorMessage"],
]

BLOB = "@@BLOB@@"
TXT = "@@TXT@@"
SIG = "@@SIG@@"


def encode_cwd(cwd: str) -> str:
    """Folder name Claude Code uses for a cwd (lossy: / and . become -)."""
    return cwd.replace("/", "-").replace(".", "-")


def family_prices(family: str, total_in: int) -> tuple[int, ...]:
    if family in LONG_CONTEXT_FAMILIES and total_in > LONG_CONTEXT_THRESHOLD:
        return LONG_CONTEXT_PRICES
    return PRICES[family]


def cost_units(family, inp, out, cw, cr, cw1h, ws):
    """Exact cost in 1e-8 USD, or None for a model with no price."""
    if family is None:
        return None
    p = family_prices(family, inp + cw + cr)
    cw5 = cw - cw1h
    return (inp * p[0] + out * p[1] + cw5 * p[2] + cw1h * p[3] + cr * p[4]
            + ws * WEB_SEARCH_UNITS)


def units_to_str(units: int) -> str:
    return f"{units // UNITS_PER_USD}.{units % UNITS_PER_USD:08d}"


_DAY_CACHE: dict[int, str] = {}


def iso(ms: int) -> str:
    day, rest = divmod(ms, 86_400_000)
    ds = _DAY_CACHE.get(day)
    if ds is None:
        ds = (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
        _DAY_CACHE[day] = ds
    h, rest = divmod(rest, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, rest = divmod(rest, 1000)
    return f"{ds}T{h:02d}:{m:02d}:{s:02d}.{rest:03d}Z"


def dumps(obj, spaced: bool = False) -> bytes:
    if spaced:
        return json.dumps(obj, ensure_ascii=False).encode()
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


# --------------------------------------------------------------------------
# Text pool: pre-escaped JSON string content, cut only after an escaped
# newline, so any slice is valid inside a JSON string.
# --------------------------------------------------------------------------
_WORDS = [
    "request", "session", "token", "cache", "router", "handler", "config",
    "parse", "build", "index", "query", "render", "user", "model", "price",
    "report", "daily", "branch", "commit", "stream", "buffer", "worker",
    "thread", "retry", "timeout", "schema", "migrate", "table", "column",
    "value", "result", "error", "warning", "debug", "fetch", "update",
    "delete", "insert", "select", "filter", "group", "order", "limit",
    "offset", "cursor",
]
_UNICODE = ["données traitées — résumé ✓", "日本語のテキストを処理しました",
            "你好，我是 Claude Code", "Größe: 42 µs ± 3 %", "emoji 🚀 ok",
            "Ünïcödé línè ñ"]


def _pool_line(rng: random.Random, n: int) -> str:
    k = rng.random()
    w = rng.choice
    if k < 0.45:
        ind = " " * (4 * rng.randint(0, 3))
        code = rng.choice([
            f"{ind}def {w(_WORDS)}_{w(_WORDS)}(self, {w(_WORDS)}: int) -> str:",
            f"{ind}{w(_WORDS)} = {w(_WORDS)}.get('{w(_WORDS)}', {n % 97})",
            f'{ind}raise ValueError(f"bad {w(_WORDS)}: {{{w(_WORDS)}!r}}")',
            f"{ind}for {w(_WORDS)} in self.{w(_WORDS)}s:",
            f"{ind}return {w(_WORDS)}[{n % 13}:] + \"{w(_WORDS)}\"",
            f"{ind}# {w(_WORDS)} the {w(_WORDS)} before {w(_WORDS)}",
            f"{ind}import {w(_WORDS)}",
        ])
        return f"{n:>6}\u2192{code}"
    if k < 0.7:
        return (f"2026-02-{n % 28 + 1:02d} 12:{n % 60:02d}:01 INFO "
                f"{w(_WORDS)} {w(_WORDS)} processed {n} items in {n % 997}ms")
    if k < 0.73:
        # A log line quoted inside a tool result (escaped when embedded).
        usage = f'{{"input_tokens":{n % 50},"output_tokens":{n % 900}}}'
        return (f'{{"type":"assistant","message":{{"id":"msg_x{n}",'
                f'"usage":{usage}}},"timestamp":"2026-02-01T00:00:00.000Z"}}')
    if k < 0.88:
        return f"{w(_UNICODE)} {w(_WORDS)} {n}"
    return " ".join(w(_WORDS) for _ in range(rng.randint(4, 16)))


class TextPool:
    def __init__(self, rng: random.Random, size: int):
        lines = []
        total = 0
        n = 0
        while total < size:
            line = _pool_line(rng, n)
            if rng.random() < 0.05:
                line += "\t\"quoted\" <tag attr='x'>"
            lines.append(line)
            total += len(line) + 1
            n += 1
        text = "\n".join(lines) + "\n"
        assert "\\" not in text
        self.data = json.dumps(text, ensure_ascii=False)[1:-1].encode()
        self.cuts = [0] + [m.end() for m in re.finditer(rb"\\n", self.data)]
        self.rng = rng
        raw = rng.randbytes(96 * 1024)
        self.sig = base64.b64encode(raw)

    def text(self, size: int) -> bytes:
        cuts = self.cuts
        size = max(1, min(size, len(self.data) // 2))
        hi = bisect.bisect_left(cuts, len(self.data) - size)
        i = self.rng.randrange(max(1, hi))
        a = cuts[i]
        j = bisect.bisect_left(cuts, a + size, lo=i + 1)
        b = cuts[min(j, len(cuts) - 1)]
        return self.data[a:b]

    def signature(self, scale: float = 1.0) -> bytes:
        n = int(self.rng.randint(300, 1400) * scale)
        a = self.rng.randrange(len(self.sig) - n)
        return self.sig[a:a + n]


# --------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------
class Line:
    """One physical line of a file, with what it means for the truth."""

    __slots__ = ("data", "meta", "ts", "copyable")

    def __init__(self, data: bytes, meta=None, ts=None, copyable=True):
        self.data = data  # without trailing newline
        self.meta = meta  # request record (tuple) if it may be counted
        self.ts = ts
        self.copyable = copyable


class Session:
    def __init__(self, sid, cwd, version, legacy, style, branch, variant,
                 cache_mode, one_m):
        self.sid = sid
        self.cwd = cwd
        self.version = version
        self.legacy = legacy
        self.style = style
        self.branch = branch  # None: no gitBranch key
        self.variant = variant
        self.cache_mode = cache_mode
        self.one_m = one_m
        self.lines: list[Line] = []
        self.clock = 0
        self.context = 0
        self.parent_uuid = None
        self.entrypoint = "cli"
        self.agent_id = None  # set for a subagent transcript file


class Generator:
    def __init__(self, out: Path, size_mb: float, seed: int):
        self.out = out
        self.target = int(size_mb * 1024 * 1024)
        self.rng = random.Random(seed)
        self.seed = seed
        self.size_mb = size_mb
        pool_size = min(8 << 20, max(256 << 10, self.target // 8))
        self.pool = TextPool(self.rng, pool_size)
        self.planned_turns = max(160, self.target // 24_000)
        # Phase 1 aims at 80% of the size (copies made by resumed sessions
        # and sessions added to meet trap minimums come on top); phase 2
        # fills up to the size with ordinary sessions.
        self.budget = 0.8 * self.target
        self.plan = 0.8 * self.planned_turns
        # Small corpora: shorter sessions and assistant texts, so that
        # every trap still fits in roughly the size asked for.
        self.session_median = min(18.0, max(4.0, self.planned_turns / 20))
        self.text_scale = min(1.0, max(0.25, self.target / 40e6))
        self.blob_max = min(400_000, max(2000, self.target // 300))
        self.max_turns = int(min(160, max(12, self.planned_turns / 5)))
        self.copy_max = max(self.target // 25, 50_000)
        self.turns = 0
        self.written = 0
        self.struct_bytes = 0
        self.blob_count = 0
        self.files = 0
        self.lines_out = 0
        self.got: Counter = Counter()
        self.bad = Counter()
        self.truth: dict = {}
        self.nokey = 0
        self.sessions_made = 0
        self.variants = [v[0] for v in MODEL_VARIANTS]
        self.vweights = [v[2] for v in MODEL_VARIANTS]
        self.anchor_queue = list(ANCHORS)
        self.last_no_id: dict = {}

    # -- helpers ----------------------------------------------------------
    def need(self, name: str) -> bool:
        return self.got[name] < MIN_TRAPS.get(name, 0)

    def want(self, name: str, p: float, boost: float = 0.35) -> bool:
        if self.need(name):
            p = max(p, boost)
        return self.rng.random() < p

    def deficits(self) -> list[str]:
        return [k for k, v in MIN_TRAPS.items() if self.got[k] < v]

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def rid(self, prefix: str, n: int) -> str:
        return prefix + "".join(self.rng.choices(ALNUM, k=n))

    def lognorm(self, median: float, sigma: float, lo: int, hi: int) -> int:
        v = median * math.exp(self.rng.gauss(0, sigma))
        return int(min(hi, max(lo, v)))

    def sized(self, median: float, sigma: float, lo: int, hi: int) -> int:
        """A text length, shorter in small corpora."""
        return self.lognorm(median * self.text_scale, sigma, lo, hi)

    def blob_size(self) -> int:
        remaining = max(1, self.plan - self.turns)
        per_turn = (self.struct_bytes / self.turns) if self.turns > 20 else 3000
        avail = self.budget - self.written - per_turn * remaining
        mean = avail / (remaining * 0.85 * 2)
        mean = max(60.0, mean)
        sigma = 1.0
        v = mean * math.exp(self.rng.gauss(-sigma * sigma / 2, sigma))
        return int(min(self.blob_max, max(40, v)))

    def fit_quarter(self, t: int, span: int) -> int:
        """Move t forward so that [t, t+span] stays in one UTC quarter-hour."""
        if t // QUARTER_MS != (t + span) // QUARTER_MS:
            t = (t // QUARTER_MS + 1) * QUARTER_MS + self.rng.randint(50, 900)
        return t

    # -- line builders ----------------------------------------------------
    def common(self, S: Session, *, ts: int, kind: str, sidechain: bool,
               agent_id: str | None) -> dict:
        u = self.uid()
        f = {
            "parentUuid": S.parent_uuid,
            "isSidechain": sidechain,
            "userType": "external",
            "cwd": S.cwd,
            "sessionId": S.sid,
            "version": S.version,
            "type": kind,
            "uuid": u,
            "timestamp": iso(ts),
        }
        if S.branch is not None:
            f["gitBranch"] = S.branch
        if agent_id is not None:
            f["agentId"] = agent_id
        if S.style == 1:
            f["entrypoint"] = S.entrypoint
        S.parent_uuid = u
        return f

    def ordered(self, S: Session, f: dict) -> dict:
        order = ORDERS[S.style]
        d = {k: f[k] for k in order if k in f}
        for k in f:
            if k not in d:
                d[k] = f[k]
        return d

    def add(self, S: Session, data: bytes, meta=None, ts=None,
            copyable=True) -> Line:
        line = Line(data, meta, ts, copyable)
        S.lines.append(line)
        self.written += len(data) + 1
        return line

    def user_prompt(self, S, ts, sidechain=False, agent_id=None, text=None):
        f = self.common(S, ts=ts, kind="user", sidechain=sidechain,
                        agent_id=agent_id)
        body = text if text is not None else self.pool.text(
            self.lognorm(120, 0.8, 10, 3000))
        if self.rng.random() < 0.5:
            f["message"] = {"role": "user", "content": TXT}
        else:
            f["message"] = {"role": "user",
                            "content": [{"type": "text", "text": TXT}]}
        data = dumps(self.ordered(S, f)).replace(TXT.encode(), body, 1)
        self.struct_bytes += len(data)
        self.add(S, data, ts=ts)

    def tool_result(self, S, ts, sidechain=False, agent_id=None, scale=1.0):
        f = self.common(S, ts=ts, kind="user", sidechain=sidechain,
                        agent_id=agent_id)
        size = int(self.blob_size() * scale)
        blob = self.pool.text(size)
        tid = self.rid("toolu_01", 22)
        f["message"] = {"role": "user", "content": [
            {"tool_use_id": tid, "type": "tool_result", "content": BLOB}]}
        if self.rng.random() < 0.6:
            n = blob.count(b"\\n")
            f["toolUseResult"] = {"type": "text", "file": {
                "filePath": S.cwd + "/src/" + self.rng.choice(_WORDS) + ".py",
                "content": BLOB, "numLines": n, "startLine": 1,
                "totalLines": n + self.rng.randint(0, 400)}}
        else:
            f["toolUseResult"] = {"stdout": BLOB, "stderr": "",
                                  "interrupted": False, "isImage": False}
        skel = dumps(self.ordered(S, f))
        data = skel.replace(BLOB.encode(), blob)
        self.struct_bytes += len(skel) - 2 * len(BLOB)
        self.blob_count += 1
        self.add(S, data, ts=ts)
        # New context the next request will write to the cache.
        return len(blob) // 4

    def misc_line(self, S, ts):
        r = self.rng.random()
        if r < 0.4:
            u = self.uid()
            obj = {"type": "file-history-snapshot", "messageId": u,
                   "snapshot": {"messageId": u, "trackedFileBackups": {},
                                "timestamp": iso(ts)},
                   "isSnapshotUpdate": False}
            data = dumps(obj)
            self.add(S, data, copyable=False)
        elif r < 0.7:
            obj = {"type": "summary",
                   "summary": " ".join(self.rng.choices(_WORDS, k=5)),
                   "leafUuid": self.uid()}
            data = dumps(obj)
            self.add(S, data, copyable=False)
        else:
            f = self.common(S, ts=ts, kind="system", sidechain=False,
                            agent_id=None)
            f["subtype"] = self.rng.choice(["informational",
                                            "stop_hook_summary"])
            f["content"] = "Running " + self.rng.choice(_WORDS) + " hook"
            f["isMeta"] = False
            f["level"] = "info"
            data = dumps(self.ordered(S, f))
            self.add(S, data, ts=ts)
        self.struct_bytes += len(data)

    def compact_line(self, S, ts, pre):
        f = self.common(S, ts=ts, kind="system", sidechain=False,
                        agent_id=None)
        f["subtype"] = "compact_boundary"
        f["content"] = "Conversation compacted"
        f["isMeta"] = False
        f["level"] = "info"
        f["compactMetadata"] = {"trigger": "auto", "preTokens": pre}
        data = dumps(self.ordered(S, f))
        self.struct_bytes += len(data)
        self.add(S, data, ts=ts)

    def api_error(self, S, ts):
        f = self.common(S, ts=ts, kind="assistant", sidechain=False,
                        agent_id=None)
        f["message"] = {
            "id": self.uid(), "model": "<synthetic>", "role": "assistant",
            "stop_reason": "stop_sequence", "stop_sequence": "",
            "type": "message",
            "usage": {"input_tokens": 0, "output_tokens": 0,
                      "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0,
                      "server_tool_use": {"web_search_requests": 0},
                      "service_tier": None},
            "content": [{"type": "text", "text": (
                'API Error: 529 {"type":"error","error":{"type":'
                '"overloaded_error","message":"Overloaded"}}')}]}
        f["isApiErrorMessage"] = True
        data = dumps(self.ordered(S, f))
        self.struct_bytes += len(data)
        self.add(S, data, ts=ts)
        self.got["api_error"] += 1

    def bad_line(self, S):
        """A garbage, empty or odd line somewhere in the middle of a file."""
        r = self.rng.random()
        if r < 0.3 or self.need("bad_empty"):
            data = self.rng.choice([b"", b"", b"   ", b"\t"])
            self.got["bad_empty"] += 1
        elif r < 0.5 or self.need("bad_garbage"):
            data = self.rng.choice([
                b"garbage", b"this is not json at all",
                b'{"type":"assistant","message":{"usage":',
                b"<<<<<<< HEAD", b"]}", b"\x1b[31mERROR\x1b[0m disk full",
                b"{'single': 'quotes'}"])
            self.got["bad_garbage"] += 1
        elif r < 0.65 or self.need("bad_invalid_utf8"):
            data = b"\xff\xfe\xfa broken \xc3 bytes \x80"
            self.got["bad_invalid_utf8"] += 1
        elif r < 0.8 or self.need("bad_non_object"):
            data = self.rng.choice([b"null", b"[1,2,3]", b"42",
                                    b'"just a string"', b"true"])
            self.got["bad_non_object"] += 1
        else:
            data = self.rng.choice([
                b'{"type":"assistant","message":null}',
                b'{"type":"assistant","message":{"usage":null}}',
                b'{"type":"assistant","message":"oops"}',
                b'{"type":"assistant"}'])
            self.got["bad_odd_object"] += 1
        self.add(S, data, copyable=False)

    def usage(self, S, inp, out, cw, cr, cw1h, ws, order):
        u = {"input_tokens": inp, "cache_creation_input_tokens": cw,
             "cache_read_input_tokens": cr}
        if S.cache_mode != "nosplit":
            u["cache_creation"] = {"ephemeral_5m_input_tokens": cw - cw1h,
                                   "ephemeral_1h_input_tokens": cw1h}
        u["output_tokens"] = out
        u["service_tier"] = "standard"
        if not S.legacy and S.version != "1.0.98":
            u["server_tool_use"] = {"web_search_requests": ws,
                                    "web_fetch_requests": 0}
        if order:
            u = {"output_tokens": u.pop("output_tokens"), **u}
        return u

    def block(self, kind: str):
        """A content block with placeholders, and their replacements."""
        if kind == "thinking":
            return ({"type": "thinking", "thinking": TXT, "signature": SIG},
                    [(TXT, self.pool.text(self.sized(700, 0.8, 30, 8000))),
                     (SIG, self.pool.signature(self.text_scale))])
        if kind == "text":
            return ({"type": "text", "text": TXT},
                    [(TXT, self.pool.text(self.sized(300, 1.0, 5, 6000)))])
        name = self.rng.choice(["Read", "Bash", "Edit", "Write", "Grep"])
        if name in ("Edit", "Write"):
            inp = {"file_path": "/src/x.py", "content": TXT}
            rep = [(TXT, self.pool.text(self.sized(900, 1.0, 20, 20000)))]
        else:
            inp = {"command": TXT}
            rep = [(TXT, self.pool.text(self.lognorm(60, 0.5, 5, 400)))]
        return ({"type": "tool_use", "id": self.rid("toolu_01", 22),
                 "name": name, "input": inp}, rep)

    def assistant_lines(self, S, *, t0, variant, tokens, sidechain, agent_id,
                        kinds, outs, msg_id, req_id, spaced_at=-1,
                        final_stop="tool_use", truncate_at=-1):
        """Write one response as len(kinds) lines; return (lines, end time)."""
        inp, cw, cr, cw1h, ws = tokens
        family = FAMILY_OF[variant]
        model_name = family if family is not None else variant
        branch_key = S.branch if S.branch else "(none)"
        order = self.rng.random() < 0.3
        t = t0
        made = []
        for i, kind in enumerate(kinds):
            f = self.common(S, ts=t, kind="assistant", sidechain=sidechain,
                            agent_id=agent_id)
            blk, reps = self.block(kind)
            last = i == len(kinds) - 1
            msg = {"id": msg_id} if msg_id is not None else {}
            msg.update({"type": "message", "role": "assistant",
                        "model": variant, "content": [blk],
                        "stop_reason": final_stop if last else None,
                        "stop_sequence": None,
                        "usage": self.usage(S, inp, outs[i], cw, cr, cw1h,
                                            ws, order)})
            if self.rng.random() < 0.5:
                msg = {"model": msg.pop("model"), **msg}
            f["message"] = msg
            if req_id is not None:
                f["requestId"] = req_id
            skel = dumps(self.ordered(S, f), spaced=(i == spaced_at))
            data = skel
            for ph, val in reps:
                data = data.replace(ph.encode(), val, 1)
            self.struct_bytes += len(data)
            if i == truncate_at:
                cut = data.index(b'"usage"') + self.rng.randint(40, 120)
                data = data[:min(cut, len(data) - 3)]
                self.add(S, data, copyable=False)
                self.got["bad_truncated_mid"] += 1
            else:
                key = (("mr", msg_id, req_id) if req_id is not None else
                       ("m", msg_id)) if msg_id is not None else None
                meta = (key, S.sid, t, S.cwd, branch_key, model_name, family,
                        inp, outs[i], cw, cr, cw1h, ws)
                copyable = msg_id is not None
                made.append(self.add(S, data, meta=meta, ts=t,
                                     copyable=copyable))
            t += self.rng.randint(80, 2500)
        return made, t

    # -- one response -----------------------------------------------------
    def response(self, S, *, new_ctx, sidechain=False, agent_id=None,
                 first=False, force_kinds=None, final_stop=None):
        """An API call: tokens, model, lines. Returns (end time, had tool)."""
        rng = self.rng
        variant = S.variant
        forced = None
        # Traps bound to a model family: switch this response's model.
        if not sidechain and rng.random() < 0.3:
            for trap, cands in (
                    ("lc_sonnet45", ["claude-sonnet-4-5-20250929",
                                     "us.anthropic.claude-sonnet-4-5-20250929-v1:0"]),
                    ("lc_sonnet4", ["claude-sonnet-4-20250514",
                                    "anthropic.claude-sonnet-4-20250514-v1:0"]),
                    ("lc_exact_200000", ["claude-sonnet-4-5-20250929",
                                         "claude-sonnet-4-20250514"]),
                    ("lc_200001", ["claude-sonnet-4-5@20250929",
                                   "claude-sonnet-4-20250514"]),
                    ("over200k_not_lc", ["claude-sonnet-4-6",
                                         "claude-opus-4-7",
                                         "claude-opus-4-6"])):
                if self.need(trap):
                    forced = trap
                    variant = rng.choice(cands)
                    break
            else:
                lacking = [v for v in self.variants if self.need("model:" + v)]
                if lacking:
                    variant = rng.choice(lacking)
        family = FAMILY_OF[variant]

        # Tokens.
        if first:
            cr = 0 if rng.random() < 0.6 else self.lognorm(14000, 0.3, 2000,
                                                           40000)
            cw = self.lognorm(18000, 0.3, 3000, 40000)
        else:
            cr = S.context
            cw = min(120_000, new_ctx + rng.randint(0, 400))
        if rng.random() < 0.08:
            cw = 0
        inp = rng.randint(1, 12) if rng.random() < 0.9 else self.lognorm(
            900, 1.2, 13, 60000)
        if S.legacy and rng.random() < 0.5:
            inp = self.lognorm(3000, 1.0, 20, 90000)
        limit = 900_000 if S.one_m else 185_000
        if inp + cw + cr > limit:
            pre = cr
            self.compact_line(S, S.clock, pre)
            S.clock += rng.randint(2000, 20000)
            cr = self.lognorm(15000, 0.3, 4000, 40000)
            cw = min(cw, 30000)
        if forced == "lc_exact_200000" or forced == "lc_200001":
            target = 200_000 if forced == "lc_exact_200000" else 200_001
            cw = min(cw, 20000)
            inp = min(inp, 10)
            cr = target - inp - cw
        elif forced in ("lc_sonnet45", "lc_sonnet4", "over200k_not_lc"):
            cr = max(cr, rng.randint(200_500, 520_000))
        if forced:
            self.got[forced] += 1
        total_in = inp + cw + cr
        if family in LONG_CONTEXT_FAMILIES and total_in > 200_000:
            key = ("lc_sonnet45" if family == "claude-sonnet-4-5"
                   else "lc_sonnet4")
            if forced != key:
                self.got[key] += 1
            if total_in == 200_001 and forced != "lc_200001":
                self.got["lc_200001"] += 1
        elif total_in > 200_000 and forced != "over200k_not_lc":
            self.got["over200k_not_lc"] += 1

        cw1h = 0
        if cw and S.cache_mode == "1h":
            cw1h = cw
            self.got["cache_1h"] += 1
        elif cw and S.cache_mode == "mixed":
            cw1h = rng.randint(1, cw)
            self.got["cache_1h"] += 1
            if cw1h < cw:
                self.got["cache_mixed"] += 1
        elif cw and S.cache_mode == "nosplit":
            self.got["cache_nosplit"] += 1
        ws = 0
        if (family is not None and not S.legacy and S.version != "1.0.98"
                and self.want("web_search", 0.02, 0.2)):
            ws = rng.choice([1, 1, 2, 3, 5])
            self.got["web_search"] += 1
        out = self.lognorm(260, 1.1, 2, 16000)

        # Lines of the response.
        if force_kinds is not None:
            kinds = force_kinds
        else:
            r = rng.random()
            if r < 0.35:
                kinds = [rng.choice(["tool_use", "tool_use", "text"])]
            elif r < 0.75:
                kinds = rng.choice([["text", "tool_use"],
                                    ["thinking", "text"],
                                    ["thinking", "tool_use"]])
            else:
                kinds = ["thinking", "text", "tool_use"]
        has_tool = kinds[-1] == "tool_use"
        if final_stop is None:
            final_stop = "tool_use" if has_tool else "end_turn"
        if len(kinds) > 1 and rng.random() < 0.85:
            outs = [rng.choice([1, 1, 1, 1, 2, 4])] * (len(kinds) - 1) + [out]
            self.got["split_placeholder"] += 1
        else:
            outs = [out] * len(kinds)
            if len(kinds) > 1:
                self.got["split_equal"] += 1

        no_id = (not sidechain and self.want("no_message_id", 0.002))
        prev = None
        if no_id:
            self.got["no_message_id"] += 1
            kinds = kinds[-1:]
            outs = outs[-1:]
            msg_id = req_id = None
            # Sometimes the very same usage as an earlier id-less line of
            # this model: still two requests, both counted.
            shape = (variant, S.cache_mode, S.version)
            prev = self.last_no_id.get(shape)
            if prev is not None and (self.need("no_message_id_repeat")
                                     or rng.random() < 0.4):
                inp, cw, cr, cw1h, ws, outs = prev
                self.got["no_message_id_repeat"] += 1
            self.last_no_id[shape] = (inp, cw, cr, cw1h, ws, outs)
        else:
            msg_id = self.rid("msg_01", 22)
            req_id = None if S.legacy else self.rid("req_011C", 20)
            if S.legacy:
                self.got["legacy_no_request_id"] += 1
        if family is None:
            self.got["unknown_model"] += 1
        self.got["model:" + variant] += 1
        if S.branch is None:
            self.got["branch_absent"] += 1
        elif S.branch == "":
            self.got["branch_empty"] += 1
        elif S.branch == "HEAD":
            self.got["branch_head"] += 1

        spaced_at = -1
        if self.want("spaced_json", 0.0005, 0.05):
            spaced_at = rng.randrange(len(kinds))
            self.got["spaced_json"] += 1

        span = 2600 * len(kinds) + 4000
        err = not sidechain and self.want("api_error", 0.006, 0.1)
        t0 = S.clock + rng.randint(1500, 25000)
        t0 = self.fit_quarter(t0, span)
        if err:
            self.api_error(S, t0)
            t0 += rng.randint(500, 3000)
        _, t = self.assistant_lines(
            S, t0=t0, variant=variant, tokens=(inp, cw, cr, cw1h, ws),
            sidechain=sidechain, agent_id=agent_id, kinds=kinds, outs=outs,
            msg_id=msg_id, req_id=req_id, spaced_at=spaced_at,
            final_stop=final_stop)
        if no_id and prev is None and self.need("no_message_id_repeat"):
            # The same id-less usage again, as the next request.
            t0 = self.fit_quarter(t + rng.randint(2000, 9000), span)
            _, t = self.assistant_lines(
                S, t0=t0, variant=variant, tokens=(inp, cw, cr, cw1h, ws),
                sidechain=False, agent_id=None, kinds=kinds, outs=outs,
                msg_id=None, req_id=None, final_stop=final_stop)
            self.got["no_message_id"] += 1
            self.got["no_message_id_repeat"] += 1
        S.clock = t
        S.context = cr + cw + outs[-1]
        self.turns += 1
        # A truncated line (cut after its usage) of a separate response.
        if not sidechain and self.want("bad_truncated_mid", 0.0008, 0.08):
            t2 = self.fit_quarter(S.clock + 300, 3000)
            self.assistant_lines(
                S, t0=t2, variant=variant, tokens=(inp, 300, cr, 0, 0),
                sidechain=False, agent_id=None, kinds=["text"], outs=[77],
                msg_id=self.rid("msg_01", 22),
                req_id=None if S.legacy else self.rid("req_011C", 20),
                truncate_at=0)
            S.clock = t2 + 10
        return has_tool

    # -- subagents ----------------------------------------------------------
    def subagent(self, S: Session, inline: bool):
        rng = self.rng
        aid = "".join(rng.choices("0123456789abcdef", k=rng.choice([7, 8])))
        if inline:
            T = S
            saved = (S.variant, S.context, S.parent_uuid)
            self.got["sidechain_inline"] += 1
        else:
            T = Session(S.sid, S.cwd, S.version, S.legacy, S.style, S.branch,
                        None, S.cache_mode, False)
            T.entrypoint = S.entrypoint
            T.agent_id = aid
            T.clock = S.clock
            self.got["subagent_file"] += 1
        T.variant = (rng.choice(SUBAGENT_VARIANTS) if rng.random() < 0.75
                     else S.variant)
        T.context = 0
        T.parent_uuid = None
        T.clock += rng.randint(300, 3000)
        self.user_prompt(T, T.clock, sidechain=True, agent_id=aid)
        n = rng.randint(2, 7)
        new_ctx = 0
        for i in range(n):
            last = i == n - 1
            self.response(T, new_ctx=new_ctx, sidechain=True, agent_id=aid,
                          first=(i == 0),
                          force_kinds=["text"] if last else None,
                          final_stop="end_turn" if last else None)
            if not last:
                T.clock += rng.randint(100, 20000)
                new_ctx = self.tool_result(T, T.clock, sidechain=True,
                                           agent_id=aid, scale=0.5)
        end = T.clock
        if inline:
            S.variant, S.context, S.parent_uuid = saved
        else:
            d = (self.out / "projects" / encode_cwd(S.cwd) / S.sid
                 / "subagents")
            d.mkdir(parents=True, exist_ok=True)
            meta = dumps({"agentType": rng.choice(AGENT_TYPES)})
            (d / f"agent-{aid}.meta.json").write_bytes(meta + b"\n")
            self.written += len(meta) + 1
            self.finalize(T, d / f"agent-{aid}.jsonl", allow_bom=False)
        S.clock = end

    # -- sessions -----------------------------------------------------------
    def pick_project(self) -> tuple[str, list[str]]:
        lacking = [p for p in PROJECTS if self.need("project:" + p[0])]
        if self.need("branch_head") and self.rng.random() < 0.5:
            lacking = [p for p in PROJECTS if "HEAD" in p[1]]
        elif self.need("branch_empty") and self.rng.random() < 0.5:
            lacking = [p for p in PROJECTS if "" in p[1]]
        if lacking and self.rng.random() < 0.7:
            return self.rng.choice(lacking)
        return self.rng.choices(PROJECTS, weights=PROJECT_WEIGHTS)[0]

    def pick_variant(self) -> str:
        lacking = [v for v in self.variants if self.need("model:" + v)]
        if lacking and self.rng.random() < 0.5:
            return self.rng.choice(lacking)
        return self.rng.choices(self.variants, weights=self.vweights)[0]

    def new_session(self):
        rng = self.rng
        cwd, branches = self.pick_project()
        self.got["project:" + cwd] += 1
        legacy = self.want("legacy", 0.006, 0.0) or (
            (self.need("legacy_no_request_id") or self.need("branch_absent"))
            and rng.random() < 0.5)
        if legacy:
            version = rng.choice(LEGACY_VERSIONS)
        else:
            version = rng.choices([v for v, _ in VERSIONS],
                                  weights=[w for _, w in VERSIONS])[0]
        branch = None if legacy else rng.choice(branches)
        if not legacy and "HEAD" in branches and self.need("branch_head"):
            branch = "HEAD"
        variant = self.pick_variant()
        fam = FAMILY_OF[variant]
        if legacy or version == "1.0.98":
            cache_mode = "nosplit"
        else:
            cache_mode = rng.choices(["split5m", "1h", "mixed", "nosplit"],
                                     weights=[6, 2, 1, 1])[0]
            for mode, trap in (("mixed", "cache_mixed"), ("1h", "cache_1h"),
                               ("nosplit", "cache_nosplit")):
                if self.need(trap) and rng.random() < 0.6:
                    cache_mode = mode
                    break
        one_m = fam in LONG_CONTEXT_FAMILIES and rng.random() < 0.22
        S = Session(self.uid(), cwd, version, legacy, rng.randrange(3),
                    branch, variant, cache_mode, one_m)
        if S.style == 1:
            S.entrypoint = rng.choice(["cli", "claude-vscode"])
        n_turns = self.lognorm(self.session_median, 0.8, 2, self.max_turns)
        # Start time: near a boundary that still lacks a crossing, else any.
        start = None
        if self.anchor_queue and rng.random() < 0.7:
            name, at = self.anchor_queue.pop(0)
            start = at + rng.randint(10, 18) * 60_000
            self.got[name] += 1
            n_turns = max(n_turns, 12)
        elif any(self.need(k) for k in ("cross_midnight_utc",
                                        "cross_midnight_la",
                                        "cross_midnight_kolkata")):
            # Midnight in UTC, in LA (PST) or in Kolkata, a few minutes on.
            day = rng.randrange(SPAN_DAYS - 2) + 1
            boundary = rng.choice([0, 8 * 60, 18 * 60 + 30]) * 60_000
            start = (START_MS - 3 * 3_600_000 + day * 86_400_000 + boundary
                     - rng.randint(1, 5) * 60_000)
            n_turns = max(n_turns, 12)
        if start is None:
            start = START_MS + rng.randrange(SPAN_DAYS * 86_400_000
                                             - 14 * 3_600_000)
        S.clock = start
        first_line_bom_assistant = (self.need("bom_assistant_first")
                                    and rng.random() < 0.5)
        self.run_session(S, n_turns, bom_first=first_line_bom_assistant)
        path = self.out / "projects" / encode_cwd(cwd) / f"{S.sid}.jsonl"
        bom = first_line_bom_assistant or self.want("bom", 0.01, 0.3)
        self.finalize(S, path, allow_bom=True, force_bom=bom)
        self.sessions_made += 1
        # Resume it, perhaps several times (chains).
        src = S
        depth = 0
        while (self.want("resume", 0.1, 0.5) or self.need("resume_chain")
               if depth == 0 else self.want("resume_chain", 0.3, 0.7)):
            nxt = self.resume(src, depth)
            if nxt is None:
                break
            src = nxt
            depth += 1

    def run_session(self, S: Session, n_turns: int, bom_first=False):
        rng = self.rng
        if bom_first:
            # A session that begins with an assistant line (and a BOM).
            self.response(S, new_ctx=0, first=True, force_kinds=["text"])
            S.clock += rng.randint(2000, 60000)
        self.user_prompt(S, S.clock)
        if rng.random() < 0.5:
            self.misc_line(S, S.clock)
        new_ctx = 0
        for turn in range(n_turns):
            first = turn == 0 and not bom_first
            p_change = 0.2 if self.need("branch_change") else 0.02
            if rng.random() < p_change and self.branch_can_change(S):
                self.change_branch(S)
            has_tool = self.response(S, new_ctx=new_ctx, first=first)
            if first and S.one_m:
                # 1M-context sessions are opened on large code bases.
                S.context += self.lognorm(170_000, 0.5, 40_000, 600_000)
            if rng.random() < 0.02:
                S.variant = self.pick_variant()
            if has_tool and (rng.random() < 0.035 or (
                    (self.need("sidechain_inline")
                     or self.need("subagent_file")) and rng.random() < 0.4)):
                inline = S.version < "2" or rng.random() < 0.15 or (
                    self.need("sidechain_inline")
                    and not self.need("subagent_file"))
                self.subagent(S, inline)
            if turn == n_turns - 1:
                break
            # The gap until the next user line.
            if rng.random() < 0.05:
                S.clock += rng.randint(10 * 60_000, 5 * 3_600_000)
            else:
                S.clock += rng.randint(100, 30_000)
            if self.want("bad", 0.001, 0.0) or (
                    self.deficit_bad() and rng.random() < 0.3):
                self.bad_line(S)
            if rng.random() < 0.05:
                self.misc_line(S, S.clock)
            if has_tool:
                new_ctx = self.tool_result(S, S.clock)
            else:
                self.user_prompt(S, S.clock)
                new_ctx = rng.randint(10, 400)
                if rng.random() < 0.3:
                    self.misc_line(S, S.clock)

    def deficit_bad(self) -> bool:
        return any(self.need(k) for k in (
            "bad_garbage", "bad_non_object", "bad_odd_object",
            "bad_invalid_utf8", "bad_empty"))

    def branch_can_change(self, S: Session) -> bool:
        return S.branch is not None and S.branch != ""

    def change_branch(self, S: Session):
        branches = dict(PROJECTS)[S.cwd]
        choices = [b for b in branches + ["feat/tmp-" + str(
            self.rng.randint(1, 9))] if b != S.branch and b]
        S.branch = self.rng.choice(choices)
        self.got["branch_change"] += 1

    def resume(self, A: Session, depth: int) -> Session | None:
        """A new session file starting with copies of A's lines."""
        rng = self.rng
        first_ts = A.lines[0].ts
        cands = [i for i, ln in enumerate(A.lines)
                 if ln.copyable and ln.ts is not None and ln.ts > first_ts]
        if not cands:
            return None
        i0 = rng.choice(cands[: max(1, len(cands) // 2)])
        gap = rng.randint(5 * 60_000, 2 * 86_400_000)
        if A.clock + gap + 6 * 3_600_000 > END_MS:
            gap = 5 * 60_000
            if A.clock + gap + 6 * 3_600_000 > END_MS:
                return None
        B = Session(self.uid(), A.cwd, A.version, A.legacy, A.style, A.branch,
                    A.variant, A.cache_mode, A.one_m)
        B.entrypoint = A.entrypoint
        old = A.sid.encode()
        new = B.sid.encode()
        copied = 0
        for ln in A.lines[i0:]:
            if not ln.copyable:
                continue
            if copied > self.copy_max:
                break
            data = ln.data.replace(old, new)
            copied += len(data)
            B.lines.append(Line(data, ln.meta, ln.ts, True))
            self.written += len(data) + 1
        B.clock = A.clock + gap
        B.context = A.context
        B.parent_uuid = A.parent_uuid
        self.got["resume" if depth == 0 else "resume_chain"] += 1
        if self.want("resume_no_new", 0.05, 0.5):
            self.got["resume_no_new"] += 1
        else:
            self.user_prompt(B, B.clock)
            self.run_session(B, self.lognorm(self.session_median * 0.6, 0.8,
                                             1, self.max_turns))
        path = self.out / "projects" / encode_cwd(B.cwd) / f"{B.sid}.jsonl"
        self.finalize(B, path, allow_bom=True,
                      force_bom=self.want("bom", 0.01, 0.2))
        return B

    # -- files ----------------------------------------------------------------
    def finalize(self, S: Session, path: Path, allow_bom: bool,
                 force_bom: bool = False):
        """Add end-of-file traps, write the file, feed the truth."""
        rng = self.rng
        lines = list(S.lines)
        tail = None  # bytes of an incomplete last line (no newline)
        r = rng.random()
        if (self.need("incomplete_split_final") and r < 0.4) or r < 0.01:
            # Final line of a two-line response, not yet newline-terminated:
            # the response counts with its placeholder output.
            made = self.tail_response(S, ["text", "tool_use"], [1, 333])
            lines.append(made[0])
            tail = made[1].data
            self.got["incomplete_split_final"] += 1
        elif (self.need("incomplete_partial") and r < 0.6) or r < 0.02:
            data = self.tail_response(S, ["tool_use"], [512])[0].data
            tail = data[: rng.randint(len(data) // 2, len(data) - 2)]
            self.got["incomplete_partial"] += 1
        elif (self.need("incomplete_complete_json") and r < 0.8) or r < 0.03:
            tail = self.tail_response(S, ["text"], [640])[0].data
            self.got["incomplete_complete_json"] += 1
        bom = allow_bom and force_bom
        if bom:
            self.got["bom"] += 1
            if lines[0].meta is not None:
                self.got["bom_assistant_first"] += 1
        assert lines[0].ts is not None, "every file starts with a timestamp"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.name == "-home-dev-my-site" and path.suffix:
            self.got["lossy_folder"] += 1
        with open(path, "wb", buffering=1 << 20) as f:
            if bom:
                f.write(b"\xef\xbb\xbf")
                self.written += 3
            f.write(b"\n".join(ln.data for ln in lines))
            f.write(b"\n")
            if tail is not None:
                f.write(tail)
        self.files += 1
        self.lines_out += len(lines) + (tail is not None)
        for ln in lines:
            if ln.meta is not None:
                self.feed(ln.meta)
        ts = [ln.ts for ln in lines if ln.ts is not None]
        if path.parent.name != "subagents":
            self.count_crossings(ts[0], ts[-1])

    def tail_response(self, S: Session, kinds: list[str],
                      outs: list[int]) -> list[Line]:
        """A response written at the end of a file, not yet in S.lines."""
        saved = S.lines
        S.lines = []
        t0 = self.fit_quarter(S.clock + 2000, 8000)
        self.assistant_lines(
            S, t0=t0, variant=S.variant or SUBAGENT_VARIANTS[0],
            tokens=(3, 500, S.context, 0, 0),
            sidechain=S.agent_id is not None, agent_id=S.agent_id,
            kinds=kinds, outs=outs, msg_id=self.rid("msg_01", 22),
            req_id=None if S.legacy else self.rid("req_011C", 20))
        made, S.lines = S.lines, saved
        return made

    def count_crossings(self, a: int, b: int):
        """Count session files spanning midnight (LA taken as UTC-8)."""
        for name, off in (("cross_midnight_utc", 0),
                          ("cross_midnight_la", -8 * 3_600_000),
                          ("cross_midnight_kolkata", 19_800_000)):
            if (a + off) // 86_400_000 != (b + off) // 86_400_000:
                self.got[name] += 1

    def feed(self, meta):
        (key, sid, ts, cwd, branch, model, family, inp, out, cw, cr, cw1h,
         ws) = meta
        if key is None:
            self.nokey += 1
            key = ("n", self.nokey)
        rec = self.truth.get(key)
        if rec is None:
            self.truth[key] = [ts, sid, cwd, branch, model, family, inp, out,
                               cw, cr, cw1h, ws]
            return
        assert rec[1] == sid and rec[2] == cwd and rec[3] == branch, key
        assert rec[4] == model and rec[6] == inp and rec[8] == cw, key
        assert abs(rec[0] - ts) < QUARTER_MS, key
        if out > rec[7]:
            rec[7] = out
            rec[0] = ts

    # -- main -------------------------------------------------------------------
    def run(self):
        t_start = time.time()
        (self.out / "projects").mkdir(parents=True, exist_ok=True)
        cap = 50 + 4 * self.planned_turns
        while self.sessions_made < cap:
            if self.turns >= self.plan and not self.deficits():
                if self.written >= 0.97 * self.target:
                    break
                per_turn = self.written / max(1, self.turns)
                self.budget = self.target
                self.plan = self.turns + max(
                    3, (self.target - self.written) / per_turn)
            self.new_session()
        missing = self.deficits()
        if missing:
            print("warning: traps below their minimum: " + ", ".join(missing),
                  file=sys.stderr)
        self.write_truth(time.time() - t_start)
        return missing

    def write_truth(self, seconds: float):
        recs = sorted(self.truth.values(), key=lambda r: (r[0], r[1]))
        sessions: dict[str, int] = {}
        cwds: dict[str, int] = {}
        branches: dict[str, int] = {}
        models: dict[str, int] = {}

        def idx(table, v):
            i = table.get(v)
            if i is None:
                i = table[v] = len(table)
            return i

        rows = []
        tot = Counter()
        tot_units = 0
        unpriced = Counter()
        for ts, sid, cwd, branch, model, family, inp, out, cw, cr, cw1h, ws \
                in recs:
            units = cost_units(family, inp, out, cw, cr, cw1h, ws)
            lc = int(family in LONG_CONTEXT_FAMILIES
                     and inp + cw + cr > LONG_CONTEXT_THRESHOLD)
            rows.append([iso(ts), idx(sessions, sid), idx(cwds, cwd),
                         idx(branches, branch), idx(models, model), inp, out,
                         cw, cr, cw1h, ws, lc,
                         None if units is None else units_to_str(units)])
            tot["input_tokens"] += inp
            tot["output_tokens"] += out
            tot["cache_write_tokens"] += cw
            tot["cache_read_tokens"] += cr
            tot["web_search_requests"] += ws
            if units is None:
                unpriced[model] += inp + out + cw + cr
            else:
                tot_units += units
        totals = {
            "requests": len(rows),
            "input_tokens": tot["input_tokens"],
            "output_tokens": tot["output_tokens"],
            "cache_write_tokens": tot["cache_write_tokens"],
            "cache_read_tokens": tot["cache_read_tokens"],
            "total_tokens": (tot["input_tokens"] + tot["output_tokens"]
                             + tot["cache_write_tokens"]
                             + tot["cache_read_tokens"]),
            "web_search_requests": tot["web_search_requests"],
            "cost_usd": units_to_str(tot_units),
            "unpriced": [{"model": m, "tokens": n}
                         for m, n in sorted(unpriced.items())],
        }
        head = {
            "schema": "ccspend-bench-truth/1",
            "generator": {"seed": self.seed, "size_mb": self.size_mb,
                          "bytes": self.written, "files": self.files,
                          "lines": self.lines_out,
                          "sessions": self.sessions_made,
                          "seconds": round(seconds, 2)},
            "note": ("cost_usd is exact (decimal string), null for an "
                     "unpriced model; timestamp is UTC"),
            "fields": ["timestamp", "session", "cwd", "branch", "model",
                       "input_tokens", "output_tokens", "cache_write_tokens",
                       "cache_read_tokens", "cache_write_1h_tokens",
                       "web_search_requests", "long_context", "cost_usd"],
            "sessions": list(sessions),
            "cwds": list(cwds),
            "branches": list(branches),
            "models": list(models),
            "unpriced_models": sorted(unpriced),
            "totals": totals,
            "traps": dict(sorted(self.got.items())),
        }
        tmp = self.out / "truth.json.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            text = json.dumps(head, ensure_ascii=False, indent=1)
            f.write(text[:-2] + ',\n "requests": [\n')
            f.write(",\n".join(json.dumps(r, ensure_ascii=False,
                                          separators=(",", ":"))
                               for r in rows))
            f.write("\n ]\n}\n")
        tmp.replace(self.out / "truth.json")


def generate(out: Path | str, size_mb: float, seed: int = 1,
             force: bool = False) -> dict:
    """Write a corpus to out; return the truth's head (without requests)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise SystemExit(f"{out} exists and is not empty (use --force)")
        shutil.rmtree(out / "projects", ignore_errors=True)
        (out / "truth.json").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    gen = Generator(out, size_mb, seed)
    gen.run()
    with open(out / "truth.json", encoding="utf-8") as f:
        truth = json.load(f)
    truth.pop("requests")
    return truth


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="config dir to create")
    ap.add_argument("--size-mb", type=float, required=True,
                    help="approximate total size of the logs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true",
                    help="replace projects/ and truth.json if present")
    args = ap.parse_args(argv)
    t0 = time.time()
    head = generate(args.out, args.size_mb, args.seed, args.force)
    g = head["generator"]
    tot = head["totals"]
    print(f"wrote {g['bytes'] / 1048576:.1f} MiB in {g['files']} files "
          f"({g['sessions']} sessions, {tot['requests']} counted requests, "
          f"${tot['cost_usd']}) in {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
