"""The simulated dispatcher: after queueing a legitimate call it sends the recommended unit
of the incident's agency when that unit is near enough, and sends nobody otherwise; then
every incident concludes (the agency's own response, or the unit's return), and a hung-up
call is called back before it is marked unfounded."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from dispatch.adapters.http import ENGINE
from dispatch.adapters.units_http import UNITS
from dispatch.model.vocabulary import UnitStatus
from dispatch.units import StatusMessage
from simulators.operators import Operator
from simulators.traffic import GATEWAY, CallSpec, Disposition
from tests.conftest import Database
from tests.dispatch.call_taking_fakes import CALL_TAKING, POINTS, Client, SteppedClock, app_for
from tests.dispatch.conftest import ClientFactory
from tests.dispatch.test_units_support import ControlledClock, get, post, timeline, units_app
from tests.simulators.calls import offer, phone_call

INTAKE = ("intake.lifespan", "intake")

pytestmark = pytest.mark.integration


def _unit(unit_id: str, lat: float, lon: float) -> dict[str, object]:
    return {
        "unit_id": unit_id,
        "kind": "ambulance",
        "agency": "health",
        "centre": "53",
        "callsign": unit_id.upper(),
        "home": {"lat": lat, "lon": lon},
    }


def _legitimate_call(number: int, lat: float, lon: float) -> CallSpec:
    return phone_call(f"op-dispatch-{number}", lat=lat, lon=lon, plate=53)


async def test_the_operator_sends_the_recommended_unit_only_when_near(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Two calls: one beside the ambulance (sent), one 100 km away (nobody sent)."""
    client = await aiohttp_client(units_app(database, ControlledClock()))
    await post(client, "/api/v1/units", _unit("amb-1", 41.021, 40.521), 201)
    near = _legitimate_call(1, 41.02, 40.52)
    far = _legitimate_call(2, 41.9, 41.5)
    acks = {spec.client_request_id: await offer(client, spec) for spec in (near, far)}
    async with aiohttp.ClientSession() as session:
        operator = Operator(
            session,
            str(client.make_url("")),
            delay_s=(0.0, 0.0),
            queue_legitimate=True,
            outage=None,
            clock=lambda: 0.0,
            rng=random.Random(1),
            concurrency=1,
            dispatch_within_s=1800.0,
            conclude=False,  # the decision alone: nobody concludes the far incident here
        )
        for spec in (near, far):
            operator.take(spec, acks[spec.client_request_id])
        work = asyncio.create_task(operator.run())
        try:
            async with asyncio.timeout(20):
                while operator.stats.dispatched + operator.stats.no_unit < 2:
                    await operator.acted.wait()
                    operator.acted.clear()
        finally:
            work.cancel()
            with pytest.raises(asyncio.CancelledError):
                await work
    assert operator.stats.queued == 2
    assert operator.stats.dispatched == 1
    assert operator.stats.no_unit == 1
    engine = client.app[ENGINE]
    assert engine.incident(acks[near.client_request_id].incident_id).status.value == "dispatched"
    assert engine.incident(acks[far.client_request_id].incident_id).status.value == "queued"
    units: list[dict[str, Any]] = (await get(client, "/api/v1/units"))["units"]
    assert [(u["unit_id"], u["status"]) for u in units] == [("amb-1", "dispatched")]


def _operator(session: aiohttp.ClientSession, url: str, **options: Any) -> Operator:
    """An operator acting at once, concluding at once, looking again every few ms."""
    settings: dict[str, Any] = {
        "delay_s": (0.0, 0.0),
        "queue_legitimate": True,
        "outage": None,
        "clock": time.monotonic,
        "rng": random.Random(2),
        "concurrency": 2,
        "dispatch_within_s": 1800.0,
        "respond_s": (0.0, 0.0),
        "close_s": (0.0, 0.0),
        "follow_s": 0.01,
    }
    settings.update(options)
    return Operator(session, url, **settings)


async def _until(operator: Operator, done: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not done():
            operator.acted.clear()
            await operator.acted.wait()


async def _stopped(work: asyncio.Task[None]) -> None:
    work.cancel()
    with pytest.raises(asyncio.CancelledError):
        await work


async def _statuses(client: Client, incident_id: str) -> list[str]:
    return [
        entry["data"]["status"]
        for entry in await timeline(client, incident_id)
        if entry["event_type"] == "incident_status_changed"
    ]


async def test_an_incident_no_fleet_unit_reaches_is_concluded_by_its_agency(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """No unit near: the agency dispatches its own, then resolved, then closed."""
    client = await aiohttp_client(units_app(database, ControlledClock()))
    spec = _legitimate_call(3, 41.9, 41.5)
    ack = await offer(client, spec)
    async with aiohttp.ClientSession() as session:
        operator = _operator(session, str(client.make_url("")))
        operator.take(spec, ack)
        work = asyncio.create_task(operator.run())
        await _until(operator, lambda: operator.stats.closed == 1)
        await _stopped(work)
    assert (operator.stats.no_unit, operator.stats.agency_dispatched) == (1, 1)
    assert (operator.stats.resolved, operator.stats.refused) == (1, 0)
    assert operator.backlog == 0
    assert await _statuses(client, ack.incident_id) == [
        "queued",
        "dispatched",
        "resolved",
        "closed",
    ]


@pytest.mark.parametrize(
    ("reports", "resolved_by_dispatcher"),
    [
        ((UnitStatus.ON_SCENE, UnitStatus.AVAILABLE), 0),  # ng112 resolves: the last unit left
        ((UnitStatus.EN_ROUTE, UnitStatus.AVAILABLE), 1),  # back without being on scene
    ],
    ids=["on-scene-then-back", "back-before-the-scene"],
)
async def test_the_dispatcher_closes_an_incident_once_its_unit_is_back(
    aiohttp_client: ClientFactory,
    database: Database,
    reports: tuple[UnitStatus, UnitStatus],
    resolved_by_dispatcher: int,
) -> None:
    """The sent unit reports, then is available: the incident is resolved and closed."""
    client = await aiohttp_client(units_app(database, ControlledClock()))
    await post(client, "/api/v1/units", _unit("amb-2", 41.021, 40.521), 201)
    spec = _legitimate_call(4, 41.02, 40.52)
    ack = await offer(client, spec)
    async with aiohttp.ClientSession() as session:
        operator = _operator(session, str(client.make_url("")))
        operator.take(spec, ack)
        work = asyncio.create_task(operator.run())
        await _until(operator, lambda: operator.stats.dispatched == 1)
        units = client.app[UNITS]
        for number, status in enumerate(reports):
            await units.report_status("amb-2", StatusMessage(status=status, msg_id=f"m{number}"))
        await _until(operator, lambda: operator.stats.closed == 1)
        await _stopped(work)
    assert operator.stats.resolved == resolved_by_dispatcher
    assert operator.stats.agency_dispatched == 0, "the fleet's unit went: no agency response"
    statuses = await _statuses(client, ack.incident_id)
    assert statuses[0] == "queued"
    assert statuses[-2:] == ["resolved", "closed"]


async def test_a_hung_up_call_is_called_back_then_marked_unfounded(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """After the gateway's ``abandoned``: the number is called back; the incident unfounded."""
    client = await aiohttp_client(app_for(database, SteppedClock(), packages=(INTAKE, CALL_TAKING)))
    lat, lon, _ = POINTS["istanbul"]
    spec = phone_call("op-hang-up", lat=lat, lon=lon, plate=34, disposition=Disposition.HUNG_UP)
    ack = await offer(client, spec)
    report = {
        "type": "abandoned",
        "gateway": GATEWAY,
        "gateway_call_id": spec.gateway_call_id,
        "time": "2025-08-03T14:00:05+00:00",
    }
    await post(client, "/api/v1/phone/events", report, 202)
    assert len((await get(client, "/api/v1/callbacks"))["callbacks"]) == 1
    async with aiohttp.ClientSession() as session:
        operator = _operator(session, str(client.make_url("")))
        operator.take(spec, ack)
        operator.abandoned(spec, ack)
        work = asyncio.create_task(operator.run())
        done = operator.stats
        await _until(operator, lambda: done.unfounded == done.called_back == 1)
        await _stopped(work)
    assert operator.stats.called_back == 1
    assert (await get(client, "/api/v1/callbacks"))["callbacks"] == []
    incident = await get(client, f"/api/v1/incidents/{ack.incident_id}")
    assert incident["status"] == "unfounded"
