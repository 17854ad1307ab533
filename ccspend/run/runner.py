"""``ccspend run``: start an agent, follow what its sessions spend, stop it at a cap.

The pieces that decide are pure (``prepare_command``, ``decide``); the pieces
that act (starting the process group, following the logs, stopping) are kept
small around them. Spend is counted from the logs the run writes, with the
same deduplication and prices as every report.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import time
from collections import namedtuple

from ccspend.core.errors import ExitCode  # the run path has imported it already
from ccspend.run import procs as run_procs  # the standard library only

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from pathlib import Path


# Everything here is imported before the agent starts, while it waits: named tuples
# and plain classes rather than dataclasses (whose import, with ``inspect``, costs
# more than the rest of this module), and no pathlib.


class Decision(namedtuple("Decision", "warn stop")):
    """Warning levels crossed now (each announced once), and whether to stop."""

    __slots__ = ()


def decide(pct: float, warned: set[int], levels: tuple[int, ...]) -> Decision:
    """What to do at ``pct`` of the cap: which warnings are due, and whether to stop."""
    due = tuple(level for level in levels if pct >= level and level not in warned)
    return Decision(due, pct >= 100)


def is_claude(argv: list[str]) -> bool:
    return bool(argv) and os.path.basename(argv[0]) == "claude"


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
        import uuid

        session = str(uuid.uuid4())
        out[1:1] = ["--session-id", session]
    printing = any(a in ("-p", "--print") for a in out)
    if cap and printing and not any(a.startswith("--max-budget-usd") for a in out):
        out[1:1] = ["--max-budget-usd", f"{cap:.2f}"]
    return out, session


def project_folder_names(cwd: str) -> set[str]:
    """The names Claude Code gives the project folder of ``cwd``: the path with '/' and
    '.' made '-' (as documented), and, to be safe, with every other character that is
    not a letter or a digit made '-' too."""
    documented = cwd.replace("/", "-").replace(".", "-")
    strict = "".join(c if c.isascii() and c.isalnum() else "-" for c in cwd)
    return {documented, strict}


class Spend:
    """What a run's sessions have spent so far, from their logs, read incrementally.

    Each log is read from where the last read stopped, and only its lines that
    mention ``"usage"`` are parsed (the status line's reader). A response counts
    once (its line of largest output, as the store counts it) and the totals move
    by the difference, so a file event costs what the agent added, not the run's
    whole history.
    """

    def __init__(self, roots: list, cwd: str, started_at: float, session: str | None,
                 prices: dict | None = None) -> None:  # fmt: skip
        self.roots, self.cwd, self.started_at, self.session = roots, cwd, started_at, session
        self.prices = prices or {}
        self.before: set[str] = set()  # logs that existed before the run
        self.files: set[str] = set()  # the run's logs, as they appear
        self.offsets: dict = {}  # path -> (inode, offset read up to)
        self.responses: dict = {}  # key -> [ts_us, model, in, out, c5, c1, cr, ws]
        self.costs: dict = {}  # key -> (epoch s, USD)
        self.usd = 0.0
        self.tokens = 0
        self.names = project_folder_names(cwd)

    def folders(self) -> list[str]:
        """The project folders that can hold the run's logs, among those that exist now:
        its directory's (claude, whose session is known), or also those of the folders
        below it (any other command, whose agents may change directory)."""
        out = []
        for root in self.roots:
            try:
                with os.scandir(root) as it:
                    names = [e.name for e in it if e.is_dir(follow_symlinks=False)]
            except OSError:
                continue
            out += [os.path.join(root, n) for n in sorted(names) if self._mine(n)]
        return out

    def _mine(self, folder: str) -> bool:
        if folder in self.names:
            return True
        return self.session is None and any(folder.startswith(n + "-") for n in self.names)

    def snapshot(self) -> None:
        """Remember the logs in the run's folders at the start: the run's are the others.
        (For claude the session id names the run's log: nothing to remember.)"""
        if self.session is None:
            self.before = set(self._discover(self.folders()))

    def rescan(self, folders=None) -> bool:
        """Look at the run's folders again; True if a log of the run is among them."""
        return self.notice(self._discover(self.folders() if folders is None else folders))

    @staticmethod
    def _discover(folders) -> list[str]:
        from ccspend.sources.logfiles import discover

        return [f.path for f in discover(folders)]

    def notice(self, paths) -> bool:
        """Take the run's logs among changed paths; True if any of them is the run's."""
        ours = False
        for path in paths:
            if path in self.files:
                ours = True
            elif path.endswith(".jsonl") and self._is_ours(path):
                self.files.add(path)
                ours = True
        return ours

    def _is_ours(self, path: str) -> bool:
        if self.session is not None:
            return path.endswith(f"/{self.session}.jsonl") or f"/{self.session}/subagents/" in path
        if path in self.before:
            return False
        for root in self.roots:
            prefix = f"{root}/"
            if path.startswith(prefix):
                return self._mine(path[len(prefix) :].split("/", 1)[0])
        return False

    def update(self) -> float:
        """Read what the run's logs added; the run's cost so far (USD)."""
        for path in sorted(self.files):
            self._read(path)
        return self.usd

    def _read(self, path: str) -> None:
        from ccspend.live.sessions import (  # the status line's reader of appended lines
            response_key,
            response_row,
            scan_appended,
        )

        try:
            st = os.stat(path)
        except OSError:
            return
        inode, offset = self.offsets.get(path, (st.st_ino, 0))
        if inode != st.st_ino or st.st_size < offset:
            offset = 0  # another file under the same name: read it all (keys dedupe)
        if st.st_size <= offset:
            return
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read(st.st_size - offset)
        except OSError:
            return
        records, end = scan_appended(data, offset)  # complete lines only: the rest is being written
        self.offsets[path] = (st.st_ino, end)
        oldest = (self.started_at - 5) * 1e6  # older: history copied into a resumed session
        for r in records:
            if r["err"] or r["model"] == "<synthetic>" or r["ts"] < oldest:
                continue
            self._count(response_key(r, path), response_row(r))

    def _count(self, key: str, row: list) -> None:
        """Count a response, or its later line with a larger output instead of the earlier."""
        from ccspend.pricing.index import price_response, row_tokens

        old = self.responses.get(key)
        if old is not None:
            if row[3] <= old[3]:
                return
            self.usd -= self.costs[key][1]
            self.tokens -= row_tokens(old)
        usd = price_response(row, self.prices) or 0.0
        self.responses[key] = row
        self.costs[key] = (row[0] / 1e6, usd)
        self.usd += usd
        self.tokens += row_tokens(row)

    def settle(self) -> None:
        """The totals summed afresh (the running ones may carry float rounding)."""
        from ccspend.pricing.index import row_tokens

        self.usd = math.fsum(c for _t, c in self.costs.values())
        self.tokens = sum(row_tokens(row) for row in self.responses.values())

    def sessions(self) -> list[str]:
        """The sessions the run used (subagent files belong to their session)."""
        out = []
        for path in sorted(self.files):
            folder, name = os.path.split(path)
            if os.path.basename(folder) == "subagents":
                sid = os.path.basename(os.path.dirname(folder))
            else:
                sid = name.removesuffix(".jsonl")
            if sid not in out:
                out.append(sid)
        return out

    def models(self) -> list[str]:
        return sorted({row[1] for row in self.responses.values() if row[1]})

    def recent(self, now: float, seconds: float) -> tuple[int, float]:
        """Requests and USD of responses logged in the last ``seconds``."""
        cut = now - seconds
        recent = [c for t, c in self.costs.values() if t >= cut]
        return len(recent), sum(recent)


class Follow:
    """Wakes the run's loop when one of its logs may have changed.

    It watches only the run's project folders: watching the whole ``projects`` tree
    makes the file watcher handle every other session's writes (50 busy sessions
    elsewhere: about 2% of a core), while the run's folders see little but its own.
    A folder that does not exist yet shows up in its root's ctime (a new entry
    changes it, and nothing sets it back), which is checked at every wake-up, at least every
    ``tick`` while nothing is watched and every 200 ms while something is.
    """

    def __init__(self, spend: Spend, tick: float) -> None:
        self.spend, self.tick = spend, tick
        self.watched: tuple[str, ...] = ()
        self.changes = None
        self.fresh = False  # a new watch: look at its folders once it has begun
        self.stamps: list | None = None

    def _stamps(self) -> list:
        out = []
        for root in self.spend.roots:
            try:
                out.append(os.stat(root).st_ctime_ns)
            except OSError:
                out.append(None)
        return out

    def refresh(self) -> None:
        """Watch the run's folders as they are now (only when a root changed)."""
        stamps = self._stamps()
        if stamps == self.stamps:
            return
        self.stamps = stamps
        folders = tuple(self.spend.folders())
        if folders == self.watched:
            return
        self.close()
        self.watched = folders
        if folders:
            import watchfiles

            self.changes = watchfiles.watch(*folders, debounce=0, step=int(self.tick * 500),
                                            rust_timeout=200, yield_on_timeout=True,
                                            raise_interrupt=True)  # fmt: skip
            self.fresh = True

    def wait(self) -> bool:
        """Wait for file events (or the time to look again); True if a log of the run changed."""
        self.refresh()
        if self.changes is None:
            time.sleep(self.tick)
            return False
        try:
            batch = next(self.changes, None)  # an empty set when 200 ms pass quietly
        except Exception:  # noqa: BLE001 - a watched folder went away: find the folders again
            batch = None
        if batch is None:  # the watch ended: find the folders again (not in a busy loop)
            self.close()
            self.stamps = None
            time.sleep(self.tick)
            return False
        ours = False
        if self.fresh:  # the watch has begun: what was written before it is on disk
            self.fresh = False
            ours = self.spend.rescan(self.watched)
        if batch:
            ours = self.spend.notice(path for _change, path in batch) or ours
        return ours

    def close(self) -> None:
        if self.changes is not None:
            self.changes.close()
            self.changes = None
            self.watched = ()


class Controls(namedtuple(
    "Controls", "cap cap_tokens warn_levels grace max_requests_per_minute max_usd_per_hour "
    "requests_window_s usd_window_s", defaults=(None, None, (50, 80), 10.0, None, None, 60.0,
                                                3600.0))):  # fmt: skip
    """What a run is held to: a cap in USD, one in tokens, warning levels, the grace
    period, rate limits, and the windows the two rates are measured over (60 s and
    3600 s; tests shorten them)."""

    __slots__ = ()


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


class _Background:
    """``fn(*args)`` in a thread; ``join`` waits for it and raises what it raised."""

    def __init__(self, fn, *args) -> None:
        import threading

        self.error: BaseException | None = None

        def target() -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to join
                self.error = exc

        self.thread = threading.Thread(target=target, name="ccspend-ledger", daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


def stop_group(proc: subprocess.Popen, grace: float, procs=None) -> str:
    """SIGINT to every process of the run, then SIGTERM after ``grace``, then SIGKILL.

    Returns the signal that ended it, once nothing of the run is left running: its
    process group, and the processes ``procs`` (a ``procs.RunProcesses``) finds beyond
    it. The agent gets its chance to save what it has. More signals to the wrapper
    meanwhile change nothing: the grace runs out, and SIGKILL follows.
    """
    procs = procs or run_procs.RunProcesses(proc.pid, None)
    with _steady():
        return run_procs.stop(procs, grace, proc)


@contextlib.contextmanager
def _steady():
    """SIGINT, SIGTERM and SIGHUP to the wrapper are noted and ignored while it stops
    the run (the stopping is under way; an exception would cut it short)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, lambda *_: None)
           for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}  # fmt: skip
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


class Outcome(namedtuple("Outcome", "status exit_code spent_usd cap_usd stopped_by seconds "
                         "session warnings tokens sessions models paused_s")):  # fmt: skip
    """How a run ended: status (ok, failed, capped, interrupted), exit code, USD spent,
    the cap, the signal that stopped it, seconds, session, warnings given, tokens,
    sessions, models, seconds paused."""

    __slots__ = ()


def _deaf() -> None:
    """SIGINT, SIGTERM and SIGHUP ignored from now on (the main thread only)."""
    import threading

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _stop_on_signals() -> dict:
    """SIGTERM and SIGHUP to the wrapper (``timeout``, a service stopping, a closed
    terminal) stop the agent as Ctrl-C does, rather than leave it running uncapped in
    its own process group. Returns the handlers to put back."""
    old = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            old[sig] = signal.signal(sig, _interrupt)
        except ValueError:  # not the main thread: leave the signals alone
            break
    return old


def run(
    argv: list[str],
    roots: list[Path],
    prices,
    controls: Controls,
    on_warn=None,
    tick: float = 0.1,
    on_started=None,
    on_event=None,
    run_id: str | None = None,
    on_progress=None,
    on_orphaned=None,
) -> Outcome:
    """Start ``argv`` in its own process group, follow its spend, stop it at the cap.

    The run is every process the command starts, in its group or not (``procs``): at
    the cap all of them stop, and the run lasts until the last of them has exited.
    A watchdog stops them if the wrapper dies. ``run_id`` marks their environment
    (``CCSPEND_RUN_ID``); ``on_progress(fields)`` hears the run's spend as it grows
    (at most once a second) and the watchdog's pid; ``on_orphaned(fields)`` runs in the
    watchdog, with what was spent, once it has stopped the run of a dead wrapper.

    Only what decides which logs are the run's happens before the start; the rest
    (the ledger, the prices, the file watcher) once the agent runs. ``prices`` may
    be a function returning the price index: it is then called once the agent is
    running; ``on_started(session)`` runs at the same point (the ledger's first row).
    ``on_event(kind, detail)`` hears of pauses and resumes under a rate limit.
    """
    c = controls
    command, session = prepare_command(argv, c.cap)
    spend = Spend(roots, os.getcwd(), time.time(), session)
    spend.snapshot()
    t0 = time.monotonic()
    env = None
    if run_id:
        env = dict(os.environ)
        env[run_procs.MARKER] = run_id
    proc = subprocess.Popen(command, start_new_session=True, env=env)
    handlers = _stop_on_signals()
    procs = run_procs.RunProcesses(proc.pid, run_id)

    def orphaned(stopped_by: str) -> None:  # in the watchdog, the wrapper dead
        spend.prices = prices() if callable(prices) else prices
        spend.rescan()
        spend.update()
        spend.settle()
        if on_orphaned is not None:
            on_orphaned({"status": "interrupted", "cost_usd": spend.usd, "tokens": spend.tokens,
                         "sessions": spend.sessions(), "models": spend.models(),
                         "session_id": session, "stopped_by": stopped_by})  # fmt: skip

    watchdog = run_procs.start_watchdog(procs, c.grace, orphaned)
    if watchdog is not None:
        procs.skip.add(watchdog.pid)
    run_procs.set_subreaper()  # after the watchdog's fork: it is not the run's
    warned: set[int] = set()
    stopped_by = None
    paused_since: float | None = None
    paused_total = 0.0
    limited = bool(c.max_requests_per_minute or c.max_usd_per_hour)

    def pace() -> None:
        """Pause the group while it is past a rate limit; resume once it is back under."""
        nonlocal paused_since, paused_total
        now = time.time()
        n = spend.recent(now, c.requests_window_s)[0]
        usd = spend.recent(now, c.usd_window_s)[1]
        why = over_rate(n, usd, c)
        if why and paused_since is None:
            procs.signal(signal.SIGSTOP)
            paused_since = time.monotonic()
            if on_event:
                on_event("paused", why)
        elif not why and paused_since is not None:
            procs.signal(signal.SIGCONT)
            held = time.monotonic() - paused_since
            paused_total += held
            paused_since = None
            if on_event:
                on_event("resumed", f"after {held:.1f}s")

    follow = Follow(spend, tick)
    # The ledger's first row (DuckDB's import, a database another process may hold)
    # is written beside the following, never before it: the cap counts from the start.
    starter = None
    status = None
    try:
        spend.prices = prices() if callable(prices) else prices
        spend.update()  # loads the parser now, not when the first line arrives
        if on_started is not None:  # after the follower is armed: its import holds the GIL
            starter = _Background(on_started, session)
        next_scan = 0.0
        left = False  # the command has exited, and left processes of the run running
        last_told = (time.monotonic(), None)  # when the journal last heard the spend, and it
        while True:
            now = time.monotonic()
            if proc.poll() is not None and (not left or now >= next_scan):
                live = procs.scan(markers=True)
                if not live:
                    break
                if not left and on_event:
                    on_event("following", f"the command exited; {len(live)} of its processes "
                             "still run, and count, until they end")  # fmt: skip
                left, next_scan = True, now + 0.5
            elif now >= next_scan:  # the run's processes, for the watchdog (once a second)
                live = procs.scan()
                if watchdog is not None:
                    watchdog.tell(live)
                next_scan = now + 1.0
            if on_progress is not None and now - last_told[0] >= 1.0:
                if spend.usd != last_told[1]:  # the first time, and then when it grew
                    on_progress({"cost_usd": spend.usd, "tokens": spend.tokens,
                                 "sessions": spend.sessions(), "models": spend.models(),
                                 "watchdog": watchdog and watchdog.pid})  # fmt: skip
                last_told = (now, spend.usd)
            if not follow.wait():
                if paused_since is not None:
                    pace()  # time passing is what ends a pause
                continue  # nothing of the run's was written: nothing to count
            spend.update()
            d = decide(used_pct(spend.usd, spend.tokens, c), warned, c.warn_levels)
            for level in d.warn:
                warned.add(level)
                if on_warn:
                    on_warn(level, spend.usd, spend.tokens)
            if d.stop:
                if paused_since is not None:  # a stopped process cannot save
                    procs.signal(signal.SIGCONT)
                stopped_by = stop_group(proc, c.grace, procs)
                break
            if limited:
                pace()
    except KeyboardInterrupt:
        status = "interrupted"
        _deaf()  # once told to stop, the wrapper stops the run and records it, whatever else comes
        if paused_since is not None:
            procs.signal(signal.SIGCONT)
        stopped_by = stop_group(proc, c.grace, procs)
        status, code = "interrupted", 130
    except BaseException:
        # ccspend cannot follow the run (a rate card that does not load, a watcher that
        # fails): an agent it cannot cap must not go on alone. Stop it, record the run.
        if proc.poll() is None or procs.scan():
            if paused_since is not None:
                procs.signal(signal.SIGCONT)
            stop_group(proc, c.grace, procs)
        if starter is None and on_started is not None:
            starter = _Background(on_started, session)
        raise
    else:
        code = proc.wait()
        if code < 0:  # killed by a signal: as a shell says it, 128 + its number
            code = 128 - code
        if stopped_by is not None:
            status, code = "capped", int(ExitCode.CAPPED)
        else:
            status = "ok" if code == 0 else "failed"
    finally:
        if watchdog is not None:
            watchdog.done()
        follow.close()
        if status != "interrupted":
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if starter is not None:
            starter.join()
    spend.rescan()  # a quick agent may be done before any file event was read
    spend.update()
    spend.settle()
    return Outcome(status, code, spend.usd, c.cap, stopped_by, time.monotonic() - t0, session,
                   sorted(warned), spend.tokens, spend.sessions(), spend.models(),
                   paused_total)  # fmt: skip
