"""Installing call-taking in the engine: its settings table, its fold and its routes.

``[call_taking]`` settings (all optional)::

    max_waiting = 1000          # calls one centre holds before overflowing
    overload_depth = 20         # deeper than this counts as overloaded for new calls
    max_rings = 2               # neighbours, then neighbours of neighbours
    fallback_order = ["en"]     # languages to fall back to when nobody speaks the caller's
    nuisance_threshold = 3      # unfounded calls from one number that flag its next call
    nuisance_window_s = 86400
    neighbours = {"31" = ["01", "80", "27"], ...}   # overflow targets, best first

Neighbours. A ``neighbours`` table in the settings is used as given (one entry per centre
it names; others have none). Without one, the neighbours are computed at install time
from the province boundaries that ``routing`` ships (``routing/data/provinces.geojson``,
the polygons the gazetteer loads): provinces whose outlines touch, nearest centroid
first. They are computed before the log is replayed, so replay and live decisions use the
same map (the gazetteer itself loads later, in its own lifespan). With neither, a centre
has no neighbours and an out-of-service centre's calls go to the least loaded centre in
reach or wait at home (``dispatch.core.overflow``).
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dispatch.adapters.call_taking_http import add_routes
from dispatch.call_taking import CallTaking, CallTakingFold, CallTakingSettings
from dispatch.core.call_queue import check_language
from dispatch.model.centres import CENTRAL_DESK, is_known_centre, provincial_centre
from dispatch.model.ids import CentreId

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aiohttp import web

    from dispatch.ports import PackageContext

logger = logging.getLogger(__name__)


def _default_boundaries() -> Path | None:
    try:
        from routing.layout import DEFAULT_DATA_DIR  # noqa: PLC0415 - optional data
    except ImportError:  # pragma: no cover - routing is part of the distribution
        return None
    return DEFAULT_DATA_DIR / "provinces.geojson"


class CallTakingSection(BaseModel):
    """The ``[call_taking]`` settings table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_waiting: int = Field(default=1_000, ge=1, le=1_000_000)
    overload_depth: int = Field(default=20, ge=0)
    max_rings: int = Field(default=2, ge=1, le=10)
    fallback_order: tuple[str, ...] = ("en",)
    home_language: str = "tr"
    nuisance_threshold: int = Field(default=3, ge=1)
    nuisance_window_s: float = Field(default=86_400.0, gt=0)
    neighbours: dict[str, list[str]] | None = None
    boundaries: Path | None = None
    """Province GeoJSON to compute neighbours from (default: routing's built data)."""

    @field_validator("fallback_order")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            check_language(code)
        return value

    @field_validator("neighbours")
    @classmethod
    def _centres(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is None:
            return None
        for centre, around in value.items():
            if not is_known_centre(centre) or not all(is_known_centre(c) for c in around):
                msg = "neighbours name centres by plate code 01..81 or 'central'"
                raise ValueError(msg)
        return value

    def to_settings(self) -> CallTakingSettings:
        """The service's settings, with the neighbour map resolved."""
        if self.neighbours is not None:
            neighbours = {
                CentreId(c): tuple(CentreId(n) for n in around)
                for c, around in self.neighbours.items()
            }
        else:
            path = self.boundaries or _default_boundaries()
            neighbours = dict(province_neighbours(path)) if path is not None else {}
        return CallTakingSettings(
            max_waiting=self.max_waiting,
            overload_depth=self.overload_depth,
            max_rings=self.max_rings,
            fallback_order=self.fallback_order,
            home_language=check_language(self.home_language),
            neighbours=neighbours,
            nuisance_threshold=self.nuisance_threshold,
            nuisance_window=timedelta(seconds=self.nuisance_window_s),
        )


@functools.cache
def province_neighbours(path: Path) -> Mapping[CentreId, tuple[CentreId, ...]]:
    """Centres of provinces whose outlines touch (within ~1 km), nearest centroid first.

    ``path`` is a GeoJSON FeatureCollection with a ``plate`` property per province. A
    missing or unreadable file gives an empty map (logged): overflow then has no neighbours.
    """
    try:
        collection = json.loads(path.read_bytes())
        plates = [int(f["properties"]["plate"]) for f in collection["features"]]
        geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in collection["features"]]
    except (OSError, ValueError, KeyError, TypeError, shapely.errors.GEOSException):
        logger.warning("no province boundaries for overflow neighbours at %s", path)
        return {}
    tree = shapely.STRtree(geoms)
    centroids = [g.centroid for g in geoms]
    result: dict[CentreId, tuple[CentreId, ...]] = {}
    for index, geom in enumerate(geoms):
        touching = [
            int(j) for j in tree.query(geom.buffer(0.01), predicate="intersects") if int(j) != index
        ]
        touching.sort(key=lambda j: centroids[index].distance(centroids[j]))
        if 1 <= plates[index] <= 81:
            result[provincial_centre(plates[index])] = tuple(
                provincial_centre(plates[j]) for j in touching if 1 <= plates[j] <= 81
            )
    return result


def install(app: web.Application, context: PackageContext) -> None:
    """Build the fold (subscribed before the log is replayed) and add the routes."""
    section = CallTakingSection.model_validate(dict(context.section))
    settings = section.to_settings()
    fold = CallTakingFold(settings)
    service = CallTaking(context.engine, fold)
    service.subscribe()
    add_routes(app, service)
    logger.info(
        "call-taking installed: %d centres with neighbours, central desk %s",
        len(settings.neighbours),
        CENTRAL_DESK,
    )
