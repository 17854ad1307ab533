"""``ccspend run``: start an agent, follow what its sessions spend, stop it at a cap.

The pieces that decide are pure (``prepare_command``, ``decide``); the pieces
that act (starting the process group, following the logs, stopping) are kept
small around them. Spend is counted from the logs the run writes, with the
same deduplication and prices as every report.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CAPPED_EXIT = 124  # like timeout(1): stopped by a limit, not by its own failure
SECRET_FLAGS = ("key", "token", "secret", "password", "auth")


@dataclass(frozen=True)
class Decision:
    warn: tuple[int, ...]  # warning levels crossed now, each announced once
    stop: bool


def decide(pct: float, warned: set[int], levels: tuple[int, ...]) -> Decision:
    """What to do at ``pct`` of the cap: which warnings are due, and whether to stop."""
    due = tuple(level for level in levels if pct >= level and level not in warned)
    return Decision(due, pct >= 100)


def is_claude(argv: list[str]) -> bool:
    return bool(argv) and Path(argv[0]).name == "claude"


def prepare_command(argv: list[str], cap: float | None) -> tuple[list[str], str | None]:
    """The command to start, and the session id it will log under (claude only).

    ``claude`` gets a fresh ``--session-id`` (unless it has one) so the run's log
    is known, and in print mode ``--max-budget-usd`` so it stops itself first.
    """
    if not is_claude(argv):
        return list(argv), None
    out = list(argv)
    session = None
    for i, arg in enumerate(out):
        if arg == "--session-id" and i + 1 < len(out):
            session = out[i + 1]
        elif arg.startswith("--session-id="):
            session = arg.split("=", 1)[1]
    if session is None:
        session = str(uuid.uuid4())
        out[1:1] = ["--session-id", session]
    printing = any(a in ("-p", "--print") for a in out)
    if cap and printing and not any(a.startswith("--max-budget-usd") for a in out):
        out[1:1] = ["--max-budget-usd", f"{cap:.2f}"]
    return out, session


def redact(argv: list[str]) -> str:
    """The command for the ledger, with anything that looks like a secret hidden."""
    out = []
    hide_next = False
    for arg in argv:
        low = arg.lower()
        if hide_next:
            out.append("***")
            hide_next = False
        elif low.startswith("-") and any(s in low for s in SECRET_FLAGS):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=***")
            else:
                out.append(arg)
                hide_next = True
        elif low.startswith(("sk-", "sk_", "ghp_", "xox")):
            out.append("***")
        else:
            out.append(arg)
    return shlex.join(out)


@dataclass
class Spend:
    """What a run's sessions have spent so far, from their logs."""

    roots: list[Path]
    cwd: str
    started_at: float
    session: str | None
    prices: dict
    states: dict = field(default_factory=dict)  # where each log was read up to, in memory
    before: set[str] = field(default_factory=set)  # logs that existed before the run
    files: set[str] = field(default_factory=set)  # the run's logs, as they appear
    usd: float = 0.0
    tokens: int = 0
    responses: dict = field(default_factory=dict)
    costs: list = field(default_factory=list)  # (epoch s, USD) per response

    def snapshot(self) -> None:
        """Remember the logs that exist at the start: the run's logs are the others."""
        from ccspend.sources.logfiles import discover

        self.before = {f.path for f in discover(self.roots)}
        self.notice(self.before)

    def rescan(self) -> None:
        """Look at the whole tree again (only when file events are not available)."""
        from ccspend.sources.logfiles import discover

        self.notice(f.path for f in discover(self.roots))

    def notice(self, paths) -> bool:
        """Take the run's logs among changed paths; True if any of them is the run's."""
        ours = False
        for path in paths:
            if not path.endswith(".jsonl"):
                continue
            if self.session is not None:
                if Path(path).name == f"{self.session}.jsonl" or (
                    f"/{self.session}/subagents/" in path
                ):
                    self.files.add(path)
                    ours = True
            elif path not in self.before and self._under_cwd(path):
                self.files.add(path)
                ours = True
        return ours

    def _under_cwd(self, path: str) -> bool:
        """Is the log in the project folder of the run's directory (or one below it)?

        Claude Code names a project's folder after its path, '/' and '.' made '-'.
        """
        mine = self.cwd.replace("/", "-").replace(".", "-")
        for root in self.roots:
            try:
                folder = Path(path).relative_to(root).parts[0]
            except (ValueError, IndexError):
                continue
            return folder == mine or folder.startswith(mine + "-")
        return False

    def update(self) -> float:
        """Re-read the run's logs (only new bytes); the run's cost so far (USD)."""
        from ccspend.statusline import price_response, session_usage

        responses: dict = {}
        start_us = self.started_at * 1e6
        for path in sorted(self.files):
            for key, row in session_usage(path, None, self.states).items():
                if row[0] < start_us - 5e6:  # copied history of a resumed session
                    continue
                old = responses.get(key)
                if old is None or row[3] > old[3]:
                    responses[key] = row
        self.responses = responses
        self.costs = [(row[0] / 1e6, price_response(row, self.prices) or 0.0)
                      for row in responses.values()]  # fmt: skip
        self.usd = sum(c for _t, c in self.costs)
        self.tokens = sum(sum(row[2:7]) for row in responses.values())
        return self.usd

    def sessions(self) -> list[str]:
        """The sessions the run used (subagent files belong to their session)."""
        out = []
        for path in sorted(self.files):
            p = Path(path)
            sid = p.parent.parent.name if p.parent.name == "subagents" else p.stem
            if sid not in out:
                out.append(sid)
        return out

    def models(self) -> list[str]:
        return sorted({row[1] for row in self.responses.values() if row[1]})

    def recent(self, now: float, seconds: float) -> tuple[int, float]:
        """Requests and USD of responses logged in the last ``seconds``."""
        cut = now - seconds
        recent = [c for t, c in self.costs if t >= cut]
        return len(recent), sum(recent)


@dataclass(frozen=True)
class Controls:
    """What a run is held to: caps, warning levels, the grace period, rate limits."""

    cap: float | None = None  # USD
    cap_tokens: int | None = None
    warn_levels: tuple[int, ...] = (50, 80)
    grace: float = 10.0
    max_requests_per_minute: int | None = None
    max_usd_per_hour: float | None = None
    # the windows the two rates are measured over (tests shorten them)
    requests_window_s: float = 60.0
    usd_window_s: float = 3600.0


def used_pct(spent: float, tokens: int, c: Controls) -> float:
    """How far along its nearest cap a run is, in percent (0 without caps)."""
    pcts = [0.0]
    if c.cap:
        pcts.append(spent / c.cap * 100)
    if c.cap_tokens:
        pcts.append(tokens / c.cap_tokens * 100)
    return max(pcts)


def over_rate(requests_last_min: int, usd_last_hour: float, c: Controls) -> str | None:
    """Why the run must pause now, or None: it is past a rate limit."""
    rpm = c.max_requests_per_minute
    if rpm and requests_last_min >= rpm:
        return f"{requests_last_min} requests in the last minute (limit {rpm})"
    if c.max_usd_per_hour and usd_last_hour >= c.max_usd_per_hour:
        return f"${usd_last_hour:.2f} in the last hour (limit ${c.max_usd_per_hour:.2f})"
    return None


def stop_group(proc: subprocess.Popen, grace: float) -> str:
    """SIGINT to the process group, then SIGTERM after ``grace``, then SIGKILL.

    Returns the signal that ended it. The agent gets its chance to save what it has.
    """
    for sig, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return name
        try:
            proc.wait(timeout=grace)
            return name
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return "SIGKILL"


@dataclass
class Outcome:
    status: str  # ok, failed, capped, interrupted
    exit_code: int
    spent_usd: float
    cap_usd: float | None
    stopped_by: str | None
    seconds: float
    session: str | None
    warnings: list[int]
    tokens: int = 0
    sessions: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    paused_s: float = 0.0


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def run(
    argv: list[str],
    roots: list[Path],
    prices,
    controls: Controls,
    on_warn=None,
    tick: float = 0.1,
    on_started=None,
    on_event=None,
) -> Outcome:
    """Start ``argv`` in its own process group, follow its spend, stop it at the cap.

    ``prices`` may be a function returning the price index: it is then called
    once the agent is running, so loading the card does not delay its start;
    ``on_started(session)`` runs at the same point (the ledger's first row).
    ``on_event(kind, detail)`` hears of pauses and resumes under a rate limit.
    """
    import watchfiles

    c = controls
    command, session = prepare_command(argv, c.cap)
    spend = Spend(roots, os.getcwd(), time.time(), session, {})
    spend.snapshot()
    t0 = time.monotonic()
    proc = subprocess.Popen(command, start_new_session=True)
    if on_started is not None:
        on_started(session)
    spend.prices = prices() if callable(prices) else prices
    spend.update()  # loads the parser now, not when the first line arrives
    warned: set[int] = set()
    stopped_by = None
    paused_since: float | None = None
    paused_total = 0.0
    limited = bool(c.max_requests_per_minute or c.max_usd_per_hour)

    def watch():
        watched = [r for r in roots if r.is_dir()]
        if not watched:
            return None
        return watchfiles.watch(*watched, debounce=0, step=int(tick * 500), rust_timeout=200,
                                yield_on_timeout=True, raise_interrupt=False)  # fmt: skip

    def pace() -> None:
        """Pause the group while it is past a rate limit; resume once it is back under."""
        nonlocal paused_since, paused_total
        now = time.time()
        n = spend.recent(now, c.requests_window_s)[0]
        usd = spend.recent(now, c.usd_window_s)[1]
        why = over_rate(n, usd, c)
        if why and paused_since is None:
            _signal_group(proc, signal.SIGSTOP)
            paused_since = time.monotonic()
            if on_event:
                on_event("paused", why)
        elif not why and paused_since is not None:
            _signal_group(proc, signal.SIGCONT)
            held = time.monotonic() - paused_since
            paused_total += held
            paused_since = None
            if on_event:
                on_event("resumed", f"after {held:.1f}s")

    try:
        changes = watch()
        spend.rescan()  # logs written before the watch began
        while proc.poll() is None:
            if changes is not None:
                batch = next(changes, None)
                if not batch or not spend.notice(path for _change, path in batch):
                    if paused_since is not None:
                        pace()  # time passing is what ends a pause
                    continue  # nothing of the run's was written: nothing to count
            else:
                # no log folder yet (a first run): look until one appears, then watch it
                time.sleep(tick)
                spend.rescan()
                changes = watch()
            spend.update()
            d = decide(used_pct(spend.usd, spend.tokens, c), warned, c.warn_levels)
            for level in d.warn:
                warned.add(level)
                if on_warn:
                    on_warn(level, spend.usd, spend.tokens)
            if d.stop:
                if paused_since is not None:
                    _signal_group(proc, signal.SIGCONT)  # a stopped process cannot save
                stopped_by = stop_group(proc, c.grace)
                break
            if limited:
                pace()
    except KeyboardInterrupt:
        if paused_since is not None:
            _signal_group(proc, signal.SIGCONT)
        stopped_by = stop_group(proc, c.grace)
        spend.rescan()
        spend.update()
        return Outcome("interrupted", 130, spend.usd, c.cap, stopped_by,
                       time.monotonic() - t0, session, sorted(warned), spend.tokens,
                       spend.sessions(), spend.models(), paused_total)  # fmt: skip
    code = proc.wait()
    spend.rescan()  # a quick agent may be done before any file event was read
    spend.update()
    if stopped_by is not None:
        status, code = "capped", CAPPED_EXIT
    else:
        status = "ok" if code == 0 else "failed"
    return Outcome(status, code, spend.usd, c.cap, stopped_by, time.monotonic() - t0, session,
                   sorted(warned), spend.tokens, spend.sessions(), spend.models(),
                   paused_total)  # fmt: skip
