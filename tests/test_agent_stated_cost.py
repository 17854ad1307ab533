"""A cost an agent's log states is billed as is (pricing mode 'as billed'), on the rollup's
path and on ``PRICED``'s alike; a Claude Code line's old costUSD is not."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ccspend.ingest.agent_files import ingest_agent_files
from ccspend.reports.build import ReportRequest, build_report
from ccspend.sources import agents
from ccspend.sources.agents.record import record
from ccspend.sources.logfiles import LogFile
from ccspend.store import queries
from ccspend.store.queries import Filters

TS = 1_788_256_949_771_000  # 2026-09-01


class Reader:
    """A file agent whose one log holds three calls: two with a stated cost."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def discover(self, roots):
        st = self.path.stat()
        yield LogFile(str(self.path), st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)

    def read(self, path, file_id):
        rows = [
            record(ts=TS, sid="s", mid="s:1", model="gemini-2.5-flash", inp=1000, out=100,
                   entrypoint="x", cost=0.5),
            record(ts=TS + 1, sid="s", mid="s:2", model="no-such-model", inp=10, out=10,
                   entrypoint="x", cost=0.25),
            record(ts=TS + 2, sid="s", mid="s:3", model="gemini-2.5-flash", inp=1_000_000,
                   out=0, entrypoint="x"),
        ]
        for i, r in enumerate(rows):
            r["f"], r["o"] = file_id, i
        return rows, 0


def test_a_stated_cost_is_billed_as_is(sandbox, store, card, tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("a\nb\nc\n")
    agent = agents.Agent("fakeagent", "Fake", "x", "files", "test")
    ingest_agent_files(store, agent, Reader(log), [tmp_path])
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
