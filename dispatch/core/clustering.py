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

:class:`DuplicateFinder` keeps the open incidents on *shelves*: one per family, scene (base
radius and window), known-or-unknown type and radius class (site radii in classes doubling from
25 m up to the spread cap, then one class for all vaguer sites). Every member of a shelf pairs
with a given call into the same scene and compatibility, so a shelf is skipped whole when its
family cannot match the call's, and its gate is bounded by the class's largest radius. Each
shelf is a grid (a dictionary from cell to members) whose cells are about as wide as the shelf's
typical gate: a query looks at the few cells its reach spans (or at the shelf's occupied cells,
when fewer), then tests members against the reach's box before the exact rule. One forest fire
or one cell-id position thus widens only its own shelf's search, not every query's. A shelf
also keeps its members as rows of arrays (position, radius, last activity); when a query would
visit many cells or loop over many members (a vague call in a dense surge), the shelf is swept
with them instead: the box and window tests are exact, the gate and score are estimated with a
small slack and only discard members that cannot pass or cannot place (worse than the ``limit``
best already kept, or than ``limit`` members surely inside their gate), and the rest goes to the
exact rule, so the answer does not change.

Most shelves have no member anywhere near a given call, and searching each would cost more
than everything else a query does. Shelves are therefore grouped in *tiers* of like reach
(bands of radius classes; the vaguest band also takes the wide scenes), each with a coarse map
of *zones* that lists the members there (each knows its shelf). A query first collects, per
tier, the members of the zones that the tier's largest reach for the call spans (a box holding
each of its shelves' boxes); a query that would visit too many zones of a tier reads a coarse
map of every shelf instead, with zones as wide as any reach. When those zones hold few members
(a national surge: calls spread over a country, a handful of sites near each), each member
inside the box is judged directly, in its own shelf's box as that shelf's search would: a few
dictionary lookups per tier and no search at all. When the coarse map's zones hold many (a
vague call in a city), their members are swept with arrays as a shelf is, from rows the coarse
map keeps per zone (position, radius, last activity, shelf), each row pairing with the call as
its shelf does. Else the shelves with members there are searched, in order of radius floor,
which orders the floor of their scores (``2 ln s`` with ``s`` above ``hypot(r_call, floor)``):
once ``limit`` candidates all score below a shelf's floor, no later shelf can place and the
search stops. The answer is exactly that of judging every open incident
(``tests/dispatch/test_clustering_index.py`` and ``test_clustering_fast.py`` check it, each way
forced in turn): boxes and floors carry a small slack against rounding, and near the poles a
box does not bound longitude (and every shelf with members is searched). A shelf, once made,
stays (there are at most a few hundred keys). An information request, which no call may
duplicate, is kept as a site but on no shelf: no search meets it. When a call is attached,
the incident's position becomes the inverse-variance weighted mean of its calls, so the site's
position sharpens as calls come in and a vague first call does not fix it forever (the site
moves between cells and shelves as it sharpens). It is sans-I/O: it takes times as inputs and
keeps no clock; the service feeds it from the event log and keeps every call attached.

:func:`trapped_register` is the earthquake register: per site, how many people callers report
trapped.

Distances use the equirectangular approximation around the midpoint latitude: well under
0.1 % error at the few kilometres a gate can span.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from dispatch.core.taxonomy import TAXONOMY, Family, IncidentType

_EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEG = _EARTH_RADIUS_M * math.pi / 180.0


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


def _families_compatible(family_a: Family, family_b: Family) -> bool:
    if family_a in _NEVER or family_b in _NEVER:
        return False
    if Family.UNKNOWN in {family_a, family_b} or family_a is family_b:
        return True
    return frozenset({family_a, family_b}) in _COMPATIBLE_FAMILIES


# For each family, the families of incidents a call of it may duplicate.
_COMPATIBLE_WITH: Mapping[Family, frozenset[Family]] = MappingProxyType(
    {
        family: frozenset(other for other in Family if _families_compatible(family, other))
        for family in Family
    }
)
# Families no call may duplicate (information requests): their sites are kept, not indexed.
_NEVER_WELCOME = frozenset(Family).difference(*_COMPATIBLE_WITH.values())


def compatible(a: IncidentType | None, b: IncidentType | None) -> bool:
    """Whether calls of these two types may describe the same incident.

    ``None`` and ``UNKNOWN`` are compatible with anything; an information request with
    nothing (it is not an incident).
    """
    family_a = TAXONOMY[a].family if a is not None else Family.UNKNOWN
    family_b = TAXONOMY[b].family if b is not None else Family.UNKNOWN
    return _families_compatible(family_a, family_b)


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


@functools.cache
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


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedSite:
    """An open incident as a snapshot keeps it: as seen, with its calls' running sums.

    ``weight`` is the sum of ``1 / r²`` over the incident's calls, ``weighted_lat`` and
    ``weighted_lon`` the sums of each call's coordinate times its weight: what the fused
    position is made of, so a restored finder sharpens a site exactly as the saved one.
    """

    incident: OpenIncident
    weight: float
    weighted_lat: float
    weighted_lon: float


@dataclass(slots=True)
class _Site:
    """An open incident with its running inverse-variance sums and its place in the index."""

    incident: OpenIncident
    weight: float  # sum of 1 / r^2 over the calls
    weighted_lat: float
    weighted_lon: float
    shelf: _ShelfKey | None = None
    home: _Shelf | None = None  # the shelf of that key
    cell: tuple[int, int] = field(default=(0, 0))
    zone: int = 0  # its zone in its shelf's tier
    zone_at: int = -1  # its place in that zone's list
    area: int = 0  # its zone in the finder's coarse map
    area_at: int = -1  # its place in that zone's list
    slot: int = -1  # its row in the shelf's arrays


# A shelf holds the open incidents of one family and one scene, known or unknown type, in one
# radius class: every member pairs with a given call into the same scene, and every member's
# radius lies within the class (above its floor, at most its bound).
_ShelfKey: TypeAlias = tuple[Family, Scene, bool, int]
# A judged candidate: score, distance, incident id, gate, age. Tuples order by the first three
# (the id is unique), which is the order of ``candidates``.
_Entry: TypeAlias = tuple[float, float, str, float, timedelta]

_UNKNOWN_TYPES: frozenset[IncidentType | None] = frozenset({None, IncidentType.UNKNOWN})
_SMALLEST_RADIUS_CLASS_M = 25.0  # radius classes double from here up to the spread cap
_TYPICAL_CALL_RADIUS_M = 50.0  # what a shelf's cells are sized for (a handset's AML fix)
_MIN_CELL_M = 100.0
_REACH_MARGIN = 1.0 + 1e-9  # keeps a search box a strict superset despite rounding
_SCORE_SLACK = 1e-9  # keeps a shelf's score floor a strict lower bound despite rounding
_POLAR_EDGE_DEG = 89.0  # beyond this a search box does not bound longitude
# When a shelf is swept with arrays rather than looped over: when a query would visit at least
# _SWEEP_VISITS cells, or its cells hold at least _SWEEP_FROM members, and the shelf's rows
# (live or free) are not too many for that. A sweep costs ~25 µs plus ~1 ns a row; the loop
# ~0.1 µs a cell visited, ~0.3 µs a member outside the box and ~1.5 µs a member judged.
_SWEEP_VISITS = 128
_ROWS_PER_VISIT = 64
_SWEEP_FROM = 96
_ROWS_PER_MEMBER = 256
_APPROX_SLACK = 1e-9  # relative slack of array estimates (a few ulps off) against the rule
_APPROX_FLOOR = 1e-6  # absolute slack, metres or score units
_FIRST_ROWS = 16
# A sweep whose box holds this many members or fewer judges them all by the rule: the array
# estimates cost ~20 µs whatever their length, the rule ~1.5 µs a member.
_JUDGE_FEW = 12
# Tiers: bands of _LEVELS_PER_BAND radius classes for scenes up to _WIDE_SCENE_M; the last band
# takes every vaguer class and the wider scenes (floods, missing persons, forest fires). A query
# that would visit more than _ZONE_VISITS zones of a tier looks at the coarse map instead. Bands
# of two classes (up to 50 m, up to 200 m) rather than three: with the surge scenario's 112,000
# open sites, most of them handset fixes in the first two classes, the desk's fold took 6 % less
# (7 % on the earthquake scenario's 48,000).
_WIDE_SCENE_M = 400.0
_LEVELS_PER_BAND = 2
_LAST_BAND = 2
_ZONE_VISITS = 48
# Zones as wide as a tier's reach for a typical call, times this: the vaguer tiers hold few
# members, so wider zones (fewer looked up, ~0.2 µs each) hold few more (~0.5 µs each).
_ZONE_WIDTHS = (1.0, 2.0, 2.0)
_WIDEST_SCENE_M = max(
    scene.base_radius_m for scenes in (_FAMILY_SCENES, _TYPE_SCENES) for scene in scenes.values()
)
# Keeps a tier's box a superset of its shelves' boxes despite rounding (also of a cosine taken
# at a higher latitude).
_ZONE_MARGIN = _REACH_MARGIN * (1.0 + 1e-6)
# A query whose zones hold at most _JUDGE_SITES members (_JUDGE_SITES_WIDE in the coarse map)
# judges them directly, each in its own shelf's box, instead of searching their shelves: in a
# sparse spread (a national surge) a precise call costs a few zone lookups instead of a search
# of each shelf near it (cells visited ~0.2 µs each, ~3 µs a shelf), and a vague call judges
# the members around it (~0.3 µs each) instead of sweeping thousands of rows.
_JUDGE_SITES = 48
_JUDGE_SITES_WIDE = 384
# A wide query (the coarse map's) whose zones hold more members, up to _SWEEP_SITES_WIDE, sweeps
# their rows with arrays (~80 µs, and little more a member) instead of searching their shelves
# (~30 µs a shelf swept; ~300 µs for a vague call in a city's crowd).
_SWEEP_SITES_WIDE = 16384
_EXACT_US = float(2**53)  # microseconds as floats are whole numbers below this
_ROW_COLUMNS = 5  # a coarse map's row: latitude, longitude, radius, last activity, shelf serial
_FIRST_ZONE_ROWS = 4
_COMPACT_ABOVE = 64  # a shelf's arrays are compacted when more than 3/4 of their rows are free

_FloatArray: TypeAlias = npt.NDArray[np.float64]
_IntArray: TypeAlias = npt.NDArray[np.int64]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = _EPOCH.replace(tzinfo=None)
_MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    """A moment as whole microseconds since 1970 (a naive moment read as UTC)."""
    epoch = _EPOCH if moment.utcoffset() is not None else _NAIVE_EPOCH
    return (moment - epoch) // _MICROSECOND


def _padded(value: float) -> float:
    """``value`` plus the slack that covers an array estimate's rounding."""
    return value + abs(value) * _APPROX_SLACK + _APPROX_FLOOR


@dataclass(frozen=True, slots=True, kw_only=True)
class _RadiusClass:
    """Site radii in ``(floor_m, bound_m]`` (the first class from 0, the last unbounded)."""

    level: int
    floor_m: float
    bound_m: float


class _Shelf:
    """One shelf of the index: its members in a grid of cells sized for their gates.

    The members are also rows of arrays (latitude, longitude, radius, last activity in
    microseconds) for sweeping a shelf whole; ``sites`` maps a row to its member, ``None``
    for a free row (whose latitude is NaN, so no box holds it). Freed rows are reused, and
    the arrays are compacted when most rows are free. ``order`` is the shelf's place in a
    search (radius floor, then when it was made); ``tier`` maps where it has members.
    """

    __slots__ = (
        "cell_deg",
        "cells",
        "family",
        "free",
        "last_us",
        "lat",
        "lon",
        "order",
        "radius",
        "radius_m",
        "sample_type",
        "serial",
        "sites",
        "tier",
    )

    def __init__(
        self,
        *,
        family: Family,
        sample_type: IncidentType | None,
        radius: _RadiusClass,
        cell_deg: float,
        tier: _Tier,
        serial: int,
    ) -> None:
        self.family = family
        self.sample_type = sample_type
        self.radius = radius
        self.cell_deg = cell_deg
        self.tier = tier
        self.order = (radius.floor_m, serial)
        self.serial = float(serial)  # (a row of the coarse map holds it as a float)
        self.cells: dict[tuple[int, int], dict[str, _Site]] = {}
        self.sites: list[_Site | None] = []
        self.free: list[int] = []
        self.lat: _FloatArray = np.full(_FIRST_ROWS, np.nan)
        self.lon: _FloatArray = np.zeros(_FIRST_ROWS)
        self.radius_m: _FloatArray = np.zeros(_FIRST_ROWS)
        self.last_us: _IntArray = np.zeros(_FIRST_ROWS, dtype=np.int64)

    def cell(self, lat: float, lon: float) -> tuple[int, int]:
        """The cell a position falls in."""
        return (math.floor(lat / self.cell_deg), math.floor(lon / self.cell_deg))

    def add(self, site: _Site) -> float:
        """Give a new member a row; returns what :meth:`store` does."""
        if self.free:
            slot = self.free.pop()
            self.sites[slot] = site
        else:
            slot = len(self.sites)
            if slot == len(self.lat):
                self._resize(2 * slot)
            self.sites.append(site)
        site.slot = slot
        return self.store(site)

    def store(self, site: _Site) -> float:
        """Write a member's current position, radius and last activity to its row.

        Returns the last activity in microseconds (as a float: exact below 2**53).
        """
        incident, slot = site.incident, site.slot
        self.lat[slot] = incident.lat
        self.lon[slot] = incident.lon
        self.radius_m[slot] = incident.radius_m
        last_us = _micros(incident.last_call_at or incident.opened_at)
        self.last_us[slot] = last_us
        return float(last_us)

    def remove(self, site: _Site) -> None:
        """Free a member's row; compact the rows when most are free."""
        slot = site.slot
        self.sites[slot] = None
        self.lat[slot] = math.nan
        self.free.append(slot)
        site.slot = -1
        rows = len(self.sites)
        if rows > _COMPACT_ABOVE and 4 * len(self.free) > 3 * rows:
            live = [member for member in self.sites if member is not None]
            keep = np.fromiter((member.slot for member in live), dtype=np.intp, count=len(live))
            self.lat[: len(live)] = self.lat[keep]
            self.lon[: len(live)] = self.lon[keep]
            self.radius_m[: len(live)] = self.radius_m[keep]
            self.last_us[: len(live)] = self.last_us[keep]
            for row, member in enumerate(live):
                member.slot = row
            self.sites = [*live]
            self.free = []
            self._resize(max(_FIRST_ROWS, 2 * len(live)))

    def _resize(self, rows: int) -> None:
        """Grow or shrink the arrays to ``rows`` (at least the rows in use); new rows are free."""
        used = len(self.sites)
        lat = np.full(rows, np.nan)
        lat[:used] = self.lat[:used]
        self.lat = lat
        self.lon = np.resize(self.lon[:used], rows)
        self.radius_m = np.resize(self.radius_m[:used], rows)
        self.last_us = np.resize(self.last_us[:used], rows)


class _Zones:
    """A coarse map of where shelves have members: per zone (a square ``size`` degrees wide),
    the members there, each of which knows its shelf (``_Site.home``).

    A zone is one number, ``row * step + column``, ``step`` twice the columns of real
    longitudes and a little more: numbers of the few thousand rows of zones wider than a few
    hundred metres stay small integers, which hash and compare fastest. (A column beyond
    it, of a longitude past 180°, would share a zone with another: a zone's members are
    only ever a superset of those near, so that costs time, never an answer.)
    """

    __slots__ = ("sites", "size", "step")

    def __init__(self, size: float) -> None:
        self.size = size
        self.step = 2 * (math.floor(180.0 / size) + 2)
        self.sites: dict[int, list[_Site]] = {}

    @property
    def members(self) -> dict[int, list[_Shelf]]:
        """Per zone, the shelf of each member there (once for each of its members)."""
        return {
            zone: [shelf for site in sites if (shelf := site.home) is not None]
            for zone, sites in self.sites.items()
        }

    def zone(self, lat: float, lon: float) -> int:
        """The zone a position falls in: its row and column as one number."""
        return math.floor(lat / self.size) * self.step + math.floor(lon / self.size)

    def enter(self, site: _Site, zone: int) -> int:
        """List a member in a zone; returns its place in the zone's list."""
        sites = self.sites.get(zone)
        if sites is None:
            self.sites[zone] = [site]
            return 0
        sites.append(site)
        return len(sites) - 1

    def leave(self, zone: int, at: int) -> _Site | None:
        """Take the member at place ``at`` out of a zone's list (an empty zone is dropped).

        The zone's last member takes its place; returns it (``None`` if it was the last).
        """
        sites = self.sites[zone]
        last = sites.pop()
        if at < len(sites):
            sites[at] = last
            return last
        if not sites:
            del self.sites[zone]
        return None

    def span(self, dlat: float, dlon: float, lat: float, lon: float) -> _Span:
        """The rows and columns of zones a box of half-sides ``dlat``, ``dlon`` spans."""
        size = self.size
        return (
            math.floor((lat - dlat) / size),
            math.floor((lat + dlat) / size),
            math.floor((lon - dlon) / size),
            math.floor((lon + dlon) / size),
        )

    def occupied(self, span: _Span) -> list[int]:
        """The zones of a span that hold members (every such zone, when fewer)."""
        row_lo, row_hi, col_lo, col_hi = span
        sites = self.sites
        if (row_hi - row_lo + 1) * (col_hi - col_lo + 1) > len(sites):
            return list(sites)
        step = self.step
        return [
            zone
            for row in range(row_lo, row_hi + 1)
            for zone in range(row * step + col_lo, row * step + col_hi + 1)
            if zone in sites
        ]


class _RowZones(_Zones):
    """A zone map whose members are also rows of an array per zone, in the order of its list.

    A row holds a member's latitude, longitude, radius, last activity (microseconds since
    1970: whole numbers below 2**53, exact as floats) and its shelf's serial: what judging
    a wide query's members with arrays needs (:meth:`DuplicateFinder._swept`).
    """

    __slots__ = ("exact", "rows")

    def __init__(self, size: float) -> None:
        super().__init__(size)
        self.rows: dict[int, _FloatArray] = {}
        self.exact = True
        """Whether every last activity written was exact as a float (a moment between the
        years 1685 and 2255); if not, the rows are not used."""

    def enter(self, site: _Site, zone: int) -> int:
        """List a member in a zone, with room for its row (see :meth:`write`)."""
        at = super().enter(site, zone)
        block = self.rows.get(zone)
        if block is None:
            self.rows[zone] = np.empty((_FIRST_ZONE_ROWS, _ROW_COLUMNS))
        elif at == len(block):
            grown = np.empty((2 * at, _ROW_COLUMNS))
            grown[:at] = block
            self.rows[zone] = grown
        return at

    def leave(self, zone: int, at: int) -> _Site | None:
        """Take a member out; the zone's last member moves to its place, row and all."""
        block = self.rows[zone]
        last = len(self.sites[zone]) - 1
        moved = super().leave(zone, at)
        if moved is not None:
            block[at] = block[last]
        elif zone not in self.sites:
            del self.rows[zone]
        return moved

    def write(self, zone: int, at: int, row: tuple[float, float, float, float, float]) -> None:
        """Write the row of the member at place ``at`` of a zone."""
        self.rows[zone][at] = row
        if not -_EXACT_US < row[3] < _EXACT_US:
            self.exact = False


class _Tier:
    """Shelves of like reach (a band of radius classes), and where they have members.

    Whatever the call, a shelf's reach is at most its tier's: the pair's scene base is at
    most the larger of the call's and the tier's widest scene, and the shelf's radius bound
    at most the tier's largest (both grow as shelves join; shelves never leave).
    """

    __slots__ = ("base_m", "bound_m", "zones")

    def __init__(self, size: float) -> None:
        self.base_m = 0.0
        self.bound_m = 0.0
        self.zones = _Zones(size)

    def join(self, shelf: _Shelf, base_m: float) -> None:
        """Widen the tier's bounds for a new shelf whose scene base is ``base_m``."""
        self.base_m = max(self.base_m, base_m)
        self.bound_m = max(self.bound_m, shelf.radius.bound_m)


_Span: TypeAlias = tuple[int, int, int, int]  # zones from row, to row, from column, to column
_Box: TypeAlias = tuple[float, float, float, float]  # latitudes from, to; longitudes from, to
# Member lists of zones near a query, in a box that holds each of their shelves' boxes.
_Group: TypeAlias = tuple[_Box, list[list[_Site]]]
# For a call's type, by shelf serial: welcome, pair's base radius, pair's window (µs), pair.
_PairTable: TypeAlias = tuple[npt.NDArray[np.bool_], _FloatArray, _FloatArray, list[Scene]]
_ORDER = operator.attrgetter("order")
_HOME = operator.attrgetter("home")


class _Ranking:
    """The best ``limit`` entries offered so far, kept lazily.

    Entries are appended and, now and then, sorted and cut to ``limit``; from the first cut
    on, ``worst`` is the last entry kept, and an entry that orders after it cannot be among
    the best.
    """

    __slots__ = ("entries", "limit", "trim_at", "worst")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.trim_at = 2 * limit + 8
        self.entries: list[_Entry] = []
        self.worst: _Entry | None = None

    def offer(self, entry: _Entry) -> None:
        """Keep an entry unless it cannot be among the best."""
        if self.worst is not None and entry > self.worst:
            return
        self.entries.append(entry)
        if len(self.entries) >= self.trim_at:
            self.trim()

    def trim(self) -> None:
        """Cut to the best ``limit`` entries once there are that many."""
        if len(self.entries) >= self.limit:
            self.entries.sort()
            del self.entries[self.limit :]
            self.worst = self.entries[-1]

    def full_below(self, score_floor: float) -> bool:
        """Whether ``limit`` kept entries all score less than ``score_floor``."""
        self.trim()
        return self.worst is not None and self.worst[0] < score_floor

    def best(self) -> list[_Entry]:
        """The best entries, best first."""
        self.entries.sort()
        return self.entries[: self.limit]


def _family(incident_type: IncidentType | None) -> Family:
    return TAXONOMY[incident_type].family if incident_type is not None else Family.UNKNOWN


# What placing a site or a search needs of a type (None: unknown), looked up once: family,
# scene, unknown or not. (A plain dictionary: looked up for every call and site.)
_KINDS: dict[IncidentType | None, tuple[Family, Scene, bool]] = {
    kind: (_family(kind), scene(kind), kind in _UNKNOWN_TYPES) for kind in [*IncidentType, None]
}


def _measure(
    incident: OpenIncident, call: NewCall, call_radius: float, pair: Scene, policy: ClusterPolicy
) -> _Entry | None:
    """The window and gate tests of a compatible pair whose scene is ``pair``, and the score.

    ``last_activity`` and :func:`distance_m` are written out (the same expressions): this
    runs for every member a search judges.
    """
    age = call.at - (incident.last_call_at or incident.opened_at)
    if age > pair.window:
        return None
    spread = math.hypot(call_radius, incident.radius_m)
    gate = pair.base_radius_m + policy.k * min(spread, policy.max_spread_m)
    lat, call_lat = incident.lat, call.lat
    dx = (call.lon - incident.lon) * math.cos(math.radians((lat + call_lat) / 2.0))
    distance = _M_PER_DEG * math.hypot(dx, call_lat - lat)
    if distance > gate:
        return None
    score = distance**2 / (2.0 * spread**2) + 2.0 * math.log(spread)
    return (score, distance, incident.incident_id, gate, age)


def _leave_zone(zones: _Zones, site: _Site) -> None:
    """Take a site out of its zone of its tier (the member moved to its place learns it)."""
    moved = zones.leave(site.zone, site.zone_at)
    if moved is not None:
        moved.zone_at = site.zone_at
    site.zone_at = -1


def _leave_area(area_map: _Zones, site: _Site) -> None:
    """Take a site out of its zone of the coarse map (the member moved there learns it)."""
    moved = area_map.leave(site.area, site.area_at)
    if moved is not None:
        moved.area_at = site.area_at
    site.area_at = -1


def _radius_classes(max_spread_m: float) -> tuple[list[float], tuple[_RadiusClass, ...]]:
    """The bounds of the radius classes, and the classes (one more: above the last bound).

    Bounds double from the smallest until one reaches the spread cap; the class above it
    is unbounded (none when the doubling reached infinity first).
    """
    bounds: list[float] = []
    classes: list[_RadiusClass] = []
    floor, bound = 0.0, _SMALLEST_RADIUS_CLASS_M
    while True:
        classes.append(_RadiusClass(level=len(bounds), floor_m=floor, bound_m=bound))
        bounds.append(bound)
        if bound >= max_spread_m:
            classes.append(_RadiusClass(level=len(bounds), floor_m=bound, bound_m=math.inf))
            return bounds, tuple(classes)
        if bound == math.inf:  # a cap no bound reaches (NaN): no radius is above this
            return bounds, tuple(classes)
        floor, bound = bound, bound * 2.0


def _worth_judging(  # noqa: PLR0917 - a sweep's state, passed on
    ranking: _Ranking,
    call: NewCall,
    call_radius: float,
    policy: ClusterPolicy,
    rows: tuple[_FloatArray, _FloatArray, _FloatArray],
    base_m: float | _FloatArray,
) -> npt.NDArray[np.bool_]:
    """Which of the rows (latitudes, longitudes, radii) a sweep must judge by the rule.

    Distances, gates and scores are estimates a few ulps off the rule's, so they only
    discard with slack: a member estimated beyond its padded gate, or scoring above the
    padded worst score that can still place. That worst is the ranking's worst kept entry,
    or the ``limit``-th best score among members surely inside their gate (those are judged
    and offered, so anything scoring above them cannot place). ``base_m`` is the pair's
    scene's base radius, for all rows or each. The rows passed the window test already.
    """
    site_lat, site_lon, site_radius = rows
    spread = np.hypot(call_radius, site_radius)
    gate = base_m + policy.k * np.minimum(spread, policy.max_spread_m)
    slack = np.abs(gate) * _APPROX_SLACK + _APPROX_FLOOR
    mean_lat = np.radians((site_lat + call.lat) / 2.0)
    distance = _M_PER_DEG * np.hypot((call.lon - site_lon) * np.cos(mean_lat), call.lat - site_lat)
    score = distance**2 / (2.0 * spread**2) + 2.0 * np.log(spread)
    worst = ranking.worst[0] if ranking.worst is not None else math.inf
    sure = score[distance < gate - slack]
    if sure.size >= ranking.limit:
        worst = min(worst, float(np.partition(sure, ranking.limit - 1)[ranking.limit - 1]))
    # Negated comparisons keep a NaN estimate for the rule to judge.
    judged: npt.NDArray[np.bool_] = ~(distance > gate + slack) & ~(score > _padded(worst))
    return judged


def _candidate(entry: _Entry) -> DuplicateCandidate:
    score, distance, incident_id, gate, age = entry
    return DuplicateCandidate(
        incident_id=incident_id, distance_m=distance, gate_m=gate, score=score, age=age
    )


class DuplicateFinder:
    """Open incidents indexed by place; proposes the incident a new call duplicates.

    Feed it ``open``, ``attach``, ``merge`` and ``close`` as the log says; ask ``propose``
    (or ``candidates``) for each new call. Nothing here decides: the call-taker confirms a
    proposal, and only then does the service attach the call. :meth:`snapshot` and
    :meth:`restore` save the open incidents and bring them back (the duplicate desk's
    snapshot carries them).
    """

    __slots__ = (
        "_area",
        "_bounds",
        "_classes",
        "_placing",
        "_policy",
        "_serials",
        "_shelves",
        "_sites",
        "_sweep_from",
        "_tables",
        "_tiers",
    )

    def __init__(
        self, policy: ClusterPolicy = DEFAULT_POLICY, *, sweep_from: int = _SWEEP_FROM
    ) -> None:
        """``sweep_from``: members in a query's cells from which a shelf is swept with arrays.

        It changes only the speed, never the answer (tests set it low to sweep every shelf).
        """
        self._policy = policy
        self._sweep_from = sweep_from
        self._sites: dict[str, _Site] = {}
        self._shelves: dict[_ShelfKey, _Shelf] = {}
        self._tiers: dict[int, _Tier] = {}  # by band
        self._area = self._coarse_map()
        self._bounds, self._classes = _radius_classes(policy.max_spread_m)
        self._placing: dict[tuple[IncidentType | None, int], tuple[_ShelfKey, _Shelf | None]] = {}
        """By type and radius class: the shelf's key and the shelf (as ``_shelves`` has them;
        none for a family no call may duplicate: such a site is kept, on no shelf)."""
        self._serials: list[_Shelf] = []  # the shelves by serial
        self._tables: dict[IncidentType | None, _PairTable] = {}
        """By a call's type: what it pairs into with each shelf (see :meth:`_table`)."""

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

    def _radius_class(self, radius_m: float) -> _RadiusClass:
        """The class of a site radius; classes double up to the spread cap, then one more.

        The first class whose bound is not below the radius (a NaN radius: the first).
        """
        return self._classes[bisect.bisect_left(self._bounds, radius_m)]

    def _cell_deg(self, base_m: float, bound_m: float) -> float:
        """A cell about as wide as the gate of a typical call and a site of ``bound_m``."""
        policy = self._policy
        spread = min(math.hypot(bound_m, _TYPICAL_CALL_RADIUS_M), policy.max_spread_m)
        return max(base_m + policy.k * spread, _MIN_CELL_M) / _M_PER_DEG

    def _coarse_map(self) -> _RowZones:
        """The map of every shelf, its zones as wide as the widest reach of any call."""
        policy = self._policy
        return _RowZones((_WIDEST_SCENE_M + policy.k * policy.max_spread_m) / _M_PER_DEG)

    def _tier(self, key: _ShelfKey) -> _Tier:
        """The tier of a shelf's key, made on first use with zones sized for its widest."""
        if key[1].base_radius_m > _WIDE_SCENE_M:
            band = _LAST_BAND
        else:
            band = min(key[3] // _LEVELS_PER_BAND, _LAST_BAND)
        tier = self._tiers.get(band)
        if tier is None:
            if band == _LAST_BAND:
                size = self._cell_deg(_WIDEST_SCENE_M, math.inf)
            else:
                bound = _SMALLEST_RADIUS_CLASS_M * 2.0 ** ((band + 1) * _LEVELS_PER_BAND - 1)
                size = self._cell_deg(_WIDE_SCENE_M, bound)
            tier = self._tiers[band] = _Tier(size * _ZONE_WIDTHS[band])
        return tier

    def _shelf(self, key: _ShelfKey, incident: OpenIncident) -> _Shelf:
        """The shelf of a key, made on first use with cells sized for its typical gate."""
        shelf = self._shelves.get(key)
        if shelf is None:
            radius = self._radius_class(incident.radius_m)
            tier = self._tier(key)
            shelf = _Shelf(
                family=key[0],
                sample_type=incident.incident_type,
                radius=radius,
                cell_deg=self._cell_deg(key[1].base_radius_m, radius.bound_m),
                tier=tier,
                serial=len(self._shelves),
            )
            tier.join(shelf, key[1].base_radius_m)
            self._shelves[key] = shelf
            self._serials.append(shelf)
        return shelf

    def _place(self, site: _Site) -> None:
        """Put a site on its shelf, in its cell and row (again, after it changed)."""
        incident = site.incident
        kind = incident.incident_type
        level = bisect.bisect_left(self._bounds, incident.radius_m)  # its radius class
        placing = self._placing.get((kind, level))
        if placing is None:
            key = (*_KINDS[kind], level)  # family, scene, unknown or not, radius class
            unwelcome = key[0] in _NEVER_WELCOME
            placing = self._placing[kind, level] = (
                key,
                None if unwelcome else self._shelf(key, incident),
            )
        key, shelf = placing
        if shelf is None:  # no call can take it for a duplicate: no search need find it
            self._unplace(site)
            return
        lat, lon = incident.lat, incident.lon
        zones, area_map = shelf.tier.zones, self._area
        if site.shelf == key:
            cell = shelf.cell(lat, lon)
            if cell != site.cell:
                self._leave_cell(shelf, site)
                site.cell = cell
                shelf.cells.setdefault(cell, {})[incident.incident_id] = site
            zone = zones.zone(lat, lon)
            if zone != site.zone:
                _leave_zone(zones, site)
                site.zone = zone
                site.zone_at = zones.enter(site, zone)
            area = area_map.zone(lat, lon)
            if area != site.area:
                _leave_area(area_map, site)
                site.area = area
                site.area_at = area_map.enter(site, area)
            last_us = shelf.store(site)
            area_map.write(area, site.area_at, (lat, lon, incident.radius_m, last_us, shelf.serial))
            return
        if site.shelf is not None:
            self._unplace(site)
        site.shelf, site.home, site.cell = key, shelf, shelf.cell(lat, lon)
        members = shelf.cells.get(site.cell)
        if members is None:
            shelf.cells[site.cell] = {incident.incident_id: site}
        else:
            members[incident.incident_id] = site
        site.zone = zones.zone(lat, lon)
        site.zone_at = zones.enter(site, site.zone)
        site.area = area_map.zone(lat, lon)
        site.area_at = area_map.enter(site, site.area)
        last_us = shelf.add(site)
        area_map.write(
            site.area, site.area_at, (lat, lon, incident.radius_m, last_us, shelf.serial)
        )

    def _unplace(self, site: _Site) -> None:
        if site.shelf is None:
            return
        shelf = self._shelves[site.shelf]
        self._leave_cell(shelf, site)
        _leave_zone(shelf.tier.zones, site)
        _leave_area(self._area, site)
        shelf.remove(site)
        site.shelf = site.home = None

    @staticmethod
    def _leave_cell(shelf: _Shelf, site: _Site) -> None:
        members = shelf.cells[site.cell]
        del members[site.incident.incident_id]
        if not members:
            del shelf.cells[site.cell]

    def open(self, incident: OpenIncident) -> None:
        """Add an open incident (or replace one with the same id)."""
        if incident.incident_id in self._sites:
            self.close(incident.incident_id)
        radius = self._radius(incident.radius_m)
        weight = incident.calls / radius**2
        site = _Site(
            # (a copy with the radius used, unless it is the one given: it is frozen)
            incident=incident
            if radius is incident.radius_m
            else replace(incident, radius_m=radius),
            weight=weight,
            weighted_lat=incident.lat * weight,
            weighted_lon=incident.lon * weight,
        )
        self._sites[incident.incident_id] = site
        self._place(site)

    def close(self, incident_id: str) -> None:
        """Forget an incident (closed, cancelled or merged away); unknown ids are ignored."""
        site = self._sites.pop(incident_id, None)
        if site is not None:
            self._unplace(site)

    def withdraw(self, incident_id: str) -> _Site | None:
        """Take a site out as it is (its sums kept), to :meth:`reinstate` it later."""
        site = self._sites.pop(incident_id, None)
        if site is not None:
            self._unplace(site)
        return site

    def reinstate(self, site: _Site) -> None:
        """Put a withdrawn site back exactly as it was."""
        self._sites[site.incident.incident_id] = site
        self._place(site)

    def snapshot(self) -> list[SavedSite]:
        """Every open incident with its sums, in the order they were opened (values only)."""
        return [
            SavedSite(
                incident=site.incident,
                weight=site.weight,
                weighted_lat=site.weighted_lat,
                weighted_lon=site.weighted_lon,
            )
            for site in self._sites.values()
        ]

    def restore(self, sites: Iterable[SavedSite]) -> None:
        """Replace every open incident with saved ones (what :meth:`snapshot` returned).

        The shelves are made again as the sites are placed; the order of shelves with
        one radius floor may differ from the saved finder's, which changes no answer.
        """
        self._sites = {}
        self._shelves = {}
        self._placing = {}
        self._serials = []
        self._tables = {}
        self._tiers = {}
        self._area = self._coarse_map()
        for saved in sites:
            site = _Site(
                incident=saved.incident,
                weight=saved.weight,
                weighted_lat=saved.weighted_lat,
                weighted_lon=saved.weighted_lon,
            )
            self._sites[saved.incident.incident_id] = site
            self._place(site)

    def _refresh(self, site: _Site, *, calls: int, last: datetime | None) -> OpenIncident:
        lat = site.weighted_lat / site.weight
        lon = site.weighted_lon / site.weight
        radius = max(self._policy.min_site_radius_m, 1.0 / math.sqrt(site.weight))
        current = site.incident
        newest = current.last_call_at
        if last is not None and (newest is None or last > newest):
            newest = last
        if type(current) is OpenIncident:  # what replace() makes, without its overhead
            site.incident = OpenIncident(
                incident_id=current.incident_id,
                incident_type=current.incident_type,
                lat=lat,
                lon=lon,
                radius_m=radius,
                opened_at=current.opened_at,
                last_call_at=newest,
                calls=calls,
            )
        else:
            site.incident = replace(
                current, lat=lat, lon=lon, radius_m=radius, calls=calls, last_call_at=newest
            )
        self._place(site)
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

    def candidates(self, call: NewCall, limit: int = 3) -> list[DuplicateCandidate]:
        """Compatible open incidents within their gate and window, best first.

        When the zones a call's tiers span (or the coarse map's) hold few members, they are
        judged directly, each in its shelf's box; else the coarse map's are swept with arrays
        (when not too many), or their shelves searched.
        """
        if not self._sites or limit <= 0:
            return []
        welcome = _COMPATIBLE_WITH[_KINDS[call.incident_type][0]]
        if not welcome:
            return []
        call_radius = self._radius(call.radius_m)
        found = self._zone_members(call, call_radius)
        if found is None:
            return self._ranked(call, call_radius, welcome, self._near(call, call_radius), limit)
        groups, count, wide = found
        if wide is None:
            if count <= _JUDGE_SITES:
                return self._judged(call, call_radius, welcome, groups, limit)
        elif count <= _JUDGE_SITES_WIDE:
            return self._judged(call, call_radius, welcome, groups, limit)
        elif count <= _SWEEP_SITES_WIDE and self._area.exact and self._sweep_from > 0:
            call_us = float(_micros(call.at))
            if -_EXACT_US < call_us < _EXACT_US:
                return self._swept(call, call_us, call_radius, wide, limit)
        members = itertools.chain.from_iterable(lists for _, group in groups for lists in group)
        shelves = sorted(set(map(_HOME, members)), key=_ORDER)
        return self._ranked(call, call_radius, welcome, shelves, limit)

    def _ranked(
        self,
        call: NewCall,
        call_radius: float,
        welcome: frozenset[Family],
        shelves: Iterable[_Shelf],
        limit: int,
    ) -> list[DuplicateCandidate]:
        """The best candidates on the given shelves (in search order) of welcome families."""
        kind = call.incident_type
        ranking = _Ranking(limit)
        search = self._search
        for shelf in shelves:
            if shelf.family not in welcome or not shelf.cells:
                continue
            # Every member's score is at least 2 ln s with s above hypot(call, floor):
            # once the best are all below that, no later shelf can place.
            floor = 2.0 * math.log(math.hypot(call_radius, shelf.radius.floor_m))
            if ranking.full_below(floor - _SCORE_SLACK):
                break
            search(shelf, call, call_radius, _pair_scene(shelf.sample_type, kind), ranking)
        return [_candidate(entry) for entry in ranking.best()]

    def _judged(
        self,
        call: NewCall,
        call_radius: float,
        welcome: frozenset[Family],
        groups: list[_Group],
        limit: int,
    ) -> list[DuplicateCandidate]:
        """The best candidates among the given members: what searching their shelves gives.

        Each member of a welcome family is judged by the rule when it lies in the box its
        shelf's search looks at (:meth:`_box`), as that search's loop would judge it. The
        members come in groups with a box that holds the box of each of their shelves (a
        tier's, see :meth:`_zone_members`): a member outside it is outside its shelf's box,
        so a shelf's box is worked out only when one of its members is inside.
        """
        kind = call.incident_type
        policy = self._policy
        ranking: _Ranking | None = None  # made for the first candidate (most calls have none)
        boxes: dict[_Shelf, tuple[float, float, float, float, Scene] | None] = {}
        for (near_lat_lo, near_lat_hi, near_lon_lo, near_lon_hi), lists in groups:
            for members in lists:
                for site in members:
                    incident = site.incident
                    lat, lon = incident.lat, incident.lon
                    if not (
                        near_lat_lo <= lat <= near_lat_hi and near_lon_lo <= lon <= near_lon_hi
                    ):
                        continue
                    shelf = site.home
                    if shelf is None:  # (every member listed in a zone has a shelf)
                        continue
                    if shelf in boxes:
                        box = boxes[shelf]
                    elif shelf.family in welcome:
                        pair = _pair_scene(shelf.sample_type, kind)
                        lat_lo, lat_hi, lon_lo, lon_hi, _ = self._box(
                            shelf, call, call_radius, pair
                        )
                        box = boxes[shelf] = (lat_lo, lat_hi, lon_lo, lon_hi, pair)
                    else:
                        box = boxes[shelf] = None
                    if box is not None and box[0] <= lat <= box[1] and box[2] <= lon <= box[3]:
                        entry = _measure(incident, call, call_radius, box[4], policy)
                        if entry is not None:
                            if ranking is None:
                                ranking = _Ranking(limit)
                            ranking.offer(entry)
        return [] if ranking is None else [_candidate(entry) for entry in ranking.best()]

    def _zone_members(
        self, call: NewCall, call_radius: float
    ) -> tuple[list[_Group], int, list[int] | None] | None:
        """The member lists of the zones near a call, how many members they hold, and the
        zones of the coarse map when it gave them.

        For each tier, the box of the largest reach any of its shelves has for the call, with
        a margin at least ``_search``'s, and the longitude span taken at the highest latitude
        of any tier's box, so it holds the box of each shelf of the tier; the member lists of
        the zones it spans, with that box. A tier whose box spans too many zones sends the
        query to the coarse map with the largest box (which holds every tier's). ``None``
        near the poles (every shelf with members is near).
        """
        policy = self._policy
        call_base = _KINDS[call.incident_type][1].base_radius_m
        k, cap = policy.k, policy.max_spread_m
        reaches: list[tuple[_Zones, float]] = []
        widest = 0.0
        for tier in self._tiers.values():
            zones = tier.zones
            if zones.sites:
                reach = max(tier.base_m, call_base) + k * min(
                    math.hypot(call_radius, tier.bound_m), cap
                )
                dlat = reach / _M_PER_DEG * _ZONE_MARGIN
                if not reaches or dlat > widest:  # max() of them, NaN and all
                    widest = dlat
                reaches.append((zones, dlat))
        if not reaches:
            return [], 0, None
        lat, lon = call.lat, call.lon
        edge = abs(lat) + widest
        if edge >= _POLAR_EDGE_DEG:
            return None
        stretch = 1.0 / math.cos(math.radians(edge))
        floor = math.floor
        groups: list[_Group] = []
        count = 0
        for zones, dlat in reaches:
            size, dlon = zones.size, dlat * stretch
            box = (lat - dlat, lat + dlat, lon - dlon, lon + dlon)
            row_lo, row_hi = floor(box[0] / size), floor(box[1] / size)  # as zones.span() says
            col_lo, col_hi = floor(box[2] / size), floor(box[3] / size)
            visits = (row_hi - row_lo + 1) * (col_hi - col_lo + 1)
            if visits > _ZONE_VISITS:  # (what the tiers gave is dropped)
                area = self._area
                dlon = widest * stretch
                keys = area.occupied(area.span(widest, dlon, lat, lon))
                lists = [area.sites[zone] for zone in keys]
                box = (lat - widest, lat + widest, lon - dlon, lon + dlon)
                return [(box, lists)], sum(map(len, lists)), keys
            sites = zones.sites
            if visits > len(sites):  # fewer zones hold members: take them all
                lists = list(sites.values())
                count += sum(map(len, lists))
            else:
                lists = []
                get, step = sites.get, zones.step
                for first in range(row_lo * step, row_hi * step + 1, step):
                    for zone in range(first + col_lo, first + col_hi + 1):
                        members = get(zone)
                        if members is not None:
                            lists.append(members)
                            count += len(members)
            groups.append((box, lists))
        return groups, count, None

    def _near(self, call: NewCall, call_radius: float) -> list[_Shelf]:
        """The shelves that may hold a member within reach of a call, in search order.

        The shelves of the members of the zones near the call (:meth:`_zone_members`); near
        the poles, every shelf with members.
        """
        found = self._zone_members(call, call_radius)
        if found is None:
            lists = list(self._area.sites.values())
        else:
            lists = [members for _, group in found[0] for members in group]
        return sorted(set(map(_HOME, itertools.chain.from_iterable(lists))), key=_ORDER)

    def _box(
        self, shelf: _Shelf, call: NewCall, call_radius: float, pair: Scene
    ) -> tuple[float, float, float, float, bool]:
        """The box a shelf's search looks at: latitudes, longitudes, and whether it is polar.

        Its half-height is the largest gate of the shelf's members for the call (its radius
        class's bound), with a margin; its half-width that, taken at its highest latitude.
        Near a pole longitude is not bounded.
        """
        policy = self._policy
        spread = min(math.hypot(call_radius, shelf.radius.bound_m), policy.max_spread_m)
        dlat = (pair.base_radius_m + policy.k * spread) / _M_PER_DEG * _REACH_MARGIN
        lat = call.lat
        edge = abs(lat) + dlat
        if edge >= _POLAR_EDGE_DEG:
            return lat - dlat, lat + dlat, -math.inf, math.inf, True
        dlon = dlat / math.cos(math.radians(edge))
        return lat - dlat, lat + dlat, call.lon - dlon, call.lon + dlon, False

    def _search(
        self, shelf: _Shelf, call: NewCall, call_radius: float, pair: Scene, ranking: _Ranking
    ) -> None:
        """Offer one shelf's candidates: members in its box (:meth:`_box`), judged exactly.

        When the box's cells hold many members (and the shelf's rows are not too many for
        them), the shelf is swept with arrays instead of looping over them.
        """
        lat_lo, lat_hi, lon_lo, lon_hi, polar = self._box(shelf, call, call_radius, pair)
        cells = shelf.cells
        size = shelf.cell_deg
        row_lo, row_hi = math.floor(lat_lo / size), math.floor(lat_hi / size)
        if polar:  # longitude is not bounded: every cell in the rows
            col_lo, col_hi, span = 0, 0, math.inf
        else:
            col_lo = math.floor(lon_lo / size)
            col_hi = math.floor(lon_hi / size)
            span = (row_hi - row_lo + 1) * (col_hi - col_lo + 1)
        box = (lat_lo, lat_hi, lon_lo, lon_hi)
        # A sweep pays when many cells would be visited, or many members looped over.
        rows = len(shelf.sites)
        sweep_from = self._sweep_from
        large = rows >= sweep_from
        if large and (
            sweep_from <= 0 or min(span, len(cells)) >= max(_SWEEP_VISITS, rows / _ROWS_PER_VISIT)
        ):
            self._sweep(shelf, box, call=call, call_radius=call_radius, pair=pair, ranking=ranking)
            return
        if span <= len(cells):
            get = cells.get
            columns = range(col_lo, col_hi + 1)
            groups = [
                members
                for row in range(row_lo, row_hi + 1)
                for members in map(get, zip(itertools.repeat(row), columns))
                if members is not None
            ]
        else:
            groups = [
                members
                for (row, column), members in cells.items()
                if row_lo <= row <= row_hi and (polar or col_lo <= column <= col_hi)
            ]
        if (
            large
            and (count := sum(map(len, groups))) >= sweep_from
            and rows <= count * _ROWS_PER_MEMBER
        ):
            self._sweep(shelf, box, call=call, call_radius=call_radius, pair=pair, ranking=ranking)
            return
        policy = self._policy
        offer = ranking.offer
        for members in groups:
            for site in members.values():
                incident = site.incident
                if lat_lo <= incident.lat <= lat_hi and lon_lo <= incident.lon <= lon_hi:
                    entry = _measure(incident, call, call_radius, pair, policy)
                    if entry is not None:
                        offer(entry)

    def _sweep(
        self,
        shelf: _Shelf,
        box: tuple[float, float, float, float],
        *,
        call: NewCall,
        call_radius: float,
        pair: Scene,
        ranking: _Ranking,
    ) -> None:
        """Offer the candidates of a whole shelf, estimated with arrays, judged exactly.

        The box and window tests are exact (the same comparisons; times in whole
        microseconds). Distances, gates and scores are estimates a few ulps off the rule's, so
        they only discard with slack: a member estimated beyond its padded gate, or scoring
        above the padded worst score that can still place, is not judged. That worst is the
        ranking's worst kept entry, or the ``limit``-th best score among members surely inside
        their gate (those are judged and offered, so anything scoring above them cannot
        place). The rest is judged by the rule, so the ranking receives exactly the candidates
        the loop would give it, less some that cannot place; its best are the same. When the
        box holds only a few members, they are all judged by the rule, as the loop would.
        """
        lat_lo, lat_hi, lon_lo, lon_hi = box
        rows = len(shelf.sites)
        lat, lon = shelf.lat[:rows], shelf.lon[:rows]
        inside = (lat >= lat_lo) & (lat <= lat_hi) & (lon >= lon_lo) & (lon <= lon_hi)
        found = np.flatnonzero(inside)
        if found.size <= _JUDGE_FEW:  # estimating would cost more than judging them
            for slot in found.tolist():
                site = shelf.sites[slot]
                if site is not None:
                    entry = _measure(site.incident, call, call_radius, pair, self._policy)
                    if entry is not None:
                        ranking.offer(entry)
            return
        age_us = _micros(call.at) - shelf.last_us[found]
        found = found[age_us <= pair.window // _MICROSECOND]
        if found.size == 0:
            return
        policy = self._policy
        judged = _worth_judging(
            ranking,
            call,
            call_radius,
            policy,
            (lat[found], lon[found], shelf.radius_m[found]),
            pair.base_radius_m,
        )
        sites = shelf.sites
        for slot in found[judged].tolist():
            site = sites[slot]
            if site is not None:
                entry = _measure(site.incident, call, call_radius, pair, policy)
                if entry is not None:
                    ranking.offer(entry)

    def _swept(
        self, call: NewCall, call_us: float, call_radius: float, zones: list[int], limit: int
    ) -> list[DuplicateCandidate]:
        """The best candidates among the members of zones of the coarse map, swept with arrays.

        Their rows are the zones' (:class:`_RowZones`), each pairing with the call as its
        shelf does (:meth:`_table`). As in :meth:`_sweep`, the family and window tests are
        exact, and estimates only discard, with slack, members beyond their gate or unable
        to place; the rest is judged by the rule: the candidates a search of their shelves
        would offer, less some that cannot place. ``call_us``: the call's moment in
        microseconds, exact as a float (as every row's last activity is).
        """
        if not zones:
            return []
        area = self._area
        sites, rows = area.sites, area.rows
        members = list(itertools.chain.from_iterable(sites[zone] for zone in zones))
        block = np.concatenate([rows[zone][: len(sites[zone])] for zone in zones])
        welcome, base, window_us, pairs = self._table(call.incident_type)
        serials = block[:, 4].astype(np.intp)
        age_us = call_us - block[:, 3]
        found = np.flatnonzero(welcome[serials] & (age_us <= window_us[serials]))
        ranking = _Ranking(limit)
        if found.size:
            found_serials = serials[found]
            judged = _worth_judging(
                ranking,
                call,
                call_radius,
                self._policy,
                (block[found, 0], block[found, 1], block[found, 2]),
                base[found_serials],
            )
            policy, offer = self._policy, ranking.offer
            for row, serial in zip(
                found[judged].tolist(), found_serials[judged].tolist(), strict=True
            ):
                entry = _measure(members[row].incident, call, call_radius, pairs[serial], policy)
                if entry is not None:
                    offer(entry)
        return [_candidate(entry) for entry in ranking.best()]

    def _table(self, kind: IncidentType | None) -> _PairTable:
        """How a call of this type pairs with each shelf, by serial: welcome or not, the
        pair's scene's base radius and window (in microseconds), and the scene.

        Made for a type on first use, again once shelves were made since.
        """
        table = self._tables.get(kind)
        serials = self._serials
        if table is None or len(table[3]) < len(serials):
            welcome = _COMPATIBLE_WITH[_KINDS[kind][0]]
            pairs = [_pair_scene(shelf.sample_type, kind) for shelf in serials]
            table = self._tables[kind] = (
                np.array([shelf.family in welcome for shelf in serials], dtype=np.bool_),
                np.array([pair.base_radius_m for pair in pairs], dtype=np.float64),
                np.array([pair.window // _MICROSECOND for pair in pairs], dtype=np.float64),
                pairs,
            )
        return table

    def _judge(
        self, incident: OpenIncident, call: NewCall, call_radius: float
    ) -> DuplicateCandidate | None:
        """The candidate one incident makes for a call, or ``None``: the rule itself."""
        if not compatible(incident.incident_type, call.incident_type):
            return None
        pair = _pair_scene(incident.incident_type, call.incident_type)
        entry = _measure(incident, call, call_radius, pair, self._policy)
        return _candidate(entry) if entry is not None else None

    def propose(self, call: NewCall) -> DuplicateCandidate | None:
        """The best duplicate candidate for a new call, or ``None`` (a new incident)."""
        best = self.candidates(call, 1)
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
