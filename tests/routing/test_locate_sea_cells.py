"""Off-land lookups from the cell index give exactly the reference (tree-query) answers.

``Gazetteer.locate_reference`` is the previous straightforward algorithm (STRtree nearest
piece, widened candidate window, haversine to each candidate); ``Gazetteer.locate`` answers
off-land points from :class:`routing.sea_cells.SeaCells`. Both must return equal
:class:`LocateResult` values (every field, ``snapped_km`` after its rounding) for random
points around Türkiye, points near the coast and the land borders, and every radius class.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.locate import Gazetteer

RADII = [None, 10.0, 500.0, 5000.0]


def _boundary_vertices(gazetteer: Gazetteer) -> np.ndarray:
    """Every vertex of every district boundary (coasts, land borders, district borders)."""
    geoms = [gazetteer.district_geometry(d.code) for d in gazetteer.districts()]
    coords: np.ndarray = shapely.get_coordinates(shapely.boundary(np.asarray(geoms, dtype=object)))
    return coords


@pytest.fixture(scope="module")
def vertices(gazetteer: Gazetteer) -> np.ndarray:
    """District boundary vertices as (lon, lat) rows."""
    return _boundary_vertices(gazetteer)


def _off_land(
    gazetteer: Gazetteer, lats: np.ndarray, lons: np.ndarray
) -> list[tuple[float, float]]:
    keep = gazetteer.locate_many(lats, lons).district < 0
    return list(zip(lats[keep].tolist(), lons[keep].tolist(), strict=True))


def _assert_same(gazetteer: Gazetteer, points: list[tuple[float, float]]) -> None:
    for radius in RADII:
        for lat, lon in points:
            fast = gazetteer.locate(lat, lon, radius)
            reference = gazetteer.locate_reference(lat, lon, radius)
            assert fast == reference, (lat, lon, radius)


def test_random_points_around_turkiye(gazetteer: Gazetteer) -> None:
    """Thousands of uniform points in lat 34–44, lon 24–46 (sea, abroad, off the grid)."""
    rng = np.random.default_rng(20_112)
    lats, lons = rng.uniform(34.0, 44.0, 4000), rng.uniform(24.0, 46.0, 4000)
    points = _off_land(gazetteer, lats, lons)
    assert len(points) > 1500
    _assert_same(gazetteer, points)


@pytest.mark.parametrize("spread", [0.0005, 0.005, 0.05])
def test_points_near_coasts_and_borders(
    gazetteer: Gazetteer, vertices: np.ndarray, spread: float
) -> None:
    """Points a few metres to a few km off district boundaries: beaches, harbours, borders."""
    rng = np.random.default_rng(int(spread * 1e6))
    picks = vertices[rng.integers(0, len(vertices), 6000)]
    lons = picks[:, 0] + rng.normal(0.0, spread, len(picks))
    lats = picks[:, 1] + rng.normal(0.0, spread, len(picks))
    points = _off_land(gazetteer, lats, lons)
    assert len(points) > 300
    _assert_same(gazetteer, points)


def test_cell_index_answers_most_coastal_points(gazetteer: Gazetteer, vertices: np.ndarray) -> None:
    """The fast path really runs: most points just off the coast need no reference call."""
    sea = gazetteer._sea  # the test inspects which path answered
    assert sea is not None
    rng = np.random.default_rng(7)
    picks = vertices[rng.integers(0, len(vertices), 6000)]
    lons = picks[:, 0] + rng.normal(0.0, 0.01, len(picks))
    lats = picks[:, 1] + rng.normal(0.0, 0.01, len(picks))
    points = _off_land(gazetteer, lats, lons)
    decided = 0
    for lat, lon in points:
        cell = sea.cell_of(lat, lon)
        if cell >= 0 and sea.nearest_district(cell, lat, lon, 200.0) is not None:
            decided += 1
    assert decided >= 0.9 * len(points)


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(min_value=0),
    dx=st.floats(min_value=-0.2, max_value=0.2),
    dy=st.floats(min_value=-0.2, max_value=0.2),
    radius=st.sampled_from(RADII),
)
def test_near_boundary_property(
    gazetteer: Gazetteer,
    vertices: np.ndarray,
    *,
    index: int,
    dx: float,
    dy: float,
    radius: float | None,
) -> None:
    """Any point near any boundary vertex gets the reference's answer."""
    lon, lat = vertices[index % len(vertices)]
    lat, lon = float(lat + dy), float(lon + dx)
    assert gazetteer.locate(lat, lon, radius) == gazetteer.locate_reference(lat, lon, radius)
