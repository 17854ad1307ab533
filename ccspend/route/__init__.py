"""Model routing: which tier (and so which model) a task should run on, and why.

The library behind ``ccspend route`` and ``ccspend run --route``. It imports the
standard library only (plus ``ccspend.core.errors`` and, lazily, ``ccspend.core.paths``),
so the CLI can answer fast. It does no I/O beyond reading policy files, and
``choose`` does none at all: the caller supplies the situation (budget state,
rate limits seen in the logs, context windows from the rate card).

API
---

``load_policy(path=None, *, use_user=True) -> Policy``
    The policy in force: the built-in one (``ccspend/route/data/policy.toml``)
    with the user's ``<config dir>/route.toml`` over it when that file exists
    (``path`` names another file). ``use_user=False``: built-in only.
    ``Policy.source`` is the user's file or ``"built-in"``; ``Policy.files``
    lists what was read. Invalid policies raise ``PolicyError`` (a
    ``CcspendError``) with a one-line message naming the file and key.

``parse_policy(text, origin="<text>") -> Policy``
    One TOML text on its own, not merged with the built-in policy.

``render_policy(policy) -> str``
    The policy as TOML, with a header saying where it came from (what
    ``ccspend route policy`` prints). It parses back to the same policy.

``user_policy_path() -> Path``, ``default_policy_text() -> str``
    Where a user's policy lives; the shipped file's text.

``choose(task, policy, *, stakes="medium", task_type=None, context_tokens=None,
budget_soft=False, unavailable=frozenset(), model_context=None) -> Decision``
    Pure. ``stakes``: low | medium | high. ``task_type``: an explicit type
    (wins over the wording; ``policy.task_types`` maps each to its tier).
    ``context_tokens``: tiers whose model cannot hold it are skipped upwards;
    ``model_context(model) -> int | None`` gives a model's context window (from
    the rate card; ``None`` means unknown, taken as big enough), unless the
    tier sets ``context_tokens``. ``budget_soft``: True (or a description such
    as ``"monthly budget $50 (82%)"``) when a budget that applies is past its
    soft alert: one tier lower, never below the stakes floor. ``unavailable``:
    tier names, or ``{tier: why}`` such as ``{"heavy": "rate-limited"}``, to
    route around along the policy's fallback chain. Raises ``UsageError`` for
    an unknown stakes level, task type or tier, and ``NoTierAvailable`` (a
    ``CcspendError``) when nothing usable is left.

``score_rules(task, policy) -> list[RuleMatch]``
    Every rule's score on a task, best first (what ``choose`` starts from).

``Decision``
    ``tier``, ``model`` (pass it to the agent as is), ``cap_usd`` (the tier's
    default per-run cap), ``task_type``, ``rule`` (the deciding rule),
    ``base_tier`` (before stakes/budget/availability/context), ``stakes``,
    ``matches`` (``RuleMatch``: rule, tier, score, ``hits`` of ``Hit``: term,
    kind, weight, the words found), ``reasons`` (one line per step taken, e.g.
    ``"high stakes: raised from light to standard"``), ``explain()`` (text for
    ``--explain``) and ``to_dict()`` (for ``--json``).

``Policy``
    ``tiers`` (``Tier``: name, model, purpose, enabled, cap_usd,
    context_tokens, use_for; ``usable`` = enabled with a model) in cost order,
    ``rules``, ``default_tier``, ``fallback``, ``stakes_floor``, ``min_score``;
    helpers ``tier(name)``, ``tier_names``, ``rank(name)``, ``cap_for(name)``,
    ``floor_for(stakes)``, ``task_types``. For the cost table of ``ccspend
    route``, price each usable tier's ``model`` with the rate card.

Policy file format (TOML)
-------------------------

::

    [policy]
    default_tier = "standard"          # when no rule matches
    fallback = ["heavy", "standard", "light"]   # rate-limited/out of credits
    min_score = 2                      # a rule decides from this score up
    # order = ["local", "light", ...]  # optional; else the order of [tiers.*]

    [tiers.light]                      # cheapest first
    model = "haiku"                    # alias or exact id, passed as is
    purpose = "reads, summaries, ..."
    cap_usd = 0.50                     # default cap for `ccspend run --route`
    # context_tokens = 200000          # optional, overrides the rate card
    # enabled = false                  # a tier can be turned off
    # use_for = "light"                # (local) when usable, takes light work

    [stakes]
    high = "standard"                  # lowest tier for high stakes

    [[rules]]
    name = "hard-debugging"
    tier = "heavy"
    types = ["debug-hard"]             # task types this rule stands for
    keywords = { heisenbug = 4, flaky = 3, "summar*" = 3 }
    phrases = { "race condition" = 4, "write ... tests" = 3 }
    patterns = { '\\b1 in \\d+\\b' = 2 }   # regex over the normalised text
    # min_score = 3; budget_lower = false; enabled = false; about = "..."

The shipped file is ``ccspend/route/data/policy.toml``; wheels need
``"ccspend.route" = ["data/*.toml"]`` under ``[tool.setuptools.package-data]``.

Matching rules are in ``ccspend.route.text``: case, punctuation and file names
are normalised; base-form keywords match plurals and verb forms; ``*`` is a
prefix wildcard; ``...`` in a phrase allows up to four words between.

A user's ``route.toml`` goes over the built-in policy: keys under
``[policy]``, each ``[tiers.NAME]`` and ``[stakes]`` replace the built-in ones
key by key (a new tier name adds a tier); a ``[[rules]]`` entry with a
built-in rule's name replaces that rule wholly, ``enabled = false`` turns one
off, other names are added after the built-in rules; ``builtin_rules = false``
under ``[policy]`` drops the built-in rules altogether. For example, to turn
on the local tier::

    [tiers.local]
    enabled = true
    model = "ollama:qwen2.5-coder:14b"
"""

from __future__ import annotations

from ccspend.route.choose import Decision, Hit, NoTierAvailable, RuleMatch, choose, score_rules
from ccspend.route.policy import (
    BUILTIN,
    Policy,
    PolicyError,
    Rule,
    Term,
    Tier,
    default_policy_text,
    load_policy,
    parse_policy,
    render_policy,
    user_policy_path,
)

__all__ = [
    "BUILTIN",
    "Decision",
    "Hit",
    "NoTierAvailable",
    "Policy",
    "PolicyError",
    "Rule",
    "RuleMatch",
    "Term",
    "Tier",
    "choose",
    "default_policy_text",
    "load_policy",
    "parse_policy",
    "render_policy",
    "score_rules",
    "user_policy_path",
]
