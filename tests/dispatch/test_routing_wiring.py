"""Routing wired into the engine: calls are placed in il/ilçe, /api/v1/locate answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.app.composition import compose
from tests.conftest import Database
from tests.dispatch.conftest import settings_for

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[Client]], database: Database) -> Client:
    """The app with the real boundaries and no other package."""
    settings = settings_for(database, load_boundaries=True)
    return await aiohttp_client(compose(settings, packages=()))


@pytest.mark.parametrize(
    "place",
    [
        (41.0340, 28.9770, 34, "34", "Beyoğlu"),  # Taksim
        (38.4192, 27.1287, 35, "35", "Konak"),  # İzmir clock tower
        (37.0017, 35.3289, 1, "01", "Seyhan"),  # Adana
    ],
)
async def test_a_call_lands_at_its_provinces_centre(
    client: Client, place: tuple[float, float, int, str, str]
) -> None:
    """A call's incident is placed in its il and ilçe and handled by that province's centre."""
    lat, lon, plate, centre, district = place
    response = await client.post(
        "/api/v1/calls", json={"channel": "phone", "location": {"lat": lat, "lon": lon}}
    )
    body = await response.json()
    incident = await (await client.get(f"/api/v1/incidents/{body['incident_id']}")).json()
    assert incident["placement"]["plate"] == plate
    assert incident["placement"]["district"] == district
    assert incident["centre"] == centre


async def test_at_sea_the_nearest_coastal_province_takes_the_case(client: Client) -> None:
    """A call from the middle of the Sea of Marmara goes to a coastal province's centre."""
    response = await client.post(
        "/api/v1/calls", json={"channel": "phone", "location": {"lat": 40.75, "lon": 28.2}}
    )
    body = await response.json()
    incident = await (await client.get(f"/api/v1/incidents/{body['incident_id']}")).json()
    assert incident["placement"]["at_sea"] is True
    assert incident["placement"]["ground"] == "coast_guard"
    assert incident["placement"]["plate"] in {34, 59, 77, 16, 10, 41}
    assert incident["centre"] == f"{incident['placement']['plate']:02d}"


async def test_abroad_stays_with_the_receiving_centre(client: Client) -> None:
    """A point in Greece is outside the service area and stays at the central desk."""
    response = await client.post(
        "/api/v1/calls", json={"channel": "phone", "location": {"lat": 39.1, "lon": 26.55}}
    )
    body = await response.json()
    incident = await (await client.get(f"/api/v1/incidents/{body['incident_id']}")).json()
    assert incident["placement"]["in_service_area"] is False
    assert incident["centre"] == "central"


async def test_locate_endpoint_and_its_errors(client: Client) -> None:
    """GET /api/v1/locate returns the CLI's JSON; impossible coordinates are a precise 4xx."""
    body = await (
        await client.get("/api/v1/locate", params={"lat": "39.92", "lon": "32.85"})
    ).json()
    assert body["province"] == {"plate": 6, "name": "Ankara"}
    assert body["in_service_area"] is True
    assert set(body) == {
        "in_service_area",
        "at_sea",
        "province",
        "district",
        "nearest_province",
        "snapped_km",
        "ground",
    }
    bad = await client.get("/api/v1/locate", params={"lat": "91", "lon": "30"})
    assert bad.status == 422
    assert "latitude" in (await bad.json())["error"]["reason"]
    missing = await client.get("/api/v1/locate", params={"lat": "39"})
    assert missing.status == 400
    nan = await client.get("/api/v1/locate", params={"lat": "nan", "lon": "30"})
    assert nan.status == 422


async def test_boundaries_for_the_map(client: Client) -> None:
    """The map's base layer: 81 provinces, and a province's districts on request."""
    provinces = await (await client.get("/api/v1/boundaries/provinces")).json()
    assert len(provinces["features"]) == 81
    districts = await (
        await client.get("/api/v1/boundaries/districts", params={"province": "34"})
    ).json()
    assert len(districts["features"]) == 39
    assert all(f["properties"]["plate"] == 34 for f in districts["features"])
    assert (
        await client.get("/api/v1/boundaries/districts", params={"province": "99"})
    ).status == 400


async def test_an_operator_places_an_unplaced_incident(client: Client) -> None:
    """A case without a position stays central until an operator's pin hands it to a province."""
    body = await (await client.post("/api/v1/calls", json={"channel": "phone"})).json()
    url = f"/api/v1/incidents/{body['incident_id']}"
    assert (await (await client.get(url)).json())["centre"] == "central"
    response = await client.post(
        f"{url}/actions", json={"action": "place", "location": {"lat": 39.7767, "lon": 30.5206}}
    )
    assert response.status == 200
    incident = await (await client.get(url)).json()
    assert incident["centre"] == "26"  # Eskişehir
    assert incident["location"]["source"] == "operator_pin"
    assert incident["timeline"][-1]["event_type"] == "incident_placed"
    assert incident["timeline"][-1]["data"]["previous_centre"] == "central"
    missing = await client.post(f"{url}/actions", json={"action": "place"})
    assert missing.status == 409
