"""One Claude Code log line to a usage record, with the standard library only.

The ingest's scanner (``claude_code``) decodes lines with msgspec and falls
back to ``extract`` for odd ones; the status line and the cap hooks, which read
only the few lines a session added since their last call, use ``extract`` with
``json`` directly, so they never pay for importing msgspec.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)

MAX_TOKENS = 1 << 40  # far beyond any request; keeps hostile values inside BIGINT sums


def _int(value: object) -> int:
    if type(value) is int:
        return min(value, MAX_TOKENS) if value > 0 else 0
    if isinstance(value, float) and value == value and value > 0:
        return int(min(value, MAX_TOKENS))
    return 0


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
    ts = parse_timestamp_us(obj.get("timestamp"))
    if ts is None:
        return False
    u = usage.get
    inp, out, cw, cr = (
        u("input_tokens"), u("output_tokens"), u("cache_creation_input_tokens"),
        u("cache_read_input_tokens"),
    )  # fmt: skip
    if not (inp.__class__ is int and 0 <= inp <= MAX_TOKENS):
        inp = _int(inp)
    if not (out.__class__ is int and 0 <= out <= MAX_TOKENS):
        out = _int(out)
    if not (cw.__class__ is int and 0 <= cw <= MAX_TOKENS):
        cw = _int(cw)
    if not (cr.__class__ is int and 0 <= cr <= MAX_TOKENS):
        cr = _int(cr)
    split = u("cache_creation")
    if split.__class__ is dict:
        w1h = _int(split.get("ephemeral_1h_input_tokens"))
        w5m = max(cw - w1h, _int(split.get("ephemeral_5m_input_tokens")))
    else:
        w1h = 0
        w5m = cw
    tools = u("server_tool_use")
    searches = _int(tools.get("web_search_requests")) if tools.__class__ is dict else 0
    speed, geo = u("speed"), u("inference_geo")
    if speed.__class__ is not str:
        speed = None
    if geo.__class__ is not str:
        geo = None
    steps = u("iterations")
    extra = compaction(steps) if steps.__class__ is list and steps else NO_COMPACTION
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


def compaction(steps: list) -> tuple[int, int, int, int, int]:
    """The tokens of a request's compaction steps: (input, output, cache write 5m,
    cache write 1h, cache read), summed over ``usage.iterations`` entries of type
    ``compaction``.

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
        i += _int(step.get("input_tokens"))
        o += _int(step.get("output_tokens"))
        cw = _int(step.get("cache_creation_input_tokens"))
        split = step.get("cache_creation")
        if split.__class__ is dict:
            h = _int(split.get("ephemeral_1h_input_tokens"))
            w1 += h
            w5 += max(cw - h, _int(split.get("ephemeral_5m_input_tokens")))
        else:
            w5 += cw
        r += _int(step.get("cache_read_input_tokens"))
    return (min(i, MAX_TOKENS), min(o, MAX_TOKENS), min(w5, MAX_TOKENS), min(w1, MAX_TOKENS),
            min(r, MAX_TOKENS))


_STR_FIELDS = ("sid", "mid", "rid", "model", "cwd", "br", "ver", "ent", "aid", "sp", "geo")
