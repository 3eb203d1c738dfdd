"""The simulated phone gateway reports each phone call abandoned or ended to the real engine.

The engine under test has the intake and call-taking packages; the calls are posted as the
simulator posts them (``POST /api/v1/calls`` with the gateway's request id), and what the
gateway reported is checked where a user would see it: the call's status, the callback
list, the queue at the call's centre.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from simulators.drivers import Ack
from simulators.gateway import PhoneGateway
from simulators.traffic import CallSpec, Disposition
from tests.conftest import Database, free_port
from tests.dispatch.call_taking_fakes import (
    CALL_TAKING,
    POINTS,
    SteppedClock,
    app_for,
    queue,
)
from tests.dispatch.conftest import ClientFactory
from tests.dispatch.test_units_support import get
from tests.simulators.calls import offer, phone_call

pytestmark = pytest.mark.integration

INTAKE = ("intake.lifespan", "intake")


async def _no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


def _call(number: int, disposition: Disposition, *, channel: str = "phone") -> CallSpec:
    lat, lon, _ = POINTS["istanbul"]
    return phone_call(
        f"gw-{number}", lat=lat, lon=lon, plate=34, disposition=disposition, channel=channel
    )


def _gateway(
    session: aiohttp.ClientSession,
    url: str,
    *,
    patience_s: float | None = None,
    sleep: Callable[[float], Awaitable[Any]] = _no_wait,
) -> PhoneGateway:
    return PhoneGateway(
        session,
        url,
        announce_s=(0.0, 0.0),
        patience_s=patience_s,
        speed=20.0,
        rng=random.Random(3),
        sleep=sleep,
    )


async def _until(gateway: PhoneGateway, done: Callable[[], bool]) -> None:
    """Wait, turn by turn of ng112's answers, until ``done()``."""
    async with asyncio.timeout(20):
        while not done():
            gateway.sent.clear()
            await gateway.sent.wait()


async def _running(gateway: PhoneGateway) -> asyncio.Task[None]:
    return asyncio.create_task(gateway.run())


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_caller_who_hangs_up_is_reported_abandoned_and_called_back(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """A hung-up call is abandoned at ng112: out of the queue, on the callback list."""
    client = await aiohttp_client(app_for(database, SteppedClock(), packages=(INTAKE, CALL_TAKING)))
    hung_up, talking = _call(1, Disposition.HUNG_UP), _call(2, Disposition.LEGITIMATE)
    acks = {spec.client_request_id: await offer(client, spec) for spec in (hung_up, talking)}
    told: list[str] = []
    async with aiohttp.ClientSession() as session:
        gateway = _gateway(session, str(client.make_url("")))
        gateway.on_abandoned = lambda spec, _ack: told.append(spec.client_request_id)
        for spec in (hung_up, talking):
            gateway.offered(spec, acks[spec.client_request_id])
        running = await _running(gateway)
        await _until(gateway, lambda: gateway.stats.acknowledged == 1)
        await _stop(running)
    assert told == [hung_up.client_request_id]
    assert gateway.stats.abandoned == 1
    assert gateway.stats.gave_up_waiting == 0
    assert gateway.lines == 1, "the other caller is still on the line"
    call = await get(client, f"/api/v1/calls/{acks[hung_up.client_request_id].call_id}")
    assert call["status"] == "abandoned"
    callbacks = (await get(client, "/api/v1/callbacks"))["callbacks"]
    assert [c["call_id"] for c in callbacks] == [acks[hung_up.client_request_id].call_id]
    assert (await queue(client, "34"))["depth"] == 1, "only the caller still talking waits"


async def test_a_call_ends_when_the_call_taker_is_done_and_only_once(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """``finished`` ends the call once; a second ``finished`` and other channels send nothing."""
    client = await aiohttp_client(app_for(database, SteppedClock(), packages=(INTAKE, CALL_TAKING)))
    phone = _call(3, Disposition.FALSE)
    text = _call(4, Disposition.FALSE, channel="text")
    acks = {spec.client_request_id: await offer(client, spec) for spec in (phone, text)}
    async with aiohttp.ClientSession() as session:
        gateway = _gateway(session, str(client.make_url("")), patience_s=1.0)
        for spec in (phone, text):
            gateway.offered(spec, acks[spec.client_request_id])
        assert gateway.lines == 1, "only phone calls have a gateway"
        gateway.put_through(acks[phone.client_request_id].call_id)
        running = await _running(gateway)
        gateway.finished(acks[phone.client_request_id].call_id)
        gateway.finished(acks[phone.client_request_id].call_id)
        await _until(gateway, lambda: gateway.stats.acknowledged == 1)
        await _stop(running)
    assert (gateway.stats.ended, gateway.stats.abandoned, gateway.stats.refused) == (1, 0, 0)
    assert gateway.stats.requests == 1
    call = await get(client, f"/api/v1/calls/{acks[phone.client_request_id].call_id}")
    assert call["status"] == "ended", "put through before its patience ran out: not abandoned"
    other = await get(client, f"/api/v1/calls/{acks[text.client_request_id].call_id}")
    assert other["status"] != "ended"


async def test_a_caller_nobody_answers_gives_up_and_a_late_end_is_refused(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Patience runs out: abandoned; an ``ended`` for that call afterwards is refused (409)."""
    client = await aiohttp_client(app_for(database, SteppedClock(), packages=(INTAKE, CALL_TAKING)))
    waiting = _call(5, Disposition.LEGITIMATE)
    ack = await offer(client, waiting)
    async with aiohttp.ClientSession() as session:
        impatient = _gateway(session, str(client.make_url("")), patience_s=0.0)
        impatient.offered(waiting, ack)
        running = await _running(impatient)
        await _until(impatient, lambda: impatient.stats.acknowledged == 1)
        await _stop(running)
        # Another gateway that still thinks the call is up reports it ended: too late.
        late = _gateway(session, str(client.make_url("")))
        late.offered(replace(waiting, disposition=Disposition.FALSE), ack)
        running = await _running(late)
        late.finished(ack.call_id)
        await _until(late, lambda: late.stats.refused == 1)
        await _stop(running)
    assert (impatient.stats.abandoned, impatient.stats.gave_up_waiting) == (1, 1)
    assert late.stats.refusals == {"call_already_ended": 1}
    assert (await get(client, f"/api/v1/calls/{ack.call_id}"))["status"] == "abandoned"


async def test_reports_wait_while_the_engine_is_away() -> None:
    """Nothing listens: the report is retried, kept (not dropped) and sent again."""
    tries = 0
    again = asyncio.Event()

    async def counted(_seconds: float) -> None:
        nonlocal tries
        tries += 1
        if tries == 10:  # eight retries, the pause, then the first retry of the next send
            again.set()
        await asyncio.sleep(0)

    async with aiohttp.ClientSession() as session:
        gateway = _gateway(session, f"http://127.0.0.1:{free_port()}", sleep=counted)
        spec = _call(6, Disposition.FALSE)
        ack = Ack(
            call_id="call-x", incident_id="inc-x", seq=1, sent_at=0.0, acked_at=0.0, attempts=1
        )
        gateway.offered(spec, ack)
        gateway.finished("call-x")
        running = await _running(gateway)
        try:
            async with asyncio.timeout(20):
                await again.wait()
        finally:
            await _stop(running)
    assert gateway.stats.requests >= 2, "the report was sent again"
    assert gateway.stats.acknowledged == gateway.stats.refused == gateway.stats.dropped == 0
