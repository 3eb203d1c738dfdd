"""Positions from callers' devices and networks, checked and fused into one estimate (pure).

Every channel turns what it was told (a cell centroid, an AML fix, a PIDF-LO shape, an app's
GPS) into a dispatch `Location` whose `source` names the kind of evidence. `check_position`
refuses impossible values with `InvalidPosition`; `fused_location` runs `routing.fusion.fuse`
over a call's evidence so far plus the new piece, and returns the best estimate as a
`Location` (its `source` is the winning evidence's kind). No clock: `now` is an input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from dispatch.model.values import Location
from intake.errors import InvalidPosition
from routing.fusion import Evidence, EvidenceKind, fuse

__all__ = ["DEFAULT_RADIUS_M", "check_position", "evidence_kind", "fused_location"]

DEFAULT_RADIUS_M: Final = 1_000.0
"""Uncertainty assumed for evidence that came without one (fusion needs a radius)."""
_MAX_RADIUS_M: Final = 1_000_000.0

_KINDS: Final = {kind.value: kind for kind in EvidenceKind}


def evidence_kind(source: str) -> EvidenceKind:
    """The fusion kind of a `Location.source` (unknown sources count as an app's report)."""
    return _KINDS.get(source, EvidenceKind.APP)


def check_position(
    lat: float,
    lon: float,
    radius_m: float | None,
    *,
    source: str,
    at: datetime | None = None,
    default_radius_m: float = DEFAULT_RADIUS_M,
) -> Location:
    """A `Location` from raw values, or `InvalidPosition` saying which rule failed.

    A missing radius becomes `default_radius_m`; `at` must be timezone-aware when given.
    """
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidPosition("latitude must be a finite number within -90..90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidPosition("longitude must be a finite number within -180..180")
    radius = default_radius_m if radius_m is None else radius_m
    if not (math.isfinite(radius) and 0.0 <= radius <= _MAX_RADIUS_M):
        raise InvalidPosition("radius_m must be a finite number within 0..1,000,000")
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise InvalidPosition("the position time must carry a UTC offset")
    return Location(lat=lat, lon=lon, radius_m=radius, source=source, at=at)


def _evidence(location: Location, fallback_at: datetime, now: datetime) -> Evidence:
    at = location.at or fallback_at
    return Evidence(
        kind=evidence_kind(location.source),
        lat=location.lat,
        lon=location.lon,
        radius_m=DEFAULT_RADIUS_M if location.radius_m is None else location.radius_m,
        at=min(at, now),
    )


def fused_location(
    evidence: Sequence[Location], *, received_at: datetime, now: datetime
) -> Location:
    """The best estimate over `evidence` (non-empty) at `now`, as a `Location`.

    Evidence without a time counts as taken when the call was received.
    """
    if not evidence:
        raise ValueError("fusion needs at least one piece of evidence")
    pieces = [_evidence(location, received_at, now) for location in evidence]
    estimate = fuse(pieces, now=now)
    if estimate is None:  # pragma: no cover - fuse returns an estimate for non-empty evidence
        raise ValueError("fusion gave no estimate")
    return Location(
        lat=estimate.lat,
        lon=estimate.lon,
        radius_m=min(estimate.radius_m, _MAX_RADIUS_M),
        source=str(estimate.source),
        at=estimate.at,
    )
