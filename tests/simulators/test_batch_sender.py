"""The batching gateway: calls posted together, each acknowledged once, resent safely."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from dispatch.adapters.http import ENGINE
from dispatch.model.ids import CallId
from simulators.drivers import BatchSender
from simulators.scenario import Scenario
from simulators.traffic import CallSpec, TrafficModel
from tests.simulators.conftest import LossyProxy

pytestmark = pytest.mark.integration


def _calls(count: int) -> list[CallSpec]:
    model = TrafficModel(Scenario.model_validate({"name": "batch", "seed": 7}), run_id="batch")
    return [model.call_at(float(i)) for i in range(count)]


async def test_concurrent_calls_go_out_in_batches_and_each_is_acknowledged(
    engine: tuple[web.Application, str],
) -> None:
    """130 calls offered at once: three or four requests, 130 distinct committed calls."""
    app, url = engine
    calls = _calls(130)
    async with aiohttp.ClientSession() as session:
        sender = BatchSender(session, url, max_batch=50, linger_s=0.005)
        acks = await asyncio.gather(*(sender.send(spec) for spec in calls))
    assert all(ack is not None for ack in acks)
    assert len({ack.call_id for ack in acks if ack is not None}) == 130
    assert 3 <= sender.stats.requests <= 5
    assert sender.stats.acknowledged == sender.stats.offered == 130
    state = app[ENGINE].state
    for spec, ack in zip(calls, acks, strict=True):
        assert ack is not None
        stored = state.calls[CallId(ack.call_id)]
        assert stored.caller.number == spec.body()["caller"]["number"]


async def test_a_batch_whose_answer_is_lost_is_resent_without_duplicates(
    engine: tuple[web.Application, str], aiohttp_server: AiohttpServer
) -> None:
    """The engine commits the batch but the answer never reaches the gateway (a 503 from a
    proxy in between): the resent batch gets the same call ids and nothing is stored twice."""
    app, url = engine
    proxy = LossyProxy(url)
    server = await aiohttp_server(proxy.app())
    calls = _calls(20)
    async with aiohttp.ClientSession() as session:
        sender = BatchSender(
            session, str(server.make_url("")), max_batch=20, linger_s=0.005, retry_delay_s=0.01
        )
        acks = await asyncio.gather(*(sender.send(spec) for spec in calls))
    assert proxy.lost == 1
    assert sender.stats.retries == 1
    assert len({ack.call_id for ack in acks if ack is not None}) == 20
    state = app[ENGINE].state
    assert len(state.calls) == 20
    assert {ack.call_id for ack in acks if ack is not None} == set(state.calls)
