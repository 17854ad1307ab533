"""Anthropic Admin API reports saved as JSON: messages usage, cost, and Claude Code.

The three endpoints (``/v1/organizations/usage_report/messages``,
``/cost_report`` and ``/usage_report/claude_code``) answer with pages
``{"data": [...], "has_more": ..., "next_page": ...}``. People save them however
their script did, so a file may hold one page, a JSON array of pages, a bare
array of the ``data`` items, or several pages one after another (``cat p1 p2``);
all are read. A bucket seen on two pages of one file (overlapping fetches) is
kept once, from the later page.

Usage and Claude Code rows carry token counts; cost rows carry what was billed:
the cost report's ``amount`` is a decimal string in cents, turned into dollars
exactly. The Claude Code report's ``estimated_cost`` is an estimate, not a bill,
so its rows leave ``cost_usd`` empty.

Dimensions with no ``UsageRow`` field of their own (``account_id``,
``inference_geo``, ``description``, ...) go into ``ident`` as ``name=value``,
so two results that differ only there stay two rows; nulls (not grouped) are
left out, so a re-fetch that adds a null field keeps the same keys. Results whose
counts (or amount) are all zero, like the API's empty buckets, give no row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

from ccspend.imports import Format
from ccspend.imports.generic_csv import (
    MAX_AMOUNT,
    MAX_COUNT,
    export_error,
    parse_amount,
    parse_day,
    parse_label,
    parse_timestamp,
    show,
)
from ccspend.imports.records import UsageRow

USAGE = "anthropic-usage-api"
COST = "anthropic-cost-api"
CLAUDE_CODE = "anthropic-claude-code-api"

_USAGE_FIELDS = {"model": "model", "workspace_id": "workspace", "api_key_id": "api_key",
                 "service_tier": "service_tier", "context_window": "context_window"}
_USAGE_COUNTS = {"uncached_input_tokens", "cache_creation", "cache_read_input_tokens",
                 "output_tokens", "server_tool_use"}
_COST_FIELDS = {"model": "model", "workspace_id": "workspace",
                "service_tier": "service_tier", "context_window": "context_window"}
_COST_VALUES = {"amount", "currency", "token_type"}

PageId = tuple[int, int]
Located = tuple[PageId, str, Any]  # (page, where in the file, the item)


# --- sniffing ------------------------------------------------------------------

def _key(name: str) -> re.Pattern[bytes]:
    return re.compile(rb'"' + name.encode() + rb'"\s*:')


_STARTING_AT, _RESULTS = _key("starting_at"), _key("results")
_UNCACHED, _AMOUNT = _key("uncached_input_tokens"), _key("amount")
_MODEL_BREAKDOWN, _CORE_METRICS = _key("model_breakdown"), _key("core_metrics")


def _json_head(head: bytes) -> bytes:
    h = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return h if h[:1] in (b"{", b"[") else b""


def _is_bucketed(h: bytes) -> bool:
    return bool(h and _STARTING_AT.search(h) and _RESULTS.search(h))


def sniff_usage(name: str, head: bytes) -> bool:
    h = _json_head(head)
    if not _is_bucketed(h):
        return False
    # A head of nothing but empty buckets (a long page of 1m buckets) says neither;
    # cost pages are daily and short, so such a head is a usage report's.
    return bool(_UNCACHED.search(h) or not (_AMOUNT.search(h) or _MODEL_BREAKDOWN.search(h)))


def sniff_cost(name: str, head: bytes) -> bool:
    h = _json_head(head)
    return _is_bucketed(h) and bool(_AMOUNT.search(h)) and not _UNCACHED.search(h)


def sniff_claude_code(name: str, head: bytes) -> bool:
    h = _json_head(head)
    return bool(h and (_MODEL_BREAKDOWN.search(h) or _CORE_METRICS.search(h)))


# --- reading the file ------------------------------------------------------------

def _documents(path: Path) -> list[Any]:
    """Every JSON value in the file, one after another (one, usually)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise export_error(path, f"cannot read it: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise export_error(path, f"not UTF-8 text (byte {e.start})") from None
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)
    docs, i, space = [], 0, re.compile(r"\s*")
    while (i := space.match(text, i).end()) < len(text):
        try:
            doc, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError as e:
            raise export_error(path, f"not valid JSON (truncated?): {e.msg} at line {e.lineno} "
                                     f"column {e.colno}") from None
        except (ValueError, RecursionError) as e:
            raise export_error(path, f"not valid JSON: {str(e)[:80]}") from None
        docs.append(doc)
    if not docs:
        raise export_error(path, "the file is empty")
    return docs


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _items(path: Path) -> Iterator[Located]:
    """The ``data`` items of every page, wherever the file's shape put them."""
    docs = _documents(path)
    for d, doc in enumerate(docs):
        where = f"document {d + 1}: " if len(docs) > 1 else ""
        if isinstance(doc, list):
            for j, element in enumerate(doc):
                if _is_page(element):
                    yield from _page_items(path, (d, j), f"{where}[{j}].", element)
                else:  # a bare array of items: one page
                    yield (d, -1), f"{where}[{j}]", element
        elif _is_page(doc):
            yield from _page_items(path, (d, 0), where, doc)
        elif isinstance(doc, dict):  # one item saved on its own
            yield (d, 0), f"{where}top level", doc
        else:
            raise export_error(path, f"{where}not a report page: {show(doc)}")


def _is_page(value: Any) -> bool:
    return isinstance(value, dict) and "data" in value


def _page_items(path: Path, page: PageId, where: str, doc: dict[str, Any]) -> Iterator[Located]:
    data = doc["data"]
    if not isinstance(data, list):
        raise export_error(path, f"{where}data: not a list")
    for i, item in enumerate(data):
        yield page, f"{where}data[{i}]", item


def _keep_once(path: Path, produced: Iterable[tuple[PageId, str, UsageRow]]) -> list[UsageRow]:
    """One row per key: a later page's copy replaces an earlier one's; within a page, an error."""
    kept: dict[str, tuple[PageId, str, UsageRow]] = {}
    for page, where, row in produced:
        earlier = kept.get(row.key)
        if earlier is not None and earlier[0] == page:
            raise export_error(path, f"{where}: the same bucket and dimensions as {earlier[1]}")
        kept[row.key] = (page, where, row)
    return [row for _, _, row in kept.values()]


# --- values ----------------------------------------------------------------------

def _object(path: Path, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise export_error(path, f"{where}: expected an object, found {show(value)}")
    return value


def _part(path: Path, where: str, obj: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object that may be absent or null (then empty)."""
    value = obj.get(key)
    return {} if value is None else _object(path, f"{where}.{key}", value)


def _count(path: Path, where: str, obj: dict[str, Any], key: str, required: bool = False) -> int:
    value = obj.get(key)
    if value is None:
        if required:
            raise export_error(path, f"{where}: no {key}")
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise export_error(path, f"{where}.{key}: not a whole number: {show(value)}")
    if value < 0:
        raise export_error(path, f"{where}.{key}: negative count {value}")
    if value > MAX_COUNT:
        raise export_error(path, f"{where}.{key}: implausibly large count {value}")
    return value


def _text(path: Path, where: str, obj: dict[str, Any], key: str,
          required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise export_error(path, f"{where}: no {key}")
        return None
    if not isinstance(value, str):
        raise export_error(path, f"{where}.{key}: not a string: {show(value)}")
    try:
        value.encode("utf-8")
        return parse_label(value)
    except (UnicodeEncodeError, ValueError):
        raise export_error(path, f"{where}.{key}: not valid text: {show(value)}") from None


def _time(path: Path, where: str, obj: dict[str, Any], key: str,
          parse: Callable[[str], Any] = parse_timestamp) -> Any:
    text = _text(path, where, obj, key, required=True)
    try:
        return parse(text)
    except ValueError as e:
        raise export_error(path, f"{where}.{key}: {e}") from None


def _ident(path: Path, where: str, obj: dict[str, Any], skip: Iterable[str]) -> tuple[str, ...]:
    """``name=value`` for every other non-null string field: dimensions we have no field for."""
    skipped = set(skip)
    names = sorted(k for k, v in obj.items() if k not in skipped and isinstance(v, str) and v)
    return tuple(f"{k}={_text(path, where, obj, k)}" for k in names)


def _cents_to_dollars(path: Path, where: str, value: Any) -> Decimal:
    """The cost report's ``amount``, a decimal string in cents, as exact dollars."""
    if isinstance(value, str):
        try:
            cents = parse_amount(value)
        except ValueError as e:
            raise export_error(path, f"{where}.amount: {e}") from None
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        cents = Decimal(value)
        if not cents.is_finite() or cents < 0 or cents > MAX_AMOUNT:
            raise export_error(path, f"{where}.amount: not a non-negative amount: {show(value)}")
    else:
        raise export_error(path, f"{where}.amount: not an amount: {show(value)}")
    with localcontext() as ctx:
        ctx.prec = 100  # exact: parse_amount keeps to far fewer digits
        return cents.scaleb(-2)


# --- the usage and cost reports: time buckets of results ------------------------------

def _buckets(path: Path, row: Callable[[Path, str, datetime, datetime, dict[str, Any]],
                                        UsageRow | None]) -> list[UsageRow]:
    def produced() -> Iterator[tuple[PageId, str, UsageRow]]:
        for page, where, item in _items(path):
            bucket = _object(path, where, item)
            start, end = _time(path, where, bucket, "starting_at"), _time(
                path, where, bucket, "ending_at")
            if end <= start:
                raise export_error(path, f"{where}: ending_at is not after starting_at")
            results = bucket.get("results")
            if not isinstance(results, list):
                raise export_error(path, f"{where}: no results list")
            for k, result in enumerate(results):
                at = f"{where}.results[{k}]"
                made = row(path, at, start, end, _object(path, at, result))
                if made is not None:
                    yield page, at, made

    return _keep_once(path, produced())


def _usage_row(path: Path, where: str, start: datetime, end: datetime,
               r: dict[str, Any]) -> UsageRow | None:
    cache = _part(path, where, r, "cache_creation")
    tools = _part(path, where, r, "server_tool_use")
    row = UsageRow(
        source=USAGE, provider="anthropic", kind="usage", start=start, end=end,
        **{attr: _text(path, where, r, key) for key, attr in _USAGE_FIELDS.items()},
        input_tokens=_count(path, where, r, "uncached_input_tokens", required=True),
        cache_write_5m_tokens=_count(path, f"{where}.cache_creation", cache,
                                     "ephemeral_5m_input_tokens"),
        cache_write_1h_tokens=_count(path, f"{where}.cache_creation", cache,
                                     "ephemeral_1h_input_tokens"),
        cache_read_tokens=_count(path, where, r, "cache_read_input_tokens"),
        output_tokens=_count(path, where, r, "output_tokens", required=True),
        web_search_requests=_count(path, f"{where}.server_tool_use", tools,
                                   "web_search_requests"),
        ident=_ident(path, where, r, _USAGE_FIELDS.keys() | _USAGE_COUNTS),
    )
    return row if row.total_tokens or row.web_search_requests else None


def _cost_row(path: Path, where: str, start: datetime, end: datetime,
              r: dict[str, Any]) -> UsageRow | None:
    if "amount" not in r:
        raise export_error(path, f"{where}: no amount")
    dollars = _cents_to_dollars(path, where, r["amount"])
    currency = _text(path, where, r, "currency")
    if currency is not None and currency.upper() != "USD":
        raise export_error(path, f"{where}.currency: {show(currency)}, not USD")
    row = UsageRow(
        source=COST, provider="anthropic", kind="cost", start=start, end=end,
        **{attr: _text(path, where, r, key) for key, attr in _COST_FIELDS.items()},
        line_item=_text(path, where, r, "token_type") or _text(path, where, r, "cost_type"),
        cost_usd=dollars,
        ident=_ident(path, where, r, _COST_FIELDS.keys() | _COST_VALUES),
    )
    return row if dollars else None


def parse_usage(path: Path) -> list[UsageRow]:
    return _buckets(path, _usage_row)


def parse_cost(path: Path) -> list[UsageRow]:
    return _buckets(path, _cost_row)


# --- the Claude Code report: one record per actor per day ---------------------------

def parse_claude_code(path: Path) -> list[UsageRow]:
    def produced() -> Iterator[tuple[PageId, str, UsageRow]]:
        for page, where, item in _items(path):
            for at, row in _claude_code_rows(path, where, _object(path, where, item)):
                yield page, at, row

    return _keep_once(path, produced())


def _claude_code_rows(path: Path, where: str,
                      record: dict[str, Any]) -> Iterator[tuple[str, UsageRow]]:
    start, end = _time(path, where, record, "date", parse_day)
    api_key, actor_ident = _actor(path, where, _part(path, where, record, "actor"))
    org = _text(path, where, record, "organization_id")
    ident = (*actor_ident, *((f"organization_id={org}",) if org else ()))
    breakdown = record.get("model_breakdown")
    if not isinstance(breakdown, list):
        raise export_error(path, f"{where}: no model_breakdown list")
    for k, entry in enumerate(breakdown):
        at = f"{where}.model_breakdown[{k}]"
        entry = _object(path, at, entry)
        tokens = _object(path, f"{at}.tokens", entry.get("tokens"))
        row = UsageRow(
            source=CLAUDE_CODE, provider="anthropic", kind="usage", start=start, end=end,
            model=_text(path, at, entry, "model", required=True), api_key=api_key,
            input_tokens=_count(path, f"{at}.tokens", tokens, "input"),
            cache_write_5m_tokens=_count(path, f"{at}.tokens", tokens, "cache_creation"),
            cache_read_tokens=_count(path, f"{at}.tokens", tokens, "cache_read"),
            output_tokens=_count(path, f"{at}.tokens", tokens, "output"),
            ident=ident,  # estimated_cost is an estimate, not a bill: not cost_usd
        )
        if row.total_tokens:
            yield at, row


def _actor(path: Path, where: str, actor: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """An API actor is its key's name; a user actor, who has no key, goes into ``ident``."""
    key_name = _text(path, f"{where}.actor", actor, "api_key_name")
    if key_name:
        return key_name, ()
    email = _text(path, f"{where}.actor", actor, "email_address")
    if email:
        return None, (f"user={email}",)
    raise export_error(path, f"{where}.actor: neither api_key_name nor email_address")


FORMATS = [
    Format(
        name=USAGE,
        provider="anthropic",
        description="Anthropic Admin API usage report (usage_report/messages JSON pages)",
        sniff=sniff_usage,
        parse=parse_usage,
    ),
    Format(
        name=COST,
        provider="anthropic",
        description="Anthropic Admin API cost report (cost_report JSON pages, billed dollars)",
        sniff=sniff_cost,
        parse=parse_cost,
    ),
    Format(
        name=CLAUDE_CODE,
        provider="anthropic",
        description="Anthropic Admin API Claude Code report (usage_report/claude_code JSON)",
        sniff=sniff_claude_code,
        parse=parse_claude_code,
    ),
]
