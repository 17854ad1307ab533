"""Text from a log made inert before it reaches a terminal.

A model id, a folder, a branch, a session id or a file name comes from a log
or an export, so it may carry an escape sequence (a screen clear, a window
title, an OSC 52 clipboard write), a C1 control (``\\x9b`` is a one-byte CSI),
a newline that forges a line of output, or a bidi override that shows text in
another order than it is. ``inert`` shows each such character as an escape
(``\\x1b``, ``\\u202e``) and keeps every other character, ordinary Unicode
included. A pure function on the standard library's ``re`` only: the status
line calls it on every keystroke.
"""

from __future__ import annotations

import re

# C0 controls and DEL, C1 controls, the bidi marks, embeddings, overrides and isolates,
# the line and paragraph separators, and lone surrogates (which cannot even be encoded)
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(m: re.Match) -> str:
    n = ord(m.group())
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def inert(text: object) -> str:
    """``text`` (made a string) with every control, bidi and separator character shown as
    an escape, so printing it moves no cursor, sets no title and writes no clipboard."""
    s = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape, s) if _UNSAFE.search(s) else s


_UNSAFE_BUT_NEWLINE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def inert_lines(text: str) -> str:
    """``inert``, but newlines stay (a multi-line message of ccspend's own); ``text``
    itself when there is nothing to escape."""
    return _UNSAFE_BUT_NEWLINE.sub(_escape, text) if _UNSAFE_BUT_NEWLINE.search(text) else text
