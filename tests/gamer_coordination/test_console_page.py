"""The operator console in Chromium: take, classify, create, dispatch; text chat; escaping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import websockets
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from dispatch.app.composition import PACKAGES, compose
from tests.gamer_coordination.conftest import artifact, gamer_settings, post_call

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ISTANBUL = {"lat": 41.0082, "lon": 28.9784}
HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
EVERYTHING = (*PACKAGES, ("dispatch.units_lifespan", "units"))


@pytest.fixture
async def console_server(tmp_path: Path) -> AsyncIterator[TestServer]:
    """The whole engine (intake, call-taking, language desk, units, GAMER) on SQLite."""
    packages = tuple(dict.fromkeys(EVERYTHING))
    app = compose(gamer_settings(f"sqlite+aiosqlite:///{tmp_path}/ng112.db"), packages=packages)
    test_server = TestServer(app, host="127.0.0.1")
    async with test_server:
        yield test_server


async def _post(server: TestServer, path: str, body: dict[str, Any], role: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{server.port}{path}", json=body, headers={"X-NG112-Role": role}
        ) as response,
    ):
        assert response.status < 300, await response.text()
        return await response.json()


async def _console(browser: Browser, server: TestServer, query: str) -> Page:
    page = await browser.new_page(viewport={"width": 1500, "height": 950})
    await page.goto(f"http://127.0.0.1:{server.port}/console?{query}")
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#status")).to_have_attribute("data-status", "live")
    return page


async def test_call_taker_creates_and_dispatcher_dispatches(
    console_server: TestServer, browser: Browser
) -> None:
    """Through the pages only: take the call, classify it with the help, dispatch a unit."""
    await _post(
        console_server,
        "/api/v1/units",
        {
            "unit_id": "amb-34-1",
            "kind": "ambulance",
            "agency": "health",
            "centre": "34",
            "callsign": "İST-112-01",
            "home": {"lat": 41.015, "lon": 28.97},
        },
        "administrator",
    )
    taker = await _console(browser, console_server, "role=call_taker&province=34&operator=ct-1")
    await taker.keyboard.press("l")
    await expect(taker.locator("#operator-state")).to_have_attribute("data-state", "ready")
    text = f"babam kalp krizi geçiriyor, nefes almıyor {HOSTILE}"
    ack = await post_call(
        console_server,
        {
            "channel": "phone",
            "text": text,
            "caller": {"number": "+905321234567", "name": "Ayşe <b>Yılmaz</b>"},
            "location": {**ISTANBUL, "radius_m": 40},
        },
    )
    await expect(taker.locator("#queue li")).to_have_count(1)
    await taker.keyboard.press("n")
    await expect(taker.locator("#caller-text")).to_have_text(text)
    await expect(taker.locator('dd[data-fact="name"]')).to_have_text("Ayşe <b>Yılmaz</b>")
    await expect(taker.locator("#evidence li")).to_have_count(1)
    await expect(taker.locator("#suggested-type")).to_contain_text("medical.cardiac_arrest")
    await taker.keyboard.press("s")
    await expect(taker.locator("#c-type")).to_have_value("medical.cardiac_arrest")
    await taker.keyboard.press("c")
    incident = taker.locator(f'#incidents li[data-incident-id="{ack["incident_id"]}"]')
    await expect(incident).to_have_attribute("data-status", "classified")
    assert await taker.locator("#caller-text img, #caller-text script, dd b").count() == 0
    assert await taker.evaluate("window.pwned") is None
    await taker.screenshot(path=artifact("console-call-taker.png"))

    dispatcher = await _console(
        browser, console_server, "role=agency_dispatcher&province=34&agency=health"
    )
    row = dispatcher.locator(f'#incidents li[data-incident-id="{ack["incident_id"]}"]')
    await row.click()
    await expect(dispatcher.locator('#recommendations li[data-unit-id="amb-34-1"]')).to_be_visible()
    await dispatcher.keyboard.press("d")
    await expect(dispatcher.locator('#units li[data-unit-id="amb-34-1"]')).to_have_attribute(
        "data-status", "dispatched"
    )
    await expect(dispatcher.locator("#timeline")).to_contain_text("unit amb-34-1 dispatched")
    await dispatcher.screenshot(path=artifact("console-dispatcher.png"))
    await taker.close()
    await dispatcher.close()


async def _next_of(ws: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def test_text_chat_between_an_app_and_the_console(
    console_server: TestServer, browser: Browser
) -> None:
    """A deaf caller's app chats with the call-taker; both see each other's words as text."""
    challenge = await _post(
        console_server, "/api/v1/app/register", {"number": "05321234567"}, "call_taker"
    )
    device = await _post(
        console_server,
        "/api/v1/app/verify",
        {"challenge_id": challenge["challenge_id"], "code": challenge["code"]},
        "call_taker",
    )
    url = f"ws://127.0.0.1:{console_server.port}/api/v1/text/ws"
    async with websockets.connect(url) as app:
        await app.send(
            orjson.dumps(
                {
                    "type": "open",
                    "id": "o1",
                    "device_token": device["device_token"],
                    "session_key": "s1",
                    "language": "tr",
                    "position": {**ISTANBUL, "radius_m": 15},
                }
            ).decode()
        )
        await _next_of(app, "opened")
        await app.send(orjson.dumps({"type": "message", "id": "m1", "text": HOSTILE}).decode())
        await _next_of(app, "receipt")
        taker = await _console(browser, console_server, "role=call_taker&province=34&operator=tx")
        await taker.keyboard.press("l")
        await expect(taker.locator("#operator-state")).to_have_attribute("data-state", "ready")
        await taker.keyboard.press("n")
        chat = taker.locator("#chat")
        await expect(chat.locator(".chat-text").first).to_have_text(HOSTILE)
        await _next_of(app, "operator_joined")
        await app.send(
            orjson.dumps({"type": "message", "id": "m2", "text": "konuşamıyorum"}).decode()
        )
        await expect(chat).to_contain_text("konuşamıyorum")
        await taker.keyboard.press("t")
        await taker.keyboard.type("112, neredesiniz?")
        await taker.keyboard.press("Enter")
        relayed = await _next_of(app, "message")
        assert (relayed["from"], relayed["text"]) == ("operator", "112, neredesiniz?")
        assert await chat.locator("img, script").count() == 0
        assert await taker.evaluate("window.pwned") is None
        await taker.screenshot(path=artifact("console-text-chat.png"))
        await taker.close()
