"""The surge benchmark's planned load: the gateway's batching rule, posted and acknowledged."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from dispatch.adapters.http import ENGINE
from dispatch.model.ids import CallId
from simulators.scenario import Scenario
from simulators.surge_load import PlannedBatch, offer_planned, plan_batches
from simulators.traffic import TrafficModel
from tests.simulators.conftest import LossyProxy


def _model(calls_per_s: float, seed: int = 11) -> TrafficModel:
    scenario = Scenario.model_validate({"name": "planned", "seed": seed})
    # rate() follows the daily rhythm: scale the rate at the hour the model starts
    multiplier = calls_per_s / TrafficModel(scenario, run_id="probe").rate(0.0)
    return TrafficModel(scenario.model_copy(update={"rate_multiplier": multiplier}), run_id="p")


def test_batches_follow_the_gateway_rule() -> None:
    """Full at 50 calls or closed 5 ms after the first; every call once, in arrival order."""
    plan = plan_batches(_model(8000), duration_s=1.0, max_batch=50, linger_s=0.005)
    arrivals = [t for batch in plan for t in batch.arrivals_s]
    assert 7000 < len(arrivals) < 9000
    assert arrivals == sorted(arrivals)
    assert all(0 <= t < 1.0 for t in arrivals)
    full = [batch for batch in plan if batch.calls == 50]
    assert full, "at 8,000 calls/s (40 per 5 ms) some windows fill up"
    assert len(full) < len(plan), "and most do not"
    ids: set[str] = set()
    for batch, following in zip(plan, [*plan[1:], None], strict=True):
        first, last = batch.arrivals_s[0], batch.arrivals_s[-1]
        assert 1 <= batch.calls <= 50
        assert last <= first + 0.005
        if batch.calls == 50:
            assert batch.post_at_s == last
        else:
            assert batch.post_at_s == pytest.approx(first + 0.005)
            # closed by the linger: the next call came too late to join
            assert following is None or following.arrivals_s[0] > first + 0.005
        calls = orjson.loads(batch.body)["calls"]
        assert len(calls) == batch.calls
        ids.update(call["client_request_id"] for call in calls)
    assert len(ids) == len(arrivals)


def test_one_call_per_request_is_the_call_body_itself() -> None:
    """``max_batch`` 1: each body is one ``POST /api/v1/calls`` body, sent on arrival."""
    plan = plan_batches(_model(200), duration_s=1.0, max_batch=1, linger_s=0.005)
    assert plan
    for batch in plan:
        assert batch.calls == 1
        assert batch.post_at_s == batch.arrivals_s[0]
        body = orjson.loads(batch.body)
        assert body["channel"]
        assert body["client_request_id"].startswith("sim:")


@pytest.mark.parametrize(
    "kwargs", [{"max_batch": 0}, {"linger_s": -1.0}, {"duration_s": 0.0}], ids=str
)
def test_a_plan_refuses_nonsense(kwargs: dict[str, float]) -> None:
    """No empty batches, no negative linger, no empty run."""
    arguments: dict[str, float] = {"duration_s": 1.0, "max_batch": 50, "linger_s": 0.005}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match="max_batch"):
        plan_batches(_model(10), **arguments)  # type: ignore[arg-type]


def _immediate(plan: list[PlannedBatch]) -> list[PlannedBatch]:
    """The same requests, all due at once (so that only the in-flight limit holds them)."""
    return [PlannedBatch(0.0, batch.arrivals_s, batch.body) for batch in plan]


@pytest.mark.integration
@pytest.mark.parametrize("max_batch", [1, 50])
async def test_every_planned_call_is_committed_once(
    engine: tuple[web.Application, str], max_batch: int
) -> None:
    """Batches or single calls: each acknowledged call is in the engine, none twice."""
    app, url = engine
    plan = plan_batches(_model(400), duration_s=0.5, max_batch=max_batch, linger_s=0.005)
    calls = sum(batch.calls for batch in plan)
    async with aiohttp.ClientSession() as session:
        stats, poster = await offer_planned(session, url, plan, max_in_flight=100)
    assert stats.offered == calls == len(stats.acks)
    assert stats.refused == 0
    assert poster.stats.retries == 0
    assert all(sent <= acked for _, sent, acked in stats.acks)
    committed = {call_id for call_id, _, _ in stats.acks}
    assert len(committed) == calls
    assert committed == {str(call_id) for call_id in app[ENGINE].state.calls}
    assert app[ENGINE].state.calls[CallId(stats.acks[0][0])].channel


@pytest.mark.integration
async def test_the_in_flight_limit_holds_and_a_lost_answer_is_resent(
    engine: tuple[web.Application, str], aiohttp_server: AiohttpServer
) -> None:
    """Six batches due at once with room for two: never more than two at the engine; the
    first answer is lost on its way back, its batch is resent and nothing is doubled."""
    app, url = engine
    proxy = LossyProxy(url)
    server = await aiohttp_server(proxy.app())
    plan = plan_batches(_model(20000), duration_s=0.05, max_batch=50, linger_s=0.005)
    plan = _immediate([batch for batch in plan if batch.calls == 50][:6])
    assert len(plan) == 6
    async with aiohttp.ClientSession() as session:
        stats, poster = await offer_planned(
            session, str(server.make_url("")), plan, max_in_flight=100
        )
    assert proxy.most_held <= 2
    assert proxy.lost == 1
    assert poster.stats.retries == 1
    assert len({call_id for call_id, _, _ in stats.acks}) == stats.offered == 300
    assert len(app[ENGINE].state.calls) == 300
