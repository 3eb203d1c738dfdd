"""Travel times: great-circle estimates, road graphs from edges and GraphML, bounded Dijkstra."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest

from routing.errors import InvalidCoordinates
from routing.travel import (
    ACCESS_SPEED_KPH,
    DEFAULT_SPEED_KPH,
    AreaKind,
    RoadGraph,
    RoadGraphError,
    estimate_s,
    great_circle_m,
)

RIZE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "roads"
RIZE_GRAPHML = RIZE / "rize_center_drive.graphml"
LAT0, LON0 = 41.02, 40.52
M_PER_DEG = 6_371_008.8 * math.pi / 180.0


def east(metres: float) -> float:
    """Longitude of a point some metres east of LON0 at LAT0."""
    return LON0 + metres / (M_PER_DEG * math.cos(math.radians(LAT0)))


def line_graph() -> RoadGraph:
    """A -> B -> C one way, 100 m apart, 10 s per edge; a slower parallel A -> B edge."""
    return RoadGraph.from_edges(
        node_ids=["A", "B", "C"],
        lats=[LAT0, LAT0, LAT0],
        lons=[east(0), east(100), east(200)],
        edges=[(0, 1, 10.0), (0, 1, 25.0), (1, 2, 10.0)],
    )


def test_great_circle_one_degree_of_latitude() -> None:
    """One degree of latitude is about 111.2 km; arrays work element-wise."""
    assert float(great_circle_m(40.0, 30.0, 41.0, 30.0)) == pytest.approx(111_195, rel=1e-4)
    many = great_circle_m(np.array([40.0, 41.0]), np.array([30.0, 30.0]), 41.0, 30.0)
    assert many.tolist() == pytest.approx([111_195, 0.0], abs=1.0)


@pytest.mark.parametrize(
    ("area", "expected_s"),
    [(AreaKind.URBAN, 168.0), (AreaKind.RURAL, 78.0), (AreaKind.MOTORWAY, 48.0)],
)
def test_estimate_uses_circuity_and_speed(area: AreaKind, expected_s: float) -> None:
    """1 km straight: urban 1.4 km at 30 km/h, rural 1.3 km at 60, motorway 1.2 km at 90."""
    assert estimate_s(1_000.0, area) == pytest.approx(expected_s)


def test_one_way_and_parallel_edges() -> None:
    """Times follow one-way edges, keep the fastest parallel edge, and stop at the limit."""
    graph = line_graph()
    assert graph.edge_count == 2
    times = graph.times_to(LAT0, east(200))
    assert times.tolist() == pytest.approx([20.0, 10.0, 0.0])
    back = graph.times_to(LAT0, east(0))
    assert back[0] == 0.0
    assert math.isinf(back[1])
    assert math.isinf(back[2])
    bounded = graph.times_to(LAT0, east(200), limit_s=15.0)
    assert math.isinf(bounded[0])
    assert bounded[1] == pytest.approx(10.0)


def test_access_time_off_the_network() -> None:
    """A point 50 m north of A adds 50 m at the access speed to the time from A."""
    graph = line_graph()
    north = LAT0 + 50.0 / M_PER_DEG
    expected = 20.0 + 50.0 / (ACCESS_SPEED_KPH / 3.6)
    assert graph.travel_time_s(north, east(0), LAT0, east(200)) == pytest.approx(expected, rel=1e-3)
    snap = graph.snap(np.array([north]), np.array([east(0)]))
    assert snap.nodes.tolist() == [0]
    assert snap.distance_m[0] == pytest.approx(50.0, rel=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"node_ids": [], "lats": [], "lons": [], "edges": []}, "at least one node"),
        ({"node_ids": ["a"], "lats": [91.0], "lons": [0.0], "edges": []}, "latitudes"),
        ({"node_ids": ["a"], "lats": [0.0], "lons": [0.0], "edges": [(0, 1, 1.0)]}, "not exist"),
        ({"node_ids": ["a"], "lats": [0.0], "lons": [0.0], "edges": [(0, 0, -1.0)]}, "negative"),
        ({"node_ids": ["a"], "lats": [0.0], "lons": [0.0]}, "give edges"),
    ],
)
def test_bad_graphs_are_refused(kwargs: dict[str, object], match: str) -> None:
    """Each malformed input is a RoadGraphError with a precise reason."""
    with pytest.raises(RoadGraphError, match=match):
        RoadGraph.from_edges(**kwargs)  # type: ignore[arg-type]


def test_impossible_target_is_refused() -> None:
    """A NaN or out-of-range target raises InvalidCoordinates."""
    graph = line_graph()
    with pytest.raises(InvalidCoordinates):
        graph.times_to(math.nan, LON0)
    with pytest.raises(InvalidCoordinates):
        graph.travel_time_s(LAT0, 200.0, LAT0, LON0)


GRAPHML = """<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="d0" for="node" attr.name="y" attr.type="string" />
  <key id="d1" for="node" attr.name="x" attr.type="string" />
  <key id="d2" for="edge" attr.name="length" attr.type="string" />
  <key id="d3" for="edge" attr.name="speed_kph" attr.type="string" />
  <graph edgedefault="{direction}">
    <node id="1"><data key="d0">41.02</data><data key="d1">40.52</data></node>
    <node id="2"><data key="d0">41.021</data><data key="d1">40.52</data></node>
    <node id="3"><data key="d0">41.022</data><data key="d1">40.52</data></node>
    <edge source="1" target="2"><data key="d2">100</data><data key="d3">['36', '50']</data></edge>
    <edge source="2" target="3"><data key="d2">100</data></edge>
  </graph>
</graphml>
"""


def test_graphml_length_and_speed(tmp_path: Path) -> None:
    """Without travel_time: length at speed_kph (first of a list), else the default speed."""
    path = tmp_path / "g.graphml"
    path.write_text(GRAPHML.format(direction="directed"), encoding="utf-8")
    graph = RoadGraph.from_graphml(path)
    times = graph.times_to(41.022, 40.52)
    assert times[0] == pytest.approx(10.0 + 100.0 / (DEFAULT_SPEED_KPH / 3.6))
    assert graph.node_ids == ("1", "2", "3")
    assert math.isinf(graph.times_to(41.02, 40.52)[2])


def test_undirected_graphml_goes_both_ways(tmp_path: Path) -> None:
    """An undirected GraphML graph gets both directions of every edge."""
    path = tmp_path / "g.graphml"
    path.write_text(GRAPHML.format(direction="undirected"), encoding="utf-8")
    graph = RoadGraph.from_graphml(path)
    assert graph.edge_count == 4
    assert math.isfinite(graph.times_to(41.02, 40.52)[2])


def test_unreadable_graphml(tmp_path: Path) -> None:
    """A missing file, broken XML or a node without coordinates is a RoadGraphError."""
    with pytest.raises(RoadGraphError, match="cannot be read"):
        RoadGraph.from_graphml(tmp_path / "missing.graphml")
    broken = tmp_path / "broken.graphml"
    broken.write_text("<graphml><graph>", encoding="utf-8")
    with pytest.raises(RoadGraphError, match="cannot be read"):
        RoadGraph.from_graphml(broken)
    no_xy = tmp_path / "noxy.graphml"
    no_xy.write_text(
        GRAPHML.format(direction="directed").replace('<data key="d1">40.52</data>', ""),
        encoding="utf-8",
    )
    with pytest.raises(RoadGraphError, match="numeric x and y"):
        RoadGraph.from_graphml(no_xy)


def test_rize_graph_agrees_with_networkx() -> None:
    """On the real Rize extract, times to 20 targets equal NetworkX Dijkstra on OSMnx's load."""
    graph = RoadGraph.from_graphml(RIZE_GRAPHML)
    reference = ox.load_graphml(RIZE_GRAPHML)
    assert graph.node_count == reference.number_of_nodes() == 1390
    reverse = reference.reverse(copy=False)
    index = {node_id: i for i, node_id in enumerate(graph.node_ids)}
    rng = np.random.default_rng(7)
    worst = 0.0
    for target in rng.choice(list(reference.nodes), size=20, replace=False):
        lat, lon = reference.nodes[target]["y"], reference.nodes[target]["x"]
        ours = graph.times_to(lat, lon)
        theirs = nx.single_source_dijkstra_path_length(reverse, target, weight="travel_time")
        assert {index[str(n)] for n in theirs} == set(np.flatnonzero(np.isfinite(ours)))
        worst = max(worst, *(abs(ours[index[str(n)]] - t) for n, t in theirs.items()))
    assert worst < 1e-6
