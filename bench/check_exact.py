#!/usr/bin/env python3
"""Check every ccspend report against a generated corpus's truth, exactly.

Why this exists: "ccspend's numbers are right" has to be a test that fails,
not a claim. gen_corpus.py writes truth.json (one row per counted request,
exact costs); this script aggregates it for each report in each time zone and
compares with what ccspend prints:

    python bench/check_exact.py CORPUS [--timezone TZ ...] [--ccspend CMD]

For each report R (daily weekly monthly session model project branch source) and
each time zone it runs

    CMD R --json --timezone TZ --db <tmp>/db.duckdb

with CLAUDE_CONFIG_DIR=CORPUS, HOME=<tmp>, CCSPEND_CONFIG_DIR=<tmp>/cfg,
XDG_* dirs inside <tmp>, and TZ set to a zone that is none of those checked
(so a report that ignores --timezone is caught). One database serves all
calls: the first ingests, the others read. The comparison: same set of row
keys; per row and in the totals every token field equal and cost_usd within
1e-6 USD; the set of models per row; the unpriced list. Exit 1 on any
mismatch, showing the first few.

    python bench/check_exact.py CORPUS --self-test

checks the checker: it aggregates the truth a second, independent way
(epoch arithmetic and Fractions instead of datetime.astimezone and Decimal),
renders that as ccspend JSON, requires a clean comparison, then perturbs it
(a cost by 2e-6, a token by one, a key dropped or added, the wrong time zone,
the unpriced list, the totals) and requires each perturbation to fail.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

REPORTS = ("daily", "weekly", "monthly", "session", "model", "project",
           "branch", "source")
DEFAULT_TZS = ("UTC", "America/Los_Angeles", "Asia/Kolkata")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens",
                "cache_read_tokens", "total_tokens")
COST_TOLERANCE = 1e-6
# A zone far from the checked ones, given to the child as its TZ.
DECOY_TZ = "Pacific/Kiritimati"


# --------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------
class Truth:
    """truth.json, with the requests decoded into plain tuples."""

    def __init__(self, path: Path):
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        if raw.get("schema") != "ccspend-bench-truth/1":
            raise SystemExit(f"{path}: not a ccspend bench truth file")
        self.head = {k: v for k, v in raw.items() if k != "requests"}
        f = {name: i for i, name in enumerate(raw["fields"])}
        sessions, cwds = raw["sessions"], raw["cwds"]
        branches, models = raw["branches"], raw["models"]
        self.requests = []
        for r in raw["requests"]:
            cost = r[f["cost_usd"]]
            self.requests.append((
                r[f["timestamp"]],
                sessions[r[f["session"]]],
                cwds[r[f["cwd"]]],
                branches[r[f["branch"]]],
                models[r[f["model"]]],
                r[f["input_tokens"]],
                r[f["output_tokens"]],
                r[f["cache_write_tokens"]],
                r[f["cache_read_tokens"]],
                None if cost is None else cost,
            ))


def _utc(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def expected(truth: Truth, report: str, tz_name: str) -> dict:
    """The truth aggregated for one report in one zone (exact costs)."""
    tz = ZoneInfo(tz_name)
    rows: dict = {}
    unpriced: dict = defaultdict(int)
    for ts, sid, cwd, branch, model, i, o, cw, cr, cost in truth.requests:
        if report in ("daily", "weekly", "monthly"):
            day = _utc(ts).astimezone(tz).date()
            if report == "daily":
                key = day.isoformat()
            elif report == "weekly":
                key = (day - dt.timedelta(days=day.weekday())).isoformat()
            else:
                key = f"{day.year:04d}-{day.month:02d}"
        elif report == "session":
            key = sid
        elif report == "model":
            key = model
        elif report == "project":
            key = cwd
        elif report == "source":
            key = "local"  # the corpus is Claude Code logs only
        else:
            key = branch
        row = rows.get(key)
        if row is None:
            row = rows[key] = {"input_tokens": 0, "output_tokens": 0,
                               "cache_write_tokens": 0,
                               "cache_read_tokens": 0, "cost": Decimal(0),
                               "models": set()}
        row["input_tokens"] += i
        row["output_tokens"] += o
        row["cache_write_tokens"] += cw
        row["cache_read_tokens"] += cr
        row["models"].add(model)
        if cost is None:
            unpriced[model] += i + o + cw + cr
        else:
            row["cost"] += Decimal(cost)
    for row in rows.values():
        row["total_tokens"] = (row["input_tokens"] + row["output_tokens"]
                               + row["cache_write_tokens"]
                               + row["cache_read_tokens"])
    totals = {f: sum(r[f] for r in rows.values()) for f in TOKEN_FIELDS}
    totals["cost"] = sum((r["cost"] for r in rows.values()), Decimal(0))
    return {"rows": rows, "totals": totals, "unpriced": dict(unpriced)}


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------
def _num(v):
    return v if isinstance(v, int | float) and not isinstance(v, bool) \
        else None


def compare(exp: dict, got: dict, report: str, tz: str,
            check_models: bool = True) -> list[str]:
    """Every difference between an expectation and ccspend's JSON."""
    bad: list[str] = []
    if not isinstance(got, dict) or not isinstance(got.get("rows"), list):
        return ["output is not an object with a 'rows' list"]
    if got.get("report") not in (None, report):
        bad.append(f"'report' is {got.get('report')!r}, expected {report!r}")
    if got.get("timezone") not in (None, tz):
        bad.append(f"'timezone' is {got.get('timezone')!r}, expected {tz!r}")
    got_rows: dict = {}
    for r in got["rows"]:
        k = r.get("key") if isinstance(r, dict) else None
        if k in got_rows:
            bad.append(f"key {k!r}: appears twice")
        got_rows[k] = r
    exp_rows = exp["rows"]
    missing = sorted(set(exp_rows) - set(got_rows), key=str)
    extra = sorted(set(got_rows) - set(exp_rows), key=str)
    for k in missing:
        bad.append(f"key {k!r}: missing (expected "
                   f"{exp_rows[k]['total_tokens']} tokens, "
                   f"${float(exp_rows[k]['cost']):.6f})")
    for k in extra:
        r = got_rows[k]
        bad.append(f"key {k!r}: unexpected row ({r.get('total_tokens')} "
                   f"tokens, ${r.get('cost_usd')})")
    for k in sorted(set(exp_rows) & set(got_rows), key=str):
        bad.extend(_compare_fields(f"key {k!r}", exp_rows[k], got_rows[k]))
        if check_models:
            gm = got_rows[k].get("models")
            if not isinstance(gm, list) or set(gm) != exp_rows[k]["models"]:
                bad.append(f"key {k!r}: models {gm!r}, expected "
                           f"{sorted(exp_rows[k]['models'])!r}")
    tot = got.get("totals")
    if not isinstance(tot, dict):
        bad.append("'totals' missing")
    else:
        bad.extend(_compare_fields("totals", exp["totals"], tot))
    gu = got.get("unpriced")
    if not isinstance(gu, list):
        bad.append("'unpriced' missing")
    else:
        try:
            gmap = {}
            for u in gu:
                gmap[u["model"]] = gmap.get(u["model"], 0) + u["tokens"]
        except (TypeError, KeyError):
            gmap = None
            bad.append(f"'unpriced' malformed: {gu!r}")
        if gmap is not None and gmap != exp["unpriced"]:
            bad.append(f"unpriced {gmap!r}, expected {exp['unpriced']!r}")
    return bad


def _compare_fields(where: str, exp: dict, got: dict) -> list[str]:
    bad = []
    for f in TOKEN_FIELDS:
        g = got.get(f)
        if _num(g) is None or g != exp[f]:
            bad.append(f"{where}: {f} {g!r}, expected {exp[f]}")
    g = got.get("cost_usd")
    want = exp["cost"]
    if _num(g) is None:
        bad.append(f"{where}: cost_usd {g!r}, expected {float(want):.8f}")
    elif abs(Decimal(repr(float(g))) - want) > Decimal(str(COST_TOLERANCE)):
        bad.append(f"{where}: cost_usd {g!r}, expected {want} "
                   f"(off by {float(Decimal(repr(float(g))) - want):+.3g})")
    return bad


# --------------------------------------------------------------------------
# Running ccspend
# --------------------------------------------------------------------------
def child_env(corpus: Path, tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLAUDE_", "CCSPEND_", "XDG_"))}
    env.update({
        "CLAUDE_CONFIG_DIR": str(corpus),
        "HOME": str(tmp),
        "CCSPEND_CONFIG_DIR": str(tmp / "cfg"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
        "XDG_STATE_HOME": str(tmp / "xdg-state"),
        "TZ": DECOY_TZ,
        "NO_COLOR": "1",
    })
    return env


def run_report(cmd: list[str], report: str, tz: str, db: Path, env: dict,
               timeout: float) -> tuple[dict | None, str, float]:
    argv = cmd + [report, "--json", "--timezone", tz, "--db", str(db)]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, env=env, capture_output=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return None, f"command not found: {argv[0]}", 0.0
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout}s", timeout
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip()[-1500:]
        return None, f"exit {p.returncode}: {err}", secs
    try:
        return json.loads(p.stdout), "", secs
    except ValueError as e:
        head = p.stdout[:300].decode("utf-8", "replace")
        return None, f"stdout is not JSON ({e}): {head!r}", secs


def check(corpus: Path, tzs, cmd: list[str], reports=REPORTS,
          check_models: bool = True, timeout: float = 1800.0,
          show: int = 8, out=sys.stdout) -> int:
    """Run every report in every zone; return the number of failures."""
    truth = Truth(corpus / "truth.json")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="ccspend-check-") as t:
        tmp = Path(t)
        (tmp / "cfg").mkdir()
        env = child_env(corpus.resolve(), tmp)
        db = tmp / "db.duckdb"
        print(f"corpus {corpus}: {len(truth.requests)} requests, "
              f"${truth.head['totals']['cost_usd']}; "
              f"ccspend = {shlex.join(cmd)}", file=out)
        for tz in tzs:
            for report in reports:
                exp = expected(truth, report, tz)
                got, err, secs = run_report(cmd, report, tz, db, env,
                                            timeout)
                label = f"{report:<8} {tz:<22}"
                if got is None:
                    failures += 1
                    print(f"{label} FAIL  {err}", file=out)
                    continue
                bad = compare(exp, got, report, tz, check_models)
                n_got = len(got.get("rows") or [])
                if bad:
                    failures += 1
                    print(f"{label} FAIL  rows {n_got}/{len(exp['rows'])}, "
                          f"{len(bad)} mismatches ({secs:.2f}s)", file=out)
                    for b in bad[:show]:
                        print(f"    {b}", file=out)
                    if len(bad) > show:
                        print(f"    ... {len(bad) - show} more", file=out)
                else:
                    print(f"{label} ok    rows {n_got}, "
                          f"${float(exp['totals']['cost']):,.6f} "
                          f"({secs:.2f}s)", file=out)
    total = len(tzs) * len(reports)
    verdict = "PASS" if failures == 0 else "FAIL"
    print(f"{verdict}: {total - failures}/{total} report runs match the truth",
          file=out)
    return failures


# --------------------------------------------------------------------------
# Self-test
# --------------------------------------------------------------------------
def _key_b(report: str, rec: tuple, tz: ZoneInfo) -> str:
    """Row key computed without astimezone: epoch seconds + utcoffset."""
    ts = rec[0]
    epoch = dt.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=dt.UTC).timestamp()
    naive = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=epoch)
    # Solve for the offset o such that local = utc + o reads back as o.
    cands = {tz.utcoffset(naive + dt.timedelta(hours=h))
             for h in (-26, -13, 0, 13, 26)}
    local = None
    for fold in (0, 1):
        for o in sorted(cands):
            if tz.utcoffset((naive + o).replace(fold=fold)) == o:
                local = naive + o
                break
        if local is not None:
            break
    assert local is not None, ts
    ordinal = local.toordinal()
    if report == "daily":
        return dt.date.fromordinal(ordinal).isoformat()
    if report == "weekly":
        return dt.date.fromordinal(ordinal - (ordinal - 1) % 7).isoformat()
    if report == "monthly":
        return local.strftime("%Y-%m")
    return {"session": rec[1], "model": rec[4], "project": rec[2],
            "branch": rec[3], "source": "local"}[report]


def render_b(truth: Truth, report: str, tz_name: str) -> dict:
    """The truth as ccspend would print it, computed the second way."""
    tz = ZoneInfo(tz_name)
    acc: dict = {}
    unpriced: dict = {}
    for rec in truth.requests:
        k = _key_b(report, rec, tz)
        a = acc.setdefault(k, [0, 0, 0, 0, Fraction(0), set()])
        toks = rec[5:9]
        for j in range(4):
            a[j] += toks[j]
        a[5].add(rec[4])
        if rec[9] is None:
            unpriced[rec[4]] = unpriced.get(rec[4], 0) + sum(toks)
        else:
            a[4] += Fraction(rec[9])
    rows = []
    for k in sorted(acc):
        a = acc[k]
        rows.append({"key": k, "input_tokens": a[0], "output_tokens": a[1],
                     "cache_write_tokens": a[2], "cache_read_tokens": a[3],
                     "total_tokens": sum(a[:4]), "cost_usd": float(a[4]),
                     "models": sorted(a[5])})
    totals = {f: sum(r[f] for r in rows) for f in TOKEN_FIELDS}
    totals["cost_usd"] = float(sum((acc[k][4] for k in acc), Fraction(0)))
    return {"report": report, "timezone": tz_name, "since": None,
            "until": None, "rows": rows, "totals": totals,
            "unpriced": [{"model": m, "tokens": n}
                         for m, n in sorted(unpriced.items())],
            "warnings": []}


def self_test(corpus: Path, tzs, out=sys.stdout) -> int:
    truth = Truth(corpus / "truth.json")
    failures = 0

    def expect(ok: bool, what: str):
        nonlocal failures
        if not ok:
            failures += 1
            print(f"SELF-TEST FAIL: {what}", file=out)

    # Cross-check the two aggregations everywhere.
    for tz in tzs:
        for report in REPORTS:
            bad = compare(expected(truth, report, tz),
                          render_b(truth, report, tz), report, tz)
            expect(not bad, f"{report} {tz}: the two aggregations differ: "
                            f"{bad[:3]}")
    # Totals agree with the generator's own.
    head_tot = truth.head["totals"]
    exp = expected(truth, "daily", "UTC")
    expect(str(exp["totals"]["cost"]) == head_tot["cost_usd"]
           or Decimal(head_tot["cost_usd"]) == exp["totals"]["cost"],
           "total cost differs from truth.json totals")
    expect(exp["totals"]["total_tokens"] == head_tot["total_tokens"],
           "total tokens differ from truth.json totals")
    expect(exp["unpriced"] == {u["model"]: u["tokens"]
                               for u in head_tot["unpriced"]},
           "unpriced differs from truth.json totals")

    # Each perturbation must be caught.
    tz = tzs[-1]
    base = render_b(truth, "daily", tz)
    exp = expected(truth, "daily", tz)
    mid = len(base["rows"]) // 2

    def perturbed(name, fn, report="daily", e=exp, b=base):
        g = copy.deepcopy(b)
        fn(g)
        bad = compare(e, g, report, tz)
        expect(bool(bad), f"perturbation not caught: {name}")
        return bad

    perturbed("cost +2e-6", lambda g: g["rows"][mid].__setitem__(
        "cost_usd", g["rows"][mid]["cost_usd"] + 2e-6))
    perturbed("cost -2e-6 in totals", lambda g: g["totals"].__setitem__(
        "cost_usd", g["totals"]["cost_usd"] - 2e-6))
    perturbed("output_tokens +1", lambda g: g["rows"][0].__setitem__(
        "output_tokens", g["rows"][0]["output_tokens"] + 1))
    perturbed("cache_read as float", lambda g: g["rows"][0].__setitem__(
        "cache_read_tokens", g["rows"][0]["cache_read_tokens"] + 0.5))
    perturbed("row dropped", lambda g: g["rows"].pop(mid))
    perturbed("row added", lambda g: g["rows"].append(
        dict(g["rows"][0], key="2027-01-01")))
    perturbed("unpriced tokens", lambda g: g["unpriced"].append(
        {"model": "claude-sonnet-4-5", "tokens": 1}))
    perturbed("unpriced dropped", lambda g: g["unpriced"].clear())
    perturbed("models list", lambda g: g["rows"][mid]["models"].append(
        "<synthetic>"))
    unknown = set(exp["unpriced"])

    def price_unknown(g):
        for r in g["rows"]:
            if unknown & set(r["models"]):
                r["cost_usd"] += 0.01
                g["totals"]["cost_usd"] += 0.01
        g["unpriced"] = []

    perturbed("unknown model priced", price_unknown)
    # Keys of another time zone must not pass.
    other = "UTC" if tz != "UTC" else "Asia/Kolkata"
    for report in ("daily", "weekly", "monthly"):
        wrong = render_b(truth, report, other)
        right = expected(truth, report, tz)
        bad = compare(right, wrong, report, tz)
        expect(bool(bad) or report != "daily",
               f"{report} computed in {other} passes as {tz}")
    # A small cost slip below the tolerance passes (float noise is fine).
    g = copy.deepcopy(base)
    g["rows"][mid]["cost_usd"] += 4e-7
    expect(not compare(exp, g, "daily", tz), "4e-7 cost noise rejected")

    checks = len(tzs) * len(REPORTS)
    print(f"self-test: {checks} report/zone cross-checks, 10 perturbations, "
          f"{'PASS' if failures == 0 else 'FAIL'}", file=out)
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="dir made by gen_corpus.py")
    ap.add_argument("--timezone", action="append", dest="tzs",
                    metavar="TZ", help="repeatable; default: "
                    + ", ".join(DEFAULT_TZS))
    ap.add_argument("--ccspend", default="ccspend", metavar="CMD",
                    help="command to run (split like a shell would)")
    ap.add_argument("--report", action="append", dest="reports",
                    choices=REPORTS, help="repeatable; default: all")
    ap.add_argument("--no-models", action="store_true",
                    help="do not compare each row's models list")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--self-test", action="store_true",
                    help="check the checker against the truth itself")
    args = ap.parse_args(argv)
    tzs = tuple(args.tzs or DEFAULT_TZS)
    for tz in tzs:
        ZoneInfo(tz)  # fail early on a bad name
    if not (args.corpus / "truth.json").is_file():
        print(f"{args.corpus}/truth.json not found", file=sys.stderr)
        return 2
    if args.self_test:
        return 1 if self_test(args.corpus, tzs) else 0
    cmd = shlex.split(args.ccspend)
    if not cmd or shutil.which(cmd[0]) is None:
        print(f"command not found: {args.ccspend!r} (pass --ccspend CMD)",
              file=sys.stderr)
        return 2
    failures = check(args.corpus, tzs, cmd,
                     tuple(args.reports or REPORTS),
                     check_models=not args.no_models, timeout=args.timeout)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
