"""The options of the commands with two front ends (reports, run, route), each written once.

The standard-library front ends in ``cli/fast/`` parse argv with ``parse`` below,
driven by these specs; the typer commands (``cli/common.py``, ``report_cmds``,
``live_cmds``, ``route_cmds``) declare their options from the same specs, so an
option's spellings, help, metavar and default cannot differ between the two.
``run`` and ``route`` go further: their typer commands hand argv to the fast
parser, so there is one parser and one set of messages; the report commands are
parsed by typer whenever the fast path declines, and its messages are the
reference (``tests/test_option_specs.py`` holds both front ends to them).

Imported on every report, cached or not: plain dicts and tuples, and nothing
but the standard library's builtins (no dataclasses, typing or enum).

An option is a dict:

- ``dest``: where its value goes (a ``ReportOptions`` field, a ``RunOptions``
  attribute, a key of route's options);
- ``names``: its spellings, as ``--help`` lists them;
- ``kind``: how its value is read (``FLAG`` takes none; ``PATHS`` repeats);
- ``metavar``, ``help``: what ``--help`` shows;
- ``default``: its value when not given, written as a user would type it.
"""

# How an option's value is read: the typer type and the fast parser's check follow.
FLAG = "flag"  # no value: present or not
TEXT = "text"  # a string, as given
PATH = "path"  # a file or folder (the fast parser keeps the string)
PATHS = "paths"  # a folder, repeatable: a list
USD = "usd"  # a positive amount of dollars ("$2" or "2")
COUNT = "count"  # a positive whole number
INT = "int"  # a whole number
SECONDS = "seconds"  # a number, not negative
LEVELS = "levels"  # percentages between 0 and 100, comma-separated

# What a bad value of each checked kind should have been.
WANTED = {
    USD: "a positive amount of dollars",
    COUNT: "a positive whole number",
    INT: "a whole number",
    SECONDS: "a number of seconds",
    LEVELS: "percentages, e.g. 50,80",
}


def _o(dest, names, kind, help, metavar=None, default=None, most=None):  # noqa: A002
    """An option (``help`` is typer's word); ``most``: the largest value it takes."""
    return {"dest": dest, "names": names, "kind": kind, "metavar": metavar, "help": help,
            "default": default, "most": most}  # fmt: skip


# -- shared: every command that takes one of these spells it the same way --------------

SINCE = _o("since", ("--since", "-s"), TEXT, "First day (YYYY-MM-DD or YYYYMMDD, inclusive), "
           "or a git branch: its cost since it left the default branch.", "DAY|BRANCH")  # fmt: skip
UNTIL = _o("until", ("--until", "-u"), TEXT, "Last day (YYYY-MM-DD or YYYYMMDD, inclusive).",
           "DAY")  # fmt: skip
TIMEZONE = _o("timezone", ("--timezone", "-z"), TEXT,
              "IANA time zone for days (default: the machine's).", "ZONE")  # fmt: skip
PROJECT = _o("project", ("--project",), TEXT, "Only this project directory (and below).", "DIR")
BRANCH = _o("branch", ("--branch",), TEXT, "Only this git branch.", "BRANCH")
BREAKDOWN = _o("breakdown", ("--breakdown", "-b"), FLAG, "Per-model sub-rows.")
JSON = _o("json", ("--json",), FLAG, "Print the JSON report contract.")
DB = _o("db", ("--db",), PATH, "Database file (default: $CCSPEND_DB or the user data dir).",
        "FILE")  # fmt: skip
CLAUDE_DIR = _o("claude_dir", ("--claude-dir",), PATHS,
                "Claude Code config or projects dir to read (repeatable; default: "
                "$CLAUDE_CONFIG_DIR, else ~/.config/claude and ~/.claude).", "DIR")  # fmt: skip
LOGS = _o("logs", ("--logs",), PATHS,
          "An agent's logs, AGENT=PATH (repeatable): read from PATH instead of that agent's "
          "own places (agents: codex, gemini, qwen, kimi, ...).", "AGENT=PATH")  # fmt: skip
DEMO = _o("demo", ("--demo",), FLAG, "Report on the sample logs shipped with ccspend.")
NO_INGEST = _o("no_ingest", ("--no-ingest",), FLAG,
               "Report from the database only; read no logs.")  # fmt: skip
CHART = _o("chart", ("--chart",), FLAG,
           "Bars per period, stacked by model (daily, weekly, monthly).")  # fmt: skip
SOURCE = _o("source", ("--source",), TEXT, "local (Claude Code logs), an agent (codex, gemini, "
            "qwen, kimi, ...), anthropic, openai, openrouter (imports), or all (default).",
            "SOURCE")  # fmt: skip
VERSION = _o("version", ("--version",), FLAG, "Print the version.")
TEAM = _o("team", ("--team",), TEXT, "Report from a team store instead of this machine's logs: "
          "postgresql://…, a .duckdb file or a Parquet folder (default: $CCSPEND_TEAM, else "
          "the config's [team] url).", "URL")  # fmt: skip
TEAM_USER = _o("user", ("--user",), TEXT, "Only this user's rows (a team store).", "USER")
TEAM_MACHINE = _o("machine", ("--machine",), TEXT, "Only this machine's rows (a team store).",
                  "MACHINE")  # fmt: skip

# -- a ccusage user's habits (docs/ccusage-flags.md): the reports and blocks take them -------

# ``-j``: only the reports and blocks; ``route`` reads a single-dash word as the task's
REPORT_JSON = dict(JSON, names=("--json", "-j"))
LAST = _o("last", ("--last",), COUNT, "The last N days, today included (instead of --since "
          "and --until).", "N")  # fmt: skip
ORDER = _o("order", ("--order", "-o"), TEXT, "asc or desc: the rows' order (default: oldest "
           "first by time, most expensive first by cost).", "asc|desc")  # fmt: skip
COMPACT = _o("compact", ("--compact",), FLAG, "Draw the table at most 80 columns wide.")
COLOR = _o("color", ("--color",), FLAG, "Colour even when the output is not a terminal.")
NO_COLOR = _o("no_color", ("--no-color",), FLAG, "No colour or style codes (as NO_COLOR=1).")
OFFLINE = _o("offline", ("--offline", "-O"), FLAG,
             "Accepted for ccusage's sake: a report never goes online.")  # fmt: skip
INSTANCES = _o("instances", ("--instances", "-i"), FLAG, "Per-project sub-rows.")
BY_AGENT = _o("by_agent", ("--by-agent",), FLAG,
              "Per-agent sub-rows (Claude Code, codex, gemini, ...; each import's provider).")
START_OF_WEEK = _o("start_of_week", ("--start-of-week", "-w"), TEXT, "The day weeks start on, "
                   "monday to sunday (default: the config's start_of_week, else monday).",
                   "DAY")  # fmt: skip
SESSION_ID = _o("session_id", ("--id", "-i"), TEXT, "Only this session (its id, or the id's "
                "first characters), with each of its requests as a sub-row.", "ID")  # fmt: skip

# -- the commands ----------------------------------------------------------------------------

# daily, weekly, monthly, session, model, project, branch, source (and user, machine over a
# team store): what each takes
REPORT = (SINCE, UNTIL, LAST, TIMEZONE, PROJECT, BRANCH, BREAKDOWN, REPORT_JSON, ORDER, COMPACT,
          COLOR, NO_COLOR, OFFLINE, DB, CLAUDE_DIR, LOGS, DEMO, NO_INGEST, CHART, SOURCE, TEAM,
          TEAM_USER, TEAM_MACHINE)  # fmt: skip
# and the options of some reports only (ccusage's: daily -i, weekly -w, session -i)
# and --by-agent: the reports by time, and session (a session is one agent's: one sub-row)
REPORT_EXTRA = {
    "daily": (INSTANCES, BY_AGENT),
    "weekly": (INSTANCES, START_OF_WEEK, BY_AGENT),
    "monthly": (INSTANCES, BY_AGENT),
    "session": (SESSION_ID, BY_AGENT),
}
# a ``ReportOptions`` has a field for each option of any report
REPORT_ALL = REPORT + (INSTANCES, START_OF_WEEK, SESSION_ID, BY_AGENT)


def report_specs(name: str) -> tuple:
    """The options report ``name`` takes (its ``--help``, and what the fast parser reads)."""
    return REPORT + REPORT_EXTRA.get(name, ())


# ``ccspend [OPTIONS]`` with no command: daily, without --chart; and --version
ROOT = tuple(o for o in report_specs("daily") if o is not CHART) + (VERSION,)

# ``ccspend run [OPTIONS] [--] COMMAND...``: the dests are ``RunOptions``'s attributes
RUN = (
    _o("cap", ("--cap",), USD, "Hard ceiling in USD.", "USD"),
    _o("cap_tokens", ("--cap-tokens",), COUNT, "Hard ceiling in tokens (all kinds).", "TOKENS"),
    _o("task", ("--task",), TEXT, "A task id for the ledger.", "ID"),
    _o("warn", ("--warn",), LEVELS, "Warning levels, percent of the cap.", "PCT,PCT", "50,80"),
    _o("grace", ("--grace",), SECONDS, "Seconds between SIGINT, SIGTERM and SIGKILL (at most "
       "3600).", "SECONDS", "10", 3600),  # fmt: skip
    _o("force", ("--force",), FLAG, "Start even if a budget it falls under is spent."),
    _o("prompt_file", ("--prompt-file",), PATH, "The prompt the run starts with: estimated "
       "before the start, and refused if it alone passes the cap.", "FILE"),  # fmt: skip
    _o("max_rpm", ("--max-requests-per-minute",), COUNT, "Pause the run while it goes faster.",
       "N"),  # fmt: skip
    _o("max_usd_per_hour", ("--max-usd-per-hour",), USD, "Pause the run while it spends faster.",
       "USD"),  # fmt: skip
    _o("route", ("--route",), TEXT, "auto (from the prompt) or a tier: picks the model and the "
       "default cap (ccspend route policy).", "TIER"),  # fmt: skip
    JSON,
    DB,
    dict(CLAUDE_DIR, dest="claude_dirs"),
)
RUN_HINT = "put the agent's own options after --"

# ``ccspend route [OPTIONS] TASK...``: words and options in any order
ROUTE = (
    _o("stakes", ("--stakes",), TEXT, "low, medium or high (high: never below standard).",
       "LEVEL", "medium"),  # fmt: skip
    _o("task_type", ("--type",), TEXT, "An explicit task type (wins over words).", "TYPE"),
    _o("context_tokens", ("--context-tokens",), INT, "Context the task needs (tokens).",
       "TOKENS"),  # fmt: skip
    _o("task_file", ("--task-file",), PATH, "Read the task from a file.", "FILE"),
    _o("explain", ("--explain",), FLAG, "Every rule and step."),
    _o("estimate", ("--estimate",), FLAG, "Count tokens with tiktoken (slower)."),
    JSON,
)


def by_name(specs) -> dict:
    """Each spelling of ``specs``, to its option."""
    return {name: o for o in specs for name in o["names"]}


def default(o):
    """The value of option ``o`` when it is not given."""
    if o["kind"] == FLAG:
        return False
    if o["kind"] == PATHS:
        return []
    return None if o["default"] is None else value(o, o["names"][0], o["default"], ValueError)


def value(o, name: str, raw: str, error):
    """``raw`` read as option ``o`` (spelled ``name``) wants it, or ``error(message)``."""
    kind = o["kind"]
    most = o.get("most")
    try:
        if "_" in raw and kind in (USD, COUNT, INT, SECONDS):
            raise ValueError  # Python reads 1_0 as 10; a user who typed it meant something else
        if kind == USD:
            v = float(raw.removeprefix("$"))
            if not 0 < v < float("inf"):  # not nan, not inf
                raise ValueError
            return v
        if kind in (COUNT, INT):
            v = int(raw)
            if kind == COUNT and v <= 0:
                raise ValueError
            return v
        if kind == SECONDS:
            v = float(raw)
            if not 0 <= v <= (float("inf") if most is None else most) or v == float("inf"):
                raise ValueError
            return v
        if kind == LEVELS:
            v = tuple(sorted({int(x) for x in raw.split(",") if x.strip()}))
            if not all(0 < x < 100 for x in v):
                raise ValueError
            return v
    except ValueError:
        bound = f" (at most {most:g})" if most is not None else ""
        raise error(f"{name} takes {WANTED[kind]}{bound}, not {raw!r}") from None
    return raw


def parse(specs, args: list[str], command: str, error, positional=None, hint=None):
    """``args`` read by ``specs``: (each option's dest to its value, the positional args).

    ``positional``: None (there are none), ``"rest"`` (the first one starts the
    rest: ``run``'s command) or ``"words"`` (gathered from anywhere: ``route``'s
    task; an argument with a single dash is a word). ``--`` ends the options.
    ``--name=value`` is read for long options only. A mistake raises
    ``error(message)``; an unknown option, ``error(message, hint=hint)``.
    """
    known = by_name(specs)
    values = {o["dest"]: default(o) for o in specs}
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            rest += args[i:]
            break
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        o = known.get(name)
        if o is None:
            if arg.startswith("--") or (arg[:1] == "-" and arg != "-" and positional != "words"):
                raise error(f"no such option for {command}: {name}", hint=hint)
            if positional is None:
                raise error(f"{command} takes no argument {arg!r}")
            if positional == "rest":
                rest += args[i - 1 :]
                break
            rest.append(arg)
            continue
        if o["kind"] == FLAG:
            if eq:
                raise error(f"{name} takes no value")
            values[o["dest"]] = True
            continue
        if not eq:
            if i >= len(args):
                raise error(f"{name} needs a value")
            inline = args[i]
            i += 1
        if o["kind"] == PATHS:
            values[o["dest"]].append(inline)
        else:
            values[o["dest"]] = value(o, name, inline, error)
    return values, rest


class ReportOptions:
    """One report as asked for: the report's name, and a value for each option of
    ``REPORT_ALL`` (its fields are those specs' dests: the list is written once, there;
    an option the report does not take is None or False).

    Frozen, and a plain class with slots: built on every report, before the
    cache is asked, where importing dataclasses would cost more than the answer.
    ``db`` and ``claude_dir`` are as given (strings from the fast parser, paths
    from typer); ``claude_dir`` is a tuple.
    """

    __slots__ = ("name", *(o["dest"] for o in REPORT_ALL))

    def __init__(self, name: str = "daily", **values) -> None:
        unknown = set(values).difference(self.__slots__)
        if unknown:
            raise TypeError(f"ReportOptions has no option {', '.join(sorted(unknown))}")
        object.__setattr__(self, "name", name)
        for o in REPORT_ALL:
            v = values.get(o["dest"])
            if o["kind"] == PATHS:
                v = tuple(v or ())
            elif o["kind"] == FLAG:
                v = bool(v)
            object.__setattr__(self, o["dest"], v)

    def __setattr__(self, field, _value):
        raise AttributeError(f"ReportOptions is frozen: cannot set {field}")

    def __delattr__(self, field):
        raise AttributeError(f"ReportOptions is frozen: cannot delete {field}")

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in self.__slots__}

    def replace(self, **changes) -> "ReportOptions":
        return ReportOptions(**{**self.as_dict(), **changes})

    def __eq__(self, other):
        if not isinstance(other, ReportOptions):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __hash__(self):
        return hash(tuple(self.as_dict().values()))

    def __repr__(self):
        given = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items() if k != "name")
        return f"ReportOptions({self.name!r}, {given})"
