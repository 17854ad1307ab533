"""OpenRouter exports: the per-request activity CSV, the daily aggregate CSV, the activity API.

A module of its own because OpenRouter reports tokens the OpenAI way and money
in two kinds:

- ``tokens_prompt`` / ``prompt_tokens`` include the cached prompt tokens
  (OpenRouter's usage object follows OpenAI's, where
  ``prompt_tokens_details.cached_tokens`` is a part of ``prompt_tokens``), so a
  row's uncached input is prompt - cached, and cached go to ``cache_read_tokens``.
  Files older than the ``tokens_cached`` column, the aggregate CSV and the API
  give no cached count: there all prompt tokens are input.
- ``tokens_completion`` include ``tokens_reasoning`` ("Reasoning tokens are
  considered output tokens and charged accordingly"; completion counts follow
  OpenAI's, where ``completion_tokens_details.reasoning_tokens`` is a part of
  them), so output = completion and reasoning is never added.
- Money: ``cost_total`` / ``Usage`` / ``usage`` is what OpenRouter billed in
  credits (dollars). BYOK usage (``byok_usage_inference``, "BYOK inference cost
  in USD (external credits spent)") was billed by the upstream provider to the
  user's own key, not by OpenRouter. It is kept distinguishable as a separate
  row of kind ``cost`` with ``line_item='byok_usage_inference'`` and no tokens,
  written only when non-zero: summing every row's ``cost_usd`` gives all money
  spent, and a report that also imports the upstream provider's own export can
  leave those rows out to avoid counting that money twice.

The main rows carry tokens and the billed amount together, so they are of kind
``usage`` with ``cost_usd`` set. Times without a zone (``created_at``, ``Date``)
are UTC. Aggregate and API rows are daily buckets: ``[date, date + 1 day)``
(a ``Date`` with a time other than midnight keeps its start and gets no end).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ccspend.imports import Format
from ccspend.imports.openai import (
    Bad,
    count,
    csv_header,
    csv_rows,
    fail,
    ident,
    iso_time,
    json_head,
    load_json,
    money,
    optional_count,
    show,
    text,
    unique,
)
from ccspend.imports.records import UsageRow

PROVIDER = "openrouter"
ACTIVITY_CSV = "openrouter-activity-csv"
AGGREGATE_CSV = "openrouter-aggregate-csv"
ACTIVITY_API = "openrouter-activity-api"
BYOK = "byok_usage_inference"

_DAY = timedelta(days=1)


def _byok(row: UsageRow, amount: Decimal | None) -> Iterator[UsageRow]:
    """The BYOK companion of a row: what the upstream provider billed, when anything."""
    if amount:
        yield UsageRow(
            source=row.source, provider=PROVIDER, kind="cost", start=row.start, end=row.end,
            model=row.model, api_key=row.api_key, project=row.project, line_item=BYOK,
            cost_usd=amount, ident=row.ident,
        )


def _input(prompt: int, cached: int) -> int:
    if cached > prompt:
        raise Bad(f"tokens_cached ({cached}) exceed tokens_prompt ({prompt})")
    return prompt - cached


def _span(value: object, what: str) -> tuple[datetime, datetime | None]:
    """A daily bucket from '2026-09-01' or '2026-09-01 00:00:00'.

    A time other than midnight means another grouping than the daily one this
    reader knows: the row keeps its start and gets no end rather than a wrong one.
    """
    start = iso_time(value, what)
    midnight = start == start.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + _DAY if midnight else None


# -- per-request activity CSV ---------------------------------------------------

_ACTIVITY_REQUIRED = ("generation_id", "created_at", "cost_total", "tokens_prompt",
                      "tokens_completion")


def _sniff_activity_csv(name: str, head: bytes) -> bool:
    return set(_ACTIVITY_REQUIRED) <= csv_header(head)


def _activity_rows(cells: dict[str, str]) -> Iterator[UsageRow]:
    generation = text(cells["generation_id"], "generation_id")
    if generation is None:
        raise Bad("generation_id is missing")
    prompt = count(cells["tokens_prompt"], "tokens_prompt")
    cached = count(cells.get("tokens_cached"), "tokens_cached")  # older files lack it
    row = UsageRow(
        source=ACTIVITY_CSV, provider=PROVIDER, kind="usage",
        start=iso_time(cells["created_at"], "created_at"), end=None,
        model=text(cells.get("model_permaslug"), "model_permaslug")
        or text(cells.get("model"), "model"),
        api_key=text(cells.get("api_key_name"), "api_key_name"),
        project=text(cells.get("app_name"), "app_name"),
        input_tokens=_input(prompt, cached),
        cache_read_tokens=cached,
        output_tokens=count(cells["tokens_completion"], "tokens_completion"),
        requests=1,
        cost_usd=money(cells["cost_total"], "cost_total"),
        ident=(generation,),
    )
    count(cells.get("tokens_reasoning"), "tokens_reasoning")  # checked, already in output
    yield row
    yield from _byok(row, money(cells.get(BYOK), BYOK))


def parse_activity_csv(path: Path) -> Iterator[UsageRow]:
    """One row per generation (plus a BYOK cost row where the upstream billed the user)."""
    return unique(path, _numbered(path, _ACTIVITY_REQUIRED, _activity_rows))


# -- daily aggregate CSV ----------------------------------------------------------

_AGGREGATE_REQUIRED = ("date", "slug", "usage", "prompt tokens", "completion tokens")


def _sniff_aggregate_csv(name: str, head: bytes) -> bool:
    return set(_AGGREGATE_REQUIRED) <= csv_header(head)


def _aggregate_rows(cells: dict[str, str]) -> Iterator[UsageRow]:
    start, end = _span(cells["date"], "Date")
    model = text(cells["slug"], "Slug")
    if model is None:
        raise Bad("Slug is missing")
    row = UsageRow(
        source=AGGREGATE_CSV, provider=PROVIDER, kind="usage", start=start, end=end,
        model=model,
        input_tokens=count(cells["prompt tokens"], "Prompt Tokens"),
        output_tokens=count(cells["completion tokens"], "Completion Tokens"),
        requests=optional_count(cells.get("requests"), "Requests"),
        cost_usd=money(cells["usage"], "Usage"),
    )
    count(cells.get("reasoning tokens"), "Reasoning Tokens")  # checked, already in output
    yield row
    yield from _byok(row, money(cells.get("byok usage"), "BYOK Usage"))


def parse_aggregate_csv(path: Path) -> Iterator[UsageRow]:
    """One row per day and model (plus a BYOK cost row where there was BYOK usage)."""
    return unique(path, _numbered(path, _AGGREGATE_REQUIRED, _aggregate_rows))


def _numbered(
    path: Path, required: tuple[str, ...], make: Callable[[dict[str, str]], Iterator[UsageRow]]
) -> Iterator[tuple[int, UsageRow]]:
    for line, cells in csv_rows(path, required):
        try:
            rows = list(make(cells))
        except Bad as exc:
            raise fail(path, str(exc), line) from None
        for row in rows:
            yield line, row


# -- activity API (GET /api/v1/activity) -----------------------------------------


def _sniff_activity_api(name: str, head: bytes) -> bool:
    try:
        body = json_head(head)
        return (body is not None and body.startswith("{") and '"data"' in body
                and '"model_permaslug"' in body and '"prompt_tokens"' in body)
    except Exception:  # a sniff never raises
        return False


def _api_rows(item: object) -> Iterator[UsageRow]:
    if not isinstance(item, dict):
        raise Bad("not an object")
    g = item.get
    start, end = _span(g("date"), "date")
    model = text(g("model_permaslug"), "model_permaslug") or text(g("model"), "model")
    row = UsageRow(
        source=ACTIVITY_API, provider=PROVIDER, kind="usage", start=start, end=end,
        model=model,
        input_tokens=count(g("prompt_tokens"), "prompt_tokens", required=True),
        output_tokens=count(g("completion_tokens"), "completion_tokens", required=True),
        requests=optional_count(g("requests"), "requests"),
        cost_usd=money(g("usage"), "usage"),
        ident=ident(
            ("endpoint", text(g("endpoint_id"), "endpoint_id")),
            ("provider", text(g("provider_name"), "provider_name")),
        ),
    )
    count(g("reasoning_tokens"), "reasoning_tokens")  # checked, already in output
    yield row
    yield from _byok(row, money(g(BYOK), BYOK))


def parse_activity_api(path: Path) -> Iterator[UsageRow]:
    """One row per day, model and endpoint (plus BYOK cost rows)."""
    doc = load_json(path)
    items = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise fail(path, "no data list")
    rows: list[tuple[int, UsageRow]] = []
    for i, item in enumerate(items, 1):
        try:
            rows.extend((i, row) for row in _api_rows(item))
        except Bad as exc:
            raise fail(path, f"item {i}: {exc}") from None
    seen: dict[str, tuple[int, UsageRow]] = {}
    for i, row in rows:
        earlier = seen.setdefault(row.key, (i, row))
        if earlier[1] != row:
            raise fail(path, f"item {i}: the same bucket as item {earlier[0]}, "
                             f"with other numbers ({show(row.model)})")
    return iter([row for _, row in seen.values()])


FORMATS = [
    Format(ACTIVITY_CSV, PROVIDER, "OpenRouter activity export, one row per request (CSV)",
           _sniff_activity_csv, parse_activity_csv),
    Format(AGGREGATE_CSV, PROVIDER, "OpenRouter activity export, daily per model (CSV)",
           _sniff_aggregate_csv, parse_aggregate_csv),
    Format(ACTIVITY_API, PROVIDER, "OpenRouter activity API, daily per model and endpoint "
           "(JSON)", _sniff_activity_api, parse_activity_api),
]
