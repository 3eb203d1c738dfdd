"""Off-land lookups through the piece table give exactly the STRtree algorithm's answers.

``routing.nearest._PieceTable`` finds the nearest district (and the nearest foreign land)
without shapely per call, and ``Gazetteer.locate`` settles most points at sea from its bounds
alone. These tests hold both to the straightforward algorithm: ``Nearest.nearest_reference``
(the STRtree: nearest piece, every piece within ``d / cos(lat)``, GEOS nearest points,
haversine) and :func:`reference_locate` below (``Gazetteer.locate`` as it was before the
table), on generated points near populated coasts, all around the coastline and in the sea
band, with and without uncertainty radii.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st

from routing.locate import Gazetteer, LocateResult, check_coordinates, check_radius
from routing.nearest import Nearest, haversine_km, km_one, segment_distance, segment_foot

# Populated places on the coast (lat, lon): calls scatter around them.
COASTAL_PLACES = [
    (41.0138, 28.9497),  # İstanbul, Eminönü
    (40.9900, 29.0290),  # İstanbul, Kadıköy
    (41.1700, 29.0600),  # İstanbul, Sarıyer
    (40.9800, 28.6800),  # İstanbul, Beylikdüzü
    (40.7650, 29.9400),  # İzmit
    (40.1550, 26.4100),  # Çanakkale
    (39.3180, 26.6940),  # Ayvalık
    (38.4190, 27.1290),  # İzmir
    (38.3230, 26.3030),  # Çeşme
    (37.0350, 27.4300),  # Bodrum
    (36.8550, 28.2700),  # Marmaris
    (36.5400, 29.0000),  # Fethiye (Göcek side)
    (36.8850, 30.7050),  # Antalya
    (36.5400, 31.9990),  # Alanya
    (36.8000, 34.6300),  # Mersin
    (36.5900, 36.1700),  # İskenderun
    (41.0050, 39.7200),  # Trabzon
    (41.2900, 36.3300),  # Samsun
    (42.0240, 35.1530),  # Sinop
    (41.4550, 31.7900),  # Zonguldak
]

RADII = [None, 5.0, 40.0, 150.0, 800.0, 3_000.0, 20_000.0]


def reference_locate(
    gazetteer: Gazetteer, lat: float, lon: float, radius_m: float | None = None
) -> LocateResult:
    """``Gazetteer.locate`` before the piece table: every off-land point through the tree."""
    lat, lon = check_coordinates(lat, lon)
    radius = check_radius(radius_m)
    district = gazetteer._district_at(lat, lon)
    if district >= 0:
        return gazetteer._land[district][gazetteer._data.ground.ground_at(lat, lon)]
    country = gazetteer._foreign_at_tree(lat, lon)
    if country is not None:
        return LocateResult(in_service_area=False, at_sea=False, foreign_country=country)
    settings_ = gazetteer._settings
    snap_km = max(radius or 0.0, settings_.snap_tolerance_m) / 1000.0
    in_outline = bool(shapely.intersects_xy(gazetteer._data.outline, lon, lat))
    reach = max(snap_km, settings_.sea_reach_km, settings_.outline_snap_km if in_outline else 0)
    index, km, near_lat, near_lon = gazetteer._district_nearest.nearest_reference(lat, lon, reach)
    if index >= 0 and (km <= snap_km or (in_outline and km <= settings_.outline_snap_km)):
        return gazetteer._snapped(index, km, near_lat, near_lon)
    if index < 0 or km > settings_.sea_reach_km:
        return LocateResult(in_service_area=False, at_sea=True)
    foreign_index, foreign_km, _, _ = gazetteer._foreign_nearest.nearest_reference(lat, lon, km)
    return gazetteer._at_sea(index, foreign_index if foreign_index >= 0 and foreign_km < km else -1)


def _same_nearest(a: tuple[int, float, float, float], b: tuple[int, float, float, float]) -> bool:
    """Equal answers; "nothing within reach" carries NaN coordinates, equal to each other."""
    if a[0] == -1 or b[0] == -1:
        return a[0] == b[0]
    return a == b


def _off_land(
    gazetteer: Gazetteer, lats: np.ndarray, lons: np.ndarray
) -> list[tuple[float, float]]:
    """The points that are neither on Turkish districts nor on a neighbour's land."""
    district = gazetteer.locate_many(lats, lons).district
    return [
        (float(lat), float(lon))
        for lat, lon, d in zip(lats, lons, district, strict=True)
        if d < 0 and gazetteer._foreign_at(float(lat), float(lon)) is None
    ]


@pytest.fixture(scope="module")
def near_places(gazetteer: Gazetteer) -> list[tuple[float, float]]:
    """Off-land points scattered within a few km of populated coastal places."""
    rng = np.random.default_rng(112)
    centres = np.array(COASTAL_PLACES)[rng.integers(0, len(COASTAL_PLACES), 6_000)]
    sigma_deg = rng.choice([0.005, 0.02, 0.05], size=len(centres))[:, None]
    points = centres + rng.normal(0.0, 1.0, centres.shape) * sigma_deg
    return _off_land(gazetteer, points[:, 0], points[:, 1])[:1_500]


@pytest.fixture(scope="module")
def sea_band(gazetteer: Gazetteer) -> list[tuple[float, float]]:
    """Off-land points all around the boundaries: up to ~0.3° off a random boundary vertex."""
    rng = np.random.default_rng(7)
    coords = shapely.get_coordinates(gazetteer._district_nearest._pieces)
    picks = coords[rng.integers(0, len(coords), 40_000)][:, ::-1]
    spread = rng.choice([0.003, 0.03, 0.1, 0.3], size=len(picks))[:, None]
    points = picks + rng.normal(0.0, 1.0, picks.shape) * spread
    return _off_land(gazetteer, points[:, 0], points[:, 1])[:1_500]


def test_generated_points_are_off_land_and_use_the_table(
    gazetteer: Gazetteer,
    near_places: list[tuple[float, float]],
    sea_band: list[tuple[float, float]],
) -> None:
    """The generated sets are large, and the table (not the tree) answers nearly all of them."""
    assert len(near_places) >= 1_000
    assert len(sea_band) >= 1_000
    district = gazetteer._district_nearest
    searched = [district.search(lat, lon, 200.0) for lat, lon in near_places + sea_band]
    assert sum(s is not None and s.found is not None for s in searched) >= 0.9 * len(searched)


def _check_nearest(nearest: Any, lat: float, lon: float, within: tuple[float, ...]) -> None:
    for within_km in within:
        fast = nearest.nearest(lat, lon, within_km)
        slow = nearest.nearest_reference(lat, lon, within_km)
        assert _same_nearest(fast, slow), (lat, lon, within_km, fast, slow)


def test_nearest_district_matches_the_tree(
    gazetteer: Gazetteer,
    near_places: list[tuple[float, float]],
    sea_band: list[tuple[float, float]],
) -> None:
    """Nearest district (index, km, foot point) is identical to the STRtree algorithm's."""
    for lat, lon in near_places + sea_band:
        _check_nearest(gazetteer._district_nearest, lat, lon, (1_000.0, 200.0, 20.0, 5.0, 0.3))


def test_nearest_foreign_matches_the_tree(
    gazetteer: Gazetteer,
    near_places: list[tuple[float, float]],
    sea_band: list[tuple[float, float]],
) -> None:
    """Nearest foreign land, within the district distance (as locate asks) and wider."""
    for lat, lon in near_places + sea_band:
        km = gazetteer._district_nearest.nearest_reference(lat, lon, 1_000.0)[1]
        _check_nearest(gazetteer._foreign_nearest, lat, lon, (km, 30.0, 200.0))


def test_locate_matches_the_reference(
    gazetteer: Gazetteer,
    near_places: list[tuple[float, float]],
    sea_band: list[tuple[float, float]],
) -> None:
    """Whole results (district, province, snapped km, sea, abroad, ground) are identical."""
    kinds = set()
    for k, (lat, lon) in enumerate(near_places + sea_band):
        for radius in (RADII[k % len(RADII)], RADII[(k + 3) % len(RADII)]):
            result = gazetteer.locate(lat, lon, radius)
            assert result == reference_locate(gazetteer, lat, lon, radius), (lat, lon, radius)
            kinds.add((result.at_sea, result.in_service_area, result.snapped_km is not None))
    # Snapped, Turkish waters and open sea all occur among the generated points.
    assert {(False, True, True), (True, True, False), (True, False, False)} <= kinds


def test_coast_bounds_contain_the_answer(
    gazetteer: Gazetteer,
    near_places: list[tuple[float, float]],
    sea_band: list[tuple[float, float]],
) -> None:
    """The cheap bounds used for points at sea hold the exact km and owner."""
    district = gazetteer._district_nearest
    checked = 0
    for lat, lon in near_places + sea_band:
        search = district.search(lat, lon, 200.0)
        coast = None if search is None else district.coast(search)
        if coast is None:
            continue
        low, high, owners = coast
        index, km, _, _ = district.nearest_reference(lat, lon, 200.0)
        assert low <= km <= high, (lat, lon, low, km, high)
        assert index in owners.tolist(), (lat, lon, index)
        checked += 1
    assert checked >= 0.9 * (len(near_places) + len(sea_band))


def test_grid_of_squares_ties_match_the_tree() -> None:
    """Squares sharing edges and corners make exact ties everywhere: still the tree's answers."""
    corners = [(30 + i / 10, 40 + j / 10) for i in range(12) for j in range(12) if (i + 2 * j) % 5]
    squares = shapely.box(*np.array([(x, y, x + 0.1, y + 0.1) for x, y in corners]).T)
    nearest = Nearest(squares, (29.5, 39.5, 31.8, 41.8))
    rng = np.random.default_rng(5)
    grid = [(40 + j / 20, 30 + i / 20) for i in range(-4, 28) for j in range(-4, 28)]
    scattered = list(zip(rng.uniform(39.8, 41.5, 600), rng.uniform(29.8, 31.5, 600), strict=True))
    used = 0
    for lat, lon in grid + scattered:
        used += nearest.search(lat, lon, 50.0) is not None
        _check_nearest(nearest, lat, lon, (50.0, 5.0))
    assert used >= 0.9 * len(grid + scattered)  # the rest: boxes reaching off the raster


def test_zero_length_segments_leave_it_to_the_tree() -> None:
    """Data with a repeated vertex is not put in the table; answers come from the tree."""
    shapes = np.array(
        [
            shapely.Polygon([(30.0, 40.0), (30.2, 40.0), (30.2, 40.0), (30.2, 40.2), (30, 40.2)]),
            shapely.Polygon([(30.5, 40.0), (30.7, 40.0), (30.7, 40.2), (30.5, 40.2)]),
        ],
        dtype=object,
    )
    nearest = Nearest(shapes, (29.5, 39.5, 31.0, 41.0))
    assert nearest.search(40.1, 30.35, 50.0) is None
    _check_nearest(nearest, 40.1, 30.35, (50.0, 5.0))


def test_neighbours_land_matches_the_tree(gazetteer: Gazetteer) -> None:
    """Whose land a point is on: the clear-region answer is the tree's, on and off land."""
    rng = np.random.default_rng(31)
    lats = rng.uniform(34.0, 43.5, 20_000)
    lons = rng.uniform(24.5, 46.0, 20_000)
    from_regions = 0
    for lat, lon in zip(lats.tolist(), lons.tolist(), strict=True):
        assert gazetteer._foreign_at(lat, lon) == gazetteer._foreign_at_tree(lat, lon), (lat, lon)
        from_regions += gazetteer._foreign_nearest.clear_region(lat, lon) > 0
    assert from_regions >= 10_000  # most points never needed the tree


@settings(max_examples=400, deadline=None)
@given(
    lat=st.floats(min_value=35.0, max_value=43.0, allow_nan=False),
    lon=st.floats(min_value=25.0, max_value=45.5, allow_nan=False),
    radius=st.none() | st.floats(min_value=0, max_value=50_000),
)
@example(lat=42.0078125, lon=33.265625, radius=1405.0)  # nearest shore is not the planar one
@example(lat=36.17, lon=29.62, radius=None)  # between Kaş and Meis
@example(lat=40.75, lon=28.2, radius=None)  # mid-Marmara
def test_locate_matches_the_reference_anywhere_near(
    gazetteer: Gazetteer, lat: float, lon: float, radius: float | None
) -> None:
    """Any point around Türkiye, with any radius, gets the reference result."""
    assert gazetteer.locate(lat, lon, radius) == reference_locate(gazetteer, lat, lon, radius)


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(min_value=-90, max_value=90, allow_nan=False),
    lon=st.floats(min_value=-180, max_value=180, allow_nan=False),
)
def test_nearest_far_away_falls_back_to_the_tree(
    gazetteer: Gazetteer, lat: float, lon: float
) -> None:
    """Off the table's raster (or too far for it) the answer still comes out the same."""
    for nearest in (gazetteer._district_nearest, gazetteer._foreign_nearest):
        _check_nearest(nearest, lat, lon, (50.0, 500.0))


_OFFSET = st.floats(min_value=-0.05, max_value=0.05, allow_nan=False)


@settings(max_examples=500, deadline=None)
@given(
    base=st.tuples(st.floats(min_value=25.0, max_value=45.0), st.floats(35.0, 43.0)),
    point=st.tuples(_OFFSET, _OFFSET),
    start=st.tuples(_OFFSET, _OFFSET),
    step=st.tuples(_OFFSET | st.just(0.0), _OFFSET | st.just(0.0)),
)
def test_segment_formulas_are_geos(
    base: tuple[float, float],
    point: tuple[float, float],
    start: tuple[float, float],
    step: tuple[float, float],
) -> None:
    """Distance and foot point to a segment are GEOS's doubles, ties and zero length too."""
    a = complex(base[0] + start[0], base[1] + start[1])
    b = complex(a.real + step[0], a.imag + step[1])
    line = shapely.linestrings([(a.real, a.imag), (b.real, b.imag)])
    for x, y in ((base[0] + point[0], base[1] + point[1]), (a.real, a.imag), (b.real, b.imag)):
        here = shapely.points(x, y)
        assert segment_distance(x, y, a, b) == float(shapely.distance(here, line))
        foot = shapely.get_coordinates(shapely.shortest_line(line, here))[0]
        assert segment_foot(x, y, a, b) == (float(foot[0]), float(foot[1]))


@settings(max_examples=500, deadline=None)
@given(
    lat=st.floats(min_value=-80, max_value=80, allow_nan=False),
    lon=st.floats(min_value=-179, max_value=179, allow_nan=False),
    dlat=st.floats(min_value=-2, max_value=2, allow_nan=False),
    dlon=st.floats(min_value=-2, max_value=2, allow_nan=False),
)
def test_km_of_one_point_is_the_vectorised_km(
    lat: float, lon: float, dlat: float, dlon: float
) -> None:
    """The scalar great-circle km is bit-identical to the array function's."""
    to_lat, to_lon = lat + dlat, lon + dlon
    many = haversine_km(lat, lon, np.array([to_lat, lat, to_lat]), np.array([to_lon, lon, lon]))
    assert km_one(lat, lon, to_lat, to_lon) == float(many[0])
    assert km_one(lat, lon, to_lat, lon) == float(many[2])
    assert math.isfinite(km_one(lat, lon, lat, lon))
