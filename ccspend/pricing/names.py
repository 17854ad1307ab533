"""Model ids as logs write them, reduced to the names a rate card uses.

Standard library only: the status line maps model ids without loading the card.
"""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^(?:[a-z]{2,6}\.)?anthropic\.")
_BRACKET = re.compile(r"\[[^\]]*\]$")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|latest)$")
_ISO_DATE_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")


def normalise_model(model_id: str) -> str:
    """A model id without provider prefix, date suffix, or deployment suffix.

    ``us.anthropic.claude-sonnet-4-5-20250929-v1:0``, ``anthropic/claude-sonnet-4-5``
    and ``claude-sonnet-4-5-20250929`` are all ``claude-sonnet-4-5``; OpenRouter's
    ``anthropic/claude-sonnet-4.5`` too (Claude's version numbers are written with
    hyphens everywhere else; other families, ``gpt-4.1``, keep their dots).
    """
    s = model_id.strip().lower()
    if " " in s:  # a display name, as the Console's CSVs write it: "Claude Sonnet 4.6"
        s = "-".join(s.split())
    if "/" in s:
        s = s.rsplit("/", 1)[1]
    s = _PREFIX.sub("", s)
    s = s.split("@", 1)[0]
    s = _BRACKET.sub("", s)
    s = _BEDROCK_VERSION.sub("", s)
    s = _DATE_SUFFIX.sub("", s)
    if s.startswith("claude-"):
        s = _VERSION_DOT.sub("-", s)
    return s


def strip_iso_date(name: str) -> str:
    """``gpt-4o-2024-08-06`` -> ``gpt-4o``: OpenAI's dated snapshots."""
    return _ISO_DATE_SUFFIX.sub("", name)
