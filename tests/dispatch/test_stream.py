"""The live stream: snapshot, order, resume without gaps, slow clients isolated."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
import websockets
from aiohttp.test_utils import TestServer

from dispatch.adapters.http import BROADCASTER, ENGINE
from dispatch.adapters.ws import redact
from dispatch.app.settings import Settings
from dispatch.app.web import build_app
from dispatch.model import IncidentId, IncidentNoteAdded
from tests.conftest import Database
from tests.dispatch.conftest import settings_for

CALL = {"channel": "phone", "text": "yardım", "location": {"lat": 41.0, "lon": 29.0}}


@pytest.fixture
async def server(database: Database, request: pytest.FixtureRequest) -> AsyncIterator[TestServer]:
    """A running ng112 on loopback; ``@pytest.mark.parametrize`` may not change its queue."""
    queue = getattr(request, "param", 2048)
    app = build_app(settings_for(database, stream_queue=queue))
    test_server = TestServer(app, host="127.0.0.1")
    async with test_server:
        yield test_server


def _url(server: TestServer, query: str = "") -> str:
    return f"ws://127.0.0.1:{server.port}/api/v1/stream{query}"


async def _next(ws: websockets.ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        message = await ws.recv()
    data: dict[str, Any] = orjson.loads(message)
    return data


async def _post_calls(server: TestServer, count: int) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{server.port}/api/v1/calls"

        async def one() -> None:
            async with session.post(url, json=CALL) as response:
                assert response.status == 202

        await asyncio.gather(*(one() for _ in range(count)))


def _notes(count: int, size: int) -> list[IncidentNoteAdded]:
    return [
        IncidentNoteAdded(
            occurred_at=datetime.now(UTC),
            plate=34,
            incident_id=IncidentId("inc-load"),
            actor="loader",
            text="ş" * size,
        )
        for _ in range(count)
    ]


async def test_snapshot_then_every_event_in_order(server: TestServer) -> None:
    """A new client gets a snapshot at the head, then each committed event once, in order."""
    await _post_calls(server, 3)
    async with websockets.connect(_url(server)) as ws:
        snapshot = await _next(ws)
        assert snapshot["type"] == "snapshot"
        assert snapshot["seq"] == 6
        assert len(snapshot["incidents"]) == 3
        await _post_calls(server, 20)
        seqs = [(await _next(ws))["seq"] for _ in range(40)]
    assert seqs == list(range(7, 47))


async def test_resume_gets_exactly_what_was_missed(server: TestServer) -> None:
    """Reconnecting with ?since=SEQ delivers the missed events: no gap, no repeat, no snapshot."""
    async with websockets.connect(_url(server)) as ws:
        await _next(ws)
        await _post_calls(server, 5)
        received = [await _next(ws) for _ in range(4)]
    last = received[-1]["seq"]
    await _post_calls(server, 5)
    head = server.app[ENGINE].log.head
    async with websockets.connect(_url(server, f"?since={last}")) as ws:
        resumed = [await _next(ws) for _ in range(head - last)]
        await _post_calls(server, 1)
        live = [await _next(ws) for _ in range(2)]
    assert all(m["type"] == "event" for m in resumed)
    assert [m["seq"] for m in resumed + live] == list(range(last + 1, head + 3))


async def test_bad_since_is_refused(server: TestServer) -> None:
    """A resume point that is not a sequence number is a 400 before the upgrade."""
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(_url(server, "?since=yesterday")):
            pass
    assert info.value.response.status_code == 400


class RawStreamClient:
    """A websocket client at the byte level that reads only when told to.

    Its socket has a tiny receive buffer and it reads nothing until :meth:`message`
    is called, so the server's writes to it block: the slowest client there is.
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        self.buffer = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                "GET /api/v1/stream HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.sock.setblocking(False)

    async def _read(self, size: int) -> bytes:
        loop = asyncio.get_running_loop()
        while len(self.buffer) < size:
            chunk = await loop.sock_recv(self.sock, 65536)
            assert chunk, "server closed the stream"
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    async def handshake(self) -> None:
        loop = asyncio.get_running_loop()
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += await loop.sock_recv(self.sock, 4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101")

    async def message(self) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while True:
                first, second = await self._read(2)
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", await self._read(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", await self._read(8))[0]
                payload = await self._read(length)
                if first & 0x0F in {0x1, 0x2}:
                    data: dict[str, Any] = orjson.loads(payload)
                    return data

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("server", [512], indirect=True)
async def test_a_slow_client_does_not_delay_a_fast_one(server: TestServer) -> None:
    """A client that stops reading overflows into resync; the fast one gets everything at once.

    The slow client reads nothing while events are committed, so the server cannot send
    to it and its bounded queue overflows. Meanwhile the fast client must receive every
    event of each batch before the next is committed. Afterwards the slow client reads
    and must see a resync message and then every event, gap-free, caught up from the log.
    """
    engine = server.app[ENGINE]
    broadcaster = server.app[BROADCASTER]
    assert server.port is not None
    slow = RawStreamClient(server.port)
    try:
        await slow.handshake()
        assert (await slow.message())["type"] == "snapshot"
        async with websockets.connect(_url(server), max_queue=None) as fast:
            assert (await _next(fast))["type"] == "snapshot"
            fast_seqs: list[int] = []
            rounds = 0
            while broadcaster.stats.resyncs == 0:
                rounds += 1
                assert rounds <= 200, "the slow client never fell behind"
                await engine.record(_notes(200, 500))
                while not fast_seqs or fast_seqs[-1] < engine.log.head:
                    message = await _next(fast)
                    assert message["type"] == "event", "the fast client never falls behind"
                    fast_seqs.append(message["seq"])
            head = engine.log.head
            assert fast_seqs == list(range(1, head + 1)), "the fast client missed nothing"

        slow_seqs: list[int] = []
        saw_resync = False
        while not slow_seqs or slow_seqs[-1] < head:
            message = await slow.message()
            if message["type"] == "resync":
                saw_resync = True
                continue
            slow_seqs.append(message["seq"])
        assert saw_resync
        assert slow_seqs == list(range(1, head + 1)), "caught up from the log without gaps"
    finally:
        slow.close()


@pytest.mark.parametrize("server", [Settings().stream_queue], indirect=True)
async def test_a_surge_commit_reaches_a_reading_client_without_a_resync(
    server: TestServer,
) -> None:
    """With the default queue, one commit of 5,000 events (a surge's group commit) is
    delivered event by event to a client that reads, not replaced by a resync."""
    engine = server.app[ENGINE]
    broadcaster = server.app[BROADCASTER]
    async with websockets.connect(_url(server), max_queue=None) as ws:
        assert (await _next(ws))["type"] == "snapshot"
        await engine.record(_notes(5000, 50))
        seqs: list[int] = []
        while len(seqs) < 5000:
            message = await _next(ws)
            assert message["type"] == "event"
            seqs.append(message["seq"])
    assert seqs == list(range(1, 5001))
    assert broadcaster.stats.resyncs == 0


async def test_scope_and_redaction(server: TestServer) -> None:
    """A provincial coordinator sees only its province, and no caller text."""
    async with (
        websockets.connect(_url(server, "?role=provincial_coordinator&province=6")) as ankara,
        websockets.connect(_url(server, "?role=call_taker")) as taker,
    ):
        await _next(ankara)
        await _next(taker)
        await server.app[ENGINE].record(
            [
                IncidentNoteAdded(
                    occurred_at=datetime.now(UTC),
                    plate=34,
                    incident_id=IncidentId("i1"),
                    actor="a",
                    text="İstanbul",
                ),
                IncidentNoteAdded(
                    occurred_at=datetime.now(UTC),
                    plate=6,
                    incident_id=IncidentId("i2"),
                    actor="a",
                    text="Ankara",
                ),
            ]
        )
        seen_by_taker = [await _next(taker) for _ in range(2)]
        seen_by_ankara = await _next(ankara)
    assert [m["data"]["text"] for m in seen_by_taker] == ["İstanbul", "Ankara"]
    assert seen_by_ankara["plate"] == 6
    assert seen_by_ankara["data"]["text"] == "[redacted]"


def test_redaction_covers_identities_that_lead_to_a_person() -> None:
    """Numbers, names, text, VINs, device identities and addresses are redacted, deep down."""
    wire = {
        "data": {
            "caller": {"number": "+905321234567"},
            "vin": "WM9VDSVDSYA123456",
            "report": {"imei": "356938035643809", "imsi": "286011234567890"},
            "civic": {"A1": "İstanbul"},
            "plate": 34,
            "track": [{"lat": 41.0, "lon": 29.0}],
            "missing": None,
        }
    }
    data = redact(wire)["data"]
    assert data["caller"] == data["vin"] == data["civic"] == "[redacted]"
    assert data["report"] == {"imei": "[redacted]", "imsi": "[redacted]"}
    assert data["plate"] == 34
    assert data["track"] == [{"lat": 41.0, "lon": 29.0}]
    assert data["missing"] is None
