"""The routing policy: tiers in cost order, the rules that pick one, and what bounds them.

Standard library only (plus ``ccspend.core.errors`` and ``ccspend.core.paths``): ``ccspend
route`` must answer fast. See the package docstring (``ccspend.route``) for the
file format and how a user's ``route.toml`` combines with the built-in policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccspend.core.errors import CcspendError
from ccspend.route import text as _text

BUILTIN = "built-in"
DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "data" / "policy.toml"
USER_POLICY_NAME = "route.toml"
STAKES = ("low", "medium", "high")
DEFAULT_MIN_SCORE = 2.0

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class PolicyError(CcspendError):
    """A routing policy file that cannot be used; the message names the file and key."""


# -- the policy in memory ------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """One tier: a model and what it is for. ``model`` is passed to the agent as is."""

    name: str
    model: str
    purpose: str = ""
    enabled: bool = True
    cap_usd: float | None = None
    context_tokens: int | None = None  # overrides the rate card's context window
    use_for: str | None = None  # when usable, takes the work routed to this tier

    @property
    def usable(self) -> bool:
        """Enabled and naming a model."""
        return self.enabled and bool(self.model.strip())


@dataclass(frozen=True)
class Term:
    """A keyword, phrase or pattern of a rule, with its weight."""

    kind: str  # "keyword" | "phrase" | "pattern"
    text: str
    weight: float
    _words: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def find(self, task: _text.Text) -> str | None:
        """The words of the (normalised) task that match, or None."""
        if self._regex is not None:
            m = self._regex.search(task.joined)
            return m.group(0) if m else None
        span = task.find(self._words)
        if span is None:
            return None
        return " ".join(task.tokens[span[0] : span[1]])


@dataclass(frozen=True)
class Rule:
    name: str
    tier: str
    types: tuple[str, ...] = ()
    terms: tuple[Term, ...] = ()
    about: str = ""
    min_score: float | None = None  # None: the policy's min_score
    budget_lower: bool = True  # may a soft budget alert route this one tier lower?
    enabled: bool = True


@dataclass(frozen=True)
class Policy:
    """A validated routing policy. ``tiers`` are in cost order, cheapest first."""

    tiers: tuple[Tier, ...]
    rules: tuple[Rule, ...]
    default_tier: str
    fallback: tuple[str, ...]
    stakes_floor: tuple[tuple[str, str], ...]  # (stakes, lowest tier), e.g. ("high", "standard")
    min_score: float = DEFAULT_MIN_SCORE
    source: str = BUILTIN  # the user's file, or "built-in"
    files: tuple[str, ...] = ()  # every file read, built-in first

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)

    def tier(self, name: str) -> Tier:
        for t in self.tiers:
            if t.name == name:
                return t
        raise KeyError(name)

    def rank(self, name: str) -> int:
        """Position in cost order (0 = cheapest)."""
        return self.tier_names.index(name)

    def floor_for(self, stakes: str) -> str | None:
        return dict(self.stakes_floor).get(stakes)

    def cap_for(self, tier: str) -> float | None:
        """The per-run spending cap of ``tier`` in USD (None: no cap set)."""
        return self.tier(tier).cap_usd

    @property
    def task_types(self) -> dict[str, str]:
        """Every task type the rules know, mapped to its tier (in rule order)."""
        out: dict[str, str] = {}
        for r in self.rules:
            if r.enabled:
                for t in r.types:
                    out.setdefault(t, r.tier)
        return out

    def rule_for_type(self, task_type: str) -> Rule | None:
        for r in self.rules:
            if r.enabled and task_type in r.types:
                return r
        return None


# -- loading -------------------------------------------------------------------


def user_policy_path() -> Path:
    """Where a user's own policy lives: ``<config dir>/route.toml``."""
    from ccspend.core.paths import config_dir

    return config_dir() / USER_POLICY_NAME


def default_policy_text() -> str:
    """The shipped policy file, as text (a starting point for a user's own)."""
    return DEFAULT_POLICY_FILE.read_text("utf-8")


def _read_toml(text: str, origin: str) -> dict[str, Any]:
    import tomllib  # here, not at the top: a cached policy (``route.decide``) never parses

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"route policy {origin}: not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], user: dict[str, Any], origin: str) -> dict[str, Any]:
    """A user's policy over the built-in one (see the package docstring)."""
    out: dict[str, Any] = {}
    for key in user:
        if key not in ("policy", "tiers", "rules", "stakes"):
            raise PolicyError(
                f"route policy {origin}: unknown section {key!r}",
                "expected [policy], [tiers.NAME], [[rules]], [stakes]",
            )
    pol = dict(base.get("policy", {}))
    user_pol = user.get("policy", {})
    if not isinstance(user_pol, dict):
        raise PolicyError(f"route policy {origin}: [policy] must be a table")
    pol.update(user_pol)
    builtin_rules = pol.pop("builtin_rules", True)
    out["policy"] = pol

    tiers = {k: dict(v) if isinstance(v, dict) else v for k, v in base.get("tiers", {}).items()}
    user_tiers = user.get("tiers", {})
    if not isinstance(user_tiers, dict):
        raise PolicyError(f"route policy {origin}: [tiers] must be a table of tables")
    for name, spec in user_tiers.items():
        if not isinstance(spec, dict):
            raise PolicyError(f"route policy {origin}: tiers.{name} must be a table")
        if isinstance(tiers.get(name), dict):
            tiers[name].update(spec)
        else:
            tiers[name] = dict(spec)
    out["tiers"] = tiers

    stakes = dict(base.get("stakes", {}))
    user_stakes = user.get("stakes", {})
    if not isinstance(user_stakes, dict):
        raise PolicyError(f"route policy {origin}: [stakes] must be a table")
    stakes.update(user_stakes)
    out["stakes"] = stakes

    user_rules = user.get("rules", [])
    if not isinstance(user_rules, list):
        raise PolicyError(f"route policy {origin}: rules must be an array of tables ([[rules]])")
    rules = list(base.get("rules", [])) if builtin_rules is not False else []
    index = {r.get("name"): i for i, r in enumerate(rules) if isinstance(r, dict)}
    for r in user_rules:
        name = r.get("name") if isinstance(r, dict) else None
        if name in index:
            rules[index[name]] = r
        else:
            rules.append(r)
    out["rules"] = rules
    return out


def load_policy(path: Path | None = None, *, use_user: bool = True) -> Policy:
    """The policy in force: the built-in one, with the user's file over it if there is one.

    ``path`` names the user's file (default: ``user_policy_path()``); a missing
    file is not an error. ``use_user=False`` gives the built-in policy alone.
    Raises ``PolicyError`` (a ``CcspendError``) naming the file and key when a
    policy is invalid.
    """
    base_text = default_policy_text()
    data = _read_toml(base_text, str(DEFAULT_POLICY_FILE))
    files = [f"{BUILTIN} ({DEFAULT_POLICY_FILE})"]
    source = BUILTIN
    origin = str(DEFAULT_POLICY_FILE)
    if use_user:
        user_path = path if path is not None else user_policy_path()
        if user_path.is_file():
            try:
                user_text = user_path.read_text("utf-8")
            except OSError as exc:
                raise PolicyError(f"route policy {user_path}: {exc.strerror}") from None
            data = _merge(data, _read_toml(user_text, str(user_path)), str(user_path))
            files.append(str(user_path))
            source = str(user_path)
            origin = str(user_path)
    return build_policy(data, origin=origin, source=source, files=tuple(files))


def parse_policy(text: str, origin: str = "<text>") -> Policy:
    """A policy from one TOML text, on its own (no merging with the built-in one)."""
    return build_policy(_read_toml(text, origin), origin=origin, source=origin, files=(origin,))


# -- validation ----------------------------------------------------------------


def _fail(origin: str, key: str, msg: str, hint: str | None = None) -> PolicyError:
    return PolicyError(f"route policy {origin}: {key}: {msg}", hint)


def _str(v: Any, origin: str, key: str, *, empty_ok: bool = True) -> str:
    if not isinstance(v, str):
        raise _fail(origin, key, f"must be a string, got {v!r}")
    if not empty_ok and not v.strip():
        raise _fail(origin, key, "must not be empty")
    return v


def _bool(v: Any, origin: str, key: str) -> bool:
    if not isinstance(v, bool):
        raise _fail(origin, key, f"must be true or false, got {v!r}")
    return v


def _number(v: Any, origin: str, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _fail(origin, key, f"must be a number, got {v!r}")
    return float(v)


def _check_keys(d: Mapping[str, Any], allowed: set[str], origin: str, where: str) -> None:
    for k in d:
        if k not in allowed:
            raise _fail(
                origin, f"{where}.{k}", "unknown key", "allowed: " + ", ".join(sorted(allowed))
            )


def _tier_name(v: Any, names: tuple[str, ...], origin: str, key: str) -> str:
    if not isinstance(v, str) or v not in names:
        raise _fail(origin, key, f"unknown tier {v!r}", "tiers: " + ", ".join(names))
    return v


def _terms(spec: Any, kind: str, origin: str, key: str) -> list[Term]:
    if not isinstance(spec, dict):
        raise _fail(origin, key, 'must be a table of weights, e.g. { "race condition" = 3 }')
    out = []
    for word, weight in spec.items():
        w = _number(weight, origin, f"{key}.{word!r}")
        if kind == "pattern":
            try:
                rx = re.compile(word)
            except re.error as exc:
                raise _fail(origin, f"{key}.{word!r}", f"bad regular expression: {exc}") from None
            out.append(Term(kind, word, w, _regex=rx))
            continue
        try:
            seq = _text.compile_words(word)
        except ValueError as exc:
            raise _fail(origin, f"{key}.{word!r}", str(exc)) from None
        if kind == "keyword" and len(word.split()) != 1:
            raise _fail(origin, f"{key}.{word!r}", "a keyword is one word; put it under phrases")
        out.append(Term(kind, word, w, _words=seq))
    return out


_TIER_KEYS = {"model", "purpose", "enabled", "cap_usd", "context_tokens", "use_for"}
_RULE_KEYS = {
    "name",
    "tier",
    "types",
    "about",
    "keywords",
    "phrases",
    "patterns",
    "min_score",
    "budget_lower",
    "enabled",
}
_POLICY_KEYS = {"default_tier", "fallback", "min_score", "order", "builtin_rules"}


def build_policy(
    data: Mapping[str, Any], *, origin: str, source: str = BUILTIN, files: tuple[str, ...] = ()
) -> Policy:
    """Validate a parsed policy (a dict as from ``tomllib``) into a ``Policy``."""
    for key in data:
        if key not in ("policy", "tiers", "rules", "stakes"):
            raise _fail(
                origin,
                key,
                "unknown section",
                "expected [policy], [tiers.NAME], [[rules]], [stakes]",
            )
    pol = data.get("policy", {})
    if not isinstance(pol, dict):
        raise _fail(origin, "policy", "must be a table")
    _check_keys(pol, _POLICY_KEYS, origin, "policy")

    # tiers, in cost order
    raw_tiers = data.get("tiers")
    if not isinstance(raw_tiers, dict) or not raw_tiers:
        raise _fail(origin, "tiers", "no tiers defined", "add [tiers.NAME] tables, cheapest first")
    names = list(raw_tiers)
    if "order" in pol:
        order = pol["order"]
        if (
            not isinstance(order, list)
            or sorted(map(str, order)) != sorted(names)
            or len(set(order)) != len(order)
        ):
            raise _fail(origin, "policy.order", f"must list each tier once: {', '.join(names)}")
        names = list(order)
    tiers: list[Tier] = []
    for name in names:
        spec = raw_tiers[name]
        where = f"tiers.{name}"
        if not _NAME.match(name):
            raise _fail(origin, where, "tier names are lowercase letters, digits, - and _")
        if not isinstance(spec, dict):
            raise _fail(origin, where, "must be a table")
        _check_keys(spec, _TIER_KEYS, origin, where)
        if "model" not in spec:
            raise _fail(origin, f"{where}.model", "missing", 'name a model, e.g. model = "sonnet"')
        model = _str(spec["model"], origin, f"{where}.model").strip()
        enabled = _bool(spec.get("enabled", True), origin, f"{where}.enabled")
        if enabled and not model:
            raise _fail(origin, f"{where}.model", "an enabled tier needs a model")
        cap = spec.get("cap_usd")
        if cap is not None:
            cap = _number(cap, origin, f"{where}.cap_usd")
            if cap < 0:
                raise _fail(origin, f"{where}.cap_usd", "must be 0 or more")
        ctx = spec.get("context_tokens")
        if ctx is not None and (isinstance(ctx, bool) or not isinstance(ctx, int) or ctx <= 0):
            raise _fail(
                origin, f"{where}.context_tokens", f"must be a positive integer, got {ctx!r}"
            )
        tiers.append(
            Tier(
                name=name,
                model=model,
                purpose=_str(spec.get("purpose", ""), origin, f"{where}.purpose"),
                enabled=enabled,
                cap_usd=cap,
                context_tokens=ctx,
                use_for=spec.get("use_for"),
            )
        )
    tier_names = tuple(t.name for t in tiers)
    for t in tiers:
        if t.use_for is not None:
            _tier_name(t.use_for, tier_names, origin, f"tiers.{t.name}.use_for")
            if t.use_for == t.name:
                raise _fail(origin, f"tiers.{t.name}.use_for", "a tier cannot stand in for itself")
    if not any(t.usable for t in tiers):
        raise _fail(origin, "tiers", "no tier is enabled with a model")

    default_tier = _tier_name(
        pol.get("default_tier", "standard"), tier_names, origin, "policy.default_tier"
    )
    fallback_raw = pol.get("fallback", [])
    if not isinstance(fallback_raw, list):
        raise _fail(origin, "policy.fallback", "must be a list of tier names")
    fallback = tuple(
        _tier_name(f, tier_names, origin, f"policy.fallback[{i}]")
        for i, f in enumerate(fallback_raw)
    )
    if len(set(fallback)) != len(fallback):
        raise _fail(origin, "policy.fallback", "names a tier twice")
    min_score = _number(pol.get("min_score", DEFAULT_MIN_SCORE), origin, "policy.min_score")

    stakes_raw = data.get("stakes", {})
    if not isinstance(stakes_raw, dict):
        raise _fail(origin, "stakes", 'must be a table, e.g. high = "standard"')
    floors: list[tuple[str, str]] = []
    for level, tier in stakes_raw.items():
        if level not in STAKES:
            raise _fail(origin, f"stakes.{level}", "unknown stakes level", "low, medium or high")
        floors.append((level, _tier_name(tier, tier_names, origin, f"stakes.{level}")))

    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise _fail(origin, "rules", "must be an array of tables ([[rules]])")
    rules: list[Rule] = []
    seen: set[str] = set()
    type_tier: dict[str, tuple[str, str]] = {}
    for i, spec in enumerate(raw_rules):
        if not isinstance(spec, dict):
            raise _fail(origin, f"rules[{i}]", "must be a table")
        label = spec.get("name")
        where = f"rules[{i}]" if not isinstance(label, str) else f"rules.{label}"
        _check_keys(spec, _RULE_KEYS, origin, where)
        name = _str(spec.get("name"), origin, f"{where}.name", empty_ok=False)
        if name in seen:
            raise _fail(origin, where, "two rules have this name")
        seen.add(name)
        if "tier" not in spec:
            raise _fail(origin, f"{where}.tier", "missing")
        tier = _tier_name(spec["tier"], tier_names, origin, f"{where}.tier")
        types_raw = spec.get("types", [])
        if not isinstance(types_raw, list) or not all(isinstance(t, str) for t in types_raw):
            raise _fail(origin, f"{where}.types", "must be a list of task type names")
        terms = (
            _terms(spec.get("keywords", {}), "keyword", origin, f"{where}.keywords")
            + _terms(spec.get("phrases", {}), "phrase", origin, f"{where}.phrases")
            + _terms(spec.get("patterns", {}), "pattern", origin, f"{where}.patterns")
        )
        ms = spec.get("min_score")
        rule = Rule(
            name=name,
            tier=tier,
            types=tuple(types_raw),
            terms=tuple(terms),
            about=_str(spec.get("about", ""), origin, f"{where}.about"),
            min_score=None if ms is None else _number(ms, origin, f"{where}.min_score"),
            budget_lower=_bool(spec.get("budget_lower", True), origin, f"{where}.budget_lower"),
            enabled=_bool(spec.get("enabled", True), origin, f"{where}.enabled"),
        )
        if rule.enabled:
            for t in rule.types:
                if t in type_tier and type_tier[t][0] != tier:
                    other = type_tier[t][1]
                    raise _fail(
                        origin,
                        f"{where}.types",
                        f"type {t!r} is also in rule {other!r} on another tier",
                    )
                type_tier.setdefault(t, (tier, name))
        rules.append(rule)
    return Policy(
        tiers=tuple(tiers),
        rules=tuple(rules),
        default_tier=default_tier,
        fallback=fallback,
        stakes_floor=tuple(floors),
        min_score=min_score,
        source=source,
        files=files,
    )


# -- rendering -----------------------------------------------------------------


def _q(s: str) -> str:
    """A TOML basic string."""
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _key(s: str) -> str:
    return s if re.fullmatch(r"[A-Za-z0-9_-]+", s) else _q(s)


def _weights(terms: list[Term]) -> str:
    return "{ " + ", ".join(f"{_key(t.text)} = {_num(t.weight)}" for t in terms) + " }"


def render_policy(policy: Policy) -> str:
    """The policy in force as TOML text, with where it came from in a header comment.

    The text parses back to the same policy (``parse_policy``), so a user can
    save it as ``route.toml`` and edit it.
    """
    lines = [f"# routing policy in force: {policy.source}"]
    for f in policy.files:
        lines.append(f"#   read: {f}")
    lines += ["", "[policy]"]
    lines.append(f"default_tier = {_q(policy.default_tier)}")
    lines.append("fallback = [" + ", ".join(_q(f) for f in policy.fallback) + "]")
    lines.append(f"min_score = {_num(policy.min_score)}")
    lines.append("order = [" + ", ".join(_q(t) for t in policy.tier_names) + "]")
    for t in policy.tiers:
        lines += ["", f"[tiers.{t.name}]"]
        lines.append(f"model = {_q(t.model)}")
        if t.purpose:
            lines.append(f"purpose = {_q(t.purpose)}")
        lines.append(f"enabled = {'true' if t.enabled else 'false'}")
        if t.cap_usd is not None:
            lines.append(f"cap_usd = {_num(t.cap_usd)}")
        if t.context_tokens is not None:
            lines.append(f"context_tokens = {t.context_tokens}")
        if t.use_for is not None:
            lines.append(f"use_for = {_q(t.use_for)}")
    if policy.stakes_floor:
        lines += ["", "[stakes]"]
        lines += [f"{level} = {_q(tier)}" for level, tier in policy.stakes_floor]
    for r in policy.rules:
        lines += ["", "[[rules]]", f"name = {_q(r.name)}", f"tier = {_q(r.tier)}"]
        if r.about:
            lines.append(f"about = {_q(r.about)}")
        lines.append("types = [" + ", ".join(_q(t) for t in r.types) + "]")
        if not r.enabled:
            lines.append("enabled = false")
        if r.min_score is not None:
            lines.append(f"min_score = {_num(r.min_score)}")
        if not r.budget_lower:
            lines.append("budget_lower = false")
        for kind, key in (("keyword", "keywords"), ("phrase", "phrases"), ("pattern", "patterns")):
            terms = [t for t in r.terms if t.kind == kind]
            if terms:
                if kind == "pattern":
                    body = ", ".join(
                        f"{_q(t.text) if chr(39) in t.text else chr(39) + t.text + chr(39)}"
                        f" = {_num(t.weight)}"
                        for t in terms
                    )
                    lines.append(f"{key} = {{ {body} }}")
                else:
                    lines.append(f"{key} = {_weights(terms)}")
    return "\n".join(lines) + "\n"
