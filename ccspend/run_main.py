"""``ccspend run``, from the command line to the ledger, without the heavy CLI.

The wrapper's start is time the agent waits, so this module parses ``run``'s
options with the standard library (``ccspend.entry`` sends ``run`` here; the
typer command of the same name exists for ``--help`` and completions and calls
``execute`` too, and a test keeps the two option lists equal). DuckDB is
imported before the agent starts only when a budget applies (to refuse a run
whose budget is spent); otherwise the ledger row is written once the agent runs.

Order of a run: parse → budgets (refuse unless --force) → pre-flight estimate
(refuse a first request that alone passes the cap) → start the agent → ledger
row → follow and enforce (``runner.run``) → finish the ledger row → budget alerts.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ccspend.errors import CcspendError, ExitCode, UsageError

# option -> (attribute, kind); kind: 'usd', 'int', 'float', 'str', 'levels', 'flag', 'path+'
OPTIONS: dict[str, tuple[str, str]] = {
    "--cap": ("cap", "usd"),
    "--cap-tokens": ("cap_tokens", "int"),
    "--task": ("task", "str"),
    "--warn": ("warn", "levels"),
    "--grace": ("grace", "float"),
    "--force": ("force", "flag"),
    "--prompt-file": ("prompt_file", "str"),
    "--max-requests-per-minute": ("max_rpm", "int"),
    "--max-usd-per-hour": ("max_usd_per_hour", "usd"),
    "--route": ("route", "str"),
    "--json": ("json", "flag"),
    "--db": ("db", "str"),
    "--claude-dir": ("claude_dirs", "path+"),
}


@dataclass
class RunOptions:
    argv: list[str] = field(default_factory=list)
    cap: float | None = None
    cap_tokens: int | None = None
    task: str | None = None
    warn: tuple[int, ...] = (50, 80)
    grace: float = 10.0
    force: bool = False
    prompt_file: str | None = None
    max_rpm: int | None = None
    max_usd_per_hour: float | None = None
    route: str | None = None  # 'auto' or a tier name
    json: bool = False
    db: str | None = None
    claude_dirs: list[Path] = field(default_factory=list)


def _value(opt: str, kind: str, raw: str):
    try:
        if kind == "usd":
            v = float(raw.lstrip("$"))
            if not v > 0:
                raise ValueError
            return v
        if kind == "int":
            v = int(raw)
            if v <= 0:
                raise ValueError
            return v
        if kind == "float":
            v = float(raw)
            if v < 0:
                raise ValueError
            return v
        if kind == "levels":
            v = tuple(sorted({int(x) for x in raw.split(",") if x.strip()}))
            if not all(0 < x < 100 for x in v):
                raise ValueError
            return v
    except ValueError:
        what = {
            "usd": "a positive amount of dollars", "int": "a positive whole number",
            "float": "a number of seconds", "levels": "percentages, e.g. 50,80",
        }[kind]  # fmt: skip
        raise UsageError(f"{opt} takes {what}, not {raw!r}") from None
    return raw


def parse(args: list[str]) -> RunOptions:
    """``run``'s options, then the command (after ``--``, or from the first non-option)."""
    opts = RunOptions()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            opts.argv = args[i + 1 :]
            break
        if not arg.startswith("-") or arg == "-":
            opts.argv = args[i:]
            break
        name, eq, inline = arg.partition("=")
        if name not in OPTIONS:
            raise UsageError(f"no such option for run: {name}",
                             hint="put the agent's own options after --")  # fmt: skip
        attr, kind = OPTIONS[name]
        if kind == "flag":
            if eq:
                raise UsageError(f"{name} takes no value")
            setattr(opts, attr, True)
            i += 1
            continue
        if eq:
            raw = inline
            i += 1
        else:
            if i + 1 >= len(args):
                raise UsageError(f"{name} needs a value")
            raw = args[i + 1]
            i += 2
        if kind == "path+":
            opts.claude_dirs.append(Path(raw))
        else:
            setattr(opts, attr, _value(name, kind, raw))
    if not opts.argv:
        raise UsageError("give the command after --, e.g. ccspend run --cap 2 -- claude -p '...'")
    return opts


# -- before the start: budgets and the pre-flight estimate ------------------------


def current_branch(cwd: str) -> str | None:
    """The checked-out branch, read from ``.git/HEAD`` (no git process: it is on the start path)."""
    here = Path(cwd)
    for folder in (here, *here.parents):
        git = folder / ".git"
        try:
            if git.is_file():  # a worktree: "gitdir: <path>"
                target = git.read_text().strip().removeprefix("gitdir:").strip()
                git = (folder / target).resolve()
            head = (git / "HEAD").read_text().strip()
        except OSError:
            continue
        return head.removeprefix("ref: refs/heads/") if head.startswith("ref: ") else None
    return None


def prompt_text(opts: RunOptions) -> str | None:
    """The prompt the run starts with, where it is visible: --prompt-file, or claude's -p."""
    if opts.prompt_file:
        try:
            return Path(opts.prompt_file).read_text("utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"--prompt-file {opts.prompt_file}: {exc.strerror}") from None
    argv = opts.argv
    if argv and Path(argv[0]).name == "claude":
        for i, a in enumerate(argv[:-1]):
            if a in ("-p", "--print") and not argv[i + 1].startswith("-"):
                return argv[i + 1]
    return None


def _requested_model(argv: list[str]) -> str:
    for i, a in enumerate(argv):
        if a == "--model" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--model="):
            return a.split("=", 1)[1]
    return "sonnet"  # Claude Code's default model


def preflight(opts: RunOptions, prices) -> dict | None:
    """Refuse a run whose first request alone, at its model's input price, passes the cap.

    Only the prompt's own tokens count (an underestimate: Claude Code adds its
    system prompt), so a refusal is certain, not a guess. tiktoken loads only when
    the quick bound (one token per byte) could reach the cap.
    """
    if not opts.cap:
        return None
    text = prompt_text(opts)
    if not text:
        return None
    model = _requested_model(opts.argv)
    price = input_price(prices(), model)
    if price is None:
        return None
    if len(text.encode()) * price / 1e6 < opts.cap:
        return None  # even one token per byte stays under the cap
    from ccspend.tokens import estimate_tokens

    tokens = estimate_tokens(text)
    usd = tokens * price / 1e6
    return {"tokens": tokens, "usd": usd, "model": model} if usd >= opts.cap else None


def model_price(prices: dict, model: str) -> dict | None:
    """The price entry of a model id, or of a Claude Code alias (``sonnet``): the newest
    model of that family on the card, so an alias stays right when a model ships."""
    from ccspend.pricing.names import normalise_model

    p = prices.get(model.lower()) or prices.get(normalise_model(model.lower()))
    if p is None:
        family = [k for k in prices if model.lower() in k.split("-")]
        if not family:
            return None
        p = prices[max(family, key=_version_key)]
    return p


def input_price(prices: dict, model: str) -> float | None:
    """USD per million input tokens of a model id or alias."""
    p = model_price(prices, model)
    return None if p is None else p["base"][0]


def _version_key(model_id: str) -> tuple:
    """(4, 6) for claude-sonnet-4-6: version parts only, not dates (20241022)."""
    parts = model_id.replace(".", "-").split("-")
    return tuple(int(x) for x in parts if x.isdigit() and len(x) <= 2)


# -- the run ----------------------------------------------------------------------


def _prices() -> dict:
    from ccspend.pricing.today import today_prices

    return today_prices()


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Ledger:
    """The run's row, written through short write transactions (never held open).

    Before the agent starts, the row goes to a small journal file beside the
    database (the standard library only: no delay to the start); the database
    row follows once the agent runs. A wrapper killed in between still leaves
    its run: the next ccspend that opens the ledger adopts the journal.
    """

    db_path: Path
    run_id: str
    host: str

    @property
    def journal(self) -> Path:
        return journal_dir(self.db_path) / f"{self.run_id}.json"

    def begin(self, row: dict) -> None:
        try:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.journal.with_suffix(".tmp")
            tmp.write_text(json.dumps({**row, "started_at": _now_iso()}))
            os.replace(tmp, self.journal)
        except OSError as exc:
            sys.stderr.write(f"ccspend: warning: cannot journal the run ({exc.strerror})\n")

    def end(self) -> None:
        with contextlib.suppress(OSError):
            self.journal.unlink()

    def write(self, fn, *args) -> None:
        from ccspend.store import Store

        try:
            with Store(self.db_path).connect(write=True) as con:
                fn(con, *args)
        except CcspendError as exc:  # the cap matters more than the ledger: keep going
            sys.stderr.write(f"ccspend: warning: the ledger was not updated: {exc}\n")


def journal_dir(db_path: Path) -> Path:
    return Path(f"{db_path}.cache") / "runs"


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def apply_route(opts: RunOptions) -> tuple[str, str] | None:
    """``--route auto|TIER``: pick the tier, pass its model to the agent, default the cap.

    ``claude`` gets ``--model``; any other command gets ``ANTHROPIC_MODEL`` (and the
    alias variables Claude Code reads), in the environment it inherits.
    Returns (tier, reason) for the ledger.
    """
    if not opts.route:
        return None
    from ccspend.route import load_policy

    policy = load_policy()
    if opts.route == "auto":
        text = prompt_text(opts)
        if not text:
            raise UsageError("--route auto needs a visible prompt: claude -p '…' or --prompt-file")
        from ccspend.route_main import decide

        d = decide(text, {"stakes": "medium"})[0]
        tier, model, cap, reason = d.tier, d.model, d.cap_usd, "; ".join(d.reasons)
    else:
        t = policy.tier(opts.route)
        if t is None or not t.usable:
            names = ", ".join(x.name for x in policy.tiers if x.usable)
            raise UsageError(f"--route {opts.route!r} is not a usable tier", hint=f"one of {names}")
        tier, model, cap, reason = t.name, t.model, t.cap_usd, f"--route {t.name}"
    argv = opts.argv
    if argv and Path(argv[0]).name == "claude":
        if not any(a == "--model" or a.startswith("--model=") for a in argv):
            opts.argv = [argv[0], "--model", model, *argv[1:]]
    else:
        os.environ["ANTHROPIC_MODEL"] = model
    if opts.cap is None and cap:
        opts.cap = cap
    return tier, reason


def _budget_check(opts: RunOptions, cfg, db_path: Path, roots, cwd: str, branch: str | None):
    """The budgets this run falls under, with their status now (ingests first)."""
    import time

    from ccspend import paths
    from ccspend.ingest import ingest_claude
    from ccspend.pricing import load_card
    from ccspend.reports import budget_status
    from ccspend.store import Store

    applicable = cfg.applicable(cwd, branch, opts.task)
    if not applicable:
        return []
    store = Store(db_path)
    ingest_claude(store, roots)
    tz = _local_tz()
    return budget_status(store, load_card(paths.rate_overrides_path()), applicable, tz,
                         time.time())  # fmt: skip


def _local_tz() -> str:
    from ccspend.timeutil import local_timezone

    return local_timezone()


def execute(opts: RunOptions) -> int:
    """Run the agent under its caps; the exit code to return (the agent's, or ours)."""
    import socket

    from ccspend import config, paths, runner

    cwd = os.getcwd()
    db_path = Path(opts.db) if opts.db else paths.default_db_path()
    roots = paths.claude_project_roots(opts.claude_dirs or None)
    cfg = config.load()
    limits = cfg.limits
    routed = apply_route(opts)  # may set the model and default the cap
    if routed:
        sys.stderr.write(f"ccspend: routed to {routed[0]} ({routed[1]})\n")
    controls = runner.Controls(
        cap=opts.cap, cap_tokens=opts.cap_tokens, warn_levels=opts.warn, grace=opts.grace,
        max_requests_per_minute=opts.max_rpm or limits.max_requests_per_minute,
        max_usd_per_hour=opts.max_usd_per_hour or limits.max_usd_per_hour,
    )  # fmt: skip
    ledger = _Ledger(db_path, str(uuid.uuid4()), socket.gethostname())
    branch = current_branch(cwd)
    base_row = {"run_id": ledger.run_id, "task_id": opts.task, "command": runner.redact(opts.argv),
                "cwd": cwd, "host": ledger.host, "pid": os.getpid(), "session_id": None,
                "cap_usd": opts.cap, "cap_tokens": opts.cap_tokens,
                "route_tier": routed[0] if routed else None,
                "route_reason": routed[1] if routed else None}  # fmt: skip

    # 1. budgets it falls under: refuse when one is spent, unless --force
    budgets = _budget_check(opts, cfg, db_path, roots, cwd, branch) if cfg.budgets else []
    spent = [b for b in budgets if b["exhausted"]]
    note = None
    if spent:
        why = "; ".join(f"{b['name']} budget spent (${b['used']:.2f} of ${b['limit']:.2f})"
                        for b in spent)  # fmt: skip
        if not opts.force:
            return _refuse(opts, ledger, base_row, why + " (--force runs anyway)")
        note = f"forced past: {why}"
        sys.stderr.write(f"ccspend: --force: {why}\n")

    # 2. the pre-flight estimate of the first request
    if opts.cap:
        est = preflight(opts, _prices)
        if est is not None:
            return _refuse(opts, ledger, base_row,
                           f"the prompt alone is about {est['tokens']:,} tokens, "
                           f"${est['usd']:.2f} on {est['model']}, over the ${opts.cap:.2f} cap "
                           f"(estimate)")  # fmt: skip

    # 3. run
    ledger.begin({**base_row, "forced": bool(note), "note": note})
    from ccspend.store import add_run_event, adopt_journals, finish_run, mark_interrupted, start_run

    def started(session: str | None) -> None:
        def first_row(con):
            adopt_journals(con, journal_dir(db_path), _alive, skip=ledger.run_id)
            mark_interrupted(con, ledger.host, _alive)
            start_run(con, {**base_row, "session_id": session, "forced": bool(note),
                            "note": note})  # fmt: skip
            if note:
                add_run_event(con, ledger.run_id, "forced", note)

        ledger.write(first_row)

    warner = _Warner(ledger, cfg.alerts, opts)

    def on_event(kind: str, detail: str) -> None:
        sys.stderr.write(f"ccspend: run {kind}: {detail}\n")
        ledger.write(add_run_event, ledger.run_id, kind, detail)

    try:
        out = runner.run(opts.argv, roots, _prices, controls, warner.warn, on_started=started,
                         on_event=on_event)  # fmt: skip
    except FileNotFoundError:
        raise UsageError(f"no such command: {opts.argv[0]}") from None
    except PermissionError:
        raise UsageError(f"cannot run {opts.argv[0]}: permission denied") from None
    warner.join()
    ledger.write(finish_run, {
        "run_id": ledger.run_id, "status": out.status, "exit_code": out.exit_code,
        "cost_usd": out.spent_usd, "stopped_by": out.stopped_by, "session_id": out.session,
        "tokens": out.tokens, "sessions": out.sessions, "models": out.models,
    })  # fmt: skip
    ledger.end()
    if cfg.budgets:
        _after_run_alerts(opts, cfg, db_path, roots, cwd, branch, ledger)
    summary = {
        "run_id": ledger.run_id, "task_id": opts.task, "status": out.status,
        "exit_code": out.exit_code, "spent_usd": out.spent_usd, "tokens": out.tokens,
        "cap_usd": out.cap_usd, "cap_tokens": opts.cap_tokens, "stopped_by": out.stopped_by,
        "seconds": out.seconds, "paused_seconds": out.paused_s, "session_id": out.session,
        "sessions": out.sessions, "models": out.models, "warnings": out.warnings,
        "command": runner.redact(opts.argv), "forced": bool(note),
        "route_tier": routed[0] if routed else None,
    }  # fmt: skip
    if opts.json:
        sys.stdout.write(json.dumps(summary) + "\n")
    elif out.status == "capped":
        caps = " and ".join(x for x in (f"${opts.cap:.2f}" if opts.cap else "",
                                        f"{opts.cap_tokens:,} tokens" if opts.cap_tokens else "")
                            if x)  # fmt: skip
        sys.stderr.write(
            f"ccspend: stopped at the cap ({caps}): ${out.spent_usd:.2f} and {out.tokens:,} "
            f"tokens spent after {out.seconds:.1f}s, in {', '.join(out.models) or 'no model'} "
            f"({out.stopped_by})\n"
        )
    return out.exit_code


def _refuse(opts: RunOptions, ledger: _Ledger, row: dict, why: str) -> int:
    from ccspend.store import start_run

    ledger.write(start_run, {**row, "status": "refused", "note": why})
    if opts.json:
        sys.stdout.write(json.dumps({"run_id": ledger.run_id, "task_id": opts.task,
                                     "status": "refused", "exit_code": int(ExitCode.REFUSED),
                                     "reason": why}) + "\n")  # fmt: skip
    sys.stderr.write(f"ccspend: refused to start: {why}\n")
    return int(ExitCode.REFUSED)


def _after_run_alerts(opts, cfg, db_path, roots, cwd, branch, ledger: _Ledger) -> None:
    from ccspend.alerts import budget_alerts, deliver

    try:
        rows = _budget_check(opts, cfg, db_path, roots, cwd, branch)
    except CcspendError as exc:
        sys.stderr.write(f"ccspend: warning: budgets not checked: {exc}\n")
        return
    due: list = []
    ledger.write(lambda con: due.extend(budget_alerts(con, rows)))
    deliver(due, cfg.alerts, ledger.write)


class _Warner:
    """The run's own warnings (percent of its cap): printed at once, then recorded and
    sent to the other channels on a thread, so a slow webhook never delays the cap."""

    def __init__(self, ledger: _Ledger, settings, opts: RunOptions) -> None:
        self.ledger, self.settings, self.opts = ledger, settings, opts
        self.threads: list = []

    def warn(self, level: int, usd: float, tokens: int) -> None:
        import threading

        cap = f"${self.opts.cap:.2f}" if self.opts.cap else f"{self.opts.cap_tokens:,} tokens"
        line = f"run at {level}% of its {cap} cap (${usd:.2f}, {tokens:,} tokens spent)"
        sys.stderr.write(f"ccspend: {line}\n")
        t = threading.Thread(target=self._send, args=(level, line, usd), daemon=True)
        t.start()
        self.threads.append(t)

    def _send(self, level: int, line: str, usd: float) -> None:
        from dataclasses import replace

        from ccspend.alerts import claim, deliver

        task = f" (task {self.opts.task})" if self.opts.task else ""
        data = {"run_id": self.ledger.run_id, "spent_usd": round(usd, 6), "cap_usd": self.opts.cap}
        due: list = []
        self.ledger.write(lambda con: due.append(claim(
            con, f"run:{self.ledger.run_id}", level, (level,), lambda _lv: line + task, data)))
        others = replace(self.settings, terminal=False)  # already printed
        deliver([a for a in due if a], others, self.ledger.write)

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=10)


def main(args: list[str]) -> int:
    """``ccspend run …`` from the console entry: one-line errors, exit codes as documented."""
    try:
        return execute(parse(args))
    except CcspendError as exc:
        sys.stderr.write(f"ccspend: error: {exc}\n")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("ccspend: interrupted\n")
        return int(ExitCode.INTERRUPTED)
