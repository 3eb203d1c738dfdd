"""Duplicate clustering: which open incident a new call is probably about.

In a surge many calls describe the same few incidents. A new call is proposed as a duplicate
of an open incident when

- their types are compatible: the same family, or families that describe one scene from
  different angles (a collapse and the injured under it, a collision and a burning car); an
  unknown type is compatible with anything, an information request with nothing;
- the call came within the time window of the incident's last call (by type: 30 minutes for
  a medical complaint, 3 days for an earthquake site);
- it lies within the gate radius ``base + k · sqrt(r_call² + r_incident²)``: a base radius
  by type (the size of the scene: 30 m for a collapsed building, 2 km for a forest fire) plus
  ``k`` times the combined uncertainty of both positions, capped.

Among the candidates inside the gate, the best is the most likely one for a circular normal
error with ``s = sqrt(r_call² + r_incident²)``: the smallest ``d² / 2s² + 2 ln s``. A vague
site does not swallow a precise call that sits next to a well-placed neighbour.

:class:`DuplicateFinder` holds the open incidents in a grid of cells about 550 m on a side
(a dictionary from cell to incident ids), so a proposal looks only at the cells the largest
possible gate can reach. When a call is attached, the incident's position becomes the
inverse-variance weighted mean of its calls, so the site's position sharpens as calls come in
and a vague first call does not fix it forever. It is sans-I/O: it takes times as inputs and
keeps no clock; the service feeds it from the event log and keeps every call attached.

:func:`trapped_register` is the earthquake register: per site, how many people callers report
trapped.

Distances use the equirectangular approximation around the midpoint latitude: well under
0.1 % error at the few kilometres a gate can span.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from dispatch.core.taxonomy import TAXONOMY, Family, IncidentType

_EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEG = _EARTH_RADIUS_M * math.pi / 180.0
_CELL_DEG = 0.005


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in metres between two nearby WGS84 points (equirectangular approximation)."""
    mean_lat = math.radians((lat1 + lat2) / 2.0)
    dx = (lon2 - lon1) * math.cos(mean_lat)
    dy = lat2 - lat1
    return _M_PER_DEG * math.hypot(dx, dy)


# Families that may describe one scene: each pair is compatible both ways.
_COMPATIBLE_FAMILIES: frozenset[frozenset[Family]] = frozenset(
    frozenset(pair)
    for pair in (
        (Family.DISASTER, Family.MEDICAL),
        (Family.DISASTER, Family.FIRE),
        (Family.DISASTER, Family.HAZMAT),
        (Family.DISASTER, Family.RESCUE),
        (Family.TRAFFIC, Family.MEDICAL),
        (Family.TRAFFIC, Family.FIRE),
        (Family.TRAFFIC, Family.HAZMAT),
        (Family.TRAFFIC, Family.RESCUE),
        (Family.FIRE, Family.MEDICAL),
        (Family.FIRE, Family.HAZMAT),
        (Family.FIRE, Family.FOREST),
        (Family.SECURITY, Family.MEDICAL),
        (Family.WATER, Family.MEDICAL),
        (Family.RESCUE, Family.MEDICAL),
    )
)
_NEVER = frozenset({Family.INFORMATION})


def compatible(a: IncidentType | None, b: IncidentType | None) -> bool:
    """Whether calls of these two types may describe the same incident.

    ``None`` and ``UNKNOWN`` are compatible with anything; an information request with
    nothing (it is not an incident).
    """
    family_a = TAXONOMY[a].family if a is not None else Family.UNKNOWN
    family_b = TAXONOMY[b].family if b is not None else Family.UNKNOWN
    if family_a in _NEVER or family_b in _NEVER:
        return False
    if Family.UNKNOWN in {family_a, family_b} or family_a is family_b:
        return True
    return frozenset({family_a, family_b}) in _COMPATIBLE_FAMILIES


@dataclass(frozen=True, slots=True, kw_only=True)
class Scene:
    """How far a scene extends (base radius) and how long calls about it keep coming."""

    base_radius_m: float
    window: timedelta


_MIN = timedelta(minutes=1)
_FAMILY_SCENES: Mapping[Family, Scene] = MappingProxyType(
    {
        Family.MEDICAL: Scene(base_radius_m=50.0, window=30 * _MIN),
        Family.TRAFFIC: Scene(base_radius_m=150.0, window=60 * _MIN),
        Family.FIRE: Scene(base_radius_m=250.0, window=180 * _MIN),
        Family.FOREST: Scene(base_radius_m=2_000.0, window=720 * _MIN),
        Family.SECURITY: Scene(base_radius_m=100.0, window=60 * _MIN),
        Family.WATER: Scene(base_radius_m=300.0, window=120 * _MIN),
        Family.DISASTER: Scene(base_radius_m=30.0, window=72 * 60 * _MIN),
        Family.HAZMAT: Scene(base_radius_m=300.0, window=180 * _MIN),
        Family.RESCUE: Scene(base_radius_m=50.0, window=120 * _MIN),
        Family.ANIMAL: Scene(base_radius_m=100.0, window=60 * _MIN),
        Family.INFORMATION: Scene(base_radius_m=0.0, window=timedelta(0)),
        Family.UNKNOWN: Scene(base_radius_m=100.0, window=60 * _MIN),
    }
)
_TYPE_SCENES: Mapping[IncidentType, Scene] = MappingProxyType(
    {
        IncidentType.FLOOD: Scene(base_radius_m=500.0, window=24 * 60 * _MIN),
        IncidentType.LANDSLIDE: Scene(base_radius_m=200.0, window=24 * 60 * _MIN),
        IncidentType.GAS_LEAK: Scene(base_radius_m=100.0, window=120 * _MIN),
        IncidentType.FIRE_VEHICLE: Scene(base_radius_m=150.0, window=90 * _MIN),
        IncidentType.MISSING_PERSON: Scene(base_radius_m=1_000.0, window=24 * 60 * _MIN),
    }
)


def scene(incident_type: IncidentType | None) -> Scene:
    """The scene size and call window of a type (``None`` as unknown)."""
    if incident_type is None:
        return _FAMILY_SCENES[Family.UNKNOWN]
    return _TYPE_SCENES.get(incident_type) or _FAMILY_SCENES[TAXONOMY[incident_type].family]


def _pair_scene(a: IncidentType | None, b: IncidentType | None) -> Scene:
    """The scene for a pair: a known type's, else the larger of both."""
    unknown = {None, IncidentType.UNKNOWN}
    if a in unknown and b not in unknown:
        return scene(b)
    if b in unknown and a not in unknown:
        return scene(a)
    first, second = scene(a), scene(b)
    return Scene(
        base_radius_m=max(first.base_radius_m, second.base_radius_m),
        window=max(first.window, second.window),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterPolicy:
    """The knobs of duplicate detection.

    ``k`` multiplies the combined uncertainty (radii are taken as one-sigma-like, as AML's
    ``rd`` at its confidence); ``max_spread_m`` caps that term so that a cell-id position
    (kilometres) does not make everything a duplicate; ``unknown_radius_m`` stands in for a
    position without a radius; ``min_site_radius_m`` is the floor of a fused site's radius
    (a building is not a point).
    """

    k: float = 2.5
    max_spread_m: float = 2_000.0
    unknown_radius_m: float = 100.0
    min_site_radius_m: float = 10.0


DEFAULT_POLICY = ClusterPolicy()


def gate_radius_m(
    type_a: IncidentType | None,
    type_b: IncidentType | None,
    radius_a_m: float,
    radius_b_m: float,
    policy: ClusterPolicy = DEFAULT_POLICY,
) -> float:
    """The distance within which two positions of these types may be one incident."""
    spread = min(math.hypot(radius_a_m, radius_b_m), policy.max_spread_m)
    return _pair_scene(type_a, type_b).base_radius_m + policy.k * spread


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenIncident:
    """An open incident as clustering sees it: type, (fused) position, times."""

    incident_id: str
    incident_type: IncidentType | None
    lat: float
    lon: float
    radius_m: float
    opened_at: datetime
    last_call_at: datetime | None = None
    calls: int = 1

    @property
    def last_activity(self) -> datetime:
        """When the incident last heard of a call (or was opened)."""
        return self.last_call_at or self.opened_at


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCall:
    """A call to place: its suggested type (or ``None``), position and time (aware UTC)."""

    call_id: str
    incident_type: IncidentType | None
    lat: float
    lon: float
    radius_m: float | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateCandidate:
    """An open incident the call may be about, and why."""

    incident_id: str
    distance_m: float
    gate_m: float
    score: float  # negative log-likelihood up to a constant: lower is better
    age: timedelta


@dataclass(slots=True)
class _Site:
    incident: OpenIncident
    weight: float  # sum of 1 / r^2 over the calls
    weighted_lat: float
    weighted_lon: float
    cell: tuple[int, int] = field(default=(0, 0))


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / _CELL_DEG), math.floor(lon / _CELL_DEG))


class DuplicateFinder:
    """Open incidents indexed by place; proposes the incident a new call duplicates.

    Feed it ``open``, ``attach``, ``merge`` and ``close`` as the log says; ask ``propose``
    (or ``candidates``) for each new call. Nothing here decides: the call-taker confirms a
    proposal, and only then does the service attach the call.
    """

    __slots__ = ("_cells", "_max_base", "_max_radius", "_policy", "_sites")

    def __init__(self, policy: ClusterPolicy = DEFAULT_POLICY) -> None:
        self._policy = policy
        self._sites: dict[str, _Site] = {}
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._max_radius: float | None = 0.0
        self._max_base = 0.0

    def __len__(self) -> int:
        return len(self._sites)

    def __contains__(self, incident_id: object) -> bool:
        return incident_id in self._sites

    def get(self, incident_id: str) -> OpenIncident | None:
        """The incident as currently known (fused position), or ``None``."""
        site = self._sites.get(incident_id)
        return site.incident if site is not None else None

    def incidents(self) -> list[OpenIncident]:
        """Every open incident."""
        return [site.incident for site in self._sites.values()]

    def _radius(self, radius_m: float | None) -> float:
        radius = self._policy.unknown_radius_m if radius_m is None else radius_m
        return max(radius, 1.0)

    def _place(self, site: _Site) -> None:
        cell = _cell(site.incident.lat, site.incident.lon)
        if site.cell != cell or site.incident.incident_id not in self._cells.get(cell, ()):
            self._unplace(site)
            site.cell = cell
            self._cells.setdefault(cell, set()).add(site.incident.incident_id)

    def _unplace(self, site: _Site) -> None:
        members = self._cells.get(site.cell)
        if members is not None:
            members.discard(site.incident.incident_id)
            if not members:
                del self._cells[site.cell]

    def open(self, incident: OpenIncident) -> None:
        """Add an open incident (or replace one with the same id)."""
        if incident.incident_id in self._sites:
            self.close(incident.incident_id)
        radius = self._radius(incident.radius_m)
        weight = incident.calls / radius**2
        site = _Site(
            incident=replace(incident, radius_m=radius),
            weight=weight,
            weighted_lat=incident.lat * weight,
            weighted_lon=incident.lon * weight,
        )
        self._sites[incident.incident_id] = site
        self._place(site)
        self._grew(site.incident)

    def close(self, incident_id: str) -> None:
        """Forget an incident (closed, cancelled or merged away); unknown ids are ignored."""
        site = self._sites.pop(incident_id, None)
        if site is not None:
            self._unplace(site)
            self._shrank(site.incident)

    def _grew(self, incident: OpenIncident) -> None:
        """Keep the cached maxima current when an incident is added or widened (O(1))."""
        if self._max_radius is not None:
            self._max_radius = max(self._max_radius, incident.radius_m)
            self._max_base = max(self._max_base, scene(incident.incident_type).base_radius_m)

    def _shrank(self, incident: OpenIncident) -> None:
        """Drop the cached maxima only if the incident that went away may have set them."""
        if self._max_radius is not None and (
            incident.radius_m >= self._max_radius
            or scene(incident.incident_type).base_radius_m >= self._max_base
        ):
            self._max_radius = None

    def _refresh(self, site: _Site, *, calls: int, last: datetime | None) -> OpenIncident:
        lat = site.weighted_lat / site.weight
        lon = site.weighted_lon / site.weight
        radius = max(self._policy.min_site_radius_m, 1.0 / math.sqrt(site.weight))
        current = site.incident
        newest = current.last_call_at
        if last is not None and (newest is None or last > newest):
            newest = last
        site.incident = replace(
            current, lat=lat, lon=lon, radius_m=radius, calls=calls, last_call_at=newest
        )
        self._place(site)
        self._shrank(current)
        self._grew(site.incident)
        return site.incident

    def attach(self, incident_id: str, call: NewCall) -> OpenIncident:
        """Attach a call: the site's position becomes the weighted mean of its calls.

        Raises ``KeyError`` if the incident is not open here.
        """
        site = self._sites[incident_id]
        weight = 1.0 / self._radius(call.radius_m) ** 2
        site.weight += weight
        site.weighted_lat += call.lat * weight
        site.weighted_lon += call.lon * weight
        return self._refresh(site, calls=site.incident.calls + 1, last=call.at)

    def merge(self, keep_id: str, gone_id: str) -> OpenIncident:
        """Fold one incident into another (the call-taker merged them); returns the kept one."""
        keep, gone = self._sites[keep_id], self._sites[gone_id]
        keep.weight += gone.weight
        keep.weighted_lat += gone.weighted_lat
        keep.weighted_lon += gone.weighted_lon
        self.close(gone_id)
        return self._refresh(
            keep, calls=keep.incident.calls + gone.incident.calls, last=gone.incident.last_call_at
        )

    def _largest(self) -> tuple[float, float]:
        """The largest radius and scene base among open incidents (cached until a change)."""
        if self._max_radius is None:
            incidents = [site.incident for site in self._sites.values()]
            self._max_radius = max((i.radius_m for i in incidents), default=0.0)
            self._max_base = max(
                (scene(i.incident_type).base_radius_m for i in incidents), default=0.0
            )
        return self._max_radius, self._max_base

    def candidates(self, call: NewCall, limit: int = 3) -> list[DuplicateCandidate]:
        """Compatible open incidents within their gate and window, best first."""
        if not self._sites or limit <= 0:
            return []
        policy = self._policy
        call_radius = self._radius(call.radius_m)
        largest_radius, largest_base = self._largest()
        if call.incident_type is not None:
            largest_base = max(largest_base, scene(call.incident_type).base_radius_m)
        reach = largest_base + policy.k * min(
            math.hypot(call_radius, largest_radius), policy.max_spread_m
        )
        dlat = reach / _M_PER_DEG
        coslat = max(math.cos(math.radians(min(abs(call.lat) + dlat, 89.9))), 1e-6)
        dlon = dlat / coslat
        row_lo, col_lo = _cell(call.lat - dlat, call.lon - dlon)
        row_hi, col_hi = _cell(call.lat + dlat, call.lon + dlon)
        found: list[DuplicateCandidate] = []
        for row in range(row_lo, row_hi + 1):
            for column in range(col_lo, col_hi + 1):
                for incident_id in self._cells.get((row, column), ()):
                    candidate = self._judge(self._sites[incident_id].incident, call, call_radius)
                    if candidate is not None:
                        found.append(candidate)
        found.sort(key=lambda c: (c.score, c.distance_m, c.incident_id))
        return found[:limit]

    def _judge(
        self, incident: OpenIncident, call: NewCall, call_radius: float
    ) -> DuplicateCandidate | None:
        if not compatible(incident.incident_type, call.incident_type):
            return None
        pair = _pair_scene(incident.incident_type, call.incident_type)
        age = call.at - incident.last_activity
        if age > pair.window:
            return None
        spread = math.hypot(call_radius, incident.radius_m)
        gate = pair.base_radius_m + self._policy.k * min(spread, self._policy.max_spread_m)
        distance = distance_m(incident.lat, incident.lon, call.lat, call.lon)
        if distance > gate:
            return None
        return DuplicateCandidate(
            incident_id=incident.incident_id,
            distance_m=distance,
            gate_m=gate,
            score=distance**2 / (2.0 * spread**2) + 2.0 * math.log(spread),
            age=age,
        )

    def propose(self, call: NewCall) -> DuplicateCandidate | None:
        """The best duplicate candidate for a new call, or ``None`` (a new incident)."""
        best = self.candidates(call, limit=1)
        return best[0] if best else None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrappedReport:
    """A caller's report of how many people are trapped at a site."""

    incident_id: str
    call_id: str
    trapped: int
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteTrapped:
    """The register line of one site.

    ``estimate`` is the largest count any caller currently reports (callers at one building
    usually describe the same people, so adding their counts would multiply them);
    ``reported_sum`` is the sum, an upper bound; ``reports`` how many calls gave a count.
    A call that reports again replaces its earlier count.
    """

    incident_id: str
    estimate: int
    reported_sum: int
    reports: int
    last_report_at: datetime


def trapped_register(reports: Iterable[TrappedReport]) -> dict[str, SiteTrapped]:
    """People reported trapped, per site: the earthquake register (a pure fold).

    Raises ``ValueError`` on a negative count.
    """
    latest: dict[tuple[str, str], TrappedReport] = {}
    for report in reports:
        if report.trapped < 0:
            raise ValueError("a trapped count must not be negative")
        key = (report.incident_id, report.call_id)
        known = latest.get(key)
        if known is None or report.at >= known.at:
            latest[key] = report
    register: dict[str, SiteTrapped] = {}
    for report in latest.values():
        line = register.get(report.incident_id)
        if line is None:
            register[report.incident_id] = SiteTrapped(
                incident_id=report.incident_id,
                estimate=report.trapped,
                reported_sum=report.trapped,
                reports=1,
                last_report_at=report.at,
            )
        else:
            register[report.incident_id] = SiteTrapped(
                incident_id=report.incident_id,
                estimate=max(line.estimate, report.trapped),
                reported_sum=line.reported_sum + report.trapped,
                reports=line.reports + 1,
                last_report_at=max(line.last_report_at, report.at),
            )
    return register
