"""Named, parameterised report queries. All SQL over the usage data lives here.

Pricing happens in the query: the rate card is loaded into two temporary
tables (``model_map``: log model id -> card model; ``card_prices``: one row per
price period with its validity interval), so a new card reprices all history
without re-reading a log. Money is DECIMAL, in micro-dollars (tokens x USD per
million tokens), exact until it is handed to the caller.

Deduplication also happens here, across all files: one row per response (the
line with the largest ``output_tokens``: earlier lines of a streamed response
carry a placeholder), preferring a parent's line over a sidechain copy and the
session that started first over a resumed copy of it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Context as DecimalContext
from decimal import Decimal
from typing import TYPE_CHECKING

from ccspend.core.records import Factory, Frozen, Record
from ccspend.pricing.index import NEUTRAL
from ccspend.store import maintain

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb

    from ccspend.pricing.card import RateCard

    # what gives the session report's rows as JSON text (``summarise``'s ``rows_json``):
    # called with the connection, the report's zone and whether newest first
    RowsText = Callable[[duckdb.DuckDBPyConnection, str, bool], list | None]

EPOCH_START = "1970-01-01 00:00:00+00"
END_OF_TIME = "9999-12-31 00:00:00+00"
# What a report row that sums any whole session's total (Goose, Hermes) says of its
# numbers (``reports.build``'s ``granularity``; the session rows' JSON text writes it too).
SESSION_TOTAL_GRANULARITY = "session-total"

GROUP_KEYS = {
    "daily": "strftime(timezone($tz, ts), '%Y-%m-%d')",
    "weekly": "strftime(date_trunc('week', timezone($tz, ts)), '%Y-%m-%d')",
    "monthly": "strftime(timezone($tz, ts), '%Y-%m')",
    "session": "coalesce(session_id, '(unknown)')",
    "model": "coalesce(model_name, model, '(unknown)')",
    "project": "coalesce(cwd, '(unknown)')",
    "branch": "coalesce(nullif(git_branch, ''), '(none)')",
    "source": "source",
}
# A week that starts on another day than Monday (``$week_start``: 0 Monday .. 6 Sunday):
# the local day, less the days since the last such weekday.
_WEEK_FROM = ("strftime(CAST(timezone($tz, ts) AS DATE) - CAST((isodow(timezone($tz, ts)) - 1 "
              "- $week_start + 7) % 7 AS INTEGER), '%Y-%m-%d')")  # fmt: skip


def group_key(group: str, week_start: int = 0) -> str:
    """The SQL of report ``group``'s key (weeks from ``week_start``, 0 Monday .. 6 Sunday)."""
    if group == "weekly" and week_start:
        return _WEEK_FROM
    return GROUP_KEYS[group]


class Filters(Frozen):
    """What a report is restricted to. Dates are local dates in ``tz``, inclusive."""

    tz: str = "UTC"
    since: date | None = None
    until: date | None = None
    project: str | None = None
    branch: str | None = None
    since_ts: datetime | None = None  # an instant (a git merge-base's time)
    repo_root: str | None = None  # only requests whose cwd lies in this repository
    # 'local' (Claude Code logs), an agent's name ('codex', 'gemini', ...: sources.agents),
    # or a provider's imports; None: all of them
    source: str | None = None
    session: str | None = None  # only sessions whose id starts with this


def load_card(con: duckdb.DuckDBPyConnection, card: RateCard, at: date | None = None) -> None:
    """Put the rate card in the tables the pricing joins read.

    ``model_map``: a log's model id -> the card's model, over a span of time (an
    exact id for all time; a Claude Code alias, ``opus``, names the newest model of
    its family at the request's time). ``card_prices``: one row per price period.
    ``card_modifiers``: the multipliers (fast mode, US-only inference) per model and
    the days they were offered. With ``at``, every request is priced by the card as
    it stood on that date (``whatif --card``); otherwise by what was in force at its
    own time.

    The store keeps the tables of its card (migration m015), rewritten only when
    their rows change (a new card, a new model seen), with the models' price
    fingerprints (``maintain``); a connection that cannot write them, or prices on
    another day, makes temporary ones of the same names, which shadow them.
    """
    global _LAST_LOADED

    last = _LAST_LOADED
    if last and last[1] is card and last[2][0] == at and maintain.is_current(con, last):
        return  # loaded on this connection, which nothing has written since
    # The models stored, as the ingest noted them: a scan of every request would
    # cost what the history costs.
    models = [r[0] for r in con.execute(
        "SELECT model FROM models_seen UNION SELECT model FROM imported_usage").fetchall()]
    if last and last[0] is con and last[1] is card and last[2] == (at, frozenset(models)):
        return  # this connection has this card, for these models, loaded already
    _LAST_LOADED = None
    # The tables this connection prices by change: a store ``up_to_date`` found current
    # with the last load is not yet known current with this one (a batch written next
    # must not price its rows by a shadow while stamping the kept card's fingerprints).
    maintain.forget_current()
    mapping, rows, mods = _card_rows(card, models, at)
    fingerprints = None
    if at is None and maintain.writable(con):
        fingerprints = _kept_card(con, models, mapping, rows, mods)
    if fingerprints is None:
        _temp_card(con, mapping, rows, mods, at)
    _LAST_LOADED = (con, card, (at, frozenset(models)), fingerprints)


def _card_rows(card: RateCard, models: list, at: date | None) -> tuple[list, list, list]:
    """The rows of ``model_map``, ``card_prices`` and ``card_modifiers`` (see ``load_card``)."""
    from ccspend.pricing.index import alias_timeline

    mapping: list[tuple[str, str, str, str]] = []
    for raw in sorted(m for m in models if m is not None):
        name = card.resolve(raw)
        if name is not None:
            mapping.append((raw, name, EPOCH_START, END_OF_TIME))
            continue
        spans = alias_timeline(card, raw)
        for i, (start, name) in enumerate(spans):
            end = spans[i + 1][0] if i + 1 < len(spans) else None
            mapping.append((raw, name, _instant(start) if i else EPOCH_START,
                            _instant(end) if end else END_OF_TIME))  # fmt: skip
    rows = []
    mods = []
    for m in card.models.values():
        if at is not None and not m.backdate and at < m.prices[0].effective_from:
            continue  # a model a rate update added: not priced before that update
        periods = [m.price_at(at)] if at is not None else list(m.prices)
        for i, p in enumerate(periods):
            first = i == 0 and (m.backdate or at is not None)
            start = EPOCH_START if first else _instant(p.effective_from)
            end = (
                _instant(periods[i + 1].effective_from)
                if i + 1 < len(periods)
                else END_OF_TIME
            )
            lc = p.long_context
            rows.append(
                (
                    m.name, start, end,
                    p.base.input, p.base.output, p.base.cache_write_5m, p.base.cache_write_1h,
                    p.base.cache_read,
                    p.long_context_threshold if lc else None,
                    lc.input if lc else None, lc.output if lc else None,
                    lc.cache_write_5m if lc else None, lc.cache_write_1h if lc else None,
                    lc.cache_read if lc else None,
                    p.web_search_per_1k,
                )
            )  # fmt: skip
        for usage_field, value, first, end, factor in m.modifier_spans():
            if at is not None:  # the card of that day: what it offered then, for all time
                if first <= at and (end is None or at < end):
                    mods.append((m.name, usage_field, value, EPOCH_START, END_OF_TIME, factor))
                continue
            mods.append((m.name, usage_field, value, _instant(first),
                         _instant(end) if end else END_OF_TIME, factor))  # fmt: skip
    return mapping, rows, mods


_CARD_COLUMNS = {
    "model_map": "(raw VARCHAR, name VARCHAR, valid_from TIMESTAMPTZ, valid_to TIMESTAMPTZ)",
    "card_prices": "(name VARCHAR, valid_from TIMESTAMPTZ, valid_to TIMESTAMPTZ, "
                   "i DECIMAL(18,6), o DECIMAL(18,6), w5 DECIMAL(18,6), w1 DECIMAL(18,6), "
                   "r DECIMAL(18,6), lc_threshold BIGINT, li DECIMAL(18,6), lo DECIMAL(18,6), "
                   "lw5 DECIMAL(18,6), lw1 DECIMAL(18,6), lr DECIMAL(18,6), ws DECIMAL(18,6))",
    "card_modifiers": "(name VARCHAR, field VARCHAR, value VARCHAR, valid_from TIMESTAMPTZ, "
                      "valid_to TIMESTAMPTZ, factor DECIMAL(18,6))",
}  # fmt: skip
_CARD_CASTS = {
    "model_map": ("", "", "::TIMESTAMPTZ", "::TIMESTAMPTZ"),
    "card_prices": ("", "::TIMESTAMPTZ", "::TIMESTAMPTZ") + ("",) * 12,
    "card_modifiers": ("", "", "", "::TIMESTAMPTZ", "::TIMESTAMPTZ", ""),
}
# The connections (ids) that hold temporary card tables, which shadow the store's.
_SHADOWED: set[int] = set()


def _temp_card(con: duckdb.DuckDBPyConnection, mapping: list, rows: list, mods: list,
               at: date | None) -> None:  # fmt: skip
    con.execute("CREATE OR REPLACE TEMP TABLE card_meta AS SELECT $at::DATE AS card_at", {"at": at})
    for table, values in (("model_map", mapping), ("card_prices", rows),
                          ("card_modifiers", mods)):  # fmt: skip
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} {_CARD_COLUMNS[table]}")
        _insert(con, table, values, _CARD_CASTS[table])
    _SHADOWED.add(id(con))


def _kept_card(con: duckdb.DuckDBPyConnection, models: list, mapping: list, rows: list,
               mods: list) -> dict[str, str] | None:  # fmt: skip
    """The store's own card tables, made to hold these rows if they do not; the price
    fingerprints of ``models`` (``maintain.fingerprints``), kept beside them. None: a
    database without them (not migrated by ``Store``: a bare connection's)."""
    import json

    from ccspend.core.digest import blake2b
    from ccspend.store.engine import duckdb

    if id(con) in _SHADOWED:  # this connection priced by another card before
        for table in ("card_meta", *_CARD_COLUMNS):
            con.execute(f"DROP TABLE IF EXISTS temp.main.{table}")
        _SHADOWED.discard(id(con))
    seen = sorted(models, key=lambda m: (m is not None, m or ""))
    digest = blake2b(repr((seen, mapping, rows, mods)).encode(),
                             digest_size=16).hexdigest()  # fmt: skip
    try:
        kept = con.execute("SELECT digest, fingerprints FROM card_tables").fetchone()
    except duckdb.CatalogException:
        return None
    if kept is not None and kept[0] == digest:
        return json.loads(kept[1])
    with maintain.transaction(con):
        for table, values in (("model_map", mapping), ("card_prices", rows),
                              ("card_modifiers", mods)):  # fmt: skip
            con.execute(f"DELETE FROM main.{table}")
            _insert(con, f"main.{table}", values, _CARD_CASTS[table])
        fingerprints = maintain.fingerprints(con)
        con.execute("DELETE FROM card_tables")
        con.execute("INSERT INTO card_tables VALUES (?, ?)", [digest, json.dumps(fingerprints)])
    return fingerprints


# The last (connection, card, (at, models), fingerprints) ``load_card`` loaded: a report
# reading on the connection the refresh just loaded the same card on skips loading it
# again. The fingerprints: the store's, kept with its card tables (None: temporary ones).
_LAST_LOADED: tuple | None = None


def loaded_card() -> tuple | None:
    """What names the card ``load_card`` last loaded (a new object at each load)."""
    return _LAST_LOADED


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple],
            casts: tuple[str, ...]) -> None:  # fmt: skip
    """``rows`` into the temp table ``table``, a column a parameter (``unnest``: one
    statement whatever the row count), each cast as ``casts`` says."""
    if not rows:
        return
    cols = [list(c) for c in zip(*rows, strict=True)]
    values = ", ".join(f"unnest(${i + 1}){cast}" for i, cast in enumerate(casts))
    con.execute(f"INSERT INTO {table} SELECT {values}", cols)


def _instant(day: date) -> str:
    """A card date as the instant it starts (UTC midnight), for the time joins."""
    return f"{day.isoformat()} 00:00:00+00"


# One row per counted request, priced. ``cost_micro`` is NULL for a model the
# card does not know (reported as unpriced, never as zero).
#
# The line kept of a response is the first in the order (output_tokens DESC,
# is_sidechain, the file's first_ts, last_ts and path, line_offset). The file's
# three keys are one per file, so they become its rank (``f_rank``, unique: paths
# are), and the pick is an ``arg_min`` per key over non-null integers: a hash
# aggregate, twice as fast as a ``row_number()`` window sorting every row with
# all its columns (0.08 s against 0.18 s on 92,000 rows), with the same result.
_DEDUP = """
WITH files_ranked AS (
    SELECT file_id, path AS f_path, source AS f_source, agent_type,
           row_number() OVER (ORDER BY first_ts NULLS LAST, last_ts NULLS LAST, path) AS f_rank
    FROM files
),
base AS (
    SELECT r.*, r.rowid AS row_id, f.f_path, f.agent_type, f.f_source, f.f_rank
    FROM requests r JOIN files_ranked f USING (file_id)
    WHERE NOT r.is_api_error AND coalesce(r.model, '') <> '<synthetic>' {window}
),
kept AS (
    SELECT arg_min(row_id, (-output_tokens, is_sidechain, f_rank, line_offset)) AS row_id
    FROM base WHERE dedup_key IS NOT NULL GROUP BY dedup_key
),
dedup AS (
    SELECT * FROM base WHERE dedup_key IS NULL  -- cannot be deduplicated: each counts
    UNION ALL
    SELECT * FROM base WHERE row_id IN (SELECT row_id FROM kept)
),
"""
# The pricing of the rows of ``dedup``, one output row each.
_PRICE = """
joined AS (
    SELECT d.file_id, d.line_offset, d.ts, d.session_id, d.model, d.cwd, d.git_branch,
           d.input_tokens, d.output_tokens,
           d.cache_write_5m_tokens, d.cache_write_1h_tokens, d.cache_read_tokens,
           d.web_search_requests, d.f_source, d.speed, d.inference_geo,
           -- a cost the log states, billed as is: another agent's only (Claude Code's old
           -- costUSD and Codex carry none that is a bill); see docs/agents.md
           CASE WHEN d.f_source NOT IN ('claude-code', 'local', 'codex')
                 AND isfinite(d.logged_cost_usd) AND d.logged_cost_usd >= 0
                THEN d.logged_cost_usd END AS stated_usd,
           d.compaction_input_tokens AS k_in, d.compaction_output_tokens AS k_out,
           d.compaction_cache_write_5m_tokens AS k_w5,
           d.compaction_cache_write_1h_tokens AS k_w1, d.compaction_cache_read_tokens AS k_r,
           m.name AS model_name, p.*,
           coalesce(d.dedup_key, 'line:' || d.f_path || ':' || d.line_offset) AS request_key,
           coalesce(d.input_tokens + d.cache_write_5m_tokens + d.cache_write_1h_tokens
                    + d.cache_read_tokens > p.lc_threshold, false) AS lc,
           coalesce(d.compaction_input_tokens + d.compaction_cache_write_5m_tokens
                    + d.compaction_cache_write_1h_tokens + d.compaction_cache_read_tokens
                    > p.lc_threshold, false) AS klc,
           coalesce(d.speed, '') IN {speed_neutral} AS speed_neutral,
           coalesce(d.inference_geo, '') IN {geo_neutral} AS geo_neutral,
           fs.factor AS speed_factor, fg.factor AS geo_factor
    FROM dedup d
    LEFT JOIN model_map m ON m.raw = d.model AND d.ts >= m.valid_from AND d.ts < m.valid_to
    LEFT JOIN card_prices p ON p.name = m.name AND d.ts >= p.valid_from AND d.ts < p.valid_to
    LEFT JOIN card_modifiers fs ON fs.name = p.name AND fs.field = 'speed'
        AND fs.value = d.speed AND d.ts >= fs.valid_from AND d.ts < fs.valid_to
    LEFT JOIN card_modifiers fg ON fg.name = p.name AND fg.field = 'inference_geo'
        AND fg.value = d.inference_geo AND d.ts >= fg.valid_from AND d.ts < fg.valid_to
),
factored AS (
    SELECT *,
        (CASE WHEN speed_neutral THEN 1 ELSE coalesce(speed_factor, 1) END)
            * (CASE WHEN geo_neutral THEN 1 ELSE coalesce(geo_factor, 1) END) AS factor
    FROM joined
),
classified AS (
    -- the common request: base rates, no compaction, no multiplier. Its cost is the
    -- general formula's with those terms at zero and the factor at one, computed in
    -- half the DECIMAL operations (which are nearly all of this query's time: 73 ms
    -- against 36 for a 1 GiB history's 44,827 requests)
    SELECT *, NOT lc AND k_in = 0 AND k_out = 0 AND k_w5 = 0 AND k_w1 = 0 AND k_r = 0
              AND factor = 1 AS plain
    FROM factored
)
SELECT ts, session_id, model, model_name, cwd, git_branch, file_id, line_offset,
    input_tokens + k_in AS input_tokens, output_tokens + k_out AS output_tokens,
    cache_write_5m_tokens + k_w5 AS cache_write_5m_tokens,
    cache_write_1h_tokens + k_w1 AS cache_write_1h_tokens,
    cache_read_tokens + k_r AS cache_read_tokens, web_search_requests,
    CASE WHEN f_source = 'claude-code' THEN 'local' ELSE f_source END AS source, 1 AS n_requests,
    request_key, {session_total} AS session_total,
    i IS NOT NULL OR stated_usd IS NOT NULL AS priced,
    CASE WHEN stated_usd IS NOT NULL THEN (stated_usd * 1000000)::DECIMAL(38,6)
         WHEN i IS NULL THEN NULL
         WHEN plain THEN
        (input_tokens * i + output_tokens * o + cache_write_5m_tokens * w5
        + cache_write_1h_tokens * w1 + cache_read_tokens * r)::DECIMAL(38,6)
      + web_search_requests * ws * 1000
         ELSE
        ((input_tokens * (CASE WHEN lc THEN li ELSE i END)
        + output_tokens * (CASE WHEN lc THEN lo ELSE o END)
        + cache_write_5m_tokens * (CASE WHEN lc THEN lw5 ELSE w5 END)
        + cache_write_1h_tokens * (CASE WHEN lc THEN lw1 ELSE w1 END)
        + cache_read_tokens * (CASE WHEN lc THEN lr ELSE r END)
        + k_in * (CASE WHEN klc THEN li ELSE i END)
        + k_out * (CASE WHEN klc THEN lo ELSE o END)
        + k_w5 * (CASE WHEN klc THEN lw5 ELSE w5 END)
        + k_w1 * (CASE WHEN klc THEN lw1 ELSE w1 END)
        + k_r * (CASE WHEN klc THEN lr ELSE r END)) * factor)::DECIMAL(38,6)
      + web_search_requests * ws * 1000
    END AS cost_micro,
    CASE WHEN i IS NULL THEN NULL
         WHEN plain THEN
        ((cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens) * i
          - cache_write_5m_tokens * w5 - cache_write_1h_tokens * w1
          - cache_read_tokens * r)::DECIMAL(38,6)
         ELSE
        (((cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens)
            * (CASE WHEN lc THEN li ELSE i END)
          - cache_write_5m_tokens * (CASE WHEN lc THEN lw5 ELSE w5 END)
          - cache_write_1h_tokens * (CASE WHEN lc THEN lw1 ELSE w1 END)
          - cache_read_tokens * (CASE WHEN lc THEN lr ELSE r END)
          + (k_w5 + k_w1 + k_r) * (CASE WHEN klc THEN li ELSE i END)
          - k_w5 * (CASE WHEN klc THEN lw5 ELSE w5 END)
          - k_w1 * (CASE WHEN klc THEN lw1 ELSE w1 END)
          - k_r * (CASE WHEN klc THEN lr ELSE r END)) * factor)::DECIMAL(38,6)
    END AS savings_micro,
    nullif(speed, '') AS speed, nullif(inference_geo, '') AS inference_geo,
    k_in + k_out + k_w5 + k_w1 + k_r AS compaction_tokens,
    CASE WHEN i IS NULL THEN NULL ELSE factor END AS modifier_factor,
    CASE WHEN stated_usd IS NOT NULL THEN 'as billed' ELSE nullif(concat_ws(', ',
        CASE WHEN NOT speed_neutral AND coalesce(speed_factor, 1) <> 1 THEN speed END,
        CASE WHEN NOT geo_neutral AND coalesce(geo_factor, 1) <> 1
             THEN CASE WHEN inference_geo = 'us' THEN 'US-only' ELSE inference_geo END END),
        '') END AS pricing_mode,
    CASE WHEN i IS NULL THEN NULL
         ELSE nullif(concat_ws(', ',
            CASE WHEN NOT speed_neutral AND speed_factor IS NULL
                 THEN 'speed ' || left(speed, 40) END,
            CASE WHEN NOT geo_neutral AND geo_factor IS NULL
                 THEN 'inference_geo ' || left(inference_geo, 40) END), '')
    END AS modifier_unknown
FROM classified
"""
PRICED = _DEDUP + _PRICE
# ``counted`` rows (``{where}`` picks them), priced as ``PRICED`` prices the lines it keeps.
PRICE_COUNTED = (
    "WITH dedup AS (SELECT *, ckey AS dedup_key, source AS f_source, NULL::VARCHAR AS f_path "
    "FROM counted WHERE {where}),\n" + _PRICE
)


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


# The values that cost nothing extra, as the price index and the card define them.
def _neutral(sql: str) -> str:
    return sql.replace("{speed_neutral}", _sql_list(NEUTRAL["speed"])).replace(
        "{geo_neutral}", _sql_list(NEUTRAL["inference_geo"]))


PRICED = _neutral(PRICED).replace("{session_total}",
                                   maintain.SESSION_TOTAL.format(key="request_key"))
PRICE_COUNTED = _neutral(PRICE_COUNTED).replace(
    "{session_total}", maintain.SESSION_TOTAL.format(key="request_key"))


# Export formats in order of preference when several hold the same provider's
# usage (or cost) for one UTC day: an Admin API report and a Console CSV of the
# same days are the same spend in two shapes, so only the most detailed counts.
USAGE_PREFERENCE = ("anthropic-usage-api", "anthropic-usage-csv", "openai-usage-api",
                    "openai-usage-csv", "anthropic-claude-code-api")  # fmt: skip
COST_PREFERENCE = ("anthropic-cost-api", "anthropic-cost-csv", "openai-costs-api",
                   "openai-cost-csv")  # fmt: skip

# Provider exports as report rows, in the columns of ``PRICED``, so every report
# shows local logs and exports side by side (``source`` is the provider).
# - Rows of the API keys or workspaces marked ``same_as_local`` are left out:
#   they are the spend Claude Code's own logs already count; so are cost rows that
#   name no key on a day and in a workspace where a marked key spent (they cannot
#   be split), the other usage of that day then priced on the card.
# - Per provider and UTC day, only the preferred usage format and the preferred
#   cost format count (see above); formats outside the lists (OpenRouter's
#   per-request rows, the generic CSV) always count.
# - Cost: what the provider billed where it says (a cost row, or a usage row
#   that carries its cost); else the tokens priced on the card at base rates
#   (an export does not say which requests were past a long-context threshold);
#   a model with cost rows for a provider-day takes its cost from them, so its
#   usage rows without a cost of their own then add tokens, not money; cost rows
#   beside rows that carry their cost add to it (OpenRouter's BYOK fees). The
#   same rule as reconcile's. A model the card does not know, with no billed
#   cost, is unpriced (never zero).
IMPORTED = """
WITH marked AS (  -- provider-days (and workspaces) where Claude Code's own key spent
    SELECT DISTINCT i.provider, CAST(timezone('UTC', i.start_ts) AS DATE) AS day, i.workspace
    FROM imported_usage i JOIN same_as_local s ON s.key = i.api_key OR s.key = i.workspace
),
iu AS (
    SELECT i.*, CAST(timezone('UTC', i.start_ts) AS DATE) AS day
    FROM imported_usage i
    WHERE NOT EXISTS (SELECT 1 FROM same_as_local s
                      WHERE s.key = i.api_key OR s.key = i.workspace)
      -- a cost row naming no key cannot be split from a marked key's spend that day:
      -- left out, so the day's other usage is priced on the card instead
      AND NOT (i.kind = 'cost' AND i.api_key IS NULL AND EXISTS (
          SELECT 1 FROM marked m
          WHERE m.provider = i.provider AND m.day = CAST(timezone('UTC', i.start_ts) AS DATE)
            AND (m.workspace IS NOT DISTINCT FROM i.workspace OR m.workspace IS NULL
                 OR i.workspace IS NULL)))
),
ranked AS (
    SELECT provider, day, kind, source,
           coalesce(list_position(CASE WHEN kind = 'cost' THEN $cost_pref ELSE $usage_pref END,
                                  source), 1000) AS rank
    FROM (SELECT DISTINCT provider, day, kind, source FROM iu)
),
chosen AS (
    SELECT provider, day, kind, arg_min(source, (rank, source)) AS source,
           min(rank) AS rank
    FROM ranked WHERE rank < 1000 GROUP BY ALL
),
kept AS (
    SELECT iu.* FROM iu
    WHERE NOT EXISTS (SELECT 1 FROM ranked r WHERE r.provider = iu.provider AND r.day = iu.day
                      AND r.kind = iu.kind AND r.source = iu.source AND r.rank < 1000)
       OR EXISTS (SELECT 1 FROM chosen c WHERE c.provider = iu.provider AND c.day = iu.day
                  AND c.kind = iu.kind AND c.source = iu.source)
),
named AS (
    SELECT k.*, m.name AS model_name, coalesce(m.name, k.model, '') AS billed_as
    FROM kept k LEFT JOIN model_map m ON m.raw = k.model AND k.start_ts >= m.valid_from
                                     AND k.start_ts < m.valid_to
),
billed AS (SELECT DISTINCT provider, day, billed_as FROM named WHERE kind = 'cost'),
joined AS (
    SELECT n.*, b.day IS NOT NULL AS day_billed, p.*
    FROM named n
    LEFT JOIN billed b ON n.kind <> 'cost' AND b.provider = n.provider AND b.day = n.day
                      AND b.billed_as = n.billed_as
    LEFT JOIN card_prices p ON p.name = n.model_name AND n.start_ts >= p.valid_from
                           AND n.start_ts < p.valid_to
)
SELECT
    -- a bucket of a day or more is the provider's UTC day: it stays that date in any
    -- time zone (its local midnight), as the export says; a shorter one keeps its time
    CASE WHEN end_ts IS NOT NULL AND end_ts - start_ts >= INTERVAL 1 DAY
         THEN timezone($tz, timezone('UTC', start_ts)) ELSE start_ts END AS ts,
    NULL::VARCHAR AS session_id, model, model_name,
    provider || ':' || coalesce(project, workspace, api_key, 'default') AS cwd,
    NULL::VARCHAR AS git_branch,
    CASE WHEN kind = 'cost' THEN 0 ELSE input_tokens END AS input_tokens,
    CASE WHEN kind = 'cost' THEN 0 ELSE output_tokens END AS output_tokens,
    CASE WHEN kind = 'cost' THEN 0 ELSE cache_write_5m_tokens END AS cache_write_5m_tokens,
    CASE WHEN kind = 'cost' THEN 0 ELSE cache_write_1h_tokens END AS cache_write_1h_tokens,
    CASE WHEN kind = 'cost' THEN 0 ELSE cache_read_tokens END AS cache_read_tokens,
    CASE WHEN kind = 'cost' THEN 0 ELSE web_search_requests END AS web_search_requests,
    provider AS source,
    CASE WHEN kind = 'cost' THEN 0 ELSE coalesce(requests, 1) END AS n_requests,
    (kind = 'cost' OR day_billed OR cost_usd IS NOT NULL OR i IS NOT NULL) AS priced,
    CASE
        WHEN kind = 'cost' THEN coalesce(cost_usd, 0) * 1000000
        WHEN cost_usd IS NOT NULL THEN cost_usd * 1000000
        WHEN day_billed THEN 0
        WHEN i IS NULL THEN NULL
        ELSE input_tokens * i + output_tokens * o + cache_write_5m_tokens * w5
           + cache_write_1h_tokens * w1 + cache_read_tokens * r + web_search_requests * ws * 1000
    END::DECIMAL(38,6) AS cost_micro,
    CASE WHEN kind = 'cost' OR i IS NULL THEN NULL ELSE
        (cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens) * i
      - cache_write_5m_tokens * w5 - cache_write_1h_tokens * w1 - cache_read_tokens * r
    END AS savings_micro
FROM joined
"""


def _bind(sql: str, params: dict) -> dict:
    """Only the parameters the statement names (DuckDB refuses extra ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def _where(f: Filters) -> tuple[str, dict]:
    clauses = []
    params: dict = {"tz": f.tz}
    if f.since is not None:
        clauses.append("CAST(timezone($tz, ts) AS DATE) >= $since")
        params["since"] = f.since
    if f.until is not None:
        clauses.append("CAST(timezone($tz, ts) AS DATE) <= $until")
        params["until"] = f.until
    if f.project is not None:
        clauses.append("(cwd = $project OR starts_with(cwd, $project_prefix))")
        params["project"] = f.project
        params["project_prefix"] = f.project.rstrip("/") + "/"
    if f.branch is not None:
        clauses.append("coalesce(nullif(git_branch, ''), '(none)') = $branch")
        params["branch"] = f.branch
    if f.since_ts is not None:
        clauses.append("ts >= $since_ts::TIMESTAMPTZ")
        params["since_ts"] = f.since_ts.astimezone(UTC).isoformat()
    if f.source is not None:
        clauses.append("source = $source")
        params["source"] = f.source
    if f.session is not None:
        clauses.append("starts_with(coalesce(session_id, ''), $session)")
        params["session"] = f.session
    if f.repo_root is not None:
        clauses.append("(cwd = $repo OR starts_with(cwd, $repo_prefix))")
        params["repo"] = f.repo_root
        params["repo_prefix"] = f.repo_root.rstrip("/") + "/"
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_SUMS_CORE = """
    sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT,
    sum(cache_write_5m_tokens)::BIGINT, sum(cache_write_1h_tokens)::BIGINT,
    sum(cache_read_tokens)::BIGINT, sum(web_search_requests)::BIGINT,
    coalesce(sum(cost_micro), 0)::DECIMAL(38,6), coalesce(sum(savings_micro), 0)::DECIMAL(38,6),
    coalesce(sum(n_requests), 0)::BIGINT,
    list(DISTINCT coalesce(model_name, model, '(unknown)')
         ORDER BY coalesce(model_name, model, '(unknown)'))"""
# A group's most frequent cwd, a tie to the greatest (as the rollup's sessions find it,
# ``maintain.SESSION_TOTALS``). Not ``mode``: its tie goes to the value it met first,
# which depends on the order the rows were stored in.
PROJECT_OF = ("list_max(list_transform(map_entries(histogram(cwd)), "
              "lambda e: {'n': e.value, 'k': e.key})).k")
# What a session row also shows (first and last activity, branches, project):
# the costliest aggregates, so ``summarise`` leaves them out of other reports.
_SUMS_SESSION = f"""
    strftime(min(ts), '%Y-%m-%dT%H:%M:%S.%gZ'), strftime(max(ts), '%Y-%m-%dT%H:%M:%S.%gZ'),
    list(DISTINCT coalesce(nullif(git_branch, ''), '(none)')
         ORDER BY coalesce(nullif(git_branch, ''), '(none)')),
    {PROJECT_OF}, min(source)
"""
_SUMS = f"{_SUMS_CORE},{_SUMS_SESSION}"
# The same over rollup rows (``proj``: the session's project, ``summarise`` finds it).
_SUMS_SESSION_ROLLUP = """
    strftime(min(first_ts), '%Y-%m-%dT%H:%M:%S.%gZ'),
    strftime(max(last_ts), '%Y-%m-%dT%H:%M:%S.%gZ'),
    list(DISTINCT coalesce(nullif(git_branch, ''), '(none)')
         ORDER BY coalesce(nullif(git_branch, ''), '(none)')),
    any_value(proj), min(source)
"""


class Aggregate(Record):
    """Summed usage of a group of requests. Money in exact micro-dollars.

    Not frozen: a frozen dataclass sets each field through ``object.__setattr__``,
    which made building 8,838 session rows cost 55 ms instead of 15 ms."""

    key: str
    input_tokens: int
    output_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    cache_read_tokens: int
    web_search_requests: int
    cost_micro: Decimal
    savings_micro: Decimal
    requests: int
    models: list[str]
    first_ts: str | None
    last_ts: str | None
    branches: list[str]
    cwd: str | None
    sub_key: str | None = None
    # the agent a session belongs to (its source: 'local', 'codex', 'gemini', ...; a
    # session report's rows only), and whether any of the requests summed is a whole
    # session's total (Goose, Hermes: ``maintain.SESSION_TOTAL``), not a call
    agent: str | None = None
    session_total: bool = False


def _time_window(f: Filters) -> tuple[str, dict]:
    """A loose bound on time applied before deduplication, to skip old history.

    Every copy of a response carries (within seconds) the same timestamp, so a
    margin of a day around the filter keeps every copy a kept response could
    have; the exact filter still applies afterwards.
    """
    lows = []
    if f.since_ts is not None:
        lows.append(f.since_ts.astimezone(UTC))
    if f.since is not None:
        lows.append(datetime.combine(f.since, datetime.min.time(), tzinfo=UTC))
    clauses, params = [], {}
    if lows:
        clauses.append("r.ts >= $low::TIMESTAMPTZ - INTERVAL 2 DAY")
        params["low"] = min(lows).isoformat()
    if f.until is not None:
        clauses.append("r.ts < $high::TIMESTAMPTZ + INTERVAL 3 DAY")
        params["high"] = datetime.combine(f.until, datetime.min.time(), tzinfo=UTC).isoformat()
    return "".join(f" AND {c}" for c in clauses), params


def select(con: duckdb.DuckDBPyConnection, f: Filters) -> None:
    """Price, deduplicate and filter once, into the temp table ``selected``.

    Deduplication spans all files, so it runs before the exact filters: a copy
    outside the filter must not hide the original inside it.
    """
    sql, params = _selection(con, f)
    sql = f"CREATE OR REPLACE TEMP TABLE selected AS {sql}"
    con.execute(sql, _bind(sql, params))


def _selection(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[str, dict]:
    """The query of the requests ``f`` selects, priced and deduplicated; its parameters."""
    where, params = _where(f)
    window, wparams = _time_window(f)
    sources = PRICED.format(window=window)
    # Imports join unless the report is of local work only (a git ref's window
    # too), or there are none: the union would cost a tenth of the report's time.
    local_only = _agent_logs(f.source) or f.repo_root is not None or f.since_ts is not None
    if not local_only and con.execute("SELECT EXISTS (FROM imported_usage)").fetchone()[0]:
        sources = f"{sources} UNION ALL BY NAME ({IMPORTED})"
    params.update(wparams, usage_pref=list(USAGE_PREFERENCE), cost_pref=list(COST_PREFERENCE))
    return f"SELECT * FROM ({sources}) q {where}", params


class Summary(Record):
    """A report's numbers: its rows, their per-model sub-rows, the total, the unpriced."""

    groups: list[Aggregate]
    subs: list[Aggregate]
    total: Aggregate | None  # None: no requests
    unpriced: list[tuple[str, int, int]]  # as ``unpriced``
    unknown_modifiers: list[tuple[str, int]] = Factory(list)
    projects: list[Aggregate] = Factory(list)  # per key and project
    agents: list[Aggregate] = Factory(list)  # per key and agent (source)
    # the rows as their JSON text instead of ``groups``, in pieces, when asked and
    # given (``summarise``'s ``rows_json``: the session report of every session)
    rows_json: list | None = None


# The rollup's rows in the columns of ``PRICED`` that a report reads, each the sum
# of ``n_rows`` counted requests (``ts``: its 15-minute bucket).
ROLLUP_ROWS = """
SELECT bucket AS ts, first_ts, last_ts, session_id, model, model_name, cwd, git_branch, source,
       priced, pricing_mode, modifier_unknown, input_tokens, output_tokens,
       cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, web_search_requests,
       cost_micro, savings_micro, requests AS n_requests, requests AS n_rows, session_total
FROM rollup
"""


def _agent_logs(source: str | None) -> bool:
    """Whether ``--source`` names agents' logs (Claude Code's or another agent's): no import
    can be among its rows."""
    from ccspend.sources import agents

    return source is not None and (source == "local" or source in agents.names())


def _rollup_ready(con: duckdb.DuckDBPyConnection, f: Filters) -> bool:
    """Whether the rollup answers this report exactly, priced by the card loaded
    (brought up to date first when the connection may write).

    Not for a window that starts at an instant (a git ref's: not on a bucket's
    edge), nor for history priced on the card of another day (``--card``).
    """
    if f.since_ts is not None or f.repo_root is not None:
        return False
    if con.execute("SELECT card_at FROM card_meta").fetchone()[0] is not None:
        return False
    # read-only and stale: PRICED, exact
    # (``session_totals``: asked for by the one report that reads it, ``summarise``)
    return maintain.up_to_date(con, PRICE_COUNTED, loaded_card(), sessions=False)


def _rollup_selection(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[str, dict]:
    """``_selection`` over the rollup: the same columns, a row per rollup row."""
    where, params = _where(f)
    sources = ROLLUP_ROWS
    local_only = _agent_logs(f.source)
    if not local_only and con.execute("SELECT EXISTS (FROM imported_usage)").fetchone()[0]:
        sources = (f"{sources} UNION ALL BY NAME (SELECT *, ts AS first_ts, ts AS last_ts, "
                   f"1 AS n_rows FROM ({IMPORTED}))")
    params.update(usage_pref=list(USAGE_PREFERENCE), cost_pref=list(COST_PREFERENCE))
    return f"SELECT * FROM ({sources}) q {where}", params


def summarise(
    con: duckdb.DuckDBPyConnection, group: str, f: Filters, by_model: bool = False,
    by_project: bool = False, week_start: int = 0, by_agent: bool = False,
    rows_json: RowsText | None = None, descending: bool = False,
) -> Summary:  # fmt: skip
    """What ``select``, then ``aggregate`` (per key, per key and model, per key and
    project, per key and agent, in total) and ``unpriced`` give, in one statement.

    One pass of GROUPING SETS over the selection, instead of a temp table written
    once and read four times (with the session-only aggregates left out of the
    other reports, 0.087 s -> 0.052 s for ``daily`` on the 1 GiB benchmark).
    The selection is the rollup's rows when it answers the report exactly
    (``_rollup_ready``): then the cost is what the report shows, not the history.

    ``rows_json``: given when the rows will be printed as JSON only; the session report
    of every session then asks it for them as text (``Summary.rows_json``, newest first
    when ``descending``), never as thousands of ``Aggregate``s (unless it gives None).
    """
    rolled = _rollup_ready(con, f)
    sql, params = _rollup_selection(con, f) if rolled else _selection(con, f)
    whole = (rolled and group == "session" and not by_model and not by_project
             and not by_agent and "imported_usage" not in sql and not _where(f)[0])
    if whole and maintain.sessions_current(con):
        # every session, as kept: a row each, not a group of all their rollup rows
        return _session_totals(con, sql, params, rows_json, descending)
    key = group_key(group, week_start)
    sub = SUB_KEY if by_model else "NULL"
    project = "coalesce(cwd, '(unknown)')" if by_project else "NULL"
    agent = "source" if by_agent else "NULL"
    rows = "sum(n_rows)::BIGINT" if rolled else "count(*)::BIGINT"
    params["tz"] = f.tz
    params["week_start"] = week_start
    if group != "session":
        return _summarise_flat(con, sql, params, key, rows, [
            (c, expr) for c, expr, on in (("sk", sub, by_model), ("pk", project, by_project),
                                          ("ak", agent, by_agent)) if on])
    # the sub-rows asked for: (column, whether asked); a column in no grouping set
    # cannot be asked ``grouping`` of, so each one asked is named once
    kinds = [(c, on) for c, on in (("sk", by_model), ("pk", by_project), ("ak", by_agent))]
    sets = "(k), (), (um), (mu)" + "".join(f", (k, {c})" for c, on in kinds if on)
    g_sub, g_project, g_agent = (f"grouping({c})" if on else "1" for c, on in kinds)
    asked = [c for c, on in kinds if on]
    sub_col = ("NULL" if not asked else asked[0] if len(asked) == 1 else
               "CASE " + " ".join(f"WHEN grouping({c}) = 0 THEN {c}" for c in asked) + " END")
    extras = ((_SUMS_SESSION_ROLLUP if rolled else _SUMS_SESSION) if group == "session"
              else "NULL, NULL, NULL, NULL, NULL")
    source = (f"(SELECT *, {key} AS k, {sub} AS sk, {project} AS pk, {agent} AS ak, "
              f"{_UNPRICED_MODEL} AS um, {_UNKNOWN_MODIFIER} AS mu FROM ({sql}) s)")
    if rolled and group == "session":
        # A session's project is its most frequent cwd (``PROJECT_OF`` over its requests;
        # a tie: the greatest); rollup rows carry their weight.
        source = (f"(WITH x AS {source}, pc AS (SELECT k, arg_max(cwd, (w, cwd)) AS proj "
                  "FROM (SELECT k, cwd, sum(n_rows) AS w FROM x WHERE cwd IS NOT NULL "
                  "GROUP BY ALL) GROUP BY k) SELECT x.*, pc.proj FROM x LEFT JOIN pc USING (k))")
    sql = (
        f"SELECT grouping(k) AS gk, grouping(um) AS gu, grouping(mu) AS gm, {g_sub} AS gs, "
        f"{g_project} AS gp, {g_agent} AS ga, coalesce(bool_or(session_total), false) AS st, "
        f"k, {sub_col} AS sub, {_SUMS_CORE}, {extras}, "
        f"{rows}, um, mu "
        f"FROM {source} "
        f"GROUP BY GROUPING SETS ({sets}) ORDER BY k, sub"
    )
    groups: list[Aggregate] = []
    subs: list[Aggregate] = []
    projects: list[Aggregate] = []
    agents: list[Aggregate] = []
    total = None
    unpriced = []
    odd = []
    for r in con.execute(sql, _bind(sql, params)).fetchall():
        gk, gu, gm, gs, gp, ga, st, rest = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7:-1]
        if gm == 0:  # requests whose speed or region the card has no multiplier for
            if r[-1] is not None:
                odd.append((r[-1], rest[-2]))
        elif gu == 0:  # an unpriced model (the NULL group: the priced requests)
            if rest[-1] is not None:
                tokens = rest[2] + rest[3] + rest[4] + rest[5] + rest[6]
                unpriced.append((rest[-1], tokens, rest[-2]))
        elif gk == 1:
            total = _aggregate(rest, st) if rest[-2] else None
            if total is not None:
                total.agent = None  # every session's: no one agent's
        elif gs == 0:
            subs.append(_aggregate(rest, st))
        elif gp == 0:
            projects.append(_aggregate(rest, st))
        elif ga == 0:
            agents.append(_aggregate(rest, st))
        else:
            groups.append(_aggregate(rest, st))
    unpriced.sort()
    odd.sort()
    return Summary(groups, subs, total, unpriced, odd, projects, agents)


# What the flat grouping of ``_summarise_flat`` sums per group: ``_SUMS_CORE`` with the
# models unsorted (the fold sorts their union).
_FLAT_SUMS = _SUMS_CORE.replace("\n         ORDER BY coalesce(model_name, model, '(unknown)'))",
                                ")")
_EXACT = DecimalContext(prec=60)  # sums of DECIMAL(38,6) values, never rounded


def _summarise_flat(con: duckdb.DuckDBPyConnection, sql: str, params: dict, key: str,
                    rows: str, asked: list[tuple[str, str]]) -> Summary:  # fmt: skip
    """``summarise`` of a report other than ``session``: one plain grouping by the key, the
    sub-row columns ``asked`` ((name, expression): model, project, agent), the unpriced
    model and the unknown multiplier, whose few rows are folded here into the rows,
    sub-rows, total, unpriced models and multipliers.

    Why not GROUPING SETS: DuckDB aggregates each set on its own, and sorts each
    group's models in SQL; on the 206 rollup rows of a report after a new line
    that took 30-40 ms against 10-14 ms for the plain grouping (alternated, 15
    runs each), and folding its 37 rows costs well under a millisecond. ``rows``
    counts the requests a row stands for (the rollup's ``n_rows``). The
    session report, whose project is a most-frequent value (not foldable), keeps
    the sets.
    """
    cols = "".join(f", {c}" for c, _ in asked)
    exprs = "".join(f", {e} AS {c}" for c, e in asked)
    flat = (f"SELECT k{cols}, um, mu, coalesce(bool_or(session_total), false), {_FLAT_SUMS}, "
            f"{rows} FROM (SELECT *, {key} AS k{exprs}, "
            f"{_UNPRICED_MODEL} AS um, {_UNKNOWN_MODIFIER} AS mu FROM ({sql}) s) GROUP BY ALL")
    n = len(asked)
    total: list | None = None
    groups: dict = {}
    subs: list[dict] = [{} for _ in asked]
    unpriced: dict = {}
    odd: dict = {}
    for r in con.execute(flat, _bind(flat, params)).fetchall():
        k, um, mu, st, sums = r[0], r[n + 1], r[n + 2], r[n + 3], r[n + 4:]
        total = _fold(total, sums, st)
        groups[k] = _fold(groups.get(k), sums, st)
        for i, out in enumerate(subs):
            at = (k, r[1 + i])
            out[at] = _fold(out.get(at), sums, st)
        _note_warnings(unpriced, odd, um, mu, sum(sums[0:5]), sums[10])
    by_key = sorted(groups.items(), key=lambda kv: _nulls_last(kv[0]))
    parts = [[_folded(k, sub, acc) for (k, sub), acc in
              sorted(out.items(), key=lambda kv: (_nulls_last(kv[0][0]), _nulls_last(kv[0][1])))]
             for out in subs]  # fmt: skip
    named = dict(zip((c for c, _ in asked), parts, strict=True))
    whole = _folded(None, None, total) if total is not None and total[10] else None
    return Summary([_folded(k, None, acc) for k, acc in by_key], named.get("sk", []), whole,
                   *_warnings(unpriced, odd), named.get("pk", []), named.get("ak", []))


def _note_warnings(unpriced: dict, odd: dict, um: str | None, mu: str | None, tokens: int,
                   rows: int) -> None:  # fmt: skip
    """Add a flat row's tokens and requests to its unpriced model (``um``) and its unknown
    multiplier (``mu``), when it has them."""
    if um is not None:
        was = unpriced.get(um, (0, 0))
        unpriced[um] = (was[0] + tokens, was[1] + rows)
    if mu is not None:
        odd[mu] = odd.get(mu, 0) + rows


def _warnings(unpriced: dict, odd: dict) -> tuple[list, list]:
    """``Summary.unpriced`` and ``Summary.unknown_modifiers`` of ``_note_warnings``' sums."""
    return sorted((m, t, n) for m, (t, n) in unpriced.items()), sorted(odd.items())


def _fold(acc: list | None, sums: tuple, session_total: bool) -> list:
    """``acc`` (a group's sums so far, its models as a set, whether any is a session's
    total) with one flat row's ``sums`` added: a NULL sum (no value in the group) adds
    nothing, as SQL's ``sum`` skips it."""
    if acc is None:
        return [*sums[:9], set(sums[9] or ()), sums[10], session_total]
    for i in range(9):
        v = sums[i]
        if v is not None:
            a = acc[i]
            acc[i] = v if a is None else _EXACT.add(a, v) if i in (6, 7) else a + v
    acc[9].update(sums[9] or ())
    if sums[10] is not None:
        acc[10] = sums[10] if acc[10] is None else acc[10] + sums[10]
    acc[11] = acc[11] or session_total
    return acc


def _folded(key: str | None, sub: str | None, acc: list) -> Aggregate:
    """The ``Aggregate`` of a fold (``_fold``): the shape ``_aggregate`` gives a row."""
    return _aggregate((key, sub, *acc[:9], sorted(acc[9]), None, None, None, None, None),
                      acc[11])


def _nulls_last(value: str | None) -> tuple[bool, str]:
    """A sort key that orders as SQL's ``ORDER BY`` (binary, NULLs last) does."""
    return (value is None, value or "")


def _session_totals(con: duckdb.DuckDBPyConnection, sql: str, params: dict,
                    rows_json: RowsText | None = None, descending: bool = False) -> Summary:
    """``summarise``'s answer for the ``session`` report of every session: each session's
    row from ``session_totals`` (``maintain.refresh`` keeps it; with ``rows_json``, the
    rows' JSON text, when it gives one), the total, unpriced models and unknown
    multipliers from the rollup rows ``sql`` selects."""
    text = rows_json(con, params["tz"], descending) if rows_json is not None else None
    groups = [] if text is not None else session_aggregates(con)
    # The total is the sum of the sessions' sums (each rollup row is one session's): a
    # row per session, not every rollup row of the history (35 ms of the report at 200
    # periods of history), here in Python when the sessions' rows are (a query the less,
    # some 3 ms). The unpriced models and the unknown multipliers are the few rollup rows
    # that say so.
    total = _total_of(groups) if text is None else _total_in_sql(con)
    # one plain grouping, folded here (``_summarise_flat`` says why)
    rest_sql = (
        "SELECT um, mu, sum(input_tokens + output_tokens + cache_write_5m_tokens "
        "+ cache_write_1h_tokens + cache_read_tokens)::BIGINT, sum(n_rows)::BIGINT FROM "
        f"(SELECT *, {_UNPRICED_MODEL} AS um, {_UNKNOWN_MODIFIER} AS mu FROM ({sql}) s "
        "WHERE NOT priced OR modifier_unknown IS NOT NULL) GROUP BY ALL"
    )
    unpriced: dict = {}
    odd: dict = {}
    for um, mu, tokens, n_rows in con.execute(rest_sql, _bind(rest_sql, params)).fetchall():
        _note_warnings(unpriced, odd, um, mu, tokens, n_rows)
    return Summary(groups, [], total, *_warnings(unpriced, odd), [], rows_json=text)


def _total_of(sessions: list[Aggregate]) -> Aggregate | None:
    """``_total_in_sql``'s total from the sessions' rows already read: the same sums (a
    DECIMAL's exactly, ``_EXACT``), the models each once, sorted (DuckDB's ``list_sort``
    of text is by code point, as Python's)."""
    requests = sum(a.requests for a in sessions)
    if not requests:
        return None
    cost = savings = Decimal(0)
    for a in sessions:
        cost = _EXACT.add(cost, a.cost_micro)
        savings = _EXACT.add(savings, a.savings_micro)
    models = sorted({m for a in sessions for m in a.models})
    return _aggregate((None, None, sum(a.input_tokens for a in sessions),
                       sum(a.output_tokens for a in sessions),
                       sum(a.cache_write_5m_tokens for a in sessions),
                       sum(a.cache_write_1h_tokens for a in sessions),
                       sum(a.cache_read_tokens for a in sessions),
                       sum(a.web_search_requests for a in sessions), cost, savings, requests,
                       models, None, None, None, None, None),
                      any(a.session_total for a in sessions))  # fmt: skip


def _total_in_sql(con: duckdb.DuckDBPyConnection) -> Aggregate | None:
    """The total of every session's row of ``session_totals``; None without requests."""
    sums = con.execute(
        "SELECT sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT, "
        "sum(cache_write_5m_tokens)::BIGINT, sum(cache_write_1h_tokens)::BIGINT, "
        "sum(cache_read_tokens)::BIGINT, sum(web_search_requests)::BIGINT, "
        "coalesce(sum(cost_micro), 0)::DECIMAL(38,6), "
        "coalesce(sum(savings_micro), 0)::DECIMAL(38,6), coalesce(sum(requests), 0)::BIGINT, "
        "list_sort(list_distinct(flatten(list(models)))), coalesce(bool_or(session_total), false) "
        "FROM session_totals").fetchone()  # fmt: skip
    return (_aggregate((None, None, *sums[:10], None, None, None, None, None), sums[10])
            if sums[8] else None)  # fmt: skip


FEW_ROWS = 500  # ``session_aggregates`` of at most this many rows decodes with ``json``


def session_aggregates(con: duckdb.DuckDBPyConnection, keys: list[str] | None = None
                       ) -> list[Aggregate]:  # fmt: skip
    """The rows of ``session_totals`` (those of the sessions ``keys`` names, or all), as
    ``Aggregate``s in the order of their keys."""
    # Decimals, lists and instants cross to Python as text: DuckDB's own conversion of
    # them took 0.1 s of the 0.12 s 8,838 sessions cost (text, then Decimal and
    # msgspec: 0.02 s). The values are the same. A few rows (a short history, or the
    # session report's changed ones after a new line) are decoded by ``json``: that
    # report imports no msgspec otherwise (some 25 ms).
    where = "" if keys is None else "WHERE k IN (SELECT unnest($keys)) "
    rows = con.execute(
        "SELECT k, input_tokens, output_tokens, cache_write_5m_tokens, "
        "cache_write_1h_tokens, cache_read_tokens, web_search_requests, "
        "cost_micro::VARCHAR, savings_micro::VARCHAR, requests, to_json(models)::VARCHAR, "
        "strftime(first_ts, '%Y-%m-%dT%H:%M:%S.%gZ'), "
        "strftime(last_ts, '%Y-%m-%dT%H:%M:%S.%gZ'), to_json(branches)::VARCHAR, project, "
        f"session_total, source FROM session_totals {where}ORDER BY k",
        {} if keys is None else {"keys": keys}).fetchall()
    if len(rows) <= FEW_ROWS:
        from json import loads as lists
    else:
        import msgspec

        lists = msgspec.json.Decoder(list[str]).decode
    return [
        Aggregate(key=k, sub_key=None, input_tokens=i, output_tokens=o,
                  cache_write_5m_tokens=w5, cache_write_1h_tokens=w1, cache_read_tokens=r,
                  web_search_requests=ws, cost_micro=Decimal(cost), savings_micro=Decimal(sav),
                  requests=n, models=lists(models), first_ts=first, last_ts=last,
                  branches=lists(branches), cwd=project, agent=agent, session_total=whole)
        for k, i, o, w5, w1, r, ws, cost, sav, n, models, first, last, branches, project,
            whole, agent in rows
    ]  # fmt: skip


# -- the session report's rows as JSON text ------------------------------------------
#
# A session report of every session over a long history has thousands of rows (8,837
# at 200 periods of history, 7 MB of JSON): making a dict of each in Python, then
# encoding and indenting them, cost 0.3 s of a 1 s report. ``session_rows_json``
# writes them in SQL instead, byte for byte as ``json.dumps(report.to_json(),
# indent=2)`` writes ``reports.build.Row.to_json``'s dicts (the contract: keys, order,
# values): integers as DuckDB writes them, floats as Python's ``repr`` (DuckDB's
# shortest round-trip form is the same; tests/test_session_json.py holds them to it),
# strings by ``to_json``, their non-ASCII characters and DEL escaped as ``ensure_ascii``
# escapes them (``_json_string``).

# the indents of ``json.dumps(indent=2)``: a row of "rows", its fields, a list's items
_ROW, _FIELD, _ITEM = " " * 4, " " * 6, " " * 8
# the control characters ``json.dumps`` writes by name; the others as \u00xx
_SHORT_ESCAPES = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}


def _json_string(x: str, exact: bool) -> str:
    """SQL for the string column ``x`` as ``json.dumps`` writes it (None: ``null``), in
    ASCII as ``ensure_ascii`` writes it.

    ``to_json`` writes the escapes of control characters in capitals (``\\u001B``,
    where Python writes ``\\u001b``); ``exact`` escapes one character at a time
    instead, backslashes first (each replacement then adds nothing to be replaced):
    slower, for the rare text that has a control character (a terminal escape in a
    branch name). Then, in a string that is not plain ASCII (its bytes outnumber its
    characters, or it holds DEL), each character from DEL up is written ``\\u00e9``,
    above U+FFFF as a surrogate pair: done here, on the few such strings, the text
    reaches Python as ASCII, which it handles many times faster than the same
    megabytes with one accent in them."""
    if exact:
        chain = f"replace(replace({x}, '\\', '\\\\'), '\"', '\\\"')"
        for code in range(32):
            escape = _SHORT_ESCAPES.get(code, f"\\u{code:04x}")
            chain = f"replace({chain}, chr({code}), '{escape}')"
        text = f"'\"' || {chain} || '\"'"
    else:
        text = f"to_json({x})::VARCHAR"
    ascii_ = (f"array_to_string(list_transform(string_split({text}, ''), lambda c: "
              "CASE WHEN unicode(c) < 127 THEN c "
              "WHEN unicode(c) < 65536 THEN printf('\\u%04x', unicode(c)) "
              "ELSE printf('\\u%04x\\u%04x', 55296 + ((unicode(c) - 65536) >> 10), "
              "56320 + ((unicode(c) - 65536) & 1023)) END), '')")
    return (f"CASE WHEN {x} IS NULL THEN 'null' "
            f"WHEN strlen({x}) = length({x}) AND NOT contains({x}, chr(127)) THEN {text} "
            f"ELSE {ascii_} END")


def _json_list(x: str, exact: bool) -> str:
    """SQL for the list column ``x`` (of strings) as ``json.dumps(indent=2)`` writes it in
    a row's field: ``[]``, or an item a line."""
    item = _json_string("s", exact)
    return (f"CASE WHEN len({x}) = 0 THEN '[]' ELSE concat('[\n{_ITEM}', array_to_string("
            f"list_transform({x}, lambda s: {item}), ',\n{_ITEM}'), '\n{_FIELD}]') END")


def _json_plain(x: str) -> str:
    """SQL for a string column that needs no escape (an instant, a day) as JSON."""
    return f"coalesce('\"' || {x} || '\"', 'null')"


def _json_float_of_micro(x: str) -> str:
    """SQL for a DECIMAL micro-dollar column ``x`` as ``repr(float(x / 10**6))``: the text
    of the decimal, moved six places by an exponent, read as a double (correctly
    rounded, as Python's ``float`` of a ``Decimal`` is), then written shortest."""
    return f"(({x})::VARCHAR || 'e-6')::DOUBLE::VARCHAR"


def _session_fields(exact: bool, agents: int) -> tuple[tuple[str, str], ...]:
    """A session row's fields, in ``Row.to_json``'s order (``reports.build._numbers``
    first), as SQL for their JSON text; ``agents``: how many ``$source_<i>`` and
    ``$agent_<i>`` parameters name the agents (their names already JSON)."""
    agent = "CASE source " + " ".join(f"WHEN $source_{i} THEN $agent_{i}"
                                      for i in range(agents)) + " ELSE 'null' END"
    return (
        ("key", _json_string("k", exact)),
        ("input_tokens", "input_tokens::VARCHAR"),
        ("output_tokens", "output_tokens::VARCHAR"),
        ("cache_write_tokens",
         "(cache_write_5m_tokens::HUGEINT + cache_write_1h_tokens)::VARCHAR"),
        ("cache_read_tokens", "cache_read_tokens::VARCHAR"),
        ("total_tokens", "(all_input + output_tokens)::VARCHAR"),
        ("cost_usd", _json_float_of_micro("cost_micro")),
        ("cache_write_5m_tokens", "cache_write_5m_tokens::VARCHAR"),
        ("cache_write_1h_tokens", "cache_write_1h_tokens::VARCHAR"),
        ("web_search_requests", "web_search_requests::VARCHAR"),
        ("requests", "requests::VARCHAR"),
        ("cache_hit_rate", "CASE WHEN all_input = 0 THEN '0.0' "
                           "ELSE (cache_read_tokens::DOUBLE / all_input::DOUBLE)::VARCHAR END"),
        ("cache_savings_usd", _json_float_of_micro("savings_micro")),
        ("models", _json_list("models", exact)),
        ("project", _json_string("project", exact)),
        ("branches", _json_list("branches", exact)),
        ("first_activity", _json_plain("first")),
        ("last_activity", _json_plain("last")),
        ("last_activity_date", _json_plain(
            "CASE WHEN $tz = 'UTC' THEN left(last, 10) "
            "ELSE strftime(timezone($tz, last_ts), '%Y-%m-%d') END")),
        ("agent", agent if agents else "'null'"),
    )


# An escape ``to_json`` writes with a capital (``\u001B``), where Python's is small.
_CAPITAL_ESCAPE = re.compile(r"\\u00[01][A-F]")
# Where the text is Python's only within bounds (else the rows are built in Python):
# below 2**53 a double holds a count exactly, so ``cache_hit_rate``'s division is the
# one Python does; a cost below 10**21 micro-dollars has at most 27 digits, which
# ``Decimal``'s 28 divide exactly. (Integers are written exactly at any size.)
_EXACT_INT = 2**53
_EXACT_MICRO = 10**21


# The sessions' rows with what their fields' SQL reads besides the columns.
_SESSION_ROWS = ("FROM (SELECT *, input_tokens::HUGEINT + cache_write_5m_tokens "
                 "+ cache_write_1h_tokens + cache_read_tokens AS all_input, "
                 "strftime(first_ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS first, "
                 "strftime(last_ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS last FROM session_totals)")
# Whether a row's numbers are within the bounds above.
_ROWS_EXACT = (f"abs(all_input) < {_EXACT_INT} AND abs(cache_read_tokens) < {_EXACT_INT} "
               f"AND abs(cost_micro) < {_EXACT_MICRO} AND abs(savings_micro) < {_EXACT_MICRO}")

# Below this many sessions the rows are built in Python: the text's query costs some 30 ms
# to plan whatever the count (32 ms for 28 sessions after a new line), Python's rows
# about 0.05 ms each; at 8,837 sessions the query saves 0.3 s.
SQL_ROWS_MIN = 500

# What a session's row is written from: every column of ``session_totals``. A row's text
# is kept between runs while this hash of them is the same (``reports.session_rows``).
# DuckDB's hash mixes each value and folds them in order, one step at a time, each step
# one-to-one in the value it adds: rows that differ in one count always hash apart.
_ROW_HASH = ("hash(k, input_tokens, output_tokens, cache_write_5m_tokens, "
             "cache_write_1h_tokens, cache_read_tokens, web_search_requests, cost_micro, "
             "savings_micro, requests, models, first_ts, last_ts, branches, project, "
             "session_total, source)")
# the session report's order (``reports.build._sort``): oldest last activity first
_ROW_ORDER = "ORDER BY coalesce(last, ''), k"


def session_count(con: duckdb.DuckDBPyConnection) -> int:
    """How many sessions ``session_totals`` holds (the rows ``session_row_hashes`` gives)."""
    return con.execute("SELECT count(*) FROM session_totals").fetchone()[0]


def session_row_hashes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Each session's key and the hash of its row (``_ROW_HASH``), in the session report's
    order (oldest last activity first)."""
    return con.execute(f"SELECT k, {_ROW_HASH} {_SESSION_ROWS} {_ROW_ORDER}").fetchall()


def session_rows_json(con: duckdb.DuckDBPyConnection, tz: str
                      ) -> list[tuple[str, str]] | None:  # fmt: skip
    """The rows of the ``session`` report of every session (``session_totals``) in its
    order (oldest last activity first), each as (key, the text
    ``json.dumps(indent=2)`` writes for it inside the report's ``"rows": [...]``,
    its ASCII escapes included); None when a number is too large for the text to be
    exactly Python's (then the rows are built as before).
    """
    import json

    from ccspend.sources import agents

    sources, exact_numbers = con.execute(
        "SELECT list(DISTINCT source) FILTER (WHERE source IS NOT NULL), "
        f"coalesce(bool_and({_ROWS_EXACT}), true) {_SESSION_ROWS}").fetchone()  # fmt: skip
    if not exact_numbers:
        return None
    sources = sources or []  # no session has a source: the list of none is NULL
    params: dict = {"tz": tz}
    for i, s in enumerate(sources):
        known = agents.of_source(s)
        params[f"source_{i}"] = s
        params[f"agent_{i}"] = json.dumps(known.name if known else None)
    rows = _session_rows_json(con, params, len(sources), exact=False)
    # ``to_json``'s escapes of control characters differ from Python's in case: where
    # the text has an escape with a capital (or a string that reads like one), the
    # rows are written again escaping one character at a time
    if any(_CAPITAL_ESCAPE.search(text) for _, text in rows):
        rows = _session_rows_json(con, params, len(sources), exact=True)
    return rows


def session_row_format() -> str:
    """What a session row's text and its hash are written by: the text's SQL, and DuckDB's
    version (its hash function)."""
    from ccspend.store.engine import duckdb

    return f"{duckdb.__version__} {_ROW_HASH} {_session_fields(False, 0)!r}"


def _session_rows_json(con: duckdb.DuckDBPyConnection, params: dict, agents: int,
                       exact: bool) -> list[tuple[str, str]]:  # fmt: skip
    parts = [f"'{_ROW}{{'"]
    for name, value in _session_fields(exact, agents):
        if name == "project":
            parts.append(f"CASE WHEN session_total THEN ',\n{_FIELD}\"granularity\": "
                         f"\"{SESSION_TOTAL_GRANULARITY}\"' ELSE '' END")
        parts += (f"'{',' if len(parts) > 1 else ''}\n{_FIELD}\"{name}\": '", value)
    parts.append(f"'\n{_ROW}}}'")
    # one concat of every part (a chain of ``||`` copies the row once per part)
    sql = f"SELECT k, concat({', '.join(parts)}) {_SESSION_ROWS} {_ROW_ORDER}"
    return con.execute(sql, _bind(sql, params)).fetchall()


def entries(con: duckdb.DuckDBPyConnection, f: Filters) -> list[Aggregate]:
    """Each request ``f`` selects, oldest first, as an ``Aggregate`` of one: its session
    as the key, its model as the sub key, its time as ``first_ts`` (``session --id``)."""
    sql, params = _selection(con, f)
    sql = (f"SELECT k, sk, {_SUMS} FROM (SELECT *, coalesce(session_id, '(unknown)') AS k, "
           f"coalesce(model_name, model, '(unknown)') AS sk FROM ({sql}) s) "
           "GROUP BY k, sk, request_key ORDER BY min(ts), k, sk")  # fmt: skip
    return [_aggregate(r) for r in con.execute(sql, _bind(sql, params)).fetchall()]


# A request's model with the multipliers it was priced with: ``--breakdown`` shows a
# model's fast-mode and US-only requests apart from its standard ones.
SUB_KEY = ("coalesce(model_name, model, '(unknown)') "
           "|| coalesce(' (' || pricing_mode || ')', '')")
# A priced request whose speed or region the card has no multiplier for: priced at the
# standard rate and named in a warning ("claude-sonnet-4-6: speed fast").
# A request's model when the card has no price for it (NULL: priced).
_UNPRICED_MODEL = "CASE WHEN NOT priced THEN coalesce(model, '(unknown)') END"
_UNKNOWN_MODIFIER = ("CASE WHEN modifier_unknown IS NOT NULL THEN coalesce(model_name, model) "
                     "|| ': ' || modifier_unknown END")


def unknown_modifiers(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """What in ``selected`` was priced at the standard rate because the card has no
    multiplier for its speed or region: ("model: speed fast", requests)."""
    sql = (f"SELECT {_UNKNOWN_MODIFIER} AS mu, count(*)::BIGINT FROM selected "
           "WHERE modifier_unknown IS NOT NULL GROUP BY 1 ORDER BY 1")  # fmt: skip
    return [(r[0], r[1]) for r in con.execute(sql).fetchall()]


def _aggregate(r: tuple, session_total: bool = False) -> Aggregate:
    """An ``Aggregate`` of a row of (key, sub key, ``_SUMS``...)."""
    return Aggregate(
        key=r[0], sub_key=r[1], input_tokens=r[2], output_tokens=r[3],
        cache_write_5m_tokens=r[4], cache_write_1h_tokens=r[5], cache_read_tokens=r[6],
        web_search_requests=r[7], cost_micro=r[8], savings_micro=r[9], requests=r[10],
        models=list(r[11] or []), first_ts=r[12], last_ts=r[13], branches=list(r[14] or []),
        cwd=r[15], agent=r[16], session_total=bool(session_total),
    )  # fmt: skip


def aggregate(
    con: duckdb.DuckDBPyConnection, group: str | None, f: Filters, by_model: bool = False
) -> list[Aggregate]:
    """Usage in ``selected`` summed per report key (``group`` None: one grand total row)."""
    key = GROUP_KEYS[group] if group else "'total'"
    sub = SUB_KEY if by_model else "NULL"
    # The key is computed once per row in a subquery: in the select list, DuckDB
    # computes it again for each DISTINCT list and the mode (half the query's time).
    sql = (f"SELECT k, {sub} AS sk, {_SUMS} FROM (SELECT *, {key} AS k FROM selected) "
           "GROUP BY ALL ORDER BY k, sk")  # fmt: skip
    rows = con.execute(sql, _bind(sql, {"tz": f.tz})).fetchall()
    if group is None and rows and not rows[0][10] and rows[0][2] is None:
        return []  # no requests: the caller's empty total
    return [_aggregate(r) for r in rows]


def unpriced(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    """Models in ``selected`` the card does not know: (model id, total tokens, requests)."""
    sql = (
        "SELECT coalesce(model, '(unknown)'), sum(input_tokens + output_tokens "
        "+ cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens)::BIGINT, "
        "count(*)::BIGINT FROM selected WHERE NOT priced GROUP BY 1 ORDER BY 1"
    )
    return [(r[0], r[1], r[2]) for r in con.execute(sql).fetchall()]


def skipped_lines(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Files with lines that could not be read, and how many."""
    return [
        (r[0], r[1])
        for r in con.execute(
            "SELECT path, skipped_lines FROM files WHERE skipped_lines > 0 ORDER BY path"
        ).fetchall()
    ]


def request_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM requests").fetchone()[0]


def timeline(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Every request in ``selected``, oldest first: (µs, input, output, cache write,
    cache read, cost in micro-dollars (0 if unpriced), model)."""
    return con.execute(
        "SELECT epoch_us(ts), input_tokens, output_tokens, "
        "cache_write_5m_tokens + cache_write_1h_tokens, cache_read_tokens, "
        "coalesce(cost_micro, 0)::DECIMAL(38,6), coalesce(model_name, model, '(unknown)') "
        "FROM selected ORDER BY ts"
    ).fetchall()


def readings(con: duckdb.DuckDBPyConnection, window: str, since_s: float) -> list[tuple]:
    """Official rate-limit readings of one window since a moment: (epoch s, used %, resets s)."""
    return con.execute(
        "SELECT epoch(read_at), used_percentage, epoch(resets_at) FROM rate_limit_readings "
        "WHERE window_name = ? AND read_at >= to_timestamp(?) ORDER BY read_at",
        [window, since_s],
    ).fetchall()


def minute_costs(con: duckdb.DuckDBPyConnection, since_s: float) -> list[tuple[int, float]]:
    """Cost per minute in ``selected`` since a moment: (minute's epoch s, USD)."""
    return con.execute(
        "SELECT (epoch_ms(ts) // 60000 * 60)::BIGINT AS m, "
        "(coalesce(sum(cost_micro), 0) / 1000000)::DOUBLE "
        "FROM selected WHERE ts >= to_timestamp(?) GROUP BY m ORDER BY m",
        [since_s],
    ).fetchall()


def live_sessions(con: duckdb.DuckDBPyConnection, since_s: float, top: int) -> list[tuple]:
    """Sessions active since a moment, most expensive first: (id, cwd, USD, last epoch s)."""
    return con.execute(
        f"SELECT coalesce(session_id, '(unknown)'), {PROJECT_OF}, "
        "(coalesce(sum(cost_micro), 0) / 1000000)::DOUBLE, max(epoch(ts)) "
        "FROM selected GROUP BY 1 HAVING max(ts) >= to_timestamp(?) "
        "ORDER BY 3 DESC LIMIT ?",
        [since_s, top],
    ).fetchall()


def chain_start(con: duckdb.DuckDBPyConnection, now_s: float) -> float | None:
    """The last moment the 5-hour block chain restarted: the first request after the
    latest idle gap of five hours or more (epoch s), None for an empty store.

    Blocks from there on do not depend on anything earlier, so the active block
    needs only the requests since. Raw lines are used: they include every counted
    request, so their gaps are never longer than the counted ones'.
    """
    row = con.execute(
        "SELECT epoch(max(ts)) FROM (SELECT ts, ts - lag(ts) OVER (ORDER BY ts) AS gap "
        "FROM requests WHERE ts <= to_timestamp(?)) WHERE gap IS NULL OR gap >= INTERVAL 5 HOUR",
        [now_s],
    ).fetchone()
    return row[0] if row else None


# -- what if: the same history priced on another model -------------------------

# ``PRICED`` with each request's card model replaced where ``whatif_map`` says so
# (``ccspend whatif``). It is PRICED's own text with three edits, so the pricing
# rules (price periods, long context, cache writes, web searches) are the same by
# construction: a join to ``whatif_map`` on ``{key}`` (a session id, or ``'*'``
# for every request), the card model to price by, and ``whatif_model`` in the
# output. A request whose own model is not on the card stays unpriced (it is not
# in the old cost either, so the difference compares like with like).
_AS_EDITS = (
    ("LEFT JOIN card_prices p ON p.name = m.name AND d.ts",
     "LEFT JOIN whatif_map w ON w.key = {key} AND d.ts >= w.valid_from AND d.ts < w.valid_to\n"
     "    LEFT JOIN card_prices p ON p.name = CASE WHEN m.name IS NULL THEN NULL\n"
     "        ELSE coalesce(w.name, m.name) END AND d.ts"),
    ("m.name AS model_name, p.*,",
     "m.name AS model_name, CASE WHEN m.name IS NULL THEN NULL ELSE w.name END "
     "AS whatif_model, p.*,"),
    ("SELECT ts, session_id, model, model_name,",
     "SELECT ts, session_id, model, model_name, whatif_model,"),
)  # fmt: skip


def _edited(sql: str, edits: tuple[tuple[str, str], ...]) -> str:
    """``PRICED``'s text with each edit made once (its variants share its rules)."""
    for old, new in edits:
        if sql.count(old) != 1:  # PRICED changed shape: fail loudly, never misprice
            raise RuntimeError(f"queries.PRICED no longer has {old!r} once")
        sql = sql.replace(old, new)
    return sql


PRICED_AS = _edited(PRICED, _AS_EDITS)


# ``PRICED`` with the cost a log states set aside: every request priced on the card, and
# what its log stated beside it (``stated_usd``), so ``reconcile --agents`` shows both
# for the calls billed 'as billed'. Edits of PRICED's own text, as ``PRICED_AS``: the
# pricing rules are the same by construction.
_CARD_EDITS = (
    ("THEN d.logged_cost_usd END AS stated_usd,",
     "THEN d.logged_cost_usd END AS stated_kept, NULL::DOUBLE AS stated_usd,"),
    ("SELECT ts, session_id, model, model_name,",
     "SELECT ts, session_id, model, model_name, stated_kept AS stated_usd,"),
)


CARD_PRICED = _edited(PRICED, _CARD_EDITS)


def load_whatif_map(con: duckdb.DuckDBPyConnection, mapping: dict) -> None:
    """The what-if's model per key, into the temp table ``whatif_map``.

    Keys are session ids (``select_as(per_session=True)``), or ``"*"`` for every
    request; values are card model names (``RateCard.models`` keys), or for a Claude
    Code alias the names it stood for over time: ``[(first day or None, name), ...]``
    (``pricing.index.alias_timeline``; the first also covers the days before it).
    """
    con.execute("CREATE OR REPLACE TEMP TABLE whatif_map (key VARCHAR, name VARCHAR, "
                "valid_from TIMESTAMPTZ, valid_to TIMESTAMPTZ)")  # fmt: skip
    rows = []
    for key, target in mapping.items():
        spans = [(None, target)] if isinstance(target, str) else list(target)
        for i, (_first, name) in enumerate(spans):
            start = EPOCH_START if i == 0 else _instant(spans[i][0])
            end = _instant(spans[i + 1][0]) if i + 1 < len(spans) else END_OF_TIME
            rows.append((key, name, start, end))
    _insert(con, "whatif_map", rows, ("", "", "::TIMESTAMPTZ", "::TIMESTAMPTZ"))


def select_as(con: duckdb.DuckDBPyConnection, f: Filters, per_session: bool) -> None:
    """``select`` for a what-if: Claude Code's requests priced as ``whatif_map`` says,
    into ``selected`` (which ``aggregate`` then sums). An empty map prices each
    request on its own model, exactly as ``select`` does for the logs.

    ``per_session``: the map is keyed by session id; else its ``"*"`` row applies
    to every request.
    """
    where, params = _where(f)
    window, wparams = _time_window(f)
    body = PRICED_AS.format(window=window, key="d.session_id" if per_session else "'*'")
    sql = f"CREATE OR REPLACE TEMP TABLE selected AS SELECT * FROM ({body}) q {where}"
    con.execute(sql, _bind(sql, {**params, **wparams}))


def repriced(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """Requests in ``selected`` moved to another model: (from, to, requests)."""
    return [
        (r[0], r[1], r[2])
        for r in con.execute(
            "SELECT model_name, whatif_model, count(*)::BIGINT FROM selected "
            "WHERE whatif_model IS NOT NULL AND whatif_model <> model_name "
            "GROUP BY ALL ORDER BY 3 DESC, 1, 2"
        ).fetchall()
    ]
