"""Wiring ``routing`` into the engine: the gazetteer as the engine's Locator, and its routes.

``routing`` imports nothing of ours, so the adapter from its ``LocateResult`` to the
domain's :class:`~dispatch.model.Placement` lives here, in the composition root. The
boundaries are loaded once at start, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from dispatch.adapters.http import (
    ENGINE,
    OPENAPI_PATHS,
    READY,
    ApiError,
    json_response,
    principal_of,
)
from dispatch.model.values import Placement
from dispatch.model.vocabulary import Ground
from routing import Gazetteer, InvalidCoordinates, InvalidRadius, LocateResult, RoutingSettings

logger = logging.getLogger(__name__)

GAZETTEER = web.AppKey("gazetteer", Gazetteer)

_GROUNDS = {g.value: g for g in Ground}


def placement_of(result: LocateResult) -> Placement:
    """The domain's placement of a routing result.

    At sea the case belongs to the nearest coastal province's centre, so ``plate`` is that
    province; abroad there is no plate (the receiving centre keeps the call).
    """
    province = result.province or (result.nearest_province if result.at_sea else None)
    return Placement(
        in_service_area=result.in_service_area,
        at_sea=result.at_sea,
        plate=province.plate if province else None,
        province=province.name if province else None,
        district_code=result.district.code if result.district else None,
        district=result.district.name if result.district else None,
        ground=_GROUNDS[result.ground.value] if result.ground else None,
        snapped_km=result.snapped_km,
    )


class GazetteerLocator:
    """The engine's Locator port over a loaded :class:`routing.Gazetteer`."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer

    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:
        """Where the point falls, as the domain sees it."""
        return placement_of(self.gazetteer.locate(lat, lon, radius_m))


def _float(request: web.Request, name: str, *, required: bool) -> float | None:
    text = request.query.get(name)
    if text is None or text == "":
        if required:
            raise ApiError(400, "invalid_query", f"{name} is required")
        return None
    try:
        return float(text)
    except ValueError:
        raise ApiError(400, "invalid_query", f"{name} must be a number") from None


async def locate(request: web.Request) -> web.Response:
    """``GET /api/v1/locate?lat=&lon=&radius_m=``: the same JSON as ``ng112 locate``."""
    principal_of(request)
    lat = _float(request, "lat", required=True)
    lon = _float(request, "lon", required=True)
    radius = _float(request, "radius_m", required=False)
    assert lat is not None  # noqa: S101 - required above
    assert lon is not None  # noqa: S101
    try:
        result = request.app[GAZETTEER].locate(lat, lon, radius)
    except (InvalidCoordinates, InvalidRadius) as exc:
        raise ApiError(422, "invalid_coordinates", str(exc)) from None
    return json_response(result.to_json_dict())


async def provinces(request: web.Request) -> web.Response:
    """``GET /api/v1/provinces``: plate, name, centre and coast of the 81 provinces."""
    principal_of(request)
    body = [
        {
            "plate": p.plate,
            "name": p.name,
            "centre": {"lat": p.centre_lat, "lon": p.centre_lon},
            "coastal": p.coastal,
            "metropolitan": p.metropolitan,
        }
        for p in request.app[GAZETTEER].provinces()
    ]
    return json_response({"provinces": body})


async def province_boundaries(request: web.Request) -> web.Response:
    """``GET /api/v1/boundaries/provinces``: simplified GeoJSON for the map's base layer."""
    return web.Response(
        body=request.app[GAZETTEER].province_geojson(),
        content_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def district_boundaries(request: web.Request) -> web.Response:
    """``GET /api/v1/boundaries/districts[?province=NN]``: district GeoJSON."""
    gazetteer = request.app[GAZETTEER]
    text = request.query.get("province")
    if text is None:
        return web.Response(
            body=gazetteer.district_geojson(),
            content_type="application/geo+json",
            headers={"Cache-Control": "public, max-age=3600"},
        )
    try:
        plate = int(text)
    except ValueError:
        raise ApiError(400, "invalid_query", "province must be a plate code 1..81") from None
    if not 1 <= plate <= 81:
        raise ApiError(400, "invalid_query", "province must be a plate code 1..81")
    cache: dict[int, bytes] = request.app[_DISTRICT_CACHE]
    if plate not in cache:
        collection: dict[str, Any] = orjson.loads(gazetteer.district_geojson())
        collection["features"] = [
            f for f in collection["features"] if f["properties"].get("plate") == plate
        ]
        cache[plate] = orjson.dumps(collection)
    return web.Response(
        body=cache[plate],
        content_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


_DISTRICT_CACHE = web.AppKey("district_cache", dict[int, bytes])


def install(app: web.Application, section: dict[str, Any]) -> None:
    """Load the gazetteer at start and add the routing routes."""
    settings = RoutingSettings.model_validate(section)
    app[_DISTRICT_CACHE] = {}
    app[READY]["boundaries"] = False

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        started = time.perf_counter()
        gazetteer = await asyncio.to_thread(Gazetteer.from_settings, settings)
        app[GAZETTEER] = gazetteer
        app[ENGINE].locator = GazetteerLocator(gazetteer)
        app[READY]["boundaries"] = True
        logger.info(
            "boundaries loaded from %s in %.2f s", gazetteer.source, time.perf_counter() - started
        )
        yield

    app.cleanup_ctx.append(lifespan)
    app.router.add_get("/api/v1/locate", locate)
    app.router.add_get("/api/v1/provinces", provinces)
    app.router.add_get("/api/v1/boundaries/provinces", province_boundaries)
    app.router.add_get("/api/v1/boundaries/districts", district_boundaries)
    OPENAPI_PATHS["/api/v1/locate"] = {
        "get": {
            "summary": "Province, district, sea and ground of a point",
            "parameters": [
                {
                    "name": n,
                    "in": "query",
                    "required": n != "radius_m",
                    "schema": {"type": "number"},
                }
                for n in ("lat", "lon", "radius_m")
            ],
            "responses": {"200": {"description": "where the point falls"}},
        }
    }
    OPENAPI_PATHS["/api/v1/boundaries/provinces"] = {
        "get": {
            "summary": "Province boundaries (GeoJSON)",
            "responses": {"200": {"description": "GeoJSON"}},
        }
    }
    OPENAPI_PATHS["/api/v1/boundaries/districts"] = {
        "get": {
            "summary": "District boundaries (GeoJSON)",
            "responses": {"200": {"description": "GeoJSON"}},
        }
    }
