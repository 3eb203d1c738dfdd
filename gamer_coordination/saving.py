"""Snapshots of GAMER's folds as bytes: pickled in one pass, checked on the way back. Pure.

A fold's ``snapshot`` pickles its live structures at once (the engine pickles the result
before the next event, and pickling bytes again is a copy), so the snapshot shares nothing
with the fold and costs one pass over it. What is pickled is one object of a class of the
fold's own; :func:`loaded` refuses anything else.
"""

from __future__ import annotations

import pickle
from typing import TypeVar

T = TypeVar("T")


def saved(state: object) -> bytes:
    """``state`` pickled."""
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def loaded(state: object, kind: type[T]) -> T:
    """The ``kind`` object :func:`saved` pickled; TypeError for anything else."""
    if not isinstance(state, bytes):
        raise TypeError(f"not a snapshot of {kind.__qualname__}")
    value = pickle.loads(state)  # noqa: S301 - our own snapshot, from the engine's store
    if not isinstance(value, kind):
        raise TypeError(f"not a snapshot of {kind.__qualname__}")
    return value
