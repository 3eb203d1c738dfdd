"""The simulated call-takers log in, take every waiting call, answer it and wrap it up;
with the simulated gateway, each call they were done with is reported ended."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest

from simulators.call_takers import DESK_LANGUAGES, CallTakerFloor, Seat, seats
from simulators.gateway import PhoneGateway
from simulators.geography import provinces
from tests.conftest import Database
from tests.dispatch.call_taking_fakes import (
    CALL_TAKING,
    POINTS,
    SteppedClock,
    app_for,
    location,
    post_call,
    queue,
)
from tests.dispatch.conftest import ClientFactory
from tests.simulators.calls import offer, phone_call

pytestmark = pytest.mark.integration


async def _no_wait(_seconds: float) -> None:
    """Handling and idle times pass at once (the loop still turns)."""
    await asyncio.sleep(0)


async def test_the_floor_answers_and_wraps_up_every_waiting_call(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Six calls wait at İstanbul; two operators take them all; six answer times."""
    client = await aiohttp_client(app_for(database, SteppedClock()))
    for number in range(6):
        await post_call(client, location=location("istanbul"), client_request_id=f"floor-{number}")
    assert (await queue(client, "34"))["depth"] == 6
    floor_seats = [Seat("sim-34-0", "34", ("tr",)), Seat("sim-34-1", "34", ("tr", "text"))]
    async with aiohttp.ClientSession() as session:
        floor = CallTakerFloor(
            session,
            str(client.make_url("")),
            floor_seats,
            handle_s=(30.0, 90.0),
            speed=20.0,
            idle_s=0.5,
            rng=random.Random(7),
            sleep=_no_wait,
        )
        working = asyncio.create_task(floor.run())
        async with asyncio.timeout(60):
            await floor.wait_wrapped_up(6)
        working.cancel()
        with pytest.raises(asyncio.CancelledError):
            await working
    assert floor.stats.logged_in == 2
    assert floor.stats.answered == floor.stats.wrapped_up == 6
    assert floor.stats.refused == 0
    assert (await queue(client, "34"))["depth"] == 0
    response = await client.get("/api/v1/answer-times", params={"centre": "34"})
    times = await response.json()
    assert times["answered"] == 6, times


def test_seats_follow_population_and_staff_every_centre() -> None:
    """Every centre has someone; İstanbul has the most; the desk speaks four languages."""
    floor = seats(400, run_id="t")
    by_centre: dict[str, int] = {}
    for seat in floor:
        by_centre[seat.centre] = by_centre.get(seat.centre, 0) + 1
    assert len(by_centre) == 82
    assert 380 <= len(floor) <= 420
    assert max(by_centre, key=lambda c: by_centre[c] if c != "central" else 0) == "34"
    assert by_centre["34"] > 10 * by_centre["81"] // 2
    desk = [s for s in floor if s.centre == "central"]
    assert sorted(s.skills[0] for s in desk) == sorted(DESK_LANGUAGES)
    assert len({s.operator_id for s in floor}) == len(floor), "operator ids are unique"
    assert any("tid" in s.skills and "text" in s.skills for s in floor if s.centre == "34")
    assert len(provinces()) == 81


async def test_each_call_ends_when_its_call_taker_is_done_with_the_caller(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """With the gateway: every answered call is reported ended, none abandoned."""
    client = await aiohttp_client(
        app_for(database, SteppedClock(), packages=(("intake.lifespan", "intake"), CALL_TAKING))
    )
    lat, lon, _ = POINTS["istanbul"]
    specs = [phone_call(f"floor-end-{n}", lat=lat, lon=lon, plate=34) for n in range(3)]
    acks = [await offer(client, spec) for spec in specs]
    async with aiohttp.ClientSession() as session:
        url = str(client.make_url(""))
        gateway = PhoneGateway(
            session,
            url,
            announce_s=(0.0, 0.0),
            patience_s=3600.0,
            speed=20.0,
            rng=random.Random(1),
            sleep=_no_wait,
        )
        for spec, ack in zip(specs, acks, strict=True):
            gateway.offered(spec, ack)
        floor = CallTakerFloor(
            session,
            url,
            [Seat("sim-34-9", "34", ("tr",))],
            handle_s=(30.0, 90.0),
            speed=20.0,
            idle_s=0.5,
            rng=random.Random(7),
            sleep=_no_wait,
            gateway=gateway,
        )
        working = [asyncio.create_task(floor.run()), asyncio.create_task(gateway.run())]
        async with asyncio.timeout(60):
            await floor.wait_wrapped_up(3)
            while gateway.stats.acknowledged < 3:
                gateway.sent.clear()
                await gateway.sent.wait()
        for task in working:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert (gateway.stats.ended, gateway.stats.abandoned, gateway.stats.refused) == (3, 0, 0)
    for ack in acks:
        response = await client.get(f"/api/v1/calls/{ack.call_id}")
        assert (await response.json())["status"] == "ended"
