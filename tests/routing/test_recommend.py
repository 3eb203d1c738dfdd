"""Unit recommendation: by travel time on the road graph, exact, with honest fallbacks."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest

from routing.errors import InvalidCoordinates
from routing.recommend import Recommendation, UnitCandidate, recommend
from routing.travel import ACCESS_SPEED_KPH, AreaKind, RoadGraph, great_circle_m

RIZE_GRAPHML = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "roads"
) / "rize_center_drive.graphml"
LAT0, LON0 = 41.02, 40.52
M_PER_DEG = 6_371_008.8 * math.pi / 180.0
SPEED = 50.0 / 3.6


def at(north_m: float, east_m: float) -> tuple[float, float]:
    """A point some metres north and east of (LAT0, LON0)."""
    return (
        LAT0 + north_m / M_PER_DEG,
        LON0 + east_m / (M_PER_DEG * math.cos(math.radians(LAT0))),
    )


def river_town() -> RoadGraph:
    """Two banks 300 m apart, a road along each every 100 m, one bridge 3 km east."""
    ids: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    edges: list[tuple[int, int, float]] = []
    for bank, north in (("s", -150.0), ("n", 150.0)):
        for step in range(31):
            lat, lon = at(north, step * 100.0)
            ids.append(f"{bank}{step}")
            lats.append(lat)
            lons.append(lon)
            if step:
                here = len(ids) - 1
                edges += [(here - 1, here, 100.0 / SPEED), (here, here - 1, 100.0 / SPEED)]
    bridge_s, bridge_n = ids.index("s30"), ids.index("n30")
    edges += [(bridge_s, bridge_n, 300.0 / SPEED), (bridge_n, bridge_s, 300.0 / SPEED)]
    return RoadGraph.from_edges(node_ids=ids, lats=lats, lons=lons, edges=edges)


def unit(unit_id: str, where: tuple[float, float], agency: str = "health") -> UnitCandidate:
    return UnitCandidate(unit_id=unit_id, lat=where[0], lon=where[1], agency=agency)


def test_unit_across_the_river_is_not_first() -> None:
    """The ambulance 300 m across the river loses to the one 800 m along the same bank."""
    graph = river_town()
    incident = at(-150.0, 0.0)
    across = unit("across", at(150.0, 0.0))
    along = unit("along", at(-150.0, 800.0))
    by_road = recommend(graph, *incident, [across, along], k=2)
    assert [r.unit_id for r in by_road] == ["along", "across"]
    assert by_road[0].travel_time_s == pytest.approx(800.0 / SPEED, abs=0.1)
    assert by_road[1].travel_time_s == pytest.approx(6_300.0 / SPEED, abs=0.1)
    assert {r.method for r in by_road} == {"road"}
    # Straight-line distance alone (no graph) would send the wrong unit.
    assert [r.unit_id for r in recommend(None, *incident, [across, along], k=2)] == [
        "across",
        "along",
    ]


def test_one_way_street_changes_the_order() -> None:
    """A unit at the wrong end of a one-way street must go round the block."""
    lats, lons = zip(*(at(0, 0), at(0, 200), at(200, 200), at(200, 0)), strict=True)
    block = RoadGraph.from_edges(
        node_ids=["a", "b", "c", "d"],
        lats=list(lats),
        lons=list(lons),
        # a -> b one way; the rest both ways around the block.
        edges=[
            *((0, 1, 20.0), (1, 2, 20.0), (2, 1, 20.0), (2, 3, 20.0)),
            *((3, 2, 20.0), (3, 0, 20.0), (0, 3, 20.0)),
        ],
    )
    wrong_end = unit("wrong-end", at(0, 200))
    round_corner = unit("corner", at(200, 0))
    found = recommend(block, *at(0, 0), [wrong_end, round_corner], k=2)
    assert [r.unit_id for r in found] == ["corner", "wrong-end"]
    assert found[1].travel_time_s == pytest.approx(60.0, abs=0.1)


def test_filters_agency_and_availability() -> None:
    """Only available units of the required agency are recommended; k caps the list."""
    graph = river_town()
    incident = at(-150.0, 0.0)
    units = [
        unit("busy", at(-150.0, 100.0)),
        unit("police", at(-150.0, 200.0), agency="police"),
        unit("h1", at(-150.0, 300.0)),
        unit("h2", at(-150.0, 400.0)),
        unit("h3", at(-150.0, 500.0)),
    ]
    units[0] = UnitCandidate(
        unit_id="busy", lat=units[0].lat, lon=units[0].lon, agency="health", available=False
    )
    found = recommend(graph, *incident, units, k=2, agency="health")
    assert [r.unit_id for r in found] == ["h1", "h2"]
    assert recommend(graph, *incident, units, k=0) == []
    assert len(recommend(graph, *incident, units, k=10, agency="health")) == 3
    assert recommend(graph, *incident, [], k=3) == []


def test_fallback_estimates_off_the_graph_and_without_one() -> None:
    """A unit 20 km away is off the graph: its time is the estimate, marked as such."""
    graph = river_town()
    incident = at(-150.0, 0.0)
    far = unit("far", at(20_000.0, 0.0))
    near = unit("near", at(-150.0, 200.0))
    found = recommend(graph, *incident, [far, near], k=2, area=AreaKind.RURAL)
    assert [(r.unit_id, r.method) for r in found] == [("near", "road"), ("far", "estimate")]
    crow = float(great_circle_m(far.lat, far.lon, *incident))
    assert found[1].travel_time_s == pytest.approx(crow * 1.3 / (60 / 3.6), abs=0.1)
    assert found[1].distance_m == pytest.approx(crow, abs=0.1)


def test_beyond_the_limit_ranks_after_the_limit() -> None:
    """With a 60 s limit, the unit beyond the bridge is estimated, but never under 60 s."""
    graph = river_town()
    across = unit("across", at(150.0, 0.0))
    found = recommend(graph, *at(-150.0, 0.0), [across], k=1, limit_s=60.0)
    assert found[0].method == "estimate"
    assert found[0].travel_time_s >= 60.0


def test_impossible_incident_position() -> None:
    """A NaN incident position raises; a unit with an impossible position is skipped."""
    graph = river_town()
    with pytest.raises(InvalidCoordinates):
        recommend(graph, math.nan, LON0, [unit("u", at(0, 0))])
    broken = UnitCandidate(unit_id="broken", lat=math.nan, lon=LON0, agency="health")
    assert [
        r.unit_id for r in recommend(graph, *at(-150, 0), [broken, unit("u", at(-150, 100))])
    ] == ["u"]


def _units_on(graph: RoadGraph, count: int, seed: int) -> list[UnitCandidate]:
    rng = np.random.default_rng(seed)
    nodes = rng.integers(0, graph.node_count, count)
    return [
        UnitCandidate(
            unit_id=f"u{i}",
            lat=float(graph.lats[n] + rng.normal(0, 2e-4)),
            lon=float(graph.lons[n] + rng.normal(0, 2e-4)),
            agency="health",
        )
        for i, n in enumerate(nodes)
    ]


def test_rize_recommendations_match_networkx_and_beat_straight_lines() -> None:
    """On real Rize roads: top-3 equals a brute-force NetworkX ranking; straight lines differ."""
    graph = RoadGraph.from_graphml(RIZE_GRAPHML)
    reverse = ox.load_graphml(RIZE_GRAPHML).reverse(copy=False)
    units = _units_on(graph, 60, seed=3)
    lats = np.array([u.lat for u in units])
    lons = np.array([u.lon for u in units])
    snapped = graph.snap(lats, lons)
    access = snapped.distance_m / (ACCESS_SPEED_KPH / 3.6)
    rng = np.random.default_rng(4)
    differs_from_straight = 0
    for node in rng.integers(0, graph.node_count, 40):
        lat, lon = float(graph.lats[node]), float(graph.lons[node])
        ours = recommend(graph, lat, lon, units, k=3)
        plain = recommend(graph, lat, lon, units, k=3, adaptive=False)
        assert ours == plain
        lengths = nx.single_source_dijkstra_path_length(
            reverse, int(graph.node_ids[node]), weight="travel_time"
        )
        brute = [
            lengths.get(int(graph.node_ids[n]), math.inf) + a
            for n, a in zip(snapped.nodes, access, strict=True)
        ]
        expected = sorted(range(len(units)), key=lambda i: brute[i])[:3]
        assert [r.unit_id for r in ours] == [units[i].unit_id for i in expected]
        assert [r.travel_time_s for r in ours] == pytest.approx(
            [brute[i] for i in expected], abs=0.06
        )
        straight = np.argsort(great_circle_m(lats, lons, lat, lon))[:3]
        differs_from_straight += [units[i].unit_id for i in straight] != [r.unit_id for r in ours]
    assert differs_from_straight >= 15  # 28 of 40 with this seed


def test_recommendation_is_a_value() -> None:
    """Recommendations are frozen values with rounded figures."""
    found = recommend(river_town(), *at(-150, 0), [unit("u", at(-150, 100))])
    assert found == [
        Recommendation(
            unit_id="u",
            agency="health",
            travel_time_s=round(100 / SPEED, 1),
            distance_m=100.0,
            method="road",
        )
    ]
