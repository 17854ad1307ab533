"""The status line's summary: what the fast path reads instead of the database.

``refresh`` runs in the background (``ccspend statusline --refresh``): it
ingests new log lines, moves the status line's rate-limit readings into the
database, and writes ``summary.json``: today's cost, the active 5-hour block,
and the price in force for every model on the card, so the status line can
price a transcript without loading the card.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ccspend.core import config
from ccspend.core.files import write_atomic
from ccspend.ingest.claude import ingest_claude
from ccspend.pricing.card import RateCard
from ccspend.pricing.index import price_index
from ccspend.reports.build import ReportRequest, build_blocks, build_report
from ccspend.store import Store, add_cap_decisions, add_readings
from ccspend.store.queries import Filters


def _take_journal(folder: Path, name: str, row) -> list[tuple]:
    """Take (move away, then read) a journal the light paths append to, so each of its
    lines is stored once; ``row`` turns a parsed line into a tuple (bad lines are dropped)."""
    src = folder / f"{name}.jsonl"
    moving = folder / f"{name}.{os.getpid()}.jsonl"
    try:
        os.replace(src, moving)
    except OSError:
        return []
    rows = []
    try:
        for line in moving.read_text().splitlines():
            try:
                rows.append(row(json.loads(line)))
            except (ValueError, IndexError, TypeError):
                continue
    finally:
        moving.unlink(missing_ok=True)
    return rows


def _take_readings(folder: Path) -> list[tuple]:
    """The status line's official rate-limit readings."""
    return _take_journal(folder, "readings",
                         lambda r: (int(r[0]), r[1], str(r[2]), float(r[3]), r[4]))  # fmt: skip


def take_cap_decisions(folder: Path) -> list[tuple]:
    """The cap hooks' decisions."""
    return _take_journal(folder, "cap-decisions", lambda r: (
        float(r[0]), r[1], str(r[2]), str(r[3]), r[4], r[5], r[6]))  # fmt: skip


def refresh(store: Store, roots: list[Path], card: RateCard, tz: str, folder: Path) -> dict:
    """Bring the store up to date and rewrite the summary the status line reads.

    One open of the database: the ingest's write, the rollup's refresh (today's
    cost is then read from it, not priced from the lines) and the reads."""
    with store.keep_open():
        ingest_claude(store, roots)
        readings = _take_readings(folder)
        decisions = take_cap_decisions(folder)
        if readings or decisions:
            with store.connect(write=True) as con:
                add_readings(con, readings)
                add_cap_decisions(con, decisions)
        store.refresh(card)
        now = time.time()
        today = datetime.now(ZoneInfo(tz)).date()
        today_only = Filters(tz=tz, since=today, until=today)
        day = build_report(store, card, ReportRequest("daily", today_only))
        blocks = build_blocks(store, card, Filters(tz=tz), int(now * 1e6), active_only=True)
    block = None
    if blocks.rows:
        b = blocks.rows[-1]
        block = {
            "start": b["key"],
            "end_s": datetime.fromisoformat(b["end"].replace("Z", "+00:00")).timestamp(),
            "cost_usd": b["cost_usd"],
            "total_tokens": b["total_tokens"],
            "burn_usd_per_hour": b["burn_usd_per_hour"],
            "burn_tokens_per_min": b["burn_tokens_per_min"],
            "projected_cost_usd": b["projected_cost_usd"],
        }
    prices = price_index(card, datetime.now(UTC).date())
    summary = {
        "written_at": now,
        "prices_id": f"{zlib.crc32(json.dumps(prices, sort_keys=True).encode()):08x}",
        "timezone": tz,
        "today": today.isoformat(),
        "today_cost_usd": float(day.cost_usd),
        "block": block,
        "daily_budget_usd": config.load().global_budget("daily"),
        "prices": prices,
    }
    write_atomic(folder / "summary.json", json.dumps(summary), mode=0o600, folder_mode=0o700)
    (folder / "refresh.lock").unlink(missing_ok=True)
    return summary
