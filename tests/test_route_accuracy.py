"""How often the default routing policy agrees with labelled tasks (tests/route_cases/).

``tuning.toml`` is for tuning the rules: its misses are printed case by case.
``holdout.toml`` is for measurement only: this test reports only aggregate
numbers for it (accuracy, and how many high-stakes tasks landed below
standard), never a case, so that the rules cannot be tuned on it by accident.
Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ccspend.route import choose, load_policy

CASES = Path(__file__).resolve().parent / "route_cases"
TARGET = 0.90
ORDER = ("local", "light", "standard", "heavy")


def _cases(name: str) -> list[dict]:
    with (CASES / name).open("rb") as f:
        return tomllib.load(f)["case"]


def _run(name: str) -> tuple[int, int, int, int, list[str]]:
    """(cases, agreed, high-stakes cases, high-stakes below standard, miss lines)."""
    policy = load_policy(use_user=False)
    n = agreed = high = below = 0
    misses: list[str] = []
    for case in _cases(name):
        stakes = case.get("stakes", "medium")
        d = choose(case["task"], policy, stakes=stakes, task_type=case.get("type"))
        n += 1
        if d.tier == case["tier"]:
            agreed += 1
        else:
            misses.append(
                f"  want {case['tier']}, got {d.tier}: {case['task']!r}\n"
                f"    ({case.get('why', '')}) {'; '.join(d.reasons)}"
            )
        if stakes == "high":
            high += 1
            if ORDER.index(d.tier) < ORDER.index("standard"):
                below += 1
    return n, agreed, high, below, misses


def test_tuning_set():
    n, agreed, high, below, misses = _run("tuning.toml")
    print(f"\ntuning accuracy: {agreed / n:.1%} ({agreed}/{n})")
    for line in misses:
        print(line)
    assert n >= 60
    assert below == 0, f"{below} high-stakes tuning case(s) routed below standard"
    assert agreed / n >= TARGET


def _holdout_figures() -> tuple[int, float, int, int]:
    """Only aggregates leave this function: no task text, no per-case result."""
    n, agreed, high, below, _misses = _run("holdout.toml")
    return n, agreed / n, high, below


def test_holdout_set():
    if not (CASES / "holdout.toml").is_file():
        pytest.skip("no holdout set")
    n, accuracy, high, below = _holdout_figures()
    print(
        f"\nholdout accuracy: {accuracy:.1%} of {n} cases; high-stakes below standard: {below} of {high}"
    )
    assert n > 0
    assert below == 0
    assert accuracy >= TARGET
