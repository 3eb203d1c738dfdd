"""A short simulation against the served engine loses and duplicates nothing."""

from __future__ import annotations

import aiohttp
import pytest

from dispatch.app.settings import Settings
from simulators.host import start_engine
from simulators.runner import Simulation
from simulators.scenario import Scenario
from tests.conftest import Database

pytestmark = pytest.mark.integration


async def test_simulation_loses_and_duplicates_nothing(database: Database) -> None:
    """Every acknowledged call reaches the dashboard and the API once; bad input is refused."""
    settings = Settings(
        db=database.url,
        db_schema=database.schema,
        port=0,
        embedded_broker=False,
    )
    runner, url = await start_engine(settings)
    try:
        scenario = Scenario.model_validate(
            {
                "name": "e2e",
                "seed": 1,
                "speed": 100,
                "duration_s": 2.5,
                "channels": {"ecall": 0.05, "text": 0.05, "sign_video": 0.02, "panic_app": 0.05},
                "operator": {"delay_s": [0.05, 0.2]},
                "malformed": {"at_s": 0.5, "count": 60},
            }
        )
        report = await Simulation(scenario, url, settle_s=15.0).run()
    finally:
        await runner.cleanup()
    assert report.acknowledged > 300
    assert report.acknowledged == report.offered
    assert report.lost == 0
    assert report.duplicated == 0
    assert report.seen_on_stream >= report.acknowledged
    assert report.api_checked == report.acknowledged
    assert report.api_missing == 0
    assert report.malformed == {"sent": 60, "refused": 60, "accepted": 0}
    assert report.operator["unfounded"] > 0
    assert set(report.by_channel) >= {"phone", "ecall", "text", "panic_app"}


async def test_calls_end_and_incidents_conclude_as_in_a_centre(database: Database) -> None:
    """Gateway, call-takers and dispatchers: calls end or are abandoned, incidents close."""
    settings = Settings(db=database.url, db_schema=database.schema, port=0, embedded_broker=False)
    runner, url = await start_engine(settings)
    try:
        scenario = Scenario.model_validate(
            {
                "name": "conclusions",
                "seed": 3,
                "speed": 20,
                "duration_s": 4.0,
                "operator": {
                    "delay_s": [0.05, 0.2],
                    "respond_s": [5.0, 20.0],
                    "close_s": [0.0, 10.0],
                },
                "call_takers": {"enabled": True, "operators": 85, "handle_s": [5.0, 20.0]},
                "gateway": {"announce_s": [1.0, 5.0]},
                "channels": {"ecall": 0.0, "text": 0.0, "sign_video": 0.0, "panic_app": 0.0},
            }
        )
        simulation = Simulation(scenario, url, settle_s=15.0)
        report = await simulation.run()
        async with aiohttp.ClientSession() as session:
            closed = await _incidents(session, url, "closed")
            unfounded = await _incidents(session, url, "unfounded")
    finally:
        await runner.cleanup()
    assert report.lost == report.duplicated == 0
    gateway, operator = report.gateway, report.operator
    assert gateway is not None
    phone = report.by_channel["phone"]
    assert gateway["refused"] == 0, gateway["refusals"]
    assert gateway["abandoned"] > phone // 5, "a third of callers hang up at the announcement"
    floor = simulation.call_takers
    assert floor is not None
    # Each call a call-taker was done with ended (wrap-up follows the end), unless its
    # caller had hung up before they picked it up (still in the announcement).
    assert floor.stats.wrapped_up - gateway["abandoned"] <= gateway["ended"]
    assert gateway["ended"] <= floor.stats.answered
    assert floor.stats.wrapped_up > 0
    assert gateway["abandoned"] + gateway["ended"] <= phone
    assert gateway["acknowledged"] <= gateway["abandoned"] + gateway["ended"]
    assert operator["called_back"] > 0
    assert operator["closed"] > 0
    # An action in flight when the run stopped may be committed without being counted.
    in_flight = 16  # the operators' concurrency
    assert operator["closed"] <= len(closed) <= operator["closed"] + in_flight
    assert operator["unfounded"] <= len(unfounded) <= operator["unfounded"] + in_flight
    assert operator["unfounded"] > phone // 3


async def _incidents(session: aiohttp.ClientSession, url: str, status: str) -> list[object]:
    async with session.get(f"{url}/api/v1/incidents?status={status}&limit=5000") as response:
        assert response.status == 200
        body = await response.json()
    incidents: list[object] = body["incidents"]
    return incidents
