"""Tests of intake.positions: impossible positions refused, evidence fused into one estimate."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.model import Location
from intake.errors import InvalidPosition
from intake.positions import check_position, evidence_kind, fused_location
from routing.fusion import EvidenceKind

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lat", "lon", "radius", "at"),
    [
        (91.0, 0.0, None, None),
        (0.0, -180.5, None, None),
        (math.nan, 0.0, None, None),
        (0.0, 0.0, -1.0, None),
        (0.0, 0.0, math.inf, None),
        (0.0, 0.0, None, datetime(2025, 1, 1)),  # noqa: DTZ001 - the naive time is the point
    ],
)
def test_impossible_positions_are_refused(
    lat: float, lon: float, radius: float | None, at: datetime | None
) -> None:
    """Out-of-range, non-finite or naive-time positions raise `InvalidPosition`."""
    with pytest.raises(InvalidPosition):
        check_position(lat, lon, radius, source="app", at=at)


def test_missing_radius_takes_the_default() -> None:
    """A position without accuracy gets the given default radius."""
    location = check_position(41.0, 29.0, None, source="cell", default_radius_m=5000)
    assert location.radius_m == 5000


def test_unknown_sources_count_as_app_reports() -> None:
    """Sources map to fusion kinds; anything else is an app's report."""
    assert evidence_kind("aml") is EvidenceKind.AML
    assert evidence_kind("phone") is EvidenceKind.APP


def test_precise_fresh_evidence_wins() -> None:
    """An AML fix of 12 m beats the 2 km cell centroid; ageing is counted from `at`."""
    cell = Location(lat=41.0, lon=29.0, radius_m=2000, source="cell", at=T0)
    aml = Location(lat=41.01, lon=29.01, radius_m=12, source="aml", at=T0 + timedelta(seconds=10))
    best = fused_location([cell, aml], received_at=T0, now=T0 + timedelta(seconds=20))
    assert (best.lat, best.lon, best.source) == (41.01, 29.01, "aml")
    assert best.radius_m == pytest.approx(12 + 1.5 * 10)


def test_fusion_needs_evidence() -> None:
    """An empty evidence list is a programming error."""
    with pytest.raises(ValueError, match="evidence"):
        fused_location([], received_at=T0, now=T0)
