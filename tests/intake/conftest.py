"""Fixtures for the intake tests: ng112 with only the intake package, served on loopback.

The app is `compose(settings, packages=(("intake.lifespan", "intake"),))` over the test's
database (SQLite and PostgreSQL through `database`), placed by the real gazetteer
(`routing/data`), with a clock the test can move. Clients speak HTTP and websockets to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from dispatch.adapters.http import ENGINE
from dispatch.app.composition import compose
from dispatch.app.routing_wiring import GazetteerLocator
from dispatch.app.settings import Settings
from dispatch.service import Engine
from intake.adapters.http import INTAKE
from intake.service import IntakeService
from routing import Gazetteer
from tests.conftest import Database

INTAKE_ONLY = (("intake.lifespan", "intake"),)


class ManualClock:
    """A clock the test moves by hand (the engine's only source of time)."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def locator() -> GazetteerLocator:
    """The real gazetteer as the engine's locator (loaded once per test session)."""
    return GazetteerLocator(Gazetteer.load())


@pytest.fixture
def clock() -> ManualClock:
    """A fresh manual clock."""
    return ManualClock()


@dataclass
class Intake:
    """A running ng112 with intake, and helpers to talk to it."""

    server: TestServer
    session: aiohttp.ClientSession
    clock: ManualClock

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.server.port}{path}"

    @property
    def engine(self) -> Engine:
        return self.server.app[ENGINE]

    @property
    def service(self) -> IntakeService:
        return self.server.app[INTAKE]

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        data: bytes | str | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        kwargs: dict[str, Any] = {"headers": all_headers}
        if data is not None:
            kwargs["data"] = data
        else:
            kwargs["json"] = body
        async with self.session.post(self.base + path, **kwargs) as response:
            return response.status, orjson.loads(await response.read())

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        async with self.session.get(self.base + path) as response:
            return response.status, orjson.loads(await response.read())

    async def metrics(self) -> str:
        async with self.session.get(self.base + "/metrics") as response:
            return await response.text()

    async def register(self, number: str) -> tuple[str, str]:
        """Register an app user; returns (device_id, device_token)."""
        status, body = await self.post("/api/v1/app/register", {"number": number})
        assert status == 202, body
        status, body = await self.post(
            "/api/v1/app/verify", {"challenge_id": body["challenge_id"], "code": body["code"]}
        )
        assert status == 201, body
        return body["device_id"], body["device_token"]

    def timeline_types(self, call_id: str) -> list[str]:
        call = self.engine.state.calls[call_id]  # type: ignore[index]
        incident = self.engine.state.incidents[call.incident_id]
        return [r.event.event_type for r in incident.timeline]


def intake_settings(database: Database, **intake: Any) -> Settings:
    """Development-mode settings on the test database, no broker, no boundary loading."""
    return Settings.model_validate(
        {
            "db": database.url,
            "db_schema": database.schema,
            "load_boundaries": False,
            "embedded_broker": False,
            "intake": intake,
        }
    )


IntakeFactory = Callable[..., Any]


@pytest.fixture
async def intake(
    database: Database, locator: GazetteerLocator, clock: ManualClock
) -> AsyncIterator[Intake]:
    """ng112 with the intake package on loopback, and an HTTP client session."""
    app = compose(intake_settings(database), clock=clock, locator=locator, packages=INTAKE_ONLY)
    server = TestServer(app, host="127.0.0.1")
    async with server, aiohttp.ClientSession() as session:
        yield Intake(server=server, session=session, clock=clock)
