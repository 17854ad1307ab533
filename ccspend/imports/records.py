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
