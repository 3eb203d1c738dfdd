"""Helpers shared by the units, hand-off and duplicate tests (no tests of its own).

A controlled clock, a fake Locator that places every point in Rize (province 53, police
ground), and an application with only the units package installed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.app.composition import compose
from dispatch.model.values import Placement
from dispatch.model.vocabulary import Ground
from tests.conftest import Database
from tests.dispatch.conftest import settings_for

Client = TestClient[web.Request, web.Application]

UNITS_PACKAGE = (("dispatch.units_lifespan", "units"),)


class ControlledClock:
    """A clock that moves only when the test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2025, 2, 6, 1, 17, tzinfo=UTC)

    def now(self) -> datetime:
        """The controlled time."""
        return self.at

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new time."""
        self.at += timedelta(seconds=seconds)
        return self.at


class RizeLocator:
    """Every point is in Rize's centre district, on police ground."""

    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:  # noqa: ARG002
        """Rize, merkez, police ground."""
        return Placement(
            in_service_area=True,
            at_sea=False,
            plate=53,
            province="Rize",
            district_code="53-merkez",
            district="Merkez",
            ground=Ground.POLICE,
        )


def units_app(
    database: Database,
    clock: ControlledClock,
    *,
    section: dict[str, Any] | None = None,
    **overrides: object,
) -> web.Application:
    """An ng112 application with the units package, a controlled clock and Rize placement."""
    settings = settings_for(database, units=section or {}, **overrides)
    return compose(settings, clock=clock, locator=RizeLocator(), packages=UNITS_PACKAGE)


def unit_body(
    unit_id: str, lat: float, lon: float, kind: str = "ambulance", agency: str = "health"
) -> dict[str, object]:
    """What ``POST /api/v1/units`` takes to register a unit of Rize's centre."""
    return {
        "unit_id": unit_id,
        "kind": kind,
        "agency": agency,
        "centre": "53",
        "callsign": unit_id.upper(),
        "home": {"lat": lat, "lon": lon},
    }


async def post(client: Client, path: str, body: Any, status: int | None = None) -> Any:
    """POST JSON and return the answer's JSON (checking the status if given)."""
    response = await client.post(path, json=body)
    answer = await response.json()
    if status is not None:
        assert response.status == status, answer
    return answer


async def get(client: Client, path: str, status: int = 200) -> Any:
    """GET JSON and return it, checking the status."""
    response = await client.get(path)
    answer = await response.json()
    assert response.status == status, answer
    return answer


async def open_incident(
    client: Client,
    *,
    lat: float,
    lon: float,
    text: str = "yaşlı adam fenalaştı",
    agencies: tuple[str, ...] = ("health",),
    incident_type: str = "medical.sick_person",
    classify: bool = True,
) -> str:
    """A call, classified by the call-taker with these agencies; returns the incident id."""
    call = await post(
        client,
        "/api/v1/calls",
        {"channel": "phone", "text": text, "location": {"lat": lat, "lon": lon, "radius_m": 20}},
        202,
    )
    incident_id: str = call["incident_id"]
    if classify:
        await post(
            client,
            f"/api/v1/incidents/{incident_id}/actions",
            {
                "action": "classify",
                "incident_type": incident_type,
                "priority": 2,
                "agencies": list(agencies),
            },
            200,
        )
    return incident_id


async def timeline(client: Client, incident_id: str) -> list[dict[str, Any]]:
    """The incident's timeline as the API shows it."""
    body = await get(client, f"/api/v1/incidents/{incident_id}")
    events: list[dict[str, Any]] = body["timeline"]
    return events
