"""One spec per option (``ccspend.cli.options``), and both front ends held to it.

Generated from the spec: for every option of the report commands, ``run`` and
``route``, the typer command declares the spec's spellings, help, metavar and
whether it takes a value; the fast parser reads what typer reads; and an unknown
option, a missing value, a value given to a flag and a bad value end with the
same message and exit code whether they came in through the console entry
(``python -m ccspend``, ``cli/fast/entry.py``) or through the typer program.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from ccspend.cli import options as spec
from ccspend.cli.fast import reports as fast_reports
from ccspend.cli.fast import route as fast_route
from ccspend.cli.fast import run as fast_run
from ccspend.cli.options import ReportOptions
from ccspend.core.errors import ExitCode
from ccspend.run.execute import RunOptions
from tests.conftest import _command, cli, run_cli

REPORT_COMMANDS = ("daily", "weekly", "monthly", "session", "model", "project", "branch",
                   "source")  # fmt: skip
SPECS = {**{name: spec.report_specs(name) for name in REPORT_COMMANDS}, "": spec.ROOT,
         "run": spec.RUN, "route": spec.ROUTE}  # fmt: skip


def _click_command(name: str):
    root = _command()
    return root if name == "" else root.commands[name]


def _declared(name: str) -> dict:
    """The typer command's options, by parameter name (``--help`` aside)."""
    return {p.name: p for p in _click_command(name).params if p.param_type_name == "option"}


# -- the typer commands declare exactly the spec ---------------------------------------------


@pytest.mark.parametrize("command", list(SPECS), ids=lambda c: c or "ccspend")
def test_typer_declares_each_option_as_the_spec_writes_it(command):
    declared = _declared(command)
    specs = SPECS[command]
    assert list(declared) == [o["dest"] for o in specs]  # the same options, in the same order
    for o in specs:
        p = declared[o["dest"]]
        assert (*p.opts, *p.secondary_opts) == o["names"], o["dest"]
        assert p.help == o["help"], o["dest"]
        assert p.is_flag == (o["kind"] == spec.FLAG), o["dest"]
        assert p.multiple == (o["kind"] == spec.PATHS), o["dest"]
        assert p.metavar == o["metavar"], o["dest"]


def test_every_option_is_well_formed():
    for command, specs in SPECS.items():
        names = [n for o in specs for n in o["names"]]
        assert len(names) == len(set(names)), command
        assert len({o["dest"] for o in specs}) == len(specs), command
        for o in specs:
            assert o["kind"] in spec.WANTED or o["kind"] in (spec.FLAG, spec.TEXT, spec.PATH,
                                                             spec.PATHS), o  # fmt: skip
            assert o["help"] and o["help"].endswith((".", ")")), o
            assert all(n.startswith("--") or len(n) == 2 for n in o["names"]), o
            assert (o["metavar"] is None) == (o["kind"] == spec.FLAG), o
            if o["default"] is not None:
                spec.default(o)  # a default the parser itself would accept


def test_run_options_defaults_are_the_specs():
    parsed = fast_run.parse(["agent"])
    plain = RunOptions(argv=["agent"])
    assert vars(parsed) == vars(plain)
    assert {o["dest"] for o in spec.RUN} | {"argv"} == set(vars(plain))


def test_route_parse_reads_every_option_and_the_words():
    opts = fast_route.parse(["fix", "--stakes", "high", "it", "--type=docs", "--context-tokens",
                             "9000", "--task-file", "t.md", "--explain", "--estimate", "--json",
                             "-v", "--", "--not-an-option"])  # fmt: skip
    assert opts == {"stakes": "high", "task_type": "docs", "context_tokens": 9000,
                    "task_file": "t.md", "explain": True, "estimate": True, "json": True,
                    "words": ["fix", "it", "-v", "--not-an-option"]}  # fmt: skip
    assert fast_route.parse(["x"])["stakes"] == "medium"


# -- the fast report parser reads what typer reads -------------------------------------------


def _sample(o, name: str) -> list[list[str]]:
    """Ways of giving option ``o`` spelled ``name``: as separate words, and ``--name=value``."""
    if o["kind"] == spec.FLAG:
        return [[name]]
    value = ("2026-09-01" if o["dest"] in ("since", "until") else "3" if o["kind"] == spec.COUNT
             else "some/value")  # fmt: skip
    ways = [[name, value]]
    if name.startswith("--"):
        ways.append([f"{name}={value}"])
    if o["kind"] == spec.PATHS:
        ways.append([name, "a", name, "b"])
    return ways


def _typer_reads(command: str, argv: list[str]) -> dict:
    cmd = _click_command(command)
    ctx = cmd.make_context(command or "ccspend", list(argv), resilient_parsing=False)
    out = {}
    for key, v in ctx.params.items():
        if isinstance(v, list | tuple):
            v = tuple(str(x) for x in v)
        elif isinstance(v, Path):
            v = str(v)
        out[key] = v
    return out


REPORT_CASES = [(command, argv) for command in ("daily", "weekly", "session", "")
                for o in SPECS[command] for name in o["names"] for argv in _sample(o, name)]


@pytest.mark.parametrize("command,argv", REPORT_CASES,
                         ids=[f"{c or 'ccspend'} {' '.join(a)}" for c, a in REPORT_CASES])
def test_the_fast_report_parser_reads_what_typer_reads_or_declines(command, argv):
    typer_values = _typer_reads(command, argv)
    fast = fast_reports.parse([command, *argv] if command else argv)
    given = [o["dest"] for o in SPECS[command] if set(o["names"]) & {a.split("=")[0] for a in argv}]
    if set(given) & set(fast_reports.TYPER_ONLY):
        assert fast is None  # left to typer
        return
    assert fast is not None, argv
    typer_values.pop("version", None)
    assert fast == ReportOptions(command or "daily", **typer_values)


def test_report_options_is_a_frozen_value():
    a = ReportOptions("weekly", since="2026-09-01", claude_dir=["x"])
    assert a == ReportOptions("weekly", since="2026-09-01", claude_dir=("x",))
    assert a.replace(json=True).json and not a.json
    assert set(a.as_dict()) == {"name"} | {o["dest"] for o in spec.REPORT_ALL}
    with pytest.raises(AttributeError):
        a.json = True


# -- mistakes: the same message and exit code through both front ends --------------------------


def _typer(*args: str) -> subprocess.CompletedProcess:
    """``ccspend ARGS`` by the typer program, in this process (``run`` included: every case
    here is refused before any agent or signal handler)."""
    from ccspend.cli import main

    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args), command=_command())
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


# A bad value for each kind the parser checks; and values found bad once read.
BAD = {spec.USD: "abc", spec.COUNT: "0", spec.INT: "1.5", spec.SECONDS: "-1", spec.LEVELS: "120"}
BAD_LATER = {("daily", "timezone"): ["Not/AZone"], ("daily", "until"): ["2026-13-45"],
             ("daily", "source"): ["no such source!"], ("route", "stakes"): ["extreme", "a task"],
             ("daily", "order"): ["up"]}  # fmt: skip


def _mistakes():
    for command in ("daily", "", "run", "route"):
        prefix = [command] if command else []
        yield "unknown", [*prefix, "--no-such-option"]
        for o in SPECS[command]:
            if command == "" and o not in (spec.SINCE, spec.VERSION):
                continue  # the root reads the report options by the same parser and spec
            for name in o["names"]:
                if o["kind"] == spec.FLAG:
                    if name.startswith("--"):
                        yield "flag given a value", [*prefix, f"{name}=1"]
                    continue
                yield "missing value", [*prefix, name]
                if o["kind"] in BAD:
                    yield "bad value", [*prefix, name, BAD[o["kind"]]]
            if (command, o["dest"]) in BAD_LATER:
                value, *rest = BAD_LATER[command, o["dest"]]
                yield "bad value", [*prefix, o["names"][0], value, *rest]


MISTAKES = list(_mistakes())


@pytest.mark.parametrize("what,argv", MISTAKES, ids=[f"{w}: {' '.join(a)}" for w, a in MISTAKES])
def test_a_mistake_ends_the_same_way_through_both_front_ends(sandbox, monkeypatch, what, argv):
    monkeypatch.setenv("CCSPEND_NO_CACHE", "1")
    monkeypatch.chdir(sandbox)  # no git repository around: both front ends see the same
    fast = run_cli(*argv)
    full = _typer(*argv)
    assert (fast.returncode, fast.stderr, fast.stdout) == (full.returncode, full.stderr,
                                                           full.stdout)  # fmt: skip
    assert fast.returncode == ExitCode.USAGE, fast.stderr
    assert fast.stderr.startswith("ccspend: error: ") and fast.stderr.count("\n") == 1


def test_run_and_routes_mistakes_read_as_the_spec_says():
    """run and route have one parser (their typer commands hand argv to it): its words."""
    cases = {
        ("run", "--bogus"): "no such option for run: --bogus (put the agent's own options "
                            "after --)",
        ("run", "--cap"): "--cap needs a value",
        ("run", "--cap", "abc"): "--cap takes a positive amount of dollars, not 'abc'",
        ("run", "--force=yes", "--", "x"): "--force takes no value",
        ("route", "--bogus", "x"): "no such option for route: --bogus",
        ("route", "--context-tokens", "many", "x"): "--context-tokens takes a whole number, "
                                                    "not 'many'",
        ("route", "--json=1", "x"): "--json takes no value",
    }  # fmt: skip
    for argv, message in cases.items():
        r = _typer(*argv)
        assert (r.returncode, r.stderr) == (ExitCode.USAGE, f"ccspend: error: {message}\n"), argv


def test_help_for_run_and_route_lists_the_spec(sandbox):
    for command in ("run", "route"):
        r = cli(command, "--help") if command == "route" else _typer(command, "--help")
        assert r.returncode == 0
        for o in SPECS[command]:
            assert f"{o['names'][0]} {o['metavar'] or ''}".strip() in r.stdout, o["names"]
    assert fast_run.asks_help(["--cap", "2", "--help"])
    assert not fast_run.asks_help(["--cap", "2", "--", "agent", "--help"])
    assert fast_route.asks_help(["a", "task", "--help"])
    assert not fast_route.asks_help(["review", "--help"])  # the review's own help


def test_the_options_module_is_standard_library_only():
    code = ("import sys; before = set(sys.modules); import ccspend.cli.options\n"
            "print(sorted(m for m in set(sys.modules) - before if not m.startswith('ccspend')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
