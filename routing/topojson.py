"""Decode TopoJSON (the format of the npm package ``world-atlas``) into shapely geometries.

TopoJSON stores each shared border once, as an *arc*; polygons list the arcs of their rings.
With a ``transform``, arcs are quantised: each position is an integer delta from the previous
one, and ``x = translate_x + scale_x * sum(dx)``. A negative arc index ``~i`` (``-i - 1``) means
arc ``i`` reversed. Consecutive arcs of a ring share their end point, which is dropped once.
Only what world-atlas uses is supported: Polygon, MultiPolygon and null geometries.
(Specification: github.com/topojson/topojson-specification.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from routing.errors import DataBuildError

__all__ = ["decode_arcs", "decode_object"]

FloatArray = npt.NDArray[np.float64]


def decode_arcs(topology: Mapping[str, Any]) -> list[FloatArray]:
    """Every arc of ``topology`` as an (n, 2) array of longitude/latitude."""
    transform = topology.get("transform")
    arcs: list[FloatArray] = []
    for raw in topology["arcs"]:
        positions = np.asarray(raw, dtype=np.float64)[:, :2]
        if transform is not None:
            scale = np.asarray(transform["scale"], dtype=np.float64)
            translate = np.asarray(transform["translate"], dtype=np.float64)
            positions = np.cumsum(positions, axis=0) * scale + translate
        arcs.append(positions)
    return arcs


def _ring(arcs: Sequence[FloatArray], indices: Sequence[int]) -> FloatArray:
    parts: list[FloatArray] = []
    for k, index in enumerate(indices):
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        parts.append(arc if k == 0 else arc[1:])
    return np.concatenate(parts)


def _polygon(arcs: Sequence[FloatArray], rings: Sequence[Sequence[int]]) -> Any:
    coords = [_ring(arcs, ring) for ring in rings]
    coords = [ring for ring in coords if len(ring) >= 4]
    if not coords:
        return None
    return shapely.Polygon(coords[0], coords[1:])


def decode_object(topology: Mapping[str, Any], name: str) -> list[tuple[dict[str, Any], Any]]:
    """The features of object ``name``: (properties, valid shapely geometry) pairs.

    Null geometries are skipped; rings are repaired with ``make_valid`` (quantisation can make
    a ring touch itself), keeping only the polygonal part.
    """
    arcs = decode_arcs(topology)
    obj = topology["objects"].get(name)
    if obj is None or obj.get("type") != "GeometryCollection":
        raise DataBuildError("TopoJSON object is missing or not a GeometryCollection")
    features: list[tuple[dict[str, Any], Any]] = []
    for geometry in obj["geometries"]:
        kind = geometry.get("type")
        if kind is None:
            continue
        if kind == "Polygon":
            parts = [_polygon(arcs, geometry["arcs"])]
        elif kind == "MultiPolygon":
            parts = [_polygon(arcs, rings) for rings in geometry["arcs"]]
        else:
            raise DataBuildError("TopoJSON geometry type is not supported")
        polygons = [p for p in parts if p is not None]
        if not polygons:
            continue
        shape = shapely.make_valid(shapely.MultiPolygon(polygons))
        shape = _polygonal(shape)
        if shape is not None:
            features.append((dict(geometry.get("properties") or {}), shape))
    return features


def _polygonal(shape: Any) -> Any:
    if shape.geom_type in {"Polygon", "MultiPolygon"}:
        return shape
    polygons = [g for g in shapely.get_parts(shape) if g.geom_type in {"Polygon", "MultiPolygon"}]
    if not polygons:
        return None
    return shapely.union_all(polygons)
