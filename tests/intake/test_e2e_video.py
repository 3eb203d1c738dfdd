"""End to end over websockets: an app and a signing operator's console exchange WebRTC
signalling for a sign-language (TİD) video session, with text chat in the same session."""

from __future__ import annotations

import pytest
import websockets

from dispatch.model import Channel
from tests.intake.conftest import Intake
from tests.intake.test_e2e_text import next_of, open_session, send

OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
)
ANSWER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
CANDIDATE = "candidate:842163049 1 udp 1677729535 192.0.2.10 46154 typ srflx raddr 0.0.0.0 rport 0"


async def test_sign_video_signalling_between_app_and_console(intake: Intake) -> None:
    """The app's offer waits for the operator, who answers; ICE flows both ways; chat works
    in the same session; the call is a located sign_video call for signing operators."""
    _, token = await intake.register("05321234571")
    app, opened = await open_session(intake, token, path="/api/v1/video/ws")
    session = opened["session"]
    assert opened["channel"] == "sign_video"
    await send(app, type="signal", id="s1", kind="offer", sdp=OFFER)
    assert (await next_of(app, "ack"))["id"] == "s1"
    await send(app, type="signal", id="s2", kind="ice", candidate=CANDIDATE, sdp_mid="0")
    await next_of(app, "ack")
    refused_url = f"/api/v1/video/ws?session={session}&role=call_taker&province=6"
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(intake.ws_url(refused_url)):
            pass
    assert info.value.response.status_code == 403
    console_url = f"/api/v1/video/ws?session={session}&role=sign_language_operator&province=6"
    async with app, websockets.connect(intake.ws_url(console_url)) as console:
        await next_of(console, "joined")
        offer = await next_of(console, "signal")
        assert (offer["from"], offer["kind"], offer["sdp"]) == ("caller", "offer", OFFER)
        ice = await next_of(console, "signal")
        assert (ice["kind"], ice["candidate"], ice["sdp_mid"]) == ("ice", CANDIDATE, "0")
        await send(console, type="signal", id="a1", kind="answer", sdp=ANSWER)
        answer = await next_of(app, "signal")
        assert (answer["from"], answer["kind"], answer["sdp"]) == ("operator", "answer", ANSWER)
        await send(console, type="signal", id="a2", kind="ice", candidate=CANDIDATE)
        assert (await next_of(app, "signal"))["kind"] == "ice"
        await send(app, type="signal", id="s3", kind="ice", candidate="")
        assert (await next_of(console, "signal"))["candidate"] == ""
        await send(console, type="message", id="op-1", text="Merhaba, sizi görüyorum")
        assert (await next_of(app, "message"))["text"] == "Merhaba, sizi görüyorum"
        await send(app, type="signal", id="bad1", kind="answer", sdp=ANSWER)
        error = await next_of(app, "error")
        assert (error["id"], error["code"]) == ("bad1", "invalid_signalling")
        await send(app, type="signal", id="bad2", kind="offer", sdp="v=0" + "a" * 20_000)
        assert (await next_of(app, "error"))["code"] == "invalid_signalling"
        await send(app, type="close", id="end")
        await next_of(console, "closed")
    call = intake.engine.state.calls[session]
    assert call.channel is Channel.SIGN_VIDEO
    assert call.placement is not None
    assert call.placement.plate == 6
    assert call.centre == "06"
    received = call.received.event if call.received else None
    assert received is not None
    assert received.details["media_skill"] == "tid"  # type: ignore[attr-defined]
    types = intake.timeline_types(session)
    assert types.count("intake_sign_video_negotiated") == 1
    assert types.count("intake_text_message") == 1


async def test_signalling_is_refused_on_a_text_session(intake: Intake) -> None:
    """A text session carries no video: a signal frame is refused with its reason."""
    _, token = await intake.register("05321234572")
    app, _ = await open_session(intake, token)
    async with app:
        await send(app, type="signal", id="s1", kind="offer", sdp=OFFER)
        error = await next_of(app, "error")
    assert (error["id"], error["code"]) == ("s1", "invalid_signalling")
