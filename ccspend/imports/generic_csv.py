"""The generic usage CSV: for any agent, proxy or provider ccspend has no parser for.

Write one row per request (or per bucket of your choosing), comma-separated,
UTF-8 (a byte-order mark is fine), any line ending. Columns are found by header
name, in any order, case-insensitively; columns not listed here are ignored.

| column               | required | meaning                                         |
|----------------------|----------|-------------------------------------------------|
| `timestamp`          | yes      | ISO 8601 (see below)                            |
| `provider`           | no       | `anthropic`, `openai`, ...; empty: `other`      |
| `model`              | yes      | as the provider names it                        |
| `input_tokens`       | yes      | uncached input only: no cache reads or writes   |
| `output_tokens`      | yes      | including reasoning tokens                      |
| `cache_read_tokens`  | no       | input read from the prompt cache                |
| `cache_write_tokens` | no       | input written to the cache (5-minute writes)    |
| `cost_usd`           | no       | dollars billed, e.g. `0.0123`; empty: not known |
| `project`            | no       | any label                                       |
| `task`               | no       | any label                                       |

Timestamps are ISO 8601: `2026-09-01T10:02:11Z`, `2026-09-01 12:02:11+02:00`;
no offset means UTC, and a plain date (`2026-09-01`) means 00:00 UTC.
Counts are whole numbers, zero or more; an empty optional count is 0. Example:

    timestamp,provider,model,input_tokens,output_tokens,cache_read_tokens,cost_usd,project
    2026-09-01T10:02:11Z,openai,gpt-5.2-codex,1200,340,8000,0.0191,billing-api

Importing the same file again, or a later export that adds rows, counts nothing
twice: a row is known by all of its values and by how many identical rows come
before it in the file, so two identical rows in one file both count. A row whose
values change between two exports is a different row.

This module also holds the CSV and value readers the Anthropic Console parsers
share: strict, so that a malformed file stops the import with the file and line
rather than adding wrong numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from ccspend.imports import BulkCsv, ExportFormatError, Format
from ccspend.imports.records import UsageRow, content_prefix, occurrence_key

SOURCE = "generic-csv"
COLUMNS = ("timestamp", "provider", "model", "input_tokens", "output_tokens",
           "cache_read_tokens", "cache_write_tokens", "cost_usd", "project", "task")
REQUIRED = ("timestamp", "model", "input_tokens", "output_tokens")

# Sanity bounds: a count or amount past these is a broken file, not usage, and
# would overflow the store's integer and decimal columns.
MAX_COUNT = 10**15
MAX_AMOUNT = Decimal(10) ** 14

_COUNT = re.compile(r"\d{1,18}(?:\.0*)?")
_AMOUNT = re.compile(r"(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][+-]?\d{1,3})?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EXTRA = "\x00extra"
_BOM = b"\xef\xbb\xbf"

T = TypeVar("T")


# --- errors ------------------------------------------------------------------

def export_error(path: Path | str, message: str) -> ExportFormatError:
    """The one-line error for a broken file: its path first, then what and where."""
    text = f"{path}: {message}".replace("\r", "\\r").replace("\n", "\\n")
    return ExportFormatError(text)


def show(value: Any) -> str:
    """A value from the file, quoted and cut short, for an error message."""
    text = repr(value)
    return text if len(text) <= 42 else text[:40] + "..."


# --- values --------------------------------------------------------------------
# Each raises ValueError with a short reason; callers add the file and place.

def parse_count(text: str) -> int:
    """A token or request count: digits only (``12`` or ``12.0``), zero or more."""
    s = text.strip()
    if _COUNT.fullmatch(s):
        n = int(s.partition(".")[0])
        if n > MAX_COUNT:
            raise ValueError(f"implausibly large count {show(text)}")
        return n
    if s.startswith("-") and _COUNT.fullmatch(s[1:].strip()):
        raise ValueError(f"negative count {show(text)}")
    raise ValueError(f"not a whole number: {show(text)}")


def parse_amount(text: str) -> Decimal:
    """A non-negative decimal as written (``0.14``, ``123.78912``, ``1e-05``), never via float."""
    s = text.strip()
    if not _AMOUNT.fullmatch(s):
        if s.startswith("-") and _AMOUNT.fullmatch(s[1:].strip()):
            raise ValueError(f"negative amount {show(text)}")
        raise ValueError(f"not a decimal number: {show(text)}")
    value = Decimal(s)
    if value > MAX_AMOUNT:
        raise ValueError(f"implausibly large amount {show(text)}")
    return value


def parse_label(text: str) -> str:
    """A name or label as written; control characters (NUL, ...) mean a broken file."""
    if _CONTROL.search(text):
        raise ValueError(f"control character in {show(text)}")
    return text


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 to an aware UTC datetime; no offset means UTC, a plain date means 00:00."""
    try:
        t = datetime.fromisoformat(text.strip())
        if t.tzinfo is None:
            return t.replace(tzinfo=UTC)
        return t.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"not an ISO 8601 time: {show(text)}") from None


def parse_day(text: str) -> tuple[datetime, datetime]:
    """A UTC day (``2026-08-04``, or midnight UTC written as a time) as [start, end)."""
    start = parse_timestamp(text)
    if (start.hour, start.minute, start.second, start.microsecond) != (0, 0, 0, 0):
        raise ValueError(f"not a UTC date: {show(text)}")
    try:
        return start, start + timedelta(days=1)
    except OverflowError:
        raise ValueError(f"date out of range: {show(text)}") from None


# --- CSV -----------------------------------------------------------------------

def header_names(head: bytes) -> set[str]:
    """The normalised column names of a CSV's first line; empty when it is not one."""
    try:
        text = head.removeprefix(_BOM).decode("utf-8", errors="replace")
        first = text.splitlines()[0] if text else ""
        row = next(csv.reader([first]), [])
        return {_normalise(name) for name in row}
    except Exception:  # sniffing must never raise, whatever the bytes
        return set()


def read_csv(path: Path, required: Iterable[str],
             what: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """A CSV's normalised header and its rows as ``(line number, {column: text})``.

    Header names are stripped and lower-cased. Blank rows are skipped; a row with
    more fields than the header is an error (an unquoted comma in a value shifts
    every column after it), one with fewer is padded with empty strings. Every
    failure is an ``ExportFormatError`` naming the file.
    """
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=_EXTRA, restval="")
    try:
        header = reader.fieldnames
    except csv.Error as e:
        raise export_error(path, f"line 1: {e}") from None
    if not header:
        raise export_error(path, f"not {what}: the file is empty")
    names = _checked_names(path, header, required, what)
    reader.fieldnames = names
    return names, _rows(path, reader)


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise export_error(path, f"cannot read it: {e.strerror or e}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise export_error(path, f"line {line}: not UTF-8 text") from None


def stream_csv(path: Path, required: Iterable[str],
               what: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """``read_csv`` one row at a time, in bounded memory: the header and an iterator of
    ``(line number, cells)``, each row padded with empty strings to the header's length.

    The same rules and messages as ``read_csv`` (blank rows skipped, more fields than
    the header refused); a byte that is not UTF-8 stops the rows where it is met,
    with its line.
    """
    names, text, reader = _open_csv(path, required, what)
    return names, _stream_rows(path, text, reader, names)


def csv_header(path: Path, required: Iterable[str], what: str) -> list[str]:
    """A CSV's normalised header, checked as ``stream_csv`` checks it (same errors)."""
    names, text, _ = _open_csv(path, required, what)
    text.close()
    return names


def _open_csv(path: Path, required: Iterable[str], what: str) -> tuple[list[str], Any, Any]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as e:
        raise export_error(path, f"cannot read it: {e.strerror or e}") from None
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        try:
            header = next(reader, None)
        except csv.Error as e:
            raise export_error(path, f"line 1: {e}") from None
        except UnicodeDecodeError:
            raise _not_utf8(path) from None
        except OSError as e:
            raise export_error(path, f"cannot read it: {e.strerror or e}") from None
        if not header:
            raise export_error(path, f"not {what}: the file is empty")
        names = _checked_names(path, header, required, what)
    except BaseException:
        text.close()
        raise
    return names, text, reader


def _checked_names(path: Path, header: list[str], required: Iterable[str],
                   what: str) -> list[str]:
    names = [_normalise(h) for h in header]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise export_error(path, f"line 1: column {name!r} appears twice")
        seen.add(name)
    missing = [c for c in required if c not in seen]
    if missing:
        raise export_error(path, f"not {what}: line 1 has no column {', '.join(missing)}")
    return names


def _stream_rows(path: Path, text: io.TextIOWrapper, reader: Any,
                 names: list[str]) -> Iterator[tuple[int, list[str]]]:
    width = len(names)
    # A blank row is one whose cells, as DictReader keeps them (the last of a
    # repeated unnamed column), are all blank.
    last = {name: i for i, name in enumerate(names)}
    check = sorted(last.values())
    pad = [""] * width
    try:
        for row in reader:
            if not row:
                continue
            n = len(row)
            if n > width:
                raise export_error(path, f"line {reader.line_num}: more fields than the header has")
            if n < width:
                row.extend(pad[n:])
            for i in check:
                if row[i].strip():
                    break
            else:
                continue
            yield reader.line_num, row
    except csv.Error as e:
        raise export_error(path, f"line {reader.line_num}: {e}") from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except OSError as e:
        raise export_error(path, f"cannot read it: {e.strerror or e}") from None
    finally:
        text.close()


def _not_utf8(path: Path) -> ExportFormatError:
    """The error for a file that is not UTF-8, naming the line of its first bad byte."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    line += chunk[: e.start].count(b"\n")
                    return export_error(path, f"line {line}: not UTF-8 text")
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        pass
    except OSError as e:
        return export_error(path, f"cannot read it: {e.strerror or e}")
    return export_error(path, f"line {line}: not UTF-8 text")


def _rows(path: Path, reader: csv.DictReader) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        for row in reader:
            if row.pop(_EXTRA, None) is not None:
                raise export_error(path, f"line {reader.line_num}: more fields than the header has")
            if not any(v.strip() for v in row.values() if v):
                continue
            yield reader.line_num, row
    except csv.Error as e:
        raise export_error(path, f"line {reader.line_num}: {e}") from None


def _normalise(name: str) -> str:
    return name.strip().lower()


def cell(path: Path, line: int, row: dict[str, str], column: str, convert: Callable[[str], T],
         default: T | None = None, *, required: bool = False) -> T | None:
    """One cell, converted; empty gives ``default``, or an error when ``required``."""
    text = (row.get(column) or "").strip()
    if not text:
        if required:
            raise export_error(path, f"line {line}: {column} is empty")
        return default
    try:
        return convert(text)
    except ValueError as e:
        raise export_error(path, f"line {line}: {column}: {e}") from None


def label_cell(path: Path, line: int, row: dict[str, str], column: str,
               required: bool = False) -> str | None:
    """A label cell as written (stripped); None when empty or absent."""
    return cell(path, line, row, column, parse_label, required=required)


# --- the generic format ----------------------------------------------------------

def sniff(name: str, head: bytes) -> bool:
    return set(REQUIRED) <= header_names(head)


def parse(path: Path) -> Iterator[UsageRow]:
    _, rows = read_csv(path, REQUIRED, "a generic usage CSV")
    seen: Counter[tuple[Any, ...]] = Counter()
    for line, row in rows:
        yield _row(path, line, row, seen)


def _values(path: Path, line: int, row: dict[str, str]) -> tuple[Any, ...]:
    """One row's values, checked cell by cell in column order (the first bad one is the
    error): (start, provider, model, project, task, [4 counts], cost)."""
    start = cell(path, line, row, "timestamp", parse_timestamp, required=True)
    model = label_cell(path, line, row, "model", required=True)
    counts = [cell(path, line, row, c, parse_count, 0, required=c in REQUIRED)
              for c in ("input_tokens", "cache_write_tokens", "cache_read_tokens",
                        "output_tokens")]
    cost = cell(path, line, row, "cost_usd", parse_amount)
    provider = (label_cell(path, line, row, "provider") or "other").lower()
    project = label_cell(path, line, row, "project")
    task = label_cell(path, line, row, "task")
    return start, provider, model, project, task, counts, cost


def _row(path: Path, line: int, row: dict[str, str], seen: Counter[tuple[Any, ...]]) -> UsageRow:
    start, provider, model, project, task, counts, cost = _values(path, line, row)
    # The row's identity is its content plus how many identical rows preceded it:
    # stable across re-exports, and the nth copy of a repeated row is its own row.
    cost_text = "" if cost is None else str(cost.normalize())
    content = (start, provider, model, project, task, *counts, cost_text)
    occurrence = seen[content]
    seen[content] += 1
    return UsageRow(
        source=SOURCE, provider=provider, kind="usage", start=start, end=None, model=model,
        project=project, task=task,
        input_tokens=counts[0], cache_write_5m_tokens=counts[1],
        cache_read_tokens=counts[2], output_tokens=counts[3], cost_usd=cost,
        ident=(provider, "/".join(map(str, counts)), cost_text, str(occurrence)),
    )


# --- streaming: the same rows, flat, in bounded memory ---------------------------------

def stream(path: Path) -> Iterator[tuple]:
    """The file's rows as ``records.FLAT_FIELDS`` tuples, one at a time.

    The same values and keys as ``parse``, but numbered: each row carries the key of
    its content's first copy, and the store numbers the copies (a Counter of every
    row's content is what made a large file cost gigabytes). A row is first read by a
    fast path; any row it does not accept is read again by ``_values``, whose error
    names the line and the column.
    """
    names, rows = stream_csv(path, REQUIRED, "a generic usage CSV")
    read = _reader(path, names)
    for line, row in rows:
        prefix, start_iso, provider, model, project, task, a, b, c, d, cost = read(line, row)
        yield (occurrence_key(prefix, 0), True, SOURCE, provider, "usage", start_iso, None,
               model, None, None, project, task, None, None, None, a, b, 0, c, d, 0, None, cost)


def _reader(path: Path, names: list[str]) -> Callable[[int, list[str]], tuple]:
    """A row's cells (padded to the header) -> (key text, start (ISO), provider, model,
    project, task, input, cache write, cache read, output, cost text or None)."""
    width = len(names)
    where = {name: i for i, name in enumerate(names)}
    ts, model_i, inp, out = (where[c] for c in REQUIRED)
    # a column the file lacks reads the empty cell appended to every row
    cw, cr, cost_i, prov, proj, task_i = (
        where.get(c, width) for c in ("cache_write_tokens", "cache_read_tokens", "cost_usd",
                                      "provider", "project", "task"))
    fromiso, utc, control = datetime.fromisoformat, UTC, _CONTROL.search

    def read(line: int, row: list[str]) -> tuple:
        row = [*row, ""]
        try:
            start = fromiso(row[ts].strip())
            start = start.replace(tzinfo=utc) if start.tzinfo is None else start.astimezone(utc)
            model = row[model_i].strip()
            provider = row[prov].strip()
            project = row[proj].strip()
            task = row[task_i].strip()
            if not model or control(model + provider + project + task):
                raise ValueError
            a = _fast_count(row[inp], True)
            b = _fast_count(row[cw], False)
            c = _fast_count(row[cr], False)
            d = _fast_count(row[out], True)
            cost_cell = row[cost_i].strip()
            cost = parse_amount(cost_cell) if cost_cell else None
            start_iso = start.isoformat()
        except (ValueError, TypeError, OverflowError):
            start, provider, model, project, task, (a, b, c, d), cost = _values(
                path, line, dict(zip(names, row, strict=False)))
            start_iso = start.isoformat()
        provider = provider.lower() if provider else "other"
        project = project or None
        task = task or None
        cost_text = "" if cost is None else str(cost.normalize())
        prefix = content_prefix(SOURCE, start_iso, model, project, task, provider,
                                f"{a}/{b}/{c}/{d}", cost_text)
        return (prefix, start_iso, provider, model, project, task, a, b, c, d,
                None if cost is None else str(cost))

    return read


def bulk(path: Path) -> BulkCsv:
    """The file for the store's bulk reader: its header (checked: a bad one raises here,
    as ``stream`` raises it) and the rule for a row the bulk reader leaves to Python."""
    names = csv_header(path, REQUIRED, "a generic usage CSV")
    read = _reader(path, names)
    check = sorted(set({name: i for i, name in enumerate(names)}.values()))

    def row(cells: list[str]) -> tuple | None:
        if not any(cells[i].strip() for i in check):
            return None  # a blank row, as stream_csv skips it
        return read(0, cells)

    return BulkCsv(path, names, row)


def _fast_count(text: str, required: bool) -> int:
    s = text.strip()
    if s.isdigit() and s.isascii() and len(s) < 16:  # below MAX_COUNT
        return int(s)
    if not s:
        if required:
            raise ValueError("empty")
        return 0
    return parse_count(s)


FORMATS = [
    Format(
        name=SOURCE,
        provider="",
        description="Generic usage CSV: timestamp, provider, model, input/output/cache "
                    "token columns, cost_usd, project, task",
        sniff=sniff,
        parse=parse,
        stream=stream,
        bulk=bulk,
    ),
]
