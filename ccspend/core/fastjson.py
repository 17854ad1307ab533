"""``json.loads`` without importing ``json``: for the paths that start on every keystroke.

``import json`` imports ``re`` (the patterns of its decoder and encoder), and ``re``
imports ``enum``: on this project's 2-core machine some 10 ms of a status-line call,
more than the call's own work. The parser itself is C (``_json.make_scanner``, the
scanner ``json`` uses too); only the Python modules around it are skipped. So a
value parses to what ``json.loads`` returns, and whatever is not plain JSON text
(UTF-16 or UTF-32 bytes, no value, a BOM in a ``str``, trailing data, no C scanner
on this interpreter) is handed to ``json.loads`` itself, which raises its
usual error or parses it. Writing JSON stays with ``json``: the fast paths write
rarely, and import it then.
"""

from __future__ import annotations

_WS = " \t\n\r"  # JSON's whitespace, as json.decoder's WHITESPACE pattern has it


class _Context:
    """What the C scanner reads off a decoder: ``json.JSONDecoder()``'s defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__  # fmt: skip


try:
    from _json import make_scanner

    _scan = make_scanner(_Context())
except Exception:  # noqa: BLE001 - another interpreter, another scanner: json does it all
    _scan = None


def _slow(data):
    import json

    return json.loads(data)


def loads(data: str | bytes | bytearray):
    """``json.loads(data)``: the same value, or the same error."""
    if _scan is None:
        return _slow(data)
    if data.__class__ is str:
        text = data  # a leading BOM is no value: json's error, below
    elif isinstance(data, (bytes, bytearray)):
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # json reads UTF-8 with a BOM as utf-8-sig
        elif data[:1] in (b"\xfe", b"\xff") or b"\x00" in data[:4]:
            return _slow(data)  # UTF-16 or UTF-32
        text = data.decode("utf-8", "surrogatepass")
    else:
        return _slow(data)  # json's TypeError
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        return _slow(text)  # no value here: json's "Expecting value"
    if end != len(text) and text[end:].strip(_WS):
        return _slow(text)  # json's "Extra data"
    return value
