"""Owner-only files: the config (webhook URLs), the database and every cache and state
file ccspend keeps are 0600, their folders 0700, whichever command creates them first,
also under a permissive umask (022)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.logs import assistant, write

FAKE = str(Path(__file__).with_name("fake_agent.py"))


def ccspend(*args: str, stdin: str | None = None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "ccspend", *args], input=stdin,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=60, preexec_fn=lambda: os.umask(0o022))  # fmt: skip


def loose(root: Path) -> list[str]:
    """Every file or folder below ``root`` (and root) that others may read or enter."""
    found = []
    for p in [root, *root.rglob("*")]:
        if p.is_symlink():
            continue
        mode = stat.S_IMODE(p.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{p.relative_to(root.parent)} {oct(mode)}")
    return found


def test_every_file_ccspend_keeps_is_owner_only(sandbox, projects):
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    t = write(projects / "p" / "s1.jsonl", [assistant(session="s1", ts=now)])
    card = sandbox / "card" / "rate-card.pickle"  # this test's own, made here
    env = {"CCSPEND_CARD_CACHE": str(card)}
    steps = [
        ("budget", "set", "daily", "5"),  # the config first: it holds webhook URLs
        ("daily",), ("daily",),  # the database, then the answer cache
        ("statusline", "--refresh"),
        ("cap", "override"),
        ("route", "fix a typo in the README"),
        ("run", "--cap", "5", "--", sys.executable, FAKE, "--config", str(sandbox / "claude"),
         "--cwd", str(sandbox / "w"), "--lines", "1", "--every", "0"),
        ("sql", "select count(*) from requests"),
    ]
    for args in steps:
        r = ccspend(*args, env=env)
        assert r.returncode == 0, (args, r.stderr)
    payload = {"session_id": "s1", "transcript_path": str(t), "model": {"id": "claude-opus-4-7"},
               "rate_limits": {"five_hour": {"used_percentage": 10, "resets_at": 2e9}}}
    r = ccspend("statusline", stdin=json.dumps(payload), env=env)
    assert r.returncode == 0 and "session $" in r.stdout, r.stdout
    data, config = sandbox / "data", sandbox / "config"
    assert (config / "config.toml").exists() and (data / "ccspend.duckdb").exists()
    assert card.exists()
    assert not loose(data) + loose(config) + loose(card.parent)


def test_a_world_readable_config_from_before_is_made_owner_only(sandbox):
    """A config.toml written by an older ccspend (or by hand) with the umask's 0644
    holds webhook URLs: the next command that reads it takes the others' access off."""
    config = sandbox / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[budget]\ndaily = 5\n\n[alerts]\nwebhook = "https://hooks.example/T0/s3cret"\n')
    os.chmod(config, 0o644)
    r = ccspend("budget")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
