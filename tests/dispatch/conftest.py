"""Fixtures for the dispatch tests: an ng112 application on a test database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.app.settings import Settings
from dispatch.app.web import build_app
from tests.conftest import Database

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


def settings_for(database: Database, **overrides: object) -> Settings:
    """Embedded-mode settings on the test's database, without boundaries or broker."""
    values: dict[str, object] = {
        "db": database.url,
        "db_schema": database.schema,
        "load_boundaries": False,
        "embedded_broker": False,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, database: Database
) -> TestClient[web.Request, web.Application]:
    """A test client of a fresh application."""
    return await aiohttp_client(build_app(settings_for(database)))
