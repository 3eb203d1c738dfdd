"""Websocket endpoints of the intake channels: the CTI gateway feed and chat/video sessions.

`/api/v1/phone/ws` carries the same JSON events as `POST /api/v1/phone/events`, one per text
frame, each answered in order by `{"type": "ack", "id", ...}` after commit or
`{"type": "error", "id", "code", "reason"}`.

`/api/v1/text/ws` and `/api/v1/video/ws` carry a session. The app's first frame is `open`
(device token, its own session key, name, language, position) or `resume` (after a dropped
connection); the answer `opened` names the session (the call id). An operator's console
joins with `?session=<call id>` (its principal from the request: a bearer token, or in
development mode `?role=&province=`) and gets `joined` with the transcript so far. Then
either end sends `message` (stored, then acknowledged with a `receipt` of status `stored`
and relayed), `typing`, `receipt` (`delivered`/`read`, relayed), `close`; the app sends
`position`; on `/video/ws` both send `signal` (WebRTC offer, answer, ICE; relayed, kept for
an end that has not joined yet). Each connection writes through a bounded queue drained by
its own task, so a slow end never holds up the other; one that falls too far behind is
closed (it can `resume`: the transcript is in the log).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Final

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from dispatch.adapters.http import METRICS, ApiError, principal_of
from dispatch.model.access import AccessDenied
from dispatch.model.ids import CallId
from dispatch.model.vocabulary import Channel
from intake.adapters.http import INTAKE, apply_phone_event, error_status, intake_errors
from intake.adapters.http import parse_phone_event as _parse_phone_event
from intake.errors import FrameError, IntakeError
from intake.service import IntakeService
from intake.text_chat import (
    MAX_FRAME_BYTES,
    ChatSession,
    CloseFrame,
    Frame,
    MessageFrame,
    OpenFrame,
    Party,
    PositionFrame,
    ReceiptFrame,
    ResumeFrame,
    SignalFrame,
    TypingFrame,
    parse_frame,
)

logger = logging.getLogger(__name__)

__all__ = ["HUB", "Connection", "SessionHub", "add_routes"]

OUTGOING_QUEUE: Final = 256
"""Messages waiting to be written to one connection before it counts as too slow."""
OPEN_TIMEOUT_S: Final = 30.0
_ID: Final = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
"""How long an app connection may wait before sending `open` or `resume`."""


class Connection:
    """One websocket's writer: a bounded queue drained by its own task."""

    def __init__(self, ws: web.WebSocketResponse, *, queue_size: int = OUTGOING_QUEUE) -> None:
        self.ws = ws
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(queue_size)
        self.too_slow = False

    def send(self, message: dict[str, object]) -> None:
        """Queue a message without waiting; a connection that cannot keep up is closed."""
        if self.too_slow:
            return
        try:
            self._queue.put_nowait(orjson.dumps(message))
        except asyncio.QueueFull:
            self.too_slow = True
            _drain(self._queue)
            self._queue.put_nowait(None)

    def stop(self) -> None:
        """Let the writer finish what is queued, then stop."""
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self.too_slow = True
            _drain(self._queue)
            self._queue.put_nowait(None)

    async def run_writer(self) -> None:
        """Write queued messages until stopped; close the socket of a too-slow client."""
        while True:
            message = await self._queue.get()
            if message is None:
                break
            try:
                await self.ws.send_str(message.decode())
            except (ConnectionResetError, RuntimeError):
                break
        if self.too_slow:
            await self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")


def _drain(queue: asyncio.Queue[bytes | None]) -> None:
    while not queue.empty():
        queue.get_nowait()


@dataclass(slots=True)
class _Link:
    ends: dict[Party, Connection] = field(default_factory=dict)


class SessionHub:
    """Which connection holds which end of which session."""

    def __init__(self) -> None:
        self._links: dict[CallId, _Link] = {}

    @property
    def connection_count(self) -> int:
        """Connected session ends."""
        return sum(len(link.ends) for link in self._links.values())

    def attach(self, call_id: CallId, party: Party, connection: Connection) -> Connection | None:
        """`connection` now holds `party`'s end; returns the connection it replaced."""
        link = self._links.setdefault(call_id, _Link())
        replaced = link.ends.get(party)
        link.ends[party] = connection
        return replaced

    def detach(self, call_id: CallId, party: Party, connection: Connection) -> bool:
        """`connection` left; returns whether it still held the end."""
        link = self._links.get(call_id)
        if link is None or link.ends.get(party) is not connection:
            return False
        del link.ends[party]
        if not link.ends:
            del self._links[call_id]
        return True

    def end(self, call_id: CallId, party: Party) -> Connection | None:
        """The connection holding `party`'s end, if any."""
        link = self._links.get(call_id)
        return None if link is None else link.ends.get(party)

    def all_connections(self) -> list[Connection]:
        """Every connected end (for shutdown)."""
        return [c for link in self._links.values() for c in link.ends.values()]


HUB = web.AppKey("intake_session_hub", SessionHub)


def _error(exc: IntakeError, request: web.Request, request_id: str | None) -> dict[str, object]:
    status, code = error_status(exc)
    request.app[METRICS].rejected.labels(code).inc()
    return {"type": "error", "id": request_id, "code": code, "reason": str(exc), "status": status}


def _raw_id(raw: str) -> str | None:
    """The `id` of a frame that failed its checks, when it is a plain short id."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, str) and _ID.fullmatch(value):
        return value
    return None


def _request_id(frame: Frame) -> str | None:
    if isinstance(frame, MessageFrame | PositionFrame):
        return frame.request_id
    if isinstance(frame, OpenFrame | ResumeFrame | SignalFrame | CloseFrame):
        return frame.request_id
    return None


# -- phone ----------------------------------------------------------------------------------


@intake_errors
async def phone_ws(request: web.Request) -> web.WebSocketResponse:
    """`GET /api/v1/phone/ws`: the gateway's event feed, each event acknowledged after commit."""
    principal_of(request).require_ingest()
    service = request.app[INTAKE]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES * 4)
    await ws.prepare(request)
    async for message in ws:
        if message.type is not WSMsgType.TEXT:
            if message.type is WSMsgType.BINARY:
                await ws.send_json(
                    {
                        "type": "error",
                        "id": None,
                        "code": "invalid_frame",
                        "reason": "send JSON text frames",
                    }
                )
                continue
            break
        reply = await _phone_frame(service, request, message.data)
        await ws.send_str(orjson.dumps(reply).decode())
    return ws


async def _phone_frame(
    service: IntakeService, request: web.Request, data: str
) -> dict[str, object]:
    request_id: str | None = None
    try:
        decoded = orjson.loads(data)
        if isinstance(decoded, dict) and isinstance(decoded.get("id"), str):
            request_id = decoded["id"]
        event = _parse_phone_event(decoded)
        return await apply_phone_event(service, event, request)
    except orjson.JSONDecodeError:
        request.app[METRICS].rejected.labels("malformed_json").inc()
        return {
            "type": "error",
            "id": None,
            "code": "malformed_json",
            "reason": "the frame is not valid JSON",
        }
    except ApiError as exc:
        request.app[METRICS].rejected.labels(exc.code).inc()
        return {"type": "error", "id": request_id, "code": exc.code, "reason": exc.reason}
    except IntakeError as exc:
        return _error(exc, request, request_id)
    except AccessDenied as exc:
        request.app[METRICS].rejected.labels("forbidden").inc()
        return {"type": "error", "id": request_id, "code": "forbidden", "reason": str(exc)}


# -- sessions -------------------------------------------------------------------------------


async def _serve(ws: web.WebSocketResponse, body: Callable[[Connection], Awaitable[None]]) -> None:
    """Run a connection's reader (`body`) beside its writer task."""
    connection = Connection(ws)
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(connection.run_writer(), name="ng112-intake-ws-writer")
        try:
            await body(connection)
        finally:
            connection.stop()


async def _frames(ws: web.WebSocketResponse) -> Callable[[], Awaitable[str | None]]:
    async def next_frame() -> str | None:
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                text: str = message.data
                return text
            if message.type is WSMsgType.BINARY:
                return "\x00binary"
            return None
        return None

    return next_frame


class _SessionEnd:
    """One connected end of a session and how its frames are handled."""

    def __init__(
        self,
        request: web.Request,
        *,
        service: IntakeService,
        hub: SessionHub,
        session: ChatSession,
        party: Party,
        connection: Connection,
        actor: str | None,
    ) -> None:
        self.request = request
        self.service = service
        self.hub = hub
        self.session = session
        self.party = party
        self.connection = connection
        self.actor = actor

    def peer(self) -> Connection | None:
        return self.hub.end(self.session.call_id, self.party.peer)

    def attach(self) -> None:
        replaced = self.hub.attach(self.session.call_id, self.party, self.connection)
        if replaced is not None and replaced is not self.connection:
            replaced.send({"type": "replaced", "reason": "another connection took this end"})
            replaced.stop()
        relay = self.service.relays.get(self.session.call_id)
        if relay is not None:
            for signal in relay.connected(self.party):
                self.connection.send(signal.to_json_dict())

    def detach(self) -> None:
        if self.hub.detach(self.session.call_id, self.party, self.connection):
            relay = self.service.relays.get(self.session.call_id)
            if relay is not None:
                relay.disconnected(self.party)
            peer = self.peer()
            if peer is not None:
                peer.send({"type": "left", "from": str(self.party)})

    async def run(self, next_frame: Callable[[], Awaitable[str | None]]) -> None:
        limit = self.service.settings.text_max_chars
        while True:
            raw = await next_frame()
            if raw is None:
                return
            frame: Frame | None = None
            try:
                if raw == "\x00binary":
                    raise FrameError("send JSON text frames")
                frame = parse_frame(raw, max_text_chars=limit)
                if await self.handle(frame):
                    return
            except IntakeError as exc:
                request_id = _raw_id(raw) if frame is None else _request_id(frame)
                self.connection.send(_error(exc, self.request, request_id))

    async def handle(self, frame: Frame) -> bool:
        """Handle one frame; returns True when the session is over."""
        service, session, connection = self.service, self.session, self.connection
        if isinstance(frame, MessageFrame):
            line, seq = await service.session_message(session, self.party, frame, self.actor)
            connection.send(
                {"type": "receipt", "id": frame.request_id, "status": "stored", "seq": seq}
            )
            peer = self.peer()
            if line is not None and peer is not None:
                peer.send(line.to_json_dict())
        elif isinstance(frame, TypingFrame):
            peer = self.peer()
            if peer is not None:
                peer.send({"type": "typing", "from": str(self.party), "active": frame.active})
        elif isinstance(frame, ReceiptFrame):
            peer = self.peer()
            if peer is not None:
                peer.send(
                    {
                        "type": "receipt",
                        "id": frame.message_id,
                        "status": frame.status,
                        "from": str(self.party),
                    }
                )
        elif isinstance(frame, PositionFrame):
            if self.party is not Party.CALLER:
                raise FrameError("only the app sends positions")
            ack = await service.session_position(session, frame)
            connection.send(
                {"type": "ack", "id": frame.request_id, "seq": ack.seq, "duplicate": ack.duplicate}
            )
            peer = self.peer()
            call = service.engine.state.calls.get(session.call_id)
            if peer is not None and call is not None and call.location is not None:
                best = call.location
                peer.send(
                    {
                        "type": "position",
                        "lat": best.lat,
                        "lon": best.lon,
                        "radius_m": best.radius_m,
                        "source": best.source,
                    }
                )
        elif isinstance(frame, SignalFrame):
            signal = await service.signal(session, self.party, frame, self.actor)
            connection.send({"type": "ack", "id": frame.request_id, "kind": str(signal.kind)})
            peer = self.peer()
            if peer is not None:
                peer.send(signal.to_json_dict())
        elif isinstance(frame, CloseFrame):
            await service.close_session(session)
            connection.send({"type": "closed", "id": frame.request_id, "by": str(self.party)})
            peer = self.peer()
            if peer is not None:
                peer.send({"type": "closed", "by": str(self.party)})
                peer.stop()
            return True
        else:
            raise FrameError("the session is open already")
        return False


def _session_json(session: ChatSession) -> dict[str, object]:
    return {
        "session": session.call_id,
        "incident_id": session.incident_id,
        "channel": str(session.channel),
        "state": str(session.state),
        "transcript": [line.to_json_dict() for line in session.transcript],
    }


def session_endpoint(channel: Channel) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler of `/api/v1/text/ws` (channel text) or `/api/v1/video/ws` (sign_video)."""

    @intake_errors
    async def handler(request: web.Request) -> web.StreamResponse:
        service = request.app[INTAKE]
        hub = request.app[HUB]
        principal = principal_of(request)
        session_id = request.query.get("session")
        console = None
        if session_id is not None:  # an operator's console joins (checked before upgrading)
            console = service.operator_session(session_id, principal)
            if console.channel is not channel:
                raise ApiError(409, "wrong_channel", "the session is on the other endpoint")
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        next_frame = await _frames(ws)

        async def body(connection: Connection) -> None:
            if console is not None:
                await service.join_session(console, principal)
                end = _SessionEnd(
                    request,
                    service=service,
                    hub=hub,
                    session=console,
                    party=Party.OPERATOR,
                    connection=connection,
                    actor=principal.subject,
                )
                connection.send({"type": "joined", **_session_json(console)})
                end.attach()
                caller = end.peer()
                if caller is not None:
                    caller.send({"type": "operator_joined"})
            else:
                opened = await _open(request, service, channel, connection, next_frame)
                if opened is None:
                    return
                end = _SessionEnd(
                    request,
                    service=service,
                    hub=hub,
                    session=opened,
                    party=Party.CALLER,
                    connection=connection,
                    actor=None,
                )
                end.attach()
                operator = end.peer()
                if operator is not None:
                    operator.send({"type": "caller_joined"})
            try:
                await end.run(next_frame)
            finally:
                end.detach()

        await _serve(ws, body)
        await ws.close()
        return ws

    return handler


async def _open(
    request: web.Request,
    service: IntakeService,
    channel: Channel,
    connection: Connection,
    next_frame: Callable[[], Awaitable[str | None]],
) -> ChatSession | None:
    """Read the app's `open` or `resume` and answer `opened`; None when it never came."""
    while True:
        try:
            async with asyncio.timeout(OPEN_TIMEOUT_S):
                raw = await next_frame()
        except TimeoutError:
            connection.send(
                {
                    "type": "error",
                    "id": None,
                    "code": "open_timeout",
                    "reason": "send open or resume first",
                }
            )
            return None
        if raw is None:
            return None
        frame: Frame | None = None
        try:
            if raw == "\x00binary":
                raise FrameError("send JSON text frames")
            frame = parse_frame(raw, max_text_chars=service.settings.text_max_chars)
            if isinstance(frame, OpenFrame):
                session, ack = await service.open_session(frame, channel, principal_of(request))
                resumed = ack.duplicate
            elif isinstance(frame, ResumeFrame):
                session = service.resume_session(frame.device_token, frame.session)
                resumed = True
                if session.channel is not channel:
                    raise FrameError("the session is on the other endpoint")
            else:
                raise FrameError("the first frame must be open or resume")
        except IntakeError as exc:
            request_id = _raw_id(raw) if frame is None else _request_id(frame)
            connection.send(_error(exc, request, request_id))
            continue
        except AccessDenied as exc:
            request.app[METRICS].rejected.labels("forbidden").inc()
            connection.send(
                {
                    "type": "error",
                    "id": _request_id(frame) if frame else None,
                    "code": "forbidden",
                    "reason": str(exc),
                }
            )
            return None
        connection.send(
            {
                "type": "opened",
                "id": frame.request_id,
                "resumed": resumed,
                "seq": service.engine.state.last_seq,
                **_session_json(session),
            }
        )
        return session


async def close_all(app: web.Application) -> None:
    """Shutdown: tell every session end the server is going away and close it."""
    for connection in app[HUB].all_connections():
        connection.send({"type": "shutdown"})
        connection.stop()
        with suppress(ConnectionResetError, RuntimeError):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown")


def add_routes(app: web.Application) -> None:
    """Add the websocket routes (the hub is created here)."""
    app[HUB] = SessionHub()
    app.router.add_get("/api/v1/phone/ws", phone_ws)
    app.router.add_get("/api/v1/text/ws", session_endpoint(Channel.TEXT))
    app.router.add_get("/api/v1/video/ws", session_endpoint(Channel.SIGN_VIDEO))
    app.on_shutdown.append(close_all)
