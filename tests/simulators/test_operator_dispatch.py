"""The simulated dispatcher: after queueing a legitimate call it sends the recommended unit
of the incident's agency when that unit is near enough, and sends nobody otherwise."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
import pytest

from dispatch.adapters.http import ENGINE
from simulators.drivers import Ack, Operator
from simulators.geography import Position
from simulators.traffic import CallSpec, Disposition
from tests.conftest import Database
from tests.dispatch.conftest import ClientFactory
from tests.dispatch.test_units_support import ControlledClock, get, post, units_app

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
    return CallSpec(
        client_request_id=f"op-dispatch-{number}",
        at_s=0.0,
        channel="phone",
        dialled="112",
        text="yaşlı adam fenalaştı, nefes alamıyor",
        caller_number=f"+90532000{number:04d}",
        location=Position(lat=lat, lon=lon, radius_m=20.0),
        plate=53,
        disposition=Disposition.LEGITIMATE,
        agency="health",
        incident_type="medical.breathing_problem",
        language="tr",
    )


async def test_the_operator_sends_the_recommended_unit_only_when_near(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Two calls: one beside the ambulance (sent), one 100 km away (nobody sent)."""
    client = await aiohttp_client(units_app(database, ControlledClock()))
    await post(client, "/api/v1/units", _unit("amb-1", 41.021, 40.521), 201)
    near = _legitimate_call(1, 41.02, 40.52)
    far = _legitimate_call(2, 41.9, 41.5)
    acks: dict[str, Ack] = {}
    for spec in (near, far):
        answer = await post(client, "/api/v1/calls", spec.body(), 202)
        acks[spec.client_request_id] = Ack(
            call_id=answer["call_id"],
            incident_id=answer["incident_id"],
            seq=answer["seq"],
            sent_at=0.0,
            acked_at=0.0,
            attempts=1,
        )
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
