"""The database schema, as an append-only list of named migrations.

A migration is never edited once released: a later one repairs an earlier one.
The pending ones run in one transaction together with the rows that record
them, so a failed migration leaves nothing behind and it and those after it
stay pending.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from ccspend.core.redact import HIDDEN, redact, redact_text

if TYPE_CHECKING:
    import duckdb

M001_INITIAL = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE files (
    file_id        BIGINT PRIMARY KEY,
    path           VARCHAR NOT NULL UNIQUE,
    source         VARCHAR NOT NULL,      -- 'claude-code', later 'codex', exports
    dev            BIGINT,
    ino            BIGINT,
    size           BIGINT,
    mtime_ns       BIGINT,
    read_offset    BIGINT NOT NULL,       -- end of the last complete line read
    head_hash      VARCHAR,               -- fingerprint of the first bytes: detects a replaced file
    agent_id       VARCHAR,               -- subagent transcripts: agent-<id>.jsonl
    agent_type     VARCHAR,               -- from agent-<id>.meta.json
    skipped_lines  BIGINT NOT NULL DEFAULT 0,
    first_ts       TIMESTAMPTZ,           -- earliest request: picks the original of a resumed copy
    last_ts        TIMESTAMPTZ,
    ingested_at    TIMESTAMPTZ
);

-- One row per assistant log line that carries usage. Duplicates (several lines
-- per response, resumed sessions) are kept here and resolved at query time, so
-- re-reading a file never needs to know what other files hold.
CREATE TABLE requests (
    file_id               BIGINT NOT NULL,
    line_offset           BIGINT NOT NULL,
    ts                    TIMESTAMPTZ NOT NULL,
    session_id            VARCHAR,
    message_id            VARCHAR,
    request_id            VARCHAR,
    dedup_key             VARCHAR,        -- message_id|request_id; NULL: cannot be deduplicated
    model                 VARCHAR,
    input_tokens          BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    web_search_requests   BIGINT NOT NULL,
    cwd                   VARCHAR,
    git_branch            VARCHAR,
    version               VARCHAR,
    entrypoint            VARCHAR,
    is_sidechain          BOOLEAN NOT NULL,
    agent_id              VARCHAR,
    is_api_error          BOOLEAN NOT NULL,
    logged_cost_usd       DOUBLE
);
"""

# The subscription's official window readings, as Claude Code's status line
# reports them (rate_limits.five_hour / seven_day): the best limit there is.
M002_RATE_LIMIT_READINGS = """
CREATE TABLE rate_limit_readings (
    read_at          TIMESTAMPTZ NOT NULL,
    session_id       VARCHAR,
    window_name      VARCHAR NOT NULL,      -- 'five_hour' or 'seven_day'
    used_percentage  DOUBLE NOT NULL,
    resets_at        TIMESTAMPTZ
);
"""

# The ledger of `ccspend run`: a row written when a run starts and finished when
# it ends, so a run killed with SIGKILL is still there (marked interrupted later).
M003_RUNS = """
CREATE TABLE runs (
    run_id      VARCHAR PRIMARY KEY,
    task_id     VARCHAR,
    command     VARCHAR NOT NULL,   -- secrets redacted
    cwd         VARCHAR,
    host        VARCHAR,
    pid         BIGINT,
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ,
    session_id  VARCHAR,
    cap_usd     DOUBLE,
    cost_usd    DOUBLE,
    status      VARCHAR NOT NULL,   -- running, ok, failed, capped, interrupted
    exit_code   INTEGER,
    stopped_by  VARCHAR
);
"""

# What `ccspend run` grew after its first ledger: token caps, the sessions and
# models a run used, refusals and --force, routing; alerts fired once per level;
# run events (pauses under a rate limit); the cap hooks' decisions.
M004_RUN_CONTROL = """
ALTER TABLE runs ADD COLUMN cap_tokens BIGINT;
ALTER TABLE runs ADD COLUMN tokens BIGINT;
ALTER TABLE runs ADD COLUMN sessions VARCHAR[];
ALTER TABLE runs ADD COLUMN models VARCHAR[];
ALTER TABLE runs ADD COLUMN forced BOOLEAN;
ALTER TABLE runs ADD COLUMN note VARCHAR;
ALTER TABLE runs ADD COLUMN route_tier VARCHAR;
ALTER TABLE runs ADD COLUMN route_reason VARCHAR;

-- One row per (thing watched, level reached): an alert fires when its row is
-- inserted, so concurrent or repeated checks (a cron job every minute) send it once.
CREATE TABLE alerts (
    alert_key  VARCHAR NOT NULL,   -- 'budget:daily:2026-11-23', 'run:<run id>'
    level      INTEGER NOT NULL,   -- percent of the cap; 100 = cap reached
    fired_at   TIMESTAMPTZ NOT NULL,
    message    VARCHAR NOT NULL,
    channels   VARCHAR,            -- where it went: terminal,desktop,webhook,command
    PRIMARY KEY (alert_key, level)
);

CREATE TABLE run_events (
    run_id  VARCHAR NOT NULL,
    event_at TIMESTAMPTZ NOT NULL,
    kind    VARCHAR NOT NULL,      -- paused, resumed, forced, refused
    detail  VARCHAR
);

-- The interactive cap hooks answer from the standard library in a few ms, so
-- they journal decisions to a file; the next ccspend start copies them here.
CREATE TABLE cap_decisions (
    decided_at  TIMESTAMPTZ NOT NULL,
    session_id  VARCHAR,
    hook        VARCHAR NOT NULL,  -- PreToolUse, UserPromptSubmit
    decision    VARCHAR NOT NULL,  -- allow, warn, deny, block, override
    reason      VARCHAR,
    spent_usd   DOUBLE,
    cap_usd     DOUBLE,
    UNIQUE (decided_at, session_id, hook)
);
"""

# Provider exports (`ccspend import`): one row per usage or cost bucket, keyed by
# the bucket's identity so re-importing a file or an overlapping export replaces
# rather than adds. ``same_as_local`` names the API keys or workspaces Claude Code
# itself uses: their export rows check the local logs instead of adding to them.
M005_IMPORTED_USAGE = """
CREATE TABLE imported_usage (
    row_key                VARCHAR PRIMARY KEY,   -- UsageRow.key
    source                 VARCHAR NOT NULL,      -- the format: 'anthropic-usage-api', ...
    provider               VARCHAR NOT NULL,
    kind                   VARCHAR NOT NULL,      -- 'usage' or 'cost'
    start_ts               TIMESTAMPTZ NOT NULL,
    end_ts                 TIMESTAMPTZ,           -- exclusive; NULL for a single request
    model                  VARCHAR,
    workspace              VARCHAR,
    api_key                VARCHAR,
    project                VARCHAR,
    task                   VARCHAR,
    service_tier           VARCHAR,
    context_window         VARCHAR,
    line_item              VARCHAR,
    input_tokens           BIGINT NOT NULL,
    cache_write_5m_tokens  BIGINT NOT NULL,
    cache_write_1h_tokens  BIGINT NOT NULL,
    cache_read_tokens      BIGINT NOT NULL,
    output_tokens          BIGINT NOT NULL,
    web_search_requests    BIGINT NOT NULL,
    requests               BIGINT,
    cost_usd               DECIMAL(38,12),        -- billed, as the export says; NULL: not said
    file                   VARCHAR,               -- the file it was last imported from
    imported_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE same_as_local (
    key       VARCHAR PRIMARY KEY,   -- an API key or workspace (id or name) Claude Code uses
    added_at  TIMESTAMPTZ NOT NULL
);
"""

# The response key is computed where it is read, not stored: a column of nearly
# unique strings cost a third of a cold ingest's write (DuckDB compresses each
# row group of it) and a third of the file. The message and request ids, nearly
# unique too (a response's few lines share them), are stored uncompressed for the
# same reason (a fifth more file, a sixth less write time).
M006_REQUESTS_KEY_COMPUTED = """
CREATE TABLE requests_m006 (
    file_id               BIGINT NOT NULL,
    line_offset           BIGINT NOT NULL,
    ts                    TIMESTAMPTZ NOT NULL,
    session_id            VARCHAR,
    message_id            VARCHAR USING COMPRESSION uncompressed,
    request_id            VARCHAR USING COMPRESSION uncompressed,
    dedup_key             VARCHAR GENERATED ALWAYS AS (
        CASE WHEN message_id IS NULL THEN NULL
             ELSE message_id || '|' || coalesce(request_id, '') END) VIRTUAL,
    model                 VARCHAR,
    input_tokens          BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    web_search_requests   BIGINT NOT NULL,
    cwd                   VARCHAR,
    git_branch            VARCHAR,
    version               VARCHAR,
    entrypoint            VARCHAR,
    is_sidechain          BOOLEAN NOT NULL,
    agent_id              VARCHAR,
    is_api_error          BOOLEAN NOT NULL,
    logged_cost_usd       DOUBLE
);
INSERT INTO requests_m006 BY NAME SELECT * EXCLUDE (dedup_key) FROM requests;
DROP TABLE requests;
ALTER TABLE requests_m006 RENAME TO requests;
"""

# 2026's usage fields: fast mode (``speed``), US-only inference (``inference_geo``),
# both priced as multipliers of the card, and the tokens of compaction steps inside
# a request (``usage.iterations``), billed on top of the top-level counts. Logs
# still on disk are read again so the history they hold gains these fields: the
# files' sizes and fingerprints are spoilt, so the next ingest replaces their rows
# (a file Claude Code has since deleted keeps the rows it gave).
M007_USAGE_2026 = """
ALTER TABLE requests ADD COLUMN speed VARCHAR;
ALTER TABLE requests ADD COLUMN inference_geo VARCHAR;
ALTER TABLE requests ADD COLUMN compaction_input_tokens BIGINT DEFAULT 0;
ALTER TABLE requests ADD COLUMN compaction_output_tokens BIGINT DEFAULT 0;
ALTER TABLE requests ADD COLUMN compaction_cache_write_5m_tokens BIGINT DEFAULT 0;
ALTER TABLE requests ADD COLUMN compaction_cache_write_1h_tokens BIGINT DEFAULT 0;
ALTER TABLE requests ADD COLUMN compaction_cache_read_tokens BIGINT DEFAULT 0;
UPDATE files SET size = -1, head_hash = '1:reread-2026-fields' WHERE source = 'claude-code';
"""



def m008_redact_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Hide the secrets in the ledger rows an older ccspend kept in the clear.

    Before 0.3.0 a run's command went into ``runs.command`` as typed (``--api-key
    sk-…``, ``TOKEN=…``), and notes and events were never redacted; ``ccspend sql``
    and ``runs`` read them back. The redaction is code, not SQL, so this migration is
    a function; a row is rewritten only where a secret was found, so a command keeps
    its quoting otherwise.
    """
    for run_id, command, note in con.execute("SELECT run_id, command, note FROM runs").fetchall():
        new_command = _redacted_command(command)
        new_note = redact_text(note) if note else note
        if new_command != command or new_note != note:
            con.execute("UPDATE runs SET command = ?, note = ? WHERE run_id = ?",
                        [new_command, new_note, run_id])
    for rowid, detail in con.execute(
        "SELECT rowid, detail FROM run_events WHERE detail IS NOT NULL"
    ).fetchall():
        new_detail = redact_text(detail)
        if new_detail != detail:
            con.execute("UPDATE run_events SET detail = ? WHERE rowid = ?", [new_detail, rowid])


def _redacted_command(command: str) -> str:
    try:
        argv = shlex.split(command)
    except ValueError:  # an unbalanced quote: redact it as text
        return redact_text(command)
    hidden = redact(argv)
    return hidden if hidden.count(HIDDEN) > command.count(HIDDEN) else command


# Imported rows without the PRIMARY KEY on row_key. Why: DuckDB keeps a primary
# key's index in memory, every key of it, and a transaction's inserts build a second
# index that is merged at commit. With the import's parse moved into DuckDB (the bulk
# CSV reader), that index is what is left: inserting 1.5 M generic-CSV rows took
# 6.2 s of CPU and 410 MB with it, 2.6 s and 235 MB without, and under a memory limit
# the commit needs 215 MB for the two indexes (a first try, cbe5941, was reverted when
# the Python parse still hid this). ``imported.py`` keeps a key unique itself, inside
# the import's one transaction (update what is there, insert what is new, by joins).
# Every row is kept.
M009_IMPORTED_USAGE_NO_INDEX = """
CREATE TABLE imported_usage_m009 (
    row_key                VARCHAR NOT NULL,      -- UsageRow.key; unique, kept so by imports
    source                 VARCHAR NOT NULL,
    provider               VARCHAR NOT NULL,
    kind                   VARCHAR NOT NULL,
    start_ts               TIMESTAMPTZ NOT NULL,
    end_ts                 TIMESTAMPTZ,
    model                  VARCHAR,
    workspace              VARCHAR,
    api_key                VARCHAR,
    project                VARCHAR,
    task                   VARCHAR,
    service_tier           VARCHAR,
    context_window         VARCHAR,
    line_item              VARCHAR,
    input_tokens           BIGINT NOT NULL,
    cache_write_5m_tokens  BIGINT NOT NULL,
    cache_write_1h_tokens  BIGINT NOT NULL,
    cache_read_tokens      BIGINT NOT NULL,
    output_tokens          BIGINT NOT NULL,
    web_search_requests    BIGINT NOT NULL,
    requests               BIGINT,
    cost_usd               DECIMAL(38,12),
    file                   VARCHAR,
    imported_at            TIMESTAMPTZ NOT NULL
);
INSERT INTO imported_usage_m009 BY NAME SELECT * FROM imported_usage;
DROP TABLE imported_usage;
ALTER TABLE imported_usage_m009 RENAME TO imported_usage;
"""


# Reports that cost what they show, not what is stored (issue #17). The
# deduplication is resolved where the data comes in: ``counted`` holds one row
# per counted request (the line kept of each response, and each line without a
# response key), kept current by every ingest for exactly the response keys the
# batch touched (``store.maintain``). Its price columns are filled from the rate
# card by the first report after (``card`` is the fingerprint of the prices that
# priced the row; NULL: not priced yet), and ``rollup`` sums it per 15-minute UTC
# bucket (every time zone's day starts on one), session, model, project, branch,
# source and pricing mode. ``rollup_dirty`` names the buckets whose counted rows
# changed since their rollup rows were made; ``card_state`` the price fingerprint
# each log model was last priced with; ``models_seen`` the log models stored (the
# card's model map needs them, and a scan of all requests for them would cost
# what the history costs). Built here from the rows already stored, unpriced: the
# first report prices them.
M010_COUNTED_ROLLUP = """
CREATE TABLE counted (
    ckey                  VARCHAR USING COMPRESSION uncompressed,  -- NULL: a line of its own
    file_id               BIGINT NOT NULL,
    line_offset           BIGINT NOT NULL,
    ts                    TIMESTAMPTZ NOT NULL,
    session_id            VARCHAR,
    model                 VARCHAR,
    cwd                   VARCHAR,
    git_branch            VARCHAR,
    source                VARCHAR NOT NULL,   -- 'local' or 'codex'
    input_tokens          BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    web_search_requests   BIGINT NOT NULL,
    speed                 VARCHAR,
    inference_geo         VARCHAR,
    compaction_input_tokens          BIGINT NOT NULL,
    compaction_output_tokens         BIGINT NOT NULL,
    compaction_cache_write_5m_tokens BIGINT NOT NULL,
    compaction_cache_write_1h_tokens BIGINT NOT NULL,
    compaction_cache_read_tokens     BIGINT NOT NULL,
    card                  VARCHAR,
    model_name            VARCHAR,
    priced                BOOLEAN,
    cost_micro            DECIMAL(38,6),
    savings_micro         DECIMAL(38,6),
    pricing_mode          VARCHAR,
    modifier_unknown      VARCHAR
);

CREATE TABLE rollup (
    bucket                TIMESTAMPTZ NOT NULL,
    session_id            VARCHAR,
    model                 VARCHAR,
    model_name            VARCHAR,
    cwd                   VARCHAR,
    git_branch            VARCHAR,
    source                VARCHAR NOT NULL,
    priced                BOOLEAN NOT NULL,
    pricing_mode          VARCHAR,
    modifier_unknown      VARCHAR,
    input_tokens          BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    web_search_requests   BIGINT NOT NULL,
    cost_micro            DECIMAL(38,6),
    savings_micro         DECIMAL(38,6),
    requests              BIGINT NOT NULL,
    first_ts              TIMESTAMPTZ NOT NULL,
    last_ts               TIMESTAMPTZ NOT NULL
);

CREATE TABLE rollup_dirty (bucket TIMESTAMPTZ NOT NULL);
CREATE TABLE card_state (model VARCHAR NOT NULL, fp VARCHAR NOT NULL);
CREATE TABLE models_seen (model VARCHAR);

INSERT INTO models_seen SELECT DISTINCT model FROM requests;
INSERT INTO counted BY NAME
WITH cand AS (
    SELECT r.rowid AS row_id, r.dedup_key, r.output_tokens, r.is_sidechain, r.line_offset,
           r.file_id, f.first_ts AS f_first, f.last_ts AS f_last, f.path AS f_path
    FROM requests r JOIN files f USING (file_id)
    WHERE NOT r.is_api_error AND coalesce(r.model, '') <> '<synthetic>'
      AND r.dedup_key IS NOT NULL
),
ranked AS (
    SELECT file_id, row_number() OVER (ORDER BY f_first NULLS LAST, f_last NULLS LAST, f_path)
           AS f_rank
    FROM (SELECT DISTINCT file_id, f_first, f_last, f_path FROM cand)
),
kept AS (
    SELECT arg_min(row_id, (-output_tokens, is_sidechain, f_rank, line_offset)) AS row_id
    FROM cand JOIN ranked USING (file_id) GROUP BY dedup_key
)
SELECT r.dedup_key AS ckey, CASE WHEN f.source = 'codex' THEN 'codex' ELSE 'local' END AS
       source,
       r.file_id, r.line_offset, r.ts, r.session_id, r.model, r.cwd, r.git_branch,
       r.input_tokens, r.output_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens,
       r.cache_read_tokens, r.web_search_requests, r.speed, r.inference_geo,
       r.compaction_input_tokens, r.compaction_output_tokens,
       r.compaction_cache_write_5m_tokens, r.compaction_cache_write_1h_tokens,
       r.compaction_cache_read_tokens
FROM requests r JOIN files f USING (file_id)
WHERE r.rowid IN (SELECT row_id FROM kept)
;
INSERT INTO counted BY NAME
SELECT NULL::VARCHAR AS ckey, CASE WHEN f.source = 'codex' THEN 'codex' ELSE 'local' END AS
       source, r.file_id, r.line_offset, r.ts, r.session_id, r.model, r.cwd, r.git_branch,
       r.input_tokens, r.output_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens,
       r.cache_read_tokens, r.web_search_requests, r.speed, r.inference_geo,
       r.compaction_input_tokens, r.compaction_output_tokens,
       r.compaction_cache_write_5m_tokens, r.compaction_cache_write_1h_tokens,
       r.compaction_cache_read_tokens
FROM requests r JOIN files f USING (file_id)
WHERE NOT r.is_api_error AND coalesce(r.model, '') <> '<synthetic>'
  AND r.dedup_key IS NULL
;
INSERT INTO rollup_dirty
SELECT DISTINCT make_timestamp(epoch_us(ts) // 900000000 * 900000000)::TIMESTAMPTZ FROM counted;
"""

# A cost an agent's log states (OpenCode, pi, Hermes, OpenClaw...) is what the call was
# billed: the counted row keeps it, and the pricing uses it instead of the card's
# (``queries.PRICED``, pricing mode 'as billed'). No stored row has one yet.
M011_COUNTED_STATED_COST = """
ALTER TABLE counted ADD COLUMN logged_cost_usd DOUBLE;
"""

Migration = str | Callable[["duckdb.DuckDBPyConnection"], None]

# One row per session of the rollup, kept by ``maintain.refresh`` for the sessions
# whose buckets it sums again (``session_dirty``): the unfiltered ``session``
# report reads a row per session instead of grouping every rollup row of the
# history (issue #17: its time grew with the sessions kept). Existing sessions
# are marked for the next refresh to sum.
M012_SESSION_TOTALS = """
CREATE TABLE session_totals (
    k                     VARCHAR NOT NULL,   -- the session id, '(unknown)' for none
    input_tokens          BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    web_search_requests   BIGINT NOT NULL,
    cost_micro            DECIMAL(38,6) NOT NULL,
    savings_micro         DECIMAL(38,6) NOT NULL,
    requests              BIGINT NOT NULL,
    models                VARCHAR[] NOT NULL,
    first_ts              TIMESTAMPTZ,
    last_ts               TIMESTAMPTZ,
    branches              VARCHAR[] NOT NULL,
    project               VARCHAR
);
CREATE TABLE session_dirty (k VARCHAR NOT NULL);
INSERT INTO session_dirty SELECT DISTINCT coalesce(session_id, '(unknown)') FROM rollup;
"""

# Goose, Hermes (and Droid) log a session's totals only: one record per session, dated
# at its last update (``rid = "session-total"``, so its counted key ends with
# ``|session-total``). The reports label the rows such records fall in
# (``granularity: "session-total"``) instead of passing them for that day's calls, so
# the rollup keeps them apart (``session_total``: one more grouping column), and a
# session's row says it too, with the agent it belongs to (``source``). The buckets
# holding such records are summed again, and every session once, by the next refresh.
M016_SESSION_TOTAL_RECORDS = """
ALTER TABLE rollup ADD COLUMN IF NOT EXISTS session_total BOOLEAN DEFAULT false;
ALTER TABLE session_totals ADD COLUMN IF NOT EXISTS session_total BOOLEAN DEFAULT false;
ALTER TABLE session_totals ADD COLUMN IF NOT EXISTS source VARCHAR;
INSERT INTO rollup_dirty
SELECT DISTINCT make_timestamp(epoch_us(ts) // 900000000 * 900000000)::TIMESTAMPTZ
FROM counted WHERE ends_with(ckey, '|session-total');
INSERT INTO session_dirty SELECT DISTINCT coalesce(session_id, '(unknown)') FROM rollup;
"""

# The rate card's tables, kept in the store (``queries.load_card``): a report after a
# new line used to make them as temporary tables (eight statements) and read them back
# for the models' price fingerprints (five more), some 25 ms per run for a card that
# changes a few times a year. ``card_tables`` says what they hold (a digest of their
# rows) and the fingerprints read from them. A connection that cannot write, or prices
# by another card or day (``whatif --card``), shadows them with temporary tables.
M015_CARD_TABLES = """
CREATE TABLE model_map (raw VARCHAR, name VARCHAR, valid_from TIMESTAMPTZ,
                        valid_to TIMESTAMPTZ);
CREATE TABLE card_prices (name VARCHAR, valid_from TIMESTAMPTZ, valid_to TIMESTAMPTZ,
    i DECIMAL(18,6), o DECIMAL(18,6), w5 DECIMAL(18,6), w1 DECIMAL(18,6), r DECIMAL(18,6),
    lc_threshold BIGINT, li DECIMAL(18,6), lo DECIMAL(18,6), lw5 DECIMAL(18,6),
    lw1 DECIMAL(18,6), lr DECIMAL(18,6), ws DECIMAL(18,6));
CREATE TABLE card_modifiers (name VARCHAR, field VARCHAR, value VARCHAR,
    valid_from TIMESTAMPTZ, valid_to TIMESTAMPTZ, factor DECIMAL(18,6));
CREATE TABLE card_meta (card_at DATE);
INSERT INTO card_meta VALUES (NULL);
CREATE TABLE card_tables (digest VARCHAR, fingerprints VARCHAR);
"""

MIGRATIONS: list[tuple[str, Migration]] = [
    ("m001_initial", M001_INITIAL),
    ("m002_rate_limit_readings", M002_RATE_LIMIT_READINGS),
    ("m003_runs", M003_RUNS),
    ("m004_run_control", M004_RUN_CONTROL),
    ("m005_imported_usage", M005_IMPORTED_USAGE),
    ("m006_requests_key_computed", M006_REQUESTS_KEY_COMPUTED),
    ("m007_usage_2026", M007_USAGE_2026),
    ("m008_redact_ledger", m008_redact_ledger),
    ("m009_imported_usage_no_index", M009_IMPORTED_USAGE_NO_INDEX),
    ("m010_counted_rollup", M010_COUNTED_ROLLUP),
    ("m011_counted_stated_cost", M011_COUNTED_STATED_COST),
    ("m012_session_totals", M012_SESSION_TOTALS),
    ("m015_card_tables", M015_CARD_TABLES),
    ("m016_session_total_records", M016_SESSION_TOTAL_RECORDS),
]
