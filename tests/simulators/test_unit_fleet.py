"""The simulated unit fleet against the served engine and its embedded broker.

Ten units register over HTTP, report their positions and statuses over MQTT until ng112
acknowledges them, and the one a dispatcher sends acknowledges its order, drives to the
incident, reports en route and on scene, then comes back available (the incident resolves).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from dispatch.app.composition import compose
from dispatch.app.settings import Settings
from dispatch.units_lifespan import GATEWAY
from simulators.scenario import Units
from simulators.unit_fleet import UnitFleet
from tests.conftest import Database, free_port
from tests.dispatch.test_units_support import UNITS_PACKAGE, RizeLocator

pytestmark = pytest.mark.integration

DISPATCHER = {
    "X-NG112-Role": "agency_dispatcher",
    "X-NG112-Province": "53",
    "X-NG112-Agency": "health",
}


async def _until(check: Callable[[], Awaitable[bool]], *, within_s: float = 10.0) -> None:
    """Poll the API until ``check`` holds (bounded by ``within_s``)."""
    async with asyncio.timeout(within_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)  # polling interval of an API condition


async def _json(response: aiohttp.ClientResponse, status: int) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def test_fleet_registers_reports_and_answers_an_order(database: Database) -> None:
    """Positions reach ng112; a dispatched unit acks, goes en route, on scene, then available."""
    settings = Settings(
        db=database.url,
        db_schema=database.schema,
        embedded_broker=True,
        mqtt_port=free_port(),
        load_boundaries=False,
    )
    app = compose(settings, locator=RizeLocator(), packages=UNITS_PACKAGE)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    config = Units(
        enabled=True,
        count=10,
        agencies=("health", "police"),
        plates=(53,),
        speed_kmh=36_000,
        step_s=0.1,
        on_scene_s=0.3,
        resend_interval_s=0.5,
    )
    fleet = UnitFleet.from_scenario(config, url, settings.mqtt_host, settings.mqtt_port)
    try:
        async with asyncio.timeout(20), aiohttp.ClientSession() as session:
            await app[GATEWAY].connected.wait()
            task = asyncio.create_task(fleet.run(), name="test-unit-fleet")
            try:
                await _scenario(session, url, fleet)
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
    finally:
        await runner.cleanup()


async def _scenario(session: aiohttp.ClientSession, url: str, fleet: UnitFleet) -> None:
    homes = {spec.unit_id: spec.home for spec in fleet.specs}

    async def units() -> list[dict[str, Any]]:
        async with session.get(f"{url}/api/v1/units") as response:
            listed: list[dict[str, Any]] = (await _json(response, 200))["units"]
            return listed

    async def all_reported() -> bool:
        listed = await units()
        return len(listed) == 10 and fleet.stats.statuses.keys() == homes.keys()

    await _until(all_reported)
    for unit in await units():
        assert unit["status"] == "available"
        assert unit["location"] is not None
        assert unit["location"]["lat"] == pytest.approx(homes[unit["unit_id"]][0])

    call_body = {"channel": "phone", "text": "yaşlı adam fenalaştı"}
    call_body["location"] = {"lat": 41.03, "lon": 40.53, "radius_m": 20}  # type: ignore[assignment]
    async with session.post(f"{url}/api/v1/calls", json=call_body) as response:
        incident_id = (await _json(response, 202))["incident_id"]
    classify = {
        "action": "classify",
        "incident_type": "medical.sick_person",
        "priority": 2,
        "agencies": ["health"],
    }
    async with session.post(
        f"{url}/api/v1/incidents/{incident_id}/actions", json=classify
    ) as response:
        await _json(response, 200)
    async with session.get(
        f"{url}/api/v1/incidents/{incident_id}/recommendations", headers=DISPATCHER
    ) as response:
        best = (await _json(response, 200))["recommendations"][0]["unit_id"]
    assert best.split("-")[2] == "health"
    async with session.post(
        f"{url}/api/v1/incidents/{incident_id}/dispatch",
        json={"unit_id": best},
        headers=DISPATCHER,
    ) as response:
        await _json(response, 201)

    async def resolved() -> bool:
        async with session.get(f"{url}/api/v1/incidents/{incident_id}") as response:
            return bool((await _json(response, 200))["status"] == "resolved")

    await _until(resolved)
    async with session.get(f"{url}/api/v1/incidents/{incident_id}") as response:
        events = (await _json(response, 200))["timeline"]
    kinds = [e["event_type"] for e in events]
    assert "unit_order_acknowledged" in kinds
    reported = [e["data"]["status"] for e in events if e["event_type"] == "unit_status_reported"]
    assert reported[:2] == ["en_route", "on_scene"]
    statuses = [e["data"]["status"] for e in events if e["event_type"] == "incident_status_changed"]
    assert statuses == ["classified", "dispatched", "en_route", "on_scene", "resolved"]
    async with session.get(f"{url}/api/v1/orders?state=acknowledged") as response:
        orders = (await _json(response, 200))["orders"]
    assert [o["unit_id"] for o in orders] == [best]
    unit = next(u for u in await units() if u["unit_id"] == best)
    assert unit["location"]["lat"] == pytest.approx(41.03)
    assert unit["status"] == "available"
    assert fleet.stats.arrived == 1
    assert fleet.stats.rejected == 0

    async def quiet() -> bool:
        return fleet.unacknowledged == 0

    await _until(quiet)  # no ack in flight to a device about to disconnect
