"""Errors raised by ``routing``: one root, each subclass a documented, precise reason.

Tree::

    RoutingError
    ├── InvalidCoordinates      latitude/longitude NaN, infinite or out of range (also ValueError)
    ├── InvalidRadius           radius NaN, infinite, negative or too large (also ValueError)
    ├── UnknownProvince         a plate code that is not 1..81 (also KeyError)
    ├── InvalidEvidence         a location-fusion input that cannot be used (also ValueError)
    ├── RoutingSettingsError    the routing settings file is unreadable or invalid
    ├── BoundaryDataError       the boundary data is missing, stale or malformed
    ├── DataBuildError          ``python -m routing.build_data`` could not build the data
    └── RoadGraphError          a road graph cannot be built or read (also ValueError)

Messages name the rule that was broken, never the caller's value (a coordinate is personal data).
"""

from __future__ import annotations


class RoutingError(Exception):
    """Root of every error raised by ``routing``."""


class InvalidCoordinates(RoutingError, ValueError):  # noqa: N818 - the name says what is wrong
    """Latitude or longitude is not a finite number in range (-90..90, -180..180)."""


class InvalidRadius(RoutingError, ValueError):  # noqa: N818 - the name says what is wrong
    """An uncertainty radius is not a finite number within 0..1,000,000 metres."""


class UnknownProvince(RoutingError, KeyError):  # noqa: N818 - the name says what is wrong
    """A plate code that names no province (plates run from 1 to 81)."""

    def __str__(self) -> str:
        # KeyError quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else "unknown province"


class InvalidEvidence(RoutingError, ValueError):  # noqa: N818 - the name says what is wrong
    """A piece of location evidence cannot be used (naive time, bad radius, bad position)."""


class RoutingSettingsError(RoutingError):
    """The routing settings (TOML) cannot be read or do not validate."""


class BoundaryDataError(RoutingError):
    """Boundary data is missing, built from other sources, or malformed."""


class DataBuildError(RoutingError):
    """Building ``routing/data`` failed (a tool missing, a download or a hash check failed)."""


class RoadGraphError(RoutingError, ValueError):
    """A road graph cannot be built: unreadable file, no nodes, bad edge or node data."""
