"""OpenAI usage and cost exports: the Admin API's pages and the dashboard's CSV downloads.

A module of its own because OpenAI splits input tokens differently from the
Claude Code log that ``UsageRow`` follows. OpenAI's ``input_tokens`` include the
cached and the cache-write tokens (API reference, ``UsageCompletionsResult``:
"The aggregated number of input tokens used, including cached and cache-write
tokens"), and ``input_uncached_tokens`` is what is left. So a row gets:

- ``cache_read_tokens`` = ``input_cached_tokens``;
- ``input_tokens`` = ``input_uncached_tokens`` where the export gives it, else
  ``input_tokens - input_cached_tokens - input_cache_write_tokens``;
- ``cache_write_5m_tokens`` = ``input_cache_write_tokens`` where given, else
  (when ``input_uncached_tokens`` is given) what remains of ``input_tokens`` after
  the uncached and cached parts, else 0. OpenAI has one cache-write count, not
  Anthropic's 5m/1h split: it goes in the first slot.

Every input token thus lands in exactly one field, cached ones never twice.
``output_tokens`` include reasoning tokens (OpenAI reports reasoning as a part of
output); audio and image tokens are parts of ``input_tokens``/``output_tokens``
in the current reference and are not added again.

Cost pages give ``amount.value`` in dollars as a JSON float: the JSON is read with
``parse_float=Decimal``, so ``0.06`` is exactly ``Decimal("0.06")``. Cost rows
carry no token counts (their ``quantity`` would repeat the usage export's); the
model is taken from a ``line_item`` such as ``"gpt-5, input_tokens"``.

Identity: a usage API page may be fetched twice (pagination, a later re-fetch of
today's bucket). Within one file a bucket seen again replaces the earlier one;
across files the row ``key`` is the same, so the store keeps it once. Two results
with the same dimensions inside one bucket, or two different CSV rows with the
same dimensions, cannot be told apart and are an error rather than a guess.

The small readers at the top (``load_json``, ``csv_rows``, ``count``, ``money``,
...) are shared with ``ccspend.imports.openrouter``.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ccspend.imports import ExportFormatError, Format
from ccspend.imports.records import UsageRow

PROVIDER = "openai"
USAGE_API = "openai-usage-api"
COSTS_API = "openai-costs-api"
USAGE_CSV = "openai-usage-csv"
COST_CSV = "openai-cost-csv"

USAGE_OBJECT = "organization.usage.completions.result"
COSTS_OBJECT = "organization.costs.result"

MAX_TOKENS = 10**15  # far beyond any bucket; keeps hostile values inside BIGINT sums
_MAX_UNIX = 253402300799  # 9999-12-31T23:59:59Z


# -- shared readers -------------------------------------------------------------


class Bad(ValueError):
    """A value that breaks the format; the caller adds where it was."""


def fail(path: Path, message: str, line: int | None = None) -> ExportFormatError:
    """The one-line error for a broken export: the file, the CSV line if any, what is wrong."""
    where = f"{path}, line {line}" if line is not None else str(path)
    return ExportFormatError(f"{where}: {message}")


def show(value: object) -> str:
    """A value quoted for a one-line message, cut short."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= 40 else text[:37] + "..."


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


def load_json(path: Path) -> object:
    """The file's JSON, floats as exact ``Decimal``s; any failure is an ``ExportFormatError``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fail(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise fail(path, "not UTF-8 text") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise fail(path, f"not valid JSON ({exc.msg}, {where})") from None
    except (ValueError, RecursionError) as exc:
        raise fail(path, f"not valid JSON ({show(str(exc))})") from None


def json_head(head: bytes) -> str | None:
    """The first bytes as text when they look like the start of a JSON document."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    return text if text[:1] in ("{", "[") else None


def header_name(cell: str) -> str:
    return cell.strip().lstrip("\ufeff").strip().lower()


def csv_header(head: bytes) -> set[str]:
    """The normalised column names of a CSV's first line (empty when it is not one)."""
    try:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        first = text.split("\n", 1)[0].rstrip("\r")
        cells = next(csv.reader([first]), [])
    except (csv.Error, ValueError):
        return set()
    return {header_name(c) for c in cells}


def csv_rows(
    path: Path, required: Iterable[str], one_of: Iterable[tuple[str, ...]] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: cell}) per data row; columns named in lower case.

    Columns are found by name, in any order. Blank lines are skipped; a row with
    more or fewer cells than the header (a shifted or truncated row) is an error.
    """
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise fail(path, f"cannot read the file ({exc.strerror or exc})") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                raise fail(path, "empty file: no header line")
            names = [header_name(c) for c in header]
            missing = [c for c in required if c not in names]
            missing += [" or ".join(group) for group in one_of if not set(group) & set(names)]
            if missing:
                raise fail(path, f"missing column {', '.join(missing)}", 1)
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(names):
                    raise fail(
                        path, f"{len(cells)} cells where the header has {len(names)}",
                        reader.line_num,
                    )
                row: dict[str, str] = {}
                for name, cell in zip(names, cells, strict=True):
                    row.setdefault(name, cell)  # a repeated column: the first one counts
                yield reader.line_num, row
        except csv.Error as exc:
            raise fail(path, f"not a readable CSV ({show(str(exc))})", reader.line_num) from None
        except UnicodeDecodeError:
            raise fail(path, "not UTF-8 text", reader.line_num + 1) from None
        except OSError as exc:
            raise fail(path, f"cannot read the file ({exc.strerror or exc})") from None


def _number(value: object, what: str) -> Decimal | int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise Bad(f"{what} is not a number ({show(value)})")
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise Bad(f"{what} is not a number ({show(value)})") from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Bad(f"{what} is not a finite number")
        value = Decimal(str(value))
    if isinstance(value, Decimal) and not value.is_finite():
        raise Bad(f"{what} is not a finite number ({show(value)})")
    return value


def count(value: object, what: str, required: bool = False) -> int:
    """A token or request count: a whole, non-negative number (JSON number or CSV text).

    ``None`` and a blank cell are 0 unless the count is required. Booleans,
    fractions, negative and absurdly large values are errors.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Bad(f"{what} is missing")
        return 0
    number = _number(value, what)
    if isinstance(number, Decimal):
        if number.adjusted() > 18:
            raise Bad(f"{what} is implausibly large ({show(number)})")
        if number != number.to_integral_value():
            raise Bad(f"{what} is not a whole number ({show(number)})")
        number = int(number)
    if number < 0:
        raise Bad(f"{what} is negative ({number})")
    if number > MAX_TOKENS:
        raise Bad(f"{what} is implausibly large ({number})")
    return number


def optional_count(value: object, what: str) -> int | None:
    """A count that may be absent (``None`` or a blank cell): then ``None``, not 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return count(value, what)


def money(value: object, what: str) -> Decimal | None:
    """Dollars, exact: a JSON number (already a ``Decimal``) or CSV text; blank is ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = _number(value, what)
    amount = Decimal(number) if isinstance(number, int) else number
    if amount.adjusted() > 15:
        raise Bad(f"{what} is implausibly large ({show(amount)})")
    if amount < 0:
        raise Bad(f"{what} is negative ({show(amount)})")
    return abs(amount) if amount == 0 else amount  # no "-0"


def text(value: object, what: str) -> str | None:
    """A name or id: a string, or ``None`` when absent or empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Bad(f"{what} is not text ({show(value)})")
    value = value.strip()
    return value or None


def flag(value: object, what: str) -> str | None:
    """A boolean dimension as 'true'/'false' (JSON true/false or CSV text), ``None`` if absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("", "true", "false"):
            return word or None
    raise Bad(f"{what} is not true or false ({show(value)})")


def ident(*parts: tuple[str, str | None]) -> tuple[str, ...]:
    """Extra identity from named dimensions that have a value, in a fixed order."""
    return tuple(f"{name}={value}" for name, value in parts if value is not None)


def unix_time(value: object, what: str) -> datetime:
    """Unix seconds (JSON number or CSV text) as an aware UTC datetime."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Bad(f"{what} is missing")
    try:
        seconds = count(value, what)
    except Bad:
        raise Bad(f"{what} is not a time in unix seconds ({show(value)})") from None
    if seconds > _MAX_UNIX:
        raise Bad(f"{what} is out of range ({seconds})")
    return datetime.fromtimestamp(seconds, UTC)


def iso_time(value: object, what: str) -> datetime:
    """An ISO 8601 date or time as an aware UTC datetime (one without a zone is UTC)."""
    if not isinstance(value, str) or not value.strip():
        raise Bad(f"{what} is missing")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Bad(f"{what} is not a date or time ({show(value)})") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def unique(path: Path, rows: Iterable[tuple[int, UsageRow]]) -> Iterator[UsageRow]:
    """CSV rows once each: an exact repeat is dropped, a conflicting one is an error."""
    seen: dict[str, tuple[int, UsageRow]] = {}
    for line, row in rows:
        earlier = seen.get(row.key)
        if earlier is None:
            seen[row.key] = (line, row)
            yield row
        elif earlier[1] != row:
            raise fail(path, f"the same bucket as line {earlier[0]}, with other numbers", line)


# -- the Admin API's pages ------------------------------------------------------

_PAGE = re.compile(r'"object"\s*:\s*"page"')


def _sniff_page(head: bytes, marker: str, empty_ok: bool) -> bool:
    try:
        body = json_head(head)
        if body is None:
            return False
        if f'"{marker}"' in body:
            return True
        # a page of empty buckets names no result type: read it as usage (no rows)
        return (empty_ok and _PAGE.search(body) is not None and '"bucket"' in body
                and '"organization.' not in body)
    except Exception:  # a sniff never raises
        return False


def _sniff_usage_api(name: str, head: bytes) -> bool:
    return _sniff_page(head, USAGE_OBJECT, empty_ok=True)


def _sniff_costs_api(name: str, head: bytes) -> bool:
    return _sniff_page(head, COSTS_OBJECT, empty_ok=False)


def _pages(doc: object) -> list:
    if isinstance(doc, dict):
        return [doc]
    if isinstance(doc, list):
        return doc
    raise Bad("not an API page (an object with data) nor a list of pages")


def _bucket(bucket: object) -> tuple[datetime, datetime | None, list]:
    if not isinstance(bucket, dict):
        raise Bad("not an object")
    start = unix_time(bucket.get("start_time"), "start_time")
    end = None
    if bucket.get("end_time") is not None:
        end = unix_time(bucket.get("end_time"), "end_time")
        if end <= start:
            raise Bad("end_time is not after start_time")
    results = bucket.get("results", bucket.get("result"))
    if not isinstance(results, list):
        raise Bad("no results list")
    return start, end, results


ResultParser = Callable[[object, datetime, datetime | None], UsageRow]


def _page_rows(path: Path, doc: object, make: ResultParser) -> Iterator[UsageRow]:
    """Rows of every result of every bucket; a bucket seen again replaces the earlier one."""
    rows: dict[str, UsageRow] = {}
    try:
        pages = _pages(doc)
    except Bad as exc:
        raise fail(path, str(exc)) from None
    for p, page in enumerate(pages, 1):
        at_page = f"page {p}, " if len(pages) > 1 else ""
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            where = f"page {p}" if len(pages) > 1 else "the page"
            raise fail(path, f"{where} has no data list")
        for b, bucket in enumerate(page["data"], 1):
            try:
                start, end, results = _bucket(bucket)
                in_bucket: set[str] = set()
                for r, result in enumerate(results, 1):
                    try:
                        row = make(result, start, end)
                    except Bad as exc:
                        raise Bad(f"result {r}: {exc}") from None
                    if row.key in in_bucket:
                        raise Bad(f"result {r} has the same dimensions as an earlier one")
                    in_bucket.add(row.key)
                    rows.pop(row.key, None)  # a later reading of the bucket wins
                    rows[row.key] = row
            except Bad as exc:
                raise fail(path, f"{at_page}bucket {b}: {exc}") from None
    return iter(list(rows.values()))


def _check_object(result: dict, expected: str) -> None:
    kind = result.get("object")
    if kind is not None and kind != expected:
        raise Bad(f"object is {show(kind)}, not {expected!r}")


def split_input(
    total: int, cached: int, uncached: int | None, write: int | None
) -> tuple[int, int, int]:
    """(uncached, cached, cache write) from OpenAI's input counts; see the module docstring."""
    if cached > total:
        raise Bad(f"input_cached_tokens ({cached}) exceed input_tokens ({total})")
    if uncached is None:
        write = write or 0
        uncached = total - cached - write
        if uncached < 0:
            raise Bad(f"cached and cache-write tokens ({cached} + {write}) exceed "
                      f"input_tokens ({total})")
    else:
        if write is None:
            write = total - cached - uncached
        if write < 0 or uncached + cached + write > total:
            raise Bad(f"input_uncached_tokens ({uncached}) + input_cached_tokens ({cached}) "
                      f"exceed input_tokens ({total})")
    return uncached, cached, write


def _usage_result(result: object, start: datetime, end: datetime | None) -> UsageRow:
    if not isinstance(result, dict):
        raise Bad("not an object")
    _check_object(result, USAGE_OBJECT)
    g = result.get
    uncached, cached, write = split_input(
        count(g("input_tokens"), "input_tokens", required=True),
        count(g("input_cached_tokens"), "input_cached_tokens"),
        optional_count(g("input_uncached_tokens"), "input_uncached_tokens"),
        optional_count(g("input_cache_write_tokens"), "input_cache_write_tokens"),
    )
    return UsageRow(
        source=USAGE_API, provider=PROVIDER, kind="usage", start=start, end=end,
        model=text(g("model"), "model"),
        project=text(g("project_id"), "project_id"),
        api_key=text(g("api_key_id"), "api_key_id"),
        service_tier=text(g("service_tier"), "service_tier"),
        input_tokens=uncached,
        cache_write_5m_tokens=write,
        cache_read_tokens=cached,
        output_tokens=count(g("output_tokens"), "output_tokens", required=True),
        requests=optional_count(g("num_model_requests"), "num_model_requests"),
        ident=ident(
            ("user", text(g("user_id"), "user_id")),
            ("batch", flag(g("batch"), "batch")),
            ("api_source", text(g("api_source"), "api_source")),
        ),
    )


def _check_currency(value: object, what: str) -> None:
    currency = text(value, what)
    if currency is not None and currency.lower() != "usd":
        raise Bad(f"{what} is {show(currency)}; only usd is read")


def line_item_model(item: str | None) -> str | None:
    """The model of a token line item (``"gpt-5, input_tokens"`` -> ``"gpt-5"``), else None."""
    if item is None:
        return None
    head, sep, tail = item.rpartition(",")
    head = head.strip()
    return head if sep and head and "token" in tail else None


def _cost_result(result: object, start: datetime, end: datetime | None) -> UsageRow:
    if not isinstance(result, dict):
        raise Bad("not an object")
    _check_object(result, COSTS_OBJECT)
    g = result.get
    amount = g("amount")
    if not isinstance(amount, dict):
        raise Bad("no amount")
    _check_currency(amount.get("currency"), "amount.currency")
    value = money(amount.get("value"), "amount.value")
    if value is None:
        raise Bad("amount.value is missing")
    item = text(g("line_item"), "line_item")
    return UsageRow(
        source=COSTS_API, provider=PROVIDER, kind="cost", start=start, end=end,
        model=line_item_model(item),
        project=text(g("project_id"), "project_id"),
        api_key=text(g("api_key_id"), "api_key_id"),
        line_item=item,
        cost_usd=value,
        ident=ident(
            ("user", text(g("user_id"), "user_id")),
            ("api_source", text(g("api_source"), "api_source")),
        ),
    )


def parse_usage_api(path: Path) -> Iterator[UsageRow]:
    """Rows of a ``/v1/organization/usage/completions`` page, or a JSON list of pages."""
    return _page_rows(path, load_json(path), _usage_result)


def parse_costs_api(path: Path) -> Iterator[UsageRow]:
    """Rows of a ``/v1/organization/costs`` page, or a JSON list of pages."""
    return _page_rows(path, load_json(path), _cost_result)


# -- the dashboard's CSV downloads ----------------------------------------------

_TIME_COLUMNS = ("start_time", "end_time", "start_time_iso", "end_time_iso")
_STARTS = (("start_time", "start_time_iso"),)


def _sniff_usage_csv(name: str, head: bytes) -> bool:
    columns = csv_header(head)
    return {*_TIME_COLUMNS, "input_tokens", "output_tokens"} <= columns


def _sniff_cost_csv(name: str, head: bytes) -> bool:
    columns = csv_header(head)
    return {*_TIME_COLUMNS, "amount_value", "line_item"} <= columns


def _csv_time(cells: dict[str, str], unix: str, iso: str) -> datetime | None:
    if cells.get(unix, "").strip():
        return unix_time(cells[unix], unix)
    if cells.get(iso, "").strip():
        return iso_time(cells[iso], iso)
    return None


def _csv_span(cells: dict[str, str]) -> tuple[datetime, datetime | None]:
    start = _csv_time(cells, "start_time", "start_time_iso")
    if start is None:
        raise Bad("start_time is missing")
    end = _csv_time(cells, "end_time", "end_time_iso")
    if end is not None and end <= start:
        raise Bad("end_time is not after start_time")
    return start, end


def _empty_bucket(cells: dict[str, str]) -> bool:
    """A bucket with no results: the download writes its times and nothing else."""
    return not any(v.strip() for k, v in cells.items() if k not in _TIME_COLUMNS)


def _cell(cells: dict[str, str], name: str) -> str | None:
    return text(cells.get(name), name)


def _usage_csv_row(cells: dict[str, str]) -> UsageRow:
    start, end = _csv_span(cells)
    uncached, cached, write = split_input(
        count(cells["input_tokens"], "input_tokens"),
        count(cells.get("input_cached_tokens"), "input_cached_tokens"),
        optional_count(cells.get("input_uncached_tokens"), "input_uncached_tokens"),
        optional_count(cells.get("input_cache_write_tokens"), "input_cache_write_tokens"),
    )
    return UsageRow(
        source=USAGE_CSV, provider=PROVIDER, kind="usage", start=start, end=end,
        model=_cell(cells, "model"),
        project=_cell(cells, "project_id") or _cell(cells, "project_name"),
        api_key=_cell(cells, "api_key_id") or _cell(cells, "api_key_name"),
        service_tier=_cell(cells, "service_tier"),
        input_tokens=uncached,
        cache_write_5m_tokens=write,
        cache_read_tokens=cached,
        output_tokens=count(cells["output_tokens"], "output_tokens"),
        requests=optional_count(cells.get("num_model_requests"), "num_model_requests"),
        ident=ident(
            ("user", _cell(cells, "user_id") or _cell(cells, "user_email")),
            ("batch", flag(cells.get("batch"), "batch")),
            ("api_source", _cell(cells, "api_source")),
            ("organization", _cell(cells, "organization_id")),
        ),
    )


def _cost_csv_row(cells: dict[str, str]) -> UsageRow:
    start, end = _csv_span(cells)
    _check_currency(cells.get("amount_currency"), "amount_currency")
    value = money(cells["amount_value"], "amount_value")
    if value is None:
        raise Bad("amount_value is missing")
    item = _cell(cells, "line_item")
    return UsageRow(
        source=COST_CSV, provider=PROVIDER, kind="cost", start=start, end=end,
        model=line_item_model(item),
        project=_cell(cells, "project_id") or _cell(cells, "project_name"),
        api_key=_cell(cells, "api_key_id") or _cell(cells, "api_key_name"),
        line_item=item,
        cost_usd=value,
        ident=ident(
            ("user", _cell(cells, "user_id") or _cell(cells, "user_email")),
            ("api_source", _cell(cells, "api_source")),
            ("organization", _cell(cells, "organization_id")),
        ),
    )


def _csv_parse(
    path: Path, required: tuple[str, ...], make: Callable[[dict[str, str]], UsageRow]
) -> Iterator[UsageRow]:
    def rows() -> Iterator[tuple[int, UsageRow]]:
        for line, cells in csv_rows(path, required, _STARTS):
            if _empty_bucket(cells):
                continue
            try:
                yield line, make(cells)
            except Bad as exc:
                raise fail(path, str(exc), line) from None

    return unique(path, rows())


def parse_usage_csv(path: Path) -> Iterator[UsageRow]:
    """Rows of the dashboard's usage download, read by column name."""
    return _csv_parse(path, ("input_tokens", "output_tokens"), _usage_csv_row)


def parse_cost_csv(path: Path) -> Iterator[UsageRow]:
    """Rows of the dashboard's cost download, read by column name."""
    return _csv_parse(path, ("amount_value",), _cost_csv_row)


FORMATS = [
    Format(USAGE_API, PROVIDER,
           "OpenAI Admin API completions usage (JSON page, or a list of pages)",
           _sniff_usage_api, parse_usage_api),
    Format(COSTS_API, PROVIDER, "OpenAI Admin API costs (JSON page, or a list of pages)",
           _sniff_costs_api, parse_costs_api),
    Format(USAGE_CSV, PROVIDER, "OpenAI dashboard usage export (CSV)",
           _sniff_usage_csv, parse_usage_csv),
    Format(COST_CSV, PROVIDER, "OpenAI dashboard cost export (CSV)",
           _sniff_cost_csv, parse_cost_csv),
]
