"""A report's JSON text, exactly as ``json.dumps(data, indent=2)`` writes it, fast.

Why: with ``indent``, the standard library falls back to its pure-Python
encoder. A session report over a long history (8,837 sessions, 7 MB) spent
0.21 s there, as long as the rest of the report. msgspec encodes and indents
in C (0.02 s); three differences from the standard library are then put back,
so scripts and golden files see the same bytes as before:

- non-ASCII characters (and DEL): ``ensure_ascii`` writes them as ``\\uXXXX``
  escapes (a surrogate pair above U+FFFF); msgspec writes UTF-8;
- floats: Python writes ``repr(x)`` (an exponent below 1e-4 and from 1e16 on,
  with a sign and two digits: ``1e-05``, ``1e+16``); msgspec writes
  ``0.00001`` and ``1e16``. Indented, every number stands alone on its line,
  so only such lines are looked at;
- what msgspec cannot encode (a string with a lone surrogate) goes to the
  standard library as before.

A report holds no NaN or infinity (counts are integers, money exact decimals
made floats): the standard library would write ``NaN``, which is not JSON,
where msgspec writes ``null``.
"""

from __future__ import annotations

import codecs
import json
import re

# Where a number msgspec and repr() may write differently can end: an exponent
# (msgspec writes ``1e16``, ``1e-7``), or four zeros after the point (below 1e-4).
# Two searches that start with a literal, so the regex engine skips through the text
# at C speed (one alternation starting with a character class took 0.16 s on 7 MB);
# ``_python_numbers`` then takes the whole number, and keeps it only if it is the
# value of its line (after the indent, or a key): indented, every number stands alone
# on its line, and a string never does.
_EXPONENT = re.compile(rb"e-?[0-9]+,?\n")
_SMALL = re.compile(rb"0\.0000")
_NUMBER_LINE = re.compile(rb' *(?:"(?:[^"\\\n]|\\.)*": )?(-?[0-9][-+0-9.eE]*),?$')


# Up to this many rows, ``json.dumps`` itself: a report after a new line then imports no
# msgspec (some 25 ms), and its pure-Python encoder takes 1 ms on a month of days, 10 ms
# on 400 session rows, 16.5 ms on 800 (msgspec: 2 ms once imported, 26 ms to import).
PLAIN_ROWS = 1000


def dumps(data: object) -> str:
    """``json.dumps(data, indent=2)``, byte for byte: itself for a report of a few rows,
    else ``dumps_fast``."""
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or len(rows) <= PLAIN_ROWS:
        return json.dumps(data, indent=2)
    return dumps_fast(data)


def dumps_fast(data: object) -> str:
    """``json.dumps(data, indent=2)``, byte for byte, written by msgspec."""
    import msgspec

    try:
        raw = msgspec.json.encode(data)
    except (msgspec.EncodeError, TypeError, OverflowError, UnicodeEncodeError):
        return json.dumps(data, indent=2)
    text = _python_numbers(msgspec.json.format(raw, indent=2) + b"\n")[:-1]
    if text.isascii():
        return text.decode("ascii").replace("\x7f", "\\u007f")
    return (text.decode("utf-8").replace("\x7f", "\\u007f")
            .encode("ascii", "ccspend-json-escape").decode("ascii"))


def dumps_with_rows(data: dict, rows: list, end: str = "") -> list:
    """``dumps(data) + end`` in pieces (``bytes``-like, ASCII, to be written one after
    another), the items of its top-level ``"rows"`` list given as JSON text in pieces,
    as ``json.dumps(indent=2)`` writes them (``Report.rows_json``: from
    ``reports.session_rows``): the megabytes of rows are never copied here."""
    text = dumps({**data, "rows": []})
    head, found, tail = text.partition('\n  "rows": [],\n')
    if not found or not any(rows):  # never for a report: "rows" is followed by "totals"
        listed = json.loads(b"".join([b"[", *rows, b"]"]))
        return [(dumps({**data, "rows": listed}) + end).encode("ascii")]
    return [f'{head}\n  "rows": [\n'.encode("ascii"), *rows,
            f"\n  ],\n{tail}{end}".encode("ascii")]


def text_of(out: str | list) -> str:
    """A renderer's output as one string (``dumps_with_rows`` gives pieces)."""
    return out if isinstance(out, str) else b"".join(out).decode("ascii")


def _python_numbers(text: bytes) -> bytes:
    """``text`` with each number that is the value of its line written as ``repr``."""
    parts = []
    done = 0
    hits = sorted(m.start() for pattern in (_EXPONENT, _SMALL) for m in pattern.finditer(text))
    for at in hits:
        start = text.rfind(b"\n", 0, at) + 1
        if start < done:
            continue  # a second hit on a line already looked at
        end = text.find(b"\n", at)
        line = _NUMBER_LINE.fullmatch(text, start, end)
        if line is None:
            continue  # text inside a string
        token = line.group(1)
        if b"." not in token and b"e" not in token and b"E" not in token:
            continue
        parts += (text[done:line.start(1)], repr(float(token)).encode())
        done = line.end(1)
    if not parts:
        return text
    parts.append(text[done:])
    return b"".join(parts)


def _escape(exc: UnicodeEncodeError) -> tuple[str, int]:
    """``ensure_ascii``'s escapes for a run of characters ASCII cannot encode."""
    out = []
    for ch in exc.object[exc.start:exc.end]:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), exc.end


codecs.register_error("ccspend-json-escape", _escape)
