"""Claude Code's JSONL session logs: find them, and turn their bytes into usage records.

Most of a log's bytes are user lines (tool results of tens of KB) that carry no
cost, so the scanner never parses them: it walks line boundaries with
``bytes.find`` (C speed), checks each line's first and last byte, and hands to
the JSON parser only lines that mention ``"usage"``. A record keeps usage
metadata only, never message text.

Candidate lines are decoded with msgspec against a schema of just the fields
ccspend keeps (``Line``), which skips message text without materialising it; a
line whose fields have unexpected types falls back to a plain decode and a
tolerant extractor, so odd input costs time, never data. The ingest writes the
decoded ``Line`` objects back out as they are, and the store flattens them in
SQL (``store.write_ingest``): building a flat record per line in Python cost a
quarter of the parse. ``ScanResult.records`` gives the flat records to callers
that want them (the status line, the cap hook).

Traps handled here (see the reference page on Claude Code logs): bad lines
(garbage, empty, truncated, a BOM) are skipped and counted; an incomplete last
line is left for the next run; the 5m/1h cache-write split defaults to 5m.
Deduplication (one response written as several lines, resumed sessions) is the
store's job, at query time, because it spans files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from ccspend.sources.claude_record import (  # noqa: F401 - re-exported
    AHEAD,
    EARLIEST,
    EPOCH,
    MAX_TOKENS,
    MICRO,
    compaction,
    extract,
    micros,
    parse_timestamp_us,
    request_time,
    utc_timestamp,
)
from ccspend.sources.logfiles import LogFile, discover  # noqa: F401 - re-exported

BOM = b"\xef\xbb\xbf"


class ScanResult(msgspec.Struct):
    """What one pass over a byte range produced."""

    lines: list[Line] = msgspec.field(default_factory=list)  # usage lines, checked and stamped
    skipped: int = 0  # bad lines: garbage, empty, truncated, unparseable
    end: int = 0  # offset just past the last complete line read
    first_ts: int | None = None  # the first line's timestamp, when the read began at 0

    @property
    def records(self) -> list[dict]:
        """The usage lines as flat records (the shape ``extract`` gives)."""
        return [record_of(line) for line in self.lines]


def best_per_response(lines: list[Line]) -> list[Line]:
    """``lines`` without those the store's deduplication would never count.

    Claude Code writes one line per content block of a response, each with
    the response's usage, so half the usage lines of a log repeat another. The
    store keeps, of all lines with one response key (``message_id|request_id``),
    the first in the order (most output tokens, not sidechain, the file's rank,
    offset), among lines that are not API errors or ``<synthetic>``
    (``store.queries.PRICED``). Within one piece of one file the rank is the
    same, so every line but the best of each key there can be left out: the
    counted line is the same, and the write and the deduplication do half the
    work. Lines without a message id, and error or synthetic lines, are kept.
    """
    out: list[Line] = []
    best: dict[tuple[str, str], int] = {}
    append = out.append
    for line in lines:
        msg = line.message
        mid = msg.id
        if mid is None or line.isApiErrorMessage is True or msg.model == "<synthetic>":
            append(line)
            continue
        # A pair, not the store's joined text: building it costs less, and two lines
        # equal here have equal keys there (so no line the store counts is left out).
        key = (mid, line.requestId or "")
        at = best.get(key)
        if at is None:
            best[key] = len(out)
            append(line)
            continue
        kept = out[at]
        if (-msg.usage.output_tokens, line.isSidechain is True, line.o) < (
            -kept.message.usage.output_tokens,
            kept.isSidechain is True,
            kept.o,
        ):
            out[at] = line
    return out


def scan(buf, base: int, file_id: int, limit: int | None = None) -> ScanResult:
    """Read the complete lines of ``buf[:limit]``, a piece of a file starting at offset ``base``.

    Offsets in records are absolute positions in the file, so a line is known by
    (file, offset) across runs; ``end`` is where the next read starts. ``buf`` is
    bytes, a bytearray or an ``mmap``; ``limit`` (default: all of it) lets the
    ingest read into one buffer it reuses (``ingest.claude.ReadBuffer``).
    """
    if limit is None:
        limit = len(buf)
    out = ScanResult(end=base)
    if base == 0:
        out.first_ts = _first_timestamp(buf, limit)
    view = memoryview(buf)  # a line handed to the decoder is a view: no copy
    try:
        out.end = base + _lines(buf, view, limit, base, file_id, out)
    finally:
        view.release()  # the caller may resize its buffer for the next read
    return out


def scan_records(buf, base: int, file_id: int) -> tuple[list[dict], int, int, int | None]:
    """``scan`` in ``claude_record.scan_plain``'s terms: (records, flat as the store writes
    them; bad lines; end; first timestamp). For the lines ``json`` alone cannot judge."""
    out = scan(buf, base, file_id)
    return out.records, out.skipped, out.end, out.first_ts


def _lines(buf, view: memoryview, limit: int, base: int, file_id: int, out: ScanResult) -> int:
    """The line loop of ``scan``; the offset (in ``buf``) just past the last complete line.

    Written as one flat loop, with the decode and the checks of ``_accept``
    inline: at some 90,000 usage lines per GiB of logs, each Python call and
    attribute lookup per line is a measurable share of a cold ingest.
    """
    global _soon
    find = buf.find
    pos = 0
    # Where '"usage"' occurs, found for the whole buffer at once: a SIMD search
    # (stringzilla) runs about five times faster than a regex pass, which itself
    # beat bytes.find per line (the needle starts and ends with '"', JSON's
    # commonest byte, which defeats find's skip table). The line loop then only
    # compares offsets. Small buffers (a status line's appended bytes) keep to
    # find per line.
    if limit >= BULK_MIN_BYTES:
        hits = _usage_offsets(view, limit)
        hits.append(limit)
    else:
        hits = None
    h = 0
    hit = hits[0] if hits else 0
    append = out.lines.append
    decode = _LINE.decode
    fromiso = datetime.fromisoformat
    skipped = 0
    while pos < limit:
        nl = find(b"\n", pos, limit)
        if nl < 0:
            break  # incomplete last line: left for the next run
        end = nl
        if end > pos and buf[end - 1] == 13:  # \r
            end -= 1
        if end > pos and buf[pos] == 123 and buf[end - 1] == 125:  # { ... }
            if hits is not None:
                while hit < pos:
                    h += 1
                    hit = hits[h]
                usage = hit < end  # the needle holds no \r or \n: inside this line
            else:
                usage = find(b'"usage"', pos, end) >= 0
            if not usage:
                pos = nl + 1
                continue
            try:
                line = decode(view[pos:end])
            except msgspec.ValidationError:  # valid JSON, unexpected types: the tolerant path
                line = _slow(view[pos:end], base + pos, file_id)
                if line is False:
                    skipped += 1
                elif line is not None:
                    append(line)
                pos = nl + 1
                continue
            except (msgspec.DecodeError, RecursionError):
                skipped += 1
                pos = nl + 1
                continue
            # ``_accept``, inline
            msg = line.message
            if msg is None or line.type != "assistant" or msg.usage is None:
                pos = nl + 1
                continue  # no cost: not a record, not a bad line
            # The timestamp: Claude Code writes UTC ('Z'), which fromisoformat reads
            # at C speed; any other form, or a date past the bound this process has
            # seen accepted, goes through ``request_time`` (the rule itself).
            stamp = line.timestamp
            try:
                ts = fromiso(stamp)
            except (TypeError, ValueError):
                ts = None
            if ts is not None and ts.tzinfo is UTC and EARLIEST <= ts <= _soon:
                pass
            else:
                ts = request_time(stamp)
                if ts is None:
                    skipped += 1
                    pos = nl + 1
                    continue
                if ts > _soon:
                    _soon = ts  # request_time accepted it: so it would any date up to it
            line.ts = ts
            line.timestamp = None  # written once, as ``ts``
            line.f = file_id
            line.o = base + pos
            u = msg.usage
            if u.iterations:
                line.ki, line.ko, line.k5, line.k1, line.kr = _compaction(u.iterations)
                u.iterations = ()
            elif line.ki or line.ko or line.k5 or line.k1 or line.kr:  # the log's keys: not ours
                line.ki = line.ko = line.k5 = line.k1 = line.kr = 0
            append(line)
        else:
            _odd_line(bytes(view[pos:end]), base + pos, file_id, out)
        pos = nl + 1
    out.skipped += skipped
    return pos


BULK_MIN_BYTES = 1 << 16


def _usage_offsets(buf: memoryview, limit: int) -> list[int]:
    """Every offset of '"usage"' in ``buf[:limit]``, in order."""
    from stringzilla import Str

    find = Str(buf).find
    out = []
    at = find(_NEEDLE, 0, limit)
    while at >= 0:
        out.append(at)
        at = find(_NEEDLE, at + 7, limit)
    return out


_NEEDLE = '"usage"'


def _first_timestamp(buf: bytes | bytearray, limit: int) -> int | None:
    """The timestamp of a file's first timestamped line (among its first few).

    It tells which of two files holding the same response started first: the
    original session, not a resumed copy of it.
    """
    pos = 0
    for _ in range(64):
        nl = buf.find(b"\n", pos, limit)
        if nl < 0:
            return None
        line = bytes(buf[pos:nl]).strip().removeprefix(BOM)
        try:
            ts = parse_timestamp_us(_STAMP.decode(line).timestamp)
        except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
            ts = None
        if ts is not None:
            return ts
        pos = nl + 1
    return None


def _odd_line(line: bytes, offset: int, file_id: int, out: ScanResult) -> None:
    """A line that fails the cheap shape check: blank, BOM, stray spaces, or garbage."""
    stripped = line.strip()
    if stripped.startswith(BOM):
        stripped = stripped[len(BOM) :].strip()
    if not stripped or not (stripped.startswith(b"{") and stripped.endswith(b"}")):
        out.skipped += 1
        return
    if b'"usage"' in stripped:
        _take(stripped, offset, file_id, out)
    else:
        try:
            msgspec.json.decode(stripped)
        except (msgspec.DecodeError, RecursionError):
            out.skipped += 1


def _take(raw: bytes | bytearray, offset: int, file_id: int, out: ScanResult) -> None:
    try:
        line = _accept(_LINE.decode(raw), offset, file_id)
    except msgspec.ValidationError:
        line = _slow(raw, offset, file_id)  # valid JSON, unexpected types: the tolerant path
    except (msgspec.DecodeError, RecursionError):
        line = False
    if line is None:
        return
    if line is False:
        out.skipped += 1
        return
    out.lines.append(line)


def _slow(raw: bytes | bytearray, offset: int, file_id: int) -> Line | None | bool:
    try:
        rec = extract(msgspec.json.decode(raw))
    except (msgspec.DecodeError, RecursionError):
        return False
    if not rec:
        return rec
    rec["f"] = file_id
    rec["o"] = offset
    return line_of(rec)


# -- the fast schema: only what a record keeps --------------------------------


# A count outside [0, MAX_TOKENS] fails the schema (checked in C), so its line
# takes the tolerant path, which skips it as implausible (``claude_record.count``).
_Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]


class _CacheSplit(msgspec.Struct, gc=False, omit_defaults=True):
    ephemeral_5m_input_tokens: _Count = 0
    ephemeral_1h_input_tokens: _Count = 0


class _ServerTools(msgspec.Struct, gc=False, omit_defaults=True):
    web_search_requests: _Count = 0


# Sub-objects are Structs, not dicts: a dict field costs a third of the decode.
# gc=False: these hold no containers, so the collector need not track them.
# omit_defaults: what the ingest writes back out is only what the line had.
class _Step(msgspec.Struct, gc=False, omit_defaults=True):
    """One entry of ``usage.iterations``: a sampling step inside the request."""

    type: str | None = None
    input_tokens: _Count = 0
    output_tokens: _Count = 0
    cache_creation_input_tokens: _Count = 0
    cache_read_input_tokens: _Count = 0
    cache_creation: _CacheSplit | None = None


class _Usage(msgspec.Struct, gc=False, omit_defaults=True):
    input_tokens: _Count = 0
    output_tokens: _Count = 0
    cache_creation_input_tokens: _Count = 0
    cache_read_input_tokens: _Count = 0
    cache_creation: _CacheSplit | None = None
    server_tool_use: _ServerTools | None = None
    speed: str | None = None  # "standard" or "fast" (fast mode: a premium per model)
    inference_geo: str | None = None  # "us": US-only inference, a premium on newer models
    # compaction inside the request (claude_record.compaction); a tuple: an empty list
    # default is a new list per decoded line, which the collector then tracks
    iterations: tuple[_Step, ...] = ()


class _Message(msgspec.Struct, gc=False, omit_defaults=True):
    id: str | None = None
    model: str | None = None
    usage: _Usage | None = None


class Line(msgspec.Struct, gc=False, omit_defaults=True):
    """A usage line as the scanner keeps it: the log's own fields, and some of ours.

    ``ts`` (the timestamp, parsed, in UTC), ``f`` (the batch's index of the
    file), ``o`` (the line's offset) and ``ki``..``kr`` (the compaction steps'
    tokens) are set by the scanner; a log line that
    happens to carry keys of those names has them overwritten, or, if their
    type does not fit, takes the tolerant path.
    """

    type: str | None = None
    timestamp: str | None = None
    sessionId: str | None = None  # noqa: N815 - the log's own key
    requestId: str | None = None  # noqa: N815
    cwd: str | None = None
    gitBranch: str | None = None  # noqa: N815
    version: str | None = None
    entrypoint: str | None = None
    isSidechain: bool | None = None  # noqa: N815
    agentId: str | None = None  # noqa: N815
    isApiErrorMessage: bool | None = None  # noqa: N815
    costUSD: float | None = None  # noqa: N815
    message: _Message | None = None
    ts: datetime | None = None
    f: int = 0
    o: int = 0
    # the compaction steps' tokens (``usage.iterations``), summed by ``_accept`` so the
    # store reads five numbers rather than a list of structs on every line
    ki: int = 0
    ko: int = 0
    k5: int = 0
    k1: int = 0
    kr: int = 0


class _Stamp(msgspec.Struct):
    timestamp: str | None = None


_LINE = msgspec.json.Decoder(Line)
# A date up to which ``request_time`` is known to accept a line: it accepts up to a
# bound that only moves on (now + AHEAD, when a later line is seen), so any date
# up to one it accepted, or up to now + AHEAD when this module was loaded.
_soon = datetime.now(UTC) + AHEAD
_STAMP = msgspec.json.Decoder(_Stamp)


def _accept(line: Line, offset: int, file_id: int) -> Line | None | bool:
    """``line`` checked and stamped (same rules as ``extract``), None if it carries
    no cost, False if it cannot be placed in time or is dated implausibly (skipped
    and counted).

    Counts are in range (the schema says so); the 5m/1h split is left as the log
    gave it, for the store to resolve (``record_of`` for flat records).
    """
    msg = line.message
    if msg is None or line.type != "assistant" or msg.usage is None:
        return None
    ts = request_time(line.timestamp)
    if ts is None:
        return False
    line.ts = ts
    line.timestamp = None  # written once, as ``ts``
    line.f = file_id
    line.o = offset
    u = msg.usage
    if u.iterations:
        line.ki, line.ko, line.k5, line.k1, line.kr = _compaction(u.iterations)
        u.iterations = ()
    elif line.ki or line.ko or line.k5 or line.k1 or line.kr:  # the log's own keys: not ours
        line.ki = line.ko = line.k5 = line.k1 = line.kr = 0
    return line


def record_of(line: Line) -> dict:
    """The flat record of an accepted line (the shape ``extract`` gives).

    The 5m/1h split: the 1h count as given, the rest of the cache writes at 5m
    (or the 5m count, if larger); no split means all at 5m.
    """
    msg = line.message
    u = msg.usage
    cw = u.cache_creation_input_tokens
    split = u.cache_creation
    if split is None:
        w1h = 0
        w5m = cw
    else:
        w1h = split.ephemeral_1h_input_tokens
        w5m = max(cw - w1h, split.ephemeral_5m_input_tokens)
    tools = u.server_tool_use
    extra = _compaction(u.iterations) if u.iterations else (
        line.ki, line.ko, line.k5, line.k1, line.kr)
    return {
        "ts": micros(line.ts),
        "sid": line.sessionId,
        "mid": msg.id,
        "rid": line.requestId,
        "model": msg.model,
        "in": u.input_tokens,
        "out": u.output_tokens,
        "c5": w5m,
        "c1": w1h,
        "cr": u.cache_read_input_tokens,
        "ws": tools.web_search_requests if tools is not None else 0,
        "cwd": line.cwd,
        "br": line.gitBranch,
        "ver": line.version,
        "ent": line.entrypoint,
        "sc": line.isSidechain is True,
        "aid": line.agentId,
        "err": line.isApiErrorMessage is True,
        "cu": line.costUSD,
        "sp": u.speed,
        "geo": u.inference_geo,
        "ki": extra[0],
        "ko": extra[1],
        "k5": extra[2],
        "k1": extra[3],
        "kr": extra[4],
        "f": line.f,
        "o": line.o,
    }


def _compaction(steps: list[_Step]) -> tuple[int, int, int, int, int]:
    """``claude_record.compaction`` of decoded steps: the compaction steps' tokens, which
    the top-level usage does not count."""
    return compaction([msgspec.structs.asdict(s) | {
        "cache_creation": msgspec.structs.asdict(s.cache_creation) if s.cache_creation else None}
        for s in steps])  # fmt: skip


def line_of(rec: dict) -> Line | bool:
    """The ``Line`` of a flat record (``extract``'s, with ``f`` and ``o``); False if its
    time cannot be written as a date."""
    try:
        ts = EPOCH + rec["ts"] * MICRO
    except OverflowError:
        return False
    c5, c1 = rec["c5"], rec["c1"]
    g = rec.get  # records of other sources may lack 2026's fields
    ki, ko, k5, k1, kr = g("ki", 0), g("ko", 0), g("k5", 0), g("k1", 0), g("kr", 0)
    usage = _Usage(rec["in"], rec["out"], c5 + c1, rec["cr"], _CacheSplit(c5, c1),
                   _ServerTools(rec["ws"]), g("sp"), g("geo"))  # fmt: skip
    return Line(
        type="assistant", sessionId=rec["sid"], requestId=rec["rid"], cwd=rec["cwd"],
        gitBranch=rec["br"], version=rec["ver"], entrypoint=rec["ent"], isSidechain=rec["sc"],
        agentId=rec["aid"], isApiErrorMessage=rec["err"], costUSD=rec["cu"],
        message=_Message(rec["mid"], rec["model"], usage), ts=ts, f=rec["f"], o=rec["o"],
        ki=ki, ko=ko, k5=k5, k1=k1, kr=kr,
    )  # fmt: skip
