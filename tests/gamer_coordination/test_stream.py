"""The dashboard websocket end to end: snapshot, deltas, resume across reconnects, scope."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
import websockets
from aiohttp.test_utils import TestServer

from tests.gamer_coordination.conftest import post_call

pytestmark = pytest.mark.integration

ISTANBUL = {"lat": 41.0082, "lon": 28.9784}
ANKARA = {"lat": 39.9208, "lon": 32.8541}


def _url(server: TestServer, query: str) -> str:
    return f"ws://127.0.0.1:{server.port}/api/v1/gamer/stream?{query}"


async def _next(ws: websockets.ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        data: dict[str, Any] = orjson.loads(await ws.recv())
    return data


def _apply(state: dict[str, Any], message: dict[str, Any]) -> None:
    if message["type"] == "snapshot":
        state.clear()
    for change in message["changes"]:
        if change["value"] is None:
            state.pop(change["key"], None)
        else:
            state[change["key"]] = change["value"]


async def _until(ws: websockets.ClientConnection, state: dict[str, Any], key: str) -> int:
    seq = -1
    while key not in state:
        message = await _next(ws)
        _apply(state, message)
        seq = message["seq"]
    return seq


async def test_snapshot_deltas_and_resume_without_gaps(server: TestServer) -> None:
    """A dashboard that drops and resumes with ?since=&epoch= ends with the server's state."""
    first = await post_call(server, {"channel": "phone", "location": ISTANBUL})
    state: dict[str, Any] = {}
    query = "role=central_coordinator"
    async with websockets.connect(_url(server, query)) as ws:
        snapshot = await _next(ws)
        assert snapshot["type"] == "snapshot"
        _apply(state, snapshot)
        assert f"incident/{first['incident_id']}" in state
        second = await post_call(server, {"channel": "phone", "location": ANKARA})
        seq = await _until(ws, state, f"incident/{second['incident_id']}")
        epoch = snapshot["epoch"]
    missed = [await post_call(server, {"channel": "phone", "location": ANKARA}) for _ in range(3)]
    async with websockets.connect(_url(server, f"{query}&since={seq}&epoch={epoch}")) as ws:
        resumed = await _next(ws)
        assert resumed["type"] == "delta"
        _apply(state, resumed)
    assert all(f"incident/{m['incident_id']}" in state for m in missed)
    async with websockets.connect(_url(server, query)) as ws:
        fresh: dict[str, Any] = {}
        _apply(fresh, await _next(ws))
    assert state == fresh


async def test_a_provincial_coordinator_cannot_ask_for_another_province(
    server: TestServer,
) -> None:
    """Asking for il 06 as İstanbul's coordinator is refused before the upgrade."""
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(
            _url(server, "province=6"),
            additional_headers={
                "X-NG112-Role": "provincial_coordinator",
                "X-NG112-Province": "34",
            },
        ):
            pass
    assert info.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus) as device:
        async with websockets.connect(_url(server, "role=device")):
            pass
    assert device.value.response.status_code == 403


async def test_bad_resume_points_are_refused(server: TestServer) -> None:
    """A since that is not a sequence number is a 400 with a reason."""
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(_url(server, "role=central_coordinator&since=yesterday")):
            pass
    assert info.value.response.status_code == 400
