"""Nearest polygon of a set in great-circle km: boundary pieces and the tree-based reference.

The distance from a point outside a polygon to the polygon is its distance to the boundary,
so every polygon's rings are cut into short pieces (:func:`boundary_pieces`) and the nearest
piece names the nearest polygon. :class:`TreeNearest` is the straightforward algorithm the
gazetteer has always used: the planar-nearest piece from an STRtree, every piece within that
planar distance widened by ``1 / cos(latitude)``, and the smallest haversine distance to the
planar-nearest point of each. It is the reference that :mod:`routing.sea_cells` reproduces
exactly, and its fallback.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = [
    "EARTH_RADIUS_KM",
    "PIECE_VERTICES",
    "TreeNearest",
    "boundary_pieces",
    "cos_latitude",
    "haversine_km",
    "reach_degrees",
]

EARTH_RADIUS_KM = 6371.0088

#: Vertices per boundary piece: short pieces make exact nearest queries cheap.
PIECE_VERTICES = 32


def haversine_km(lat: float, lon: float, lats: Any, lons: Any) -> Any:
    """Great-circle km from ``(lat, lon)`` to each of ``(lats, lons)`` (arrays)."""
    p1, p2 = math.radians(lat), np.radians(lats)
    dp = p2 - p1
    dl = np.radians(lons) - math.radians(lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def boundary_pieces(geoms: Any) -> tuple[Any, npt.NDArray[np.intp]]:
    """Every polygon's rings cut into linestrings of at most :data:`PIECE_VERTICES` vertices.

    Returns the pieces and, for each, the index of the polygon it belongs to. Measuring
    against pieces of a few dozen vertices is far cheaper than against whole coastlines.
    """
    pieces: list[Any] = []
    owners: list[int] = []
    for owner, geom in enumerate(geoms):
        for ring in shapely.get_parts(shapely.boundary(geom)):
            coords = shapely.get_coordinates(ring)
            step = PIECE_VERTICES - 1
            for first in range(0, max(len(coords) - 1, 1), step):
                chunk = coords[first : first + PIECE_VERTICES]
                if len(chunk) >= 2:
                    pieces.append(chunk)
                    owners.append(owner)
    lines = shapely.linestrings(
        np.concatenate(pieces), indices=np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])
    )
    return lines, np.asarray(owners, dtype=np.intp)


def cos_latitude(lat: float) -> float:
    """``cos(lat)`` but at least 0.01: a degree of longitude over one of latitude."""
    return max(math.cos(math.radians(lat)), 0.01)


def reach_degrees(lat: float, within_km: float) -> float:
    """The planar search radius (degrees) that covers ``within_km`` at latitude ``lat``."""
    return within_km / (111.0 * cos_latitude(lat)) + 0.01


class TreeNearest:
    """Nearest polygon of a set in great-circle km, through an STRtree of boundary pieces.

    ``pieces`` and ``owners`` are public (read-only by convention) so that faster indexes
    over the same pieces give the same answers.
    """

    __slots__ = ("owners", "pieces", "tree")

    def __init__(self, geoms: Any) -> None:
        """Cut ``geoms`` (polygons) into boundary pieces and index them."""
        self.pieces, self.owners = boundary_pieces(geoms)
        self.tree = shapely.STRtree(self.pieces)

    def nearest(self, lat: float, lon: float, within_km: float) -> tuple[int, float, float, float]:
        """(index, km, lat, lon of the nearest point), index -1 when none is within reach.

        Only for points outside every polygon of the set (inside, the distance is 0).
        """
        point = shapely.Point(lon, lat)
        cos_lat = cos_latitude(lat)
        hits, dists = self.tree.query_nearest(
            point,
            max_distance=reach_degrees(lat, within_km),
            return_distance=True,
            all_matches=False,
        )
        if len(hits) == 0:
            return -1, math.inf, math.nan, math.nan
        window = float(dists[0]) / cos_lat + 1e-9
        candidates = self.tree.query(point, predicate="dwithin", distance=window)
        lines = shapely.shortest_line(self.pieces[candidates], point)
        ends = shapely.get_coordinates(shapely.get_point(lines, 0))
        km = haversine_km(lat, lon, ends[:, 1], ends[:, 0])
        best = int(np.argmin(km))
        owner = int(self.owners[candidates[best]])
        return owner, float(km[best]), float(ends[best, 1]), float(ends[best, 0])

    def to_piece(self, piece: int, lat: float, lon: float) -> tuple[float, float, float]:
        """(km, lat, lon) of the planar-nearest point of one piece, exactly as :meth:`nearest`."""
        line = shapely.shortest_line(self.pieces[piece : piece + 1], shapely.Point(lon, lat))
        ends = shapely.get_coordinates(shapely.get_point(line, 0))
        km = haversine_km(lat, lon, ends[:, 1], ends[:, 0])
        return float(km[0]), float(ends[0, 1]), float(ends[0, 0])
