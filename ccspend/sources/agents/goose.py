"""Goose (block/goose): session totals from ``sessions.db``.

Found at ``$GOOSE_PATH_ROOT/data/sessions/sessions.db`` when that is set, else
``$XDG_DATA_HOME/goose/sessions`` (``~/.local/share/goose/sessions``), macOS's
``~/Library/Application Support/goose/sessions`` and the legacy
``~/.local/share/Block/goose/sessions``.

Goose keeps one row per session and no per-call usage:

- ``accumulated_input_tokens`` / ``accumulated_output_tokens`` /
  ``accumulated_total_tokens`` are the session's totals; the plain
  ``input_tokens``/``output_tokens`` are its **last request** only. A row whose
  accumulated columns are NULL (an older Goose) has no known total: it is
  skipped and counted as a bad row, never read as the last request (which
  would pass an undercount for a total).
- One record per session, **a session total**: dated at the row's
  ``updated_at`` (when the total was last written), priced as one call of the
  model in use at the end (``model_config_json.model_name``), marked
  ``rid = "session-total"``. No daily split is invented: a session that ran
  over midnight is all on its last day, and moves there when it is resumed.
- There are no cache or reasoning columns: input is billed as uncached input.
  A total above input + output is billed as output (``GAP_AS_OUTPUT``), as
  ccusage and tokscale do (the gap is most likely reasoning).
- ``accumulated_cost``, where a version has it and it is above 0, is the stated cost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from ccspend.sources.agents import dbrecords

NAME = "goose"
FAMILY = "goose"
# Rows written up to this long (ms) before the last watermark are looked at again: a write
# stamped before the watermark may commit after it. Those sessions are re-read; unchanged ones
# are recognised by their content and write nothing.
SLACK = 60_000
GAP_AS_OUTPUT = True  # total − input − output billed as output (the one uncertain relation)


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    root = env.get("GOOSE_PATH_ROOT", "").strip()
    if root:
        return [Path(root).expanduser() / "data" / "sessions"]
    return [dbrecords.xdg_data(env, home) / "goose" / "sessions",
            home / "Library" / "Application Support" / "goose" / "sessions",
            home / ".local" / "share" / "Block" / "goose" / "sessions"]  # fmt: skip


def discover(roots: list[Path]) -> Iterator[Path]:
    return dbrecords.find_dbs(roots, lambda name: name == "sessions.db")


def records(rows: dict) -> tuple[list[dict], int]:
    out: list[dict] = []
    bad = 0
    for row in rows.get("sessions", ()):
        got = dbrecords.counts(row["accumulated_input_tokens"], row["accumulated_output_tokens"],
                               row["accumulated_total_tokens"])
        if got is None or (row["accumulated_input_tokens"] is None
                           and row["accumulated_output_tokens"] is None):  # fmt: skip
            bad += 1  # implausible, or no session total known (older Goose)
            continue
        inp, output, total = got
        if GAP_AS_OUTPUT and total > inp + output:
            output = total - inp
        if not (inp or output):
            continue
        ts = dbrecords.text_to_us(row["updated_at"]) or dbrecords.text_to_us(row["created_at"])
        if ts is None or not row["id"]:
            bad += 1
            continue
        out.append(dbrecords.record(
            ts=ts, sid=str(row["id"]), mid=f"{NAME}:{row['id']}", rid=dbrecords.SESSION_TOTAL,
            model=_model(row["model_config_json"]), inp=inp, out=output,
            cwd=row["working_dir"] or None, ent=NAME,
            cu=dbrecords.stated_cost(row["accumulated_cost"]),
        ))  # fmt: skip
    return out, bad


def _model(text: object) -> str | None:
    try:
        obj = json.loads(text) if text.__class__ is str else None
    except ValueError:
        return None
    name = obj.get("model_name") if obj.__class__ is dict else None
    return name if name.__class__ is str and name else None
