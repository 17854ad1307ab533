"""``ccspend run``, from its options to the ledger, without the heavy CLI.

The wrapper's start is time the agent waits, so this module imports the
standard library only until the agent runs (its options are read by
``cli.fast.run``, which every way in goes through). DuckDB, the rate card and
the file watcher load once the agent runs; before it, only when a budget
applies (to refuse a run whose budget is spent).

Order of a run: parse → journal the run (a small file beside the database, so a
wrapper killed from here on still leaves its row) → budgets (refuse unless
--force) → pre-flight estimate (refuse a first request that alone passes the
cap) → start the agent → ledger row → follow and enforce (``runner.run``) →
finish the ledger row → budget alerts.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

from ccspend.core.errors import CcspendError, ExitCode, UsageError
from ccspend.core.files import write_atomic
from ccspend.core.redact import redact  # the ledger's, the journal's and --json's command

NOT_STARTED = "the wrapper stopped before its agent started"
WRAPPER_DIED = "the wrapper died; its watchdog stopped the run"
# USD per million input tokens that no model's input price reaches (long context included):
# a prompt under cap / this many bytes cannot pass the cap, so no price needs loading.
# A test checks the rate card against it.
INPUT_PRICE_CEILING = 100.0


class CannotStart(CcspendError):
    """The command could not be started: 127 when there is no such command, 126 when it
    cannot be executed (as a shell says it)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


class RunOptions:
    """``run``'s options and the command.

    A plain class rather than a dataclass: it is built before the run is
    journaled, and every import there widens the window in which a killed
    wrapper leaves no trace.
    """

    def __init__(self, argv: list[str] | None = None, cap: float | None = None,
                 cap_tokens: int | None = None, task: str | None = None,
                 warn: tuple[int, ...] = (50, 80), grace: float = 10.0, force: bool = False,
                 prompt_file: str | None = None, max_rpm: int | None = None,
                 max_usd_per_hour: float | None = None, route: str | None = None,
                 json: bool = False, db: str | None = None,
                 claude_dirs: list | None = None) -> None:  # fmt: skip
        self.argv = list(argv or [])
        self.cap, self.cap_tokens, self.task = cap, cap_tokens, task
        self.warn, self.grace, self.force = warn, grace, force
        self.prompt_file, self.max_rpm = prompt_file, max_rpm
        self.max_usd_per_hour = max_usd_per_hour
        self.route = route  # 'auto' or a tier name
        self.json, self.db = json, db
        self.claude_dirs = list(claude_dirs or [])  # str or Path, as given


# -- before the start: budgets and the pre-flight estimate ------------------------


def current_branch(cwd: str) -> str | None:
    """The checked-out branch, read from ``.git/HEAD`` (no git process, no pathlib: it
    is on the start path)."""
    folder = os.path.abspath(cwd)
    while True:
        git = os.path.join(folder, ".git")
        try:
            if os.path.isfile(git):  # a worktree: "gitdir: <path>"
                with open(git) as fh:
                    target = fh.read().strip().removeprefix("gitdir:").strip()
                git = os.path.realpath(os.path.join(folder, target))
            with open(os.path.join(git, "HEAD")) as fh:
                head = fh.read().strip()
        except OSError:
            parent = os.path.dirname(folder)
            if parent == folder:
                return None
            folder = parent
            continue
        return head.removeprefix("ref: refs/heads/") if head.startswith("ref: ") else None


def prompt_text(opts: RunOptions) -> str | None:
    """The prompt the run starts with, where it is visible: --prompt-file, or claude's -p."""
    if opts.prompt_file:
        try:
            with open(opts.prompt_file, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError as exc:
            raise UsageError(f"--prompt-file {opts.prompt_file}: {exc.strerror}") from None
    argv = opts.argv
    if argv and os.path.basename(argv[0]) == "claude":
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
    system prompt), so a refusal is certain, not a guess. Prices load only when the
    prompt could pass the cap at any price, and tiktoken only when the quick bound
    (one token per byte) could reach it at the model's price.
    """
    if not opts.cap:
        return None
    text = prompt_text(opts)
    if not text:
        return None
    if len(text.encode()) * INPUT_PRICE_CEILING / 1e6 < opts.cap:
        return None  # no model's price could make this prompt pass the cap: load none
    from ccspend.pricing import index

    model = _requested_model(opts.argv)
    p = index.lookup(prices(), model)
    if p is None:
        return None
    if len(text.encode()) * index.dearest_input(p) / 1e6 < opts.cap:
        return None  # even one token per byte, at its dearest input rate, stays under the cap
    from ccspend.core.tokens import estimate_tokens

    tokens = estimate_tokens(text)
    usd = index.usd(p, tokens)
    return {"tokens": tokens, "usd": usd, "model": model} if usd >= opts.cap else None


# -- the ledger -------------------------------------------------------------------


def _prices() -> dict:
    from ccspend.pricing.today import today_prices

    return today_prices()


def process_alive(pid: int | None) -> bool:
    if pid.__class__ is not int or pid <= 0:  # a journal from elsewhere may hold anything
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    """The run's row: first a journal file, then short write transactions (never held open).

    The journal (``<db>.cache/runs/<run id>.json``, the standard library only) is
    written the moment the options are read, before anything else is imported, and
    rewritten once the agent runs; the database row follows. A wrapper killed at
    any point after the journal still leaves its run: the next ccspend that opens
    the ledger adopts the journal as ``interrupted`` (its note says whether the
    agent had started). The journal goes once the database has the finished row.
    """

    def __init__(self, db_path: str, run_id: str, host: str, err) -> None:
        self.db_path, self.run_id, self.host = db_path, run_id, host
        self.err = err  # the front end's stream of talk (stderr), for the run's warnings
        self.row: dict = {}
        self.started = False  # the agent is running (or ran)
        self.journal = os.path.join(f"{db_path}.cache", "runs", f"{run_id}.json")

    @classmethod
    def open(cls, opts: RunOptions, err) -> Ledger:
        """A new run's ledger, journaled at once (as not started yet); its warnings go
        to ``err``."""
        from ccspend.core import paths  # its string forms import neither pathlib nor platformdirs

        db = paths.expand(str(opts.db)) if opts.db else paths.default_db_str()
        ledger = cls(db, _new_run_id(), os.uname().nodename, err)
        ledger.begin({
            "run_id": ledger.run_id, "task_id": opts.task, "command": redact(opts.argv),
            "cwd": os.getcwd(), "host": ledger.host, "pid": os.getpid(), "session_id": None,
            "cap_usd": opts.cap, "cap_tokens": opts.cap_tokens, "route_tier": None,
            "route_reason": None, "forced": False, "note": NOT_STARTED,
            "started_at": _now_iso(),
        })  # fmt: skip
        return ledger

    def begin(self, row: dict) -> None:
        """(Re)write the journal with ``row`` (kept as the run's row for the database)."""
        self.row = {**self.row, **row}
        try:
            write_atomic(self.journal, json.dumps(self.row), mode=0o600, folder_mode=0o700)
        except OSError as exc:
            self.err.write(f"ccspend: warning: cannot journal the run ({exc.strerror})\n")

    def amend(self, fields: dict) -> None:
        """Merge ``fields`` into the journal as it is on disk (from the watchdog, whose
        copy of the row is the one it had when it was forked)."""
        try:
            with open(self.journal, encoding="utf-8") as fh:
                row = json.load(fh)
        except (OSError, ValueError):
            return  # the run is in the database already: nothing left to amend
        if not isinstance(row, dict):
            return
        row.update(fields)
        with contextlib.suppress(OSError):
            write_atomic(self.journal, json.dumps(row), mode=0o600, folder_mode=0o700)

    def end(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.journal)

    def write(self, fn, *args) -> bool:
        """Run ``fn(con, *args)`` in a write transaction; False (and a warning) if it failed."""
        from ccspend.store import Store

        try:
            with Store(self.db_path).connect(write=True) as con:
                fn(con, *args)
        except Exception as exc:  # noqa: BLE001 - the cap matters more than the ledger
            why = exc if isinstance(exc, CcspendError) else f"{type(exc).__name__}: {exc}"
            self.err.write(f"ccspend: warning: the ledger was not updated: {why}\n")
            return False
        return True


def _new_run_id() -> str:
    """A random (version 4) UUID, as ``str(uuid.uuid4())`` gives it, without importing
    ``uuid`` (3 ms, most of it ``platform``) before the run is journaled."""
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40
    b[8] = b[8] & 0x3F | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def journal_dir(db_path):
    from pathlib import Path

    return Path(f"{db_path}.cache") / "runs"


def _now_iso() -> str:
    """Now, ISO 8601 UTC with microseconds (no datetime import on the start path)."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}+00:00"


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
        from ccspend.route.decide import decide

        d = decide(text, {"stakes": "medium"})[0]
        tier, model, cap, reason = d.tier, d.model, d.cap_usd, "; ".join(d.reasons)
    else:
        t = next((x for x in policy.tiers if x.name == opts.route), None)
        if t is None or not t.usable:
            names = ", ".join(x.name for x in policy.tiers if x.usable)
            raise UsageError(f"--route {opts.route!r} is not a usable tier", hint=f"one of {names}")
        tier, model, cap, reason = t.name, t.model, t.cap_usd, f"--route {t.name}"
    argv = opts.argv
    if argv and os.path.basename(argv[0]) == "claude":
        if not any(a == "--model" or a.startswith("--model=") for a in argv):
            opts.argv = [argv[0], "--model", model, *argv[1:]]
    else:
        os.environ["ANTHROPIC_MODEL"] = model
    if opts.cap is None and cap:
        opts.cap = cap
    return tier, reason


def _budget_check(opts: RunOptions, cfg, db_path, roots, cwd: str, branch: str | None):
    """The budgets this run falls under, with their status now (ingests first)."""
    from pathlib import Path

    from ccspend.core import paths
    from ccspend.ingest.claude import ingest_claude
    from ccspend.pricing import load_card
    from ccspend.reports.build import budget_status
    from ccspend.store import Store

    applicable = cfg.applicable(cwd, branch, opts.task)
    if not applicable:
        return []
    store = Store(db_path)
    ingest_claude(store, [Path(r) for r in roots])
    tz = _local_tz()
    return budget_status(store, load_card(paths.rate_overrides_path()), applicable, tz,
                         time.time())  # fmt: skip


def _early_config():
    """The config, or None when there is no config file (then the run has no budget and
    no rate limit): without one, ``ccspend.core.config`` (tomllib, dataclasses) loads only
    once the agent runs, if a warning needs the alert settings."""
    from ccspend.core import paths

    if not os.path.exists(os.path.join(paths.config_dir_str(), "config.toml")):
        return None
    from ccspend.core import config

    return config.load()


def _local_tz() -> str:
    from ccspend.core.timeutil import local_timezone

    return local_timezone()


# -- the run ----------------------------------------------------------------------


def execute(opts: RunOptions, out, err, ledger: Ledger | None = None) -> int:
    """Run the agent under its caps; the exit code to return (the agent's, or ours).

    ``out`` and ``err`` are the front end's streams: the run's JSON (``--json``) is
    data, its notices talk, and they interleave with the agent's own output.
    ``ledger``: the run's, already journaled (``main`` journals before anything else);
    without one, the run is journaled here.
    """
    ledger = ledger or Ledger.open(opts, err)
    try:
        return _execute(opts, ledger, out, err)
    except CcspendError:
        if not ledger.started:
            ledger.end()  # nothing ran (a bad command, a bad route): no run to record
        raise


def _execute(opts: RunOptions, ledger: Ledger, out, err) -> int:
    from ccspend.core import paths
    from ccspend.run import runner

    cwd = os.getcwd()
    db_path = ledger.db_path
    roots = paths.claude_project_root_strs(opts.claude_dirs or None)  # strings: no pathlib
    cfg = _early_config()
    budgets_set = cfg.budgets if cfg else ()
    limits = cfg.limits if cfg else None
    routed = apply_route(opts)  # may set the model and default the cap
    if routed:
        err.write(f"ccspend: routed to {routed[0]} ({routed[1]})\n")
    controls = runner.Controls(
        cap=opts.cap, cap_tokens=opts.cap_tokens, warn_levels=opts.warn, grace=opts.grace,
        max_requests_per_minute=opts.max_rpm or (limits and limits.max_requests_per_minute),
        max_usd_per_hour=opts.max_usd_per_hour or (limits and limits.max_usd_per_hour),
    )  # fmt: skip
    branch = current_branch(cwd)
    ledger.row.update({"command": redact(opts.argv), "cap_usd": opts.cap,
                       "route_tier": routed[0] if routed else None,
                       "route_reason": routed[1] if routed else None})  # fmt: skip

    # 1. budgets it falls under: refuse when one is spent, unless --force
    budgets = _budget_check(opts, cfg, db_path, roots, cwd, branch) if budgets_set else []
    spent = [b for b in budgets if b["exhausted"]]
    note = None
    if spent:
        why = "; ".join(f"{b['name']} budget spent (${b['used']:.2f} of ${b['limit']:.2f})"
                        for b in spent)  # fmt: skip
        if not opts.force:
            return _refuse(opts, ledger, why + " (--force runs anyway)", out, err)
        note = f"forced past: {why}"
        err.write(f"ccspend: --force: {why}\n")

    # 2. the pre-flight estimate of the first request
    if opts.cap:
        est = preflight(opts, _prices)
        if est is not None:
            return _refuse(opts, ledger,
                           f"the prompt alone is about {est['tokens']:,} tokens, "
                           f"${est['usd']:.2f} on {est['model']}, over the ${opts.cap:.2f} cap "
                           f"(estimate)", out, err)  # fmt: skip

    # 3. run: the journal says the agent started, then the database row follows
    def started(session: str | None) -> None:
        ledger.started = True
        ledger.begin({"session_id": session, "forced": bool(note), "note": note})
        from ccspend.store import add_run_event, adopt_journals, mark_interrupted, start_run

        def first_row(con):
            adopt_journals(con, journal_dir(db_path), process_alive, skip=ledger.run_id)
            mark_interrupted(con, ledger.host, process_alive)
            start_run(con, _db_row(ledger.row))
            if note:
                add_run_event(con, ledger.run_id, "forced", note)

        ledger.write(first_row)

    warner = _Warner(ledger, cfg, opts, err)

    def on_event(kind: str, detail: str) -> None:
        from ccspend.store import add_run_event

        err.write(f"ccspend: run {kind}: {detail}\n")
        if kind != "following":  # said once, at the end of the command: no database for it
            ledger.write(add_run_event, ledger.run_id, kind, detail)

    def progress(fields: dict) -> None:  # the journal knows what the run has spent so far
        ledger.begin(fields)

    def orphaned(fields: dict) -> None:  # in the watchdog: the wrapper died, the run is stopped
        ledger.amend({**fields, "final": True, "note": ledger.row.get("note") or WRAPPER_DIED})

    try:
        ran = runner.run(opts.argv, roots, _prices, controls, warner.warn, on_started=started,
                         on_event=on_event, run_id=ledger.run_id, on_progress=progress,
                         on_orphaned=orphaned)  # fmt: skip
    except FileNotFoundError:
        raise CannotStart(f"no such command: {opts.argv[0]}", 127) from None
    except PermissionError:
        raise CannotStart(f"cannot run {opts.argv[0]}: permission denied", 126) from None
    warner.join()
    from ccspend.store import finish_run, run_known, start_run

    def last_row(con):
        # the first write failed (a busy database, an interrupt): add it now
        if not run_known(con, ledger.run_id):
            start_run(con, _db_row(ledger.row))
        finish_run(con, {
            "run_id": ledger.run_id, "status": ran.status, "exit_code": ran.exit_code,
            "cost_usd": ran.spent_usd, "stopped_by": ran.stopped_by, "session_id": ran.session,
            "tokens": ran.tokens, "sessions": ran.sessions, "models": ran.models,
        })  # fmt: skip

    if ledger.write(last_row):
        ledger.end()  # the database has the finished row: the journal has done its job
    if budgets_set:
        _after_run_alerts(opts, cfg, db_path, roots, cwd, branch, ledger, err)
    summary = {
        "run_id": ledger.run_id, "task_id": opts.task, "status": ran.status,
        "exit_code": ran.exit_code, "spent_usd": ran.spent_usd, "tokens": ran.tokens,
        "cap_usd": ran.cap_usd, "cap_tokens": opts.cap_tokens, "stopped_by": ran.stopped_by,
        "seconds": ran.seconds, "paused_seconds": ran.paused_s, "session_id": ran.session,
        "sessions": ran.sessions, "models": ran.models, "warnings": ran.warnings,
        "command": redact(opts.argv), "forced": bool(note),
        "route_tier": routed[0] if routed else None,
    }  # fmt: skip
    if opts.json:
        out.write(json.dumps(summary) + "\n")
    elif ran.status == "capped":
        caps = " and ".join(x for x in (f"${opts.cap:.2f}" if opts.cap else "",
                                        f"{opts.cap_tokens:,} tokens" if opts.cap_tokens else "")
                            if x)  # fmt: skip
        err.write(
            f"ccspend: stopped at the cap ({caps}): ${ran.spent_usd:.2f} and {ran.tokens:,} "
            f"tokens spent after {ran.seconds:.1f}s, in {', '.join(ran.models) or 'no model'} "
            f"({ran.stopped_by})\n"
        )
    return ran.exit_code


_DB_KEYS = ("run_id", "task_id", "command", "cwd", "host", "pid", "session_id", "cap_usd",
            "cap_tokens", "forced", "note", "route_tier", "route_reason")  # fmt: skip


def _db_row(row: dict) -> dict:
    """The journal's row as ``store.start_run`` takes it."""
    return {k: row.get(k) for k in _DB_KEYS}


def _refuse(opts: RunOptions, ledger: Ledger, why: str, out, err) -> int:
    from ccspend.store import start_run

    if ledger.write(start_run, {**_db_row(ledger.row), "status": "refused", "note": why}):
        ledger.end()
    if opts.json:
        out.write(json.dumps({"run_id": ledger.run_id, "task_id": opts.task,
                                     "status": "refused", "exit_code": int(ExitCode.REFUSED),
                                     "reason": why}) + "\n")  # fmt: skip
    err.write(f"ccspend: refused to start: {why}\n")
    return int(ExitCode.REFUSED)


def _after_run_alerts(opts, cfg, db_path, roots, cwd, branch, ledger: Ledger, err) -> None:
    from ccspend.reports.alerts import budget_alerts, deliver

    try:
        rows = _budget_check(opts, cfg, db_path, roots, cwd, branch)
    except CcspendError as exc:
        err.write(f"ccspend: warning: budgets not checked: {exc}\n")
        return
    due: list = []
    ledger.write(lambda con: due.extend(budget_alerts(con, rows)))
    deliver(due, cfg.alerts, ledger.write, err)


class _Warner:
    """The run's own warnings (percent of its cap): printed at once, then recorded and
    sent to the other channels on a thread, so a slow webhook never delays the cap."""

    def __init__(self, ledger: Ledger, cfg, opts: RunOptions, err) -> None:
        self.ledger, self.cfg, self.opts = ledger, cfg, opts  # cfg None: no config file
        self.err = err
        self.threads: list = []

    def warn(self, level: int, usd: float, tokens: int) -> None:
        import threading

        cap = f"${self.opts.cap:.2f}" if self.opts.cap else f"{self.opts.cap_tokens:,} tokens"
        line = f"run at {level}% of its {cap} cap (${usd:.2f}, {tokens:,} tokens spent)"
        self.err.write(f"ccspend: {line}\n")
        t = threading.Thread(target=self._send, args=(level, line, usd), daemon=True)
        t.start()
        self.threads.append(t)

    def _send(self, level: int, line: str, usd: float) -> None:
        from dataclasses import replace

        from ccspend.core import config
        from ccspend.reports.alerts import claim, deliver

        task = f" (task {self.opts.task})" if self.opts.task else ""
        data = {"run_id": self.ledger.run_id, "spent_usd": round(usd, 6), "cap_usd": self.opts.cap}
        due: list = []
        self.ledger.write(lambda con: due.append(claim(
            con, f"run:{self.ledger.run_id}", level, (level,), lambda _lv: line + task, data)))
        settings = (self.cfg or config.load()).alerts  # (the environment may name a webhook)
        others = replace(settings, terminal=False)  # already printed
        deliver([a for a in due if a], others, self.ledger.write, self.err)

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=10)


