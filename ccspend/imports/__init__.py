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
    # The file for the store's bulk CSV reader (the generic CSV's), or None.
    bulk: Callable[[Path], BulkCsv] | None = None


@dataclass(frozen=True)
class BulkCsv:
    """A CSV for the store's bulk reader (``store.csv_bulk``): its header, and the rule
    for one row the bulk reader leaves to Python."""

    path: Path
    names: list[str]  # the normalised header
    # one row's cells (padded to the header) -> (key text, start (ISO), provider, model,
    # project, task, input, cache write, cache read, output, cost text or None), or None
    # for a blank row; raises on a bad row (the whole file is then read the exact way)
    row: Callable[[list[str]], tuple | None]


__all__ = ["BulkCsv", "ExportFormatError", "Format", "UsageRow", "SNIFF_BYTES"]
