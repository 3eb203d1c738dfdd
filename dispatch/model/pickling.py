"""Compact pickling for the slotted dataclasses projections hold (snapshots).

A slotted dataclass pickles through ``dataclasses``' generic ``__getstate__``, which
looks the fields up again for every object; a projection snapshot holds hundreds of
thousands of them. :func:`pickled_as_tuple` gives a class a state of its field values in
declaration order, with the names looked up once. Events pickle as MessagePack instead
(``Event.__reduce__``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

_C = TypeVar("_C", bound=type)


def pickled_as_tuple(cls: _C) -> _C:
    """Class decorator (outside ``@dataclass``): pickle the instances as tuples of values."""
    names = tuple(field.name for field in dataclasses.fields(cls))
    setter: Callable[[object, str, Any], None] = object.__setattr__  # also for frozen classes

    def getstate(self: object) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in names])

    def setstate(self: object, state: tuple[Any, ...]) -> None:
        for name, value in zip(names, state, strict=True):
            setter(self, name, value)

    setattr(cls, "__getstate__", getstate)  # noqa: B010 - replacing dataclasses' own
    setattr(cls, "__setstate__", setstate)  # noqa: B010
    return cls
