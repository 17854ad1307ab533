"""The coding agents whose local logs ccspend reads besides Claude Code: one registry.

Each agent is a reader module under ``ccspend.sources.agents`` (Codex keeps its
older home, ``ccspend.sources.codex``) of one of two kinds:

- ``files``: ``default_roots(env, home) -> list[Path]`` (the agent's own
  defaults and env overrides), ``discover(roots) -> Iterator[LogFile]`` and
  ``read(path, file_id) -> (records, bad_lines)``; the records have exactly the
  dict shape of ``sources.codex`` (``ts`` in µs, ``sid``, ``mid``, ``rid``,
  ``model``, ``in`` (uncached input), ``out``, ``c5``, ``c1``, ``cr``, ``ws``,
  ``cwd``, ``br``, ``ver``, ``ent``, ``sc``, ``aid``, ``err``, ``cu`` (a cost
  the log states, else None), ``sp``, ``geo``, ``ki``, ``ko``, ``k5``, ``k1``,
  ``kr``). A changed file is read again whole and its rows replaced
  (``ingest.agent_files``).
- ``sqlite``: ``default_roots(env, home)``, ``discover(roots) -> Iterator[Path]``
  and ``read_db(path, since) -> (records, watermark, bad_rows)``
  (``ingest.agent_db``).

Why the registry is plain data that imports nothing: every report (the warm,
cached one included) asks which agents are here, and an agent that is not
installed must cost nothing. So whether it is here is a ``stat`` of its home
folders and a look at its environment variables (``env``, ``homes``), and its
reader module is imported only when that finds something, or when ``--logs``
names it. ``Agent`` is a ``namedtuple`` rather than a dataclass for the same
reason: the warm path may not import ``dataclasses`` (tests/test_fastpath.py);
it is built and read the same way (keywords, attributes, immutable).
"""

from __future__ import annotations

import os
from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import ModuleType

Agent = namedtuple("Agent", "name label module kind exactness env homes", defaults=((), ()))
Agent.__doc__ = """One agent: ``name`` (the ``--source`` value and ``files.source``), ``label``
(as the README names it), ``module`` (its reader, imported only when it has logs), ``kind``
(``files`` or ``sqlite``), ``exactness`` (one line for the README's table); ``env`` (variables
that, when set, may point at its logs) and ``homes`` (folders below the home folder whose
presence says it is installed)."""

AGENTS: tuple = (
    Agent("codex", "Codex CLI", "ccspend.sources.codex", "files",
          "exact per call (token_count deltas; cached input split out, reasoning inside output)",
          env=("CODEX_HOME",), homes=(".codex",)),
    Agent("gemini", "Gemini CLI", "ccspend.sources.agents.gemini", "files",
          "exact per API call: the last copy of each message, one copy across copied files, "
          "thoughts billed as output",
          env=("GEMINI_CLI_HOME", "GEMINI_DATA_DIR"), homes=(".gemini",)),
    Agent("qwen", "Qwen Code", "ccspend.sources.agents.qwen", "files",
          "exact per call (cached input split out, reasoning counted once); a provider that "
          "sends only a total is split 70/30 by Qwen Code itself: coarse",
          env=("QWEN_DATA_DIR", "QWEN_RUNTIME_DIR"), homes=(".qwen",)),
    Agent("kimi", "Kimi CLI", "ccspend.sources.agents.kimi", "files",
          "exact tokens per step (forks counted once, subagents once); the model is the "
          "config's, not logged: coarse per model",
          env=("KIMI_SHARE_DIR", "KIMI_DATA_DIR"), homes=(".kimi",)),
    # agents-db (#19)
    Agent("opencode", "OpenCode", "ccspend.sources.agents.opencode", "sqlite",
          "exact per API call (step-finish parts; forks counted once; stated cost used)",
          env=("OPENCODE_DATA_DIR",), homes=(".local/share/opencode",)),
    Agent("kilo", "Kilo CLI", "ccspend.sources.agents.kilo", "sqlite",
          "exact per API call, as OpenCode", env=("KILO_DATA_DIR",), homes=(".local/share/kilo",)),
    Agent("goose", "Goose", "ccspend.sources.agents.goose", "sqlite",
          "session totals only, on the session's last update day; no cache split",
          env=("GOOSE_PATH_ROOT",),
          homes=(".local/share/goose", "Library/Application Support/goose",
                 ".local/share/Block/goose")),
    Agent("hermes", "Hermes Agent", "ccspend.sources.agents.hermes", "sqlite",
          "session totals only, on the session's end (or start) day; stated cost used",
          env=("HERMES_HOME",), homes=(".hermes",)),
    Agent("copilot-store", "Copilot CLI (session store)", "ccspend.sources.agents.copilot_store",
          "sqlite", "exact per call (schema known from tokscale only); priced from the card",
          env=("COPILOT_HOME",), homes=(".copilot",)),
    # agents-files (#19)
    Agent("copilot", "Copilot CLI (OTel export)", "ccspend.sources.agents.copilot", "files",
          "exact per call (chat spans; telemetry copies dropped; cache inside input split out)",
          env=("COPILOT_OTEL_FILE_EXPORTER_PATH",), homes=(".copilot/otel",)),
    Agent("amp", "Amp", "ccspend.sources.agents.amp", "files",
          "exact per call (ledger event and message as one call); no project",
          env=("AMP_DATA_DIR",), homes=(".local/share/amp",)),
    Agent("pi", "pi", "ccspend.sources.agents.pi", "files",
          "exact per call, its stated cost; fork copies once (reasoning doubled by pi's "
          "openai-completions provider stays)",
          env=("PI_CODING_AGENT_DIR", "PI_CODING_AGENT_SESSION_DIR", "PI_AGENT_DIR"),
          homes=(".pi",)),
    Agent("openclaw", "OpenClaw", "ccspend.sources.agents.openclaw", "files",
          "exact per call, its stated cost; reset and deleted archives counted",
          env=("OPENCLAW_DIR",), homes=(".openclaw", ".clawdbot", ".moltbot", ".moldbot")),
    Agent("codebuff", "Codebuff", "ccspend.sources.agents.codebuff", "files",
          "exact per message (cache inside OpenAI-style prompts split out)",
          env=("CODEBUFF_DATA_DIR",),
          homes=(".config/manicode", ".config/manicode-dev", ".config/manicode-staging")),
    Agent("droid", "Droid", "ccspend.sources.agents.droid", "files",
          "coarse: session totals only, each session whole on its first day, newest snapshot",
          env=("DROID_SESSIONS_DIR",), homes=(".factory/sessions",)),
)

# Names the store gives Claude Code's own lines: files.source and the counted rows' source.
CLAUDE_SOURCES = ("claude-code", "local")
# Claude Code itself, as the reports name it beside the registry's agents (``ccspend
# source``'s rows); not in ``AGENTS``: its logs have their own ingest (``ingest.claude``).
CLAUDE_CODE = Agent("claude-code", "Claude Code", "ccspend.sources.claude_code", "files",
                    "exact per API call (a streamed response's last line, resumed copies "
                    "and subagent copies counted once)")


def names() -> tuple[str, ...]:
    """Every registered agent's name, as ``--source`` and ``--logs`` take it."""
    return tuple(a.name for a in AGENTS)


def by_name(name: str):
    """The agent called ``name``, or None."""
    for agent in AGENTS:
        if agent.name == name:
            return agent
    return None


def of_source(source: str | None):
    """The agent whose rows a report's ``source`` is (``local``: Claude Code), or None
    (a provider's imports, or no source)."""
    if source in CLAUDE_SOURCES:
        return CLAUDE_CODE
    return by_name(source) if source else None


def installed(agent, env: Mapping[str, str], home: str) -> bool:
    """Whether ``agent`` may have logs here: one of its variables is set, or one of its
    home folders exists (a stat each; its module is not imported)."""
    if any(env.get(var, "").strip() for var in agent.env):
        return True
    return any(os.path.exists(os.path.join(home, h)) for h in agent.homes)


def load(agent) -> ModuleType:
    """The reader module of ``agent``."""
    import importlib

    return importlib.import_module(agent.module)


def parse_logs(values: Iterable[str]) -> dict[str, list[str]]:
    """``--logs AGENT=PATH`` values (repeatable) as agent name -> folders, in order.

    A usage error (one line, exit 2) for an agent ccspend does not know, a value
    without ``=``, or a path that does not exist: a typo must not look like an
    agent that spent nothing.
    """
    out: dict[str, list[str]] = {}
    for raw in values:
        name, eq, path = str(raw).partition("=")
        name = name.strip().lower()
        if not eq or not name or not path.strip():
            from ccspend.core.errors import UsageError

            raise UsageError(f"--logs takes AGENT=PATH, not {raw!r}")
        if by_name(name) is None:
            from ccspend.core.errors import UsageError

            raise UsageError(f"--logs: no agent {name!r}; known: {', '.join(names())}")
        from ccspend.core import paths

        full = paths.absolute(paths.expand(path.strip()))
        if not os.path.exists(full):
            from ccspend.core.errors import UsageError

            raise UsageError(f"--logs {name}={path}: no such file or folder")
        out.setdefault(name, []).append(full)
    return out


def active(env: Mapping[str, str], home: str, logs: Mapping[str, list[str]] | None = None,
           kind: str | None = None) -> list[tuple]:
    """``(agent, module, roots)`` of every agent (of ``kind``, if given) to read here.

    An agent named in ``logs`` (``--logs``) is read from those folders only; any
    other from its own defaults when ``installed`` says it may have logs. An
    agent that is not installed is not imported.
    """
    logs = logs or {}
    out = []
    for agent in AGENTS:
        if kind is not None and agent.kind != kind:
            continue
        given = logs.get(agent.name)
        if not given and not installed(agent, env, home):
            continue
        module = load(agent)
        if given:
            from pathlib import Path

            roots = [Path(p) for p in given]
        else:
            from pathlib import Path

            roots = list(module.default_roots(env, Path(home)))
        out.append((agent, module, roots))
    return out


def stats(env: Mapping[str, str], home: str, logs: Mapping[str, list[str]] | None = None,
          walk=None) -> list:
    """``(path, size, mtime_ns, dev, ino)`` of every agent log an ingest would look at:
    what a cached answer's fingerprint adds for the agents (a new line in any of them
    makes the answer stale). Nothing is imported for an agent that is not installed.

    ``walk(roots, suffix)``: a folder walk giving ``logfiles.stat_logs``' rows (the
    answer cache's, which reuses the listings of unchanged folders); used for a reader
    that says which files are its logs (``SUFFIX`` and ``accept(path)``), else its
    ``discover`` walks.
    """
    out: list = []
    for agent, module, roots in active(env, home, logs):
        if agent.kind == "files":
            accept = getattr(module, "accept", None)
            if walk is not None and accept is not None:
                out.extend(f for f in walk([str(r) for r in roots], module.SUFFIX) if accept(f[0]))
            else:
                out.extend(tuple(f[:5]) for f in module.discover(roots))
            continue
        for db in module.discover(roots):
            for path in (str(db), str(db) + "-wal"):
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                out.append((path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino))
    return out
