"""Turning a task description into words, and matching a policy's terms against them.

Standard library only. The rules are meant to be read and edited by people, so
matching is deliberately simple and predictable:

- Text is lowercased; apostrophes vanish (``what's`` -> ``whats``); every other
  non-alphanumeric character separates words (``tl;dr`` -> ``tl dr``,
  ``cross-file`` -> ``cross file``, ``encrypt_blob()`` -> ``encrypt blob``).
- File paths and file names (``docs/ARCHITECTURE.md``, ``config.py``) become
  the single word ``_file_``, so a file called ``ARCHITECTURE.md`` does not
  count as the word *architecture*; a dotfile also keeps its name
  (``.gitignore`` -> ``_file_ gitignore``). Dotted code names (``log.warn``)
  and slash commands (``/plan``) are words, not files. A chat channel
  (``#eng-updates``) adds the word ``_channel_`` before its name.
- Build files without an extension (``Makefile``, ``Dockerfile``) are files
  too and keep their name (``_file_ makefile``); so does ``__init__.py``
  (``_file_ init``), whose name says what it is for.
- British and American spellings are folded (``summarise`` = ``summarize``,
  ``analyse`` = ``analyze``).
- Contractions are one word however they are typed: ``don't`` = ``dont`` =
  ``do not`` -> ``dont``; ``what's`` = ``what is`` -> ``whats``; ``can't`` =
  ``cannot`` = ``can not`` -> ``cant``. A possessive ``'s`` is dropped.
- Chat shorthand is spelled out: ``pls`` -> ``please``, ``w/`` -> ``with``,
  ``thru`` -> ``through``, ``repro`` -> ``reproduce``, ``dupes`` ->
  ``duplicates``, ``prod`` -> ``production``, ``db`` -> ``database``,
  ``msg`` -> ``message`` (see ``_SHORTHAND``).
- A keyword written in its base form also matches its plural and verb forms:
  ``fix`` matches *fixes, fixed, fixing*; ``summarize`` matches *summarizes,
  summarized, summarizing*; ``copy`` matches *copies, copied*; ``stop``
  matches *stopped, stopping* (see ``lemmas``).
- A keyword ending in ``*`` matches every word starting with it
  (``summar*`` matches *summary, summarise, summarized*).
- A phrase is a sequence of such words that must appear in order, next to each
  other; ``...`` inside a phrase allows up to four other words in between
  (``"write ... tests"`` matches *write unit tests for*).
- A phrase starting with ``^`` must open the task, after words that only ask
  politely (``please``, ``can you``, ``just``, ``quickly``: see ``_OPENERS``):
  ``"^ triage"`` matches *triage these issues* and *can you triage these
  issues*, not *the triage bot is broken*. What a task asks for usually comes
  first; what it is about comes later.
- A pattern is a Python regular expression searched in the normalised text
  (lowercase words separated by single spaces, file names as ``_file_``).
"""

from __future__ import annotations

import re

FILE_TOKEN = "_file_"
CHANNEL_TOKEN = "_channel_"
START = "^"
_CHANNEL = re.compile(r"^#[a-z][\w-]*[,.:;!?]?$")
GAP = "..."
GAP_MAX = 4

# A chunk of text (between spaces) that names a file or a path. Dotted names
# with other endings (log.warn, asyncio.gather) are code, not files.
_EXTENSIONS = frozenset(
    {
        "py",
        "pyi",
        "ipynb",
        "md",
        "rst",
        "txt",
        "adoc",
        "json",
        "jsonl",
        "yaml",
        "yml",
        "toml",
        "ini",
        "cfg",
        "conf",
        "env",
        "lock",
        "csv",
        "tsv",
        "xml",
        "html",
        "htm",
        "css",
        "scss",
        "sass",
        "less",
        "js",
        "mjs",
        "cjs",
        "jsx",
        "ts",
        "tsx",
        "vue",
        "svelte",
        "go",
        "rs",
        "java",
        "kt",
        "kts",
        "scala",
        "rb",
        "php",
        "c",
        "h",
        "cc",
        "cpp",
        "hpp",
        "cs",
        "swift",
        "m",
        "mm",
        "dart",
        "ex",
        "exs",
        "erl",
        "hs",
        "lua",
        "pl",
        "r",
        "jl",
        "sh",
        "bash",
        "zsh",
        "fish",
        "ps1",
        "bat",
        "sql",
        "proto",
        "graphql",
        "gql",
        "tf",
        "tfvars",
        "hcl",
        "dockerfile",
        "gradle",
        "sbt",
        "cmake",
        "mk",
        "log",
        "pem",
        "crt",
        "key",
        "pdf",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "zip",
        "gz",
        "tgz",
        "tar",
        "whl",
        "example",
        "sample",
        "template",
        "tmpl",
        "j2",
        "bak",
        "diff",
        "patch",
    }
)
# Files named without an extension, whose name says what they are.
_BARE_FILES = frozenset(
    {
        "makefile",
        "gnumakefile",
        "dockerfile",
        "containerfile",
        "jenkinsfile",
        "procfile",
        "gemfile",
        "rakefile",
        "vagrantfile",
        "justfile",
        "brewfile",
        "podfile",
        "caddyfile",
        "codeowners",
    }
)
# Files named in capitals by convention: README, LICENSE (a lowercase
# "license" in a sentence is a word).
_CAPS_FILES = frozenset({"README", "LICENSE", "LICENCE", "CHANGELOG", "CONTRIBUTING", "NOTICE"})
_FILENAME = re.compile(r"^\.?[\w-]+(?:\.[\w-]+)*\.([a-z0-9]+)$", re.IGNORECASE)
_DOTFILE = re.compile(r"^\.[a-z][\w-]*(?:\.[\w-]+)*$", re.IGNORECASE)
_NOT_FILES = {"e.g", "i.e", "etc", "vs", "a.k.a", "n.b"}
_STRIP_CHUNK = "`'\"()[]{}<>,;:!?*"
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")  # snake_case names count as their words
_APOSTROPHES = re.compile(r"(?<=[a-z])['\u2019](?=[a-z])")


# "Makefile's" -> "Makefile"; but "it's", "what's" are contractions (-> its, whats).
_POSSESSIVE = re.compile(
    r"(?<![\w-])(?!(?:it|what|that|there|here|where|who|how|let|he|she)['\u2019]s$)"
    r"([\w.\-/]+)['\u2019]s$",
    re.IGNORECASE,
)
_DUNDER = re.compile(r"^__([a-z]+)__\.py$")


def _bare_file(chunk: str) -> str | None:
    """The name of an extensionless file named in ``chunk`` (Makefile, README), or None."""
    c = _POSSESSIVE.sub(r"\1", chunk.strip(_STRIP_CHUNK).rstrip("."))
    if c.lower() in _BARE_FILES:
        return c.lower()
    if c in _CAPS_FILES:
        return c.lower()
    return None


def _is_path(chunk: str) -> bool:
    c = _POSSESSIVE.sub(r"\1", chunk.strip(_STRIP_CHUNK).rstrip("."))
    if not c or c.lower() in _NOT_FILES or c.lower() in _SHORTHAND_CHUNKS:
        return False
    if "/" in c:
        parts = [p for p in c.split("/") if p]
        if c.startswith("/") and len(parts) == 1 and "." not in c:
            return False  # a slash command such as /plan or /review
        # "and/or", "read/write", "client/server" are words, not paths
        return (
            c.startswith(("/", "~", "./", "../"))
            or c.endswith("/")
            or len(parts) >= 3
            or any("." in p or "_" in p for p in parts)
        )
    if _DOTFILE.match(c):
        return True
    m = _FILENAME.match(c)
    if m:
        return m.group(1).lower() in _EXTENSIONS
    return False


_BRITISH = re.compile(r"(?<=\w\w\w)(is|ys)(e|ed|es|ing|ation|ations)$")


def _fold_spelling(word: str) -> str:
    """British -> American spelling for the -ise/-yse families (applied to both sides)."""
    if "s" not in word:
        return word
    return _BRITISH.sub(lambda m: m.group(1)[0] + "z" + m.group(2), word)


# Chat shorthand, spelled out (on both sides: the task and the policy's terms).
_SHORTHAND = {
    "pls": ["please"],
    "plz": ["please"],
    "thru": ["through"],
    "tho": ["though"],
    "u": ["you"],
    "ur": ["your"],
    "repro": ["reproduce"],
    "repros": ["reproduces"],
    "dupe": ["duplicate"],
    "dupes": ["duplicates"],
    "prod": ["production"],
    "db": ["database"],
    "dbs": ["databases"],
    "msg": ["message"],
    "msgs": ["messages"],
    "perf": ["performance"],
    "deps": ["dependencies"],
    "cannot": ["cant"],
}
# Shorthand written with a slash, which would otherwise look like a path.
_SHORTHAND_CHUNKS = {"w/": ["with"], "w/o": ["without"], "b/c": ["because"], "b/w": ["between"]}
# Two words that are one contraction: "do not" -> "dont", like "don't".
_CONTRACT = {
    ("do", "not"): "dont",
    ("does", "not"): "doesnt",
    ("did", "not"): "didnt",
    ("is", "not"): "isnt",
    ("are", "not"): "arent",
    ("was", "not"): "wasnt",
    ("can", "not"): "cant",
    ("could", "not"): "couldnt",
    ("should", "not"): "shouldnt",
    ("would", "not"): "wouldnt",
    ("will", "not"): "wont",
    ("have", "not"): "havent",
    ("has", "not"): "hasnt",
    ("what", "is"): "whats",
    ("where", "is"): "wheres",
    ("that", "is"): "thats",
    ("there", "is"): "theres",
    ("it", "is"): "its",
    ("you", "are"): "youre",
    ("they", "are"): "theyre",
    ("i", "am"): "im",
    ("let", "us"): "lets",
}
_CONTRACT_FIRST = frozenset(a for a, _ in _CONTRACT)


def _contract(ws: list[str]) -> list[str]:
    """Join two-word forms of contractions into their one-word form."""
    if not any(w in _CONTRACT_FIRST for w in ws[:-1]):
        return ws
    out: list[str] = []
    i = 0
    while i < len(ws):
        if i + 1 < len(ws) and (ws[i], ws[i + 1]) in _CONTRACT:
            out.append(_CONTRACT[ws[i], ws[i + 1]])
            i += 2
        else:
            out.append(ws[i])
            i += 1
    return out


def words(text: str) -> list[str]:
    """The normalised words of ``text`` (see the module docstring)."""
    out: list[str] = []
    for chunk in text.split():
        low = chunk.lower().strip(_STRIP_CHUNK)
        if low in _SHORTHAND_CHUNKS:
            out += _SHORTHAND_CHUNKS[low]
            continue
        bare_file = _bare_file(chunk)
        if bare_file is not None:
            out += [FILE_TOKEN, bare_file]
            continue
        if _is_path(chunk):
            out.append(FILE_TOKEN)
            bare = chunk.strip(_STRIP_CHUNK)
            if bare.startswith(".") and "/" not in bare:
                # a dotfile's name says what it is: .gitignore, .env.example
                out += [w for w in _WORD_SPLIT.split(bare.lower()) if w]
            elif dunder := _DUNDER.match(bare.lower()):
                out.append(dunder.group(1))  # __init__.py: a package marker
            continue
        chunk = _POSSESSIVE.sub(r"\1", chunk.lower().strip(_STRIP_CHUNK).rstrip("."))
        chunk = _APOSTROPHES.sub("", chunk)
        if _CHANNEL.match(chunk):
            out.append(CHANNEL_TOKEN)  # a chat channel: #eng-updates
        for w in _WORD_SPLIT.split(chunk):
            if w:
                if w in _SHORTHAND:
                    out += _SHORTHAND[w]
                else:
                    out.append(_fold_spelling(w))
    return _contract(out)


# Words that open a task only to ask politely; a "^" phrase matches after them.
_OPENERS = frozenset(
    {
        "please", "kindly", "can", "could", "would", "will", "you", "hey", "hi", "ok", "okay",
        "so", "just", "quickly", "quick", "now", "also", "then", "go", "ahead", "and",
        "i", "id", "like", "need", "want", "to", "help", "me", "lets",
    }
)  # fmt: skip


def _lead(tokens: list[str]) -> int:
    """Where the task proper starts: after the polite openers."""
    i = 0
    while i < len(tokens) - 1 and tokens[i] in _OPENERS:
        i += 1
    return i


def lemmas(token: str) -> frozenset[str]:
    """The base forms ``token`` may be an inflection of: fixes -> fix, copied -> copy.

    Generous on purpose (a base that is no keyword does no harm): a keyword
    matches a word when the keyword is among the word's lemmas.
    """
    t = token
    out = {t}
    n = len(t)
    if n > 2 and t.endswith("s"):
        out.add(t[:-1])
        if t.endswith("es"):
            out.add(t[:-2])
            if t.endswith("ies"):
                out.add(t[:-3] + "y")
    if n > 3 and t.endswith("d"):
        out.add(t[:-1])  # used -> use
        if t.endswith("ed"):
            out.add(t[:-2])
            if t.endswith("ied"):
                out.add(t[:-3] + "y")
            if n > 4 and t[-3] == t[-4]:
                out.add(t[:-3])  # stopped -> stop
    if n > 4 and t.endswith("ing"):
        out.add(t[:-3])
        out.add(t[:-3] + "e")  # making -> make
        if n > 5 and t[-4] == t[-5]:
            out.add(t[:-4])  # running -> run
    if n > 4 and t.endswith("er") and t[-3] == t[-4]:
        out.add(t[:-3])  # planner -> plan
    return frozenset(out)


class Text:
    """A task description, normalised and indexed for matching."""

    __slots__ = ("tokens", "joined", "lead", "_lemmas", "_at")

    def __init__(self, text: str) -> None:
        self.tokens = words(text)
        self.joined = " ".join(self.tokens)
        self.lead = _lead(self.tokens)
        self._lemmas = [lemmas(t) for t in self.tokens]
        at: dict[str, list[int]] = {}
        for i, ls in enumerate(self._lemmas):
            for base in ls:
                at.setdefault(base, []).append(i)
        self._at = at

    def has(self, base: str) -> bool:
        return base in self._at

    def find(self, seq: tuple[tuple[str, str], ...]) -> tuple[int, int] | None:
        """The first (start, end) span of words matching a compiled term, or None."""
        at = self._at
        for kind, value in seq:
            if kind == "w" and value not in at:
                return None  # a word the task does not have: no need to look further
        kind, value = seq[0]
        if kind == "s":  # must open the task
            end = self._match(seq, self.lead, 1)
            return (self.lead, end) if end is not None else None
        starts = at[value] if kind == "w" else range(len(self.tokens))
        for start in starts:
            end = self._match(seq, start, 0)
            if end is not None:
                return start, end
        return None

    def _match(self, seq: tuple[tuple[str, str], ...], i: int, j: int) -> int | None:
        # match seq[j:] from token i; the end index, or None
        if j == len(seq):
            return i
        kind, value = seq[j]
        if kind == "g":
            for skip in range(GAP_MAX + 1):
                if i + skip > len(self.tokens):
                    break
                end = self._match(seq, i + skip, j + 1)
                if end is not None:
                    return end
            return None
        if i >= len(self.tokens):
            return None
        ok = value in self._lemmas[i] if kind == "w" else self.tokens[i].startswith(value)
        return self._match(seq, i + 1, j + 1) if ok else None


_PLAIN = re.compile(r"^[a-z ]+$")


def compile_words(term: str) -> tuple[tuple[str, str], ...]:
    """Compile a keyword or phrase into ``(kind, value)`` parts.

    Kinds: ``"w"`` a word (in base form), ``"p"`` a prefix (``summar*``), ``"g"``
    a gap (``...``), ``"s"`` the start of the task (``^``, first only). The
    words go through the same normalisation as a task's (``words``). Raises
    ValueError when the term has no words.
    """
    if _PLAIN.match(term):  # the common case, quickly: plain words, no file names
        plain: list[str] = []
        for w in term.split():
            plain += _SHORTHAND.get(w) or [_fold_spelling(w)]
        if plain:
            return tuple(("w", w) for w in _contract(plain))
    out: list[tuple[str, str]] = []
    raws = term.split()
    if raws and raws[0] == START:
        out.append(("s", ""))
        raws = raws[1:]
    for raw in raws:
        if raw in (FILE_TOKEN, CHANNEL_TOKEN):
            out.append(("w", raw))
        elif raw == GAP:
            if out and out[-1][0] != "g":
                out.append(("g", ""))
        elif raw.endswith("*") and len(raw) > 1:
            stem = words(raw[:-1])
            if len(stem) != 1:
                raise ValueError(f"a wildcard must be one word, got {raw!r}")
            out.append(("p", stem[0]))
        else:
            out += [("w", w) for w in words(raw)]
    while out and out[-1][0] == "g":
        out.pop()
    if not any(k in ("w", "p") for k, _ in out):
        raise ValueError(f"no words in {term!r}")
    if out[0][0] == "g":
        out.pop(0)
    if out[0][0] == "s" and len(out) > 1 and out[1][0] == "g":
        out.pop(1)  # "^ ... x" would be "x" anywhere near the start: just "^ x"
    return _contract_parts(out)


def _contract_parts(parts: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``_contract`` over the adjacent words of a compiled term (terms written "do not")."""
    out: list[tuple[str, str]] = []
    for kind, value in parts:
        if kind == "w" and out and out[-1][0] == "w" and (out[-1][1], value) in _CONTRACT:
            out[-1] = ("w", _CONTRACT[out[-1][1], value])
        else:
            out.append((kind, value))
    return tuple(out)
