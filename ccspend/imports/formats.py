"""Which export a file is: every format module's ``Format``s, and the sniffing over them.

Modules are imported one by one and a missing one is skipped, so a format still
being written never breaks the import of the others. A file is read only by the
one format that recognises it: none or several is an error naming the file (and
the candidates), since guessing would count someone's bill wrong; ``--format``
settles it by hand.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ccspend.imports import SNIFF_BYTES, BulkCsv, ExportFormatError, Format
from ccspend.imports.records import UsageRow, flat

_MODULES = ("anthropic", "anthropic_console", "openai", "openrouter", "generic_csv")


def _load() -> list[Format]:
    found: list[Format] = []
    for name in _MODULES:
        try:
            module = importlib.import_module(f"ccspend.imports.{name}")
        except ImportError:
            continue
        found.extend(getattr(module, "FORMATS", []))
    return found


FORMATS: list[Format] = _load()


def by_name(name: str) -> Format:
    """The format called ``name`` (``--format``), or an error listing the known ones."""
    for f in FORMATS:
        if f.name == name:
            return f
    known = ", ".join(f.name for f in FORMATS)
    raise ExportFormatError(f"unknown format {name!r}", hint=f"known formats: {known}")


def detect(path: Path) -> Format:
    """The one format whose sniff recognises the file's first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except IsADirectoryError:
        raise ExportFormatError(f"{path}: is a folder, not an export file") from None
    except OSError as exc:
        raise ExportFormatError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    hits = [f for f in FORMATS if _sniffs(f, path, head)]
    if not hits:
        raise ExportFormatError(
            f"{path}: not a known export format",
            hint="see ccspend import --help for the formats; --format NAME to choose one",
        )
    if len(hits) > 1:
        names = ", ".join(f.name for f in hits)
        raise ExportFormatError(
            f"{path}: could be any of {names}", hint="pass --format NAME to choose one"
        )
    return hits[0]


def _sniffs(fmt: Format, path: Path, head: bytes) -> bool:
    try:
        return bool(fmt.sniff(path.name, head))
    except Exception:  # noqa: BLE001 - a sniff that trips over odd bytes says "not mine"
        return False


def read(path: Path, fmt: Format) -> list[UsageRow]:
    """Every row of the file, parsed completely (a broken file raises before any use)."""
    with _errors(path, fmt):
        return list(fmt.parse(path))


def stream(path: Path, fmt: Format) -> Iterator[tuple]:
    """The file's rows as flat tuples (``records.FLAT_FIELDS``), one at a time where the
    format can (the generic CSV); the same errors as ``read``, raised where met."""
    with _errors(path, fmt):
        if fmt.stream is not None:
            yield from fmt.stream(path)
        else:
            for row in fmt.parse(path):
                yield flat(row)


def bulk(path: Path, fmt: Format) -> BulkCsv:
    """The file for the store's bulk CSV reader (``fmt.bulk``), its header checked; the
    same errors as ``read``."""
    assert fmt.bulk is not None
    with _errors(path, fmt):
        return fmt.bulk(path)


@contextmanager
def _errors(path: Path, fmt: Format):
    """A file that cannot be read, or is not of its format, as one ``ExportFormatError``."""
    try:
        yield
    except ExportFormatError:
        raise
    except OSError as exc:
        raise ExportFormatError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ExportFormatError(f"{path}: not a valid {fmt.name} file: {exc}") from None


__all__ = ["FORMATS", "bulk", "by_name", "detect", "read", "stream"]
