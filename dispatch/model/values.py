"""Small value types shared by calls, incidents and events."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from dispatch.model.pickling import pickled_as_tuple
from dispatch.model.vocabulary import Ground


@pickled_as_tuple
@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """A position estimate: WGS84 degrees with an uncertainty radius and where it came from.

    Construction does not validate, so replaying millions of stored locations stays
    cheap; input edges call :meth:`check` (HTTP bodies are validated by their schemas,
    codecs by their own rules).
    """

    lat: float
    lon: float
    radius_m: float | None = None
    source: str = "caller"
    at: datetime | None = None

    def check(self) -> Location:
        """Return ``self`` if it is a possible position, else raise ``ValueError``."""
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ValueError("latitude must be a finite number within -90..90")
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ValueError("longitude must be a finite number within -180..180")
        if self.radius_m is not None and not (
            math.isfinite(self.radius_m) and 0.0 <= self.radius_m <= 1_000_000.0
        ):
            raise ValueError("radius_m must be a finite number within 0..1,000,000")
        return self


@pickled_as_tuple
@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where a location falls: il, ilçe and whose ground it is (from ``routing``)."""

    in_service_area: bool
    at_sea: bool
    plate: int | None = None
    province: str | None = None
    district_code: str | None = None
    district: str | None = None
    ground: Ground | None = None
    snapped_km: float | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """Who called: a number, and what the caller or the network told us."""

    number: str | None = None
    name: str | None = None
    language: str | None = None
