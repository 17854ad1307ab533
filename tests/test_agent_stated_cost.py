"""A cost an agent's log states is billed as is (pricing mode 'as billed'), on the rollup's
path and on ``PRICED``'s alike; a Claude Code line's old costUSD is not."""

from __future__ import annotations

from decimal import Decimal

from ccspend.ingest.agent_files import ingest_agent_files
from ccspend.reports.build import ReportRequest, build_report
from ccspend.store import queries
from ccspend.store.queries import Filters
from tests.stated_agent import AGENT, StatedReader

# two calls with a stated cost (one of a model the card does not know), one without
CALLS = [("gemini-2.5-flash", 1000, 100, 0.5), ("no-such-model", 10, 10, 0.25),
         ("gemini-2.5-flash", 1_000_000, 0, None)]  # fmt: skip


def test_a_stated_cost_is_billed_as_is(sandbox, store, card, tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("a\nb\nc\n")
    ingest_agent_files(store, AGENT, StatedReader(log, CALLS), [tmp_path])
    store.refresh(card)  # as a report does after its ingest: the counted rows priced
    report = build_report(store, card, ReportRequest("model", Filters(source="fakeagent")))
    data = report.to_json()
    # 0.5 + 0.25 as stated, and 1M input at gemini-2.5-flash's card price ($0.30)
    assert Decimal(str(data["totals"]["cost_usd"])) == Decimal("1.05")
    assert data["unpriced"] == []  # billed: a cost is known though the card lacks the model
    with store.connect() as con:
        queries.load_card(con, card)
        rows = con.execute(
            f"SELECT request_key, cost_micro, pricing_mode FROM "
            f"({queries.PRICED.format(window='')}) ORDER BY request_key").fetchall()
        counted = con.execute("SELECT ckey, cost_micro, pricing_mode FROM counted "
                              "ORDER BY ckey").fetchall()
    assert rows == counted  # the rollup's rows priced as PRICED prices them
    assert [(k, float(c), m) for k, c, m in rows] == [
        ("s:1|", 500000.0, "as billed"), ("s:2|", 250000.0, "as billed"),
        ("s:3|", 300000.0, None)]
