"""The line kept of a response is the one the documented order ranks first.

``queries.PRICED`` picks it with an ``arg_min`` over a per-file rank; this
checks it against the rule written as a plain window (``row_number`` over
output_tokens DESC, is_sidechain, first_ts, last_ts, path, line_offset) on
random stores full of ties and NULLs.
"""

from __future__ import annotations

import random

import pytest

from ccspend.store import queries

REFERENCE = """
SELECT session_id FROM (
    SELECT r.*, f.first_ts AS f_first, f.last_ts AS f_last, f.path AS f_path
    FROM requests r JOIN files f USING (file_id)
    WHERE NOT r.is_api_error AND coalesce(r.model, '') <> '<synthetic>'
)
QUALIFY dedup_key IS NULL OR row_number() OVER (
    PARTITION BY dedup_key
    ORDER BY output_tokens DESC, is_sidechain, f_first NULLS LAST, f_last NULLS LAST,
             f_path, line_offset) = 1
"""

STAMPS = [None, "2026-09-01 10:00:00+00", "2026-09-01 10:00:00+00", "2026-09-02 08:00:00+00"]


def _fill(con, rng: random.Random) -> None:
    files = []
    for file_id in range(1, rng.randint(2, 12)):
        files.append((file_id, f"/logs/{rng.choice('abc')}{file_id:03d}.jsonl",
                      rng.choice(STAMPS), rng.choice(STAMPS)))  # fmt: skip
    _insert_all(
        con,
        "INSERT INTO files (file_id, path, source, read_offset, first_ts, last_ts) VALUES ",
        "(?, ?, 'claude-code', 0, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ)",
        files,
    )
    rows = []
    for file_id, *_ in files:
        offsets = rng.sample(range(10_000), rng.randint(1, 40))
        for off in offsets:
            k = rng.choice([None, *range(12)])  # the response; None: no message id
            mid, rid = (None, None) if k is None else (f"m{k}", f"r{k}")
            rows.append((file_id, off, f"{file_id}:{off}", mid, rid, rng.choice([0, 1, 2, 2]),
                         rng.random() < 0.3, rng.random() < 0.05))  # fmt: skip
    _insert_all(
        con,
        "INSERT INTO requests (file_id, line_offset, ts, session_id, message_id, request_id, model, "
        "input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
        "cache_read_tokens, web_search_requests, is_sidechain, is_api_error) VALUES ",
        "(?, ?, '2026-09-01 10:00:00+00', ?, ?, ?, 'claude-sonnet-4-5', 1, ?, 0, 0, 0, 0, ?, ?)",
        rows,
    )


def _insert_all(con, head: str, values: str, rows: list[tuple]) -> None:
    """``executemany(head + values, rows)`` as one statement (DuckDB runs executemany
    row by row, a third of a second for a few hundred rows)."""
    if rows:
        con.execute(head + ", ".join([values] * len(rows)), [v for row in rows for v in row])


@pytest.mark.parametrize("seed", range(12))
def test_the_kept_line_is_the_documented_first(store, card, seed):
    with store.connect(write=True) as con:
        _fill(con, random.Random(seed))
        queries.load_card(con, card)
        got = sorted(r[0] for r in con.execute(
            f"SELECT session_id FROM ({queries.PRICED.format(window='')})").fetchall())
        want = sorted(r[0] for r in con.execute(REFERENCE).fetchall())
    assert got == want and len(got) > 0


def _records(rng: random.Random, file_id: int) -> list[dict]:
    """Random usage records of one file, as the scanner makes them."""
    out = []
    for off in sorted(rng.sample(range(10_000), rng.randint(1, 40))):
        k = rng.randrange(8)
        out.append({
            "ts": 1_788_000_000_000_000 + off, "sid": f"{file_id}:{off}",
            "mid": rng.choice([None, f"m{k}", f"m{k}|x"]), "rid": rng.choice([None, "", f"r{k}"]),
            "model": rng.choice(["claude-sonnet-4-5", "claude-sonnet-4-5", "<synthetic>", None]),
            "in": 1, "out": rng.choice([0, 1, 2, 2]), "c5": 0, "c1": 0, "cr": 0, "ws": 0,
            "cwd": None, "br": None, "ver": None, "ent": None, "sc": rng.random() < 0.3,
            "aid": None, "err": rng.random() < 0.1, "cu": None, "f": file_id, "o": off,
        })  # fmt: skip
    return out


def _kept(folder, card, files: dict[int, list]) -> list[str]:
    """The session ids (one per line) a new store counts, with ``files`` (the scanner's
    ``Line`` objects) as its only rows."""
    import msgspec

    from ccspend.store import FileUpdate, Store

    folder.mkdir()
    store = Store(folder / "ccspend.duckdb")
    path = folder / "records.ndjson"
    path.write_bytes(b"".join(msgspec.json.encode(r) + b"\n" for recs in files.values()
                              for r in recs))  # fmt: skip
    updates = [FileUpdate(path=f"/logs/{i}.jsonl", source="claude-code", dev=1, ino=i, size=1,
                          mtime_ns=1, start=0, end=1, head_hash=None, skipped=0, agent_id=None,
                          agent_type=None, replace=False, expected=None, tmp_id=i,
                          first_ts_us=1_788_000_000_000_000 + i, last_ts_us=None)
               for i in files]  # fmt: skip
    with store.connect(write=True) as con:
        store.write_ingest(con, updates, [str(path)], "claude-lines")
        queries.load_card(con, card)
        return sorted(r[0] for r in con.execute(
            f"SELECT session_id FROM ({queries.PRICED.format(window='')})").fetchall())


def test_leaving_out_lines_within_a_file_piece_keeps_the_same_lines_counted(tmp_path, card):
    """``best_per_response``, applied to each piece of each file the ingest reads, never
    changes which line the store counts for a response, nor the lines without a key."""
    from ccspend.sources.claude_code import best_per_response, line_of

    before = after = 0
    for seed in range(10):
        rng = random.Random(seed)
        files = {i: [line_of(r) for r in _records(rng, i)] for i in range(1, rng.randint(2, 6))}
        pruned = {}
        for i, recs in files.items():
            cut = rng.randint(0, len(recs))  # the ingest reads a file in pieces
            pruned[i] = best_per_response(recs[:cut]) + best_per_response(recs[cut:])
        got = _kept(tmp_path / f"pruned{seed}", card, pruned)
        assert got == _kept(tmp_path / f"all{seed}", card, files), seed
        before += sum(map(len, files.values()))
        after += sum(map(len, pruned.values()))
    assert after < before  # lines were left out
