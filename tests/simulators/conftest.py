"""Fixtures the simulator tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from dispatch.app.settings import Settings
from simulators.host import start_engine
from tests.conftest import Database


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[tuple[web.Application, str]]:
    """The whole engine served on a loopback port, without boundaries or broker."""
    settings = Settings(
        db=database.url,
        db_schema=database.schema,
        port=0,
        embedded_broker=False,
        load_boundaries=False,
    )
    runner, url = await start_engine(settings)
    try:
        yield runner.app, url
    finally:
        await runner.cleanup()


@dataclass
class LossyProxy:
    """A proxy before the engine's batch endpoint that loses the first answer.

    The engine commits the first batch but the gateway gets a 503 instead (as from a
    proxy in between); later answers pass. It also counts the requests it holds at once.
    """

    engine_url: str
    lost: int = 0
    holding: int = 0
    most_held: int = 0

    def app(self) -> web.Application:
        """An application to serve (``aiohttp_server``)."""
        front = web.Application()
        front.router.add_post("/api/v1/calls/batch", self._forward)
        return front

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.holding += 1
        self.most_held = max(self.most_held, self.holding)
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    f"{self.engine_url}/api/v1/calls/batch",
                    data=body,
                    headers={"Content-Type": "application/json"},
                ) as response,
            ):
                answer = await response.read()
                status = response.status
        finally:
            self.holding -= 1
        if self.lost == 0:
            self.lost += 1
            return web.Response(status=503)
        return web.Response(status=status, body=answer, content_type="application/json")
