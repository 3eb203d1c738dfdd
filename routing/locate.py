"""Where is it: province (il), district (ilçe), service area, sea, and whose ground.

:class:`Gazetteer` is loaded once at start (:meth:`Gazetteer.load`) and answers
:meth:`Gazetteer.locate` per call in a few microseconds: a lookup grid settles most points on
land with one array read; mixed cells and points off the grid test a handful of prepared
polygons. Points off land (beaches, harbours, the sea) find the nearest district through a
table of boundary pieces (:mod:`routing.nearest`, tens of microseconds) that gives exactly the
answers of the plain STRtree algorithm kept beside it. Precedence, in order:

1. Turkish district polygons win on Turkish land (Natural Earth's coarse neighbours can
   swallow border towns).
2. The neighbours' land (Natural Earth 1:10m, plus small discs around GeoNames places of
   foreign islands it leaves out, like Meis/Kastellorizo) is abroad: outside the service
   area, not an error, and not Turkish sea.
3. A point off land by no more than ``max(radius_m, snap_tolerance_m)`` — or inside Natural
   Earth's outline of Türkiye with land within ``outline_snap_km`` — snaps to the nearest
   district: a beach, pier, harbour or an uncertain fix resolves to the land province, and
   ``snapped_km`` says how far.
4. Otherwise the point is at sea. It is in Turkish waters (coast guard ground, the nearest
   coastal province's centre takes the case) when Türkiye is the nearest land (the median
   line) and the coast is within ``sea_reach_km``; else it is at sea abroad.

Distances are great-circle kilometres to the nearest point of a polygon found in lon/lat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from routing.boundaries import BoundaryData, RoutingSettings, load_boundaries
from routing.errors import InvalidCoordinates, InvalidRadius, UnknownProvince
from routing.ground import Ground
from routing.names import PROVINCES
from routing.nearest import RASTER_STEP, Nearest

__all__ = [
    "MAX_RADIUS_M",
    "BulkLocation",
    "DistrictInfo",
    "DistrictRef",
    "Gazetteer",
    "LocateResult",
    "ProvinceInfo",
    "ProvinceRef",
    "check_coordinates",
    "check_radius",
]

#: Largest accepted uncertainty radius (the same bound as ``dispatch``'s ``Location``).
MAX_RADIUS_M = 1_000_000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvinceRef:
    """A province by plate code and proper name."""

    plate: int
    name: str

    def to_json_dict(self) -> dict[str, int | str]:
        """``{"plate": 34, "name": "İstanbul"}``."""
        return {"plate": self.plate, "name": self.name}


@dataclass(frozen=True, slots=True, kw_only=True)
class DistrictRef:
    """A district by COD-AB pcode (``TUR034008``) and proper name."""

    code: str
    name: str

    def to_json_dict(self) -> dict[str, str]:
        """``{"code": "TUR034008", "name": "Beyoğlu"}``."""
        return {"code": self.code, "name": self.name}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvinceInfo:
    """A province with its seat (centre), whether it has a sea coast and is metropolitan."""

    plate: int
    name: str
    capital: str
    centre_lat: float
    centre_lon: float
    coastal: bool
    metropolitan: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DistrictInfo:
    """A district, its province and whether it is the central ("Merkez") district."""

    code: str
    name: str
    plate: int
    central: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LocateResult:
    """Where a point falls; :meth:`to_json_dict` is the wire form (API and CLI).

    ``province`` is where the case belongs: the land province (also after snapping); at sea it
    is ``None`` and ``nearest_province`` names the coastal province whose centre takes the
    case. ``nearest_province`` is set when the point is at sea (within ``sea_reach_km``) or
    was snapped. ``foreign_country`` names the neighbour's land a point abroad is on (not part
    of the wire form).
    """

    in_service_area: bool
    at_sea: bool
    province: ProvinceRef | None = None
    district: DistrictRef | None = None
    nearest_province: ProvinceRef | None = None
    snapped_km: float | None = None
    ground: Ground | None = None
    foreign_country: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object of ``GET /api/v1/locate`` and ``ng112 locate``."""
        return {
            "in_service_area": self.in_service_area,
            "at_sea": self.at_sea,
            "province": self.province.to_json_dict() if self.province else None,
            "district": self.district.to_json_dict() if self.district else None,
            "nearest_province": (
                self.nearest_province.to_json_dict() if self.nearest_province else None
            ),
            "snapped_km": self.snapped_km,
            "ground": self.ground.value if self.ground else None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkLocation:
    """Vectorised lookup on land: district index (-1 off Turkish land) and plate (0 off it)."""

    district: npt.NDArray[np.int32]
    plate: npt.NDArray[np.int16]


def check_coordinates(lat: float, lon: float) -> tuple[float, float]:
    """Return ``(lat, lon)`` as floats, or raise :class:`InvalidCoordinates` saying why."""
    if isinstance(lat, bool) or isinstance(lon, bool):
        raise InvalidCoordinates("latitude and longitude must be numbers, not booleans")
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError) as exc:
        raise InvalidCoordinates("latitude and longitude must be numbers") from exc
    if math.isnan(lat_f):
        raise InvalidCoordinates("latitude is NaN")
    if math.isnan(lon_f):
        raise InvalidCoordinates("longitude is NaN")
    if math.isinf(lat_f):
        raise InvalidCoordinates("latitude is infinite")
    if math.isinf(lon_f):
        raise InvalidCoordinates("longitude is infinite")
    if not -90.0 <= lat_f <= 90.0:
        raise InvalidCoordinates("latitude must be within -90..90 degrees")
    if not -180.0 <= lon_f <= 180.0:
        raise InvalidCoordinates("longitude must be within -180..180 degrees")
    return lat_f, lon_f


def check_radius(radius_m: float | None) -> float | None:
    """Return the radius as a float (or ``None``), or raise :class:`InvalidRadius`."""
    if radius_m is None:
        return None
    if isinstance(radius_m, bool):
        raise InvalidRadius("radius must be a number of metres, not a boolean")
    try:
        value = float(radius_m)
    except (TypeError, ValueError) as exc:
        raise InvalidRadius("radius must be a number of metres") from exc
    if math.isnan(value):
        raise InvalidRadius("radius is NaN")
    if math.isinf(value):
        raise InvalidRadius("radius is infinite")
    if value < 0.0:
        raise InvalidRadius("radius must not be negative")
    if value > MAX_RADIUS_M:
        raise InvalidRadius("radius must be at most 1,000,000 m")
    return value


#: At sea beyond Turkish waters (or with no land in reach).
_OPEN_SEA = LocateResult(in_service_area=False, at_sea=True)

#: Largest raster built (cells); Türkiye's takes 0.6 million.
_RASTER_MAX_CELLS = 4_000_000
#: The raster covers the districts' bounding box widened by this much (degrees).
_RASTER_MARGIN_DEG = 0.5


class Gazetteer:
    """Province, district, sea and ground lookup over real boundaries, loaded once at start."""

    __slots__ = (
        "_candidates",
        "_cells",
        "_data",
        "_district_nearest",
        "_district_plate",
        "_district_refs",
        "_districts",
        "_foreign",
        "_foreign_nearest",
        "_foreign_regions",
        "_foreign_tree",
        "_grid_nx",
        "_grid_ny",
        "_grid_south",
        "_grid_step",
        "_grid_west",
        "_land",
        "_offsets",
        "_plate_of",
        "_province_refs",
        "_provinces",
        "_settings",
        "_tree",
        "_turkish_sea",
    )

    def __init__(self, data: BoundaryData, settings: RoutingSettings | None = None) -> None:
        """Index ``data`` (trees, prepared polygons, precomputed results)."""
        self._data = data
        self._settings = settings or RoutingSettings()
        self._districts = data.district_geoms
        shapely.prepare(self._districts)
        self._tree = shapely.STRtree(self._districts)
        self._district_plate = data.district_plate
        self._plate_of: list[int] = data.district_plate.tolist()
        self._foreign = data.foreign_geoms
        shapely.prepare(self._foreign)
        self._foreign_tree = shapely.STRtree(self._foreign)
        shapely.prepare(data.outline)
        west, south, east, north = shapely.total_bounds(self._districts).tolist()
        margin = _RASTER_MARGIN_DEG
        region: tuple[float, float, float, float] | None = (
            west - margin,
            south - margin,
            east + margin,
            north + margin,
        )
        cells = (east - west + 2 * margin) * (north - south + 2 * margin) / RASTER_STEP**2
        if not cells <= _RASTER_MAX_CELLS:  # a continent's districts: the tree alone
            region = None
        self._district_nearest = Nearest(self._districts, region)
        # Foreign land is mostly far: a coarser raster serves (and builds faster).
        self._foreign_nearest = Nearest(self._foreign, region, step=2 * RASTER_STEP, clear=True)
        # Whose land each region clear of foreign boundaries is (inside the same polygons
        # all over, so one point tells).
        self._foreign_regions = [
            self._foreign_at_tree(lat, lon) for lat, lon in self._foreign_nearest.clear_points
        ]
        grid = data.grid
        if grid is not None:
            self._cells: npt.NDArray[np.int32] | None = grid.cells
            self._offsets = grid.offsets
            self._candidates = grid.candidates
            self._grid_west, self._grid_south, self._grid_step = grid.west, grid.south, grid.step
            self._grid_ny, self._grid_nx = grid.shape
        else:
            self._cells = None
        self._province_refs = {p.plate: ProvinceRef(plate=p.plate, name=p.name) for p in PROVINCES}
        self._provinces = tuple(
            ProvinceInfo(
                plate=p.plate,
                name=p.name,
                capital=p.capital,
                centre_lat=float(data.province_centre[k, 0]),
                centre_lon=float(data.province_centre[k, 1]),
                coastal=data.province_coastal[k],
                metropolitan=p.metropolitan,
            )
            for k, p in enumerate(PROVINCES)
        )
        self._district_refs = tuple(
            DistrictRef(code=c, name=n)
            for c, n in zip(data.district_code, data.district_name, strict=True)
        )
        # One immutable result per province for points in Turkish waters.
        self._turkish_sea = {
            plate: LocateResult(
                in_service_area=True,
                at_sea=True,
                nearest_province=ref,
                ground=Ground.COAST_GUARD,
            )
            for plate, ref in self._province_refs.items()
        }
        # One immutable result per (district, ground) for points on land.
        self._land = tuple(
            {
                ground: LocateResult(
                    in_service_area=True,
                    at_sea=False,
                    province=self._province_refs[int(plate)],
                    district=ref,
                    ground=ground,
                )
                for ground in (Ground.POLICE, Ground.GENDARMERIE)
            }
            for ref, plate in zip(self._district_refs, data.district_plate, strict=True)
        )

    @classmethod
    def load(cls, settings_path: Path | None = None) -> Gazetteer:
        """Load the boundaries once, at start (settings TOML optional)."""
        settings = RoutingSettings.from_toml(settings_path) if settings_path else None
        return cls.from_settings(settings or RoutingSettings())

    @classmethod
    def from_settings(cls, settings: RoutingSettings) -> Gazetteer:
        """Load the boundaries named by ``settings``."""
        return cls(load_boundaries(settings), settings)

    @property
    def source(self) -> str:
        """Where the district boundaries came from."""
        return self._data.source

    # --- per-call lookup --------------------------------------------------------------------

    def locate(self, lat: float, lon: float, radius_m: float | None = None) -> LocateResult:
        """Where ``(lat, lon)`` falls; raises :class:`InvalidCoordinates`/:class:`InvalidRadius`."""
        lat, lon = check_coordinates(lat, lon)
        radius = check_radius(radius_m)
        district = self._district_at(lat, lon)
        if district >= 0:
            return self._land[district][self._data.ground.ground_at(lat, lon)]
        return self._off_land(lat, lon, radius)

    def _district_at(self, lat: float, lon: float) -> int:
        cells = self._cells
        if cells is not None:
            col = int((lon - self._grid_west) / self._grid_step)
            row = int((lat - self._grid_south) / self._grid_step)
            if (
                0 <= row < self._grid_ny
                and 0 <= col < self._grid_nx
                and lon >= self._grid_west
                and lat >= self._grid_south
            ):
                value = int(cells[row, col])
                if value >= -1:
                    return value
                k = -value - 2
                for c in self._candidates[self._offsets[k] : self._offsets[k + 1]]:
                    if shapely.intersects_xy(self._districts[c], lon, lat):
                        return int(c)
                return -1
        for c in sorted(self._tree.query(shapely.Point(lon, lat))):
            if shapely.intersects_xy(self._districts[c], lon, lat):
                return int(c)
        return -1

    def _foreign_at(self, lat: float, lon: float) -> str | None:
        region = self._foreign_nearest.clear_region(lat, lon)
        if region:
            return self._foreign_regions[region - 1]
        return self._foreign_at_tree(lat, lon)

    def _foreign_at_tree(self, lat: float, lon: float) -> str | None:
        """The first neighbour (in tree order) whose land holds the point, or ``None``."""
        for k in self._foreign_tree.query(shapely.Point(lon, lat)):
            if shapely.intersects_xy(self._foreign[k], lon, lat):
                name: str = self._data.foreign_name[k]
                return name
        return None

    def _off_land(self, lat: float, lon: float, radius: float | None) -> LocateResult:
        country = self._foreign_at(lat, lon)
        if country is not None:
            return LocateResult(in_service_area=False, at_sea=False, foreign_country=country)
        settings = self._settings
        snap_km = max(radius or 0.0, settings.snap_tolerance_m) / 1000.0
        outline_km = settings.outline_snap_km
        # Whether the point is in the outline matters only when land is within outline_km
        # (and for the reach when outline_km is the largest): tested only then.
        in_outline: bool | None = None
        reach = max(snap_km, settings.sea_reach_km)
        if outline_km > reach:
            in_outline = self._in_outline(lat, lon)
            reach = outline_km if in_outline else reach
        search = self._district_nearest.search(lat, lon, reach)
        coast = None if search is None else self._district_nearest.coast(search)
        if coast is not None:
            low, high, owners = coast
            plates = {self._plate_of[owner] for owner in owners.tolist()}
            if (
                low > snap_km
                and high <= settings.sea_reach_km
                and len(plates) == 1
                and (low > outline_km or not self._in_outline(lat, lon))
                and self._foreign_nearest.none_within(lat, lon, high)
            ):
                return self._turkish_sea[plates.pop()]
        index, km, near_lat, near_lon = self._district_nearest.nearest(lat, lon, reach, search)
        if index >= 0 and (
            km <= snap_km or (km <= outline_km and (in_outline or self._in_outline(lat, lon)))
        ):
            return self._snapped(index, km, near_lat, near_lon)
        if index < 0 or km > settings.sea_reach_km:
            return _OPEN_SEA
        if self._foreign_nearest.none_within(lat, lon, km):
            return self._turkish_sea[int(self._district_plate[index])]
        foreign_index, foreign_km, _, _ = self._foreign_nearest.nearest(lat, lon, km)
        return self._at_sea(index, foreign_index if foreign_km < km else -1)

    def _snapped(self, index: int, km: float, near_lat: float, near_lon: float) -> LocateResult:
        """District ``index``, reached ``km`` away at (near_lat, near_lon)."""
        province = self._province_refs[int(self._district_plate[index])]
        return LocateResult(
            in_service_area=True,
            at_sea=False,
            province=province,
            district=self._district_refs[index],
            nearest_province=province,
            snapped_km=round(km, 3),
            ground=self._data.ground.ground_at(near_lat, near_lon),
        )

    def _at_sea(self, index: int, foreign_index: int) -> LocateResult:
        """At sea off district ``index``; abroad if ``foreign_index`` (>= 0) is nearer land."""
        plate = int(self._district_plate[index])
        if foreign_index < 0:
            return self._turkish_sea[plate]
        return LocateResult(
            in_service_area=False,
            at_sea=True,
            nearest_province=self._province_refs[plate],
            foreign_country=self._data.foreign_name[foreign_index],
        )

    def _in_outline(self, lat: float, lon: float) -> bool:
        """Whether the point is inside Natural Earth's outline of Türkiye."""
        return bool(shapely.intersects_xy(self._data.outline, lon, lat))

    # --- bulk lookup (analytics) ------------------------------------------------------------

    def locate_many(self, lats: npt.ArrayLike, lons: npt.ArrayLike) -> BulkLocation:
        """Vectorised: the district and plate of every point on Turkish land (no snapping).

        Raises :class:`InvalidCoordinates` when any coordinate is NaN, infinite or out of
        range; points off Turkish land get district -1 and plate 0 (use :meth:`locate` for
        snapping, sea and abroad).
        """
        lat = np.asarray(lats, dtype=np.float64).ravel()
        lon = np.asarray(lons, dtype=np.float64).ravel()
        if lat.shape != lon.shape:
            raise InvalidCoordinates("latitude and longitude arrays differ in length")
        if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
            raise InvalidCoordinates("coordinates must be finite (NaN or infinity found)")
        if (np.abs(lat) > 90.0).any() or (np.abs(lon) > 180.0).any():
            raise InvalidCoordinates("coordinates must be within -90..90 and -180..180 degrees")
        out = np.full(len(lat), -1, dtype=np.int32)
        todo = np.arange(len(lat))
        if self._cells is not None:
            col = np.floor((lon - self._grid_west) / self._grid_step).astype(np.int64)
            row = np.floor((lat - self._grid_south) / self._grid_step).astype(np.int64)
            inside = (col >= 0) & (col < self._grid_nx) & (row >= 0) & (row < self._grid_ny)
            value = np.full(len(lat), -1, dtype=np.int32)
            value[inside] = self._cells[row[inside], col[inside]]
            pure = value >= 0
            out[pure] = value[pure]
            mixed = np.flatnonzero(value <= -2)
            self._resolve_mixed(mixed, value[mixed], lat, lon, out)
            todo = np.flatnonzero(~inside)
        if len(todo):
            pairs = self._tree.query(shapely.points(lon[todo], lat[todo]))
            points, geoms = todo[pairs[0]], pairs[1]
            self._first_hit(points, geoms, lat, lon, out)
        plate = np.where(out >= 0, self._district_plate[np.maximum(out, 0)], 0).astype(np.int16)
        return BulkLocation(district=out, plate=plate)

    def _resolve_mixed(self, points: Any, values: Any, lat: Any, lon: Any, out: Any) -> None:
        k = -values - 2
        starts = self._offsets[k]
        lengths = self._offsets[k + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return
        first = np.repeat(np.cumsum(lengths) - lengths, lengths)
        take = np.repeat(starts, lengths) + (np.arange(total) - first)
        self._first_hit(np.repeat(points, lengths), self._candidates[take], lat, lon, out)

    def _first_hit(self, points: Any, geoms: Any, lat: Any, lon: Any, out: Any) -> None:
        if len(points) == 0:
            return
        hit = shapely.intersects_xy(self._districts[geoms], lon[points], lat[points])
        best = np.full(len(out), np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(best, points[hit], geoms[hit])
        found = np.flatnonzero(best != np.iinfo(np.int32).max)
        out[found] = best[found]

    # --- reference data ---------------------------------------------------------------------

    def province_name(self, plate: int) -> str:
        """The proper name of the province with this plate (raises :class:`UnknownProvince`)."""
        return self.province(plate).name

    def province(self, plate: int) -> ProvinceInfo:
        """The province with this plate code (1..81)."""
        if type(plate) is not int or not 1 <= plate <= 81:
            raise UnknownProvince("plate code must be an integer within 1..81")
        return self._provinces[plate - 1]

    def provinces(self) -> tuple[ProvinceInfo, ...]:
        """All 81 provinces by plate code."""
        return self._provinces

    def districts(self) -> tuple[DistrictInfo, ...]:
        """All districts, ordered by code."""
        data = self._data
        return tuple(
            DistrictInfo(code=c, name=n, plate=int(p), central=central)
            for c, n, p, central in zip(
                data.district_code,
                data.district_name,
                data.district_plate,
                data.district_central,
                strict=True,
            )
        )

    def district_geometry(self, code: str) -> Any:
        """The shapely polygon of a district (for analysis and tests)."""
        try:
            index = self._data.district_code.index(code)
        except ValueError:
            raise KeyError(code) from None
        return self._districts[index]

    def province_geometry(self, plate: int) -> Any:
        """The shapely polygon of a province (the union of its districts)."""
        self.province(plate)
        return self._data.province_geoms[plate - 1]

    def province_geojson(self) -> bytes:
        """Simplified province boundaries (GeoJSON, ``plate`` and ``name``) for the map."""
        return self._data.provinces_geojson

    def district_geojson(self) -> bytes:
        """Simplified district boundaries (GeoJSON, ``code``, ``name``, ``plate``)."""
        return self._data.districts_geojson
