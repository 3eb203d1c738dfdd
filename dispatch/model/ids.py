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


def _sortable() -> str:
    """48 bits of milliseconds then 64 random bits, as 28 lowercase hex digits."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(8).hex()}"


def new_call_id() -> CallId:
    """A fresh call id."""
    return CallId(f"call-{_sortable()}")


def new_incident_id() -> IncidentId:
    """A fresh incident id."""
    return IncidentId(f"inc-{_sortable()}")
