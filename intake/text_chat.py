"""Text chat sessions for callers who cannot speak: frames and the session state machine (pure).

An app opens a session over a websocket; the session is a call (channel `text`, or
`sign_video` for a sign-language video session, which carries the same chat). The operator's
console joins it over its own websocket. This module holds what does not need I/O:

* `parse_frame` turns one websocket text frame into a typed frame, or raises a documented
  `SessionError` / `InvalidPosition` (a frame is a JSON object with a `type`; limits on bytes
  and on the message text, counted in code points; the text is kept exactly as given: right
  to left, emoji, control characters and markup are the caller's words, escaped only when
  shown);
* `ChatSession` decides (`message`, `join`, `close`) which events a frame produces, and
  evolves (`apply`) from committed events, so the session, its transcript and its dedupe set
  are rebuilt from the log after a restart (or from a snapshot: `copy`).

Typing indications and delivery receipts are relayed, not stored; messages are stored
before they are relayed or acknowledged.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

import orjson

from dispatch.model.events import CallStatusChanged, Event
from dispatch.model.ids import CallId, IncidentId, OperatorId
from dispatch.model.vocabulary import CallStatus, Channel
from intake.errors import FrameError, InvalidPosition, SessionClosed, TextTooLong
from intake.events import TextMessageSent

__all__ = [
    "MAX_FRAME_BYTES",
    "ChatMessage",
    "ChatSession",
    "CloseFrame",
    "Frame",
    "MessageFrame",
    "OpenFrame",
    "Party",
    "PositionFrame",
    "ReceiptFrame",
    "ResumeFrame",
    "SessionState",
    "SignalFrame",
    "TypingFrame",
    "parse_frame",
]

MAX_FRAME_BYTES: Final = 64 * 1024
"""Largest websocket frame read (an SDP offer fits; a chat message is limited separately)."""

_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,128}")
_MAX_NAME = 200


class Party(enum.StrEnum):
    """Who is on either end of a session."""

    CALLER = "caller"
    OPERATOR = "operator"

    @property
    def peer(self) -> Party:
        """The other end."""
        return Party.OPERATOR if self is Party.CALLER else Party.CALLER


class SessionState(enum.StrEnum):
    """Where a session is: waiting for an operator, held by one, or over."""

    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"


# -- frames -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenFrame:
    """The app opens a session: its device token, its own session key, who and where."""

    request_id: str | None
    device_token: str
    session_key: str
    name: str | None = None
    language: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeFrame:
    """The app comes back to a session after a dropped connection."""

    request_id: str | None
    device_token: str
    session: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageFrame:
    """A chat message with the sender's own id."""

    request_id: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TypingFrame:
    """The sender is (or stopped) typing."""

    active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptFrame:
    """The receiver got (`delivered`) or showed (`read`) a message."""

    message_id: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionFrame:
    """A position update from the app."""

    request_id: str
    lat: float
    lon: float
    radius_m: float | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalFrame:
    """A WebRTC signalling message (`offer`, `answer`, `ice`), checked by `sign_video`."""

    request_id: str | None
    kind: str
    sdp: str | None = None
    candidate: str | None = None
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseFrame:
    """Either end closes the session."""

    request_id: str | None
    reason: str | None = None


Frame = (
    OpenFrame
    | ResumeFrame
    | MessageFrame
    | TypingFrame
    | ReceiptFrame
    | PositionFrame
    | SignalFrame
    | CloseFrame
)


def _str(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise FrameError(f"frame field {key!r} is required")
        return None
    if not isinstance(value, str):
        raise FrameError(f"frame field {key!r} must be a string")
    return value


def _id(data: dict[str, Any], key: str = "id", *, required: bool = False) -> str | None:
    value = _str(data, key, required=required)
    if value is not None and _ID.fullmatch(value) is None:
        raise FrameError(f"frame field {key!r} must be 1..64 of A-Z a-z 0-9 . _ : -")
    return value


def _number(data: dict[str, Any], key: str, *, required: bool = False) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidPosition(f"position field {key!r} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPosition(f"position field {key!r} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidPosition(f"position field {key!r} must be finite")
    return number


def _time(data: dict[str, Any], key: str) -> datetime | None:
    text = _str(data, key)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidPosition(f"position field {key!r} must be an ISO 8601 time") from None
    if value.tzinfo is None:
        raise InvalidPosition(f"position field {key!r} must carry a UTC offset")
    return value


def _token(data: dict[str, Any]) -> str:
    token = _str(data, "device_token", required=True)
    if token is None or _TOKEN.fullmatch(token) is None:
        raise FrameError("frame field 'device_token' is malformed")
    return token


def _open(data: dict[str, Any]) -> OpenFrame:
    name = _str(data, "name")
    if name is not None and len(name) > _MAX_NAME:
        raise FrameError(f"frame field 'name' is longer than {_MAX_NAME} characters")
    language = _str(data, "language")
    if language is not None and _LANGUAGE.fullmatch(language) is None:
        raise FrameError("frame field 'language' must be an ISO 639 code (2-3 letters)")
    session_key = _id(data, "session_key", required=True)
    position = data.get("position")
    lat = lon = radius = None
    if position is not None:
        if not isinstance(position, dict):
            raise InvalidPosition("position must be an object with lat, lon and radius_m")
        lat = _number(position, "lat", required=True)
        lon = _number(position, "lon", required=True)
        radius = _number(position, "radius_m")
    return OpenFrame(
        request_id=_id(data),
        device_token=_token(data),
        session_key=session_key or "",
        name=name,
        language=language,
        lat=lat,
        lon=lon,
        radius_m=radius,
    )


def _message(data: dict[str, Any], max_text_chars: int) -> MessageFrame:
    request_id = _id(data, required=True) or ""
    text = _str(data, "text", required=True) or ""
    if not text:
        raise FrameError("frame field 'text' must not be empty")
    if len(text) > max_text_chars:
        raise TextTooLong(f"a message is at most {max_text_chars} characters")
    return MessageFrame(request_id=request_id, text=text)


def _typing(data: dict[str, Any]) -> TypingFrame:
    active = data.get("active", True)
    if not isinstance(active, bool):
        raise FrameError("frame field 'active' must be true or false")
    return TypingFrame(active=active)


def _receipt(data: dict[str, Any]) -> ReceiptFrame:
    message_id = _id(data, "id", required=True) or ""
    status = _str(data, "status", required=True)
    if status not in {"delivered", "read"}:
        raise FrameError("frame field 'status' must be 'delivered' or 'read'")
    return ReceiptFrame(message_id=message_id, status=status)


def _position(data: dict[str, Any]) -> PositionFrame:
    return PositionFrame(
        request_id=_id(data, required=True) or "",
        lat=_number(data, "lat", required=True) or 0.0,
        lon=_number(data, "lon", required=True) or 0.0,
        radius_m=_number(data, "radius_m"),
        at=_time(data, "at"),
    )


def _signal(data: dict[str, Any]) -> SignalFrame:
    index = data.get("sdp_mline_index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise FrameError("frame field 'sdp_mline_index' must be an integer")
    return SignalFrame(
        request_id=_id(data),
        kind=_str(data, "kind", required=True) or "",
        sdp=_str(data, "sdp"),
        candidate=_str(data, "candidate"),
        sdp_mid=_str(data, "sdp_mid"),
        sdp_mline_index=index,
    )


def _close(data: dict[str, Any]) -> CloseFrame:
    reason = _str(data, "reason")
    if reason is not None and len(reason) > _MAX_NAME:
        raise FrameError(f"frame field 'reason' is longer than {_MAX_NAME} characters")
    return CloseFrame(request_id=_id(data), reason=reason)


def parse_frame(raw: str | bytes, *, max_text_chars: int = 2_000) -> Frame:
    """One client frame, typed; raises `FrameError`, `TextTooLong` or `InvalidPosition`."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError(f"a frame is at most {MAX_FRAME_BYTES} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise FrameError("the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("the frame must be a JSON object")
    kind = data.get("type")
    if kind == "open":
        return _open(data)
    if kind == "resume":
        return ResumeFrame(
            request_id=_id(data),
            device_token=_token(data),
            session=_str(data, "session", required=True) or "",
        )
    if kind == "message":
        return _message(data, max_text_chars)
    if kind == "typing":
        return _typing(data)
    if kind == "receipt":
        return _receipt(data)
    if kind == "position":
        return _position(data)
    if kind == "signal":
        return _signal(data)
    if kind == "close":
        return _close(data)
    raise FrameError("the frame's 'type' is not one this endpoint knows")


# -- the session --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatMessage:
    """One transcript line."""

    seq: int
    sender: Party
    message_id: str
    text: str
    at: datetime
    actor: str | None = None

    def to_json_dict(self) -> dict[str, object]:
        """The line as a console or app receives it."""
        return {
            "type": "message",
            "id": self.message_id,
            "from": str(self.sender),
            "text": self.text,
            "seq": self.seq,
            "at": self.at.isoformat(),
        }


@dataclass(slots=True, kw_only=True)
class ChatSession:
    """One session's state: decide from frames, evolve from committed events."""

    call_id: CallId
    incident_id: IncidentId
    channel: Channel
    device_id: str
    number: str | None = None
    state: SessionState = SessionState.WAITING
    operator: str | None = None
    transcript: list[ChatMessage] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    # decide -------------------------------------------------------------------------------

    def message(
        self,
        sender: Party,
        frame: MessageFrame,
        *,
        now: datetime,
        plate: int | None,
        actor: str | None = None,
    ) -> TextMessageSent | None:
        """The event that stores a message, or None when that id was stored already."""
        if self.state is SessionState.CLOSED:
            raise SessionClosed("the session has ended")
        if (str(sender), frame.request_id) in self._seen:
            return None
        return TextMessageSent(
            occurred_at=now,
            idempotency_key=f"text:{self.call_id}:{sender}:{frame.request_id}",
            plate=plate,
            call_id=self.call_id,
            incident_id=self.incident_id,
            sender=str(sender),
            message_id=frame.request_id,
            text=frame.text,
            actor=actor,
        )

    def join(self, actor: str, *, now: datetime, plate: int | None) -> list[Event]:
        """An operator's console joins: the first one answers the call."""
        if self.state is SessionState.CLOSED:
            raise SessionClosed("the session has ended")
        if self.operator == actor:
            return []
        return [
            CallStatusChanged(
                occurred_at=now,
                idempotency_key=f"session:{self.call_id}:answered:{actor}",
                plate=plate,
                call_id=self.call_id,
                status=CallStatus.ANSWERED,
                operator=OperatorId(actor),
            )
        ]

    def close(self, *, now: datetime, plate: int | None) -> list[Event]:
        """Either end closes the session: the call ends (nothing when already closed)."""
        if self.state is SessionState.CLOSED:
            return []
        return [
            CallStatusChanged(
                occurred_at=now,
                idempotency_key=f"session:{self.call_id}:ended",
                plate=plate,
                call_id=self.call_id,
                status=CallStatus.ENDED,
            )
        ]

    def copy(self) -> ChatSession:
        """A session of its own with the same state, transcript and dedupe set."""
        return replace(self, transcript=list(self.transcript), _seen=set(self._seen))

    # evolve -------------------------------------------------------------------------------

    def apply(self, seq: int, event: Event) -> ChatMessage | None:
        """Fold a committed event of this session; returns the transcript line it added."""
        if isinstance(event, TextMessageSent):
            sender = Party(event.sender)
            self._seen.add((event.sender, event.message_id))
            line = ChatMessage(
                seq=seq,
                sender=sender,
                message_id=event.message_id,
                text=event.text,
                at=event.occurred_at,
                actor=event.actor,
            )
            self.transcript.append(line)
            return line
        if isinstance(event, CallStatusChanged):
            if event.status is CallStatus.ANSWERED and self.state is not SessionState.CLOSED:
                self.state = SessionState.ACTIVE
                self.operator = event.operator
            elif event.status in {CallStatus.ENDED, CallStatus.ABANDONED}:
                self.state = SessionState.CLOSED
        return None
