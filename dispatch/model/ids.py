"""Identifiers: typed strings, sortable by creation time.

An id is a prefix, a millisecond timestamp and randomness (``call-019ab3...``), so ids sort
roughly by creation and say what they name in logs and URLs.
"""

from __future__ import annotations

import os
import time
from typing import NewType

CallId = NewType("CallId", str)
IncidentId = NewType("IncidentId", str)
UnitId = NewType("UnitId", str)
OperatorId = NewType("OperatorId", str)
CentreId = NewType("CentreId", str)


class _Entropy:
    """The operating system's randomness, drawn a page at a time.

    ``os.urandom`` gives up the GIL for its system call on every draw; on the engine's
    loop, under load, each draw then waits for the store's thread to hand the GIL back.
    Drawing 4 KiB at once makes that one wait per 512 ids. A forked child starts with an
    empty page, so parent and child never hand out the same bytes.
    """

    __slots__ = ("_offset", "_page")

    PAGE = 4096

    def __init__(self) -> None:
        self._page = b""
        self._offset = 0

    def reset(self) -> None:
        """Forget the page (called in a forked child)."""
        self._page = b""
        self._offset = 0

    def hex(self, size: int) -> str:
        """``size`` fresh random bytes as lowercase hex."""
        if self._offset + size > len(self._page):
            self._page = os.urandom(self.PAGE)
            self._offset = 0
        start = self._offset
        self._offset = start + size
        return self._page[start : start + size].hex()


_entropy = _Entropy()
os.register_at_fork(after_in_child=_entropy.reset)


def _sortable() -> str:
    """48 bits of milliseconds then 64 random bits, as 28 lowercase hex digits."""
    return f"{time.time_ns() // 1_000_000:012x}{_entropy.hex(8)}"


def new_call_id() -> CallId:
    """A fresh call id."""
    return CallId(f"call-{_sortable()}")


def new_incident_id() -> IncidentId:
    """A fresh incident id."""
    return IncidentId(f"inc-{_sortable()}")
