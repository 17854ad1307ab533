"""DuckDB, PostgreSQL and SQL live only under ``ccspend/store/``.

The store is where the one-writer rule of DuckDB, the advisory locks of the
PostgreSQL exporters and the transactions are kept: a query written elsewhere
would bypass them, and a schema change would have to be hunted for across the
package. So every other module asks the store by name (``store.cap_decisions``,
``store.export.write_parquet``, ...) and gets plain rows back.

This test reads the syntax tree of every module outside ``ccspend/store/`` and
fails on:

- a string that is SQL: one that starts with a statement keyword (``SELECT``,
  ``INSERT``, ``COPY``, ``BEGIN``...), or holds a clause (``FROM x``, ``WHERE x``,
  ``GROUP BY``, ``ON CONFLICT``...), a cast (``CAST(``, ``::BIGINT``) or a column
  type (``BIGINT NOT NULL``). Keywords count in capitals only, so prose does not
  trip it; f-strings are read whole, with ``{}`` for their fields. Docstrings are
  prose and are skipped;
- an import of a database driver (duckdb, psycopg, sqlite3...) or of
  ``ccspend.store.engine``, wherever it is (at the top, inside a function, under
  ``TYPE_CHECKING``), and ``importlib.import_module("duckdb")`` and its kin;
- a call of a DB-API method (``.execute(``, ``.fetchall(``, ``.cursor(``...): a
  connection handed out by the store is passed back to it, never queried.

The last tests run the checker on small snippets, so a checker that sees
nothing cannot pass for a clean package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

PKG = REPO / "ccspend"
STORE = PKG / "store"

STATEMENT = re.compile(
    r"^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|COPY|ATTACH|DETACH|WITH|PRAGMA"
    r"|BEGIN|COMMIT|ROLLBACK|CHECKPOINT|INSTALL|LOAD|EXPORT DATABASE|IMPORT DATABASE|SET"
    r"|TRUNCATE|MERGE|VACUUM|EXPLAIN|DESCRIBE|SUMMARIZE)\b"
    r"(?![,.…:/])"  # "SELECT, WITH, FROM…": a list of keywords in a help text
)
CLAUSE = re.compile(
    r"\b(FROM|JOIN|INTO|WHERE|GROUP BY|ORDER BY|PARTITION BY|ON CONFLICT|DO UPDATE|LIMIT"
    r"|UNION ALL|RETURNING|IS DISTINCT FROM|IS NOT NULL|IS NULL|FILTER \(WHERE|CASE WHEN"
    r"|WHEN '|THEN '|LEFT JOIN)\s+[\w\"'($?{*]"
)
CAST = re.compile(
    r"\bCAST\s*\(|::\s*(BIGINT|VARCHAR|DECIMAL|DOUBLE|DATE|TIMESTAMPTZ|TIMESTAMP|INTEGER|TEXT"
    r"|BOOLEAN)\b|\bAS (BIGINT|VARCHAR|DECIMAL|DOUBLE|TIMESTAMPTZ|INTEGER)\b"
)
COLUMN_TYPE = re.compile(
    r"^\s*(TEXT|BIGINT|NUMERIC|DECIMAL|TIMESTAMPTZ|TIMESTAMP|VARCHAR|INTEGER|DOUBLE|BOOLEAN"
    r"|SERIAL)\b(\s*\(|\s+NOT NULL|\s+PRIMARY KEY|\s+DEFAULT|\s*$)"
)
DRIVERS = {"duckdb", "_duckdb", "psycopg", "psycopg2", "psycopg_pool", "sqlite3", "sqlalchemy",
           "asyncpg", "pg8000"}  # fmt: skip
ENGINE = "ccspend.store.engine"  # DuckDB itself, re-exported: the store's alone
# (not ``description``, ``commit``, ``close``: other objects have them too)
DB_API = {"execute", "executemany", "executescript", "fetchone", "fetchall", "fetchmany",
          "fetchdf", "fetch_df", "fetchnumpy", "fetch_arrow_table", "fetcharrow", "cursor"}  # fmt: skip


def _is_sql(text: str) -> bool:
    return bool(STATEMENT.search(text) or CLAUSE.search(text) or CAST.search(text)
                or COLUMN_TYPE.search(text))  # fmt: skip


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that are docstrings (prose)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
    return out


def _fstring_text(node: ast.JoinedStr) -> str:
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def _root(name: str) -> str:
    return name.split(".")[0]


def _is_engine(module: str) -> bool:
    return module == ENGINE or module.startswith(ENGINE + ".")


def problems(source: str) -> list[str]:
    """Every line of ``source`` that holds SQL, a driver import or a DB-API call, and why."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    in_fstring = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                  for v in node.values}  # fmt: skip
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docs and id(node) not in in_fstring and _is_sql(node.value):
                found.append(f"{line}: SQL {node.value.strip()[:60]!r}")
        elif isinstance(node, ast.JoinedStr):
            text = _fstring_text(node)
            if _is_sql(text):
                found.append(f"{line}: SQL f{text.strip()[:60]!r}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if _root(a.name) in DRIVERS or _is_engine(a.name):
                    found.append(f"{line}: import {a.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and (_root(module) in DRIVERS or _is_engine(module)):
                found.append(f"{line}: from {module} import ...")
            for a in node.names:
                if a.name in DRIVERS or (module == "ccspend.store" and a.name == "engine"):
                    found.append(f"{line}: from {module} import {a.name}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else \
                func.id if isinstance(func, ast.Name) else ""  # fmt: skip
            arg = node.args[0] if node.args else None
            if name in ("import_module", "__import__") and isinstance(arg, ast.Constant) \
                    and isinstance(arg.value, str) \
                    and (_root(arg.value) in DRIVERS or _is_engine(arg.value)):
                found.append(f"{line}: {name}({arg.value!r})")
        if isinstance(node, ast.Attribute) and node.attr in DB_API:
            found.append(f"{line}: .{node.attr} (a database connection's method)")
    return sorted(set(found), key=lambda s: int(s.split(":")[0]))


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if STORE not in p.parents)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_sql_or_driver_outside_the_store(path: Path):
    found = problems(path.read_text(encoding="utf-8"))
    assert not found, (
        f"{path.relative_to(REPO)} talks to a database itself; move this into a named "
        "function under ccspend/store/:\n  " + "\n  ".join(found)
    )


def test_the_store_is_where_the_sql_is():
    """The checker sees SQL where it is: the store's modules are full of it."""
    assert problems((STORE / "database.py").read_text(encoding="utf-8"))
    assert problems((STORE / "queries.py").read_text(encoding="utf-8"))


# -- the checker itself --------------------------------------------------------------


@pytest.mark.parametrize("code", [
    'q = "SELECT 1 FROM runs WHERE run_id = ?"',
    'q = "  select_me = 1" if False else "INSERT INTO t VALUES (?)"',
    'con = None\ncon.execute("BEGIN")',
    'x = "COMMIT"',
    'x = f"COPY ({sql}) TO \'{path}\' (FORMAT parquet)"',
    'x = f"SELECT * FROM {table} LIMIT 0"',
    'x = f"t.{c} IS DISTINCT FROM {new}.{c}"',
    'x = "sum(input_tokens)::BIGINT, count(*)"',
    'x = "CAST(cost_micro AS DECIMAL(38, 12))"',
    'x = ("input_tokens", "BIGINT NOT NULL")',
    'x = "WITH t AS (SELECT 1) SELECT * FROM t"',
    'import duckdb',
    'import psycopg.errors',
    'from psycopg import conninfo',
    'def f():\n    import _duckdb as duckdb',
    'from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import duckdb',
    'from ccspend.store.engine import duckdb',
    'from ccspend.store import engine',
    'import importlib\nimportlib.import_module("psycopg")',
    'rows = cur.fetchall()',
    'def f(con):\n    return con.cursor()',
])  # fmt: skip
def test_the_checker_catches(code: str):
    assert problems(code), code


@pytest.mark.parametrize("code", [
    '"""SELECT rows FROM the store: a docstring is prose."""',
    'def f():\n    """INSERT nothing; WHERE it goes is the store\'s."""',
    'help = "One read-only statement (SELECT, WITH, FROM…)."',
    'msg = "select the rows from where they are"',
    'db = "demo.duckdb"',
    'msg = "--to takes postgres://… or a path ending in .duckdb"',
    'from ccspend.store import Store, queries',
    'def execute(opts):\n    return execute(opts)',
    'name = "SELECTED"',
])  # fmt: skip
def test_the_checker_passes(code: str):
    assert not problems(code), problems(code)
