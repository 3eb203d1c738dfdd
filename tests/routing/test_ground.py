"""The ground model: urban polygons are police, the rest gendarmerie; overrides win."""

from __future__ import annotations

import numpy as np
import shapely

from routing.ground import Ground, GroundModel

TOWN = shapely.Point(30.0, 40.0).buffer(0.05)


def test_polygons_without_grid() -> None:
    """Inside an urban polygon is police, outside gendarmerie."""
    model = GroundModel(police=[TOWN])
    assert model.ground_at(40.0, 30.0) is Ground.POLICE
    assert model.ground_at(40.2, 30.0) is Ground.GENDARMERIE
    assert not model.has_overrides


def test_grid_cells_decide_before_polygons() -> None:
    """Pure grid cells answer directly; mixed cells (2) fall back to the polygons."""
    cells = np.asarray([[1, 2], [0, 2]], dtype=np.int8)  # rows by latitude, columns by longitude
    model = GroundModel(police=[TOWN], cells=cells, grid_origin=(29.9, 39.9, 0.1))
    assert model.ground_at(39.95, 29.95) is Ground.POLICE  # pure police cell
    assert model.ground_at(40.05, 29.95) is Ground.GENDARMERIE  # pure gendarmerie cell
    assert model.ground_at(40.0, 30.01) is Ground.POLICE  # mixed: inside the town
    assert model.ground_at(40.09, 30.09) is Ground.GENDARMERIE  # mixed: outside the town
    assert model.ground_at(45.0, 35.0) is Ground.GENDARMERIE  # off the grid: polygons


def test_overrides_win() -> None:
    """A deployment's polygons win over the approximation, in both directions."""
    model = GroundModel(
        police=[TOWN],
        overrides=[shapely.Point(30.0, 40.0).buffer(0.01), shapely.box(31, 40, 32, 41)],
        override_grounds=(Ground.GENDARMERIE, Ground.POLICE),
    )
    assert model.has_overrides
    assert model.ground_at(40.0, 30.0) is Ground.GENDARMERIE
    assert model.ground_at(40.03, 30.0) is Ground.POLICE
    assert model.ground_at(40.5, 31.5) is Ground.POLICE


def test_police_mask() -> None:
    """The vectorised mask agrees with single lookups."""
    model = GroundModel(police=[TOWN])
    lats = np.asarray([40.0, 40.2, 40.04])
    lons = np.asarray([30.0, 30.0, 30.0])
    assert model.police_mask(lats, lons).tolist() == [True, False, True]
