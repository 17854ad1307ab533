"""Claude Code transcript lines as the live paths read them: usage records, their keys.

What the status line, the cap hook and ``ccspend run`` read from the bytes a
transcript gained since their last look: the standard library only, and cheap to
import (the ingest's scanner is imported only for a large first read).
"""

from __future__ import annotations

from ccspend.core.fastjson import loads


def response_row(r: dict) -> list:
    """The row ``pricing.index.price_response`` prices, from a usage record (``extract``'s
    shape): the one place a record becomes a row."""
    g = r.get
    k = [g("ki", 0), g("ko", 0), g("k5", 0), g("k1", 0), g("kr", 0)]
    return [r["ts"], r["model"], r["in"], r["out"], r["c5"], r["c1"], r["cr"], r["ws"],
            g("sp"), g("geo"), k if any(k) else None]


def response_key(r: dict, where: object) -> str:
    """A usage record's response key, as the store's ``dedup_key`` (``message_id|request_id``);
    a line without a message id is its own response (``where``: its file)."""
    return f"{r['mid']}|{r['rid'] or ''}" if r["mid"] else f"#{where}:{r['o']}"


BOM = b"\xef\xbb\xbf"


def first_timestamp(data: bytes) -> int | None:
    """The timestamp of a file's first timestamped line among its first 64 (as the
    ingest's scanner reads it): it tells an original session from a resumed copy."""
    pos = 0
    for _ in range(64):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return None
        line = data[pos:nl].strip().removeprefix(BOM)
        pos = nl + 1
        if b'"timestamp"' not in line:
            continue
        try:
            obj = loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict):
            from ccspend.sources.claude_record import parse_timestamp_us

            ts = parse_timestamp_us(obj.get("timestamp"))
            if ts is not None:
                return ts
    return None


SMALL_READ = 1 << 20  # below this, the standard library's json is quicker than importing msgspec


def scan_appended(data: bytes, base: int) -> tuple[list[dict], int]:
    """Usage records of the complete lines of ``data`` (read from offset ``base``), and
    the offset after the last complete line. A session's new lines since the last call
    are few: they are parsed with ``json``'s C scanner (``core.fastjson``); a large first
    read uses the ingest's scanner."""
    if len(data) > SMALL_READ:
        from ccspend.sources.claude_code import scan

        result = scan(data, base, 0)
        return result.records, result.end
    from ccspend.sources.claude_record import extract

    records = []
    pos = 0
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        line = data[pos:nl]
        if b'"usage"' in line:
            try:
                rec = extract(loads(line.strip().removeprefix(b"\xef\xbb\xbf")))
            except (ValueError, RecursionError):
                rec = None
            if rec:
                rec["o"] = base + pos
                records.append(rec)
        pos = nl + 1
    return records, base + pos
