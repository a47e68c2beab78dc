"""Copies of frozen records with some fields changed: ``dataclasses.replace``, faster.

``dataclasses.replace`` reads every field's kind and calls ``__init__`` by keyword on each
copy (~10 us for a ``Job``), and a job is copied ~40 times over its life (each transition
and each store save: 180k copies replaying 5,000 Philly jobs). ``replacer(cls)`` builds,
once, a function for one class that copies slot by slot (~3 us for a ``Job``). It gives
exactly what ``dataclasses.replace`` gives; it refuses classes where a copy could differ
(a ``__post_init__``, an ``InitVar``, a field kept out of ``__init__``), and hands anything
unusual (a name that is not a field, an instance of a subclass) to ``dataclasses.replace``
itself, so that errors read the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import MemberDescriptorType
from typing import Any, TypeVar

T = TypeVar("T")


def replacer(cls: type[T]) -> Callable[..., T]:
    """``f(record, **changes)``, equal to ``dataclasses.replace(record, **changes)``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__: use dataclasses.replace")
    every = cls.__dataclass_fields__.values()  # type: ignore[attr-defined]
    if any(f._field_type is dataclasses._FIELD_INITVAR for f in every):  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__} has an InitVar: use dataclasses.replace")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if any(not f.init for f in fields):
        raise TypeError(f"{cls.__name__} keeps a field out of __init__: use dataclasses.replace")
    names = [f.name for f in fields]
    slots = [next((k.__dict__[n] for k in cls.__mro__ if n in k.__dict__), None) for n in names]
    if not all(type(s) is MemberDescriptorType for s in slots):
        raise TypeError(f"{cls.__name__} keeps a field outside its slots: use dataclasses.replace")
    scope: dict[str, Any] = {
        "_cls": cls,
        "_names": frozenset(names),
        "_new": object.__new__,
        "_set": object.__setattr__,
        "_slow": dataclasses.replace,
    }
    lines = [
        "def replace(obj, /, **changes):",
        "    if type(obj) is not _cls or (changes and not _names.issuperset(changes)):",
        "        return _slow(obj, **changes)",
        "    new = _new(_cls)",
    ]
    for i, (name, slot) in enumerate(zip(names, slots, strict=True)):
        scope[f"_set{i}"] = slot.__set__  # type: ignore[union-attr]
        lines.append(f"    _set{i}(new, obj.{name})")
    lines += [
        "    for name, value in changes.items():",
        "        _set(new, name, value)",
        "    return new",
    ]
    exec("\n".join(lines), scope)  # noqa: S102 (our own source, built from field names)
    made: Callable[..., T] = scope["replace"]
    made.__qualname__ = made.__name__ = f"replace_{cls.__name__}"
    return made


_MADE: dict[type, Callable[..., Any]] = {}


def replace(record: T, /, **changes: Any) -> T:
    """``dataclasses.replace(record, **changes)``, through its class's ``replacer`` where
    the class has one (made on first use), else ``dataclasses.replace`` itself."""
    t = type(record)
    made = _MADE.get(t)
    if made is None:
        try:
            made = replacer(t)
        except TypeError:
            made = dataclasses.replace
        made = _MADE.setdefault(t, made)
    copy: T = made(record, **changes)
    return copy
