"""A corpus that stresses the tables' layout, made the same way every time.

The demo logs are small: their numbers are five or six digits and a dollar or
two, their paths short. A real history is not: a year of work has 9- and
10-digit token counts, costs over $10,000, sessions that used five models,
projects deep in a tree and branches named after a whole ticket. The width
tests (``tests/test_table_widths.py``) and their golden files run on this.

    write_corpus(projects_dir)

writes one Claude Code transcript per session under ``projects_dir``. Every
value comes from a seeded generator: the same bytes on every run.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.logs import assistant, write

MODELS = [
    "claude-opus-4-7",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
    "claude-opus-4-1-20250805",
    "claude-sonnet-4-20250514",
    "claude-opus-4-5-20251101",
]
PROJECTS = [
    "/home/alexandra.konstantinopoulou/work/clients/megacorp-international/platform"
    "/services/billing-reconciliation-engine",
    "/home/alexandra.konstantinopoulou/src/ccspend",
    "/srv/build/agents/monorepo/packages/frontend/apps/customer-portal/src/components/tables",
    "/home/dev/プロジェクト/データ分析パイプライン",
    "/tmp/x",
]
BRANCHES = [
    "main",
    "feature/JIRA-48213-implement-the-new-billing-reconciliation-pipeline-with-retries",
    "fix/flaky-test-in-the-table-layout",
    "release/2026.11",
    "dependabot/npm_and_yarn/packages/frontend/apps/customer-portal/webpack-5.101.3",
]
DAYS = ["2026-10-27", "2026-10-30", "2026-10-31", "2026-11-02", "2026-11-09", "2026-11-15",
        "2026-11-19", "2026-11-20"]  # fmt: skip


def _session_id(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def write_corpus(projects: Path, seed: int = 16) -> None:
    """Write the corpus's transcripts under ``projects`` (a Claude config's ``projects``)."""
    rng = random.Random(seed)
    n = 0
    for s in range(14):
        sid = _session_id(rng)
        cwd = PROJECTS[s % len(PROJECTS)]
        branch = BRANCHES[(s * 3) % len(BRANCHES)]
        day = DAYS[s % len(DAYS)]
        models = MODELS[: 1 + s % len(MODELS)]
        lines = []
        for i in range(8):
            n += 1
            model = models[i % len(models)]
            big = s % 3 == 0  # some sessions are enormous
            lines.append(assistant(
                ts=f"{day}T{9 + i:02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.000Z",
                session=sid, msg=f"msg_{n:06d}", req=f"req_{n:06d}", model=model,
                inp=rng.randrange(1_000, 40_000_000), out=rng.randrange(10_000, 90_000_000)
                * (4 if big else 1), cache_write=rng.randrange(1_000_000, 200_000_000),
                cache_read=rng.randrange(100_000_000, 990_000_000), cwd=cwd, branch=branch,
            ))  # fmt: skip
        folder = projects / cwd.replace("/", "-").replace(".", "-")
        write(folder / f"{sid}.jsonl", lines)
