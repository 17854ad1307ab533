"""Text from a log made inert before it reaches a terminal.

A model id, a folder, a branch, a session id or a file name comes from a log
or an export, so it may carry an escape sequence (a screen clear, a window
title, an OSC 52 clipboard write), a C1 control (``\\x9b`` is a one-byte CSI),
a newline that forges a line of output, or a bidi override that shows text in
another order than it is. ``inert`` shows each such character as an escape
(``\\x1b``, ``\\u202e``) and keeps every other character, ordinary Unicode
included. A pure function on the standard library's ``re`` only, imported when a
text is not plain printable ASCII: the status line calls it on every keystroke, and
``re`` (with ``enum``) costs it some 10 ms to import.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

# C0 controls and DEL, C1 controls, the bidi marks, embeddings, overrides and isolates,
# the line and paragraph separators, and lone surrogates (which cannot even be encoded)
_UNSAFE_CLASS = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
# compiled on first use (``_pattern``): the two cost the status line 1.5 ms a call to
# compile at import, and its text (a model's name) is most often plain ASCII
_PATTERNS: dict = {}


def _pattern(newline: bool) -> re.Pattern:
    """The characters to escape (``newline``: all but the newline)."""
    pattern = _PATTERNS.get(newline)
    if pattern is None:
        import re

        unsafe = _UNSAFE_CLASS.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f") if newline \
            else _UNSAFE_CLASS  # fmt: skip
        pattern = _PATTERNS[newline] = re.compile(f"[{unsafe}]")
    return pattern


def _escape(m: re.Match) -> str:
    n = ord(m.group())
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def inert(text: object) -> str:
    """``text`` (made a string) with every control, bidi and separator character shown as
    an escape, so printing it moves no cursor, sets no title and writes no clipboard."""
    s = text if isinstance(text, str) else str(text)
    if s.isascii() and s.isprintable():  # no control, no DEL: nothing to escape
        return s
    unsafe = _pattern(False)
    return unsafe.sub(_escape, s) if unsafe.search(s) else s


def inert_lines(text: str) -> str:
    """``inert``, but newlines stay (a multi-line message of ccspend's own); ``text``
    itself when there is nothing to escape."""
    unsafe = _pattern(True)
    return unsafe.sub(_escape, text) if unsafe.search(text) else text
