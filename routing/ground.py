"""Whose ground is it: police (urban) or gendarmerie (the rest) on land; coast guard at sea.

In Türkiye the police serve cities and towns (province and district seats and the built-up
areas of municipalities) and the gendarmerie serves everything else. No free official map of
the responsibility areas exists, so the default model is an approximation built from registry
data when ``routing/data`` is built (:class:`routing.build_data.BuildParams`): discs around
every GeoNames place of at least 10,000 inhabitants, sized so that the disc's area holds the
place's population at 3,000 inhabitants/km² (1–30 km), and a disc of at least 2 km around the
largest place of every district (its seat). The discs are merged into polygons and stored with
a grid so that most lookups are one array read.

A deployment that has the real responsibility areas points its settings at a GeoJSON,
GeoPackage or Shapefile whose polygons carry ``ground`` = ``police`` | ``gendarmerie``; those
polygons win wherever they exist, and the approximation answers elsewhere.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["Ground", "GroundModel"]


class Ground(enum.StrEnum):
    """The agency whose ground a place is (the values match ``dispatch``'s vocabulary)."""

    POLICE = "police"
    GENDARMERIE = "gendarmerie"
    COAST_GUARD = "coast_guard"


_CELL_GENDARMERIE = 0
_CELL_POLICE = 1


class GroundModel:
    """Answers police or gendarmerie for a point on land; built once at start."""

    __slots__ = (
        "_cells",
        "_override_ground",
        "_override_tree",
        "_overrides",
        "_police",
        "_police_tree",
        "_south",
        "_step",
        "_west",
    )

    def __init__(
        self,
        *,
        police: Any,
        cells: npt.NDArray[np.int8] | None = None,
        grid_origin: tuple[float, float, float] | None = None,
        overrides: Any = None,
        override_grounds: Sequence[Ground] = (),
    ) -> None:
        """``police``: urban polygons; ``cells``: optional precomputed grid (0, 1, 2 = mixed)."""
        self._police = np.asarray(police, dtype=object)
        shapely.prepare(self._police)
        self._police_tree = shapely.STRtree(self._police)
        self._cells = cells
        west, south, step = grid_origin or (0.0, 0.0, 1.0)
        self._west, self._south, self._step = west, south, step
        if overrides is not None and len(overrides):
            self._overrides: Any = np.asarray(overrides, dtype=object)
            shapely.prepare(self._overrides)
            self._override_tree: Any = shapely.STRtree(self._overrides)
            self._override_ground: tuple[Ground, ...] = tuple(override_grounds)
        else:
            self._overrides = None
            self._override_tree = None
            self._override_ground = ()

    @property
    def has_overrides(self) -> bool:
        """Whether a deployment's own responsibility polygons are loaded."""
        return self._overrides is not None

    def ground_at(self, lat: float, lon: float) -> Ground:
        """Police or gendarmerie for a point on Turkish land (the caller checked the land)."""
        if self._override_tree is not None:
            point = shapely.Point(lon, lat)
            for k in self._override_tree.query(point):
                if shapely.intersects_xy(self._overrides[k], lon, lat):
                    ground: Ground = self._override_ground[k]
                    return ground
        cells = self._cells
        if cells is not None:
            row = int((lat - self._south) / self._step)
            col = int((lon - self._west) / self._step)
            ny, nx = cells.shape
            if 0 <= row < ny and 0 <= col < nx and lat >= self._south and lon >= self._west:
                value = cells[row, col]
                if value == _CELL_POLICE:
                    return Ground.POLICE
                if value == _CELL_GENDARMERIE:
                    return Ground.GENDARMERIE
        for k in self._police_tree.query(shapely.Point(lon, lat)):
            if shapely.intersects_xy(self._police[k], lon, lat):
                return Ground.POLICE
        return Ground.GENDARMERIE

    def police_mask(
        self, lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """Vectorised: whether each point falls in an urban (police) polygon of the model."""
        pairs = self._police_tree.query(shapely.points(lons, lats))
        hit = shapely.intersects_xy(self._police[pairs[1]], lons[pairs[0]], lats[pairs[0]])
        mask = np.zeros(len(lats), dtype=bool)
        mask[pairs[0][hit]] = True
        return mask
