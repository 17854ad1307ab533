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
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb

from ccspend.pricing.card import RateCard

EPOCH_START = "1970-01-01 00:00:00+00"
END_OF_TIME = "9999-12-31 00:00:00+00"

GROUP_KEYS = {
    "daily": "strftime(timezone($tz, ts), '%Y-%m-%d')",
    "weekly": "strftime(date_trunc('week', timezone($tz, ts)), '%Y-%m-%d')",
    "monthly": "strftime(timezone($tz, ts), '%Y-%m')",
    "session": "coalesce(session_id, '(unknown)')",
    "model": "coalesce(model_name, model, '(unknown)')",
    "project": "coalesce(cwd, '(unknown)')",
    "branch": "coalesce(nullif(git_branch, ''), '(none)')",
}


@dataclass(frozen=True)
class Filters:
    """What a report is restricted to. Dates are local dates in ``tz``, inclusive."""

    tz: str = "UTC"
    since: date | None = None
    until: date | None = None
    project: str | None = None
    branch: str | None = None
    since_ts: datetime | None = None  # an instant (a git merge-base's time)
    repo_root: str | None = None  # only requests whose cwd lies in this repository


def load_card(con: duckdb.DuckDBPyConnection, card: RateCard, at: date | None = None) -> None:
    """Put the rate card in temporary tables for the pricing join.

    With ``at``, every request is priced by the card as it stood on that date
    (``whatif --card``); otherwise by the period in force at its own time.
    """
    models = [r[0] for r in con.execute("SELECT DISTINCT model FROM requests").fetchall()]
    con.execute("CREATE OR REPLACE TEMP TABLE model_map (raw VARCHAR, name VARCHAR)")
    mapping = [(m, card.resolve(m)) for m in models if m is not None]
    mapping = [(raw, name) for raw, name in mapping if name is not None]
    if mapping:
        con.execute(
            "INSERT INTO model_map SELECT unnest($1), unnest($2)",
            [[r for r, _ in mapping], [n for _, n in mapping]],
        )
    rows = []
    for m in card.models.values():
        periods = [m.price_at(at)] if at is not None else list(m.prices)
        for i, p in enumerate(periods):
            start = EPOCH_START if i == 0 else f"{p.effective_from.isoformat()} 00:00:00+00"
            end = (
                f"{periods[i + 1].effective_from.isoformat()} 00:00:00+00"
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
    con.execute(
        "CREATE OR REPLACE TEMP TABLE card_prices (name VARCHAR, valid_from TIMESTAMPTZ, "
        "valid_to TIMESTAMPTZ, i DECIMAL(18,6), o DECIMAL(18,6), w5 DECIMAL(18,6), "
        "w1 DECIMAL(18,6), r DECIMAL(18,6), lc_threshold BIGINT, li DECIMAL(18,6), "
        "lo DECIMAL(18,6), lw5 DECIMAL(18,6), lw1 DECIMAL(18,6), lr DECIMAL(18,6), "
        "ws DECIMAL(18,6))"
    )
    if rows:
        cols = list(zip(*rows, strict=True))
        con.execute(
            "INSERT INTO card_prices SELECT unnest($1), unnest($2)::TIMESTAMPTZ, "
            "unnest($3)::TIMESTAMPTZ, unnest($4), unnest($5), unnest($6), unnest($7), "
            "unnest($8), unnest($9), unnest($10), unnest($11), unnest($12), unnest($13), "
            "unnest($14), unnest($15)",
            [list(c) for c in cols],
        )


# One row per counted request, priced. ``cost_micro`` is NULL for a model the
# card does not know (reported as unpriced, never as zero).
PRICED = """
WITH base AS (
    SELECT r.*, f.first_ts AS f_first, f.last_ts AS f_last, f.path AS f_path,
           f.agent_type
    FROM requests r JOIN files f USING (file_id)
    WHERE NOT r.is_api_error AND coalesce(r.model, '') <> '<synthetic>' {window}
),
dedup AS (
    SELECT * FROM base WHERE dedup_key IS NULL  -- cannot be deduplicated: each counts
    UNION ALL
    SELECT * FROM base WHERE dedup_key IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY dedup_key
        ORDER BY output_tokens DESC, is_sidechain, f_first NULLS LAST, f_last NULLS LAST,
                 f_path, line_offset) = 1
),
joined AS (
    SELECT d.ts, d.session_id, d.model, d.cwd, d.git_branch, d.input_tokens, d.output_tokens,
           d.cache_write_5m_tokens, d.cache_write_1h_tokens, d.cache_read_tokens,
           d.web_search_requests, m.name AS model_name, p.*,
           coalesce(d.input_tokens + d.cache_write_5m_tokens + d.cache_write_1h_tokens
                    + d.cache_read_tokens > p.lc_threshold, false) AS lc
    FROM dedup d
    LEFT JOIN model_map m ON m.raw = d.model
    LEFT JOIN card_prices p ON p.name = m.name AND d.ts >= p.valid_from AND d.ts < p.valid_to
)
SELECT ts, session_id, model, model_name, cwd, git_branch, input_tokens, output_tokens,
    cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, web_search_requests,
    i IS NOT NULL AS priced,
    CASE WHEN i IS NULL THEN NULL ELSE
        input_tokens * (CASE WHEN lc THEN li ELSE i END)
      + output_tokens * (CASE WHEN lc THEN lo ELSE o END)
      + cache_write_5m_tokens * (CASE WHEN lc THEN lw5 ELSE w5 END)
      + cache_write_1h_tokens * (CASE WHEN lc THEN lw1 ELSE w1 END)
      + cache_read_tokens * (CASE WHEN lc THEN lr ELSE r END)
      + web_search_requests * ws * 1000
    END AS cost_micro,
    CASE WHEN i IS NULL THEN NULL ELSE
        (cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens)
            * (CASE WHEN lc THEN li ELSE i END)
      - cache_write_5m_tokens * (CASE WHEN lc THEN lw5 ELSE w5 END)
      - cache_write_1h_tokens * (CASE WHEN lc THEN lw1 ELSE w1 END)
      - cache_read_tokens * (CASE WHEN lc THEN lr ELSE r END)
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
    if f.repo_root is not None:
        clauses.append("(cwd = $repo OR starts_with(cwd, $repo_prefix))")
        params["repo"] = f.repo_root
        params["repo_prefix"] = f.repo_root.rstrip("/") + "/"
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_SUMS = """
    sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT,
    sum(cache_write_5m_tokens)::BIGINT, sum(cache_write_1h_tokens)::BIGINT,
    sum(cache_read_tokens)::BIGINT, sum(web_search_requests)::BIGINT,
    coalesce(sum(cost_micro), 0)::DECIMAL(38,6), coalesce(sum(savings_micro), 0)::DECIMAL(38,6),
    count(*)::BIGINT,
    list(DISTINCT coalesce(model_name, model, '(unknown)')
         ORDER BY coalesce(model_name, model, '(unknown)')),
    strftime(min(ts), '%Y-%m-%dT%H:%M:%S.%gZ'), strftime(max(ts), '%Y-%m-%dT%H:%M:%S.%gZ'),
    list(DISTINCT coalesce(nullif(git_branch, ''), '(none)')
         ORDER BY coalesce(nullif(git_branch, ''), '(none)')),
    mode(cwd)
"""


@dataclass(frozen=True)
class Aggregate:
    """Summed usage of a group of requests. Money in exact micro-dollars."""

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
    where, params = _where(f)
    window, wparams = _time_window(f)
    sql = (
        "CREATE OR REPLACE TEMP TABLE selected AS SELECT * FROM "
        f"({PRICED.format(window=window)}) q {where}"
    )
    con.execute(sql, _bind(sql, {**params, **wparams}))


def aggregate(
    con: duckdb.DuckDBPyConnection, group: str | None, f: Filters, by_model: bool = False
) -> list[Aggregate]:
    """Usage in ``selected`` summed per report key (``group`` None: one grand total row)."""
    key = GROUP_KEYS[group] if group else "'total'"
    sub = "coalesce(model_name, model, '(unknown)')" if by_model else "NULL"
    sql = f"SELECT {key} AS k, {sub} AS sk, {_SUMS} FROM selected GROUP BY ALL ORDER BY k, sk"
    rows = con.execute(sql, _bind(sql, {"tz": f.tz})).fetchall()
    if group is None and rows and rows[0][10] == 0:
        return []  # no requests: the caller's empty total
    return [
        Aggregate(
            key=r[0], sub_key=r[1], input_tokens=r[2], output_tokens=r[3],
            cache_write_5m_tokens=r[4], cache_write_1h_tokens=r[5], cache_read_tokens=r[6],
            web_search_requests=r[7], cost_micro=r[8], savings_micro=r[9], requests=r[10],
            models=list(r[11] or []), first_ts=r[12], last_ts=r[13], branches=list(r[14] or []),
            cwd=r[15],
        )  # fmt: skip
        for r in rows
    ]


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
        "SELECT coalesce(session_id, '(unknown)'), mode(cwd), "
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
