"""``ng112 bench locate``: lookup speed against a naive baseline, measured in one run.

Figures: time to load the boundaries; single-point :meth:`Gazetteer.locate` latency (median
and p99) on random points on Turkish land and on random points around Türkiye (sea and
abroad included); a naive loop over the 973 unprepared district polygons on the same land
points; and bulk points/s of :meth:`Gazetteer.locate_many` next to a geopandas ``sjoin`` on
the same points. It prints a table and one JSON object; it never asserts a time.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from routing.locate import Gazetteer

__all__ = ["BenchConfig", "run_bench"]

_BOX = (25.6, 35.8, 44.85, 42.15)


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchConfig:
    """How many points each measurement uses."""

    single: int = 20_000
    naive: int = 300
    bulk: int = 1_000_000
    seed: int = 112
    sjoin: bool = True
    settings_path: Path | None = None


def _random_points(rng: np.random.Generator, n: int) -> tuple[Any, Any]:
    west, south, east, north = _BOX
    return rng.uniform(south, north, n), rng.uniform(west, east, n)


def _land_points(
    gazetteer: Gazetteer, rng: np.random.Generator, n: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    lats, lons = _random_points(rng, n * 3)
    keep = gazetteer.locate_many(lats, lons).district >= 0
    return lats[keep][:n], lons[keep][:n]


def _latencies_us(gazetteer: Gazetteer, lats: Any, lons: Any) -> list[float]:
    locate = gazetteer.locate
    clock = time.perf_counter_ns
    out = []
    for lat, lon in zip(lats.tolist(), lons.tolist(), strict=True):
        start = clock()
        locate(lat, lon)
        out.append((clock() - start) / 1000.0)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _naive_us(gazetteer: Gazetteer, lats: Any, lons: Any) -> list[float]:
    """One loop over fresh, unprepared polygons per point: the baseline."""
    plain = [shapely.from_wkb(shapely.to_wkb(d)) for d in _district_geoms(gazetteer)]
    out = []
    for lat, lon in zip(lats.tolist(), lons.tolist(), strict=True):
        start = time.perf_counter_ns()
        point = shapely.Point(lon, lat)
        for geom in plain:
            if geom.intersects(point):
                break
        out.append((time.perf_counter_ns() - start) / 1000.0)
    return out


def _district_geoms(gazetteer: Gazetteer) -> list[Any]:
    return [gazetteer.district_geometry(d.code) for d in gazetteer.districts()]


def run_bench(config: BenchConfig) -> dict[str, Any]:
    """Measure everything once and return the figures (also what the command prints)."""
    started = time.perf_counter()
    gazetteer = Gazetteer.load(config.settings_path)
    load_s = time.perf_counter() - started
    rng = np.random.default_rng(config.seed)

    land_lats, land_lons = _land_points(gazetteer, rng, config.single)
    _latencies_us(gazetteer, land_lats[:2000], land_lons[:2000])  # warm the prepared polygons
    land = _latencies_us(gazetteer, land_lats, land_lons)
    any_lats, any_lons = _random_points(rng, config.single)
    around = _latencies_us(gazetteer, any_lats, any_lons)
    naive = _naive_us(gazetteer, land_lats[: config.naive], land_lons[: config.naive])

    bulk_lats, bulk_lons = _random_points(rng, config.bulk)
    start = time.perf_counter()
    gazetteer.locate_many(bulk_lats, bulk_lons)
    bulk_s = time.perf_counter() - start
    result: dict[str, Any] = {
        "boundaries": gazetteer.source,
        "load_s": round(load_s, 3),
        "single_land": {
            "points": len(land),
            "median_us": round(statistics.median(land), 2),
            "p99_us": round(_p(land, 0.99), 2),
        },
        "single_around_turkiye": {
            "points": len(around),
            "median_us": round(statistics.median(around), 2),
            "p99_us": round(_p(around, 0.99), 2),
        },
        "naive_loop_land": {
            "points": len(naive),
            "median_us": round(statistics.median(naive), 2),
            "p99_us": round(_p(naive, 0.99), 2),
        },
        "speedup_median": round(statistics.median(naive) / statistics.median(land), 1),
        "bulk": {"points": config.bulk, "points_per_s": round(config.bulk / bulk_s)},
    }
    if config.sjoin:
        result["bulk_sjoin"] = _sjoin(gazetteer, bulk_lats, bulk_lons)
    return result


def _sjoin(gazetteer: Gazetteer, lats: Any, lons: Any) -> dict[str, Any]:
    import geopandas  # noqa: PLC0415 - only the benchmark needs it

    districts = geopandas.GeoDataFrame(
        {"code": [d.code for d in gazetteer.districts()]},
        geometry=_district_geoms(gazetteer),
        crs=4326,
    )
    points = geopandas.GeoDataFrame(geometry=geopandas.points_from_xy(lons, lats), crs=4326)
    start = time.perf_counter()
    geopandas.sjoin(points, districts, predicate="within", how="left")
    elapsed = time.perf_counter() - start
    return {"points": len(lats), "points_per_s": round(len(lats) / elapsed)}


def render(result: dict[str, Any]) -> str:
    """The figures as a plain table followed by the JSON object."""
    rows = [
        ("load boundaries", f"{result['load_s'] * 1000:.0f} ms", "target <= 2000 ms"),
        (
            "locate, land points",
            (
                f"median {result['single_land']['median_us']} us, "
                f"p99 {result['single_land']['p99_us']} us"
            ),
            "target median <= 10 us",
        ),
        (
            "locate, around Türkiye",
            (
                f"median {result['single_around_turkiye']['median_us']} us, "
                f"p99 {result['single_around_turkiye']['p99_us']} us"
            ),
            "sea and abroad included",
        ),
        (
            "naive loop over polygons",
            (
                f"median {result['naive_loop_land']['median_us']} us, "
                f"p99 {result['naive_loop_land']['p99_us']} us"
            ),
            f"locate is {result['speedup_median']}x faster",
        ),
        (
            "bulk locate_many",
            f"{result['bulk']['points_per_s']:,} points/s",
            "target >= 1,000,000 points/s",
        ),
    ]
    if "bulk_sjoin" in result:
        rows.append(
            ("bulk geopandas sjoin", f"{result['bulk_sjoin']['points_per_s']:,} points/s", "")
        )
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    lines = [f"{a:<{width}}  {b:<{value_width}}  {c}".rstrip() for a, b, c in rows]
    return "\n".join(lines) + "\n" + json.dumps(result, ensure_ascii=False)
