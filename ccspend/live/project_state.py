"""The per-project state behind a live session's cost: exact, and per call independent of history.

``live.sessions.session_cost`` (the status line, the cap hook) must show what the
session report counts for a session: a response (``message_id|request_id``)
counts once, at its line of most output, not a sidechain, in the file that
started first (first timestamp, then newest request, then path), at the lowest
offset; the session of that line spent it. Deciding that needs every response
of the project folder (a resumed session copies an earlier one's lines into a
new file), so the state holds all of them. Loading and rewriting all of it, and
stat-ing every transcript of the folder, on every call made the status line
grow with the history. So the state has two layers:

- the **base**: everything (``files``: path -> [index, inode, offset read to,
  first ts, newest ts]; ``keys``: response -> [session counted, USD counted, then
  per file holding it its best line: file index, output, sidechain, offset,
  session, USD]; ``multi``: the keys more than one file holds; ``totals``:
  session -> USD; the folder listings of ``stat_logs``), written by the *slow
  path*, which stats every file of the folder and is exact by construction
  (it is the whole algorithm of the previous version). Beside it: a sorted
  array of 8-byte hashes of its keys (``.hash``), its totals alone (``.totals``);
- the **hot** layer, read and written by every call: the *working set* (the
  files written in the last hour, at most the latest ``WORKING_MAX``; every
  file of their sessions; the files sharing a response with them: ``peers``),
  with the last few responses of each working file and every response counted
  since the base was written, the totals of the sessions those touched, and the
  project folder's identity.
  Responses the hot layer no longer needs (neither recent in their file nor held
  by two files) are appended to a *spill* file (and their hashes to ``.spillh``)
  which the next slow path merges into the base.

A call (the *fast path*, under the project's lock) stats the project folder,
this session's transcript, its ``subagents`` folder (listed: a new subagent is
handled here) and files, their peers and the files seen new or growing in the
last ``YOUNG_S``; reads the bytes appended to them; and decides each response
those bytes touch from the hot layer. Its cost grows with this session's files
and with what is being written now, never with the rest of the history. It
gives up, and the slow path decides, whenever the hot layer cannot decide
exactly:

- the project folder changed (a session started, a resumed session or a fork
  was written, a file was removed or renamed), or changed so recently that a
  change in the same clock tick could hide (``RACY_NS``, as ``stat_logs``);
- a response those bytes touch is in the base or the spill (its hash is
  there; a false hit only costs a slow path): a copy of a response counted
  elsewhere;
- a file's rank changed against a file it shares a response with (a resumed
  copy and its original both written at once), a file was rewritten or
  shortened, the prices or the version changed, this session's transcript is
  not in the working set (an old session resumed in place), or the spill grew
  past ``SPILL_MAX``.

Why not stat every file each call, and why this is still exact for the
session asked about: this session's cost depends only on the responses that
one of its lines holds or that its files hold, and on the files holding those
(their lines and ranks). Every such file is this session's own, or a file that
shares a response with it (a peer, stat'ed every call), or a file that will
share one once it holds a copy of this session's lines. Claude Code copies a
session's lines only into a file it creates (a resumed session, a fork): the
project folder changes, and the new file, being new, is watched by every call
while it is young. Every other file of the folder grows only by responses the
API just made, with new message ids no other file holds: its growth changes its
own session's cost (which that session's calls read, and the next slow path
too), not this one's. Its rank changes too, which matters only against files it
shares a response with, and it shares none with this session. A deleted file
keeps what it gave, as in the database.

Everything is written under one ``flock`` per project (the status lines of the
sessions of one folder, the cap hook and ``ccspend run`` share it), whole files
atomically; the hot layer last, with the length of the spill it accounts for,
so a call killed half way leaves a state the next call reads as it was before.
``gen`` ties the layers: a hot layer or a hash file of another generation than
the base is not used.
"""

from __future__ import annotations

import marshal
import os
import time
import zlib

VERSION = 2
RACY_NS = 5_000_000_000  # a folder changed this recently may change again in the same tick
ACTIVE_S = 3600.0  # files written this recently are the working set
WORKING_MAX = 48  # at most this many of them (the latest): a restored or touched folder
YOUNG_S = 120.0  # files new or growing this recently are watched by every call
LAST_KEYS = 8  # per working file, its last responses stay hot (a streamed response's next line)
HOT_KEYS = 256  # above this many hot responses, the ones no longer needed are spilled
SPILL_MAX = 50_000  # spilled responses before a call merges them into the base
HASH_HEAD = 16  # b"ccspend-h" padded, then the generation: 8 bytes each


LAST = {"path": None}  # how the last call was answered ("fast", or why the slow path ran)


class _Slow(Exception):
    """The hot layer cannot decide exactly: the slow path will."""


class _Rewritten(Exception):
    """A file was replaced or shortened: what was counted from it no longer holds."""


def key_hash(key: str) -> int:
    """A response key's 64-bit hash in the filters (``crc32`` and ``adler32``: both in
    ``zlib``, which the status line loads anyway; a collision only costs a slow path)."""
    b = key.encode("utf-8", "surrogatepass")
    return (zlib.crc32(b) << 32) | zlib.adler32(b)


class Paths:
    def __init__(self, folder, project: str) -> None:
        stem = os.path.join(os.fspath(folder), f"project-{zlib.crc32(project.encode()):08x}")
        self.base = stem + ".base"
        self.hash = stem + ".hash"
        self.totals = stem + ".totals"
        self.hot = stem + ".hot"
        self.spill = stem + ".spill"
        self.spillh = stem + ".spillh"
        self.old = stem + ".marshal"


def _load(path: str):
    try:
        with open(path, "rb") as fh:
            return marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def _locked(paths: Paths) -> int:
    """The project's hot file, open and locked (``flock``) until closed: every call of
    every process holds it while it reads and writes the state, so the hot file is only
    ever written in place, never replaced (a replaced file would be another lock)."""
    fd = os.open(paths.hot, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        import fcntl
    except ImportError:  # no flock here: the state is as racy as any cache
        return fd
    try:  # noqa: SIM105 - contextlib is an import the status line need not pay for
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        pass
    return fd


HOT_MAGIC = b"ccspendH"


def _read_hot(fd: int):
    """The hot layer, or None when there is none or it is not whole (a call killed while
    writing it): its header holds its length and checksum."""
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0) if size else b""
    if len(data) < 16 or data[:8] != HOT_MAGIC:
        return None
    n, crc = int.from_bytes(data[8:12], "little"), int.from_bytes(data[12:16], "little")
    body = data[16:16 + n]
    if len(body) != n or zlib.crc32(body) != crc:
        return None
    try:
        return marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None


def _write_hot(fd: int, hot: dict) -> None:
    """Written in place (a rename costs milliseconds on ext4, which flushes the data of
    a file renamed over another), whole or detectably not (``_read_hot``)."""
    hot.pop("dirty", None)
    body = marshal.dumps(hot)
    data = HOT_MAGIC + len(body).to_bytes(4, "little") + zlib.crc32(body).to_bytes(4, "little")
    try:
        os.pwrite(fd, data + body, 0)
        os.ftruncate(fd, len(data) + len(body))
    except OSError:
        pass


def session_total(transcript: str, sid: str, folder, prices: dict, prices_id: object) -> float:
    """USD this session spent, as the session report counts it (module docstring)."""
    project = os.path.dirname(transcript)
    paths = Paths(folder, project)
    try:
        fd = _locked(paths)
    except FileNotFoundError:
        from ccspend.core.files import private_folder

        private_folder(folder)
        fd = _locked(paths)
    try:
        try:
            total = _fast(fd, paths, project, transcript, sid, prices, prices_id)
            LAST["path"] = "fast"
            return total
        except _Slow as why:
            LAST["path"] = f"slow: {why}"
        totals = _slow(fd, paths, project, prices, prices_id, transcript)
        return totals.get(sid, 0.0)
    finally:
        os.close(fd)


def project_totals(project: str, folder, prices: dict, prices_id: object) -> dict:
    """USD per session of every transcript below a project folder: the slow path."""
    from ccspend.core.files import private_folder

    paths = Paths(folder, project)
    private_folder(folder)
    fd = _locked(paths)
    try:
        return _slow(fd, paths, project, prices, prices_id, None)
    finally:
        os.close(fd)


# -- the fast path -----------------------------------------------------------------


def _session_files(transcript: str) -> tuple[str, list[str]]:
    """The ``subagents`` folder of a transcript and its agent files, listed now."""
    sub = (transcript[:-6] if transcript.endswith(".jsonl") else transcript) + "/subagents"
    try:
        with os.scandir(sub) as it:
            names = sorted(e.name for e in it if e.name.startswith("agent-")
                           and e.name.endswith(".jsonl"))  # fmt: skip
    except OSError:
        return sub, []
    return sub, [f"{sub}/{n}" for n in names]


def _in_filter(fd: int, size: int, h: int) -> bool:
    """Whether ``h`` is in the sorted hash file open at ``fd``: a binary search with
    one 8-byte read per step, nothing loaded."""
    lo, hi = 0, (size - HASH_HEAD) // 8
    while lo < hi:
        mid = (lo + hi) // 2
        v = int.from_bytes(os.pread(fd, 8, HASH_HEAD + 8 * mid), "little")
        if v < h:
            lo = mid + 1
        elif v > h:
            hi = mid
        else:
            return True
    return False


def _fast(fd: int, paths: Paths, project: str, transcript: str, sid: str, prices: dict,
          prices_id: object) -> float:  # fmt: skip
    hot = _read_hot(fd)
    if not isinstance(hot, dict) or (hot.get("v"), hot.get("project"), hot.get("prices_id")) != (
        VERSION, project, prices_id
    ):
        raise _Slow("no hot layer for these prices")
    now_ns = time.time_ns()
    try:
        st = os.stat(project)
    except OSError:
        raise _Slow("no project folder") from None
    ident, listed_ns = hot["dir"]
    if [st.st_ctime_ns, st.st_ino, st.st_dev] != ident or st.st_ctime_ns > listed_ns - RACY_NS:
        raise _Slow("the project folder changed")
    if hot.get("merge"):
        raise _Slow("the spill is due to be merged")
    if transcript not in hot["working"]:
        if os.path.exists(transcript):
            raise _Slow("not in the working set")
        # not written yet: the session's cost is what copies elsewhere counted for it
        return _total(hot, paths, sid)
    hashes = None
    try:
        hashes = os.open(paths.hash, os.O_RDONLY)
        head = os.pread(hashes, HASH_HEAD, 0)
        if head[:8] != b"ccspendh" or int.from_bytes(head[8:], "little") != hot["gen"]:
            raise _Slow("hash file of another generation")
        changed = _fast_read(paths, hot, transcript, prices, now_ns, hashes)
    except OSError:
        raise _Slow("no hash file") from None
    finally:
        if hashes is not None:
            os.close(hashes)
    total = _total(hot, paths, sid)
    if changed or hot.get("dirty"):
        _write_hot(fd, hot)
    return total


def _total(hot: dict, paths: Paths, sid: str) -> float:
    totals = hot["totals"]
    if sid not in totals:
        base = _load(paths.totals)
        if not isinstance(base, dict) or base.get("gen") != hot["gen"]:
            raise _Slow("no totals of this generation")
        totals[sid] = base["totals"].get(sid, 0.0)
        hot["dirty"] = True
    return totals[sid]


def _fast_read(paths: Paths, hot: dict, transcript: str, prices: dict, now_ns: int,
               hashes: int) -> bool:  # fmt: skip

    files, keys, peers, young = hot["files"], hot["keys"], hot["peers"], hot["young"]
    by_index = {e[0]: p for p, e in files.items()}
    now = now_ns / 1e9
    watch = [transcript]
    _sub, agents = _session_files(transcript)
    for path in agents:
        if path not in files:  # a new subagent since the base: every working session's are
            files[path] = [hot["next"], None, 0, None, None]
            by_index[hot["next"]] = path
            hot["next"] += 1
            young[path] = now
        watch.append(path)
    for path in list(watch):
        for g in peers.get(str(files[path][0]), ()):
            watch.append(by_index[g])
    for path, seen in list(young.items()):
        if now - seen > YOUNG_S:
            del young[path]
        else:
            watch.append(path)
    spill_h = None
    touched: dict = {}
    reranked: list = []
    changed = hot.pop("dirty", False)
    done: set = set()
    for path in watch:
        if path in done:
            continue
        done.add(path)
        entry = files[path]
        try:
            st = os.stat(path)
        except OSError:
            continue  # deleted: what it gave still counts (as in the database)
        if entry[1] is None:
            entry[1] = st.st_ino
            changed = True
        elif entry[1] != st.st_ino or st.st_size < entry[2]:
            raise _Slow("rewritten")
        if st.st_size <= entry[2]:
            continue
        index, _ino, offset, first_ts, newest = entry
        read = _appended(path, offset, st.st_size, first_ts)
        if read is None or read[1] == offset:
            continue
        records, entry[2], first_ts = read
        changed = True
        young[path] = now  # growing: watched a while by every call (a copy being written)
        recent = hot["recent"].setdefault(str(index), [])
        for r in records:
            if newest is None or r["ts"] > newest:
                newest = r["ts"]
            if r["err"] or r["model"] == "<synthetic>":
                continue
            key, cand = _candidate(r, index, prices)
            held = keys.get(key)
            if held is None:
                h = key_hash(key)
                if _in_filter(hashes, os.fstat(hashes).st_size, h):
                    raise _Slow("a response the base holds")
                if spill_h is None:
                    spill_h = _spill_hashes(paths, hot)
                if h.to_bytes(8, "little") in spill_h:
                    raise _Slow("a spilled response")
                keys[key] = [False, 0.0, *cand]
                touched[key] = None
            elif _offer(held, cand):
                touched[key] = None
                for at in range(2, len(held), 6):  # a second file: they are peers now
                    other = held[at]
                    if other != index:
                        _link(peers, index, other)
            if key in recent:
                recent.remove(key)
            recent.append(key)
            if len(recent) > LAST_KEYS:
                del recent[0]
        if (first_ts, newest) != (entry[3], entry[4]):
            reranked.append((path, entry[3], entry[4], first_ts, newest))
            entry[3], entry[4] = first_ts, newest
    before = {path: _rank(f, n, path) for path, f, n, _f, _n in reranked}
    for path, _of, _on, _f, _n in reranked:
        for g in peers.get(str(files[path][0]), ()):
            if g not in by_index:
                raise _Slow("a file's rank changed and a file it shares responses with is cold")
            gp = by_index[g]
            ge = files[gp]
            then = before.get(gp) or _rank(ge[3], ge[4], gp)
            if (before[path] < then) != (_rank(*files[path][3:5], path) < _rank(*ge[3:5], gp)):
                raise _Slow("a file's rank changed against a file it shares responses with")
    if touched:
        ranks = {p: _rank(e[3], e[4], p) for p, e in files.items()}
        totals = hot["totals"]
        for key in touched:
            held = keys[key]
            _decide(held, lambda i: ranks[by_index[i]], totals, lambda s: _total(hot, paths, s))
    if len(keys) > HOT_KEYS:
        _spill(paths, hot)
    return changed


def _appended(path: str, offset: int, size: int, first_ts: int | None):
    """The usage records of the bytes of ``path`` from ``offset`` to ``size``, the offset
    read to (the end of the last whole line) and the file's first timestamp (found now if
    it was not yet): what both paths read of a grown file. None if it cannot be read."""
    from ccspend.live.lines import scan_appended

    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(size - offset)
    except OSError:
        return None
    records, end = scan_appended(data, offset)
    if first_ts is None:
        first_ts = _first_ts(path, offset, data, records)
    return records, end, first_ts


def _first_ts(path: str, offset: int, data: bytes, records: list) -> int | None:
    """A file's first timestamp, looked for again while it has none: a resumed session's
    file can be seen before its first timestamped line is written, and the database,
    reading it whole later, takes the first among its first lines."""
    from ccspend.live.lines import first_timestamp

    head = data
    if offset:
        try:
            with open(path, "rb") as fh:
                head = fh.read(min(offset + len(data), 1 << 20))
        except OSError:
            return None
    ts = first_timestamp(head)
    if ts is None and records:
        ts = min(r["ts"] for r in records)
    return ts


def _candidate(r: dict, index: int, prices: dict) -> tuple[str, list]:
    from ccspend.live.lines import response_key, response_row
    from ccspend.pricing.index import price_response

    usd = price_response(response_row(r), prices) or 0.0  # no price: counts nothing
    return response_key(r, index), [index, r["out"], r["sc"], r["o"], r["sid"], usd]


def _offer(held: list, cand: list) -> bool:
    """Keep ``cand`` as its file's best line of the response if it is better; whether
    the response must be decided again."""
    index = cand[0]
    for at in range(2, len(held), 6):
        if held[at] == index:
            mine = held[at:at + 6]
            if (-cand[1], cand[2], cand[3]) < (-mine[1], mine[2], mine[3]):
                held[at:at + 6] = cand
                return True
            return False
    held += cand
    return True


def _link(peers: dict, a: int, b: int) -> None:
    for x, y in ((a, b), (b, a)):
        lst = peers.setdefault(str(x), [])
        if y not in lst:
            lst.append(y)


def _rank(first_ts, newest, path: str) -> tuple:
    """Which of two files holding a response counts it: the first in the order of
    (first timestamp, newest request, path), a file without one after those with
    (``store.queries.PRICED``'s ``f_rank``)."""
    return (first_ts is None, first_ts or 0, newest is None, newest or 0, path)


def _decide(held: list, rank_of, totals: dict, total_of) -> None:
    """Count the response at its best line, moving its USD between sessions' totals."""
    best = None
    for at in range(2, len(held), 6):
        index, out, sc, off, sid, usd = held[at:at + 6]
        order = (-out, sc, rank_of(index), off)
        if best is None or order < best[0]:
            best = (order, sid, usd)
    _order, sid, usd = best
    if held[0] is False or held[0] != sid or held[1] != usd:
        if held[0] is not False:
            totals[held[0]] = total_of(held[0]) - held[1]
        totals[sid] = total_of(sid) + usd
        held[0], held[1] = sid, usd


def _spill_hashes(paths: Paths, hot: dict) -> bytes:
    """The hashes of the spilled responses, as far as the hot layer accounts for them."""
    n = hot["spilled"]
    if not n:
        return b""
    try:
        with open(paths.spillh, "rb") as fh:
            data = fh.read(8 * n)
    except OSError:
        raise _Slow("no spill hashes") from None
    if len(data) != 8 * n:
        raise _Slow("spill hashes cut short")
    return data  # a match across two hashes is a false hit: a slow path, no error


def _spill(paths: Paths, hot: dict) -> None:
    """Move the hot responses no call will need out of the hot layer (appended to the
    spill, which the next slow path merges): held by one file and not among its last
    ``LAST_KEYS``."""
    keys = hot["keys"]
    keep = {k for lst in hot["recent"].values() for k in lst}
    out = [(k, held) for k, held in keys.items() if k not in keep and len(held) == 8]
    if not out:
        return
    if hot["spilled"] + len(out) > SPILL_MAX:
        hot["merge"] = True  # the next call takes the slow path and merges
    blob = marshal.dumps(out)
    # past what the hot layer accounts for: what a call killed after appending left
    _put(paths.spill, hot["spill_bytes"], blob)
    _put(paths.spillh, 8 * hot["spilled"],
         b"".join(key_hash(k).to_bytes(8, "little") for k, _h in out))  # fmt: skip
    hot["spill_bytes"] += len(blob)
    hot["spilled"] += len(out)
    for k, _h in out:
        del keys[k]


# -- the slow path -----------------------------------------------------------------


def _put(path: str, at: int, data: bytes) -> None:
    """``data`` written at ``at`` in an owner-only file, which then ends there."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, data, at)
        os.ftruncate(fd, at + len(data))
    finally:
        os.close(fd)


def _read_spill(paths: Paths, hot: dict) -> list:
    out: list = []
    try:
        with open(paths.spill, "rb") as fh:
            data = fh.read(hot["spill_bytes"])
    except OSError:
        return out
    pos = 0
    import io

    buf = io.BytesIO(data)
    while pos < len(data):
        out += marshal.load(buf)
        pos = buf.tell()
    return out


def _slow(fd: int, paths: Paths, project: str, prices: dict, prices_id: object,
          transcript: str | None) -> dict:  # fmt: skip
    """The whole folder stat'ed, the state brought up to date, every layer written anew."""
    from ccspend.sources.logfiles import stat_logs

    state = _load(paths.base)
    if not isinstance(state, dict) or (state.get("v"), state.get("project"),
                                       state.get("prices_id")) != (VERSION, project, prices_id):
        state = None
    if state is not None:
        hot = _read_hot(fd)
        if isinstance(hot, dict) and hot.get("gen") == state["gen"] and hot.get("v") == VERSION:
            try:
                _merge(state, hot, _read_spill(paths, hot))
            except (ValueError, EOFError, TypeError, KeyError):
                state = None  # an unreadable spill: made again from the files
    gen = time.time_ns()  # never the generation of a layer left by another base
    for _attempt in range(2):
        if state is None:
            state = {"v": VERSION, "project": project, "prices_id": prices_id,
                     "files": {}, "paths": [], "keys": {}, "multi": {}, "totals": {},
                     "listings": {}, "last": {}, "hashes": None}  # fmt: skip
        listed_ns = time.time_ns()
        try:
            st = os.stat(project)
            ident = [st.st_ctime_ns, st.st_ino, st.st_dev]
        except OSError:
            ident = None
        learned: dict = {}
        found = stat_logs([project], known=state["listings"], learned=learned)
        state["listings"] = learned
        added: list = []
        try:
            _read_project(state, found, prices, added)
        except _Rewritten:
            state = None
            continue
        break
    else:
        return {}
    state["gen"] = gen
    _write_layers(fd, paths, state, added, found, ident, listed_ns, transcript)
    return state["totals"]


def _merge(state: dict, hot: dict, spilled: list) -> None:
    """The hot layer and the spill, written on top of the base they were made from."""
    files, paths, keys, multi = state["files"], state["paths"], state["keys"], state["multi"]
    for path, entry in sorted(hot["files"].items(), key=lambda pe: pe[1][0]):
        if entry[0] == len(paths):
            paths.append(path)
        elif entry[0] > len(paths) or paths[entry[0]] != path:
            raise ValueError("the hot layer's files do not follow the base's")
        if entry[1] is None:  # listed by the fast path, never read: read it from the start
            entry = [entry[0], None, 0, None, None]
        files[path] = entry
    new = state.setdefault("new_keys", [])
    for key, held in [*spilled, *hot["keys"].items()]:
        if key not in keys:
            new.append(key)
        keys[key] = held
        if len(held) > 8:
            multi[key] = None
    state["totals"].update(hot["totals"])
    for index, recent in hot["recent"].items():
        state["last"][index] = recent


def _read_project(state: dict, found: list, prices: dict, added: list) -> None:
    """Bring the state up to date with the files as ``stat_logs`` found them: the bytes
    appended since the last read, each response they touch decided again."""

    files, paths, keys, multi, totals, last = (
        state["files"], state["paths"], state["keys"], state["multi"], state["totals"],
        state["last"])  # fmt: skip
    touched: dict = {}
    reranked = False
    for path, size, _mtime, _dev, ino in found:
        entry = files.get(path)
        if entry is None:
            entry = files[path] = [len(paths), ino, 0, None, None]
            paths.append(path)
        elif entry[1] is None:
            entry[1] = ino
        elif entry[1] != ino or size < entry[2]:
            raise _Rewritten(path)
        if size <= entry[2]:
            continue
        index, _ino, offset, first_ts, newest = entry
        read = _appended(path, offset, size, first_ts)
        if read is None:
            continue
        records, entry[2], first_ts = read
        recent = last.setdefault(str(index), [])
        for r in records:
            if newest is None or r["ts"] > newest:
                newest = r["ts"]
            if r["err"] or r["model"] == "<synthetic>":
                continue
            key, cand = _candidate(r, index, prices)
            held = keys.get(key)
            if held is None:
                keys[key] = [False, 0.0, *cand]  # False: not counted yet
                added.append(key)
                touched[key] = None
            elif _offer(held, cand):
                touched[key] = None
                if len(held) > 8:
                    multi[key] = None
            recent.append(key)
        if len(recent) > LAST_KEYS:
            del recent[:-LAST_KEYS]
        if (first_ts, newest) != (entry[3], entry[4]):
            entry[3], entry[4] = first_ts, newest
            reranked = True
    if reranked:
        touched.update(multi)
    ranks: dict = {}

    def rank_of(index: int) -> tuple:
        if index not in ranks:
            e = files[paths[index]]
            ranks[index] = _rank(e[3], e[4], paths[index])
        return ranks[index]

    for key in touched:
        _decide(keys[key], rank_of, totals, lambda s: totals.get(s, 0.0))


def _write_layers(fd: int, paths: Paths, state: dict, added: list, found: list, ident,
                  listed_ns: int, transcript: str | None) -> None:  # fmt: skip
    """The base, its hash filter and totals, and a hot layer for the working set."""
    import sys
    from array import array

    from ccspend.core.files import write_cache

    keys, files, multi = state["keys"], state["files"], state["multi"]
    added = [*state.pop("new_keys", []), *added]
    old = state.get("hashes")
    if old is None or len(added) > len(keys) // 2:
        hashes = sorted(key_hash(k) for k in keys)
    else:
        before = array("Q", old)
        if sys.byteorder != "little":
            before.byteswap()
        hashes = sorted([*before, *(key_hash(k) for k in added)])
    blob = array("Q", hashes)
    if blob.itemsize != 8:
        raise OSError("no 8-byte integers here")
    if sys.byteorder != "little":
        blob.byteswap()
    state["hashes"] = blob.tobytes()
    gen = state["gen"]
    write_cache(paths.hash, b"ccspendh" + gen.to_bytes(8, "little") + state["hashes"])
    write_cache(paths.totals, marshal.dumps({"gen": gen, "totals": state["totals"]}))
    write_cache(paths.base, marshal.dumps(state))
    try:  # noqa: SIM105 - the previous version's state of this folder, written whole each call
        os.unlink(paths.old)
    except OSError:
        pass
    for p in (paths.spill, paths.spillh):
        try:  # noqa: SIM105 - contextlib is an import the status line need not pay for
            os.truncate(p, 0)
        except OSError:
            pass
    # the working set: files written in the last hour, every file of their sessions
    # (and of the session asked about), and the files that share a response with them
    now = time.time()
    recent_ns = (now - ACTIVE_S) * 1e9
    latest = sorted(((mtime, p) for p, _s, mtime, _d, _i in found if mtime >= recent_ns),
                    reverse=True)[:WORKING_MAX]  # fmt: skip
    working = {p for _m, p in latest}
    if transcript is not None:
        working.add(transcript)
    young = {p: now for m, p in latest if m >= (now - YOUNG_S) * 1e9}
    stems = {p[:-6] + "/subagents/" for p in working if p.endswith(".jsonl")}
    for p in files:
        cut = p.rfind("/subagents/")
        if cut >= 0 and p[:cut + 11] in stems:
            working.add(p)
    working = {p for p in working if p in files}
    indices = {files[p][0] for p in working}
    peers: dict = {}
    for key in multi:
        held = keys[key]
        holders = {held[at] for at in range(2, len(held), 6)}
        for a in holders:
            peers.setdefault(a, set()).update(holders - {a})
    hot_keys: dict = {}
    recent: dict = {}
    for i in indices:
        recent[str(i)] = list(state["last"].get(str(i), ()))
        for k in recent[str(i)]:
            if k in keys:
                hot_keys[k] = keys[k]
    paths_of = state["paths"]
    members = set(indices)
    for held in hot_keys.values():
        members.update(held[at] for at in range(2, len(held), 6))
    for i in indices:
        members.update(peers.get(i, ()))
    hot_files = {paths_of[i]: list(files[paths_of[i]]) for i in members}
    sessions = {os.path.basename(p)[:-6] for p in working if "/subagents/" not in p}
    totals = state["totals"]
    hot_totals = {s: totals.get(s, 0.0) for s in sessions}
    for held in hot_keys.values():
        if held[0] is not False:
            hot_totals[held[0]] = totals.get(held[0], 0.0)
    hot = {"v": VERSION, "project": state["project"], "prices_id": state["prices_id"],
           "gen": gen, "dir": [ident, listed_ns], "files": hot_files,
           "next": len(paths_of), "working": sorted(working),
           "peers": {str(a): sorted(peers[a]) for a in members if a in peers},
           "keys": hot_keys, "recent": recent, "totals": hot_totals,
           "young": {p: t for p, t in young.items() if p in hot_files},
           "spilled": 0, "spill_bytes": 0}  # fmt: skip
    if ident is None:
        hot["dir"] = [[None], 0]
    _write_hot(fd, hot)
