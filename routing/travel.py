"""Travel times: a road graph for one-to-many shortest paths, and an estimate without one.

:class:`RoadGraph` holds a directed road network as a SciPy CSR matrix of travel times in
seconds (the minimum over parallel edges), node positions, and a KD-tree on locally projected
coordinates to snap points to their nearest node. Units drive *to* an incident, so one
bounded Dijkstra on the reversed graph, from the incident's node, gives every unit's time at
once (:meth:`RoadGraph.times_to`). Build it at start: from a GraphML file
(:meth:`RoadGraph.from_graphml`: OSMnx's ``travel_time`` seconds, else ``length`` and
``speed_kph``, else ``length`` at :data:`DEFAULT_SPEED_KPH`) or from edge arrays
(:meth:`RoadGraph.from_edges`, for synthetic graphs and tests). Parsing uses ``defusedxml``,
so neither OSMnx nor NetworkX is needed at run time.

The time between a point and its snapped node is counted at :data:`ACCESS_SPEED_KPH` along
the straight line: a unit parked 80 m off the network needs a little while to join it.

Without a graph, :func:`estimate_s` multiplies the great-circle distance by a circuity factor
and divides by a speed, both by kind of area (:class:`AreaKind`). The defaults are rounded
values in the range the literature reports for road circuity (road distance over straight-line
distance is about 1.2–1.4 for most countries and trip lengths; e.g. Ballou, Rahardja and
Sakai 2002, "Selected country circuity factors for road travel distance estimation",
Transportation Research A 36(9); Boscoe, Henry and Zdeb 2012, "A nationwide comparison of
driving distance versus straight-line distance to hospitals", Professional Geographer 64(2))
and typical emergency-vehicle average speeds; a deployment should tune them against its own
graph or AVL history. Province-to-province highway distances (KGM) are not used yet.

Everything here is pure computation over arrays built at start; nothing reads the clock.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
from defusedxml import ElementTree
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from routing.errors import InvalidCoordinates, RoadGraphError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from xml.etree.ElementTree import Element

__all__ = [
    "ACCESS_SPEED_KPH",
    "DEFAULT_SPEED_KPH",
    "AreaKind",
    "RoadGraph",
    "RoadGraphError",
    "SpeedModel",
    "estimate_s",
    "great_circle_m",
]

EARTH_RADIUS_M: Final = 6_371_008.8
#: Speed for edges that carry only a length.
DEFAULT_SPEED_KPH: Final = 30.0
#: Speed between a point and its snapped node (off the network, parking, the last metres).
ACCESS_SPEED_KPH: Final = 15.0
#: Smallest edge time kept: Dijkstra needs positive weights.
_MIN_EDGE_S: Final = 0.01
_GRAPHML: Final = "{http://graphml.graphdrawing.org/xmlns}"

FloatArray = npt.NDArray[np.float64]


class AreaKind(enum.StrEnum):
    """The kind of area a trip crosses, for the estimate without a graph."""

    URBAN = "urban"
    RURAL = "rural"
    MOTORWAY = "motorway"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedModel:
    """Circuity factor (road / straight-line distance) and average speed of one area kind."""

    circuity: float
    speed_kph: float


#: Defaults for the estimate without a graph (see the module docstring for their basis).
SPEED_MODELS: Mapping[AreaKind, SpeedModel] = MappingProxyType(
    {
        AreaKind.URBAN: SpeedModel(circuity=1.4, speed_kph=30.0),
        AreaKind.RURAL: SpeedModel(circuity=1.3, speed_kph=60.0),
        AreaKind.MOTORWAY: SpeedModel(circuity=1.2, speed_kph=90.0),
    }
)


def _check(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidCoordinates("latitude must be a finite number within -90..90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidCoordinates("longitude must be a finite number within -180..180")


def great_circle_m(
    lat1: float | FloatArray, lon1: float | FloatArray, lat2: float, lon2: float
) -> FloatArray:
    """Haversine distance in metres (element-wise for arrays in the first point)."""
    p1, p2 = np.radians(lat1), math.radians(lat2)
    dphi = p2 - p1
    dlmb = math.radians(lon2) - np.radians(lon1)
    h = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def estimate_s(
    distance_m: float | FloatArray, area: AreaKind = AreaKind.URBAN
) -> float | FloatArray:
    """Travel time estimate from a straight-line distance: circuity × distance / speed."""
    model = SPEED_MODELS[area]
    return distance_m * model.circuity / (model.speed_kph / 3.6)


@dataclass(frozen=True, slots=True, kw_only=True)
class Snap:
    """Points snapped to the graph: node indices and straight-line metres to them."""

    nodes: npt.NDArray[np.intp]
    distance_m: FloatArray


class RoadGraph:
    """A directed road graph with travel times, ready for bounded one-to-many queries."""

    __slots__ = ("_lat0", "_reverse", "_tree", "forward", "lats", "lons", "node_ids")

    def __init__(
        self,
        *,
        node_ids: Sequence[str],
        lats: FloatArray,
        lons: FloatArray,
        sources: npt.NDArray[np.intp],
        targets: npt.NDArray[np.intp],
        seconds: FloatArray,
    ) -> None:
        n = len(node_ids)
        if n == 0:
            raise RoadGraphError("a road graph needs at least one node")
        if not (len(lats) == len(lons) == n):
            raise RoadGraphError("every node needs one latitude and one longitude")
        if not (np.all(np.isfinite(lats)) and np.all(np.abs(lats) <= 90.0)):
            raise RoadGraphError("node latitudes must be finite and within -90..90")
        if not (np.all(np.isfinite(lons)) and np.all(np.abs(lons) <= 180.0)):
            raise RoadGraphError("node longitudes must be finite and within -180..180")
        if not (len(sources) == len(targets) == len(seconds)):
            raise RoadGraphError("edge arrays must have the same length")
        if len(seconds) and not (np.all(np.isfinite(seconds)) and np.all(seconds >= 0.0)):
            raise RoadGraphError("edge travel times must be finite and not negative")
        if len(sources) and (
            min(sources.min(), targets.min()) < 0 or max(sources.max(), targets.max()) >= n
        ):
            raise RoadGraphError("an edge refers to a node that does not exist")
        self.node_ids: tuple[str, ...] = tuple(node_ids)
        self.lats = np.asarray(lats, dtype=np.float64)
        self.lons = np.asarray(lons, dtype=np.float64)
        # Parallel edges: keep the fastest (a COO -> CSR conversion would add them up).
        weights = np.maximum(np.asarray(seconds, dtype=np.float64), _MIN_EDGE_S)
        order = np.lexsort((weights, targets, sources))
        src, dst, wgt = sources[order], targets[order], weights[order]
        first = np.ones(len(src), dtype=bool)
        first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        src, dst, wgt = src[first], dst[first], wgt[first]
        self.forward = csr_matrix((wgt, (src, dst)), shape=(n, n))
        self._reverse = csr_matrix((wgt, (dst, src)), shape=(n, n))
        self._lat0 = float(np.mean(self.lats))
        self._tree = cKDTree(self._project(self.lats, self.lons))

    @property
    def reverse(self) -> csr_matrix:
        """The reversed graph (edge u -> v becomes v -> u): searches towards a target."""
        return self._reverse

    @property
    def node_count(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def edge_count(self) -> int:
        """Number of directed edges (parallel edges counted once)."""
        return int(self.forward.nnz)

    def _project(self, lats: FloatArray, lons: FloatArray) -> FloatArray:
        """Local equirectangular metres around the graph's mean latitude (for snapping)."""
        k = EARTH_RADIUS_M * math.pi / 180.0
        x = np.asarray(lons) * k * math.cos(math.radians(self._lat0))
        y = np.asarray(lats) * k
        return np.column_stack((x, y))

    @classmethod
    def from_edges(
        cls,
        *,
        node_ids: Sequence[str],
        lats: Sequence[float] | FloatArray,
        lons: Sequence[float] | FloatArray,
        edges: Sequence[tuple[int, int, float]] | None = None,
        sources: npt.NDArray[np.intp] | None = None,
        targets: npt.NDArray[np.intp] | None = None,
        seconds: FloatArray | None = None,
    ) -> RoadGraph:
        """A graph from node positions and directed edges ``(from, to, seconds)``.

        Give edges either as a sequence of triples (indices into ``node_ids``) or as three
        arrays (faster for large synthetic graphs).
        """
        if edges is not None:
            triples = np.asarray(edges, dtype=np.float64).reshape(-1, 3)
            sources = triples[:, 0].astype(np.intp)
            targets = triples[:, 1].astype(np.intp)
            seconds = triples[:, 2]
        if sources is None or targets is None or seconds is None:
            raise RoadGraphError("give edges, or sources, targets and seconds")
        return cls(
            node_ids=node_ids,
            lats=np.asarray(lats, dtype=np.float64),
            lons=np.asarray(lons, dtype=np.float64),
            sources=np.asarray(sources, dtype=np.intp),
            targets=np.asarray(targets, dtype=np.intp),
            seconds=np.asarray(seconds, dtype=np.float64),
        )

    @classmethod
    def from_graphml(cls, path: Path) -> RoadGraph:
        """Load a GraphML road graph as OSMnx saves it (nodes ``x``/``y``; edge times).

        Edge time: ``travel_time`` seconds if present, else ``length`` metres at
        ``speed_kph``, else ``length`` at :data:`DEFAULT_SPEED_KPH`. An undirected GraphML
        graph gets both directions.
        """
        try:
            return _read_graphml(path)
        except (OSError, ElementTree.ParseError) as exc:
            raise RoadGraphError("the GraphML road graph cannot be read") from exc

    def snap(self, lats: FloatArray, lons: FloatArray) -> Snap:
        """Nearest nodes of points (straight line), and their distances in metres."""
        distances, nodes = self._tree.query(self._project(lats, lons))
        return Snap(
            nodes=np.asarray(nodes, dtype=np.intp),
            distance_m=np.asarray(distances, dtype=np.float64),
        )

    def times_to(self, lat: float, lon: float, limit_s: float = math.inf) -> FloatArray:
        """Seconds from every node to the node nearest the point (``inf`` beyond the limit).

        One Dijkstra on the reversed graph, stopped at ``limit_s``; the access time from the
        target node to the point is included.
        """
        _check(lat, lon)
        target = self.snap(np.array([lat]), np.array([lon]))
        access = float(target.distance_m[0]) / (ACCESS_SPEED_KPH / 3.6)
        limit = max(limit_s - access, 0.0)
        times = dijkstra(self._reverse, directed=True, indices=int(target.nodes[0]), limit=limit)
        return np.asarray(times, dtype=np.float64) + access

    def travel_time_s(
        self, from_lat: float, from_lon: float, to_lat: float, to_lon: float
    ) -> float:
        """Seconds from one point to another over the graph (``inf`` if unreachable)."""
        _check(from_lat, from_lon)
        times = self.times_to(to_lat, to_lon)
        start = self.snap(np.array([from_lat]), np.array([from_lon]))
        access = float(start.distance_m[0]) / (ACCESS_SPEED_KPH / 3.6)
        return float(times[int(start.nodes[0])]) + access


def _read_graphml(path: Path) -> RoadGraph:
    """Stream a GraphML file: key declarations, nodes with x/y, edges with their times."""
    keys: dict[str, str] = {}
    directed = True
    node_index: dict[str, int] = {}
    lats: list[float] = []
    lons: list[float] = []
    sources: list[int] = []
    targets: list[int] = []
    seconds: list[float] = []
    pending: list[tuple[str, str, dict[str, str]]] = []
    for event, element in ElementTree.iterparse(str(path), events=("start", "end")):
        tag = element.tag.removeprefix(_GRAPHML)
        if event == "start":
            if tag == "graph":
                directed = element.get("edgedefault", "directed") == "directed"
            continue
        if tag == "key":
            keys[element.get("id", "")] = element.get("attr.name", "")
        elif tag == "node":
            data = _data(element, keys)
            try:
                lat, lon = float(data["y"]), float(data["x"])
            except (KeyError, ValueError) as exc:
                raise RoadGraphError("every GraphML node needs numeric x and y") from exc
            node_index[element.get("id", "")] = len(lats)
            lats.append(lat)
            lons.append(lon)
            element.clear()
        elif tag == "edge":
            pending.append(
                (element.get("source", ""), element.get("target", ""), _data(element, keys))
            )
            element.clear()
    for source, target, data in pending:
        if source not in node_index or target not in node_index:
            raise RoadGraphError("a GraphML edge refers to a node that does not exist")
        time_s = _edge_seconds(data)
        sources.append(node_index[source])
        targets.append(node_index[target])
        seconds.append(time_s)
        if not directed:
            sources.append(node_index[target])
            targets.append(node_index[source])
            seconds.append(time_s)
    return RoadGraph(
        node_ids=list(node_index),
        lats=np.asarray(lats, dtype=np.float64),
        lons=np.asarray(lons, dtype=np.float64),
        sources=np.asarray(sources, dtype=np.intp),
        targets=np.asarray(targets, dtype=np.intp),
        seconds=np.asarray(seconds, dtype=np.float64),
    )


def _data(element: Element, keys: Mapping[str, str]) -> dict[str, str]:
    return {
        keys.get(child.get("key", ""), ""): (child.text or "")
        for child in element
        if child.tag.removeprefix(_GRAPHML) == "data"
    }


def _edge_seconds(data: Mapping[str, str]) -> float:
    try:
        if data.get("travel_time"):
            return float(data["travel_time"])
        length = float(data["length"])
        speed = _first_number(data.get("speed_kph", "")) or DEFAULT_SPEED_KPH
    except (KeyError, ValueError) as exc:
        raise RoadGraphError("a GraphML edge needs travel_time or length") from exc
    return length / (speed / 3.6)


def _first_number(text: str) -> float | None:
    """OSM speeds may be lists ("['50', '30']"): take the first number, if any."""
    digits = ""
    for ch in text:
        if ch.isdigit() or (ch == "." and digits):
            digits += ch
        elif digits:
            break
    try:
        value = float(digits)
    except ValueError:
        return None
    return value if value > 0 else None
