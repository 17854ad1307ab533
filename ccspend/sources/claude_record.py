"""One Claude Code log line to a usage record, with the standard library only.

The ingest's scanner (``claude_code``) decodes lines with msgspec and falls
back to ``extract`` for odd ones; the status line and the cap hooks, which read
only the few lines a session added since their last call, use ``extract`` with
``json`` directly, so they never pay for importing msgspec; so does the ingest of at
most 1 MiB of new bytes (``scan_plain``: a report right after a new line).
"""

from __future__ import annotations

try:  # the C classes themselves: ``datetime.py`` runs ~2,500 lines of Python first,
    # some 3 ms of each status-line call that reads a new line (``live.lines``)
    from _datetime import UTC, datetime, timedelta
except ImportError:  # an interpreter without the C module
    from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)

MAX_TOKENS = 10**9
"""The most tokens one count of one request may hold; a line with more is implausible.

Why 10^9: the largest context window is a few million tokens and one request's
output a few hundred thousand, so no real count comes within a hundred times of
it; a value past it is a corrupt or hostile line. Clamping such a value (as a
bound of 2^40 once did) still counted it: 10^30 input tokens became $1.1 M in a
report. So the line is skipped and counted as a bad line, named in the report's
warning, like a line that is not JSON. The sums of a few such counts stay far
inside DuckDB's BIGINT."""

BAD = object()  # a count that is no count: the line is skipped


def count(value: object) -> object:
    """A token count as an int, or ``BAD``.

    Absent or null is 0. An int in [0, ``MAX_TOKENS``] is itself, and so is a
    float without a fraction in that range (``1e3``: a JSON writer's choice).
    Anything else is ``BAD``: negative, too large, a fraction, a string, a bool
    (JSON's ``true`` is no number, though Python's bool is an int).
    """
    if value.__class__ is int:
        return value if 0 <= value <= MAX_TOKENS else BAD
    if value is None:
        return 0
    if value.__class__ is float and value.is_integer() and 0 <= value <= MAX_TOKENS:
        return int(value)
    return BAD


EARLIEST = datetime(2023, 1, 1, tzinfo=UTC)
"""No request before this: the first Claude model with usage logs of this shape came later."""
AHEAD = timedelta(days=1)
"""How far past now a request may be dated (clocks and time zones that are off)."""
_latest = datetime.now(UTC) + AHEAD  # moved on when a later line is seen (a long-lived watch)


def request_time(value: object) -> datetime | None:
    """A request's ``timestamp`` as an aware UTC datetime, or None if it is not one or
    is implausible: before ``EARLIEST`` or more than ``AHEAD`` past now.

    Such a line is skipped and counted as a bad line, with the others: a request
    dated 0001 or 9999 was never made then, and counting it would put spend in a
    period no report looks at, priced by no card of its day.
    """
    global _latest
    dt = utc_timestamp(value)
    if dt is None or dt < EARLIEST:
        return None
    if dt > _latest:
        _latest = datetime.now(UTC) + AHEAD
        if dt > _latest:
            return None
    return dt

def parse_timestamp_us(value: object) -> int | None:
    """ISO 8601 timestamp to integer microseconds since the epoch (naive means UTC)."""
    dt = utc_timestamp(value)
    return None if dt is None else (dt - EPOCH) // MICRO


def utc_timestamp(value: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive means UTC); None if
    it is not one, or falls outside the years 1 to 9999 once in UTC (a bad line,
    skipped and counted: no real request was made then)."""
    if value.__class__ is not str or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    tz = dt.tzinfo
    if tz is UTC:
        return dt
    if tz is None:
        return dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        return None


def micros(ts: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    return (ts - EPOCH) // MICRO


def extract(obj: object) -> dict | None | bool:
    """The usage record of one parsed line.

    Returns ``None`` for a line that carries no cost (not an assistant line with
    usage), ``False`` for an assistant usage line that cannot be placed in time
    (skipped and counted), else the record. Written flat, without helper calls
    per field: it runs once per response in every log, on the ingest's hot path.
    """
    if obj.__class__ is not dict or obj.get("type") != "assistant":
        return None
    msg = obj.get("message")
    if msg.__class__ is not dict:
        return None
    usage = msg.get("usage")
    if usage.__class__ is not dict:
        return None
    when = request_time(obj.get("timestamp"))
    if when is None:
        return False
    ts = (when - EPOCH) // MICRO
    u = usage.get
    inp, out, cw, cr = (
        u("input_tokens"), u("output_tokens"), u("cache_creation_input_tokens"),
        u("cache_read_input_tokens"),
    )  # fmt: skip
    if not (inp.__class__ is int and 0 <= inp <= MAX_TOKENS):
        inp = count(inp)
    if not (out.__class__ is int and 0 <= out <= MAX_TOKENS):
        out = count(out)
    if not (cw.__class__ is int and 0 <= cw <= MAX_TOKENS):
        cw = count(cw)
    if not (cr.__class__ is int and 0 <= cr <= MAX_TOKENS):
        cr = count(cr)
    split = u("cache_creation")
    if split.__class__ is dict:
        w1h = count(split.get("ephemeral_1h_input_tokens"))
        w5m = count(split.get("ephemeral_5m_input_tokens"))
    else:
        w1h = w5m = 0
    tools = u("server_tool_use")
    searches = count(tools.get("web_search_requests")) if tools.__class__ is dict else 0
    if BAD in (inp, out, cw, cr, w1h, w5m, searches):
        return False  # an implausible count: the line is skipped and counted
    w5m = max(cw - w1h, w5m) if split.__class__ is dict else cw
    steps = u("iterations")
    extra = compaction(steps) if steps.__class__ is list and steps else NO_COMPACTION
    if extra is None:
        return False
    speed, geo = u("speed"), u("inference_geo")
    if speed.__class__ is not str:
        speed = None
    if geo.__class__ is not str:
        geo = None
    g = obj.get
    cost = g("costUSD")
    rec = {
        "ts": ts,
        "sid": g("sessionId"),
        "mid": msg.get("id"),
        "rid": g("requestId"),
        "model": msg.get("model"),
        "in": inp,
        "out": out,
        "c5": w5m,
        "c1": w1h,
        "cr": cr,
        "ws": searches,
        "cwd": g("cwd"),
        "br": g("gitBranch"),
        "ver": g("version"),
        "ent": g("entrypoint"),
        "sc": g("isSidechain") is True,
        "aid": g("agentId"),
        "err": g("isApiErrorMessage") is True,
        "cu": cost if cost.__class__ in (int, float) else None,
        "sp": speed,
        "geo": geo,
        "ki": extra[0],
        "ko": extra[1],
        "k5": extra[2],
        "k1": extra[3],
        "kr": extra[4],
    }
    for key in _STR_FIELDS:
        v = rec[key]
        if v is not None and v.__class__ is not str:
            rec[key] = None
    return rec


NO_COMPACTION = (0, 0, 0, 0, 0)


def compaction(steps: list) -> tuple[int, int, int, int, int] | None:
    """The tokens of a request's compaction steps: (input, output, cache write 5m,
    cache write 1h, cache read), summed over ``usage.iterations`` entries of type
    ``compaction``; None if one of their counts is implausible (``count``).

    Why: when the API compacts the context inside a request (context management,
    ``compact_20260112``), the summarising step is a sampling step of its own,
    billed at the request's model and rates, and it is *not* in the top-level
    usage, which counts the message steps only (the docs' example: 23,000 input
    tokens at the top, 180,000 in the compaction step). Entries of type
    ``message`` are already in the top level; counting them again would double it.
    """
    i = o = w5 = w1 = r = 0
    for step in steps:
        if step.__class__ is not dict or step.get("type") != "compaction":
            continue
        g = step.get
        si, so, cw, sr = (count(g("input_tokens")), count(g("output_tokens")),
                          count(g("cache_creation_input_tokens")),
                          count(g("cache_read_input_tokens")))  # fmt: skip
        split = g("cache_creation")
        if split.__class__ is dict:
            h = count(split.get("ephemeral_1h_input_tokens"))
            f = count(split.get("ephemeral_5m_input_tokens"))
        else:
            h, f = 0, 0
        if BAD in (si, so, cw, sr, h, f):
            return None
        i += si
        o += so
        r += sr
        if split.__class__ is dict:
            w1 += h
            w5 += max(cw - h, f)
        else:
            w5 += cw
    return (i, o, w5, w1, r)


_STR_FIELDS = ("sid", "mid", "rid", "model", "cwd", "br", "ver", "ent", "aid", "sp", "geo")


# -- a few new lines, read with ``json`` ----------------------------------------------

BOM = b"\xef\xbb\xbf"


def _no_constant(name: str):
    raise ValueError(name)  # NaN and Infinity are not JSON (msgspec refuses them too)


class Unsure(Exception):
    """A line ``json`` reads where msgspec's verdict depends on where the oddity lies (a
    number past a float's range: an error in a field the fast scanner decodes, skipped
    in one it does not; ``"timestamp"`` twice in a line the first timestamp is looked
    for in): read the bytes with the fast scanner instead (``claude_code.scan_records``)."""


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e400
        raise Unsure(text)
    return value


def _loads(raw: bytes):
    """``raw`` decoded as msgspec decodes it, or ValueError where msgspec refuses it:
    besides what ``json`` refuses, NaN and Infinity, and a ``\\u`` escape of a lone
    surrogate anywhere in the line; ``Unsure`` for a number past a float's range."""
    import json

    obj = json.loads(raw.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    if b"\\u" in raw:  # a lone surrogate can only come from an escape: look closer
        json.dumps(obj, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError if one
    return obj


def scan_plain(buf: bytes, base: int, file_id: int) -> tuple[list[dict], int, int, int | None]:
    """The complete lines of ``buf``, a piece of a file from offset ``base``, read with
    ``json``: (their usage records, ``extract``'s with ``f`` and ``o``; the bad lines;
    the offset past the last complete line; the first timestamp, when ``base`` is 0).

    Why: the ingest of a few new lines (a report right after one) reads them here, and
    never imports msgspec, whose import costs more than the read (``ingest.claude``).
    The rules are ``claude_code.scan``'s, written plainly; ``tests/test_scan_exact.py``
    holds the two equal on hostile bytes (what ``json`` alone cannot judge raises
    ``Unsure``: the caller then reads the bytes with the fast scanner; no real log holds
    such a line).

    A complete line, less one trailing ``\\r``, that begins with ``{`` and ends with ``}``
    is read only if it mentions ``"usage"``; any other line is stripped of spaces and a
    BOM, and is a bad line unless it is then a JSON object (read like the first kind if
    it mentions ``"usage"``). An incomplete last line is left for the next read.
    """
    records: list[dict] = []
    bad = 0
    pos = 0

    def verdict(raw: bytes, offset: int) -> None:
        nonlocal bad
        try:
            rec = extract(_loads(raw))
        except (ValueError, RecursionError):
            bad += 1
            return
        if rec is False:
            bad += 1
        elif rec:
            rec["f"] = file_id
            rec["o"] = offset
            records.append(rec)

    while (nl := buf.find(b"\n", pos)) >= 0:
        line = buf[pos:nl]
        if line.endswith(b"\r"):
            line = line[:-1]
        if line[:1] == b"{" and line[-1:] == b"}":
            if b'"usage"' in line:
                verdict(line, base + pos)
        else:
            s = line.strip()
            if s.startswith(BOM):
                s = s[len(BOM):].strip()
            if not (s[:1] == b"{" and s[-1:] == b"}"):
                bad += 1
            elif b'"usage"' in s:
                verdict(s, base + pos)
            else:
                try:
                    _loads(s)
                except (ValueError, RecursionError):
                    bad += 1
        pos = nl + 1
    return records, bad, base + pos, first_timestamp(buf) if base == 0 else None


def first_timestamp(buf: bytes) -> int | None:
    """The timestamp of a file's first timestamped line among its first 64 complete lines
    (``claude_code``'s rule: it tells an original session from a resumed copy)."""
    pos = 0
    for _ in range(64):
        nl = buf.find(b"\n", pos)
        if nl < 0:
            return None
        line = buf[pos:nl].strip().removeprefix(BOM)
        if line.count(b'"timestamp"') > 1:  # a key given twice: msgspec stops at a bad one
            raise Unsure("timestamp")
        try:
            obj = _loads(line)
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("timestamp"), str):
            ts = parse_timestamp_us(obj["timestamp"])
            if ts is not None:
                return ts
        pos = nl + 1
    return None


def best_records(records: list[dict]) -> list[dict]:
    """``records`` without those the store's deduplication would never count: the
    rule of ``claude_code.best_per_response``, on flat records."""
    out: list[dict] = []
    best: dict[tuple[str, str], int] = {}
    for rec in records:
        mid = rec["mid"]
        if mid is None or rec["err"] is True or rec["model"] == "<synthetic>":
            out.append(rec)
            continue
        key = (mid, rec["rid"] or "")
        at = best.get(key)
        if at is None:
            best[key] = len(out)
            out.append(rec)
            continue
        kept = out[at]
        if (-rec["out"], rec["sc"] is True, rec["o"]) < (-kept["out"], kept["sc"] is True,
                                                         kept["o"]):  # fmt: skip
            out[at] = rec
    return out


def subagent_type(path: str, agent_id: str | None) -> str | None:
    """The agent type named in ``agent-<id>.meta.json`` beside a subagent's log ``path``."""
    if agent_id is None:
        return None
    try:
        with open(path[: -len(".jsonl")] + ".meta.json", "rb") as fh:
            data = _loads(fh.read())
    except (OSError, ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        for key in ("agentType", "agent_type", "subagent_type", "type"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
    return None
