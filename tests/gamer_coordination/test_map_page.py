"""The live map in Chromium: live incidents, provincial scope, hostile caller text."""

from __future__ import annotations

import orjson
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, WebSocket, expect

from tests.gamer_coordination.conftest import artifact, post_call

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ISTANBUL = {"lat": 41.0082, "lon": 28.9784}
ANKARA = {"lat": 39.9208, "lon": 32.8541}


async def test_a_posted_call_appears_on_the_map_and_in_the_list(
    page_server: TestServer, browser: Browser
) -> None:
    """A call posted through the API shows within a second as a marker and a list row."""
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.goto(f"http://127.0.0.1:{page_server.port}/map?role=central_coordinator")
    await expect(page.locator("#status")).to_have_attribute("data-status", "live")
    await expect(page.locator("path.leaflet-interactive").first).to_be_attached()
    ack = await post_call(
        page_server, {"channel": "phone", "text": "evde yangın var", "location": ISTANBUL}
    )
    row = page.locator(f'#incidents li[data-incident-id="{ack["incident_id"]}"]')
    await expect(row).to_be_visible(timeout=1000)
    marker = page.locator(f'[data-incident-id="{ack["incident_id"]}"]').first
    await expect(marker).to_be_attached(timeout=1000)
    await expect(row).to_contain_text("İstanbul")
    await row.click()
    await expect(page.locator("#timeline li").first).to_be_visible()
    await expect(page.locator("#timeline")).to_contain_text("call received")
    await page.screenshot(path=artifact("map.png"))
    await page.close()


async def test_a_provincial_page_never_receives_another_province(
    page_server: TestServer, browser: Browser
) -> None:
    """İstanbul's coordinator's websocket carries İstanbul's incidents and nothing of Ankara's."""
    frames: list[dict[str, object]] = []

    def watch(socket: WebSocket) -> None:
        if "/api/v1/gamer/stream" in socket.url:
            socket.on("framereceived", lambda payload: frames.append(orjson.loads(payload)))

    before = await post_call(page_server, {"channel": "phone", "location": ANKARA})
    page = await browser.new_page()
    page.on("websocket", watch)
    await page.goto(
        f"http://127.0.0.1:{page_server.port}/map?role=provincial_coordinator&province=34"
    )
    await expect(page.locator("#status")).to_have_attribute("data-status", "live")
    ankara = await post_call(page_server, {"channel": "phone", "location": ANKARA})
    istanbul = await post_call(page_server, {"channel": "phone", "location": ISTANBUL})
    await expect(
        page.locator(f'#incidents li[data-incident-id="{istanbul["incident_id"]}"]')
    ).to_be_visible()
    await page.close()
    keys = [c["key"] for f in frames for c in f["changes"]]  # type: ignore[attr-defined]
    values = [c["value"] for f in frames for c in f["changes"]]  # type: ignore[attr-defined]
    assert f"incident/{istanbul['incident_id']}" in keys
    assert f"incident/{ankara['incident_id']}" not in keys
    assert f"incident/{before['incident_id']}" not in keys
    assert "national" not in keys
    assert all(v is None or v.get("plate") in {34, None} for v in values)
    assert b"Ankara" not in orjson.dumps(frames)


async def test_caller_text_with_markup_is_shown_as_text(
    page_server: TestServer, browser: Browser
) -> None:
    """A note holding <script> and <img onerror> shows literally in the timeline; nothing runs."""
    hostile = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
    ack = await post_call(page_server, {"channel": "text", "text": hostile, "location": ISTANBUL})
    page = await browser.new_page()
    await page.goto(f"http://127.0.0.1:{page_server.port}/map?role=call_taker")
    row = page.locator(f'#incidents li[data-incident-id="{ack["incident_id"]}"]')
    await row.click()
    timeline = page.locator("#timeline")
    await expect(timeline).to_contain_text("call received")
    async with page.expect_response(lambda r: "/actions" in r.url):
        await page.evaluate(
            """async ([id, text]) => {
                await fetch(`/api/v1/incidents/${id}/actions?role=call_taker`, {
                    method: "POST", headers: {"Content-Type": "application/json"},
                    body: JSON.stringify({action: "note", text})});
            }""",
            [ack["incident_id"], hostile],
        )
    await expect(timeline).to_contain_text(f"note: {hostile}")
    assert await page.locator("#timeline img, #timeline script").count() == 0
    assert await page.evaluate("window.pwned") is None
    await page.close()
