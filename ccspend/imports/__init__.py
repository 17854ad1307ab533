"""Provider usage exports: detect a file's format and read it into ``UsageRow``s.

Each format module (``anthropic``, ``anthropic_console``, ``openai``,
``openrouter``, ``generic_csv``) exposes ``FORMATS``, a list of ``Format``;
``formats.detect`` tries each one's ``sniff`` on the file's first bytes. Parsers
read by field or header name, never by position, since column order drifts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ccspend.core.errors import CcspendError
from ccspend.imports.records import UsageRow

SNIFF_BYTES = 64 * 1024


class ExportFormatError(CcspendError):
    """A file that is not any known export, or one of a known format that is broken."""


@dataclass(frozen=True)
class Format:
    name: str  # the value of UsageRow.source, e.g. 'anthropic-usage-api'
    provider: str  # 'anthropic', 'openai', 'openrouter', or '' when rows say
    description: str  # one line for `ccspend import --help` and the README
    sniff: Callable[[str, bytes], bool]  # (file name, first SNIFF_BYTES) -> is it mine
    parse: Callable[[Path], Iterator[UsageRow]]
    # The rows as flat tuples (records.FLAT_FIELDS), in bounded memory; None: each
    # of parse's rows, flattened.
    stream: Callable[[Path], Iterator[tuple]] | None = None


__all__ = ["ExportFormatError", "Format", "UsageRow", "SNIFF_BYTES"]
