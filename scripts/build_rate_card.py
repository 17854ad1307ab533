"""Build ccspend's shipped rate card, ``ccspend/pricing/data/rates.toml``.

Why this exists: ccspend prices every request it reads against a versioned rate card that ships
with the package. LiteLLM's public price file (``model_prices_and_context_window.json``) is the
broadest machine-readable source of prices, but it is not always right: some Anthropic entries
carry a 1-hour cache-write price of 6.0 $/MTok whatever the model, some lack the 1-hour price,
LiteLLM 1.109.1 dropped claude-sonnet-4-5's long-context tier, and it has no price history (the
claude-3-5-haiku price cut). The provider list prices in ``shared/reference/prices.md`` win
wherever the two disagree.

This script turns a LiteLLM snapshot into the card and applies every correction from the
explicit, commented tables below (search for ``OVERRIDE``), so that a reviewer sees each place
where the card departs from LiteLLM, and the card itself says why in each price's ``note``.
The card is generated, never edited by hand::

    python scripts/build_rate_card.py [path/to/litellm-prices.json] [--output PATH]

Standard library only; the output is deterministic (sorted, no timestamps; the card version is
the constant ``CARD_VERSION``, bumped by hand when the card is rebuilt). After writing, the
script re-reads the card and checks it against a verbatim copy of the prices.md tables, so a
bad regeneration fails loudly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_REFERENCE = REPO_ROOT / ".." / "shared" / "reference"
DEFAULT_INPUT = SHARED_REFERENCE / "examples" / "litellm-prices-subset.json"
DEFAULT_OUTPUT = REPO_ROOT / "ccspend" / "pricing" / "data" / "rates.toml"
# Used only to check that the verbatim table copies in the self-check still match the source.
PRICES_MD = SHARED_REFERENCE / "prices.md"

# Card version: the date this card was built. Bump it when regenerating with new data.
CARD_VERSION = date(2026, 12, 6)

PRICES_MD_SOURCE = "prices.md table"

# LiteLLM provider -> card provider. Entries of any other provider are ignored.
PROVIDERS = {"anthropic": "anthropic", "openai": "openai", "gemini": "google"}
FAMILIES = ("opus", "sonnet", "haiku")

# Anthropic server-side web search: $10 per 1,000 searches (prices.md), for every Claude model.
ANTHROPIC_WEB_SEARCH_PER_1K = 10.0

# Placeholder effective_from for models whose release date we do not know. ccspend applies a
# model's first price to earlier requests too, so an early date is harmless.
UNKNOWN_DATE = date(2025, 1, 1)  # a placeholder, always replaced by a published date

# Rate fields of the card, in output order, and the LiteLLM field each comes from.
RATE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
LITELLM_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_write_5m": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "cache_read": "cache_read_input_token_cost",
}
# `<field>_above_<N>k_tokens`: LiteLLM's long-context tiers. The `$` anchor leaves out the
# `_batches`, `_flex` and `_priority` variants, which the card ignores.
LONG_TIER_RE = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_creation_input_token_cost"
    r"|cache_creation_input_token_cost_above_1hr|cache_read_input_token_cost)"
    r"_above_(\d+)k_tokens$"
)

# ---------------------------------------------------------------------------------------------
# OVERRIDE tables. Prices are USD per million tokens; a Rates5 tuple is
# (input, output, cache_write_5m, cache_write_1h, cache_read).
# ---------------------------------------------------------------------------------------------

Rates5 = tuple[float, float, float, float, float]

# OVERRIDE: prices.md "Anthropic" table. Wins over LiteLLM for these models.
PRICES_MD_ANTHROPIC: dict[str, Rates5] = {
    "claude-opus-4-7": (5.0, 25.0, 6.25, 10.0, 0.5),
    "claude-opus-4-6": (5.0, 25.0, 6.25, 10.0, 0.5),
    "claude-opus-4-5": (5.0, 25.0, 6.25, 10.0, 0.5),
    "claude-opus-4-1": (15.0, 75.0, 18.75, 30.0, 1.5),
    "claude-opus-4": (15.0, 75.0, 18.75, 30.0, 1.5),
    "claude-sonnet-4-6": (3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-sonnet-4-5": (3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-sonnet-4": (3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-3-7-sonnet": (3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-haiku-4-5": (1.0, 5.0, 1.25, 2.0, 0.1),
    # Current price; its history is in PRICE_HISTORY below.
    "claude-3-5-haiku": (0.8, 4.0, 1.0, 1.6, 0.08),
    "claude-3-haiku": (0.25, 1.25, 0.3, 0.5, 0.03),
}

# OVERRIDE: prices.md long-context rule. Among the prices.md Anthropic models it applies to these
# two only: a request whose input + cache-write + cache-read tokens exceed the threshold is
# priced wholly at these rates. LiteLLM 1.109.1 dropped this tier from claude-sonnet-4-5
# (1.80.0 had it), so the card takes it from prices.md. Any LiteLLM long-context tier on another
# prices.md Anthropic model would be dropped (there is none today).
PRICES_MD_ANTHROPIC_LONG_CONTEXT: dict[str, tuple[int, Rates5]] = {
    "claude-sonnet-4-5": (200_000, (6.0, 22.5, 7.5, 12.0, 0.6)),
    "claude-sonnet-4": (200_000, (6.0, 22.5, 7.5, 12.0, 0.6)),
}

# OVERRIDE: prices.md "Others" table, (input, output, cached input). OpenAI and Google charge no
# cache-write surcharge, so the card's cache_write_5m and cache_write_1h equal input.
PRICES_MD_OTHERS: dict[str, tuple[float, float, float]] = {
    "gpt-5": (1.25, 10.0, 0.125),
    "gpt-5-mini": (0.25, 2.0, 0.025),
    "gpt-5-nano": (0.05, 0.4, 0.005),
    "gpt-4o": (2.5, 10.0, 1.25),
    "gpt-4o-mini": (0.15, 0.6, 0.075),
    # LiteLLM 1.109.1 has cached input 0.125 / 0.25 (>200k); prices.md says 0.31 / 0.625.
    "gemini-2.5-pro": (1.25, 10.0, 0.31),
    # LiteLLM 1.109.1 has cached input 0.03; prices.md says 0.075.
    "gemini-2.5-flash": (0.3, 2.5, 0.075),
    "gemini-2.0-flash": (0.1, 0.4, 0.025),
}
PRICES_MD_OTHERS_LONG_CONTEXT: dict[str, tuple[int, tuple[float, float, float]]] = {
    "gemini-2.5-pro": (200_000, (2.5, 15.0, 0.625)),
}

# OVERRIDE: price history LiteLLM cannot express. prices.md: claude-3-5-haiku was first priced
# at 1 / 5 and cut to 0.80 / 4. LiteLLM 1.80.0 still shows the launch price on
# claude-3-5-haiku-latest and the cut price on claude-3-5-haiku-20241022 (both with a wrong 1h
# write of 6.0); both ids collapse into this one model.
PRICE_HISTORY: dict[str, list[tuple[date, Rates5, str]]] = {
    "claude-sonnet-5-5": [
        (
            date(2026, 9, 28),
            (2.0, 10.0, 2.5, 4.0, 0.2),
            "launch price, cache reads 0.20 (0.1x input); released 2026-09-28 "
            "(https://runware.ai/docs/models/anthropic-claude-sonnet-5-5.md)",
        ),
        (
            date(2026, 10, 7),
            (2.0, 10.0, 2.5, 4.0, 0.1),
            "cache reads halved to 0.10 with Claude Haiku 5.5's release "
            "(https://www.anthropic.com/claude-haiku-5-5, 2026-10-07); litellm 1.109.1 has 0.1",
        ),
    ],
    "claude-3-5-haiku": [
        (
            date(2024, 10, 22),
            (1.0, 5.0, 1.25, 2.0, 0.1),
            "launch price 1 / 5 (prices.md); litellm 1.80.0 keeps it on claude-3-5-haiku-latest, "
            "with a wrong cache_write_1h of 6.0 (Anthropic's 1h write is 2x input = 2.0)",
        ),
        (
            date(2024, 12, 1),
            (0.8, 4.0, 1.0, 1.6, 0.08),
            "price cut to 0.80 / 4 (prices.md); the cut date is approximate; litellm 1.80.0's "
            "cache_write_1h of 6.0 is wrong (2x input = 1.6)",
        ),
    ],
}

# OVERRIDE: LiteLLM entries whose 1-hour cache-write price is plainly wrong (a flat 6.0, the
# Sonnet figure). Anthropic's 1h write is 2x input; the card uses that. Value: what LiteLLM says.
# (Entries with no 1h price at all, claude-4-opus-20250514 and claude-4-sonnet-20250514, also get
# 2x input; that rule is applied generally in anthropic_rates().)
LITELLM_WRONG_CACHE_WRITE_1H: dict[str, float] = {
    "claude-3-5-haiku-20241022": 6.0,  # input 0.80 -> 1.6
    "claude-3-5-haiku-latest": 6.0,  # input 1.00 -> 2.0
    "claude-3-haiku-20240307": 6.0,  # input 0.25 -> 0.5
    "claude-3-opus-20240229": 6.0,  # input 15 -> 30
    "claude-3-opus-latest": 6.0,  # input 15 -> 30
}

# OVERRIDE: context windows. prices.md: claude-sonnet-4-5 has a 1M-token context (LiteLLM 1.109.1
# says 200000, its default without the 1M beta).
CONTEXT_WINDOW_OVERRIDES: dict[str, int] = {
    "claude-sonnet-4-5": 1_000_000,
}

# Aliases: ids that mean the model but do not reduce to its name by normalise() (which strips a
# provider prefix, an `@date`, a `-v1:0`, a `-YYYYMMDD` / `-YYYY-MM-DD` date or a `-latest`).
ALIASES: dict[str, list[str]] = {
    # LiteLLM's odd claude-4-opus-20250514 / claude-4-sonnet-20250514; `-4-0` are Anthropic's
    # own API aliases for the first Claude 4 models.
    "claude-opus-4": ["claude-4-opus", "claude-opus-4-0"],
    "claude-sonnet-4": ["claude-4-sonnet", "claude-sonnet-4-0"],
    # Vertex AI names the October 2024 model claude-3-5-sonnet-v2@20241022.
    "claude-3-5-sonnet": ["claude-3-5-sonnet-v2"],
    # The stable pinned version of gemini-2.0-flash (same price in LiteLLM).
    "gemini-2.0-flash": ["gemini-2.0-flash-001"],
}

# Public release dates: the day from which a model could be used and its price applies. They win
# over the date in a model's id, which is a snapshot's date, not always the release (Opus 4.5's id
# says 2025-11-01; it was released on 2025-11-24). A model with neither a date here, nor a date in
# its id, nor an entry in DATE_UNKNOWN stops the build: no date is ever invented.
RELEASE_DATES: dict[str, date] = {
    "claude-sonnet-4-6": date(2026, 2, 17),
    "gpt-5-chat": date(2025, 8, 7),  # with GPT-5
    "gpt-5-codex": date(2025, 9, 15),
    "gpt-5.1-chat": date(2025, 11, 13),  # with gpt-5.1-2025-11-13
    "gpt-5.1-codex": date(2025, 11, 13),
    "gpt-5.1-codex-mini": date(2025, 11, 13),
    "gpt-5.1-codex-max": date(2025, 11, 19),
    "gpt-5.2-chat": date(2025, 12, 11),  # with gpt-5.2-2025-12-11
    "gemini-2.0-flash-exp": date(2024, 12, 11),
    "gemini-2.0-flash-thinking-exp": date(2024, 12, 19),
    "gemini-2.0-flash-thinking-exp-01-21": date(2025, 1, 21),  # date in id (no year)
    "gemini-2.0-flash": date(2025, 2, 5),  # GA in the Gemini API
    "gemini-2.0-flash-lite-preview-02-05": date(2025, 2, 5),  # date in id
    "gemini-2.0-pro-exp-02-05": date(2025, 2, 5),  # date in id
    "gemini-2.0-flash-lite": date(2025, 2, 25),  # GA
    "gemini-2.5-pro-exp-03-25": date(2025, 3, 25),  # date in id
    "gemini-2.5-pro-preview-03-25": date(2025, 3, 25),  # date in id
    "gemini-2.5-flash-preview-04-17": date(2025, 4, 17),  # date in id
    "gemini-2.5-pro-preview-05-06": date(2025, 5, 6),  # date in id
    "gemini-2.5-flash-preview-05-20": date(2025, 5, 20),  # date in id
    "gemini-2.5-pro-preview-06-05": date(2025, 6, 5),  # date in id
    "gemini-2.5-flash-lite-preview-06-17": date(2025, 6, 17),  # date in id
    "gemini-2.5-pro": date(2025, 6, 17),  # GA
    "gemini-2.5-flash": date(2025, 6, 17),  # GA
    "gemini-2.5-flash-lite": date(2025, 7, 22),  # GA
    "gemini-2.5-flash-preview-09-2025": date(2025, 9, 25),
    "gemini-2.5-flash-lite-preview-09-2025": date(2025, 9, 25),
    "gemini-2.5-computer-use-preview-10-2025": date(2025, 10, 7),
    "gemini-3-flash-preview": date(2025, 12, 17),
    # Claude, 2025-2026 (RELEASE_SOURCES says where each was published)
    "claude-opus-4-5": date(2025, 11, 24),
    "claude-haiku-4-5": date(2025, 10, 15),
    "claude-opus-4-6": date(2026, 2, 5),
    "claude-mythos-preview": date(2026, 4, 7),  # invitation only (Project Glasswing)
    "claude-opus-4-7": date(2026, 4, 16),
    "claude-opus-4-8": date(2026, 5, 28),
    "claude-fable-5": date(2026, 6, 9),
    "claude-mythos-5": date(2026, 6, 9),
    "claude-sonnet-5": date(2026, 6, 30),
    "claude-opus-5": date(2026, 7, 24),
    "claude-fable-5-1": date(2026, 9, 1),
    "claude-mythos-5-1": date(2026, 9, 1),
    "claude-opus-5-5": date(2026, 9, 22),
    "claude-sonnet-5-5": date(2026, 9, 28),
    "claude-haiku-5-5": date(2026, 10, 7),
    # Google and OpenAI, 2026
    "gemini-3.1-pro-preview": date(2026, 2, 19),
    "gemini-3.1-pro-preview-customtools": date(2026, 2, 19),
    "gemini-3.1-flash-lite-preview": date(2026, 3, 3),
    "gemini-3.1-flash-lite": date(2026, 5, 7),  # GA
    "gemini-3.5-flash": date(2026, 5, 19),
    "gemini-3.5-flash-lite": date(2026, 7, 21),
    "gemini-3.6-flash": date(2026, 7, 21),
    "gemini-3.7-flash": date(2026, 8, 14),
    "gpt-5.2-codex": date(2026, 1, 14),  # in the API (Codex accounts had it from 2025-12-18)
    "gpt-5.3-codex": date(2026, 2, 24),  # in the API (Codex accounts from 2026-02-05)
    "gpt-5.3-chat": date(2026, 3, 3),
    "gpt-5.5-cyber-preview": date(2026, 5, 7),  # limited preview
    "gpt-5.6": date(2026, 7, 9),  # the alias of gpt-5.6-sol
    "gpt-5.6-sol": date(2026, 7, 9),  # GA (a limited preview from 2026-06-26)
    "gpt-5.6-terra": date(2026, 7, 9),
    "gpt-5.6-luna": date(2026, 7, 9),
    "gpt-5.6-cyber": date(2026, 8, 11),  # approved Daybreak Red customers only
}

# Where the 2025-2026 release dates above were published (the card's notes cite them).
RELEASE_SOURCES: dict[str, str] = {
    "claude-opus-4-5": "https://github.com/cline/cline/pull/7648",
    "claude-haiku-4-5": "anthropic.com/news/claude-haiku-4-5 (2025-10-15)",
    "claude-opus-4-6": "https://aiwiki.ai/wiki/claude_sonnet_4_6",
    "claude-sonnet-4-6": "https://aiwiki.ai/wiki/claude_sonnet_4_6",
    "claude-mythos-preview": "https://www.omniscient.media/post/anthropic-built-a-model-too-dangerous-"
    "to-release-its-fix-is-to-give-it-away-to-big-tech",
    "claude-opus-4-7": "https://github.com/webfuse-com/awesome-claude/pull/228",
    "claude-opus-4-8": "https://github.com/LiveBench/LiveBench/issues/402",
    "claude-fable-5": "https://github.com/endoflife-date/endoflife.date/pull/10552",
    "claude-mythos-5": "https://github.com/endoflife-date/endoflife.date/pull/10552",
    "claude-sonnet-5": "platform.claude.com docs, Claude Sonnet 5 (\"Released June 30, 2026\")",
    "claude-opus-5": "https://github.com/YishenTu/claudian/issues/984",
    "claude-fable-5-1": "https://github.com/simonw/llm-anthropic/issues/89",
    "claude-mythos-5-1": "https://github.com/simonw/llm-anthropic/issues/89",
    "claude-opus-5-5": "platform.claude.com docs, opus-5-5 overview (\"Released September 22, "
    "2026\"), quoted in https://github.com/eltmon/overdeck/pull/3985",
    "claude-sonnet-5-5": "https://runware.ai/docs/models/anthropic-claude-sonnet-5-5.md",
    "claude-haiku-5-5": "https://www.anthropic.com/claude-haiku-5-5 (2026-10-07)",
    "gemini-3.1-pro-preview": "https://github.com/RitechSolutions/genassist/pull/352",
    "gemini-3.1-pro-preview-customtools": "https://help.apiyi.com/en/gemini-3-1-pro-preview-"
    "customtools-agent-guide-en.html",
    "gemini-3.1-flash-lite-preview": "https://www.creativeainews.com/articles/gemini-3-1-flash-"
    "lite-ga-migration-guide/",
    "gemini-3.1-flash-lite": "Gemini API changelog, as quoted in https://24-ai.news/en/news/"
    "2026-05-25/gemini-flash-lite-preview-shutdown/",
    "gemini-3.5-flash": "https://developer.box.com/guides/box-ai/ai-models/google-gemini-3-5-"
    "flash-model-card",
    "gemini-3.5-flash-lite": "https://github.com/simstudioai/sim/pull/5812 (third party)",
    "gemini-3.6-flash": "https://github.com/simstudioai/sim/pull/5812 (third party)",
    "gemini-3.7-flash": "https://github.com/lbjlaq/Antigravity-Manager/issues/3309 (third party)",
    "gpt-5.2-codex": "https://developers.openai.com/docs/changelog",
    "gpt-5.3-codex": "https://vercel.com/ai-gateway/models/gpt-5.3-codex",
    "gpt-5.3-chat": "https://www.llmreference.com/model/gpt-5.3-chat/openai-api",
    "gpt-5.5-cyber-preview": "https://nerova.ai/news/openai-trusted-access-cyber-gpt-5-5-cyber-"
    "may-7-2026",
    "gpt-5.6": "https://apidog.com/blog/how-to-use-gpt-5-6-api/",
    "gpt-5.6-sol": "https://openrouter.ai/openai/gpt-5.6-terra (\"Released Jul 9, 2026\")",
    "gpt-5.6-terra": "https://openrouter.ai/openai/gpt-5.6-terra (\"Released Jul 9, 2026\")",
    "gpt-5.6-luna": "https://openrouter.ai/openai/gpt-5.6-terra (\"Released Jul 9, 2026\")",
    "gpt-5.6-cyber": "https://github.com/openai/openai-node/pull/2278",
}

# Models whose release date is not published anywhere we could find: (the earliest day the
# model could have existed, why). The card marks them date_known = false and prices them from
# that day; a report never prices an older request with them, nor does an alias name them earlier.
DATE_UNKNOWN: dict[str, tuple[date, str]] = {
    "gemini-3.8-flash": (date(2026, 8, 14), "not before gemini-3.7-flash (2026-08-14), which it "
                         "replaced; stable by 2026-09-02 per https://github.com/can1357/oh-my-pi/"
                         "issues/10577"),
    "gpt-5.5-cyber": (date(2026, 5, 7), "not before its limited preview gpt-5.5-cyber-preview "
                      "(2026-05-07); on OpenAI's price list by 2026-08-22 per "
                      "https://github.com/simonw/llm-prices/pull/66"),
}

# Pricing modifiers: a multiplier of every token rate (cache reads and writes included; web search
# fees are not multiplied) for requests whose usage field has the value, over the days the mode
# was offered: (field, value, factor, first day, first day no longer offered or None, source).
FAST_DOCS = "platform.claude.com/docs/en/build-with-claude/fast-mode"
US_DOCS = ("platform.claude.com docs, data residency (inference_geo); AWS Claude Platform user "
           "guide: US-only inference 1.1x on Claude Opus 4.6, Sonnet 4.6 and later models")
MODIFIERS: dict[str, list[tuple[str, str, float, date, date | None, str]]] = {
    # 6x ($30 / $150); Anthropic's early pages also gave 12x above 200k input tokens, for which no
    # date of change was published: the card keeps the flat 6x. Fast mode on Opus 4.6 ended on
    # 2026-06-29; later `speed: "fast"` requests ran and were billed at the standard rate
    # (https://github.com/NousResearch/hermes-agent/pull/82348, quoting the fast-mode docs).
    "claude-opus-4-6": [
        ("speed", "fast", 6.0, date(2026, 2, 5), date(2026, 6, 29),
         f"{FAST_DOCS}; OpenRouter anthropic/claude-opus-4.6-fast ($30 / $150)"),
    ],
    # removed on 2026-07-24 (https://github.com/zed-industries/zed/pull/61341)
    "claude-opus-4-7": [
        ("speed", "fast", 6.0, date(2026, 4, 16), date(2026, 7, 24),
         f"{FAST_DOCS}; removed 2026-07-24"),
    ],
    # 2x from Opus 4.8 on; removed from Opus 4.8 on 2026-11-30
    "claude-opus-4-8": [
        ("speed", "fast", 2.0, date(2026, 5, 28), date(2026, 11, 30),
         f"{FAST_DOCS}; code.claude.com fast-mode; removed 2026-11-30"),
    ],
    "claude-opus-5": [
        ("speed", "fast", 2.0, date(2026, 7, 24), None,
         f"{FAST_DOCS}; OpenRouter and Vercel claude-opus-5-fast ($10 / $50)"),
    ],
    "claude-opus-5-5": [
        ("speed", "fast", 2.0, date(2026, 9, 22), None,
         "OpenRouter claude-opus-5.5-fast ($8 / $40); code.claude.com fast-mode"),
    ],
}
US_ONLY_FROM = ("claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7", "claude-opus-4-8",
                "claude-fable-5", "claude-mythos-5", "claude-sonnet-5", "claude-opus-5",
                "claude-fable-5-1", "claude-mythos-5-1", "claude-opus-5-5", "claude-sonnet-5-5",
                "claude-haiku-5-5", "claude-mythos-preview")


def modifiers_of(name: str, released: date) -> list[tuple[str, str, float, date, date | None, str]]:
    """The card's modifiers of a model: its fast mode, and US-only inference (1.1x) on the
    4.6 models and every later one, from its release."""
    mods = list(MODIFIERS.get(name, []))
    if name in US_ONLY_FROM:
        mods.append(("inference_geo", "us", 1.1, released, None, US_DOCS))
    return mods


# Model-level notes worth keeping on the card (added to the first price period's note).
EXTRA_NOTES: dict[str, str] = {
    "gpt-4o": "the undated gpt-4o alias served gpt-4o-2024-05-13 (5 / 15, on the card under its "
    "own id) until 2024-10-02; this card prices undated gpt-4o at the 2024-08-06 price throughout",
}

# ---------------------------------------------------------------------------------------------
# Model-id normalisation
# ---------------------------------------------------------------------------------------------

_PREFIXES = ("gemini/", "anthropic/", "us.anthropic.", "openai/")
_SUFFIXES = (re.compile(r"-v\d+:\d+$"), re.compile(r"@\d{8}$"))
_DATE_8 = re.compile(r"-(\d{4})(\d{2})(\d{2})$")
_DATE_ISO = re.compile(r"-(\d{4})-(\d{2})-(\d{2})$")
_LATEST = re.compile(r"-latest$")


def normalise(model_id: str) -> tuple[str, date | None, bool]:
    """Return (normalised name, date carried by the id, whether the id ended in -latest)."""
    name = model_id
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    for suffix in _SUFFIXES:
        name = suffix.sub("", name)
    when = None
    for pattern in (_DATE_8, _DATE_ISO):
        m = pattern.search(name)
        if m:
            when = date(int(m[1]), int(m[2]), int(m[3]))
            name = name[: m.start()]
            break
    latest = bool(_LATEST.search(name))
    name = _LATEST.sub("", name)
    return name, when, latest


ALIAS_TO_NAME = {alias: name for name, aliases in ALIASES.items() for alias in aliases}


def canonical(model_id: str) -> str:
    name = normalise(model_id)[0]
    return ALIAS_TO_NAME.get(name, name)


# ---------------------------------------------------------------------------------------------
# Card rows
# ---------------------------------------------------------------------------------------------


def r6(x: float) -> float:
    """Round to 6 decimals: kills float noise from per-token -> per-MTok conversion."""
    return round(float(x), 6) + 0.0  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class Rates:
    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    @classmethod
    def of(cls, values: Rates5) -> Rates:
        return cls(*(r6(v) for v in values))

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(getattr(self, f) for f in RATE_FIELDS)


@dataclass
class Price:
    effective_from: date
    rates: Rates
    source: str
    web_search_per_1k: float | None = None
    long_context_threshold: int | None = None
    long_context: Rates | None = None
    notes: list[str] = field(default_factory=list)

    def tariff(self) -> tuple[Any, ...]:
        """Everything that affects a request's cost (what decides whether two ids differ)."""
        return (self.rates, self.web_search_per_1k, self.long_context_threshold, self.long_context)


@dataclass
class Model:
    name: str
    provider: str
    family: str | None
    aliases: list[str]
    context_window: int | None
    prices: list[Price]
    date_known: bool = True
    modifiers: list[tuple[str, str, float, date, date | None, str]] = field(default_factory=list)


def per_mtok(entry: dict[str, Any], key: str) -> float | None:
    value = entry.get(key)
    return None if value is None else r6(float(value) * 1_000_000)


def fmt(x: float) -> str:
    return repr(r6(x))


def raw_tier(entry: dict[str, Any], suffix: str = "") -> dict[str, float | None]:
    return {f: per_mtok(entry, LITELLM_FIELDS[f] + suffix) for f in RATE_FIELDS}


def long_tier(entry: dict[str, Any], key: str) -> tuple[int, dict[str, float | None]] | None:
    """LiteLLM's `*_above_<N>k_tokens` tier, if the entry has one."""
    thresholds = {int(m[2]) for f in entry if (m := LONG_TIER_RE.match(f))}
    if not thresholds:
        return None
    if len(thresholds) > 1:
        raise SystemExit(f"{key}: several long-context thresholds {sorted(thresholds)}")
    n = thresholds.pop()
    return n * 1000, raw_tier(entry, f"_above_{n}k_tokens")


def web_search_per_1k(entry: dict[str, Any]) -> float | None:
    per_query = entry.get("search_context_cost_per_query")
    if not isinstance(per_query, dict) or not per_query:
        return None
    # The three context sizes carry the same price in every entry today; take medium.
    value = per_query.get("search_context_size_medium", max(per_query.values()))
    return r6(float(value) * 1000)


def anthropic_fill(raw: dict[str, float | None], notes: list[str], what: str) -> Rates5:
    """Fill gaps in an Anthropic tier by Anthropic's rules (5m 1.25x, 1h 2x, read 0.1x input)."""
    inp, out = raw["input"], raw["output"]
    if inp is None or out is None:
        raise SystemExit(f"{what}: no input or output price")
    rules = {"cache_write_5m": 1.25, "cache_write_1h": 2.0, "cache_read": 0.1}
    filled = {}
    for f, factor in rules.items():
        expected = r6(inp * factor)
        got = raw[f]
        if got is None:
            filled[f] = expected
            notes.append(f"{what}: LiteLLM has no {f}; set to {factor}x input = {fmt(expected)}")
        else:
            filled[f] = got
            if got != expected:
                ratio = r6(got / inp) if inp else None
                notes.append(
                    f"{what}: LiteLLM {f} {fmt(got)} is {ratio}x input, not Anthropic's usual "
                    f"{factor}x; taken as given"
                )
    return inp, out, filled["cache_write_5m"], filled["cache_write_1h"], filled["cache_read"]


def anthropic_price(key: str, entry: dict[str, Any], source: str) -> Price:
    notes: list[str] = []
    raw = raw_tier(entry)
    if key in LITELLM_WRONG_CACHE_WRITE_1H:
        wrong = LITELLM_WRONG_CACHE_WRITE_1H[key]
        if raw["cache_write_1h"] != wrong:
            warn(
                f"{key}: LITELLM_WRONG_CACHE_WRITE_1H says {wrong}, LiteLLM now says "
                f"{raw['cache_write_1h']}; the override may be stale"
            )
        assert raw["input"] is not None
        raw["cache_write_1h"] = r6(2 * raw["input"])
        notes.append(
            f"LiteLLM cache_write_1h {fmt(wrong)} is wrong; Anthropic's 1h write is 2x input "
            f"= {fmt(raw['cache_write_1h'])}"
        )
    price = Price(
        effective_from=UNKNOWN_DATE,
        rates=Rates.of(anthropic_fill(raw, notes, "base")),
        source=source,
        web_search_per_1k=ANTHROPIC_WEB_SEARCH_PER_1K,
        notes=notes,
    )
    tier = long_tier(entry, key)
    if tier:
        threshold, raw_long = tier
        if raw_long["output"] is None:
            raw_long["output"] = raw["output"]
            notes.append("long context: LiteLLM has no output price; base output used")
        price.long_context_threshold = threshold
        price.long_context = Rates.of(anthropic_fill(raw_long, notes, "long context"))
    return price


def other_price(key: str, entry: dict[str, Any], source: str) -> Price:
    """OpenAI / Google: no cache-write surcharge, so both cache writes cost the input price."""
    notes: list[str] = []
    raw = raw_tier(entry)
    inp, out, read = raw["input"], raw["output"], raw["cache_read"]
    if inp is None or out is None:
        raise SystemExit(f"{key}: no input or output price")
    if read is None:
        read = inp
        notes.append(
            "LiteLLM has no cached-input price (no caching discount); cached tokens priced as input"
        )
    # OVERRIDE (rule): LiteLLM lists cache-creation prices on some OpenAI entries (gpt-5.6*);
    # the card follows the OpenAI/Google rule and prices cache writes as input. Say so.
    if raw["cache_write_5m"] is not None and raw["cache_write_5m"] != inp:
        extra = per_mtok(entry, "cache_creation_input_token_cost_above_12hr")
        notes.append(
            f"LiteLLM lists a cache-write price of {fmt(raw['cache_write_5m'])}"
            + (f" (>12h retention {fmt(extra)})" if extra is not None else "")
            + "; the card prices cache writes as input (OpenAI/Google rule) - unverified"
        )
    if inp == 0 and out == 0:
        notes.append("LiteLLM prices this experimental model at 0")
    reasoning = per_mtok(entry, "output_cost_per_reasoning_token")
    if reasoning is not None and reasoning != out:
        notes.append(
            f"LiteLLM prices reasoning (thinking) output at {fmt(reasoning)}, not "
            f"{fmt(out)}; the card has one output price and uses {fmt(out)}"
        )
    price = Price(
        effective_from=UNKNOWN_DATE,
        rates=Rates.of((inp, out, inp, inp, read)),
        source=source,
        web_search_per_1k=web_search_per_1k(entry),
        notes=notes,
    )
    tier = long_tier(entry, key)
    if tier:
        threshold, raw_long = tier
        l_in = raw_long["input"] if raw_long["input"] is not None else inp
        l_out = raw_long["output"] if raw_long["output"] is not None else out
        l_read = raw_long["cache_read"]
        long_notes = []
        if l_read is None:
            # Scale the cached-input price like the input price (for gemini-2.5-pro-preview-*
            # this gives 0.625, prices.md's figure for gemini-2.5-pro).
            l_read = r6(read * l_in / inp) if inp else l_in
            long_notes.append(
                f"long context: LiteLLM has no cached-input price; base cached-input "
                f"scaled like input = {fmt(l_read)}"
            )
        long_rates = Rates.of((l_in, l_out, l_in, l_in, l_read))
        # A tier priced like the base (LiteLLM's zero-priced experimental models) is a no-op.
        if long_rates != price.rates:
            price.long_context_threshold = threshold
            price.long_context = long_rates
            notes.extend(long_notes)
    return price


def apply_prices_md(name: str, provider: str, price: Price, litellm_source: str) -> None:
    """OVERRIDE: prices.md wins for the models it lists; note every disagreement."""
    if provider == "anthropic":
        if name not in PRICES_MD_ANTHROPIC:
            return
        rates = Rates.of(PRICES_MD_ANTHROPIC[name])
        long = PRICES_MD_ANTHROPIC_LONG_CONTEXT.get(name)
        long_threshold, long_rates = (long[0], Rates.of(long[1])) if long else (None, None)
    else:
        if name not in PRICES_MD_OTHERS:
            return
        i, o, c = PRICES_MD_OTHERS[name]
        rates = Rates.of((i, o, i, i, c))
        long = PRICES_MD_OTHERS_LONG_CONTEXT.get(name)
        if long:
            (li, lo, lc) = long[1]
            long_threshold, long_rates = long[0], Rates.of((li, lo, li, li, lc))
        else:  # prices.md gives no tier: keep LiteLLM's, if any
            long_threshold, long_rates = price.long_context_threshold, price.long_context

    diffs = []
    for f in RATE_FIELDS:
        if getattr(price.rates, f) != getattr(rates, f):
            diffs.append(f"{f} {fmt(getattr(price.rates, f))}")
    if price.long_context_threshold != long_threshold or price.long_context != long_rates:
        if price.long_context is None:
            diffs.append("no long-context tier")
        elif long_rates is None:
            diffs.append(f"a long-context tier above {price.long_context_threshold} (dropped)")
        else:
            diffs.extend(
                f"long-context {f} {fmt(getattr(price.long_context, f))}"
                for f in RATE_FIELDS
                if getattr(price.long_context, f) != getattr(long_rates, f)
            )
            if price.long_context_threshold != long_threshold:
                diffs.append(f"long-context threshold {price.long_context_threshold}")
    # Notes on how LiteLLM's figures were repaired are moot once prices.md replaces them.
    price.notes = []
    if diffs:
        price.notes.append(f"prices.md wins over {litellm_source}, which has " + ", ".join(diffs))
    price.rates = rates
    price.long_context_threshold, price.long_context = long_threshold, long_rates
    price.source = PRICES_MD_SOURCE


# ---------------------------------------------------------------------------------------------
# Building the card
# ---------------------------------------------------------------------------------------------


def warn(message: str) -> None:
    print(f"build_rate_card: {message}", file=sys.stderr)


def litellm_versions(meta: dict[str, Any]) -> tuple[str, str, set[str]]:
    def version(text: str) -> str:
        m = re.search(r"litellm==([\w.]+)", text)
        return m[1] if m else "unknown version"

    primary = version(meta.get("primary_source", ""))
    secondary = version(meta.get("secondary_source", ""))
    older = {key for k, keys in meta.items() if k.startswith("from_litellm_") for key in keys}
    return primary, secondary, older


def family_of(name: str) -> str | None:
    parts = name.split("-")
    found = [f for f in FAMILIES if f in parts]
    return found[0] if len(found) == 1 else None


def build(data: dict[str, Any]) -> list[Model]:
    meta = data.get("_meta", {})
    primary, secondary, older = litellm_versions(meta)

    groups: dict[str, list[str]] = {}
    for key in sorted(data):
        if key == "_meta":
            continue
        provider = PROVIDERS.get(data[key].get("litellm_provider", ""))
        if provider is None:
            warn(f"skipping {key}: provider {data[key].get('litellm_provider')!r}")
            continue
        groups.setdefault(canonical(key), []).append(key)

    def source_of(key: str) -> str:
        return f"litellm {secondary if key in older else primary} ({key})"

    def base_key(name: str, keys: list[str]) -> str:
        # Prefer the id that is exactly the name, then -latest, then the newest dated id, and
        # ids that normalise to the name over those reached through an alias.
        def rank(key: str) -> tuple[bool, bool, bool, date]:
            stripped, when, latest = normalise(key)
            exact = when is None and not latest
            return (stripped == name, exact, latest, when or date.min)

        return max(keys, key=rank)

    models: list[Model] = []
    for name in sorted(groups):
        keys = groups[name]
        base = base_key(name, keys)
        provider = PROVIDERS[data[base]["litellm_provider"]]

        def price_of(key: str, provider: str = provider) -> Price:
            maker = anthropic_price if provider == "anthropic" else other_price
            return maker(key, data[key], source_of(key))

        base_price = price_of(base)
        members, split = [base], []
        for key in keys:
            if key == base:
                continue
            same = price_of(key).tariff() == base_price.tariff()
            if same or name in PRICE_HISTORY:
                members.append(key)
            else:  # e.g. gpt-4o-2024-05-13 at 5 / 15 beside gpt-4o at 2.50 / 10
                split.append(key)

        for key in split:  # an exact dated id with its own price becomes its own model
            when = normalise(key)[1]
            exact = key.split("/", 1)[-1]  # drop the `gemini/` prefix, keep the date
            price = price_of(key)
            if when is None:
                raise SystemExit(f"{key}: an id of its own price without a date")
            price.effective_from = when
            models.append(make_model(exact, provider, data[key], [price]))

        dates = sorted(d for k in members if (d := normalise(k)[1]) is not None)
        date_known = True
        if name in PRICE_HISTORY:
            prices = [
                Price(
                    when,
                    Rates.of(rates),
                    "prices.md (table and price-history note)" if name not in RELEASE_SOURCES
                    else source_of(base),
                    ANTHROPIC_WEB_SEARCH_PER_1K,
                    notes=[note],
                )
                for when, rates, note in PRICE_HISTORY[name]
            ]
        else:
            apply_prices_md(name, provider, base_price, source_of(base).split(" (")[0])
            if name in RELEASE_DATES:
                base_price.effective_from = RELEASE_DATES[name]
                if dates and dates[0] != RELEASE_DATES[name]:
                    base_price.notes.append(f"released {RELEASE_DATES[name].isoformat()}; the "
                                            f"{dates[0].isoformat()} in its id is a snapshot date")
                if name in RELEASE_SOURCES:
                    base_price.notes.append(f"release date: {RELEASE_SOURCES[name]}")
            elif dates:
                base_price.effective_from = dates[0]
            elif name in DATE_UNKNOWN:
                first, why = DATE_UNKNOWN[name]
                base_price.effective_from = first
                base_price.notes.append(f"release date not published; priced from {first}: {why}")
                date_known = False
            else:
                raise SystemExit(f"{name}: no release date; add it to RELEASE_DATES (with its "
                                 "source) or DATE_UNKNOWN (with a lower bound)")
            prices = [base_price]
        if name in CONTEXT_WINDOW_OVERRIDES:
            ctx = data[base].get("max_input_tokens")
            prices[0].notes.append(
                f"context_window {CONTEXT_WINDOW_OVERRIDES[name]} per prices.md (LiteLLM: {ctx})"
            )
        if name in EXTRA_NOTES:
            prices[0].notes.append(EXTRA_NOTES[name])
        model = make_model(name, provider, data[base], prices)
        model.date_known = date_known
        model.modifiers = modifiers_of(name, model.prices[0].effective_from)
        models.append(model)

    models.sort(key=lambda m: (m.provider, m.name))
    return models


def make_model(name: str, provider: str, entry: dict[str, Any], prices: list[Price]) -> Model:
    ctx = CONTEXT_WINDOW_OVERRIDES.get(name, entry.get("max_input_tokens"))
    return Model(
        name=name,
        provider=provider,
        family=family_of(name) if provider == "anthropic" else None,
        aliases=sorted(ALIASES.get(name, [])),
        context_window=int(ctx) if ctx is not None else None,
        prices=sorted(prices, key=lambda p: p.effective_from),
    )


# ---------------------------------------------------------------------------------------------
# TOML output (tomllib reads but does not write)
# ---------------------------------------------------------------------------------------------


def toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def toml_float(x: float) -> str:
    s = repr(r6(x))
    if "e" in s or "inf" in s or "nan" in s:
        raise SystemExit(f"cannot write {x!r} as a plain decimal")
    return s


def toml_rates(rates: Rates) -> str:
    return "{ " + ", ".join(f"{f} = {toml_float(getattr(rates, f))}" for f in RATE_FIELDS) + " }"


def render(models: list[Model], input_name: str, input_sha: str, versions: str) -> str:
    out = [
        "# ccspend rate card: prices in USD per million tokens; web search in USD per 1,000",
        "# searches. GENERATED FILE - do not edit by hand. Regenerate with:",
        "#     python scripts/build_rate_card.py [path/to/litellm-prices.json]",
        "# Sources:",
        "#   - shared/reference/prices.md: provider list prices; they win wherever LiteLLM",
        "#     disagrees (each such price says so in its `note`).",
        "#   - LiteLLM's model_prices_and_context_window.json, read from",
        f"#     {input_name} (sha256 {input_sha[:16]}...):",
        f"#     {versions}.",
        "#   - Overrides, aliases and release dates: the commented tables in",
        "#     scripts/build_rate_card.py.",
        "# The price in force for a request is the latest [[model.price]] whose effective_from is",
        "# on or before the request date (the first one also covers earlier requests). A request",
        "# whose input + cache-write + cache-read tokens exceed long_context_threshold is priced",
        "# wholly at the long_context rates.",
        "",
        f"version = {toml_str(CARD_VERSION.isoformat())}",
    ]
    for m in models:
        out += ["", "[[model]]", f"name = {toml_str(m.name)}", f"provider = {toml_str(m.provider)}"]
        if m.family:
            out.append(f"family = {toml_str(m.family)}")
        out.append("aliases = [" + ", ".join(toml_str(a) for a in m.aliases) + "]")
        if m.context_window is not None:
            out.append(f"context_window = {m.context_window}")
        if not m.date_known:
            out.append("date_known = false")
        for p in m.prices:
            out += ["", "  [[model.price]]", f"  effective_from = {p.effective_from.isoformat()}"]
            out += [f"  {f} = {toml_float(getattr(p.rates, f))}" for f in RATE_FIELDS]
            if p.web_search_per_1k is not None:
                out.append(f"  web_search_per_1k = {toml_float(p.web_search_per_1k)}")
            if p.long_context is not None:
                out.append(f"  long_context_threshold = {p.long_context_threshold}")
                out.append(f"  long_context = {toml_rates(p.long_context)}")
            out.append(f"  source = {toml_str(p.source)}")
            if p.notes:
                out.append(f"  note = {toml_str('; '.join(p.notes))}")
        for fld, value, factor, first, until, source in m.modifiers:
            out += ["", "  [[model.modifier]]", f"  field = {toml_str(fld)}",
                    f"  value = {toml_str(value)}", f"  factor = {toml_float(factor)}",
                    f"  effective_from = {first.isoformat()}"]
            if until is not None:
                out.append(f"  until = {until.isoformat()}")
            out.append(f"  source = {toml_str(source)}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Self-check: re-read the written card and compare it with verbatim copies of prices.md's tables
# (typed independently of the override tables above, so a slip in either is caught).
# ---------------------------------------------------------------------------------------------

PRICES_MD_ANTHROPIC_ROWS = (
    "| claude-opus-4-7, claude-opus-4-6, claude-opus-4-5 | 5 | 25 | 6.25 | 10 | 0.50 |",
    "| claude-opus-4-1, claude-opus-4 | 15 | 75 | 18.75 | 30 | 1.50 |",
    "| claude-sonnet-4-6, claude-sonnet-4-5, claude-sonnet-4, claude-3-7-sonnet"
    " | 3 | 15 | 3.75 | 6 | 0.30 |",
    "| claude-haiku-4-5 | 1 | 5 | 1.25 | 2 | 0.10 |",
    "| claude-3-5-haiku | 0.80 | 4 | 1.00 | 1.60 | 0.08 |",
    "| claude-3-haiku | 0.25 | 1.25 | 0.30 | 0.50 | 0.03 |",
)
PRICES_MD_OTHERS_ROWS = (
    "| gpt-5 | 1.25 | 10 | 0.125 |",
    "| gpt-5-mini | 0.25 | 2 | 0.025 |",
    "| gpt-5-nano | 0.05 | 0.40 | 0.005 |",
    "| gpt-4o | 2.50 | 10 | 1.25 |",
    "| gpt-4o-mini | 0.15 | 0.60 | 0.075 |",
    "| gemini-2.5-pro (≤200k prompt) | 1.25 | 10 | 0.31 |",
    "| gemini-2.5-pro (>200k prompt) | 2.50 | 15 | 0.625 |",
    "| gemini-2.5-flash | 0.30 | 2.50 | 0.075 |",
    "| gemini-2.0-flash | 0.10 | 0.40 | 0.025 |",
)
# prices.md, "Long context" bullet: input 6, output 22.50, write 5m 7.50, 1h 12, read 0.60.
PRICES_MD_LONG_CONTEXT_CHECK = {
    "claude-sonnet-4-5": (200_000, (6.0, 22.5, 7.5, 12.0, 0.6)),
    "claude-sonnet-4": (200_000, (6.0, 22.5, 7.5, 12.0, 0.6)),
}


def md_rows(rows: tuple[str, ...]) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in rows]


def self_check(card_text: str, data: dict[str, Any]) -> None:
    card = tomllib.loads(card_text)
    errors: list[str] = []

    def check(ok: bool, message: str) -> None:
        if not ok:
            errors.append(message)

    models = {m["name"]: m for m in card["model"]}
    check(len(models) == len(card["model"]), "duplicate model names")
    lookup = dict.fromkeys(models, "")
    for m in card["model"]:
        for a in m.get("aliases", []):
            check(a not in lookup, f"alias {a} collides with a name or another alias")
            lookup[a] = m["name"]

    def in_force(name: str) -> dict[str, Any]:
        prices = models[name]["price"]
        return [p for p in prices if p["effective_from"] <= CARD_VERSION][-1]

    for m in card["model"]:
        dates = [p["effective_from"] for p in m["price"]]
        check(dates == sorted(dates) and len(set(dates)) == len(dates), f"{m['name']}: dates")
        check(m["provider"] in ("anthropic", "openai", "google"), f"{m['name']}: provider")
        check((m["provider"] == "anthropic") or "family" not in m, f"{m['name']}: family")
        for p in m["price"]:
            for f in RATE_FIELDS:
                v = p[f]
                check(isinstance(v, float) and v >= 0 and r6(v) == v, f"{m['name']}: {f} {v}")
            if m["provider"] != "anthropic":
                check(
                    p["cache_write_5m"] == p["cache_write_1h"] == p["input"],
                    f"{m['name']}: cache writes must equal input",
                )
            else:
                check(p.get("web_search_per_1k") == 10.0, f"{m['name']}: web search")
            check(
                ("long_context" in p) == ("long_context_threshold" in p),
                f"{m['name']}: long_context and its threshold go together",
            )
            check(bool(p.get("source")), f"{m['name']}: source")

    # Every LiteLLM id maps to a card model (exactly, or after normalisation and aliases).
    for key in data:
        if key == "_meta" or data[key].get("litellm_provider") not in PROVIDERS:
            continue
        exact = key.split("/", 1)[-1]
        check(exact in lookup or canonical(key) in models, f"LiteLLM {key} is not on the card")

    for row in md_rows(PRICES_MD_ANTHROPIC_ROWS):
        expected = tuple(float(v) for v in row[1:])
        for name in (n.strip() for n in row[0].split(",")):
            if name not in models:
                errors.append(f"prices.md model {name} missing")
                continue
            p = in_force(name)
            got = tuple(p[f] for f in RATE_FIELDS)
            check(got == expected, f"{name}: {got} != prices.md {expected}")
            long = PRICES_MD_LONG_CONTEXT_CHECK.get(name)
            if long:
                got_long = tuple(p.get("long_context", {}).get(f) for f in RATE_FIELDS)
                check(
                    p.get("long_context_threshold") == long[0] and got_long == long[1],
                    f"{name}: long context {got_long} != prices.md {long}",
                )
            else:
                check("long_context" not in p, f"{name}: unexpected long-context tier")

    for row in md_rows(PRICES_MD_OTHERS_ROWS):
        name, _, qualifier = row[0].partition(" (")
        i, o, c = (float(v) for v in row[1:])
        if name not in models:
            errors.append(f"prices.md model {name} missing")
            continue
        p = in_force(name)
        tier = p.get("long_context", {}) if qualifier.startswith(">") else p
        got = (tier.get("input"), tier.get("output"), tier.get("cache_read"))
        check(got == (i, o, c), f"{row[0]}: {got} != prices.md {(i, o, c)}")
        if qualifier:
            threshold = int(re.search(r"(\d+)k", qualifier)[1]) * 1000
            check(p.get("long_context_threshold") == threshold, f"{row[0]}: threshold")

    haiku = models["claude-3-5-haiku"]["price"]
    check(
        [(p["effective_from"], p["input"], p["output"]) for p in haiku]
        == [(date(2024, 10, 22), 1.0, 5.0), (date(2024, 12, 1), 0.8, 4.0)],
        "claude-3-5-haiku price history",
    )

    # The verbatim copies above must still match prices.md, when it is at hand.
    if PRICES_MD.exists():
        lines = {line.strip() for line in PRICES_MD.read_text(encoding="utf-8").splitlines()}
        for row in PRICES_MD_ANTHROPIC_ROWS + PRICES_MD_OTHERS_ROWS:
            check(
                row.strip() in lines,
                f"prices.md no longer has the row {row.strip()!r}; "
                "update the tables in this script",
            )
    else:
        warn(f"{PRICES_MD} not found; skipped the check that prices.md is unchanged")

    if errors:
        raise SystemExit("rate card self-check FAILED:\n  " + "\n  ".join(errors))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "input",
        nargs="?",
        type=Path,
        default=DEFAULT_INPUT,
        help="LiteLLM price JSON (USD per token); default: %(default)s",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the card; default: %(default)s",
    )
    args = parser.parse_args(argv)

    raw = args.input.read_bytes()
    data = json.loads(raw)
    models = build(data)
    primary, secondary, _ = litellm_versions(data.get("_meta", {}))
    versions = f"litellm {primary}; litellm {secondary} for retired ids absent from {primary}"
    text = render(models, args.input.name, hashlib.sha256(raw).hexdigest(), versions)

    self_check(text, data)  # before writing: a card that fails it is never written
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    n_prices = sum(len(m.prices) for m in models)
    print(
        f"wrote {args.output} ({len(models)} models, {n_prices} price periods); self-check ok",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
