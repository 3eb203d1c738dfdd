"""Hand-written fakes and helpers for the call-taking tests: a stepped clock, a plate table.

The locator places a few named test points by a table (no boundaries loaded); the clock
moves only when a test says so, so answer and wait times are exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.app.composition import compose
from dispatch.model.values import Placement
from tests.conftest import Database
from tests.dispatch.conftest import settings_for

Client = TestClient[web.Request, web.Application]

T0 = datetime(2025, 8, 3, 14, 0, tzinfo=UTC)

#: Test points: name -> (lat, lon, plate).
POINTS: dict[str, tuple[float, float, int]] = {
    "antalya": (36.8969, 30.7133, 7),
    "bodrum": (37.0344, 27.4305, 48),
    "istanbul": (41.0082, 28.9784, 34),
    "hatay": (36.2021, 36.1600, 31),
    "adana": (37.0000, 35.3213, 1),
    "kocaeli": (40.7654, 29.9408, 41),
}

CALL_TAKING = ("dispatch.call_taking_lifespan", "call_taking")
DESK_PACKAGE = ("language_desk.lifespan", "language_desk")


class SteppedClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = T0) -> None:
        self.at = start

    def now(self) -> datetime:
        """The current (controlled) time."""
        return self.at

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.at += timedelta(seconds=seconds)


class PlateLocator:
    """Places the test points of :data:`POINTS`; anything else is outside the service area."""

    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:  # noqa: ARG002
        """The plate of a known test point."""
        for name, (p_lat, p_lon, plate) in POINTS.items():
            if abs(lat - p_lat) < 1e-6 and abs(lon - p_lon) < 1e-6:
                return Placement(in_service_area=True, at_sea=False, plate=plate, province=name)
        return Placement(in_service_area=False, at_sea=False)


def location(name: str) -> dict[str, float]:
    """The JSON location of a test point."""
    lat, lon, _ = POINTS[name]
    return {"lat": lat, "lon": lon, "radius_m": 30.0}


def app_for(
    database: Database,
    clock: SteppedClock,
    *,
    packages: tuple[tuple[str, str], ...] = (CALL_TAKING,),
    call_taking: dict[str, Any] | None = None,
    language_desk: dict[str, Any] | None = None,
) -> web.Application:
    """The composed application with only the given packages, the fake locator and clock."""
    settings = settings_for(
        database,
        call_taking={"neighbours": {}, **(call_taking or {})},
        language_desk=language_desk or {},
    )
    return compose(settings, clock=clock, locator=PlateLocator(), packages=packages)


async def post_call(client: Client, **body: Any) -> dict[str, Any]:
    """Post a call; returns the acknowledgement (call and incident ids)."""
    response = await client.post("/api/v1/calls", json={"channel": "phone", **body})
    assert response.status == 202, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def operator(
    client: Client, name: str, action: str, body: Any = None, status: int | None = None
) -> dict[str, Any]:
    """Post an operator command; checks the status when given (2xx otherwise)."""
    response = await client.post(f"/api/v1/operators/{name}/{action}", json=body)
    data: dict[str, Any] = await response.json()
    if status is not None:
        assert response.status == status, data
    else:
        assert response.status < 300, data
    return data


async def on_shift(client: Client, name: str, centre: str, skills: list[str]) -> None:
    """Log an operator in and make them ready."""
    await operator(client, name, "login", {"centre": centre, "skills": skills})
    await operator(client, name, "ready")


async def take(client: Client, name: str) -> dict[str, Any] | None:
    """The operator takes the next call and answers it; returns the call (or None)."""
    call: dict[str, Any] | None = (await operator(client, name, "next"))["call"]
    if call is not None:
        await operator(client, name, "answer")
    return call


async def queue(client: Client, centre: str) -> dict[str, Any]:
    """The queue of one centre."""
    response = await client.get("/api/v1/queues", params={"centre": centre})
    assert response.status == 200
    data: dict[str, Any] = (await response.json())["centres"][0]
    return data
