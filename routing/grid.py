"""A regular lon/lat grid that answers most point lookups with one array read.

Each cell of the grid holds either the index of the one polygon that contains the whole cell
(``>= 0``), :data:`EMPTY` when no polygon touches the cell, or a *mixed* marker ``-2 - k``
whose candidates (the polygons that touch the cell) are ``candidates[offsets[k]:offsets[k+1]]``.
A lookup in a pure or empty cell is exact without any geometry test; a mixed cell needs a
point-in-polygon test against its few candidates. The grid is computed once, when the data
is built, and stored with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["EMPTY", "CellGrid", "build_grid"]

#: Cell value: no polygon touches this cell.
EMPTY = -1

IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True, kw_only=True)
class CellGrid:
    """Cell codes over ``[west, west + nx*step) x [south, south + ny*step)``, row-major by y."""

    west: float
    south: float
    step: float
    cells: IntArray  # shape (ny, nx)
    offsets: IntArray  # mixed cell k: candidates[offsets[k]:offsets[k + 1]]
    candidates: IntArray

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx)."""
        ny, nx = self.cells.shape
        return int(ny), int(nx)

    def cell_index(self, lat: float, lon: float) -> tuple[int, int] | None:
        """The (row, column) of the cell holding the point, or ``None`` outside the grid."""
        col = int((lon - self.west) / self.step)
        row = int((lat - self.south) / self.step)
        ny, nx = self.cells.shape
        if lon < self.west or lat < self.south or col >= nx or row >= ny:
            return None
        return row, col


def build_grid(
    geoms: Any, *, west: float, south: float, east: float, north: float, step: float
) -> CellGrid:
    """Classify every cell of the box against ``geoms`` (an array of polygons, no overlaps)."""
    nx = int(np.ceil((east - west) / step))
    ny = int(np.ceil((north - south) / step))
    xs = west + np.arange(nx) * step
    ys = south + np.arange(ny) * step
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + step, gy.ravel() + step)
    tree = shapely.STRtree(geoms)
    shapely.prepare(geoms)
    pairs = tree.query(boxes, predicate="intersects")
    order = np.lexsort((pairs[1], pairs[0]))
    box_of, geom_of = pairs[0][order], pairs[1][order]
    counts = np.bincount(box_of, minlength=len(boxes))
    cells = np.full(len(boxes), EMPTY, dtype=np.int32)
    single = np.flatnonzero(counts == 1)
    first = np.searchsorted(box_of, single)
    single_geom = geom_of[first]
    pure = shapely.contains_properly(geoms[single_geom], boxes[single])
    cells[single[pure]] = single_geom[pure]
    mixed = np.flatnonzero(
        (counts > 1) | ((counts == 1) & ~np.isin(np.arange(len(boxes)), single[pure]))
    )
    starts = np.searchsorted(box_of, mixed)
    lengths = counts[mixed]
    offsets = np.zeros(len(mixed) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum(lengths)
    take = np.repeat(starts, lengths) + (np.arange(offsets[-1]) - np.repeat(offsets[:-1], lengths))
    candidates = geom_of[take].astype(np.int32)
    cells[mixed] = -2 - np.arange(len(mixed), dtype=np.int32)
    return CellGrid(
        west=west,
        south=south,
        step=step,
        cells=cells.reshape(ny, nx),
        offsets=offsets,
        candidates=candidates,
    )
