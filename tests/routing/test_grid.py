"""The lookup grid: pure cells, empty cells and mixed cells with their candidates."""

from __future__ import annotations

import numpy as np
import shapely

from routing.grid import EMPTY, build_grid


def test_two_squares() -> None:
    """Cells inside one square are pure, cells on the shared edge are mixed, outside empty."""
    geoms = np.asarray([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], dtype=object)
    grid = build_grid(geoms, west=-0.5, south=-0.5, east=2.5, north=1.5, step=0.25)
    assert grid.shape == (8, 12)
    row, col = grid.cell_index(0.5, 0.4) or (-1, -1)
    assert grid.cells[row, col] == 0
    row, col = grid.cell_index(0.5, 1.6) or (-1, -1)
    assert grid.cells[row, col] == 1
    row, col = grid.cell_index(1.3, 0.5) or (-1, -1)
    assert grid.cells[row, col] == EMPTY
    # The column [1.0, 1.25) starts on the shared edge: both squares touch it.
    row, col = grid.cell_index(0.5, 1.1) or (-1, -1)
    value = int(grid.cells[row, col])
    assert value <= -2
    k = -value - 2
    assert sorted(grid.candidates[grid.offsets[k] : grid.offsets[k + 1]].tolist()) == [0, 1]
    assert grid.cell_index(5.0, 5.0) is None
    assert grid.cell_index(-1.0, 0.0) is None


def test_every_cell_is_classified_correctly() -> None:
    """Pure cells lie inside their polygon, empty cells touch none, mixed list all touching."""
    geoms = np.asarray(
        [shapely.Point(0, 0).buffer(1.0), shapely.Point(2.2, 0).buffer(0.7)], dtype=object
    )
    grid = build_grid(geoms, west=-1.5, south=-1.5, east=3.5, north=1.5, step=0.1)
    ny, nx = grid.shape
    for row in range(ny):
        for col in range(nx):
            box = shapely.box(
                grid.west + col * grid.step,
                grid.south + row * grid.step,
                grid.west + (col + 1) * grid.step,
                grid.south + (row + 1) * grid.step,
            )
            value = int(grid.cells[row, col])
            # Floating-point edges: compare against a slightly shrunk and a grown box.
            inner = [k for k in range(2) if geoms[k].intersects(box.buffer(-1e-9))]
            outer = [k for k in range(2) if geoms[k].intersects(box.buffer(1e-9))]
            if value >= 0:
                assert geoms[value].contains(box.buffer(-1e-9))
            elif value == EMPTY:
                assert inner == []
            else:
                k = -value - 2
                listed = sorted(grid.candidates[grid.offsets[k] : grid.offsets[k + 1]].tolist())
                assert set(inner) <= set(listed) <= set(outer)
