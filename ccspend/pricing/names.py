"""Model ids as logs write them, reduced to the names a rate card uses.

Standard library only: the status line maps model ids without loading the card.
It prices a new response on most calls (through ``pricing.index``), and importing
``re`` (and ``enum`` with it) and compiling six patterns would cost such a call some
10 ms. So an id of plain characters (lower-case ASCII letters, digits and hyphens:
``claude-sonnet-4-5-20250929``, the usual shape in a log) is normalised with string
operations, which do what the patterns do to such an id; any other id goes through
the patterns, compiled on first use (``_patterns``). ``tests/test_statusline_imports.py``
holds both ways equal to the patterns on random ids.
"""

from __future__ import annotations

_COMPILED: list = []
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _patterns() -> list:
    """prefix, bracket, Bedrock version, date suffix, ISO date suffix, version dot."""
    if not _COMPILED:
        import re

        _COMPILED.extend(re.compile(p) for p in (
            r"^(?:[a-z]{2,6}\.)?anthropic\.", r"\[[^\]]*\]$", r"-v\d+(?::\d+)?$",
            r"-(?:\d{8}|latest)$", r"-\d{4}-\d{2}-\d{2}$", r"(?<=\d)\.(?=\d)"))  # fmt: skip
    return _COMPILED


def _plain_normalised(s: str) -> str:
    """``normalise_model`` of a plain id (``_PLAIN`` characters only): no prefix, ``@``,
    bracket, colon or dot can be there, so only the Bedrock version (``-v1``) and then
    the date (``-20250929``, ``-latest``) can end it."""
    cut = s.rfind("-v")
    if cut >= 0 and s[cut + 2:].isdigit():  # ASCII here: isdigit is [0-9]
        s = s[:cut]
    if s.endswith("-latest"):
        return s[:-7]
    if len(s) >= 9 and s[-9] == "-" and s[-8:].isdigit():
        return s[:-9]
    return s


def normalise_model(model_id: str) -> str:
    """A model id without provider prefix, date suffix, or deployment suffix.

    ``us.anthropic.claude-sonnet-4-5-20250929-v1:0``, ``anthropic/claude-sonnet-4-5``
    and ``claude-sonnet-4-5-20250929`` are all ``claude-sonnet-4-5``; OpenRouter's
    ``anthropic/claude-sonnet-4.5`` too (Claude's version numbers are written with
    hyphens everywhere else; other families, ``gpt-4.1``, keep their dots).
    """
    s = model_id.strip().lower()
    if set(s) <= _PLAIN:
        return _plain_normalised(s)
    if " " in s:  # a display name, as the Console's CSVs write it: "Claude Sonnet 4.6"
        s = "-".join(s.split())
    if "/" in s:
        s = s.rsplit("/", 1)[1]
    prefix, bracket, bedrock_version, date_suffix, _iso, version_dot = _patterns()
    s = prefix.sub("", s)
    s = s.split("@", 1)[0]
    s = bracket.sub("", s)
    s = bedrock_version.sub("", s)
    s = date_suffix.sub("", s)
    if s.startswith("claude-"):
        s = version_dot.sub("-", s)
    return s


def strip_iso_date(name: str) -> str:
    """``gpt-4o-2024-08-06`` -> ``gpt-4o``: OpenAI's dated snapshots."""
    if set(name) <= _PLAIN:
        if (len(name) >= 11 and name[-11] == name[-6] == name[-3] == "-"
                and (name[-10:-6] + name[-5:-3] + name[-2:]).isdigit()):  # fmt: skip
            return name[:-11]
        return name
    return _patterns()[4].sub("", name)
