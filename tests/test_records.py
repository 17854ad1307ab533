"""``core.records``: records that behave as dataclasses and msgspec Structs do."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from ccspend.core import records
from ccspend.core.records import Factory, Frozen, Record, plain, replace


class Point(Frozen):
    x: int
    y: int = 0
    tags: list = Factory(list)
    cache: dict = Factory(dict)
    _hidden = ("cache",)


@pytest.fixture(autouse=True, params=["generic", "compiled"])
def init_kind(request, monkeypatch):
    """Every test twice: records made by the generic ``__init__``, and by the one a class
    compiles once it has made ``COMPILE_AFTER`` records."""
    monkeypatch.setattr(records, "COMPILE_AFTER", 0 if request.param == "compiled" else 10**9)
    yield request.param
    for cls in (Point, Tally):
        if "__init__" in cls.__dict__:
            del cls.__init__
        cls._made = 0


def test_a_class_compiles_its_init_after_its_first_records(init_kind):
    Point(1)
    assert ("__init__" in Point.__dict__) == (init_kind == "compiled")
    for _ in range(40):
        Point(1)
    assert ("__init__" in Point.__dict__) == (init_kind == "compiled")
    records.COMPILE_AFTER = 40
    Point(2)  # the 42nd: the generic one hands over to a compiled one
    assert "__init__" in Point.__dict__ and Point(3, 4) == Point(x=3, y=4)


def test_fields_defaults_and_factories():
    p = Point(1)
    assert (p.x, p.y, p.tags, p.cache) == (1, 0, [], {})
    assert Point(1).tags is not Point(1).tags  # a factory's default, made per record
    assert Point(1, 2) == Point(x=1, y=2) == Point(y=2, x=1)
    assert Point._fields == ("x", "y", "tags", "cache")


@pytest.mark.parametrize("make", [
    lambda: Point(),  # a field without a default
    lambda: Point(1, 2, [], {}, 5),  # too many
    lambda: Point(1, x=1),  # twice
    lambda: Point(1, z=3),  # unknown
])  # fmt: skip
def test_wrong_arguments_are_refused(make):
    with pytest.raises(TypeError):
        make()


def test_records_are_immutable():
    p = Point(1)
    with pytest.raises(AttributeError):
        p.x = 2
    with pytest.raises(AttributeError):
        del p.y
    assert p.x == 1


def test_equality_hash_and_repr_leave_hidden_fields_out():
    a, b = Point(1, 2, (), cache={"k": 1}), Point(1, 2, (), cache={"other": 2})
    assert a == b and hash(a) == hash(b)
    assert Point(1, 2) != Point(1, 3)
    assert Point(1) != (1, 0, [], {})  # another type is never equal
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=[])"
    with pytest.raises(TypeError):  # a list field cannot be hashed, as with a dataclass
        hash(Point(1, tags=[1]))
    assert hash(Point(1, tags=(1,))) == hash(Point(1, tags=(1,)))


def test_pickle_and_copy_keep_every_field():
    p = Point(1, 2, ("a",), {"k": Decimal("1.5")})
    for q in (pickle.loads(pickle.dumps(p, protocol=pickle.HIGHEST_PROTOCOL)),
              copy.copy(p), copy.deepcopy(p)):  # fmt: skip
        assert q == p and q.cache == p.cache and type(q) is Point
    assert plain(p) == {"x": 1, "y": 2, "tags": ["a"], "cache": {"k": Decimal("1.5")}}


def test_the_compiled_card_is_the_built_card_field_for_field():
    """``rates.json`` read back (``_card_of``) is the TOML's card: ids, decimals, dates."""
    from ccspend.pricing import card as card_mod

    text = card_mod._data(card_mod.SHIPPED).read_text("utf-8")
    built = card_mod._build(None, text)
    compiled = card_mod._compiled(text)
    assert compiled == built
    assert compiled._index == built._index
    assert plain(compiled) == plain(built)  # every field, with its type's value
    price = next(iter(compiled.models.values())).prices[0]
    assert type(price.base.input) is Decimal
    assert type(price.effective_from) is date


def test_a_report_imports_no_dataclasses_for_the_card_or_the_config():
    """The rate card and the config load without ``dataclasses`` (its cost is the point)."""
    code = ("import sys; from ccspend.core import config; from ccspend.pricing import card; "
            "print('dataclasses' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["False"], r.stderr


class Tally(Record):
    key: str
    n: int = 0
    rows: list = Factory(list)


def test_a_record_is_mutable_and_unhashable_as_a_struct():
    t = Tally("a")
    t.n += 2
    t.rows.append(1)
    assert t == Tally("a", 2, [1]) and t != Tally("b", 2, [1])
    assert repr(t) == "Tally(key='a', n=2, rows=[1])"
    with pytest.raises(TypeError):
        hash(t)
    assert pickle.loads(pickle.dumps(t)) == t


def test_replace_copies_with_changes_and_refuses_unknown_fields():
    t = Tally("a", 1, [1])
    u = replace(t, n=5)
    assert (u.key, u.n, u.rows) == ("a", 5, [1]) and t.n == 1 and type(u) is Tally
    f = replace(Point(1, 2, ()), y=3)
    assert f == Point(1, 3, ()) and hash(f) == hash(Point(1, 3, ()))
    with pytest.raises(TypeError):
        replace(t, nope=1)


def test_the_report_path_s_records_import_neither_msgspec_nor_dataclasses():
    code = ("import sys; import ccspend.store.queries, ccspend.reports.build, "
            "ccspend.ingest.claude, ccspend.cli.jsonout, ccspend.pricing.card; "
            "print(sorted(m for m in ('msgspec', 'dataclasses') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["[]"], r.stderr
