"""Unit recommendation: the k available units of an agency that reach an incident first.

By estimated travel time, not straight-line distance: a patrol car across the river is far
if the bridge is. With a :class:`~routing.travel.RoadGraph`, one Dijkstra on the reversed
graph from the incident's node gives every unit's time; it is bounded, and the bound adapts:

1. estimate every candidate's time from its straight-line distance (:func:`estimate_s`),
2. run Dijkstra bounded at a multiple of the k-th smallest estimate,
3. if fewer than k candidates were reached, double the bound (up to ``limit_s``) and repeat.

The result is exact: every candidate not reached within the final bound takes longer than
it, so the k reached are the k best. Most incidents need one small search instead of a
search over the whole graph (``ng112 bench recommend`` measures both).

Candidates beyond ``limit_s``, off the graph (snapped further than ``max_snap_m``), or
every candidate when there is no graph, get the estimate and ``method="estimate"``; they
rank after road times that are at most their estimate (the ordering is by the time value).

Values here are routing's own (routing imports nothing from dispatch): the agency is a plain
string, the caller maps its ``Agency`` and ``UnitStatus`` to ``UnitCandidate``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.sparse.csgraph import dijkstra

from routing.errors import InvalidCoordinates
from routing.travel import (
    ACCESS_SPEED_KPH,
    AreaKind,
    FloatArray,
    RoadGraph,
    estimate_s,
    great_circle_m,
)

__all__ = [
    "DEFAULT_LIMIT_S",
    "Recommendation",
    "UnitCandidate",
    "recommend",
]

#: The longest drive a recommendation looks for on the graph (one hour).
DEFAULT_LIMIT_S: Final = 3_600.0
#: A point further than this from every graph node is off the graph.
DEFAULT_MAX_SNAP_M: Final = 1_000.0
#: First bound, as a multiple of the k-th best straight-line estimate.
_FIRST_BOUND_FACTOR: Final = 1.5
_MIN_BOUND_S: Final = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitCandidate:
    """A unit that could be sent: its id, last known position, agency and availability."""

    unit_id: str
    lat: float
    lon: float
    agency: str
    available: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    """A recommended unit: travel time, straight-line distance, and how the time was found.

    ``method`` is ``"road"`` (shortest path on the road graph) or ``"estimate"``
    (great-circle distance × circuity / speed).
    """

    unit_id: str
    agency: str
    travel_time_s: float
    distance_m: float
    method: str


def _check(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidCoordinates("latitude must be a finite number within -90..90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidCoordinates("longitude must be a finite number within -180..180")


def recommend(
    graph: RoadGraph | None,
    incident_lat: float,
    incident_lon: float,
    candidates: Sequence[UnitCandidate],
    k: int = 3,
    *,
    agency: str | None = None,
    area: AreaKind = AreaKind.URBAN,
    limit_s: float = DEFAULT_LIMIT_S,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    adaptive: bool = True,
) -> list[Recommendation]:
    """The ``k`` available candidates (of ``agency``, if given) that arrive first, fastest first.

    ``area`` chooses the estimate's circuity and speed (used without a graph, off it and
    beyond ``limit_s``). ``adaptive=False`` runs one Dijkstra bounded at ``limit_s`` (the
    plain method, kept for comparison). Raises ``InvalidCoordinates`` for an impossible
    incident position; candidates with impossible positions are skipped.
    """
    _check(incident_lat, incident_lon)
    if k <= 0:
        return []
    pool = [
        c
        for c in candidates
        if c.available
        and (agency is None or c.agency == agency)
        and math.isfinite(c.lat)
        and math.isfinite(c.lon)
        and -90.0 <= c.lat <= 90.0
        and -180.0 <= c.lon <= 180.0
    ]
    if not pool:
        return []
    lats = np.fromiter((c.lat for c in pool), dtype=np.float64, count=len(pool))
    lons = np.fromiter((c.lon for c in pool), dtype=np.float64, count=len(pool))
    crow = great_circle_m(lats, lons, incident_lat, incident_lon)
    estimates = np.asarray(estimate_s(crow, area), dtype=np.float64)
    times = estimates.copy()
    on_road = np.zeros(len(pool), dtype=bool)
    if graph is not None:
        search = _Search(
            graph=graph, k=k, limit_s=limit_s, max_snap_m=max_snap_m, adaptive=adaptive
        )
        road, floor = search.run(incident_lat, incident_lon, lats, lons, estimates)
        on_road = np.isfinite(road)
        # A unit on the graph but not reached takes longer than the final bound.
        times = np.where(on_road, road, np.maximum(estimates, floor))
    order = np.lexsort((crow, times))[:k]
    return [
        Recommendation(
            unit_id=pool[i].unit_id,
            agency=pool[i].agency,
            travel_time_s=round(float(times[i]), 1),
            distance_m=round(float(crow[i]), 1),
            method="road" if on_road[i] else "estimate",
        )
        for i in order
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Search:
    """One incident's bounded search on a graph (see the module docstring)."""

    graph: RoadGraph
    k: int
    limit_s: float
    max_snap_m: float
    adaptive: bool

    def run(
        self,
        incident_lat: float,
        incident_lon: float,
        lats: FloatArray,
        lons: FloatArray,
        estimates: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """Road seconds per candidate (``inf`` where not found) and a floor for the rest.

        The floor is the final bound for candidates on the graph that were not reached (their
        road time exceeds it) and 0 for candidates off the graph.
        """
        graph = self.graph
        road = np.full(len(lats), np.inf)
        floor = np.zeros(len(lats))
        target = graph.snap(np.array([incident_lat]), np.array([incident_lon]))
        if float(target.distance_m[0]) > self.max_snap_m:
            return road, floor
        target_access = float(target.distance_m[0]) / (ACCESS_SPEED_KPH / 3.6)
        units = graph.snap(lats, lons)
        usable = units.distance_m <= self.max_snap_m
        if not usable.any():
            return road, floor
        unit_access = units.distance_m / (ACCESS_SPEED_KPH / 3.6)
        wanted = min(self.k, int(usable.sum()))
        if self.adaptive:
            kth = float(np.partition(estimates[usable], wanted - 1)[wanted - 1])
            bound = min(max(kth * _FIRST_BOUND_FACTOR, _MIN_BOUND_S), self.limit_s)
        else:
            bound = self.limit_s
        source = int(target.nodes[0])
        while True:
            node_times = dijkstra(
                graph.reverse,
                directed=True,
                indices=source,
                limit=max(bound - target_access, 0.0),
            )
            total = np.where(usable, node_times[units.nodes] + unit_access + target_access, np.inf)
            reached = total <= bound
            if int(reached.sum()) >= wanted or bound >= self.limit_s:
                road[reached] = total[reached]
                floor[usable & ~reached] = bound
                return road, floor
            bound = min(bound * 2.0, self.limit_s)
