"""The Anthropic Console's CSV downloads: daily usage, and daily cost.

These are what a user without an Admin API key can get (Console, Usage or Cost,
Export). Their headers are not documented; they were assembled from public
parsers, so columns are found by name, in any order, and the two known layouts
of the usage file are both read: the older one with a single
``usage_input_tokens_cache_write`` column (read as 5-minute writes, the only
kind there was) and the newer one split into ``_5m`` and ``_1h``.

Each row is one UTC day (``usage_date_utc``) for one model, key and workspace.
The usage file's ``usage_type`` (``standard``, ...) is read as the service tier;
the cost file's (``message``) is not a tier, so it only tells rows apart, as do
``cost_type``, ``inference_geo`` and ``speed``. Cost rows keep ``cost_usd`` as
written (billed dollars; ``list_price_usd`` is ignored) and take ``token_type``,
else ``cost_type``, as their line item; ``model`` there is a display name.
A row repeating an earlier row's bucket stops the import: a download holds each
bucket once, so a repeat means a column this parser does not know tells them
apart, and keeping either would count wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from ccspend.imports import Format
from ccspend.imports.generic_csv import (
    cell,
    export_error,
    header_names,
    label_cell,
    parse_amount,
    parse_count,
    parse_day,
    read_csv,
)
from ccspend.imports.records import UsageRow

USAGE = "anthropic-usage-csv"
COST = "anthropic-cost-csv"

_USAGE_REQUIRED = ("usage_date_utc", "model_version", "usage_input_tokens_no_cache",
                   "usage_input_tokens_cache_read", "usage_output_tokens")
_CACHE_WRITE_OLD = "usage_input_tokens_cache_write"
_CACHE_WRITE_5M = "usage_input_tokens_cache_write_5m"
_CACHE_WRITE_1H = "usage_input_tokens_cache_write_1h"
_COST_REQUIRED = ("usage_date_utc", "token_type", "cost_usd")
# Dimensions with no UsageRow field of their own: part of the row's identity.
_USAGE_IDENT = ("inference_geo", "speed")
_COST_IDENT = ("usage_type", "cost_type", "inference_geo", "speed")


def sniff_usage(name: str, head: bytes) -> bool:
    return {"usage_date_utc", "model_version", "usage_output_tokens"} <= header_names(head)


def sniff_cost(name: str, head: bytes) -> bool:
    return {"usage_date_utc", "token_type", "cost_usd"} <= header_names(head)


def parse_usage(path: Path) -> Iterator[UsageRow]:
    names, rows = read_csv(path, _USAGE_REQUIRED, "an Anthropic Console usage CSV")
    split = _CACHE_WRITE_5M in names
    if split and _CACHE_WRITE_OLD in names:
        raise export_error(path, f"line 1: both {_CACHE_WRITE_OLD} and {_CACHE_WRITE_5M}")
    if not split and _CACHE_WRITE_OLD not in names:
        raise export_error(path, f"not an Anthropic Console usage CSV: line 1 has no column "
                                 f"{_CACHE_WRITE_5M} or {_CACHE_WRITE_OLD}")
    lines: dict[str, int] = {}
    for line, row in rows:
        usage = _usage_row(path, line, row, split)
        _check_repeat(path, line, usage, lines)
        if usage.total_tokens or usage.web_search_requests:
            yield usage


def _usage_row(path: Path, line: int, row: dict[str, str], split: bool) -> UsageRow:
    start, end = cell(path, line, row, "usage_date_utc", parse_day, required=True)

    def label(column: str) -> str | None:
        return label_cell(path, line, row, column)

    def count(column: str, required: bool = False) -> int:
        return cell(path, line, row, column, parse_count, 0, required=required)

    return UsageRow(
        source=USAGE, provider="anthropic", kind="usage", start=start, end=end,
        model=label_cell(path, line, row, "model_version", required=True),
        workspace=label("workspace"), api_key=label("api_key"),
        service_tier=label("usage_type"),
        context_window=label("context_window"),
        input_tokens=count("usage_input_tokens_no_cache", required=True),
        cache_write_5m_tokens=count(_CACHE_WRITE_5M if split else _CACHE_WRITE_OLD),
        cache_write_1h_tokens=count(_CACHE_WRITE_1H) if split else 0,
        cache_read_tokens=count("usage_input_tokens_cache_read"),
        output_tokens=count("usage_output_tokens", required=True),
        web_search_requests=count("web_search_count"),
        ident=_ident(label, _USAGE_IDENT),
    )


def parse_cost(path: Path) -> Iterator[UsageRow]:
    _, rows = read_csv(path, _COST_REQUIRED, "an Anthropic Console cost CSV")
    lines: dict[str, int] = {}
    for line, row in rows:
        cost = _cost_row(path, line, row)
        _check_repeat(path, line, cost, lines)
        if cost.cost_usd:
            yield cost


def _cost_row(path: Path, line: int, row: dict[str, str]) -> UsageRow:
    start, end = cell(path, line, row, "usage_date_utc", parse_day, required=True)

    def label(column: str) -> str | None:
        return label_cell(path, line, row, column)

    return UsageRow(
        source=COST, provider="anthropic", kind="cost", start=start, end=end,
        model=label("model"),  # a display name, e.g. "Claude Sonnet 4.6"
        workspace=label("workspace"), api_key=label("api_key"),
        context_window=label("context_window"),
        line_item=label("token_type") or label("cost_type"),
        cost_usd=cell(path, line, row, "cost_usd", parse_amount, required=True),
        ident=_ident(label, _COST_IDENT),
    )


def _ident(label: Callable[[str], str | None], columns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{c}={v}" for c in columns if (v := label(c)))


def _check_repeat(path: Path, line: int, row: UsageRow, lines: dict[str, int]) -> None:
    first = lines.setdefault(row.key, line)
    if first != line:
        raise export_error(path, f"line {line}: the same day, model, key and dimensions as "
                                 f"line {first}")


FORMATS = [
    Format(
        name=USAGE,
        provider="anthropic",
        description="Anthropic Console usage CSV (daily tokens per model, key, workspace)",
        sniff=sniff_usage,
        parse=parse_usage,
    ),
    Format(
        name=COST,
        provider="anthropic",
        description="Anthropic Console cost CSV (daily dollars per model and token type)",
        sniff=sniff_cost,
        parse=parse_cost,
    ),
]
