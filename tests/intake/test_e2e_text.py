"""End to end over websockets: an app and an operator's console holding a text session.

The app registers (one-time code), opens a session with its position, chats with the
operator (typing, receipts), sends a position update and closes; the call is in the log on
channel `text`, located, at the province's centre for text-capable operators, with the
transcript in its timeline exactly as typed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
import websockets

from dispatch.model import CallStatus, Channel
from tests.intake.conftest import Intake

HOSTILE = "<script>alert('x')</script> \u202eﻡﻼﺴﻟﺍ\u202c 🚑🆘 \x07\x1b[31m &amp; \u0000end"


async def next_of(ws: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of type `kind` (others, such as typing, are skipped)."""
    async with asyncio.timeout(10):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def send(ws: websockets.ClientConnection, **frame: Any) -> None:
    await ws.send(orjson.dumps(frame).decode())


async def open_session(
    intake: Intake, token: str, path: str = "/api/v1/text/ws", key: str = "s1"
) -> tuple[websockets.ClientConnection, dict[str, Any]]:
    app = await websockets.connect(intake.ws_url(path))
    await send(
        app,
        type="open",
        id="o1",
        device_token=token,
        session_key=key,
        name="Ayşe Yılmaz",
        language="tr",
        position={"lat": 39.9208, "lon": 32.8541, "radius_m": 30},
    )
    return app, await next_of(app, "opened")


async def test_text_session_between_app_and_console(intake: Intake) -> None:
    """Messages flow both ways with typing and receipts, each stored before it is relayed;
    positions continue; closing ends the call."""
    _, token = await intake.register("05321234567")
    app, opened = await open_session(intake, token)
    session = opened["session"]
    assert opened["channel"] == "text"
    await send(app, type="message", id="m1", text="Yardım edin, konuşamıyorum")
    stored = await next_of(app, "receipt")
    assert stored["status"] == "stored"
    console_url = f"/api/v1/text/ws?session={session}&role=call_taker&province=6"
    async with app, websockets.connect(intake.ws_url(console_url)) as console:
        joined = await next_of(console, "joined")
        assert [m["text"] for m in joined["transcript"]] == ["Yardım edin, konuşamıyorum"]
        await next_of(app, "operator_joined")
        await send(console, type="typing", active=True)
        assert (await next_of(app, "typing"))["from"] == "operator"
        await send(console, type="message", id="op-1", text="112, dinliyorum. Neredesiniz?")
        assert (await next_of(console, "receipt"))["status"] == "stored"
        relayed = await next_of(app, "message")
        assert (relayed["from"], relayed["text"]) == ("operator", "112, dinliyorum. Neredesiniz?")
        await send(app, type="receipt", id="op-1", status="delivered")
        receipt = await next_of(console, "receipt")
        assert (receipt["id"], receipt["status"]) == ("op-1", "delivered")
        await send(app, type="message", id="m2", text=HOSTILE)
        assert (await next_of(console, "message"))["text"] == HOSTILE
        await send(app, type="message", id="m2", text=HOSTILE)  # a resend is stored once
        assert (await next_of(app, "receipt"))["id"] == "m2"
        await send(app, type="position", id="p1", lat=39.9255, lon=32.8663, radius_m=8)
        assert (await next_of(app, "ack"))["id"] == "p1"
        position = await next_of(console, "position")
        assert position["radius_m"] == pytest.approx(8, abs=1)
        await send(app, type="message", id="m3", text="x" * 2001)
        error = await next_of(app, "error")
        assert (error["id"], error["code"]) == ("m3", "text_too_long")
        await send(app, type="close", id="c1")
        assert (await next_of(console, "closed"))["by"] == "caller"
    call = intake.engine.state.calls[session]
    assert call.channel is Channel.TEXT
    assert call.status is CallStatus.ENDED
    assert call.placement is not None
    assert (call.placement.plate, call.centre) == (6, "06")
    assert call.location is not None
    assert call.location.source == "app"
    received = call.received.event if call.received else None
    assert received is not None
    assert received.details["media_skill"] == "text"  # type: ignore[attr-defined]
    incident = intake.engine.state.incidents[call.incident_id]
    transcript = [
        (r.event.sender, r.event.text)  # type: ignore[attr-defined]
        for r in incident.timeline
        if r.event.event_type == "intake_text_message"
    ]
    assert transcript == [
        ("caller", "Yardım edin, konuşamıyorum"),
        ("operator", "112, dinliyorum. Neredesiniz?"),
        ("caller", HOSTILE),
    ]


async def test_app_resumes_its_session_after_a_dropped_connection(intake: Intake) -> None:
    """The app reconnects with resume and gets the transcript; another device may not."""
    _, token = await intake.register("05321234568")
    _, other = await intake.register("05321234569")
    app, opened = await open_session(intake, token)
    async with app:
        await send(app, type="message", id="m1", text="merhaba")
        await next_of(app, "receipt")
    async with websockets.connect(intake.ws_url("/api/v1/text/ws")) as again:
        await send(again, type="resume", device_token=other, session=opened["session"])
        assert (await next_of(again, "error"))["code"] == "not_your_session"
        await send(again, type="resume", device_token=token, session=opened["session"])
        resumed = await next_of(again, "opened")
    assert resumed["resumed"] is True
    assert [m["text"] for m in resumed["transcript"]] == ["merhaba"]


async def test_sessions_need_a_device_token_and_a_text_capable_console(intake: Intake) -> None:
    """An unknown device token is refused on open; a role that takes no calls cannot join."""
    async with websockets.connect(intake.ws_url("/api/v1/text/ws")) as app:
        await send(app, type="open", device_token="x" * 32, session_key="k")
        assert (await next_of(app, "error"))["code"] == "invalid_device_token"
        await send(app, type="message", id="m", text="hi")
        assert (await next_of(app, "error"))["code"] == "invalid_frame"
    _, token = await intake.register("05321234570")
    app, opened = await open_session(intake, token)
    async with app:
        url = f"/api/v1/text/ws?session={opened['session']}&role=agency_dispatcher"
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(intake.ws_url(url)):
                pass
        assert info.value.response.status_code == 403
    assert intake.engine.state.calls[opened["session"]].status is CallStatus.OFFERED
