"""Secrets out of what ccspend keeps and shows: a command line, a prompt, a URL.

A run's command goes into the ledger (``runs.command``), the run's journal, its
``--json`` line and ``ccspend runs``; a team target's URL into messages. Each
passes through here first, so what is stored never holds:

- a ``NAME=VALUE`` whose name says key, token, secret, password, auth or
  credential, in any case (``--api-key=…``, ``ANTHROPIC_API_KEY=…``,
  ``db_password=…``, ``?access_token=…``), and the value after such a flag
  (``--token abc``);
- an ``Authorization:`` (or ``X-Api-Key:``, ``Cookie:``) header's value, and
  any ``Bearer``/``Basic`` credential;
- a URL's credentials: ``https://user:***@host``, and a user-only token
  (``https://***@github.com``);
- a known key shape anywhere, a prompt's text included: ``sk-…`` (``sk-ant-``,
  ``sk-or-``), ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``, ``github_pat_``,
  ``xoxa-``/``xoxb-``/``xoxp-``/``xoxr-``/``xoxs-``, ``AKIA`` and 16 more
  characters.

Redacting twice changes nothing. The standard library only (``re``, and
``shlex`` for a command): ``ccspend run`` journals its command before the agent
starts.
"""

from __future__ import annotations

import re

HIDDEN = "***"

# a name that says it holds a secret; a count of tokens (--max-tokens) is not one
_SECRET_NAME = (r"[A-Za-z0-9_.\-]*(?:key|token|secret|passw|pwd|auth(?!or)|credential)"
                r"[A-Za-z0-9_.\-]*")
_COUNT = re.compile(r"tokens$|tokens?[_-]?(?:count|limit|budget)$|^-*max[_-]", re.IGNORECASE)

def _compile() -> tuple[list, re.Pattern]:
    """The rules, compiled on first use: a command with nothing to hide compiles none
    (this is on ``ccspend run``'s start path)."""
    rules = [
        # key shapes, wherever they are
        (re.compile(r"(?<![A-Za-z0-9])(?:sk-(?:ant-|or-|proj-)?|sk_(?:live|test)_|gh[pousr]_|"
                    r"github_pat_|xox[abprs]-)[A-Za-z0-9_\-]{6,}"), HIDDEN),
        (re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"), HIDDEN),
        # a header whose value is a credential: the rest of the argument or line
        (re.compile(r"(?i)\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|"
                    r"private-token|cookie)(\s*:\s*)[^\r\n]+"), rf"\1\2{HIDDEN}"),
        (re.compile(r"(?i)\b(bearer|basic)(\s+)(?!\*\*\*)[A-Za-z0-9._~+/=\-]+"), rf"\1\2{HIDDEN}"),
        # credentials in a URL: user:password@ keeps the user, a user-only token goes
        (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/\s@:]*):[^/\s@]+@"), rf"\1\2:{HIDDEN}@"),
        (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)(?!\*\*\*@)[^/\s@:]+@"), rf"\1{HIDDEN}@"),
    ]
    assign = re.compile(rf"(?<![A-Za-z0-9_.\-])({_SECRET_NAME})(\s*=\s*)"
                        r"(\"[^\"]*\"|'[^']*'|[^\s&;,'\"]+)", re.IGNORECASE)
    _COMPILED.append((rules, assign))
    return rules, assign


_COMPILED: list = []


def _secret_name(name: str) -> bool:
    return bool(re.fullmatch(_SECRET_NAME, name, re.IGNORECASE)) and not _COUNT.search(name)


def _assign(m: re.Match) -> str:
    name, sep, value = m.groups()
    if value == HIDDEN or not _secret_name(name):
        return m.group()
    return f"{name}{sep}{HIDDEN}"


# every rule needs one of these in the text: most arguments (a flag, a model, a prompt
# without a secret) skip the rules
_HINTS = ("=", "://", "sk", "gh", "xox", "akia", "asia", "auth", "key", "token", "cookie",
          "bearer", "basic")


def redact_text(text: str) -> str:
    """``text`` (an argument, a prompt, a URL, a message) with every secret it shows
    replaced by ``***``."""
    low = text.lower() if text else ""
    if not any(h in low for h in _HINTS):
        return text
    rules, assign = _COMPILED[0] if _COMPILED else _compile()
    for pattern, repl in rules:
        text = pattern.sub(repl, text)
    return assign.sub(_assign, text)


def _secret_flag(arg: str) -> bool:
    return _secret_name(arg.lstrip("-"))


def redact_argv(argv: list[str]) -> list[str]:
    """Each argument redacted; the argument after a flag that names a secret
    (``--token abc``, ``--api-key sk-…``) hidden whole."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(HIDDEN)
            hide_next = False
            continue
        if arg.startswith("-") and "=" not in arg and _secret_flag(arg):
            out.append(arg)
            hide_next = True
        elif "=" in arg and _secret_name(arg.split("=", 1)[0].lstrip("-")):
            out.append(arg.split("=", 1)[0] + "=" + HIDDEN)  # the whole value, spaces and all
        elif arg.lower().startswith(("sk-", "sk_", "ghp_", "gho_", "github_pat_", "xox")):
            out.append(HIDDEN)  # a whole argument shaped like a key, however short
        else:
            out.append(redact_text(arg))
    return out


def redact(argv: list[str]) -> str:
    """The command as one shell-quoted line, for the ledger, with its secrets hidden."""
    import shlex

    return shlex.join(redact_argv(argv))


def redact_url(url: str) -> str:
    """A URL as it may be shown in a message: the user name stays, the password (in the
    user part, or a ``password=``, ``token=``, ``…key=`` parameter) goes."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:  # malformed (an unclosed IPv6 bracket): keep only what is surely safe
        return re.sub(r"^([A-Za-z]+://)[^@/]*@", r"\1…@", url).split("?", 1)[0]
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _secret_name(k)], safe="/:")  # fmt: skip
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
