"""The layers of ``docs/architecture.md``, held by reading every import in the package.

Every ``import`` counts, at the top of a module or inside a function: half of
ccspend's links are function-level imports made for speed, and a test that
read only the top of each file once missed two import cycles. So this test
walks the whole syntax tree of every module.

The rules:
- no import cycle between ccspend's modules;
- each package imports only packages of a lower layer, or its own (``LAYERS``);
- typer, rich and click only under ``cli/``; duckdb and psycopg only under ``store/``;
- ``sys.argv`` is read, and the terminal written (``sys.stdout``, ``sys.stderr``,
  ``print``), only under ``cli/``: a library function that talks is handed its stream;
- no module imports another module's private (``_``-prefixed) names.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from tests.conftest import REPO

PKG = REPO / "ccspend"

# Lowest first. A package may import its own modules and those of any lower layer.
# Packages on one line are one layer and do not import each other.
LAYERS = [
    {"core", "demo"},
    {"sources", "imports", "pricing", "forecast"},
    {"store"},
    {"ingest"},
    {"reports"},
    {"live"},
    {"route"},
    {"run"},
    {"cli"},
]
RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
# ccspend/__init__.py (the version), ``python -m ccspend``, and ``ccspend.entry``: the
# console script's address before 0.2, which old installs' scripts still import
TOP = {"__init__", "__main__", "entry"}
ONLY_UNDER = {"typer": "cli", "rich": "cli", "click": "cli", "duckdb": "store", "psycopg": "store"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The ccspend module ``name`` is, or is in (``ccspend.store.Store`` -> ``ccspend.store``)."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in _modules():
            return ".".join(parts)
        parts.pop()
    return None


@functools.cache
def _imports(module: str) -> tuple[tuple[str, str, int], ...]:
    """Every (imported module, imported name or '', line) of ``module``, wherever it is."""
    path = _modules()[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found += [(source, a.name, node.lineno) for a in node.names]
    return tuple(found)


def _edges(module: str) -> set[str]:
    out = set()
    for source, name, _line in _imports(module):
        if not source.startswith("ccspend"):
            continue
        target = _resolve(f"{source}.{name}") if name else None
        target = target or _resolve(source)
        if target and target != module:
            out.add(target)
    return out


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in _edges(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in _modules():
        if module not in index:
            visit(module)
    return found


def test_every_package_has_a_layer():
    packages = {_package(m) for m in _modules()} - TOP
    assert packages <= set(RANK), f"give these a layer in LAYERS: {packages - set(RANK)}"


def test_no_import_cycle():
    assert _cycles() == []


def test_each_layer_imports_only_lower_layers():
    wrong = []
    for module in _modules():
        here = _package(module)
        if here in TOP:
            continue
        for target in _edges(module):
            there = _package(target)
            if there == here or there == "__init__":
                continue
            if RANK[there] >= RANK[here]:
                wrong.append(f"{module} imports {target} ({here} may not use {there})")
    assert not wrong, "\n".join(wrong)


def test_libraries_only_in_their_layer():
    wrong = []
    for module in _modules():
        for source, _name, line in _imports(module):
            owner = ONLY_UNDER.get(source.split(".")[0])
            if owner and _package(module) != owner:
                wrong.append(f"{module}:{line} imports {source} (only under {owner}/)")
    assert not wrong, "\n".join(wrong)


TERMINAL = {"argv", "stdin", "stdout", "stderr", "__stdout__", "__stderr__"}


def _terminal_uses(module: str) -> list[str]:
    """Where ``module`` reads argv or stdin, or writes to stdout or stderr."""
    found = []
    for node in ast.walk(ast.parse(_modules()[module].read_text())):
        if (isinstance(node, ast.Attribute) and node.attr in TERMINAL
                and isinstance(node.value, ast.Name) and node.value.id == "sys"):
            found.append(f"{module}:{node.lineno} sys.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "sys":
            found += [f"{module}:{node.lineno} sys.{a.name}" for a in node.names
                      if a.name in TERMINAL]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("print", "input")):
            found.append(f"{module}:{node.lineno} {node.func.id}()")
    return found


def test_argv_and_the_terminal_only_in_the_cli():
    wrong = [w for m in _modules() if _package(m) != "cli" for w in _terminal_uses(m)]
    assert not wrong, "\n".join(wrong)


def test_no_private_names_imported_across_modules():
    wrong = []
    for module in _modules():
        for source, name, line in _imports(module):
            if source.startswith("ccspend") and name.startswith("_") and name != "__version__":
                wrong.append(f"{module}:{line} imports {source}.{name}")
    assert not wrong, "\n".join(wrong)


# -- the checker itself: each rule fails on code that breaks it ----------------------


def test_the_checker_sees_imports_inside_functions(tmp_path, monkeypatch):
    pkg = tmp_path / "ccspend"
    (pkg / "core").mkdir(parents=True)
    (pkg / "cli").mkdir()
    for f in ("__init__.py", "core/__init__.py", "cli/__init__.py"):
        (pkg / f).write_text("")
    (pkg / "core" / "a.py").write_text(
        "def f():\n    from ccspend.cli import b\n    import rich\n    print(b)\n")
    (pkg / "cli" / "b.py").write_text("from ccspend.core import a\nimport sys\nsys.argv\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PKG", pkg)
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "REPO", tmp_path)
    _modules.cache_clear()
    _imports.cache_clear()
    try:
        assert _cycles() == [["ccspend.cli.b", "ccspend.core.a"]]
        assert "ccspend.cli.b" in _edges("ccspend.core.a")
        assert any(src == "rich" for src, _n, _l in _imports("ccspend.core.a"))
        assert _terminal_uses("ccspend.core.a") == ["ccspend.core.a:4 print()"]
        assert _terminal_uses("ccspend.cli.b") == ["ccspend.cli.b:3 sys.argv"]
    finally:
        _modules.cache_clear()
        _imports.cache_clear()
