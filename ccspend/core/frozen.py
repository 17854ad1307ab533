"""Frozen records made by a class statement alone, without dataclasses' cost at import.

Why: ``@dataclass(frozen=True)`` compiles six methods from source for each class when
its module is imported, about 1.1 ms a class here. The rate card's and the config's
eleven records cost every report, ``run`` and ``route`` some 12 ms before any work
(20 ms when the machine is slow). A ``Frozen`` subclass shares one copy of those
methods, written here, which read the class's fields from its annotations.

The fields are the names the class itself annotates, in order (a record is one class:
fields are not inherited); a class attribute of the same name is the field's default,
``Factory(make)`` one made by ``make()`` for each record. ``_hidden`` names fields left
out of ``==``, the hash and the repr (a derived index, say). Records are immutable,
and compare, hash, copy and pickle by their fields, as frozen dataclasses do.
"""

from __future__ import annotations

_MISSING = object()


class Factory:
    """A default made afresh for each record (a dataclass's ``default_factory``)."""

    __slots__ = ("make",)

    def __init__(self, make) -> None:
        self.make = make


class Frozen:
    """The base of a frozen record (see the module's docstring)."""

    _fields: tuple = ()  # every field, in order
    _defaults: dict = {}  # field -> default (or Factory)
    _hidden: tuple = ()  # fields out of ==, the hash and the repr
    _shown: tuple = ()  # the others

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        cls._fields = tuple(own.get("__annotations__", ()))
        cls._defaults = {name: own[name] for name in cls._fields if name in own}
        cls._shown = tuple(name for name in cls._fields if name not in cls._hidden)

    def __init__(self, *args, **kwargs) -> None:
        fields = self._fields
        name = type(self).__name__
        if len(args) > len(fields):
            raise TypeError(f"{name}() takes {len(fields)} arguments ({len(args)} given)")
        values = self.__dict__  # set here directly: __setattr__ refuses
        for field, value in zip(fields, args, strict=False):  # args: at most as many
            if field in kwargs:
                raise TypeError(f"{name}() got multiple values for argument {field!r}")
            values[field] = value
        for field in fields[len(args):]:
            value = kwargs.pop(field, _MISSING)
            if value is _MISSING:
                value = self._defaults.get(field, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{name}() missing argument {field!r}")
                if type(value) is Factory:
                    value = value.make()
            values[field] = value
        if kwargs:
            raise TypeError(f"{name}() got an unexpected argument {next(iter(kwargs))!r}")

    def _values(self) -> tuple:
        return tuple(getattr(self, field) for field in self._shown)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{field}={getattr(self, field)!r}" for field in self._shown)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen record")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen record")


def plain(value):
    """``value`` with every record a dict of its fields and every tuple a list, for a JSON
    encoder (the compiled rate card)."""
    if isinstance(value, Frozen):
        return {field: plain(getattr(value, field)) for field in value._fields}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
