"""Identifiers: typed strings, sortable by creation time.

An id is a prefix, a millisecond timestamp and randomness (``call-01JD...``), so ids sort
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

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid() -> str:
    """A ULID-shaped string: 48-bit milliseconds then 80 random bits, Crockford base32."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_call_id() -> CallId:
    """A fresh call id."""
    return CallId(f"call-{_ulid()}")


def new_incident_id() -> IncidentId:
    """A fresh incident id."""
    return IncidentId(f"inc-{_ulid()}")
