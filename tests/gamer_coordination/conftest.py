"""Fixtures for the GAMER tests: the composed application on loopback and Chromium.

The server is the real composition (event log, routing's boundaries and locator, GAMER's
lifespan) on an aiohttp ``TestServer``; the browser is Debian's Chromium driven by
Playwright, never a downloaded one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright

from dispatch.app.composition import compose
from dispatch.app.settings import Settings
from tests.conftest import REPO, Database

GAMER = (("gamer_coordination.lifespan", "gamer_coordination"),)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"


def gamer_settings(url: str, schema: str | None = None, **gamer: Any) -> Settings:
    """Embedded-mode settings with boundaries, no broker, and a GAMER table."""
    return Settings.model_validate(
        {
            "db": url,
            "db_schema": schema,
            "load_boundaries": True,
            "embedded_broker": False,
            "gamer_coordination": gamer,
        }
    )


@pytest.fixture
async def server(database: Database) -> AsyncIterator[TestServer]:
    """ng112 with GAMER coordination on the test database (SQLite and PostgreSQL)."""
    app = compose(gamer_settings(database.url, database.schema), packages=GAMER)
    test_server = TestServer(app, host="127.0.0.1")
    async with test_server:
        yield test_server


@pytest.fixture
async def page_server(tmp_path: Path) -> AsyncIterator[TestServer]:
    """ng112 with GAMER coordination on SQLite, for browser tests."""
    app = compose(gamer_settings(f"sqlite+aiosqlite:///{tmp_path}/ng112.db"), packages=GAMER)
    test_server = TestServer(app, host="127.0.0.1")
    async with test_server:
        yield test_server


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium from Debian."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def post_call(server: TestServer, body: dict[str, Any]) -> dict[str, Any]:
    """Post a call through the public API as a call-taker would; returns the ack."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{server.port}/api/v1/calls",
            json=body,
            headers={"X-NG112-Role": "call_taker"},
        ) as response,
    ):
        assert response.status == 202, await response.text()
        ack: dict[str, Any] = await response.json()
        return ack


def artifact(name: str) -> Path:
    """Where a test keeps a screenshot (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
