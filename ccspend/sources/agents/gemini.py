"""Gemini CLI's chat recordings: find them, and turn each API call's tokens into a record.

Where: ``~/.gemini/tmp/<project>/chats/session-<time>-<id>.jsonl`` (and legacy
``session-….json`` documents), subagents in ``chats/<parent>/<sub>.jsonl``.
``GEMINI_CLI_HOME`` replaces the home folder (Gemini CLI's own); ccusage's
``GEMINI_DATA_DIR`` (a comma-separated list of ``tmp`` folders) is honoured too.
``<project>`` is a slug whose ``.project_root`` file holds the project's path;
older folders are named by the sha256 of that path, which is matched back to
the path through the other folders' ``.project_root`` files.

A JSONL file is a metadata line (``sessionId``, ``kind``...), then messages
``{id, timestamp, type, model?, tokens?}`` and control lines. What counts
(see docs/agents.md, "Gemini CLI"):

- A message is appended again each time it changes (a tool call's status,
  tokens attached, content masked): the **last** line of each id is the
  message, so each file gives one record per id, from its last line.
- ``{"$set": ...}`` lines update metadata or hold a whole ``messages``
  checkpoint: copies, never usage. ``{"$rewindTo": id}`` drops messages from
  the conversation, but their calls were billed: they stay counted.
- A record's message id is ``<sessionId>:<id>``, so the store's deduplication
  keeps one copy of a message found in several files: a legacy ``.json``
  resumed into a ``.jsonl`` (both keep every message), a project folder copied
  (not moved) from its sha256 name to its slug. Copies are identical, so which
  one is kept changes nothing.
- Tokens are one API call's ``usageMetadata``: ``input`` includes ``cached``;
  ``thoughts`` are billed as output but not inside ``output``; ``tool`` (tool
  use prompt) is billed as input. So uncached input = input − cached + tool,
  output = output + thoughts, cache read = cached.
- Subagent files are calls of their own (extra usage, not copies).
- Other ``.json`` files (logs, checkpoints) hold no messages and give nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import msgspec

from ccspend.sources import logfiles
from ccspend.sources.agents.filecommon import jsonl_objects
from ccspend.sources.agents.record import env_paths, record
from ccspend.sources.claude_record import BAD, count, parse_timestamp_us
from ccspend.sources.logfiles import LogFile

ENTRYPOINT = "gemini-cli"
SUFFIX = (".jsonl", ".json")
_SHA = re.compile(r"[0-9a-f]{64}$")


def default_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``$GEMINI_DATA_DIR``'s folders if set (ccusage's override), else
    ``$GEMINI_CLI_HOME/.gemini/tmp``, else ``~/.gemini/tmp``."""
    given = env_paths(env, "GEMINI_DATA_DIR")
    if given:
        return [Path(p) for p in given]
    cli_home = env.get("GEMINI_CLI_HOME", "").strip()
    base = Path(cli_home).expanduser() if cli_home else Path(home)
    return [base / ".gemini" / "tmp"]


def accept(path: str) -> bool:
    """A chat recording: a ``.json``/``.jsonl`` inside a ``chats`` folder (a project's
    ``logs.json`` or checkpoints are not)."""
    return (os.sep + "chats" + os.sep) in path and path.endswith(SUFFIX)


def discover(roots: list[Path]) -> Iterator[LogFile]:
    """Every chat recording below the given ``tmp`` folders."""
    for path, size, mtime_ns, dev, ino in logfiles.stat_logs(roots, SUFFIX):
        if accept(path):
            yield LogFile(path, size, mtime_ns, dev, ino)


def complete_end(path: str, size: int) -> int:
    """How far a recording is complete: a legacy ``.json`` is one document (rewritten
    whole), a ``.jsonl`` up to its last newline."""
    return size if path.endswith(".json") else logfiles.complete_end(path, size)


# -- the project of a recording ----------------------------------------------------


def project_of(path: str) -> str | None:
    """The project path of a recording: the ``.project_root`` of its project folder (the
    one holding ``chats``), or for a folder named by a sha256, the path whose sha256 it is,
    as another project folder's ``.project_root`` names it."""
    parts = path.split(os.sep)
    try:
        at = len(parts) - 1 - parts[::-1].index("chats")
    except ValueError:
        return None
    folder = os.sep.join(parts[:at])
    root = _read_root(folder)
    if root is not None or not _SHA.match(os.path.basename(folder)):
        return root
    return _roots_by_hash(os.path.dirname(folder)).get(os.path.basename(folder))


def _read_root(folder: str) -> str | None:
    try:
        with open(os.path.join(folder, ".project_root"), encoding="utf-8") as fh:
            text = fh.read(4096).strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def _roots_by_hash(tmp: str) -> dict[str, str]:
    """sha256 of each project path named by a ``.project_root`` below ``tmp`` -> the path."""
    import hashlib

    out: dict[str, str] = {}
    try:
        names = os.listdir(tmp)
    except OSError:
        return out
    for name in names:
        root = _read_root(os.path.join(tmp, name))
        if root is not None:
            out[hashlib.sha256(root.encode("utf-8", "surrogateescape")).hexdigest()] = root
    return out


# -- reading ------------------------------------------------------------------------


def _tokens(tokens: object) -> tuple[int, int, int] | None | bool:
    """(uncached input, output, cache read) of a message's ``tokens``; None when there are
    none; False when a count is implausible (the line is bad)."""
    if tokens.__class__ is not dict:
        return None
    g = tokens.get
    inp, out, cached, thoughts, tool = (count(g(k)) for k in
                                        ("input", "output", "cached", "thoughts", "tool"))
    if any(c is BAD for c in (inp, out, cached, thoughts, tool)):
        return False
    # ``input`` includes ``cached`` (the Gemini API's promptTokenCount)
    return max(inp - cached, 0) + tool, out + thoughts, cached


class _Session:
    def __init__(self, path: str) -> None:
        self.path = path
        stem = os.path.basename(path).rsplit(".", 1)[0]
        self.sid: str | None = stem  # until the metadata says
        self.subagent = False

    def meta(self, obj: dict) -> None:
        sid = obj.get("sessionId")
        if sid.__class__ is str and sid:
            self.sid = sid
        if obj.get("kind") == "subagent":
            self.subagent = True


def _message_record(session: _Session, msg: dict, cwd: str | None) -> dict | None | bool:
    """The record of a message (its last copy), None when it is no billed call."""
    if msg.get("type") != "gemini":
        return None
    used = _tokens(msg.get("tokens"))
    if used is None or used is False:
        return used
    ts = parse_timestamp_us(msg.get("timestamp"))
    if ts is None:
        return False
    inp, out, cached = used
    if not (inp or out or cached):
        return None
    model = msg.get("model")
    sid = session.sid
    return record(
        ts=ts, sid=sid, mid=f"{sid}:{msg['id']}", model=model if model.__class__ is str else None,
        inp=inp, out=out, cache_read=cached, cwd=cwd, entrypoint=ENTRYPOINT,
        sidechain=session.subagent, agent_id=sid if session.subagent else None,
    )  # fmt: skip


def read(path: str, file_id: int) -> tuple[list[dict], int]:
    """The usage records of one recording (one per message id: its last copy), and how
    many bad lines it has."""
    session = _Session(path)
    cwd = project_of(path)
    if path.endswith(".json"):
        with open(path, "rb") as fh:
            return _read_document(fh.read(), session, cwd, file_id)
    last: dict[str, tuple[int, dict]] = {}  # message id -> (offset, its last line)
    objs, skipped = jsonl_objects(path)
    for pos, obj in objs:
        if "id" not in obj and "sessionId" in obj:  # the metadata line
            session.meta(obj)
        elif "$set" in obj or "$rewindTo" in obj:
            pass  # metadata, a checkpoint's copies, or a rewind: never new usage
        else:
            mid = obj.get("id")
            if mid.__class__ is str and mid:
                last[mid] = (pos, obj)
            else:
                skipped += 1
    records, bad = _records(session, last, cwd, file_id)
    return records, skipped + bad


def _read_document(buf: bytes, session: _Session, cwd: str | None,
                   file_id: int) -> tuple[list[dict], int]:  # fmt: skip
    """A legacy ``.json`` recording: one document with its ``messages``. A file that is no
    recording (no ``messages`` list) gives nothing; one that does not parse is one bad line."""
    try:
        doc = msgspec.json.decode(buf)
    except (msgspec.DecodeError, RecursionError):
        return [], 1 if buf.strip() else 0
    if doc.__class__ is not dict or doc.get("messages").__class__ is not list:
        return [], 0
    session.meta(doc)
    last: dict[str, tuple[int, dict]] = {}
    skipped = 0
    for index, msg in enumerate(doc["messages"]):
        mid = msg.get("id") if msg.__class__ is dict else None
        if mid.__class__ is str and mid:
            last[mid] = (index, msg)
        else:
            skipped += 1
    # a document's offset: the message's place in it, unique within the file
    records, bad = _records(session, last, cwd, file_id)
    return records, skipped + bad


def _records(session: _Session, last: dict[str, tuple[int, dict]], cwd: str | None,
             file_id: int) -> tuple[list[dict], int]:  # fmt: skip
    """The records of each message id's last version (``last``: id -> (offset, message)),
    in the file's order; and how many could not be read."""
    records: list[dict] = []
    bad = 0
    for offset, msg in sorted(last.values(), key=lambda item: item[0]):
        rec = _message_record(session, msg, cwd)
        if rec is False:
            bad += 1
        elif rec is not None:
            rec["f"] = file_id
            rec["o"] = offset
            records.append(rec)
    return records, bad
