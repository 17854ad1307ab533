"""One Claude Code log line to a usage record, with the standard library only.

The ingest's scanner (``claude_code``) decodes lines with msgspec and falls
back to ``extract`` for odd ones; the status line and the cap hooks, which read
only the few lines a session added since their last call, use ``extract`` with
``json`` directly, so they never pay for importing msgspec.
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
