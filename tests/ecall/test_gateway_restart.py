"""Mosquitto restarted mid-stream: nothing acknowledged is lost, nothing is duplicated.

Mosquitto runs on a fixed loopback port; twenty vehicles each send an MSD and four
updates, resending until acked. After thirty acks the broker process is stopped and a
new one started on the same port (no persistence: every session and queued message is
gone). The gateway and the vehicles reconnect; at the end every (VIN, messageIdentifier)
has exactly one eCall event in the committed projections, each vehicle exactly one case,
and every ack a vehicle received names what the log holds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.adapters.http import ENGINE
from dispatch.app.composition import compose
from dispatch.app.settings import Settings
from dispatch.model.values import Placement
from dispatch.model.vocabulary import Ground
from ecall.bench_ingest import VehicleFleet, fleet_msd, vin_for
from ecall.events import EcallCaseOpened, EcallMsdUpdated
from ecall.lifespan import ECALL_GATEWAY
from tests.brokers import running_mosquitto
from tests.conftest import Database, free_port

pytestmark = [pytest.mark.integration, pytest.mark.mosquitto]

VEHICLES = 20
MSDS_EACH = 5
RESTART_AFTER_ACKS = 30


class FakeLocator:
    """Every point is in İzmir (plate 35) on gendarmerie ground."""

    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:
        del lat, lon, radius_m
        return Placement(
            in_service_area=True,
            at_sea=False,
            plate=35,
            province="İzmir",
            ground=Ground.GENDARMERIE,
        )


async def test_broker_restart_loses_and_duplicates_nothing(
    aiohttp_client: Any, database: Database, tmp_path: Path
) -> None:
    """Vehicles resend until acked across a Mosquitto restart; the log has each MSD once."""
    port = free_port()
    first_broker = running_mosquitto(tmp_path, port=port)
    endpoint = await first_broker.__aenter__()
    settings = Settings(
        db=database.url,
        db_schema=database.schema,
        embedded_broker=False,
        mqtt_url=f"mqtt://127.0.0.1:{port}",
        load_boundaries=False,
        ecall={"reconnect_min_s": 0.05, "reconnect_max_s": 0.5},
    )
    app = compose(settings, locator=FakeLocator(), packages=(("ecall.lifespan", "ecall"),))
    client: TestClient[web.Request, web.Application] = await aiohttp_client(app)
    gateway = app[ECALL_GATEWAY]
    async with asyncio.timeout(15):
        await gateway.connected.wait()

    fleet = VehicleFleet(endpoint.host, endpoint.port, resend_after_s=1.0, reconnect_s=0.05)
    halfway = asyncio.Event()
    answers: dict[tuple[str, int], dict[str, Any]] = {}

    async def vehicle(number: int) -> None:
        vin = vin_for(1000 + number)
        for mid in range(1, MSDS_EACH + 1):
            answers[vin, mid] = await fleet.send(fleet_msd(vin, mid), vin, mid)
            if len(answers) >= RESTART_AFTER_ACKS:
                halfway.set()

    second_broker = running_mosquitto(tmp_path, port=port)
    try:
        async with asyncio.timeout(60), asyncio.TaskGroup() as tasks:
            runner = tasks.create_task(fleet.run(), name="test-fleet")
            await fleet.ready.wait()
            async with asyncio.TaskGroup() as vehicles:
                for number in range(VEHICLES):
                    vehicles.create_task(vehicle(number), name=f"vehicle-{number}")
                await halfway.wait()
                await first_broker.__aexit__(None, None, None)  # the broker process stops
                await second_broker.__aenter__()  # and a fresh one takes the same port
            runner.cancel()
    finally:
        await second_broker.__aexit__(None, None, None)

    assert len(answers) == VEHICLES * MSDS_EACH
    assert gateway.stats["connections"] >= 2, "the gateway reconnected"
    assert fleet.stats.connections >= 2, "the vehicles reconnected"

    engine = app[ENGINE]
    keyed = [
        record.event
        for incident in engine.state.incidents.values()
        for record in incident.timeline
        if isinstance(record.event, EcallCaseOpened | EcallMsdUpdated)
    ]
    per_msd = Counter((event.vin, event.message_identifier) for event in keyed)
    assert set(per_msd) == set(answers), "every acknowledged MSD is in the log"
    assert set(per_msd.values()) == {1}, "and only once"

    cases = {
        vin: {a["incident_id"] for (v, _), a in answers.items() if v == vin} for vin, _ in answers
    }
    assert all(len(ids) == 1 for ids in cases.values()), "one case per vehicle"
    async with client.get("/api/v1/incidents", params={"limit": "5000"}) as response:
        listed = (await response.json())["incidents"]
    assert len(listed) == VEHICLES
    assert {i["incident_id"] for i in listed} == {next(iter(ids)) for ids in cases.values()}
    assert {i["centre"] for i in listed} == {"35"}
    assert {tuple(i["agencies"]) for i in listed} == {("health", "gendarmerie")}
    calls = [call for incident in listed for call in incident["calls"]]
    assert len(calls) == VEHICLES == len(set(calls))
    for (_vin, mid), ack in answers.items():
        status = ack.get("original_status", ack["status"])
        assert status == ("accepted" if mid == 1 else "updated")
