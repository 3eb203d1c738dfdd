"""Fast answers for points off Turkish land: facts precomputed per cell of the lookup grid.

A point at sea, just outside a district or abroad used to cost a few hundred microseconds of
tree queries (:class:`routing.nearest.TreeNearest`). :class:`SeaCells` computes, when the
gazetteer loads, for every cell of the 0.01° lookup grid near the coast and the borders (and
for 0.05° blocks farther out):

- the district boundary pieces that can be nearest, or in the reference's widened candidate
  window, for *any* point of the cell: every piece within ``ub / cos(latitude)`` of the cell,
  where ``ub`` bounds the distance from any point of the cell to the nearest boundary (a
  Chebyshev distance, in cells, to a cell the boundary crosses);
- the foreign polygons that touch the cell, in the reference's (STRtree) order;
- whether the cell is inside, outside or across Natural Earth's outline of Türkiye;
- a lower bound of the distance to any foreign boundary.

A lookup then measures the point against a few dozen segments with numpy and reproduces the
reference's decisions. Whenever a decision is within a rounding tolerance of a threshold (the
search reach, the candidate window, a tie between two pieces, a tie between two segments of
one piece) it answers ``None`` and the caller asks the reference, so answers are identical.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy import ndimage

from routing.grid import EMPTY, CellGrid
from routing.nearest import (
    EARTH_RADIUS_KM,
    PIECE_VERTICES,
    TreeNearest,
    cos_latitude,
    haversine_km,
    reach_degrees,
)

__all__ = ["SeaCells"]

#: Planar decisions (degrees) closer than this to their threshold go to the reference.
_TOL_DEG = 1e-9
#: Great-circle decisions (km) closer than this to their threshold go to the reference.
_TOL_KM = 1e-6
#: Two nearest points closer than this (degrees) are the same point.
_SAME_POINT = 1e-12
#: Safety margin (degrees) around cell boxes and distance bounds.
_MARGIN = 1e-7
#: Fine cells (0.01°) kept: at most this many cells (Chebyshev) from a boundary cell.
_FINE_MAX_CELLS = 3
#: Fine cells per side of a coarse block.
_COARSE_FACTOR = 5
#: Coarse blocks kept: at most this many blocks (Chebyshev) from a block the boundary crosses.
_COARSE_MAX_CELLS = 4
#: Foreign boundaries farther than this many coarse blocks are "far" (lower bound only).
_FOREIGN_MAX_CELLS = 12
#: Cells with more candidate pieces than this are left to the reference.
_MAX_PIECES = 1500
#: Above this many candidate pieces, pieces are first pruned by their bounding boxes.
_PRUNE_AT = 24
#: Up to this many candidate points, great-circle km are computed with ``math``.
_SCALAR_KM = 6
_NEIGHBOURS = np.ones((3, 3), dtype=bool)


def _chebyshev(flags: npt.NDArray[np.bool_], max_cells: int) -> npt.NDArray[np.int16]:
    """Chebyshev distance in cells to the nearest flagged cell, ``max_cells + 1`` beyond."""
    out = np.full(flags.shape, max_cells + 1, dtype=np.int16)
    reached = flags.copy()
    out[reached] = 0
    for k in range(1, max_cells + 1):
        reached = ndimage.binary_dilation(reached, structure=_NEIGHBOURS)
        out[reached & (out > k)] = k
    return out


def _segment_table(pieces: Any) -> tuple[Any, Any, Any]:
    """Segments of every piece as complex numbers ``lon + i·lat``, and a disc around each piece.

    Returns ``segments`` of shape ``(pieces, 3, PIECE_VERTICES - 1)`` (start, step, and
    1/length² as a real part, 0 for a zero-length segment; short pieces repeat their last
    vertex, which only adds zero-length segments at a vertex of the piece), and the centre
    and radius of a disc holding each piece.
    """
    coords, index = shapely.get_coordinates(pieces, return_index=True)
    count = np.bincount(index, minlength=len(pieces))
    start = np.cumsum(count) - count
    position = np.arange(len(coords)) - start[index]
    last = coords[start + count - 1]
    vertices = np.repeat((last[:, 0] + 1j * last[:, 1])[:, None], PIECE_VERTICES, axis=1)
    vertices[index, position] = coords[:, 0] + 1j * coords[:, 1]
    steps = np.diff(vertices, axis=1)
    length2 = steps.real**2 + steps.imag**2
    inverse = np.divide(1.0, length2, out=np.zeros_like(length2), where=length2 > 0.0)
    segments = np.stack([vertices[:, :-1], steps, inverse.astype(np.complex128)], axis=1)
    bounds = shapely.bounds(pieces)
    centre = (bounds[:, 0] + bounds[:, 2]) / 2 + 1j * (bounds[:, 1] + bounds[:, 3]) / 2
    radius = np.abs(vertices - centre[:, None]).max(axis=1) + _MARGIN
    return segments, centre, radius


def _haversine(lat: float, lon: float, lat2: float, lon2: float) -> float:
    """Great-circle km between two points (scalar; within 1e-12 km of ``haversine_km``)."""
    p1, p2 = math.radians(lat), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin((math.radians(lon2) - math.radians(lon)) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


def _group(pairs: Any, n: int, order_key: Any) -> tuple[npt.NDArray[np.int64], Any]:
    """(offsets, members) of tree-query pairs grouped by input, members sorted by key."""
    order = np.lexsort((order_key[pairs[1]], pairs[0]))
    members = pairs[1][order]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(pairs[0], minlength=n))
    return offsets, members


class SeaCells:
    """Cell facts for off-land lookups over one :class:`CellGrid`; built once at start."""

    __slots__ = (
        "_coarse_map",
        "_disc_centre",
        "_disc_radius",
        "_district_offsets",
        "_district_pieces",
        "_fine_map",
        "_foreign_geoms",
        "_foreign_lb",
        "_foreign_members",
        "_foreign_offsets",
        "_grid_nx",
        "_grid_ny",
        "_outline",
        "_outline_state",
        "_owners",
        "_segments",
        "_south",
        "_step",
        "_west",
    )

    def __init__(
        self,
        grid: CellGrid,
        *,
        districts: TreeNearest,
        foreign: TreeNearest,
        foreign_geoms: Any,
        foreign_tree: Any,
        outline: Any,
    ) -> None:
        """Precompute the facts of every cell near the coast and the borders."""
        self._west, self._south, self._step = grid.west, grid.south, grid.step
        self._grid_ny, self._grid_nx = grid.shape
        self._outline = outline
        self._owners = districts.owners
        self._segments, self._disc_centre, self._disc_radius = _segment_table(districts.pieces)
        boxes, bounds = self._select_cells(grid)
        self._foreign_lb = self._foreign_lower_bounds(grid, foreign, boxes)
        padded = shapely.box(*(bounds[:, :4] + np.array([-_MARGIN, -_MARGIN, _MARGIN, _MARGIN])).T)
        reach = bounds[:, 4] / np.cos(np.radians(bounds[:, 3] + _MARGIN)) + 1e-9 + _MARGIN
        search = shapely.box(*(bounds[:, :4] + np.outer(reach, [-1.0, -1.0, 1.0, 1.0])).T)
        rank = _tree_rank(districts.tree, len(districts.pieces))
        pairs = districts.tree.query(search)
        self._district_offsets, self._district_pieces = _group(pairs, len(bounds), rank)
        too_many = np.diff(self._district_offsets) > _MAX_PIECES
        self._drop(np.flatnonzero(too_many))
        foreign_rank = _tree_rank(foreign_tree, len(foreign_geoms))
        pairs = foreign_tree.query(padded)
        geoms = np.asarray(foreign_geoms, dtype=object)
        pairs = pairs[:, shapely.intersects(geoms[pairs[1]], padded[pairs[0]])]
        self._foreign_offsets, self._foreign_members = _group(pairs, len(bounds), foreign_rank)
        self._foreign_geoms = geoms[self._foreign_members]
        inside = shapely.contains_properly(outline, padded)
        touches = shapely.intersects(outline, padded)
        self._outline_state = np.where(inside, 1, np.where(touches, 2, 0)).astype(np.int8)

    def _select_cells(self, grid: CellGrid) -> tuple[Any, npt.NDArray[np.float64]]:
        """Number the kept cells; return their boxes as (west, south, east, north, ub)."""
        cells, step = grid.cells, grid.step
        ny, nx = cells.shape
        mixed = cells <= -2
        off_land = cells < 0
        coastal = ndimage.binary_dilation(cells == EMPTY, structure=_NEIGHBOURS, iterations=2)
        fine_k = _chebyshev(mixed, _FINE_MAX_CELLS)
        fine = off_land & coastal & (fine_k <= _FINE_MAX_CELLS)
        rows, cols = np.nonzero(fine)
        fine_ub = math.sqrt(2.0) * step * (fine_k[rows, cols] + 1.0)
        factor = _COARSE_FACTOR
        cy, cx = -(-ny // factor), -(-nx // factor)
        blocks = np.zeros((cy * factor, cx * factor), dtype=bool)
        blocks[:ny, :nx] = mixed
        block_mixed = np.asarray(blocks.reshape(cy, factor, cx, factor).any(axis=(1, 3)))
        blocks[:ny, :nx] = off_land & ~fine
        block_needed = np.asarray(blocks.reshape(cy, factor, cx, factor).any(axis=(1, 3)))
        coarse_k = _chebyshev(block_mixed, _COARSE_MAX_CELLS)
        brows, bcols = np.nonzero(block_needed & (coarse_k <= _COARSE_MAX_CELLS))
        big = step * factor
        coarse_ub = math.sqrt(2.0) * big * (coarse_k[brows, bcols] + 1.0)
        self._fine_map = np.full((ny, nx), -1, dtype=np.int32)
        self._fine_map[rows, cols] = np.arange(len(rows), dtype=np.int32)
        self._coarse_map = np.full((cy, cx), -1, dtype=np.int32)
        self._coarse_map[brows, bcols] = len(rows) + np.arange(len(brows), dtype=np.int32)
        west = np.concatenate([grid.west + cols * step, grid.west + bcols * big])
        south = np.concatenate([grid.south + rows * step, grid.south + brows * big])
        size = np.concatenate([np.full(len(rows), step), np.full(len(brows), big)])
        ub = np.concatenate([fine_ub, coarse_ub]) + _MARGIN
        bounds = np.stack([west, south, west + size, south + size, ub], axis=1)
        return shapely.box(west, south, west + size, south + size), bounds

    def _drop(self, cells: npt.NDArray[np.intp]) -> None:
        for table in (self._fine_map, self._coarse_map):
            table[np.isin(table, cells)] = -1

    def _foreign_lower_bounds(
        self, grid: CellGrid, foreign: TreeNearest, boxes: Any
    ) -> npt.NDArray[np.float64]:
        """Per kept cell, a lower bound (degrees) of the distance to any foreign boundary.

        Foreign boundaries are sampled every half block (points outside the grid are moved
        to its edge, which only brings them closer) and flag the blocks they fall in; a point
        ``k`` blocks (Chebyshev) from every flagged block is at least ``k - 1`` blocks from
        any sample and a quarter block less from the boundary between samples.
        """
        big = grid.step * _COARSE_FACTOR
        ny, nx = grid.shape
        cy, cx = -(-ny // _COARSE_FACTOR), -(-nx // _COARSE_FACTOR)
        coords = shapely.get_coordinates(shapely.segmentize(foreign.pieces, big / 2))
        col = np.clip(np.floor((coords[:, 0] - grid.west) / big), 0, cx - 1).astype(np.intp)
        row = np.clip(np.floor((coords[:, 1] - grid.south) / big), 0, cy - 1).astype(np.intp)
        flags = np.zeros((cy, cx), dtype=bool)
        flags[row, col] = True
        blocks = _chebyshev(flags, _FOREIGN_MAX_CELLS).astype(np.float64)
        lower = np.maximum(big * (np.minimum(blocks, _FOREIGN_MAX_CELLS + 1) - 1.25), 0.0)
        centres = shapely.get_coordinates(shapely.centroid(boxes))
        brow = np.floor((centres[:, 1] - grid.south) / big).astype(np.intp)
        bcol = np.floor((centres[:, 0] - grid.west) / big).astype(np.intp)
        result: npt.NDArray[np.float64] = lower[brow, bcol] - _MARGIN
        return result

    # --- per-call lookup --------------------------------------------------------------------

    def cell_of(self, lat: float, lon: float) -> int:
        """The kept cell holding the point, or -1 (then only the reference answers)."""
        col = int((lon - self._west) / self._step)
        row = int((lat - self._south) / self._step)
        if not (
            0 <= row < self._grid_ny
            and 0 <= col < self._grid_nx
            and lon >= self._west
            and lat >= self._south
        ):
            return -1
        cell = int(self._fine_map[row, col])
        if cell >= 0:
            return cell
        return int(self._coarse_map[row // _COARSE_FACTOR, col // _COARSE_FACTOR])

    def foreign_at(self, cell: int, lat: float, lon: float) -> int:
        """The foreign polygon holding the point (the reference's first in tree order), or -1."""
        first, end = self._foreign_offsets[cell], self._foreign_offsets[cell + 1]
        if first == end:
            return -1
        hits = shapely.intersects_xy(self._foreign_geoms[first:end], lon, lat)
        return int(self._foreign_members[first + hits.argmax()]) if hits.any() else -1

    def in_outline(self, cell: int, lat: float, lon: float) -> bool:
        """Whether the point is inside Natural Earth's outline of Türkiye."""
        state = int(self._outline_state[cell])
        if state != 2:
            return state == 1
        return bool(shapely.intersects_xy(self._outline, lon, lat))

    def foreign_beyond(self, cell: int, lat: float, within_km: float) -> bool:
        """True when surely no foreign boundary is within the reference's reach of the point."""
        return bool(self._foreign_lb[cell] > reach_degrees(lat, within_km) + _TOL_DEG)

    def nearest_district(
        self, cell: int, lat: float, lon: float, within_km: float
    ) -> tuple[int, float] | None:
        """(piece, km) as :meth:`TreeNearest.nearest` picks it, piece -1 when out of reach.

        ``km`` agrees with the reference to about 1e-12 km; ``None`` when a decision is too
        close to call (then ask the reference).
        """
        pieces = self._district_pieces[
            self._district_offsets[cell] : self._district_offsets[cell + 1]
        ]
        point = complex(lon, lat)
        cos_lat = cos_latitude(lat)
        if len(pieces) > _PRUNE_AT:
            gap = np.abs(self._disc_centre[pieces] - point)
            radius = self._disc_radius[pieces]
            upper = float((gap + radius).min())
            pieces = pieces[gap - radius <= upper / cos_lat + 1e-9 + 2 * _TOL_DEG + _MARGIN]
        seg = self._segments[pieces]
        off = point - seg[:, 0]
        step = seg[:, 1]
        t = (off.real * step.real + off.imag * step.imag) * seg[:, 2].real
        np.clip(t, 0.0, 1.0, out=t)
        away = off - t * step  # from the nearest point of each segment to the point
        dseg = np.abs(away)
        dist = dseg.min(axis=1)
        d_min = float(dist.min())
        reach = reach_degrees(lat, within_km)
        if abs(d_min - reach) <= _TOL_DEG:
            return None
        if d_min > reach:
            return -1, math.inf
        window = d_min / cos_lat + 1e-9
        chosen = np.flatnonzero(dist <= window + _TOL_DEG)
        if np.any(np.abs(dist[chosen] - window) <= _TOL_DEG):
            return None
        dseg, away = dseg[chosen], away[chosen]
        seg_best = dseg.argmin(axis=1)
        near = point - away[np.arange(len(chosen)), seg_best]
        tied = dseg <= (dist[chosen] + _TOL_DEG)[:, None]
        if np.count_nonzero(tied) > len(chosen) and np.any(
            tied & (np.abs(point - away - near[:, None]) > _SAME_POINT)
        ):
            return None  # two different points of one piece nearly tie
        if len(chosen) <= _SCALAR_KM:
            km = np.array([_haversine(lat, lon, z.imag, z.real) for z in near.tolist()])
        else:
            km = haversine_km(lat, lon, near.imag, near.real)
        best = int(km.argmin())
        close = np.flatnonzero(km <= km[best] + _TOL_KM)
        if len(close) > 1:
            owners = self._owners[pieces[chosen[close]]]
            if np.any(owners != owners[0]) or np.any(
                np.abs(near[close] - near[best]) > _SAME_POINT
            ):
                return None  # two pieces nearly tie: the reference's order decides
        return int(pieces[chosen[best]]), float(km[best])

    def district_owner(self, piece: int) -> int:
        """The district a boundary piece belongs to."""
        return int(self._owners[piece])

    def cells_kept(self) -> int:
        """How many cells have precomputed facts (for the benchmark)."""
        return int((self._fine_map >= 0).sum() + (self._coarse_map >= 0).sum())


def _tree_rank(tree: Any, n: int) -> npt.NDArray[np.int64]:
    """Each item's position in the tree's traversal order (the order its queries return)."""
    order = tree.query(shapely.box(-360.0, -180.0, 360.0, 180.0))
    rank = np.full(n, n, dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank
