"""Write the sample logs shipped for ``ccspend daily --demo``.

Deterministic (fixed seed), small (tens of KB), and shaped like real Claude
Code logs: several projects and branches, a streamed response written as
several lines, a subagent transcript, a 1-hour cache write, a web search.
Run it again only to change the sample; the output is committed.
"""

from __future__ import annotations

import json
import random
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "ccspend" / "demo" / "logs" / "projects"
PROJECTS = [
    ("/home/demo/code/webapp", ["main", "feat/checkout"]),
    ("/home/demo/code/api.server", ["main", "fix/rate-limit"]),
    ("/home/demo/notes", [""]),
]
MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-7", "claude-haiku-4-5-20251001"]


def encode(cwd: str) -> str:
    return cwd.replace("/", "-").replace(".", "-")


def main() -> None:
    rng = random.Random(42)
    if OUT.exists():
        shutil.rmtree(OUT)
    start = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    n = 0
    for day in range(7):
        for cwd, branches in PROJECTS:
            if rng.random() < 0.35:
                continue
            sid = str(uuid.UUID(int=rng.getrandbits(128)))
            branch = rng.choice(branches)
            t = start + timedelta(days=day, hours=rng.randint(0, 10), minutes=rng.randint(0, 59))
            lines = []
            context = 12_000
            for _turn in range(rng.randint(4, 12)):
                t += timedelta(seconds=rng.randint(20, 400))
                lines.append({
                    "type": "user", "sessionId": sid, "cwd": cwd, "gitBranch": branch,
                    "version": "2.1.240", "timestamp": t.isoformat().replace("+00:00", "Z"),
                    "message": {"role": "user", "content": "(sample prompt)"},
                })
                n += 1
                model = rng.choices(MODELS, weights=[6, 2, 2])[0]
                write = rng.randint(200, 6000)
                one_hour = write if rng.random() < 0.15 else 0
                usage = {
                    "input_tokens": rng.randint(3, 40),
                    "cache_creation_input_tokens": write,
                    "cache_read_input_tokens": context,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": write - one_hour,
                        "ephemeral_1h_input_tokens": one_hour,
                    },
                    "output_tokens": rng.randint(50, 2500),
                    "service_tier": "standard",
                }
                if rng.random() < 0.1:
                    usage["server_tool_use"] = {"web_search_requests": 1, "web_fetch_requests": 0}
                context += write
                mid, rid = f"msg_demo{n:05d}", f"req_demo{n:05d}"
                for block in range(rng.randint(1, 3)):
                    t += timedelta(seconds=1)
                    partial = dict(usage, output_tokens=1) if block == 0 else usage
                    lines.append({
                        "type": "assistant", "sessionId": sid, "cwd": cwd, "gitBranch": branch,
                        "version": "2.1.240", "isSidechain": False, "requestId": rid,
                        "timestamp": t.isoformat().replace("+00:00", "Z"),
                        "message": {"id": mid, "type": "message", "role": "assistant",
                                    "model": model, "content": [], "usage": partial},
                    })  # fmt: skip
                lines[-1]["message"]["usage"] = usage
            folder = OUT / encode(cwd)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
            if rng.random() < 0.5:
                sub = folder / sid / "subagents"
                sub.mkdir(parents=True)
                agent = f"{rng.getrandbits(32):08x}"
                sub_lines = [{
                    "type": "assistant", "sessionId": sid, "cwd": cwd, "gitBranch": branch,
                    "isSidechain": True, "agentId": agent, "version": "2.1.240",
                    "requestId": f"req_sub{agent}{i}",
                    "timestamp": (t + timedelta(seconds=5 + i)).isoformat().replace("+00:00", "Z"),
                    "message": {"id": f"msg_sub{agent}{i}", "type": "message", "role": "assistant",
                                "model": "claude-haiku-4-5-20251001", "content": [],
                                "usage": {"input_tokens": rng.randint(500, 3000),
                                          "cache_creation_input_tokens": rng.randint(0, 4000),
                                          "cache_read_input_tokens": rng.randint(0, 9000),
                                          "output_tokens": rng.randint(50, 600)}},
                } for i in range(rng.randint(2, 5))]  # fmt: skip
                (sub / f"agent-{agent}.jsonl").write_text(
                    "".join(json.dumps(x) + "\n" for x in sub_lines)
                )
                (sub / f"agent-{agent}.meta.json").write_text(json.dumps({"agentType": "Explore"}))


if __name__ == "__main__":
    main()
