"""A clean, non-editable install of this checkout, for benchmarks to time.

Why: the ``ccspend`` found on a development machine's PATH is rarely what a
user runs. Here it is a pyenv bash shim in front of an editable install, with
``.pth`` files that import things at every start: ``python -c pass`` costs
about four times as much that way as in a plain venv. A user gets
``pip install ccspend`` (a venv or pipx): a regular install, no shim. So the
benchmarks build exactly that, once per version of the source tree, and time
``DIR/bin/ccspend``.

With a current pip (``PIP``): the console script pip writes is part of every
call, and pip before 25.0 (3.11's bundled 23.2) writes one that imports ``re``
for a suffix only Windows has, some 10 ms of a status-line call on a loaded 2-core
machine; pip 25 and later, uv and pipx (whose shared pip is kept current) write one
without. If pip cannot be upgraded (offline), the bundled one is used and
``wrapper_imports_re`` says so.

    from _venv import ensure_venv
    venv = ensure_venv()            # Path of a venv holding this checkout
    argv = [str(venv / "bin" / "ccspend"), "daily"]

The venv lives in ``$CCSPEND_BENCH_VENVS`` (default
``/tmp/ccspend-bench/venvs``), in a folder named after a hash of the files
that go into the package (``pyproject.toml``, ``README.md``, ``ccspend/``),
so an unchanged tree reuses it and any edit gets a fresh one. Builds are
serialised with a lock file and renamed into place when complete, so two
benchmarks started together never see a half-built venv; beyond the six
newest, venvs unused for half an hour are removed when another is built. The source is
copied to a temp dir before ``pip install``, so the checkout gets no
``build/`` or ``*.egg-info`` from it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = Path(os.environ.get("CCSPEND_BENCH_VENVS", "/tmp/ccspend-bench/venvs"))
# The interpreter a user would have: the real one, not a pyenv shim.
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
_TOP_FILES = ("pyproject.toml", "README.md", "LICENSE")
PIP = "pip>=25"  # its console scripts import no ``re`` (pypa/pip#13166)


class VenvError(Exception):
    """The venv could not be built (pip failed, no network, ...)."""


def _package_files(root: Path) -> list[Path]:
    files = [root / name for name in _TOP_FILES if (root / name).is_file()]
    for folder, dirs, names in os.walk(root / "ccspend"):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")):
                files.append(Path(folder) / name)
    return files


def source_hash(root: Path = ROOT) -> str:
    """A hash of everything the package is built from (paths and contents)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(str(BASE_PYTHON).encode() + PIP.encode())
    for path in _package_files(root):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _copy_source(root: Path, dest: Path) -> None:
    for path in _package_files(root):
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def ensure_venv(root: Path = ROOT, quiet: bool = False) -> Path:
    """A venv with a regular (non-editable) ``pip install`` of ``root``; built if missing."""
    digest = source_hash(root)
    venv = VENVS / f"ccspend-{digest}"
    if (venv / "bin" / "ccspend").is_file() and (venv / ".complete").is_file():
        (venv / ".complete").touch()  # in use: not pruned
        if not quiet:
            print(f"ccspend: reusing clean venv {venv} (source hash {digest})")
        return venv
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another benchmark may be building it
        if (venv / ".complete").is_file():
            return venv
        if not quiet:
            print(f"ccspend: building clean venv {venv} (pip install, not editable) ...",
                  flush=True)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="ccspend-src-") as t:
            src = Path(t) / "src"
            _copy_source(root, src)
            building = Path(str(venv) + f".building-{os.getpid()}")
            shutil.rmtree(building, ignore_errors=True)
            _run([str(BASE_PYTHON), "-m", "venv", str(building)])
            try:
                _run([str(building / "bin" / "python"), "-m", "pip", "install",
                      "--disable-pip-version-check", "--quiet", "--upgrade", PIP])
            except VenvError:
                if not quiet:
                    print("  (could not upgrade pip: its console script imports re)")
            _run([str(building / "bin" / "python"), "-m", "pip", "install",
                  "--disable-pip-version-check", "--quiet", str(src)])
            # The scripts' shebangs name the building folder: rewrite them.
            for script in (building / "bin").iterdir():
                _retarget(script, building, venv)
            (building / ".complete").write_text(digest + "\n")
            shutil.rmtree(venv, ignore_errors=True)
            os.replace(building, venv)
        if not quiet:
            print(f"  built in {time.perf_counter() - t0:.1f}s")
        _prune(keep=venv)
    return venv


def wrapper_imports_re(venv: Path) -> bool:
    """Whether the venv's ``ccspend`` console script imports ``re`` (a pip before 25)."""
    try:
        return b"import re" in (venv / "bin" / "ccspend").read_bytes()
    except OSError:
        return False


def _prune(keep: Path, newest: int = 6, idle_s: float = 1800) -> None:
    """Remove old venvs (130 MB each): beyond the newest few, those unused for a while."""
    done = sorted(VENVS.glob("ccspend-*/.complete"), key=lambda p: p.stat().st_mtime,
                  reverse=True)
    for marker in done[newest:]:
        folder = marker.parent
        if folder != keep and time.time() - marker.stat().st_mtime > idle_s:
            shutil.rmtree(folder, ignore_errors=True)


def _retarget(script: Path, old: Path, new: Path) -> None:
    if not script.is_file() or script.is_symlink():
        return
    data = script.read_bytes()
    if str(old).encode() in data[:4096]:
        script.write_bytes(data.replace(str(old).encode(), str(new).encode()))


def _run(argv: list[str]) -> None:
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise VenvError(f"{' '.join(argv[:4])} ... failed:\n{(p.stderr or p.stdout)[-2000:]}")


if __name__ == "__main__":
    print(ensure_venv())


def sandbox_env(home: Path, claude: Path | None = None, **extra: str) -> dict:
    """This shell's environment with every ccspend, Claude, XDG and PYTHON* setting
    replaced by folders below ``home``: a benchmark never reads the real home's logs,
    settings or data, and its children run as a user's would (no PYTHONDONTWRITEBYTECODE)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLAUDE_", "CCSPEND_", "XDG_", "PYTHON"))}
    env.update(HOME=str(home), CLAUDE_CONFIG_DIR=str(claude or home / "claude"),
               CCSPEND_DB=str(home / "db.duckdb"), CCSPEND_CONFIG_DIR=str(home / "cfg"),
               XDG_DATA_HOME=str(home / "xdg-data"), XDG_CONFIG_HOME=str(home / "xdg-config"),
               XDG_CACHE_HOME=str(home / "xdg-cache"), CCSPEND_NO_BACKGROUND="1")
    env.update(extra)
    return env
