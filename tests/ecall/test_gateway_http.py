"""eCall over HTTP: ``POST /api/v1/ecall`` in both content types, bad input, the track view.

The real application (``compose`` with only the ecall package, no broker) through
aiohttp's test client, on SQLite and PostgreSQL; the locator is a hand-written fake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.adapters.http import ENGINE
from dispatch.app.composition import compose
from dispatch.app.settings import Settings
from dispatch.model.values import Placement
from dispatch.model.vocabulary import Ground
from ecall.bench_ingest import fleet_msd, vin_for
from tests.conftest import Database

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]
OCTETS = {"Content-Type": "application/octet-stream"}


class FakeLocator:
    """Every point is in Konya (plate 42) on gendarmerie ground."""

    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:
        del lat, lon, radius_m
        return Placement(
            in_service_area=True,
            at_sea=False,
            plate=42,
            province="Konya",
            ground=Ground.GENDARMERIE,
        )


@pytest.fixture
async def client(aiohttp_client: ClientFactory, database: Database) -> Client:
    """The ecall-only application without a broker (HTTP ingest only)."""
    settings = Settings(
        db=database.url,
        db_schema=database.schema,
        embedded_broker=False,
        load_boundaries=False,
    )
    app = compose(settings, locator=FakeLocator(), packages=(("ecall.lifespan", "ecall"),))
    return await aiohttp_client(app)


async def post_octets(client: Client, data: bytes, **headers: str) -> tuple[int, Any]:
    async with client.post("/api/v1/ecall", data=data, headers={**OCTETS, **headers}) as response:
        return response.status, await response.json()


async def test_octet_stream_and_json_are_the_same_call(client: Client) -> None:
    """Binary and {"msd_hex"} bodies: 202 after commit; the same MSD again is a duplicate."""
    vin = vin_for(500)
    status, first = await post_octets(client, fleet_msd(vin))
    assert status == 202
    assert first["status"] == "accepted"
    assert first["message_identifier"] == 1
    async with client.post("/api/v1/ecall", json={"msd_hex": fleet_msd(vin).hex()}) as response:
        assert response.status == 202
        again = await response.json()
    assert again["status"] == "duplicate"
    assert (again["call_id"], again["incident_id"]) == (first["call_id"], first["incident_id"])
    spaced = " ".join(f"{octet:02X}" for octet in fleet_msd(vin, 2))
    async with client.post("/api/v1/ecall", json={"msd_hex": spaced}) as response:
        assert response.status == 202
        assert (await response.json())["status"] == "updated"
    async with client.get(f"/api/v1/incidents/{first['incident_id']}") as response:
        incident = await response.json()
    assert incident["centre"] == "42"
    assert incident["agencies"] == ["health", "gendarmerie"]
    assert client.app[ENGINE].state.calls[first["call_id"]].centre == "central"


async def test_test_call_over_http(client: Client) -> None:
    """A test call answers 202 "test" and opens no incident."""
    status, body = await post_octets(client, fleet_msd(vin_for(501), test_call=True))
    assert (status, body["status"], body["incident_id"]) == (202, "test", None)
    async with client.get("/api/v1/incidents") as response:
        assert (await response.json())["incidents"] == []


@pytest.mark.parametrize(
    ("send", "status", "code"),
    [
        ({"data": b"", "headers": OCTETS}, 422, "msd_truncated"),
        ({"data": fleet_msd(vin_for(502))[:20], "headers": OCTETS}, 422, "msd_truncated"),
        ({"data": b"\x09" + bytes(40), "headers": OCTETS}, 422, "unsupported_msd_version"),
        ({"data": bytes(1000), "headers": OCTETS}, 422, "msd_too_long"),
        ({"json": {"msd_hex": "zz"}}, 422, "invalid_msd_hex"),
        ({"json": {"msd_hex": "03"}}, 422, "msd_truncated"),
        ({"json": {"msd": "03"}}, 422, "invalid_body"),
        ({"json": ["03"]}, 422, "invalid_body"),
        ({"data": b"{", "headers": {"Content-Type": "application/json"}}, 400, "malformed_json"),
        ({"data": b"03", "headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"data": bytes(70_000), "headers": OCTETS}, 413, "body_too_large"),
    ],
)
async def test_bad_input_is_refused_precisely(
    client: Client, send: dict[str, Any], status: int, code: str
) -> None:
    """Each bad body: its status and code, a reason without the payload, nothing written."""
    async with client.post("/api/v1/ecall", **send) as response:
        assert response.status == status
        error = (await response.json())["error"]
    assert error["code"] == code
    assert error["reason"]
    assert vin_for(502) not in error["reason"]
    assert client.app[ENGINE].log.head == 0
    async with client.get("/metrics") as response:
        metrics = await response.text()
    assert f'ng112_rejected_total{{code="{code}"}} 1.0' in metrics


async def test_codec_rejections_are_counted_by_code(client: Client) -> None:
    """Codec refusals show in ng112_ecall_rejected_total by code, answers by transport."""
    for _ in range(2):
        await post_octets(client, b"\x03\x01")
    await post_octets(client, fleet_msd(vin_for(503)))
    async with client.get("/metrics") as response:
        metrics = await response.text()
    assert 'ng112_ecall_rejected_total{code="msd_truncated"} 2.0' in metrics
    assert 'ng112_ecall_answers_total{status="rejected",transport="http"} 2.0' in metrics
    assert 'ng112_ecall_answers_total{status="accepted",transport="http"} 1.0' in metrics


async def test_roles_and_provinces_are_enforced(client: Client) -> None:
    """Readers may not submit; the track is visible in the case's province only, VIN to callers."""
    reader = {"X-NG112-Role": "provincial_coordinator", "X-NG112-Province": "42"}
    status, body = await post_octets(client, fleet_msd(vin_for(504)), **reader)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, ack = await post_octets(client, fleet_msd(vin_for(504)))
    track_url = f"/api/v1/ecall/incidents/{ack['incident_id']}/track"
    async with client.get(track_url, headers=reader) as response:
        assert response.status == 200
        track = await response.json()
    assert "vin" not in track  # coordinators do not see caller data
    assert [p["source"] for p in track["track"]] == ["n2", "n1", "current"]
    assert track["centre"] == "42"
    other = {"X-NG112-Role": "provincial_coordinator", "X-NG112-Province": "6"}
    async with client.get(track_url, headers=other) as response:
        assert response.status == 403
    async with client.get("/api/v1/ecall/incidents/inc-nope/track") as response:
        assert response.status == 404


async def test_openapi_describes_the_ecall_path(client: Client) -> None:
    """The OpenAPI document has POST /api/v1/ecall with both content types and EcallIn."""
    async with client.get("/api/v1/openapi.json") as response:
        document = await response.json()
    post = document["paths"]["/api/v1/ecall"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/octet-stream", "application/json"}
    assert "422" in post["responses"]
    assert "msd_hex" in document["components"]["schemas"]["EcallIn"]["properties"]
