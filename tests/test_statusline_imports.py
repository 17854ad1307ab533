"""The status line imports neither ``json`` nor ``re`` (nor ``enum``, nor ``datetime``).

On this project's 2-core machine ``import re`` (``enum`` with it) costs a status-line
call some 10 ms, ``json`` imports ``re``, and ``datetime.py`` some 3 ms more on a call
that reads a new line: together a third of the call. So the call parses JSON with
``json``'s C scanner (``core.fastjson``), normalises a plain model id with string
operations (``pricing.names``), makes text inert without ``re`` when it is plain
(``core.text``) and takes the C ``datetime`` classes (``sources.claude_record``).
Each of those is held here: equal to what it replaces, and never importing it.
"""

import json
import re
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccspend.core.fastjson import loads
from ccspend.pricing.names import normalise_model, strip_iso_date
from tests.conftest import REPO, cli
from tests.logs import assistant, write

HEAVY = ("json", "re", "enum", "datetime", "pathlib", "subprocess", "contextlib")


def test_a_live_call_imports_neither_json_nor_re(sandbox, projects):
    """A call right after a new line (the live regime: a line to parse, a dated model id
    to price) imports none of ``HEAVY``, and counts the new line. Run with ``-S`` on the
    checkout: a venv's ``.pth`` files import some of them first and would hide them."""
    from tests.test_statusline import status

    t = write(projects / "p" / "s.jsonl", [assistant(session="s", msg="m0")])
    assert cli("statusline", "--refresh").returncode == 0  # setup: the summary
    payload = {"session_id": "s", "transcript_path": str(t), "model": {"display_name": "Opus"},
               "rate_limits": {"five_hour": {"used_percentage": 12, "resets_at": 2e9}}}
    first = status(payload)  # the price index and the session's state, kept
    assert first.returncode == 0 and "session $" in first.stdout
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    line = assistant(session="s", msg="m1", req="r1", ts=now, inp=100_000,
                     model="claude-sonnet-4-5-20250929")  # fmt: skip
    with open(t, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r}); import io\n"
            "from ccspend.cli.fast.statusline import run\n"
            f"out = io.StringIO(); run(io.StringIO({json.dumps(payload)!r}), out)\n"
            "print(out.getvalue().strip())\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                       timeout=30)  # fmt: skip
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Opus │ session $"), r.stderr
    assert lines[1] == "[]"
    before = float(first.stdout.split("session $")[1].split()[0])
    after = float(lines[0].split("session $")[1].split()[0])
    assert after == pytest.approx(before + 0.30, abs=0.011)  # 100k input tokens at $3/M


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _outcome(fn, data):
    try:
        return ("ok", repr(fn(data)))
    except (ValueError, TypeError, RecursionError) as exc:  # the error and its message
        return (type(exc).__name__, str(exc))


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from(["", " ", "\n\t", "\r\n  "]), st.booleans(),
       st.sampled_from(["str", "utf-8", "utf-8-sig", "utf-16"]))  # fmt: skip
def test_fastjson_parses_as_json_does(value, pad, ascii_only, form):
    text = pad + json.dumps(value, ensure_ascii=ascii_only) + pad
    data = text if form == "str" else text.encode(form)
    assert _outcome(loads, data) == _outcome(json.loads, data)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet=' \t\n\r{}[]":,0123456789.eE+-truefalsnNIiy\ufeff\\u'),
                 st.binary(max_size=12)))  # fmt: skip
def test_fastjson_refuses_what_json_refuses(data):
    assert _outcome(loads, data) == _outcome(json.loads, data)


@pytest.mark.parametrize("data", ['{"a": 1} x', "", "   ", "\ufeff{}", b"\xef\xbb\xbf[1]",
                                  "[1] [2]", b"\xff\xfe[\x001\x00]\x00", None, 3, "NaN"])
def test_fastjson_edges(data):
    assert _outcome(loads, data) == _outcome(json.loads, data)


PATTERNS = [re.compile(p) for p in (
    r"^(?:[a-z]{2,6}\.)?anthropic\.", r"\[[^\]]*\]$", r"-v\d+(?::\d+)?$",
    r"-(?:\d{8}|latest)$", r"-\d{4}-\d{2}-\d{2}$", r"(?<=\d)\.(?=\d)")]  # fmt: skip


def by_patterns(model_id: str) -> str:
    """``normalise_model`` as it was, with its six patterns only."""
    prefix, bracket, bedrock, date, _iso, dot = PATTERNS
    s = model_id.strip().lower()
    if " " in s:
        s = "-".join(s.split())
    if "/" in s:
        s = s.rsplit("/", 1)[1]
    s = date.sub("", bedrock.sub("", bracket.sub("", prefix.sub("", s).split("@", 1)[0])))
    return dot.sub("-", s) if s.startswith("claude-") else s


IDS = st.one_of(
    st.text(alphabet="abcv0123456789-", max_size=24),
    st.builds(lambda a, b: a + b, st.sampled_from(["claude-sonnet-4-5", "gpt-4o", "x", ""]),
              st.sampled_from(["", "-20250929", "-latest", "-v1", "-v12", "-2024-08-06",
                               "-20250929-v1", "-v1:0", "-2025092", "-202509291", "-v",
                               "-2024-08-6", "_20250929", "\n", "-20250929\n"])),
    st.text(max_size=16),
)


@settings(max_examples=500, deadline=None)
@given(IDS)
def test_plain_ids_normalise_as_the_patterns_do(model_id):
    assert normalise_model(model_id) == by_patterns(model_id)
    norm = by_patterns(model_id)
    assert strip_iso_date(norm) == PATTERNS[4].sub("", norm)
    assert strip_iso_date(model_id) == PATTERNS[4].sub("", model_id)
