#!/usr/bin/env python3
"""Accuracy on 2026's logs: ccspend and ccusage against the exact truth.

Why this exists: issue #14 measured that on 2026-style logs (Opus in fast mode,
``usage.speed: "fast"``; US-only inference, ``usage.inference_geo: "us"``;
compaction steps in ``usage.iterations``; claude-opus-5 and the other new
models) ccspend reported 18% less than the true cost while ccusage 20.0.24,
which knows fast mode, was off by 3.8%. This script makes that comparison a
command anyone can rerun, on one corpus, for any number of ccspend installs
(say the tree before and after the 2026 pricing) and the pinned ccusage:

    python bench/bench_accuracy_2026.py [--sessions 400] [--seed 1]
        [--ccspend [LABEL=]CMD ...] [--ccusage BIN] [--corpus DIR]
        [--top 10] [--json-out FILE]

1. Writes a corpus with ``gen_corpus_2026.generate`` (and its exact
   ``truth.json``) into a temp dir, or into --corpus DIR (reused if its
   truth.json exists). Its lines are compact JSON, as Claude Code writes them
   (``{"a":1}``): ccusage 20.0.24's native binary skips every line written with
   spaces after the separators, which would make it report $0.
2. Installs ccusage@20.0.24 and its native binary with npm, as bench_daily.py
   does (its ``install_ccusage``), unless --ccusage BIN is given.
3. Runs, each in its own sandbox (HOME, CLAUDE_CONFIG_DIR=corpus,
   CCSPEND_CONFIG_DIR, CCSPEND_DB, XDG_* in a temp dir, no PYTHON* variable,
   TZ set to a zone far from UTC so a tool ignoring --timezone shows):
   ``CMD daily --json --timezone UTC`` and ``CMD model --json --timezone UTC``
   for each --ccspend CMD (repeatable, ``LABEL=CMD`` names its column; default:
   the ``ccspend`` of the venv this script runs in, else the one on PATH);
   ``ccusage daily --json --offline --timezone UTC`` (its JSON always holds each
   day's ``modelBreakdowns``), and the same without --offline (without a
   network it falls back to its bundled prices; the script says whether the
   totals differ).
4. Prints the grand totals against the truth (error %), the per-model costs
   for the models where the tools are furthest from the truth (model names
   normalised: ccusage's ``-fast`` suffix and a ``-YYYYMMDD`` date dropped),
   and per tool the number of UTC days whose cost is off by more than 1e-6 USD.

Standard library only (and bench_daily.py / _venv.py beside it). Exit 0 when
every tool ran, 2 if one could not.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_daily  # noqa: E402
import gen_corpus_2026  # noqa: E402
from _venv import sandbox_env  # noqa: E402

DAY_TOLERANCE = Decimal("1e-6")
DECOY_TZ = "Pacific/Kiritimati"  # UTC+14: a report that ignores --timezone moves days
_DATE_SUFFIX = re.compile(r"-\d{8}$")
_LABEL = re.compile(r"([A-Za-z][\w.@-]*)=(?=\S)")


def norm_model(name: str) -> str:
    """One name per model: ccusage writes fast-mode requests as ``MODEL-fast`` and
    keeps the log's dated spelling; the truth and ccspend use the card's name."""
    name = name.strip().lower()
    if name.endswith("-fast"):
        name = name[: -len("-fast")]
    return _DATE_SUFFIX.sub("", name)


def ensure_corpus(corpus: Path, sessions: int, seed: int) -> dict:
    truth_file = corpus / "truth.json"
    if truth_file.is_file():
        print(f"corpus: reusing {corpus}")
    else:
        print(f"corpus: generating {sessions} sessions, seed {seed}, in {corpus} ...",
              flush=True)
        traps = gen_corpus_2026.generate(corpus, sessions=sessions, seed=seed)
        print(f"  traps: {traps}")
    return json.loads(truth_file.read_text(encoding="utf-8"), parse_float=Decimal)


def aggregate_truth(truth: dict) -> tuple[Decimal, dict, dict]:
    """Grand total, cost per UTC day and per model (exact decimals)."""
    fields = truth["fields"]
    i_ts, i_model, i_cost = (fields.index(k) for k in ("timestamp", "model", "cost_usd"))
    models = truth["models"]
    days: dict[str, Decimal] = defaultdict(Decimal)
    per_model: dict[str, Decimal] = defaultdict(Decimal)
    for row in truth["requests"]:
        cost = Decimal(str(row[i_cost]))
        days[row[i_ts][:10]] += cost  # timestamps are UTC ("...Z")
        per_model[norm_model(models[row[i_model]])] += cost
    return Decimal(str(truth["totals"]["cost_usd"])), dict(days), dict(per_model)


def run_json(argv: list[str], env: dict, home: Path) -> tuple[dict, float]:
    r = bench_daily.measure(argv, env, home)
    return json.loads(r["stdout"], parse_float=Decimal), r["seconds"]


def sandbox(corpus: Path, home: Path) -> dict:
    (home / "cfg").mkdir(parents=True, exist_ok=True)
    return sandbox_env(home, claude=corpus, XDG_STATE_HOME=str(home / "xdg-state"),
                       TZ=DECOY_TZ, NO_COLOR="1")


def run_ccspend(cmd: list[str], corpus: Path, home: Path) -> dict:
    env = sandbox(corpus, home)
    db = str(home / "db.duckdb")
    daily, secs = run_json(cmd + ["daily", "--json", "--timezone", "UTC", "--db", db],
                           env, home)
    model, _ = run_json(cmd + ["model", "--json", "--timezone", "UTC", "--db", db], env, home)
    per_model: dict[str, Decimal] = defaultdict(Decimal)
    for row in model["rows"]:
        per_model[norm_model(row["key"])] += Decimal(str(row["cost_usd"]))
    return {"total": Decimal(str(daily["totals"]["cost_usd"])),
            "days": {r["key"]: Decimal(str(r["cost_usd"])) for r in daily["rows"]},
            "models": dict(per_model), "seconds": secs,
            "unpriced": list(daily.get("unpriced") or []),
            "warnings": list(daily.get("warnings") or [])}


def run_ccusage(binary: Path, corpus: Path, home: Path, offline: bool) -> dict:
    env = sandbox(corpus, home)
    argv = [str(binary), "daily", "--json", "--timezone", "UTC"]
    if offline:
        argv.insert(3, "--offline")
    data, secs = run_json(argv, env, home)
    days: dict[str, Decimal] = {}
    per_model: dict[str, Decimal] = defaultdict(Decimal)
    for row in data["daily"]:
        day = row.get("period") or row.get("date")
        days[day] = Decimal(str(row["totalCost"]))
        for mb in row.get("modelBreakdowns") or []:
            per_model[norm_model(mb["modelName"])] += Decimal(str(mb["cost"]))
    return {"total": Decimal(str(data["totals"]["totalCost"])), "days": days,
            "models": dict(per_model), "seconds": secs,
            "unpriced": list(data["totals"].get("unpricedModels") or []), "warnings": []}


def pct(value: Decimal, truth: Decimal) -> str:
    if truth == 0:
        return "n/a"
    return f"{float((value - truth) / truth * 100):+.2f}%"


def days_off(days: dict, truth_days: dict) -> tuple[int, int]:
    """(days off by more than 1e-6 USD, of how many days in either)."""
    keys = set(days) | set(truth_days)
    off = sum(1 for k in keys
              if abs(days.get(k, Decimal(0)) - truth_days.get(k, Decimal(0))) > DAY_TOLERANCE)
    return off, len(keys)


def split_label(given: str) -> tuple[str | None, str]:
    """``old=/path/bin/ccspend`` -> ("old", "/path/bin/ccspend"); a bare command has no label."""
    m = _LABEL.match(given)
    return (m.group(1), given[m.end():]) if m else (None, given)


def default_ccspend() -> str:
    here = Path(sys.executable).parent / "ccspend"
    if here.is_file():
        return str(here)
    return shutil.which("ccspend") or "ccspend"


def report(truth_total: Decimal, truth_days: dict, truth_models: dict,
           results: dict[str, dict], top: int) -> None:
    names = list(results)
    width = max(14, *(len(n) for n in names)) + 2
    print()
    print(f"{'grand total':<{width}}{'USD':>16}{'error':>10}{'days off':>12}{'seconds':>9}")
    print(f"{'truth':<{width}}{float(truth_total):>16,.6f}")
    for name, r in results.items():
        off, n = days_off(r["days"], truth_days)
        print(f"{name:<{width}}{float(r['total']):>16,.6f}{pct(r['total'], truth_total):>10}"
              f"{f'{off}/{n}':>12}{r['seconds']:>9.2f}")
    print(f"('days off': UTC days whose cost differs from the truth's by more than "
          f"{DAY_TOLERANCE} USD)")

    models = set(truth_models)
    for r in results.values():
        models |= set(r["models"])

    def spread(m: str) -> Decimal:
        t = truth_models.get(m, Decimal(0))
        return max(abs(r["models"].get(m, Decimal(0)) - t) for r in results.values())

    shown = sorted(models, key=lambda m: (spread(m), truth_models.get(m, Decimal(0))),
                   reverse=True)[:top]
    print()
    print(f"per model, the {len(shown)} furthest from the truth (USD, error vs truth):")
    col = max(22, *(len(n) + 2 for n in names))
    print(f"{'model':<20}{'truth':>12}" + "".join(f"{n:>{col}}" for n in names))
    for m in shown:
        t = truth_models.get(m, Decimal(0))
        cells = []
        for r in results.values():
            v = r["models"].get(m)
            cells.append("-" if v is None else f"{float(v):,.2f} ({pct(v, t)})")
        print(f"{m:<20}{float(t):>12,.2f}" + "".join(f"{c:>{col}}" for c in cells))
    for name, r in results.items():
        if r["unpriced"]:
            print(f"{name}: unpriced models {', '.join(map(str, r['unpriced']))}")
        for w in r["warnings"]:
            print(f"{name}: warning: {w}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path,
                    help="keep the corpus here (reused if its truth.json exists)")
    ap.add_argument("--ccspend", metavar="[LABEL=]CMD", action="append",
                    help="a ccspend command to check (repeatable; default: this venv's)")
    ap.add_argument("--ccusage", type=bench_daily.ccusage_binary, metavar="BIN",
                    help="use this ccusage binary instead of installing")
    ap.add_argument("--skip-ccusage", action="store_true")
    ap.add_argument("--top", type=int, default=10, help="models shown (default 10)")
    ap.add_argument("--json-out", type=Path, help="also write the figures here as JSON")
    args = ap.parse_args(argv)

    commands = args.ccspend or [default_ccspend()]
    status = 0
    with tempfile.TemporaryDirectory(prefix="ccspend-acc-") as t:
        tmp = Path(t)
        corpus = (args.corpus or tmp / "corpus").resolve()
        truth = ensure_corpus(corpus, args.sessions, args.seed)
        truth_total, truth_days, truth_models = aggregate_truth(truth)
        print(f"truth: {len(truth['requests']):,} requests, {len(truth_days)} UTC days, "
              f"${float(truth_total):,.6f}")
        results: dict[str, dict] = {}
        for i, given in enumerate(commands):
            label, cmd = split_label(given)
            argv_c = shlex.split(cmd)
            name = label or (f"ccspend#{i + 1}" if len(commands) > 1 else "ccspend")
            print(f"{name}: {cmd}", flush=True)
            try:
                results[name] = run_ccspend(argv_c, corpus, tmp / f"home-ccspend-{i}")
            except bench_daily.RunError as e:
                print(f"error: {e}", file=sys.stderr)
                status = 2
        if not args.skip_ccusage:
            try:
                binary = args.ccusage or bench_daily.install_ccusage(tmp / "anchor")
                results["ccusage --offline"] = run_ccusage(
                    binary, corpus, tmp / "home-ccusage-offline", offline=True)
                try:
                    online = run_ccusage(binary, corpus, tmp / "home-ccusage", offline=False)
                except bench_daily.RunError as e:
                    print(f"ccusage without --offline failed (no network?): {e}")
                else:
                    same = online["total"] == results["ccusage --offline"]["total"]
                    print("ccusage without --offline: "
                          + ("same total as --offline (its bundled prices; "
                             "no network, or no change)" if same
                             else "a different total: fetched prices"))
                    if not same:
                        results["ccusage (online)"] = online
            except bench_daily.RunError as e:
                print(f"error: {e}", file=sys.stderr)
                status = 2
        report(truth_total, truth_days, truth_models, results, args.top)
        if args.json_out:
            out = {"sessions": args.sessions, "seed": args.seed,
                   "ccspend": commands, "truth": str(truth_total),
                   "tools": {n: {"total": str(r["total"]), "seconds": r["seconds"],
                                 "days_off": days_off(r["days"], truth_days)[0],
                                 "models": {m: str(v) for m, v in r["models"].items()}}
                             for n, r in results.items()}}
            args.json_out.write_text(json.dumps(out, indent=1) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
