"""2026's logs priced exactly: fast mode, US-only inference, compaction, dated models.

The corpus (bench/gen_corpus_2026.py) carries every 2026 field and the old traps
(streamed lines, resumed sessions' copies, subagents); its truth comes from a
price table typed independently of the card. Every report, the 5-hour blocks, the
price index of the fast paths and the status line's per-session cost must match
it to 1e-6 USD; and the test of each multiplier fails when the card loses it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from ccspend.ingest.claude import ingest_claude
from ccspend.pricing import load_card
from ccspend.reports.build import REPORTS, ReportRequest, build_blocks, build_report
from ccspend.store import Store
from ccspend.store.queries import Filters
from tests.bench_modules import load

gen = load("gen_corpus_2026")
check = load("check_exact")

SHIPPED = resources.files("ccspend.pricing").joinpath("data/rates.toml").read_text("utf-8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """One corpus and its database for the module: (corpus dir, truth, store)."""
    root = tmp_path_factory.mktemp("c2026")
    traps = gen.generate(root / "corpus", sessions=150, seed=7)
    # every rule is exercised
    for trap in ("fast", "fast_without_fast_mode", "us_only", "us_on_older_model",
                 "compaction", "unknown_speed", "unknown_geo", "resumed", "subagent",
                 "streamed"):  # fmt: skip
        assert traps.get(trap, 0) >= 5, (trap, traps)
    truth = check.Truth(root / "corpus" / "truth.json")
    store = Store(root / "db.duckdb")
    ingest_claude(store, [root / "corpus" / "projects"])
    return root / "corpus", truth, store


def test_every_report_is_exact(corpus):
    _dir, truth, store = corpus
    card = load_card(None, shipped_text=SHIPPED)
    for tz in ("UTC", "America/Los_Angeles", "Asia/Kolkata"):
        for name in REPORTS:
            got = build_report(store, card, ReportRequest(name, Filters(tz=tz))).to_json()
            problems = check.compare(check.expected(truth, name, tz), got, name, tz)
            assert problems == [], f"{name} {tz}: {problems[:5]}"


def expected_blocks(truth) -> dict[str, Decimal]:
    """5-hour blocks (docs/reports.md): a block starts at the UTC hour of its first
    request; a request 5 hours or more after its block's start, or after the previous
    request, starts the next."""
    reqs = sorted((datetime.fromisoformat(r[0].replace("Z", "+00:00")), Decimal(r[-1]))
                  for r in truth.requests)  # fmt: skip
    blocks: dict[str, Decimal] = {}
    start = last = None
    for ts, cost in reqs:
        if start is None or (ts - start).total_seconds() >= 5 * 3600 or (
                ts - last).total_seconds() >= 5 * 3600:  # fmt: skip
            start = ts.replace(minute=0, second=0, microsecond=0)
            key = start.strftime("%Y-%m-%dT%H:%M:%SZ")
            blocks[key] = Decimal(0)
        blocks[key] += cost
        last = ts
    return blocks


def test_blocks_are_exact(corpus):
    _dir, truth, store = corpus
    card = load_card(None, shipped_text=SHIPPED)
    now = int(datetime(2026, 12, 6, tzinfo=UTC).timestamp() * 1e6)
    got = build_blocks(store, card, Filters(tz="UTC"), now).to_json()
    want = expected_blocks(truth)
    have = {b["key"]: Decimal(str(b["cost_usd"])) for b in got["rows"]}
    assert set(have) == set(want)
    for key, cost in want.items():
        assert abs(have[key] - cost) <= Decimal("1e-6"), key


def _responses(corpus_dir: Path) -> dict[str, list]:
    """Every response of the corpus once (its line of most output), as the live paths'
    rows, read with the status line's parser."""
    from ccspend.live.sessions import response_key, response_row
    from ccspend.sources.claude_record import extract

    rows: dict[str, list] = {}
    for path in sorted(corpus_dir.rglob("*.jsonl")):
        for n, line in enumerate(path.read_text().splitlines()):
            rec = extract(json.loads(line))
            if not rec:
                continue
            rec["o"] = n
            key = response_key(rec, path)
            row = response_row(rec)
            if key not in rows or row[3] > rows[key][3]:
                rows[key] = row
    return rows


def test_the_price_index_prices_each_response_as_the_truth(corpus):
    """The status line, cap hook and ``run`` price through the index: on each response's
    own day, with its multipliers and compaction steps."""
    from ccspend.pricing.index import price_index, price_responses

    corpus_dir, truth, _store = corpus
    card = load_card(None, shipped_text=SHIPPED)
    prices = json.loads(json.dumps(price_index(card, date(2026, 12, 6))))
    total, unknown = price_responses(_responses(corpus_dir), prices)
    assert unknown == []
    assert total == pytest.approx(float(truth.head["totals"]["cost_usd"]), rel=1e-9)


def test_the_status_line_cost_of_every_session_is_the_truth(corpus, tmp_path):
    """``live.sessions.session_cost`` (the status line's and the cap hook's) per session."""
    from ccspend.live.sessions import session_cost
    from ccspend.pricing.index import price_index

    corpus_dir, truth, _store = corpus
    card = load_card(None, shipped_text=SHIPPED)
    prices = json.loads(json.dumps(price_index(card, date(2026, 12, 6))))
    want: dict[str, Decimal] = defaultdict(Decimal)
    for r in truth.requests:
        want[r[1]] += Decimal(r[-1])
    checked = 0
    for transcript in sorted((corpus_dir / "projects").glob("*/*.jsonl")):
        sid = transcript.stem
        got = session_cost(str(transcript), sid, tmp_path, prices, "test")
        assert got == pytest.approx(float(want.get(sid, 0)), abs=1e-6), sid
        checked += 1
    assert checked == 150


def _without(text: str, model: str, field: str) -> str:
    """The card with ``model``'s ``[[model.modifier]]`` tables of ``field`` left out."""
    out, model_now, block, keep = [], None, [], True
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("[[model]]") or stripped.startswith("[[model.price]]") or (
                stripped.startswith("[[model.modifier]]")):  # fmt: skip
            if block and keep:
                out += block
            block, keep = [line], True
            continue
        if stripped.startswith("name = ") and block and block[0].strip() == "[[model]]":
            model_now = json.loads(stripped.split("=", 1)[1])
        if (stripped == f'field = "{field}"' and block[0].strip() == "[[model.modifier]]"
                and model_now == model):  # fmt: skip
            keep = False
        block.append(line)
    if block and keep:
        out += block
    return "".join(out)


@pytest.mark.parametrize("model,field", [
    ("claude-opus-4-6", "speed"), ("claude-opus-4-7", "speed"), ("claude-opus-4-8", "speed"),
    ("claude-opus-5", "speed"), ("claude-opus-4-6", "inference_geo"),
    ("claude-sonnet-4-6", "inference_geo"), ("claude-sonnet-5-5", "inference_geo"),
    ("claude-haiku-5-5", "inference_geo"),
])  # fmt: skip
def test_a_card_without_a_multiplier_is_caught(corpus, model, field):
    """The exactness test fails, on that model's rows, when the card loses a multiplier."""
    _dir, truth, store = corpus
    text = _without(SHIPPED, model, field)
    assert text != SHIPPED and text.count("[[model.modifier]]") < SHIPPED.count(
        "[[model.modifier]]")  # fmt: skip
    card = load_card(None, shipped_text=text)
    assert all(m.field != field for m in card.models[model].modifiers)
    got = build_report(store, card, ReportRequest("model", Filters(tz="UTC"))).to_json()
    problems = check.compare(check.expected(truth, "model", "UTC"), got, "model", "UTC")
    assert problems, f"removing {model}'s {field} multiplier went unnoticed"
    assert any(model in p for p in problems), problems[:3]


def test_unknown_values_are_priced_standard_and_named(corpus):
    _dir, _truth, store = corpus
    card = load_card(None, shipped_text=SHIPPED)
    got = build_report(store, card, ReportRequest("daily", Filters(tz="UTC"))).to_json()
    (warning,) = [w for w in got["warnings"] if "standard rate" in w]
    assert "speed turbo" in warning or "inference_geo eu" in warning


def test_breakdown_shows_fast_and_us_only_apart(corpus):
    _dir, _truth, store = corpus
    card = load_card(None, shipped_text=SHIPPED)
    got = build_report(store, card, ReportRequest("monthly", Filters(tz="UTC"),
                                                  breakdown=True)).to_json()  # fmt: skip
    labels = {b["model"] for row in got["rows"] for b in row["breakdown"]}
    assert {"claude-opus-4-6 (fast)", "claude-opus-4-6 (fast, US-only)",
            "claude-opus-4-6 (US-only)", "claude-opus-4-6"} <= labels  # fmt: skip
    # a fast line of a model without fast mode is no fast request
    assert not any(label.startswith("claude-sonnet-4-5 (fast") for label in labels)
    for row in got["rows"]:  # the parts add up to the row
        assert sum(b["cost_usd"] for b in row["breakdown"]) == pytest.approx(row["cost_usd"])


def test_priced_requests_has_the_new_columns(corpus):
    from ccspend.store.views import setup_steps

    _dir, truth, store = corpus
    card = load_card(None, shipped_text=SHIPPED)
    with store.connect() as con:
        for step in setup_steps(card, []):
            step(con)
        rows = con.execute(
            "SELECT speed, inference_geo, count(*), sum(compaction_tokens) FROM priced_requests "
            "GROUP BY ALL ORDER BY ALL").fetchall()  # fmt: skip
        total = con.execute("SELECT sum(cost_usd) FROM priced_requests").fetchone()[0]
    speeds = {r[0] for r in rows}
    assert {"fast", "standard", "turbo"} <= speeds
    assert {"us", "global", "eu", None} <= {r[1] for r in rows}
    assert sum(r[3] for r in rows) > 0
    assert abs(total - Decimal(truth.head["totals"]["cost_usd"])) <= Decimal("1e-6")


# -- named cases of each rule -------------------------------------------------------------


def _line(**usage_extra) -> dict:
    usage = {"input_tokens": 1_000, "output_tokens": 2_000, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 10_000, "speed": "standard", "inference_geo": "",
             "iterations": []}  # fmt: skip
    usage.update(usage_extra)
    return {"type": "assistant", "timestamp": "2026-03-10T10:00:00.000Z", "sessionId": "s",
            "requestId": "r", "message": {"id": "m", "model": "claude-opus-4-6",
                                          "usage": usage}}  # fmt: skip


@pytest.mark.parametrize("usage,want", [
    # standard: 1000 x 5 + 2000 x 25 + 10000 x 0.5 per million
    ({}, Decimal("0.06")),
    # fast mode on Opus 4.6: six times every token rate, cache reads too
    ({"speed": "fast"}, Decimal("0.36")),
    # US-only: 1.1x; with fast: 6 x 1.1 (multiplied, never added)
    ({"inference_geo": "us"}, Decimal("0.066")),
    ({"speed": "fast", "inference_geo": "us"}, Decimal("0.396")),
    # web search fees are not multiplied: $0.01 a search
    ({"speed": "fast", "server_tool_use": {"web_search_requests": 2}}, Decimal("0.38")),
    # thinking tokens are inside output_tokens
    ({"output_tokens_details": {"thinking_tokens": 1_500}}, Decimal("0.06")),
    # a compaction step is billed on top (the message step is the top level already)
    ({"iterations": [
        {"type": "compaction", "input_tokens": 180_000, "output_tokens": 3_500,
         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        {"type": "message", "input_tokens": 1_000, "output_tokens": 2_000,
         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 10_000}]},
     Decimal("0.06") + Decimal("0.9875")),
    # unknown values: the standard rate
    ({"speed": "ludicrous", "inference_geo": "mars"}, Decimal("0.06")),
])  # fmt: skip
def test_each_rule_on_one_request(tmp_path, usage, want):
    projects = tmp_path / "projects" / "-w"
    projects.mkdir(parents=True)
    (projects / "s.jsonl").write_text(json.dumps(_line(**usage)) + "\n")
    store = Store(tmp_path / "db.duckdb")
    ingest_claude(store, [tmp_path / "projects"])
    card = load_card(None, shipped_text=SHIPPED)
    got = build_report(store, card, ReportRequest("daily", Filters(tz="UTC"))).to_json()
    assert Decimal(str(got["totals"]["cost_usd"])) == want
    # the status line's parser and the index price it the same
    from ccspend.live.sessions import response_row
    from ccspend.pricing.index import price_index, price_response
    from ccspend.sources.claude_record import extract

    prices = price_index(card, date(2026, 12, 6))
    assert price_response(response_row(extract(_line(**usage))), prices) == pytest.approx(
        float(want), rel=1e-12)


def test_fast_mode_outside_its_days_is_standard(tmp_path):
    """Opus 4.6's fast mode ended 2026-06-29 (billed standard after); Opus 4.8's is 2x."""
    card = load_card(None, shipped_text=SHIPPED)
    m = card.models["claude-opus-4-6"]
    assert m.factor("speed", "fast", date(2026, 6, 28)) == 6
    assert m.factor("speed", "fast", date(2026, 6, 29)) == 1
    assert card.models["claude-opus-4-8"].factor("speed", "fast", date(2026, 11, 29)) == 2
    assert card.models["claude-opus-5"].factor("speed", "fast", date(2026, 12, 1)) == 2
    assert card.models["claude-sonnet-4-6"].factor("speed", "fast", date(2026, 3, 1)) is None
    assert card.models["claude-haiku-4-5"].factor("inference_geo", "us", date(2026, 3, 1)) is None
    assert card.models["claude-opus-4-6"].factor("inference_geo", "global", date(2026, 3, 1)) == 1


def test_every_model_has_a_published_date():
    """No model sits at an invented date; a model whose date is unknown says so and is
    never priced before the earliest day it could have existed."""
    card = load_card(None, shipped_text=SHIPPED)
    for m in card.models.values():
        assert m.available_from != date(2025, 1, 1), m.name
        if not m.date_known:
            assert not m.backdate and "release date not published" in (m.prices[0].note or "")
    rows = {m.name for m, _p in card.in_force(date(2025, 6, 1))}
    assert "claude-opus-4-5" not in rows and "claude-haiku-5-5" not in rows
    assert "claude-sonnet-4" in rows


def test_aliases_name_the_model_of_the_day():
    from ccspend.pricing.index import card_model, lookup, price_index

    card = load_card(None, shipped_text=SHIPPED)
    assert card_model(card, "haiku", date(2026, 3, 1)) == "claude-haiku-4-5"
    assert card_model(card, "haiku", date(2026, 10, 7)) == "claude-haiku-5-5"
    assert card_model(card, "opus[1m]", date(2026, 8, 1)) == "claude-opus-5"
    assert card_model(card, "sonnet", date(2026, 7, 1)) == "claude-sonnet-5"
    prices = price_index(card, date(2026, 12, 6))
    assert lookup(prices, "haiku", "2026-03-01")["name"] == "claude-haiku-4-5"
    assert lookup(prices, "haiku")["name"] == "claude-haiku-5-5"


def test_sonnet_5_5_cache_reads_were_cut_on_2026_10_07():
    card = load_card(None, shipped_text=SHIPPED)
    m = card.models["claude-sonnet-5-5"]
    assert m.price_at(date(2026, 10, 6)).base.cache_read == Decimal("0.2")
    assert m.price_at(date(2026, 10, 7)).base.cache_read == Decimal("0.1")
