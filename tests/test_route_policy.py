"""The routing library: policy loading and validation, and how ``choose`` decides."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ccspend.core.errors import CcspendError, UsageError
from ccspend.route import (
    BUILTIN,
    NoTierAvailable,
    PolicyError,
    choose,
    default_policy_text,
    load_policy,
    parse_policy,
    render_policy,
    user_policy_path,
)
from ccspend.route.text import words

LIGHT_TYPES = [
    "read",
    "summary",
    "reformat",
    "syntax-check",
    "boilerplate",
    "status",
    "classify",
    "triage",
    "label",
    "doc-comment",
    "codemod",
    "review-subagent",
]
STANDARD_TYPES = ["coding-loop", "implement", "pr-review", "test-gen"]
HEAVY_TYPES = [
    "architecture",
    "debug-hard",
    "ambiguous-reasoning",
    "cross-file-refactor",
    "plan",
    "safety-verification",
]


@pytest.fixture
def policy():
    return load_policy(use_user=False)


def write_user_policy(text: str):
    path = user_policy_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


# -- the default policy --------------------------------------------------------


def test_default_policy_loads(policy):
    assert policy.source == BUILTIN
    assert policy.tier_names == ("local", "light", "standard", "heavy")
    assert [policy.tier(t).model for t in policy.tier_names] == ["", "haiku", "sonnet", "opus"]
    assert not policy.tier("local").enabled and not policy.tier("local").usable
    assert policy.default_tier == "standard"
    assert policy.fallback == ("heavy", "standard", "light")
    assert policy.floor_for("high") == "standard"
    assert policy.floor_for("medium") is None
    assert [policy.cap_for(t) for t in ("light", "standard", "heavy")] == [0.5, 2.0, 10.0]


def test_every_task_type_maps_to_its_tier(policy):
    types = policy.task_types
    for t in LIGHT_TYPES:
        assert types[t] == "light", t
    for t in STANDARD_TYPES:
        assert types[t] == "standard", t
    for t in HEAVY_TYPES:
        assert types[t] == "heavy", t


def test_no_user_file_means_built_in(sandbox):
    p = load_policy()
    assert p.source == BUILTIN
    assert not user_policy_path().exists()
    assert user_policy_path().parent == sandbox / "config"


def test_render_round_trips(policy):
    text = render_policy(policy)
    assert text.startswith("# routing policy in force: built-in")
    again = parse_policy(text, "rendered")
    assert again.tiers == policy.tiers
    assert again.rules == policy.rules
    assert again.fallback == policy.fallback
    assert again.stakes_floor == policy.stakes_floor
    assert again.default_tier == policy.default_tier


def test_shipped_file_parses_on_its_own():
    p = parse_policy(default_policy_text(), "policy.toml")
    assert p.tier_names == ("local", "light", "standard", "heavy")


# -- the user's policy ---------------------------------------------------------


def test_user_policy_overrides_keys_and_rules():
    path = write_user_policy(
        """
[policy]
default_tier = "heavy"

[tiers.light]
cap_usd = 0.25

[tiers.local]
enabled = true
model = "ollama:qwen2.5-coder"

[[rules]]
name = "summary"
tier = "light"
types = ["summary"]
keywords = { precis = 3 }

[[rules]]
name = "k8s"
tier = "heavy"
types = ["infra"]
keywords = { kubernetes = 3 }
"""
    )
    p = load_policy()
    assert p.source == str(path)
    assert str(path) in p.files and p.files[0].startswith(BUILTIN)
    assert p.default_tier == "heavy"
    assert p.cap_for("light") == 0.25
    assert p.tier("light").model == "haiku"  # keys not set stay built-in
    assert p.tier("local").usable and p.tier("local").model == "ollama:qwen2.5-coder"
    # the summary rule was replaced wholly: its old words are gone
    summary = next(r for r in p.rules if r.name == "summary")
    assert [t.text for t in summary.terms] == ["precis"]
    assert p.task_types["infra"] == "heavy"
    assert choose("kubernetes ingress keeps dropping", p).tier == "heavy"
    assert choose("nothing to see", p).tier == "heavy"  # the user's default tier
    assert "# routing policy in force: " + str(path) in render_policy(p)
    # use_user=False ignores the file
    assert load_policy(use_user=False).default_tier == "standard"


def test_user_policy_can_turn_off_rules():
    write_user_policy('[[rules]]\nname = "hard-debugging"\ntier = "heavy"\nenabled = false\n')
    p = load_policy()
    d = choose("there is a race condition in the scheduler", p)
    assert "hard-debugging" not in [m.rule for m in d.matches]
    write_user_policy("[policy]\nbuiltin_rules = false\n")
    p = load_policy()
    assert p.rules == ()
    assert choose("summarise the changelog", p).tier == "standard"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[tiers.light\nmodel = 1", "not valid TOML"),
        ("[tiers.light]\nmodel = 3\n", "tiers.light.model"),
        ('[tiers.light]\ncap_usd = "cheap"\n', "tiers.light.cap_usd"),
        ("[tiers.light]\ncap_usd = -1\n", "tiers.light.cap_usd"),
        ('[tiers.light]\ncolour = "blue"\n', "tiers.light.colour"),
        ("[tiers.light]\ncontext_tokens = 0\n", "tiers.light.context_tokens"),
        ('[tiers.light]\nmodel = ""\n', "tiers.light.model"),
        ('[policy]\ndefault_tier = "gigantic"\n', "policy.default_tier"),
        ('[policy]\nfallback = ["heavy", "medium"]\n', "policy.fallback[1]"),
        ('[policy]\nfallback = "heavy"\n', "policy.fallback"),
        ('[stakes]\nextreme = "heavy"\n', "stakes.extreme"),
        ('[stakes]\nhigh = "huge"\n', "stakes.high"),
        ('[[rules]]\nname = "x"\ntier = "nope"\n', "rules.x.tier"),
        ('[[rules]]\nname = "x"\ntier = "light"\nkeywords = { a = "many" }\n', "rules.x.keywords"),
        ('[[rules]]\nname = "x"\ntier = "light"\nkeywords = { "two words" = 1 }\n', "phrases"),
        (
            '[[rules]]\nname = "x"\ntier = "light"\npatterns = { "(" = 1 }\n',
            "bad regular expression",
        ),
        ('[[rules]]\nname = "x"\ntier = "light"\ntypes = ["plan"]\n', "type 'plan'"),
        ('[[rules]]\ntier = "light"\n', "name"),
        ("[routing]\nx = 1\n", "unknown section"),
    ],
)
def test_invalid_user_policy_is_a_one_line_error(text, needle):
    path = write_user_policy(text)
    with pytest.raises(CcspendError) as exc:
        load_policy()
    msg = str(exc.value)
    assert isinstance(exc.value, PolicyError)
    assert "\n" not in msg
    assert str(path) in msg
    assert needle in msg


def test_unknown_type_and_stakes_are_usage_errors(policy):
    with pytest.raises(UsageError, match="unknown task type 'poetry'"):
        choose("x", policy, task_type="poetry")
    with pytest.raises(UsageError, match="unknown stakes"):
        choose("x", policy, stakes="extreme")
    with pytest.raises(UsageError, match="unknown tier"):
        choose("x", policy, unavailable={"mega"})


# -- choose --------------------------------------------------------------------


def test_rules_pick_tiers(policy):
    assert choose("tl;dr the CHANGELOG.md", policy).tier == "light"
    assert choose("fix the failing test in tests/test_x.py", policy).tier == "standard"
    assert choose("there is a race condition in the job queue", policy).tier == "heavy"


def test_nothing_matches_gives_default_tier(policy):
    d = choose("zzz qqq", policy)
    assert d.tier == "standard" and d.rule is None and d.matches == ()
    assert any("default tier" in r for r in d.reasons)


def test_explicit_type_wins_over_words(policy):
    task = "there is a race condition somewhere, summarise the thread"
    assert choose(task, policy).tier == "heavy"
    d = choose(task, policy, task_type="summary")
    assert d.tier == "light" and d.task_type == "summary" and d.rule == "summary"
    assert "explicit type 'summary'" in d.reasons[0]
    assert choose("summarise the README", policy, task_type="debug-hard").tier == "heavy"


def test_high_stakes_floor(policy):
    d = choose("summarise the README", policy, stakes="high")
    assert d.tier == "standard" and d.base_tier == "light"
    assert "high stakes: raised from light to standard" in d.reasons
    # an explicit type does not escape the floor either
    assert choose("x", policy, task_type="label", stakes="high").tier == "standard"
    # low and medium stakes never change the tier
    assert choose("summarise the README", policy, stakes="low").tier == "light"
    assert choose("fix the failing test", policy, stakes="low").tier == "standard"


def test_budget_lowers_one_tier(policy):
    d = choose("fix the failing test", policy, budget_soft=True)
    assert d.tier == "light"
    assert any("past its soft alert: one tier lower, standard -> light" in r for r in d.reasons)
    d = choose("there is a race condition in the job queue", policy, budget_soft="monthly budget")
    assert d.tier == "standard"
    assert any(r.startswith("monthly budget is past its soft alert") for r in d.reasons)


def test_budget_never_below_floor_or_cheapest(policy):
    d = choose("fix the failing test", policy, stakes="high", budget_soft=True)
    assert d.tier == "standard"
    assert any("already the high-stakes floor" in r for r in d.reasons)
    d = choose(
        "there is a race condition in the job queue", policy, stakes="high", budget_soft=True
    )
    assert d.tier == "standard"
    # light is the cheapest usable tier while local is off
    d = choose("summarise the README", policy, budget_soft=True)
    assert d.tier == "light"
    assert any("cheapest" in r for r in d.reasons)


def test_budget_respects_rules_that_forbid_lowering(policy):
    d = choose("security review of the login endpoint", policy, budget_soft=True)
    assert d.tier == "heavy"
    assert any("is not lowered" in r for r in d.reasons)


def test_fallback_chain_when_heavy_unavailable(policy):
    task = "there is a race condition in the job queue"
    d = choose(task, policy, unavailable={"heavy": "rate-limited"})
    assert d.tier == "standard" and d.model == "sonnet"
    assert "heavy is rate-limited: fell back to standard" in d.reasons
    d = choose(task, policy, unavailable={"heavy": "out of credits", "standard": "rate-limited"})
    assert d.tier == "light"
    # a plain collection of names works too
    assert choose(task, policy, unavailable=frozenset({"heavy"})).tier == "standard"


def test_fallback_never_below_floor(policy):
    task = "there is a race condition in the job queue"
    with pytest.raises(NoTierAvailable):
        choose(task, policy, stakes="high", unavailable={"heavy", "standard"})


def test_fallback_from_the_cheapest_goes_up(policy):
    d = choose("summarise the README", policy, unavailable={"light": "rate-limited"})
    assert d.tier == "standard"


def test_context_skips_small_tiers(policy):
    sizes = {"haiku": 200_000, "sonnet": 1_000_000, "opus": 200_000}
    d = choose("summarise the README", policy, context_tokens=300_000, model_context=sizes.get)
    assert d.tier == "standard"
    assert "light cannot hold 300k tokens of context (200k): skipped" in d.reasons
    d = choose("summarise the README", policy, context_tokens=100_000, model_context=sizes.get)
    assert d.tier == "light"
    with pytest.raises(NoTierAvailable, match="1.5M"):
        choose("x", policy, context_tokens=1_500_000, model_context=sizes.get)
    # unknown context windows are taken as big enough
    assert choose("summarise the README", policy, context_tokens=10**7).tier == "light"


def test_context_override_in_policy():
    write_user_policy("[tiers.light]\ncontext_tokens = 8000\n")
    p = load_policy()
    d = choose("summarise the README", p, context_tokens=9000)
    assert d.tier == "standard"


def test_local_disabled_by_default_and_used_when_enabled(policy):
    assert choose("summarise the README", policy).tier == "light"
    write_user_policy('[tiers.local]\nenabled = true\nmodel = "ollama:qwen2.5-coder"\n')
    p = load_policy()
    d = choose("summarise the README", p)
    assert d.tier == "local" and d.model == "ollama:qwen2.5-coder"
    assert choose("x", p, task_type="codemod").tier == "local"
    # only light work goes local
    assert choose("fix the failing test", p).tier == "standard"
    assert choose("race condition in the job queue", p).tier == "heavy"
    # high stakes still never go below standard
    assert choose("summarise the README", p, stakes="high").tier == "standard"
    # local down: back to light
    assert choose("summarise the README", p, unavailable={"local": "not running"}).tier == "light"


def test_explain_mentions_matched_words(policy):
    d = choose("Intermittent deadlock: maybe a race condition in claim_job()?", policy)
    assert d.tier == "heavy" and d.rule == "hard-debugging"
    text = d.explain()
    assert "hard-debugging" in text
    assert "race condition +4" in text
    assert "deadlock" in text and "intermittent" in text
    assert "matched rule 'hard-debugging'" in d.reasons[0]
    data = d.to_dict()
    assert data["tier"] == "heavy" and data["model"] == "opus" and data["cap_usd"] == 10.0
    assert any(h["term"] == "race condition" for h in data["matches"][0]["hits"])


def test_decision_is_frozen(policy):
    d = choose("summarise the README", policy)
    with pytest.raises(AttributeError):
        d.tier = "heavy"  # type: ignore[misc]


# -- matching ------------------------------------------------------------------


def test_words_normalise_paths_spelling_and_punctuation():
    assert words("tl;dr docs/ARCHITECTURE.md") == ["tl", "dr", "_file_"]
    assert words("Summarise what's in config.py") == ["summarize", "whats", "in", "_file_"]
    assert words("/plan the move") == ["plan", "the", "move"]
    assert words("call log.warn in v2.3") == ["call", "log", "warn", "in", "v2", "3"]
    assert words("check encrypt_blob()") == ["check", "encrypt", "blob"]
    assert words("add a .gitignore") == ["add", "a", "_file_", "gitignore"]
    assert words("read/write and/or") == ["read", "write", "and", "or"]
    assert words("post in #eng-updates: done") == [
        "post",
        "in",
        "_channel_",
        "eng",
        "updates",
        "done",
    ]
    assert words("issue #214") == ["issue", "214"]


def test_inflections_and_wildcards_match(policy):
    assert choose("it deadlocked again", policy).tier == "heavy"
    assert choose("summarizing the thread please", policy).tier == "light"
    assert choose("give me a summary of the doc", policy).tier == "light"


# -- import weight -------------------------------------------------------------


def test_route_imports_nothing_heavy():
    code = (
        "import ccspend.route.choose, ccspend.route.policy, ccspend.route; import sys; "
        "print('duckdb' in sys.modules or 'pydantic' in sys.modules or 'typer' in sys.modules "
        "or 'tiktoken' in sys.modules or 'rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
