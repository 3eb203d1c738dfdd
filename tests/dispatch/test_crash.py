"""Nothing acknowledged is lost: SIGKILL the server mid-stream, restart, count.

The server runs as a real subprocess (``ng112 serve``) on a free loopback port. Several
concurrent clients post calls with unique request ids; the server is killed with
SIGKILL while they are posting; it is restarted on the same database; every call that
got a 202 must be there exactly once, and retries of calls whose answer was lost must
not create duplicates.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import Database, free_port

pytestmark = pytest.mark.integration


class Server:
    """One ``ng112 serve`` subprocess."""

    def __init__(self, database: Database, port: int, workdir: Path) -> None:
        self.database = database
        self.port = port
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {**os.environ, "NG112_PORT": str(self.port), "NG112_DB": self.database.url}
        if self.database.schema:
            env["NG112_DB_SCHEMA"] = self.database.schema
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dispatch",
            "serve",
            "--host",
            "127.0.0.1",
            cwd=self.workdir,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        async with asyncio.timeout(60):
            line = await self.process.stdout.readline()
        assert b"listening on" in line, line

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await self.process.wait()


@pytest.fixture
async def server(database: Database, tmp_path: Path) -> AsyncIterator[Server]:
    instance = Server(database, free_port(), tmp_path)
    try:
        yield instance
    finally:
        await instance.stop()


async def test_sigkill_mid_stream_loses_nothing_acknowledged(server: Server) -> None:
    """Every 202 survives a SIGKILL; retries after restart do not duplicate."""
    await server.start()
    acknowledged: dict[str, str] = {}
    unanswered: list[str] = []
    killed = asyncio.Event()

    async def client(index: int, session: aiohttp.ClientSession) -> None:
        for n in range(10_000):
            request_id = f"c{index}-{n}"
            body = {
                "channel": "phone",
                "caller": {"number": f"+90532{index:03d}{n:04d}"},
                "location": {"lat": 39.9, "lon": 32.8, "radius_m": 30},
                "client_request_id": request_id,
            }
            try:
                async with session.post(f"{server.url}/api/v1/calls", json=body) as response:
                    assert response.status == 202
                    acknowledged[request_id] = (await response.json())["call_id"]
            except aiohttp.ClientError:
                unanswered.append(request_id)
                return
            if len(acknowledged) >= 400 and not killed.is_set():
                killed.set()
                await server.kill()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(i, session) for i in range(8)))
    assert killed.is_set()
    assert len(acknowledged) >= 400

    await server.start()
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{server.url}/api/v1/incidents", params={"limit": "5000"}
        ) as response:
            incidents = (await response.json())["incidents"]
        stored_calls = {call for incident in incidents for call in incident["calls"]}
        for request_id, call_id in acknowledged.items():
            assert call_id in stored_calls, f"acknowledged call {request_id} was lost"
        assert len(stored_calls) == len(incidents), "one incident per call"
        # Retry everything: acknowledged ones get their original id; unanswered ones
        # are either recovered (committed before the kill) or created now, once.
        for request_id in [*acknowledged, *unanswered]:
            index, n = request_id[1:].split("-")
            body = {
                "channel": "phone",
                "caller": {"number": f"+90532{int(index):03d}{int(n):04d}"},
                "client_request_id": request_id,
            }
            async with session.post(f"{server.url}/api/v1/calls", json=body) as response:
                assert response.status == 202
                call_id = (await response.json())["call_id"]
            if request_id in acknowledged:
                assert call_id == acknowledged[request_id]
        async with session.get(
            f"{server.url}/api/v1/incidents", params={"limit": "5000"}
        ) as response:
            after = (await response.json())["incidents"]
    calls_after = [call for incident in after for call in incident["calls"]]
    assert len(calls_after) == len(set(calls_after))
    assert len(calls_after) <= len(stored_calls) + len(unanswered)
    assert set(acknowledged.values()) <= set(calls_after)
