"""What every provider export is read into: one row per usage or cost bucket.

Exports differ in shape (JSON pages of time buckets, CSV downloads, one row per
request) but all say the same few things: a time span, who and what was used
(model, workspace, API key, project), how many tokens of each kind, and, in cost
exports, what was billed. Parsers turn their format into ``UsageRow``s; the store
keeps them by ``key``, so a bucket seen twice (the same file imported again, two
overlapping exports) is kept once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

KINDS = ("usage", "cost")


@dataclass(frozen=True)
class UsageRow:
    """One bucket (or one request) of provider usage or cost.

    Token fields follow the Claude Code log's split, whatever the provider calls
    them: ``input_tokens`` are uncached input only (OpenAI's and Codex's
    ``input_tokens`` include cached ones: subtract them), ``cache_write_*`` are
    cache creation, ``cache_read_tokens`` cached input, ``output_tokens`` include
    reasoning. ``cost_usd`` is what the export says was billed (None when it
    does not say); it is never computed here.
    """

    source: str  # the format: 'anthropic-usage-api', 'openai-costs-csv', ...
    provider: str  # 'anthropic', 'openai', 'openrouter', or the generic CSV's value
    kind: str  # 'usage' (token counts) or 'cost' (billed amounts)
    start: datetime  # timezone-aware UTC
    end: datetime | None = None  # exclusive; None for a single request
    model: str | None = None  # as the export writes it
    workspace: str | None = None
    api_key: str | None = None  # id or name, as the export gives it
    project: str | None = None
    task: str | None = None
    service_tier: str | None = None
    context_window: str | None = None
    line_item: str | None = None  # cost rows: token type / cost type / line item
    input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    web_search_requests: int = 0
    requests: int | None = None
    cost_usd: Decimal | None = None
    # Extra identity a format needs to tell two rows apart (OpenRouter's
    # generation_id, a CSV's other dimensions). Part of ``key``.
    ident: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """The bucket's identity: equal for the same bucket from any file of this format."""
        parts = (
            self.source, self.kind, self.start.isoformat(),
            self.end.isoformat() if self.end else "",
            self.model or "", self.workspace or "", self.api_key or "", self.project or "",
            self.task or "", self.service_tier or "", self.context_window or "",
            self.line_item or "", *self.ident,
        )
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens + self.cache_write_5m_tokens + self.cache_write_1h_tokens
                + self.cache_read_tokens + self.output_tokens)


# --- flat rows: how an import streams into the store ----------------------------------
# A large export is never held as a list of ``UsageRow``s: its rows go one by one,
# as plain tuples in this order, to a staging file the store then reads in one
# transaction. ``numbered`` rows (the generic CSV's) carry their content key: rows
# with the same content are numbered 0, 1, 2, ... in file order at the store, and
# each gets ``content_key(row, n)``, which is what ``UsageRow.key`` gives the nth copy.

FLAT_FIELDS = (
    "row_key", "numbered", "source", "provider", "kind", "start_ts", "end_ts", "model",
    "workspace", "api_key", "project", "task", "service_tier", "context_window", "line_item",
    "input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens",
    "output_tokens", "web_search_requests", "requests", "cost_usd",
)  # fmt: skip


def flat(row: UsageRow) -> tuple:
    """A parsed row as a flat tuple (``FLAT_FIELDS``); its key is final (not numbered)."""
    return (
        row.key, False, row.source, row.provider, row.kind, row.start.isoformat(),
        row.end.isoformat() if row.end else None, row.model, row.workspace, row.api_key,
        row.project, row.task, row.service_tier, row.context_window, row.line_item,
        row.input_tokens, row.cache_write_5m_tokens, row.cache_write_1h_tokens,
        row.cache_read_tokens, row.output_tokens, row.web_search_requests, row.requests,
        None if row.cost_usd is None else str(row.cost_usd),
    )  # fmt: skip


def content_prefix(source: str, start_iso: str, model: str, project: str | None,
                   task: str | None, provider: str, counts: str, cost_text: str) -> str:
    """``UsageRow.key``'s text, all but the occurrence, of a generic-CSV-like row:
    ident is (provider, the four counts joined by '/', the normalised cost, occurrence)."""
    return "\x1f".join((source, "usage", start_iso, "", model, "", "", project or "",
                        task or "", "", "", "", provider, counts, cost_text))


def occurrence_key(prefix: str, occurrence: int) -> str:
    return hashlib.blake2b(f"{prefix}\x1f{occurrence}".encode(),
                           digest_size=16).hexdigest()


def content_key(row: tuple, occurrence: int) -> str:
    """The key of the ``occurrence``th copy of a numbered flat row (from its values)."""
    f = dict(zip(FLAT_FIELDS, row, strict=True))
    counts = "/".join(str(f[c]) for c in ("input_tokens", "cache_write_5m_tokens",
                                           "cache_read_tokens", "output_tokens"))
    cost = f["cost_usd"]
    cost_text = "" if cost is None else str(Decimal(cost).normalize())
    return occurrence_key(content_prefix(f["source"], f["start_ts"], f["model"], f["project"],
                                         f["task"], f["provider"], counts, cost_text), occurrence)
