"""Fixtures the simulator tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
