"""The documentation: a short README, every command documented, no broken relative link.

The README is the front page (install, one example per command, where the detail is);
the detail is in docs/*.md. These tests keep the two honest as the CLI grows.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import REPO, run_cli

README = REPO / "README.md"
DOCS = REPO / "docs"
README_MAX_BYTES = 20_000


def doc_pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


# --------------------------------------------------------------------------- commands

def listed_commands(help_text: str) -> list[str]:
    """The names in the "Commands:" section of a click/typer ``--help``.

    A command's line is indented two spaces; a description wrapped onto the next
    line is indented further, and a blank or unindented line ends the section.
    """
    names: list[str] = []
    lines = help_text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Commands:")
    except StopIteration:
        return names
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        m = re.match(r"  (\w[\w-]*)(?:\s|$)", line)
        if m:
            names.append(m.group(1))
    return names


def named_subcommands(command: str, help_text: str) -> list[str]:
    """Subcommands a command's help names in its text, as `ccspend route policy` (for a
    command that takes a word where a group would take a subcommand)."""
    pattern = rf"`ccspend {re.escape(command)} ([a-z][\w-]*)"
    return sorted(set(re.findall(pattern, help_text)))


def commands_with_subcommands() -> list[str]:
    """The top-level commands that have subcommands: typer groups, and commands whose
    help names `ccspend NAME WORD` (``route policy``, ``route review``).

    Read from the CLI's command tree in this process (no subprocess per command);
    the subcommands themselves come from each one's ``--help`` output.
    """
    import typer.main

    from ccspend.cli import app

    root = typer.main.get_command(app)
    return sorted(
        name for name, cmd in root.commands.items()
        if hasattr(cmd, "commands") or named_subcommands(name, cmd.help or "")
    )


def cli_commands() -> list[str]:
    """Every command the CLI lists, as ``daily`` or ``cap install``, from its ``--help``."""
    groups = commands_with_subcommands()
    with ThreadPoolExecutor(max_workers=len(groups) + 1) as pool:
        top = pool.submit(run_cli, "--help")
        helps = {g: pool.submit(run_cli, g, "--help") for g in groups}
        top_r = top.result()
        assert top_r.returncode == 0, top_r.stderr
        commands = listed_commands(top_r.stdout)
        assert len(commands) >= 20, f"the Commands section of --help did not parse:\n{top_r.stdout}"
        for group, fut in helps.items():
            r = fut.result()
            assert r.returncode == 0, r.stderr
            subs = listed_commands(r.stdout) + named_subcommands(group, r.stdout)
            assert subs, f"no subcommand found in `ccspend {group} --help`:\n{r.stdout}"
            commands += [f"{group} {sub}" for sub in subs]
    return commands


def undocumented(commands: list[str], text: str) -> list[str]:
    """The commands that ``text`` never shows as ``ccspend COMMAND`` (any run of
    whitespace between the words: a paragraph may wrap between them)."""
    flat = re.sub(r"\s+", " ", text)
    return [
        c for c in commands
        if not re.search(r"ccspend " + re.escape(c).replace(r"\ ", " ") + r"(?![\w-])", flat)
    ]


# --------------------------------------------------------------------------- links

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(].*?[\"')])?\s*\)")
_REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")


def relative_links(markdown: str) -> list[str]:
    """The link targets in ``markdown`` that name a file in the repository (code blocks
    and spans, absolute URLs, mailto: and links within the page left out), without
    their ``#anchor`` or ``?query``."""
    text = _CODE_SPAN.sub("", _FENCE.sub("", markdown))
    targets = _INLINE_LINK.findall(text) + _REF_DEF.findall(text)
    out = []
    for t in targets:
        if t.startswith("#") or _SCHEME.match(t):
            continue
        path = re.split(r"[#?]", t, maxsplit=1)[0]
        if path:
            out.append(path)
    return out


def broken_links(page: Path, markdown: str) -> list[str]:
    """The relative links of ``page`` that point to no existing file or folder."""
    broken = []
    for target in relative_links(markdown):
        base = REPO if target.startswith("/") else page.parent
        if not (base / target.lstrip("/")).exists():
            broken.append(target)
    return broken


# --------------------------------------------------------------------------- tests

def test_readme_is_at_most_20k():
    size = README.stat().st_size
    assert size <= README_MAX_BYTES, (
        f"README.md is {size:,} bytes (limit {README_MAX_BYTES:,}): move detail to docs/")


def test_every_command_is_documented():
    text = "\n".join(p.read_text() for p in doc_pages())
    commands = cli_commands()
    assert {"daily", "run", "cap install", "budget set", "route policy"} <= set(commands)
    missing = undocumented(commands, text)
    assert not missing, (
        "not shown as `ccspend <command>` in README.md or docs/*.md: " + ", ".join(missing))


def test_every_relative_link_points_to_a_file():
    assert DOCS.is_dir() and len(doc_pages()) > 1
    broken = {
        str(p.relative_to(REPO)): b
        for p in doc_pages()
        if (b := broken_links(p, p.read_text()))
    }
    assert not broken, f"relative links to nothing: {broken}"


def test_the_checks_catch_what_they_should():
    """Each check fails where it should, on made-up input: a test that cannot fail
    checks nothing."""
    help_text = (
        "Usage: ccspend [OPTIONS] COMMAND [ARGS]...\n\nOptions:\n  --help  Show this.\n\n"
        "Commands:\n  daily   Cost per day.\n  whatif  Reprice a period of history as if it\n"
        "          had run elsewhere.\n  cap     Caps.\n\nMore text.\n  not-a-command\n"
    )
    assert listed_commands(help_text) == ["daily", "whatif", "cap"]
    assert listed_commands("Usage: ccspend route [OPTIONS]\n") == []
    assert named_subcommands("route", "`ccspend route policy` and `ccspend route review [--x]`; "
                             "`ccspend route \"task\"`, ccspend run") == ["policy", "review"]

    doc = "ccspend daily\nand `ccspend\ncap install` here; ccspend runs --task X"
    assert undocumented(["daily", "cap install", "runs"], doc) == []
    assert undocumented(["run", "cap", "whatif", "dail"], doc) == ["run", "whatif", "dail"]

    page = REPO / "docs" / "page.md"
    md = (
        "[ok](../README.md) [ok](../pyproject.toml#x) [anchor](#here) [web](https://x.org/a.md)\n"
        "[gone](missing.md) ![img](../no/such.png) [root](/tests) [rootgone](/nope.md)\n"
        "`[in code](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n[ref]: ../gone.md\n"
    )
    assert broken_links(page, md) == ["missing.md", "../no/such.png", "/nope.md", "../gone.md"]


# --------------------------------------------------------------------------- library

def test_the_readmes_library_example_runs(sandbox):
    """The example imports modules by path: it breaks when a module moves, unless run."""
    import subprocess
    import sys

    text = README.read_text()
    section = text.split("## Using it as a library", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env = {**__import__("os").environ, "CLAUDE_CONFIG_DIR": str(REPO / "ccspend" / "demo" / "logs")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert float(r.stdout.strip()) > 0
