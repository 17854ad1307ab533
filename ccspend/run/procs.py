"""The processes of a run: all of them, not only its process group, and a watchdog.

A child may leave the agent's process group (``setsid``, ``start_new_session``, a
daemon that double-forks): it is still the run's, and still spends. The run's
processes are found from ``/proc`` (Linux) by more than the group:

- the wrapper is a *child subreaper* (``PR_SET_CHILD_SUBREAPER``), so a descendant
  whose parent exits is re-parented to the wrapper, not to init, and stays in its tree;
- every descendant of the wrapper (by ``PPid``), of the agent and of every process of
  the run seen before (a pid remembered with its start time, so a reused pid is not
  taken for it);
- every process in the agent's process group;
- every process whose environment carries ``CCSPEND_RUN_ID=<the run's id>``, which
  each of the agent's descendants inherits (looked for when the run is stopped).

The watchdog is a small process forked from the wrapper, in a session of its own:
it reads a pipe only the wrapper writes to (the pids of the run as they appear,
then ``done``). When the pipe closes without ``done`` the wrapper is gone (SIGKILL,
a crash): the watchdog stops the run's processes itself and records what it spent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

MARKER = "CCSPEND_RUN_ID"
# The watchdog's grace, at most: the wrapper is gone, nothing may run uncapped for long.
WATCHDOG_GRACE = 3.0


def _stat(pid) -> tuple | None:
    """(state, ppid, pgrp, start time) of process ``pid``, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    f = data.rsplit(b")", 1)[1].split()
    try:
        return f[0], int(f[1]), int(f[2]), int(f[19])
    except (IndexError, ValueError):
        return None


def _table() -> dict:
    """Every process now: pid -> (state, ppid, pgrp, start time)."""
    out = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if name.isdigit():
            st = _stat(name)
            if st is not None:
                out[int(name)] = st
    return out


def _has_marker(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return marker in fh.read().split(b"\0")
    except OSError:  # gone, or another user's: not ours
        return False


def set_subreaper() -> bool:
    """Make this process adopt its orphaned descendants (Linux); False where it cannot."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError, ImportError):
        return False


class RunProcesses:
    """The processes of one run, found again at each ``scan`` and remembered."""

    def __init__(self, leader: int, run_id: str | None, skip=()) -> None:
        self.leader = leader  # the agent: its pid is its process group's id
        self.me = os.getpid()
        self.skip = {self.me, *skip}  # never the wrapper, nor its watchdog
        self.marker = f"{MARKER}={run_id}".encode() if run_id else None
        self.seen: dict = {}  # pid -> start time: every process of the run seen
        self.groups: dict = {}  # pid -> process group, at the last scan
        st = _stat(leader)
        if st is not None:
            self.seen[leader] = st[3]

    def scan(self, markers: bool = False) -> dict:
        """The run's processes alive now (zombies aside): pid -> start time.

        ``markers``: also look for the run's id in every process's environment (one
        read per process: done when the run is stopped, not while it runs)."""
        table = _table()
        children: dict = {}
        roots = []
        for pid, (_state, ppid, pgrp, start) in table.items():
            children.setdefault(ppid, []).append(pid)
            if pid in self.skip:
                continue
            if (ppid == self.me or pgrp == self.leader or self.seen.get(pid) == start
                    or (markers and self.marker and _has_marker(pid, self.marker))):  # fmt: skip
                roots.append(pid)
        found: set = set()
        while roots:
            pid = roots.pop()
            if pid in found or pid in self.skip:
                continue
            found.add(pid)
            roots += children.get(pid, ())
        live = {}
        self.groups = {}
        for pid in found:
            state, ppid, pgrp, start = table[pid]
            self.groups[pid] = pgrp
            if state == b"Z":  # exited: reap it if it is ours (an adopted orphan)
                if ppid == self.me and pid != self.leader:
                    with contextlib.suppress(ChildProcessError, OSError):
                        os.waitpid(pid, os.WNOHANG)
                continue
            live[pid] = start
        self.seen.update(live)
        return live

    def signal(self, sig: int, live=None) -> None:
        """``sig`` to the agent's group, then to each of ``live`` outside it (once each).
        ``live`` None: the group first, at once, then a scan for the rest."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.leader, sig)
        if live is None:
            live = self.scan(markers=True)
        for pid in live:
            if pid not in self.skip and pid > 1 and self.groups.get(pid) != self.leader:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)


def stop(procs: RunProcesses, grace: float, leader=None) -> str:
    """SIGINT to every process of the run, SIGTERM after ``grace``, SIGKILL after another;
    returns once none is left. ``leader``: the agent's ``Popen``, reaped on the way."""
    done = lambda: (leader is None or leader.poll() is not None) and not procs.scan()  # noqa: E731
    for sig, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
        procs.signal(sig)
        deadline = time.monotonic() + grace
        while True:
            if done():
                return name
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    deadline = time.monotonic() + 30  # a process stuck in the kernel cannot be waited for ever
    while True:
        procs.signal(signal.SIGKILL)
        time.sleep(0.02)
        if done() or time.monotonic() > deadline:
            return "SIGKILL"


class Watchdog:
    """The wrapper's end of the watchdog's pipe."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd
        self.told: set = set()

    def tell(self, live: dict) -> None:
        """Hand the watchdog the run's processes it has not heard of."""
        new = [f"{pid} {start}\n" for pid, start in live.items() if pid not in self.told]
        if new and self.fd is not None:
            with contextlib.suppress(OSError):
                os.write(self.fd, "".join(new).encode())
            self.told.update(live)

    def done(self) -> None:
        """The run's processes are stopped: the watchdog may go."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self.fd, b"done\n")
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = None
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            try:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:
                return
            time.sleep(0.005)


def start_watchdog(procs: RunProcesses, grace: float, on_orphaned) -> Watchdog | None:
    """Fork the watchdog of the run ``procs`` follows. ``on_orphaned(stopped_by)`` runs in
    it once it has stopped the run of a wrapper that died."""
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid:
        os.close(r)
        return Watchdog(pid, w)
    try:  # the watchdog: nothing here may return into the wrapper's code
        os.close(w)
        os.setsid()  # out of the wrapper's group and terminal: it outlives them
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, r)  # the wrapper's files (and terminal) are not the watchdog's
        os.closerange(r + 1, 65536)
        if _watch(r, procs):
            procs.me = os.getpid()
            procs.skip = {procs.me}
            on_orphaned(stop(procs, min(grace, WATCHDOG_GRACE)))
    except BaseException:  # noqa: BLE001, S110 - the watchdog has no one to tell
        pass
    finally:
        os._exit(0)


def _watch(fd: int, procs: RunProcesses) -> bool:
    """Read the wrapper's pipe until it ends: True if the wrapper died without ``done``."""
    buf = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            return True
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line == b"done":
                return False
            with contextlib.suppress(ValueError):
                pid, start = line.split()
                procs.seen[int(pid)] = int(start)
