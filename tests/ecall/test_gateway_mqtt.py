"""eCall over MQTT end to end: vehicles publish, ng112 commits and answers on the ack topic.

The application is the real one (``compose`` with only the ecall package) served on
loopback, its event log on SQLite and PostgreSQL, against the embedded amqtt broker and
Mosquitto. Vehicles are a :class:`~ecall.bench_ingest.VehicleFleet` that resends until
acked. Only the locator is a hand-written fake (Ankara city is police ground).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiomqtt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dispatch.adapters.http import ENGINE
from dispatch.app.composition import compose
from dispatch.app.settings import Settings
from dispatch.model.values import Placement
from dispatch.model.vocabulary import Ground
from dispatch.ports import MqttEndpoint
from ecall.bench_ingest import VehicleFleet, fleet_msd, vin_for
from ecall.lifespan import ECALL_GATEWAY
from ecall.msd import PropulsionStorage
from tests.brokers import broker, mosquitto  # noqa: F401 - fixtures
from tests.conftest import Database

pytestmark = pytest.mark.integration

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]


class FakeLocator:
    """Every point is in Ankara (plate 06) on police ground."""

    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:
        del lat, lon, radius_m
        return Placement(
            in_service_area=True, at_sea=False, plate=6, province="Ankara", ground=Ground.POLICE
        )


async def start_app(
    aiohttp_client: ClientFactory,
    database: Database,
    endpoint: MqttEndpoint,
    ecall: dict[str, Any] | None = None,
) -> Client:
    """The ecall-only application on ``endpoint``'s broker, once its gateway is subscribed."""
    settings = Settings(
        db=database.url,
        db_schema=database.schema,
        embedded_broker=False,
        mqtt_url=f"mqtt://{endpoint.host}:{endpoint.port}",
        load_boundaries=False,
        ecall=ecall or {},
    )
    app = compose(settings, locator=FakeLocator(), packages=(("ecall.lifespan", "ecall"),))
    client = await aiohttp_client(app)
    async with asyncio.timeout(15):
        await app[ECALL_GATEWAY].connected.wait()
    return client


@asynccontextmanager
async def running_fleet(
    endpoint: MqttEndpoint, *, resend_after_s: float = 2.0, reconnect_s: float = 0.2
) -> AsyncIterator[VehicleFleet]:
    """A fleet of simulated vehicles connected to ``endpoint``."""
    fleet = VehicleFleet(
        endpoint.host, endpoint.port, resend_after_s=resend_after_s, reconnect_s=reconnect_s
    )
    async with asyncio.TaskGroup() as tasks:
        runner = tasks.create_task(fleet.run(), name="test-fleet")
        async with asyncio.timeout(10):
            await fleet.ready.wait()
        try:
            yield fleet
        finally:
            runner.cancel()


async def incidents(client: Client, **params: str) -> list[dict[str, Any]]:
    async with client.get("/api/v1/incidents", params=params) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
    result: list[dict[str, Any]] = body["incidents"]
    return result


async def test_vehicles_publish_and_cases_reach_the_province(
    aiohttp_client: ClientFactory,
    database: Database,
    broker: MqttEndpoint,  # noqa: F811 - fixture
) -> None:
    """Accepted, duplicate, updated, test and rejected answers; cases land at centre 06."""
    client = await start_app(aiohttp_client, database, broker)
    vins = [vin_for(100 + n) for n in range(5)]
    async with running_fleet(broker) as fleet:
        acks = await asyncio.gather(*(fleet.send(fleet_msd(vin), vin, 1) for vin in vins))
        assert {ack["status"] for ack in acks} == {"accepted"}
        assert {ack["message_identifier"] for ack in acks} == {1}

        cases = await incidents(client)
        assert len(cases) == 5
        for case in cases:
            assert case["centre"] == "06"
            assert case["incident_type"] == "traffic_collision"
            assert case["priority"] == 1
            assert case["agencies"] == ["health", "police"]
        assert {c["incident_id"] for c in cases} == {a["incident_id"] for a in acks}
        provincial = {"X-NG112-Role": "provincial_coordinator", "X-NG112-Province": "6"}
        async with client.get("/api/v1/incidents", headers=provincial) as response:
            assert len((await response.json())["incidents"]) == 5
        elsewhere = {"X-NG112-Role": "provincial_coordinator", "X-NG112-Province": "34"}
        async with client.get("/api/v1/incidents", headers=elsewhere) as response:
            assert (await response.json())["incidents"] == []

        # A retransmission is the same call.
        again = await fleet.send(fleet_msd(vins[0]), vins[0], 1)
        assert again["status"] == "duplicate"
        assert again["original_status"] == "accepted"
        assert (again["call_id"], again["incident_id"]) == (
            acks[0]["call_id"],
            acks[0]["incident_id"],
        )

        # An updated MSD (new messageIdentifier) updates the same case; the track grows.
        update = await fleet.send(fleet_msd(vins[0], 2, lat_mas=143_541_720), vins[0], 2)
        assert update["status"] == "updated"
        assert update["incident_id"] == acks[0]["incident_id"]
        async with client.get(f"/api/v1/ecall/incidents/{update['incident_id']}/track") as response:
            track = await response.json()
        assert [p["message_identifier"] for p in track["track"]] == [1, 1, 1, 2, 2, 2]
        assert track["track"][-1]["lat"] == pytest.approx(143_541_720 / 3_600_000)
        async with client.get(f"/api/v1/incidents/{update['incident_id']}") as response:
            timeline = [e["event_type"] for e in (await response.json())["timeline"]]
        assert timeline[:4] == [
            "call_received",
            "incident_opened",
            "ecall_case_opened",
            "ecall_handed_off",
        ]
        assert "ecall_msd_updated" in timeline

        # A test call is acknowledged and logged, never an incident.
        tester = vin_for(200)
        test_ack = await fleet.send(fleet_msd(tester, test_call=True), tester, 1)
        assert test_ack["status"] == "test"
        assert test_ack["incident_id"] is None

        # A malformed MSD gets an error answer with the codec's reason; nothing is written.
        broken = vin_for(201)
        head = client.app[ENGINE].log.head
        rejected = await fleet.send(fleet_msd(broken)[:12], broken, None)
        assert rejected["status"] == "rejected"
        assert rejected["code"] == "msd_truncated"
        assert rejected["reason"]
        # The topic's VIN must be the MSD's.
        stolen = await fleet.send(fleet_msd(vins[1], 9), vin_for(202), 9)
        assert (stolen["status"], stolen["code"]) == ("rejected", "vin_mismatch")
        assert client.app[ENGINE].log.head == head

    assert len(await incidents(client)) == 5
    async with client.get("/metrics") as response:
        metrics = await response.text()
    assert 'ng112_ecall_rejected_total{code="msd_truncated"} 1.0' in metrics
    assert 'ng112_ecall_answers_total{status="accepted",transport="mqtt"} 5.0' in metrics


async def test_hazardous_manual_call_adds_fire(
    aiohttp_client: ClientFactory,
    tmp_path: Any,
    broker: MqttEndpoint,  # noqa: F811 - fixture
) -> None:
    """A manual eCall from a hydrogen car: priority 2, fire added, hazard on the case."""
    database = Database(url=f"sqlite+aiosqlite:///{tmp_path}/ng112.db")
    client = await start_app(aiohttp_client, database, broker)
    vin = vin_for(300)
    msd = fleet_msd(
        vin, automatic=False, propulsion=frozenset({PropulsionStorage.HYDROGEN_STORAGE})
    )
    async with running_fleet(broker) as fleet:
        ack = await fleet.send(msd, vin, 1)
    async with client.get(f"/api/v1/incidents/{ack['incident_id']}") as response:
        incident = await response.json()
    assert incident["priority"] == 2
    assert incident["agencies"] == ["health", "police", "fire"]
    opened = next(e for e in incident["timeline"] if e["event_type"] == "ecall_case_opened")
    assert opened["data"]["hazards"] == ["hydrogenStorage"]
    assert opened["data"]["occupants"] == 3


async def test_mqtt5_response_topic_and_correlation_data(
    aiohttp_client: ClientFactory,
    tmp_path: Any,
    mosquitto: MqttEndpoint,  # noqa: F811 - fixture
) -> None:
    """With MQTT 5 the ack also goes to the device's response topic with its correlation data."""
    database = Database(url=f"sqlite+aiosqlite:///{tmp_path}/ng112.db")
    await start_app(aiohttp_client, database, mosquitto, {"mqtt_protocol": "5"})
    vin = vin_for(400)
    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, protocol=aiomqtt.ProtocolVersion.V5
    ) as device:
        await device.subscribe("device/400/replies", qos=1)
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.ResponseTopic = "device/400/replies"
        properties.CorrelationData = b"corr-1"
        await device.publish(f"ng112/ecall/{vin}/msd", fleet_msd(vin), qos=1, properties=properties)
        async with asyncio.timeout(10):
            reply = await anext(aiter(device.messages))
    assert reply.properties is not None
    assert getattr(reply.properties, "CorrelationData", None) == b"corr-1"
    assert isinstance(reply.payload, bytes)
    assert b'"status":"accepted"' in reply.payload
