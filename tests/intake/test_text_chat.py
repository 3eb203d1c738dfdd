"""Tests of intake.text_chat: frame parsing (tables and a property) and the session machine."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.model import CallId, CallStatus, CallStatusChanged, Channel, IncidentId
from intake.errors import FrameError, IntakeError, InvalidPosition, SessionClosed, TextTooLong
from intake.text_chat import (
    ChatSession,
    MessageFrame,
    OpenFrame,
    Party,
    PositionFrame,
    SessionState,
    parse_frame,
)

NOW = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
TOKEN = "t" * 32


def frame(**data: object) -> bytes:
    return orjson.dumps(data)


def test_open_frame() -> None:
    """An open frame carries the token, the app's session key, who and where."""
    parsed = parse_frame(
        frame(
            type="open",
            id="o1",
            device_token=TOKEN,
            session_key="k-1",
            name="Ayşe",
            language="tr",
            position={"lat": 41.0, "lon": 29.0, "radius_m": 5},
        )
    )
    assert parsed == OpenFrame(
        request_id="o1",
        device_token=TOKEN,
        session_key="k-1",
        name="Ayşe",
        language="tr",
        lat=41.0,
        lon=29.0,
        radius_m=5.0,
    )


@pytest.mark.parametrize(
    "text", ["<b>x</b>", "\u202eabc", "🚑", "\x00\x07", "مرحبا", "a\r\nb", "&amp;"]
)
def test_message_text_is_kept_exactly(text: str) -> None:
    """Markup, bidi controls, emoji and control characters are the caller's words, unchanged."""
    assert parse_frame(frame(type="message", id="m", text=text)) == MessageFrame(
        request_id="m", text=text
    )


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"{", FrameError),
        (b"[1]", FrameError),
        (frame(type="dance"), FrameError),
        (frame(type="message", id="m"), FrameError),
        (frame(type="message", id="m", text=""), FrameError),
        (frame(type="message", id="m" * 65, text="x"), FrameError),
        (frame(type="message", id="m", text="x" * 11), TextTooLong),
        (frame(type="open", device_token="short", session_key="k"), FrameError),
        (frame(type="open", device_token=TOKEN, session_key="k", language="Turkish"), FrameError),
        (frame(type="position", id="p", lat="41", lon=0), InvalidPosition),
        (frame(type="position", id="p", lat=41, lon=0, at="2025-01-01T00:00"), InvalidPosition),
        (frame(type="receipt", id="m", status="seen"), FrameError),
        (frame(type="typing", active="yes"), FrameError),
        (b" " * 70_000, FrameError),
    ],
)
def test_frame_rejections(raw: bytes, error: type[Exception]) -> None:
    """Each malformed frame raises its documented error."""
    with pytest.raises(error):
        parse_frame(raw, max_text_chars=10)


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_any_bytes_give_a_frame_or_a_documented_error(raw: bytes | str) -> None:
    """Fuzz: parse_frame never fails with anything but an IntakeError."""
    with contextlib.suppress(IntakeError):
        parse_frame(raw)


@given(
    st.dictionaries(
        st.sampled_from(["type", "id", "text", "lat", "lon", "active", "status", "kind"]),
        st.one_of(
            st.sampled_from(["open", "message", "position", "typing", "receipt", "signal"]),
            st.text(max_size=10),
            st.floats(),
            st.booleans(),
            st.none(),
        ),
    )
)
def test_any_object_gives_a_frame_or_a_documented_error(data: dict[str, object]) -> None:
    """Fuzz over plausible keys: a frame or an IntakeError."""
    with contextlib.suppress(IntakeError):
        parse_frame(orjson.dumps(data))


def test_position_ranges_are_checked_by_the_service() -> None:
    """A well-formed position frame parses; its range is checked when it becomes evidence."""
    parsed = parse_frame(frame(type="position", id="p", lat=91, lon=0))
    assert isinstance(parsed, PositionFrame)


def _session() -> ChatSession:
    return ChatSession(
        call_id=CallId("call-1"),
        incident_id=IncidentId("inc-1"),
        channel=Channel.TEXT,
        device_id="dev-1",
        number="+905321234567",
    )


def test_session_decides_and_evolves() -> None:
    """A message becomes one event; once applied, its resend is nothing; the first join
    answers; close ends the call and refuses later messages."""
    session = _session()
    message = MessageFrame(request_id="m1", text="yardım")
    event = session.message(Party.CALLER, message, now=NOW, plate=34)
    assert event is not None
    assert event.idempotency_key == "text:call-1:caller:m1"
    line = session.apply(7, event)
    assert line is not None
    assert line.to_json_dict()["text"] == "yardım"
    assert session.message(Party.CALLER, message, now=NOW, plate=34) is None
    assert session.message(Party.OPERATOR, message, now=NOW, plate=34) is not None
    [answered] = session.join("op-1", now=NOW, plate=34)
    session.apply(8, answered)
    assert (session.state, session.operator) == (SessionState.ACTIVE, "op-1")
    assert session.join("op-1", now=NOW, plate=34) == []
    [ended] = session.close(now=NOW, plate=34)
    assert isinstance(ended, CallStatusChanged)
    assert ended.status is CallStatus.ENDED
    session.apply(9, ended)
    assert session.close(now=NOW, plate=34) == []
    with pytest.raises(SessionClosed):
        session.message(Party.CALLER, MessageFrame(request_id="m9", text="x"), now=NOW, plate=34)
    with pytest.raises(SessionClosed):
        session.join("op-2", now=NOW, plate=34)
    assert Party.CALLER.peer is Party.OPERATOR
