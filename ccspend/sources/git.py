"""Per-branch cost: the window of a branch's work, from git.

``ccspend --since <branch>`` reports what was spent on that branch since it
left its base: the merge-base with the repository's default branch. Claude
Code logs the branch name on every line (``gitBranch``), so the report keeps
lines of that branch, in that repository, from that moment on.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime

from ccspend.core.errors import UsageError


@dataclass(frozen=True)
class BranchWindow:
    repo_root: str
    branch: str
    base: str  # the default branch it is measured against
    merge_base: str  # commit id
    since: datetime  # committer time of the merge-base


def _git(args: list[str], cwd: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def default_branch(cwd: str) -> str | None:
    head = _git(["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"], cwd)
    if head:
        return head.removeprefix("refs/remotes/")
    for name in ("main", "master", "trunk", "develop"):
        if _git(["rev-parse", "--verify", "--quiet", f"refs/heads/{name}"], cwd):
            return name
    return None


def branch_window(ref: str, cwd: str) -> BranchWindow:
    """The window of ``ref``'s work, or a UsageError saying why there is none."""
    root = _git(["rev-parse", "--show-toplevel"], cwd)
    if root is None:
        raise UsageError(
            f"--since {ref!r} is neither a date (YYYY-MM-DD) nor a git ref here",
            hint="run it inside a git repository, or give a date",
        )
    commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd)
    if commit is None:
        raise UsageError(f"--since {ref!r}: no such date or git ref in {root}")
    name = _git(["rev-parse", "--abbrev-ref", ref], cwd) or ref
    base = default_branch(cwd)
    if base is None:
        raise UsageError(
            f"cannot tell the default branch of {root}", hint="is there a main branch?"
        )
    merge_base = _git(["merge-base", ref, base], cwd)
    if merge_base is None:
        raise UsageError(f"{ref} and {base} share no history")
    when = _git(["show", "-s", "--format=%cI", merge_base], cwd)
    if when is None:
        raise UsageError(f"cannot read the time of commit {merge_base[:12]}")
    return BranchWindow(root, name, base, merge_base, datetime.fromisoformat(when))
