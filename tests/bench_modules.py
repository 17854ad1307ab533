"""The benchmarks' generators and checkers (``bench/``), loaded as modules for the tests.

They are scripts, not a package: an independent implementation of the log and pricing
rules that shares no code with ccspend, so the tests load them by path.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name: str):
    """``bench/<name>.py`` as a module (kept in ``sys.modules`` as ``bench_<name>``)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod
