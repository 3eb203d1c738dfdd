"""Call fronts: batches parsed, located, classified and decided in another process.

The pure part (deciding a body, the frames) is tested directly; the process part with a
real child interpreter behind a real application.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import msgspec
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.adapters.http import CALL_FRONT, ApiError, parse_body
from dispatch.adapters.schemas import CallBatchIn
from dispatch.app.call_front import (
    DECIDED,
    FAILED,
    LOADED,
    REFUSED,
    ProcessFront,
    answer,
    decide_batch,
    decided_calls,
    serve,
)
from dispatch.app.child_process import frame
from dispatch.app.composition import compose
from dispatch.app.routing_wiring import GazetteerLocator
from dispatch.model.events import Event
from dispatch.model.values import Placement
from dispatch.service import decide_new_call
from routing import Gazetteer
from tests.conftest import Database
from tests.dispatch.conftest import settings_for

Client = TestClient[web.Request, web.Application]

NOW = datetime(2026, 2, 6, 4, 17, tzinfo=UTC)

CALLS: list[dict[str, Any]] = [
    {  # Taksim, a fire in Turkish
        "channel": "phone",
        "caller": {"number": "+905321112233", "language": "tr"},
        "text": "binada yangın var, duman çıkıyor",
        "location": {"lat": 41.0340, "lon": 28.9770, "radius_m": 20},
        "client_request_id": "front-1",
    },
    {  # just off the Konak shore: snapped to land
        "channel": "phone",
        "location": {"lat": 38.4230, "lon": 27.1240, "radius_m": 50},
        "client_request_id": "front-2",
    },
    {  # a text from a tourist with no position
        "channel": "text",
        "caller": {"language": "en"},
        "text": "car accident on the road, people injured",
        "client_request_id": "front-3",
    },
    {"channel": "phone", "dialled": "155"},  # no key: never recognised as a retry
]


def _without_ids(event: Event) -> dict[str, Any]:
    fields = dataclasses.asdict(event)
    return {k: v for k, v in fields.items() if k not in ("call_id", "incident_id")}


@cache
def _locator() -> GazetteerLocator:
    return GazetteerLocator(Gazetteer.load())


def _body(calls: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"calls": calls})


def test_a_front_decides_a_batch_as_the_engine_would() -> None:
    """Through the wire form and back, each call's events are the loop's, ids aside."""
    locator = _locator()
    front = decided_calls(msgspec.msgpack.encode(decide_batch(_body(CALLS), locator, NOW)))
    commands = [call.to_command() for call in parse_body(_body(CALLS), CallBatchIn).calls]
    assert len(front) == len(commands)
    for decided, command in zip(front, commands, strict=True):
        loop = decide_new_call(command, locator=locator, now=NOW)
        assert decided.idempotency_key == command.idempotency_key
        assert decided.call_id != loop.call_id
        assert [type(e) for e in decided.events] == [type(e) for e in loop.events]
        assert [_without_ids(e) for e in decided.events] == [_without_ids(e) for e in loop.events]
        for event in decided.events:
            assert getattr(event, "call_id", None) in (None, decided.call_id)
            assert getattr(event, "incident_id", None) == decided.incident_id
    placed = [d.events[0].placement for d in front]  # type: ignore[attr-defined]
    assert placed[0].district == "Beyoğlu"
    assert placed[1].district == "Konak"
    assert placed[1].snapped_km > 0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        _body([*CALLS[:3], {"channel": "phone", "location": {"lat": 95, "lon": 30}}]),
        _body([{"channel": "pigeon"}]),
        orjson.dumps({"calls": CALLS, "extra": 1}),
    ],
)
def test_a_bad_batch_is_refused_with_the_reason_the_loop_gives(body: bytes) -> None:
    with pytest.raises(ApiError) as on_the_loop:
        parse_body(body, CallBatchIn)
    request_id, kind, refusal = answer(7, body, _locator())
    assert (request_id, kind) == (7, REFUSED)
    error = on_the_loop.value
    assert refusal == [error.status, error.code, error.reason]


class _BrokenLocator:
    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:
        raise RuntimeError(f"no boundaries at {lat},{lon} ({radius_m} m)")


def test_a_batch_the_front_cannot_decide_is_reported_as_failed_not_refused() -> None:
    request_id, kind, message = answer(3, _body(CALLS[:1]), _BrokenLocator())
    assert (request_id, kind) == (3, FAILED)
    assert "no boundaries at 41.034,28.977" in message


def test_the_child_announces_it_is_loaded_then_answers_each_frame_in_turn() -> None:
    source = io.BytesIO(frame([1, _body(CALLS[:2])]) + frame([2, b"{"]))
    sink = io.BytesIO()
    serve(source, sink, _locator())
    out = io.BytesIO(sink.getvalue())
    messages = []
    while header := out.read(4):
        messages.append(msgspec.msgpack.decode(out.read(int.from_bytes(header, "big"))))
    assert [m[:2] for m in messages] == [[0, LOADED], [1, DECIDED], [2, REFUSED]]
    assert len(decided_calls(messages[1][2])) == 2
    assert messages[2][2][1] == "malformed_json"


# -- a real child process behind the application ---------------------------------------------


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[Client]], database: Database) -> Client:
    """The app with real boundaries and one call front, once the front is loaded."""
    settings = settings_for(database, load_boundaries=True, call_front_workers=1)
    client = await aiohttp_client(compose(settings, packages=()))
    front = client.app[CALL_FRONT]
    assert isinstance(front, ProcessFront)
    await asyncio.wait_for(front.children[0].up.wait(), 60)
    return client


async def _post_batch(client: Client, calls: list[dict[str, Any]]) -> tuple[int, Any]:
    response = await client.post("/api/v1/calls/batch", json={"calls": calls})
    return response.status, await response.json()


def _child(client: Client) -> Any:
    front = client.app[CALL_FRONT]
    assert isinstance(front, ProcessFront)
    return front.children[0]


async def test_a_front_decides_the_batch_and_the_engine_commits_it(client: Client) -> None:
    """Acknowledged means committed; a resend is recognised by the engine, not the front."""
    status, body = await _post_batch(client, CALLS)
    assert status == 202
    assert _child(client).answered == 1
    results = body["results"]
    assert not any(r["duplicate"] for r in results)
    call = await (await client.get(f"/api/v1/calls/{results[0]['call_id']}")).json()
    assert call["placement"]["district"] == "Beyoğlu"
    incident = await (await client.get(f"/api/v1/incidents/{results[2]['incident_id']}")).json()
    assert incident["suggested_type"] == "traffic.collision"
    assert (await (await client.get("/readyz")).json())["components"]["call_fronts"] is True

    status, again = await _post_batch(client, CALLS[:3])
    assert status == 202
    assert [r["duplicate"] for r in again["results"]] == [True, True, True]
    assert [r["call_id"] for r in again["results"]] == [r["call_id"] for r in results[:3]]
    metrics = (await (await client.get("/metrics")).text()).splitlines()
    assert 'ng112_calls_received_total{channel="phone"} 3.0' in metrics
    assert "ng112_idempotent_retries_total 3.0" in metrics

    status, refused = await _post_batch(client, [{"channel": "phone", "dialled": "999"}])
    assert status == 422
    assert "calls.0.dialled" in refused["error"]["reason"]


async def test_when_the_front_dies_batches_are_decided_on_the_loop_until_it_is_back(
    client: Client,
) -> None:
    child = _child(client)
    assert child.started == 1
    child.kill()
    await asyncio.wait_for(child.exited.wait(), 10)
    assert not child.ready
    status, body = await _post_batch(client, CALLS[:2])
    assert status == 202, "nothing is refused while the front is down"
    assert child.answered == 0
    stored = await (await client.get(f"/api/v1/calls/{body['results'][1]['call_id']}")).json()
    assert stored["placement"]["district"] == "Konak"

    await asyncio.wait_for(child.up.wait(), 60)
    assert child.started == 2
    status, again = await _post_batch(client, [*CALLS[:2], CALLS[3]])
    assert status == 202
    assert [r["duplicate"] for r in again["results"]] == [True, True, False]
    assert child.answered == 1


async def test_a_front_that_cannot_start_is_tried_again_and_stops_cleanly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No interpreter to start: each failure is counted and logged, the supervising task
    lives on to try again, and stopping the front raises nothing."""
    front = ProcessFront({}, 1)
    child = front.children[0]
    monkeypatch.setattr(child, "restart_after_s", 0.0)
    monkeypatch.setattr(child, "_argv", ["/nonexistent/ng112-python"])
    front.start()
    try:
        async with asyncio.timeout(10):
            for _ in range(3):
                await child.failed.wait()
                child.failed.clear()
        # a third failure means the supervising task outlived the first two
        assert child.failures >= 3
        assert child.started == 0
        assert not front.ready
    finally:
        await front.stop()
