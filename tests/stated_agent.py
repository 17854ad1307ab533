"""A file agent whose one log holds calls that state a cost (or not): the stated-cost
tests' reader (``test_agent_stated_cost``, ``test_agent_reports``' reconcile)."""

from __future__ import annotations

from pathlib import Path

from ccspend.sources import agents
from ccspend.sources.agents.record import record
from ccspend.sources.logfiles import LogFile

TS = 1_788_256_949_771_000  # 2026-09-01
AGENT = agents.Agent("fakeagent", "Fake", "x", "files", "test")


class StatedReader:
    """``calls``: (model, input tokens, output tokens, stated cost or None), a second apart
    from ``TS``, one message each of session ``s``."""

    def __init__(self, path: Path, calls: list[tuple[str, int, int, float | None]]) -> None:
        self.path = path
        self.calls = calls

    def discover(self, roots):
        st = self.path.stat()
        yield LogFile(str(self.path), st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)

    def read(self, path, file_id):
        rows = []
        for i, (model, inp, out, cost) in enumerate(self.calls):
            r = record(ts=TS + i, sid="s", mid=f"s:{i + 1}", model=model, inp=inp, out=out,
                       entrypoint="x", cost=cost)  # fmt: skip
            r["f"], r["o"] = file_id, i
            rows.append(r)
        return rows, 0
