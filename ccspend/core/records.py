"""Records made by a class statement alone: neither dataclasses nor msgspec at import.

Why: ``@dataclass(frozen=True)`` compiles six methods from source for each class when
its module is imported, about 1.1 ms a class here: the rate card's and the config's
eleven cost every report, ``run`` and ``route`` some 12 ms before any work. A msgspec
Struct is cheap to define, but importing msgspec costs a report some 25 ms (it imports
``typing_extensions``, ``inspect``, ``uuid``...), and the report after a new line needs
no msgspec otherwise. So the records of that path subclass ``Frozen`` (immutable,
hashable) or ``Record`` (mutable), which share one copy of ``==``, the hash, the repr
and a generic ``__init__``; a class made more than ``COMPILE_AFTER`` times gets an
``__init__`` of its own, compiled then (some 0.3 ms: nineteen classes compiled at import
cost a report 6-10 ms), as fast to call as a dataclass's.

The fields are the names the class itself annotates, in order (a record is one class:
fields are not inherited); a class attribute of the same name is the field's default,
``Factory(make)`` one made by ``make()`` for each record. ``_hidden`` names fields left
out of ``==``, the hash and the repr (a derived index, say). Records compare, copy and
pickle by their fields, as dataclasses and Structs do; ``replace`` copies one with
some fields changed.
"""

from __future__ import annotations

_MISSING = object()
COMPILE_AFTER = 32  # records of a class made by the generic __init__ before it compiles one


class Factory:
    """A default made afresh for each record (a dataclass's ``default_factory``)."""

    __slots__ = ("make",)

    def __init__(self, make) -> None:
        self.make = make


def _compile_init(cls, store: str) -> None:
    """Give ``cls`` an ``__init__`` taking its fields in order, their defaults as
    declared; ``store`` is how one field is set (``{f}``: its name)."""
    params, body, scope = [], [], {"_MISSING": _MISSING}
    for i, name in enumerate(cls._fields):
        default = cls._defaults.get(name, _MISSING)
        if default is _MISSING:
            params.append(name)
            value = name
        elif type(default) is Factory:
            scope[f"_make{i}"] = default.make
            params.append(f"{name}=_MISSING")
            value = f"_make{i}() if {name} is _MISSING else {name}"
        else:
            scope[f"_default{i}"] = default
            params.append(f"{name}=_default{i}")
            value = name
        body.append(store.format(f=name, v=value))
    source = f"def __init__(self, {', '.join(params)}):\n"
    source += "".join(f"    {line}\n" for line in body) if body else "    pass\n"
    exec(compile(source, f"<{cls.__qualname__}.__init__>", "exec"), scope)  # noqa: S102
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init


class _Base:
    _fields: tuple = ()  # every field, in order
    _defaults: dict = {}  # field -> default (or Factory)
    _hidden: tuple = ()  # fields out of ==, the hash and the repr
    _shown: tuple = ()  # the others
    _store = "self.{f} = {v}"

    _made = 0  # records made by the generic __init__ (a class's own count)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        cls._fields = tuple(own.get("__annotations__", ()))
        cls._defaults = {name: own[name] for name in cls._fields if name in own}
        cls._shown = tuple(name for name in cls._fields if name not in cls._hidden)
        cls._made = 0

    def __init__(self, *args, **kwargs) -> None:
        """The fields in order, by position or name; the generic way, until the class's
        ``COMPILE_AFTER``-th record, which compiles an ``__init__`` for the rest."""
        cls = type(self)
        cls._made += 1
        if cls._made > COMPILE_AFTER:
            _compile_init(cls, cls._store)
            cls.__init__(self, *args, **kwargs)
            return
        fields = cls._fields
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__}() takes {len(fields)} arguments ({len(args)} given)")
        values = self.__dict__  # directly: a frozen record's __setattr__ refuses
        for field, value in zip(fields, args, strict=False):  # args: at most as many
            if field in kwargs:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {field!r}")
            values[field] = value
        for field in fields[len(args):]:
            value = kwargs.pop(field, _MISSING)
            if value is _MISSING:
                value = cls._defaults.get(field, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{cls.__name__}() missing argument {field!r}")
                if type(value) is Factory:
                    value = value.make()
            values[field] = value
        if kwargs:
            raise TypeError(f"{cls.__name__}() got an unexpected argument {next(iter(kwargs))!r}")

    def _values(self) -> tuple:
        return tuple(getattr(self, field) for field in self._shown)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __repr__(self) -> str:
        shown = ", ".join(f"{field}={getattr(self, field)!r}" for field in self._shown)
        return f"{type(self).__qualname__}({shown})"


class Record(_Base):
    """A mutable record (a msgspec Struct's or a dataclass's semantics): no hash."""

    __hash__ = None  # type: ignore[assignment] - mutable, so unhashable, as a Struct


class Frozen(_Base):
    """An immutable record, hashable by its fields (a frozen dataclass's semantics)."""

    # set through the instance's dict: ``__setattr__`` below refuses every assignment
    _store = "self.__dict__[{f!r}] = {v}"

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen record")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen record")


def replace(record, **changes):
    """A copy of ``record`` with ``changes`` (field names) made; the others as they are."""
    for name in changes:
        if name not in record._fields:
            raise TypeError(f"{type(record).__name__} has no field {name!r}")
    new = object.__new__(type(record))
    new.__dict__.update(record.__dict__)
    new.__dict__.update(changes)
    return new


def plain(value):
    """``value`` with every record a dict of its fields and every tuple a list, for a JSON
    encoder (the compiled rate card)."""
    if isinstance(value, _Base):
        return {field: plain(getattr(value, field)) for field in value._fields}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
