#!/usr/bin/env python3
"""A slow, obviously-correct reference reader that speaks ccspend's report JSON.

Why this exists: gen_corpus.py computes its truth while it writes the logs,
so a bug there would put the same mistake in the corpus and in the answer.
This file re-derives every report from the files alone, applying the rules of
shared/reference/claude-code-logs.md and prices.md with its own code (its own
model-name normaliser and price table, Decimal arithmetic, full json.loads of
every line), so that

    python bench/check_exact.py CORPUS --ccspend "python bench/ref_report.py"

checks the generator's truth against the files, and the checker and the speed
benchmark can be exercised before ccspend exists. It is not fast and does not
try to be: it reads everything on every call and ignores --db.

    ref_report.py REPORT --json [--timezone TZ] [--db IGNORED]

REPORT is daily, weekly, monthly, session, model, project or branch; the
logs are read from $CLAUDE_CONFIG_DIR/projects (comma-separated dirs allowed),
else ~/.config/claude/projects and ~/.claude/projects.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

REPORTS = ("daily", "weekly", "monthly", "session", "model", "project",
           "branch")

# USD per million tokens: input, output, 5m cache write, 1h cache write,
# cache read (shared/reference/prices.md, Anthropic table).
_D = Decimal
_T_OPUS = (_D("5"), _D("25"), _D("6.25"), _D("10"), _D("0.50"))
_T_OPUS_OLD = (_D("15"), _D("75"), _D("18.75"), _D("30"), _D("1.50"))
_T_SONNET = (_D("3"), _D("15"), _D("3.75"), _D("6"), _D("0.30"))
RATES = {
    "claude-opus-4-7": _T_OPUS, "claude-opus-4-6": _T_OPUS,
    "claude-opus-4-5": _T_OPUS,
    "claude-opus-4-1": _T_OPUS_OLD, "claude-opus-4": _T_OPUS_OLD,
    "claude-sonnet-4-6": _T_SONNET, "claude-sonnet-4-5": _T_SONNET,
    "claude-sonnet-4": _T_SONNET, "claude-3-7-sonnet": _T_SONNET,
    "claude-haiku-4-5": (_D("1"), _D("5"), _D("1.25"), _D("2"), _D("0.10")),
    "claude-3-5-haiku": (_D("0.80"), _D("4"), _D("1.00"), _D("1.60"),
                         _D("0.08")),
    "claude-3-haiku": (_D("0.25"), _D("1.25"), _D("0.30"), _D("0.50"),
                       _D("0.03")),
}
LONG = {"claude-sonnet-4-5", "claude-sonnet-4"}
LONG_RATES = (_D("6"), _D("22.50"), _D("7.50"), _D("12"), _D("0.60"))
MILLION = _D(1_000_000)
SEARCH = _D("0.01")

_PREFIX = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic[./]")
_SUFFIX = re.compile(r"(?:@\d{8}|-v\d+(?::\d+)?)$")
_DATE = re.compile(r"-\d{8}$")


def normalise(model: str) -> str:
    """Map a raw model id to the price table's name, if it has one."""
    m = _PREFIX.sub("", model)
    m = _SUFFIX.sub("", m)
    m = _SUFFIX.sub("", m)
    m = _DATE.sub("", m)
    return m if m in RATES else model


def price(model: str, inp, out, cw5, cw1h, cr, searches) -> Decimal | None:
    rates = RATES.get(model)
    if rates is None:
        return None
    if model in LONG and inp + cw5 + cw1h + cr > 200_000:
        rates = LONG_RATES
    toks = (inp, out, cw5, cw1h, cr)
    return (sum(_D(n) * r for n, r in zip(toks, rates, strict=True)) / MILLION
            + searches * SEARCH)


def config_dirs() -> list[Path]:
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return [Path(p) for p in env.split(",") if p.strip()]
    home = Path.home()
    return [home / ".config" / "claude", home / ".claude"]


def read_all(warnings: list[str]):
    """Every counted request: dict key -> chosen occurrence."""
    files = []
    for d in config_dirs():
        root = d / "projects"
        if root.is_dir():
            files.extend(sorted(root.rglob("*.jsonl")))
    occ: dict = {}
    bad = 0
    nokey = 0
    for path in files:
        raw = path.read_bytes()
        parts = raw.split(b"\n")
        parts.pop()  # the piece after the last newline is never complete
        if parts and parts[0].startswith(b"\xef\xbb\xbf"):
            parts[0] = parts[0][3:]
        objs = []
        for p in parts:
            try:
                o = json.loads(p.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                bad += 1
                continue
            if not isinstance(o, dict):
                bad += 1
                continue
            objs.append(o)
        first_ts = next((o["timestamp"] for o in objs
                         if isinstance(o.get("timestamp"), str)), None)
        if first_ts is None:
            continue
        first = parse_ts(first_ts)
        for o in objs:
            if o.get("type") != "assistant":
                continue
            msg = o.get("message")
            if not isinstance(msg, dict):
                continue
            u = msg.get("usage")
            if not isinstance(u, dict):
                continue
            if o.get("isApiErrorMessage") or msg.get("model") == "<synthetic>":
                continue
            mid = msg.get("id")
            if mid is None:
                nokey += 1
                key = ("none", nokey)
            elif o.get("requestId") is None:
                key = ("m", mid)
            else:
                key = ("mr", mid, o["requestId"])
            cw = int(u.get("cache_creation_input_tokens") or 0)
            split = u.get("cache_creation")
            cw1h = int(split.get("ephemeral_1h_input_tokens") or 0) \
                if isinstance(split, dict) else 0
            stu = u.get("server_tool_use")
            ws = int(stu.get("web_search_requests") or 0) \
                if isinstance(stu, dict) else 0
            rec = {
                "first": first, "path": str(path),
                "ts": parse_ts(o["timestamp"]),
                "session": o.get("sessionId"), "cwd": o.get("cwd"),
                "branch": o.get("gitBranch") or "(none)",
                "model": normalise(msg.get("model") or ""),
                "in": int(u.get("input_tokens") or 0),
                "out": int(u.get("output_tokens") or 0),
                "cw": cw, "cw1h": cw1h,
                "cr": int(u.get("cache_read_input_tokens") or 0),
                "ws": ws,
            }
            occ.setdefault(key, []).append(rec)
    if bad:
        warnings.append(f"{bad} unreadable lines skipped")
    chosen = []
    for recs in occ.values():
        top = max(r["out"] for r in recs)
        first = min((r["first"], r["path"]) for r in recs)
        mine = [r for r in recs if (r["first"], r["path"]) == first]
        best = max(mine, key=lambda r: r["out"])
        chosen.append(dict(best, out=top))
    return chosen


def parse_ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def key_of(report: str, r: dict, tz: ZoneInfo) -> str:
    if report in ("daily", "weekly", "monthly"):
        day = r["ts"].astimezone(tz).date()
        if report == "daily":
            return day.isoformat()
        if report == "weekly":
            return (day - dt.timedelta(days=day.weekday())).isoformat()
        return day.strftime("%Y-%m")
    return {"session": r["session"], "model": r["model"],
            "project": r["cwd"], "branch": r["branch"]}[report]


FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens",
          "cache_read_tokens", "total_tokens")


def report(name: str, tz_name: str) -> dict:
    tz = ZoneInfo(tz_name)
    warnings: list[str] = []
    rows: dict = {}
    unpriced: dict = {}
    for r in read_all(warnings):
        k = key_of(name, r, tz)
        row = rows.setdefault(k, {"n": [0, 0, 0, 0], "cost": _D(0),
                                  "models": set()})
        n = (r["in"], r["out"], r["cw"], r["cr"])
        row["n"] = [a + b for a, b in zip(row["n"], n, strict=True)]
        row["models"].add(r["model"])
        c = price(r["model"], r["in"], r["out"], r["cw"] - r["cw1h"],
                  r["cw1h"], r["cr"], r["ws"])
        if c is None:
            unpriced[r["model"]] = unpriced.get(r["model"], 0) + sum(n)
        else:
            row["cost"] += c
    out_rows = []
    tot = [0, 0, 0, 0]
    tot_cost = _D(0)
    for k in sorted(rows):
        row = rows[k]
        vals = row["n"] + [sum(row["n"])]
        out_rows.append({"key": k, **dict(zip(FIELDS, vals, strict=True)),
                         "cost_usd": float(row["cost"]),
                         "models": sorted(row["models"])})
        tot = [a + b for a, b in zip(tot, row["n"], strict=True)]
        tot_cost += row["cost"]
    return {"report": name, "timezone": tz_name, "since": None,
            "until": None, "rows": out_rows,
            "totals": {**dict(zip(FIELDS, tot + [sum(tot)], strict=True)),
                       "cost_usd": float(tot_cost)},
            "unpriced": [{"model": m, "tokens": n}
                         for m, n in sorted(unpriced.items())],
            "warnings": warnings}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", choices=REPORTS)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--timezone", default="UTC")
    ap.add_argument("--db", help="ignored")
    args = ap.parse_args(argv)
    data = report(args.report, args.timezone)
    if args.json:
        json.dump(data, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for r in data["rows"]:
            print(f"{r['key']:<40} {r['total_tokens']:>14,} "
                  f"${r['cost_usd']:>12,.2f}")
        print(f"{'total':<40} {data['totals']['total_tokens']:>14,} "
              f"${data['totals']['cost_usd']:>12,.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
