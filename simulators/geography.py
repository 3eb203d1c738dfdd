"""Where simulated callers are: provinces by population, places inside them, highways.

The tables are the project's own copies of public facts (``simulators/data/SOURCES.md``):
TÜİK 2025 province populations with admin-centre coordinates, GeoNames populated places
and schematic highway corridors. Everything here is pure: a ``random.Random`` is passed in.
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Generic, TypeVar

from simulators.errors import DataError

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Province:
    """One il: plate, name, 2025 population and its admin centre."""

    plate: int
    name: str
    population: int
    lat: float
    lon: float
    region: str
    coastal: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """A populated place (GeoNames cities500) inside a province."""

    name: str
    lat: float
    lon: float
    population: int
    plate: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Corridor:
    """A highway corridor: straight segments joining admin centres of the given plates."""

    name: str
    points: tuple[tuple[float, float], ...]
    traffic: float

    @property
    def length_m(self) -> float:
        """Total length of the corridor's segments."""
        return sum(distance_m(a, b) for a, b in itertools.pairwise(self.points))


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """A point with the radius a handset or vehicle would report for it."""

    lat: float
    lon: float
    radius_m: float


def _text(name: str) -> str:
    try:
        return resources.files("simulators.data").joinpath(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"bundled table {name} is missing") from exc


@cache
def provinces() -> tuple[Province, ...]:
    """The 81 provinces ordered by plate."""
    try:
        rows = [
            Province(
                plate=int(row["plate"]),
                name=row["name"],
                population=int(row["population_2025"]),
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                region=row["region"],
                coastal=row["coastal"] == "1",
            )
            for row in csv.DictReader(io.StringIO(_text("provinces.csv")))
        ]
    except (KeyError, ValueError) as exc:
        raise DataError("provinces.csv is malformed") from exc
    if sorted(p.plate for p in rows) != list(range(1, 82)):
        raise DataError("provinces.csv must hold plates 1..81 exactly once")
    return tuple(sorted(rows, key=lambda p: p.plate))


@cache
def places_by_plate() -> dict[int, tuple[Place, ...]]:
    """GeoNames populated places grouped by province plate."""
    grouped: dict[int, list[Place]] = {}
    try:
        for row in csv.DictReader(io.StringIO(_text("places.csv"))):
            place = Place(
                name=row["name"],
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                population=int(row["population"]),
                plate=int(row["plate"]),
            )
            grouped.setdefault(place.plate, []).append(place)
    except (KeyError, ValueError) as exc:
        raise DataError("places.csv is malformed") from exc
    return {plate: tuple(items) for plate, items in grouped.items()}


@cache
def corridors() -> tuple[Corridor, ...]:
    """The highway corridors, with their points taken from the admin centres."""
    centres = {p.plate: (p.lat, p.lon) for p in provinces()}
    try:
        data = json.loads(_text("highways.json"))
        return tuple(
            Corridor(
                name=str(item["name"]),
                points=tuple(centres[int(plate)] for plate in item["plates"]),
                traffic=float(item["traffic"]),
            )
            for item in data["corridors"]
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError("highways.json is malformed") from exc


def province(plate: int) -> Province:
    """The province with this plate."""
    if not 1 <= plate <= 81:
        raise DataError("a plate is 1..81")
    return provinces()[plate - 1]


T = TypeVar("T")


class WeightedChoice(Generic[T]):
    """Draws items in proportion to their weights (cumulative table and bisection)."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if not items or len(items) != len(weights) or any(w < 0 for w in weights):
            raise DataError("weighted choice needs items with non-negative weights")
        self._items = tuple(items)
        self._cumulative = list(itertools.accumulate(weights))
        if self._cumulative[-1] <= 0:
            raise DataError("weighted choice needs a positive total weight")

    def draw(self, rng: random.Random) -> T:
        """One item."""
        point = rng.random() * self._cumulative[-1]
        index = bisect.bisect_right(self._cumulative, point)
        return self._items[min(index, len(self._items) - 1)]


@cache
def province_by_population() -> WeightedChoice[Province]:
    """Provinces weighted by their 2025 population."""
    table = provinces()
    return WeightedChoice(table, [p.population for p in table])


@cache
def _place_choice(plate: int) -> WeightedChoice[Place] | None:
    places = places_by_plate().get(plate)
    if not places:
        return None
    # A city point carries the whole city; the floor keeps villages reachable.
    return WeightedChoice(places, [max(p.population, 2_000) for p in places])


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points, in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m``/``east_m`` metres away (flat-earth, fine below ~50 km)."""
    dlat = north_m / EARTH_RADIUS_M
    dlon = east_m / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 1e-6))
    return lat + math.degrees(dlat), lon + math.degrees(dlon)


def scatter(rng: random.Random, lat: float, lon: float, sigma_m: float) -> tuple[float, float]:
    """A point around (lat, lon) with a Gaussian error of ``sigma_m`` metres on each axis."""
    return offset(lat, lon, rng.gauss(0.0, sigma_m), rng.gauss(0.0, sigma_m))


def aml_radius(rng: random.Random) -> float:
    """A radius like AML's: mostly GNSS (5–50 m), some Wi-Fi (20–150 m), a few cell (0.3–5 km)."""
    method = rng.random()
    if method < 0.7:
        return round(rng.uniform(5.0, 50.0), 1)
    if method < 0.92:
        return round(rng.uniform(20.0, 150.0), 1)
    return round(rng.uniform(300.0, 5_000.0), 1)


def caller_position(rng: random.Random, plate: int) -> Position:
    """Where a caller in this province is, with the radius their handset reports.

    The caller is near a populated place (drawn by population) and the reported position
    errs by about the reported radius, as real fixes do.
    """
    choice = _place_choice(plate)
    if choice is None:
        centre = province(plate)
        base_lat, base_lon, spread = centre.lat, centre.lon, 8_000.0
    else:
        place = choice.draw(rng)
        spread = 600.0 + 30.0 * math.sqrt(place.population)
        base_lat, base_lon = place.lat, place.lon
    true_lat, true_lon = scatter(rng, base_lat, base_lon, min(spread, 12_000.0))
    radius = aml_radius(rng)
    lat, lon = scatter(rng, true_lat, true_lon, radius / 2)
    return Position(lat=round(lat, 6), lon=round(lon, 6), radius_m=radius)


@cache
def _corridor_choice() -> WeightedChoice[Corridor]:
    table = corridors()
    return WeightedChoice(table, [c.length_m * c.traffic for c in table])


def highway_position(rng: random.Random) -> tuple[Position, float, str]:
    """A point on a highway corridor, the travel heading in degrees and the corridor name."""
    corridor = _corridor_choice().draw(rng)
    segments = list(itertools.pairwise(corridor.points))
    lengths = [distance_m(a, b) for a, b in segments]
    a, b = WeightedChoice(segments, lengths).draw(rng)
    fraction = rng.random()
    lat = a[0] + (b[0] - a[0]) * fraction
    lon = a[1] + (b[1] - a[1]) * fraction
    heading = math.degrees(
        math.atan2(
            math.radians(b[1] - a[1]) * math.cos(math.radians(lat)), math.radians(b[0] - a[0])
        )
    )
    if rng.random() < 0.5:
        heading += 180.0
    lat, lon = scatter(rng, lat, lon, 40.0)
    return (
        Position(lat=round(lat, 6), lon=round(lon, 6), radius_m=15.0),
        heading % 360.0,
        (corridor.name),
    )
