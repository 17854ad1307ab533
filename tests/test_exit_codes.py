"""Exit codes are an API: ``ExitCode`` names every one ccspend returns, and the README's
table documents exactly those."""

import re

from ccspend.core.errors import ExitCode
from tests.conftest import REPO


def _documented() -> set[int]:
    text = (REPO / "README.md").read_text()
    table = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)}


def test_the_readme_documents_every_exit_code():
    assert _documented() == {int(c) for c in ExitCode}


def test_no_exit_code_is_written_as_a_bare_number():
    """A literal exit code in a ``sys.exit``/``return``/``typer.Exit`` escapes ``ExitCode``."""
    codes = {str(int(c)) for c in ExitCode} - {"0", "1"}
    pattern = re.compile(r"(sys\.exit|typer\.Exit|_exit)\((" + "|".join(codes) + r")\)")
    wrong = [f"{p.relative_to(REPO)}:{n}" for p in (REPO / "ccspend").rglob("*.py")
             for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not wrong, wrong


def test_a_system_error_is_one_line_with_or_without_a_file(capsys):
    """A closed pipe (``ccspend session --json | head``) has no file name: the line reads
    ``error: Broken pipe``, not ``error:: Broken pipe``."""
    import errno

    from ccspend.cli.exits import say

    assert say(BrokenPipeError(errno.EPIPE, "Broken pipe")) == ExitCode.ERROR
    assert say(FileNotFoundError(errno.ENOENT, "No such file or directory", "/x/y.csv")) == 1
    assert capsys.readouterr().err.splitlines() == [
        "ccspend: error: Broken pipe", "ccspend: error: /x/y.csv: No such file or directory"]
