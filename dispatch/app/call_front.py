"""Front processes: gateways' call batches parsed, located, classified and decided off the loop.

The engine's loop is one thread. At surge rates most of its time per call went to work
that depends on no engine state: validating the JSON, placing the caller on the
boundaries, suggesting a type and building the call's two events. A front process does
that for a whole batch and hands back the decided events; the loop then only recognises
retries, commits and feeds the projections (``Engine.receive_decided``). Nothing is
acknowledged before the commit, as on the in-loop path, and a bad body gets the same
precise error.

A front is a child interpreter (``python -m dispatch.app.call_front``) loading its own
boundaries, talking over its stdin and stdout in length-prefixed MessagePack frames:

- request: ``[request_id, body]``;
- answer: ``[request_id, DECIDED, calls]``, where ``calls`` is the MessagePack of
  ``[[key, call_id, incident_id, call_received, incident_opened], ...]`` (decoded in one
  typed pass on the loop),
  ``[request_id, REFUSED, [status, code, reason]]`` or ``[request_id, FAILED, message]``;
- once loaded: ``[0, LOADED, null]``.

A batch whose front fails, dies or is not up yet is decided on the loop instead
(:class:`~dispatch.ports.FrontUnavailable`); a dead front is started again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

import msgspec
from aiohttp import web

from dispatch.adapters.http import CALL_FRONT, READY, ApiError, parse_body
from dispatch.adapters.schemas import CallBatchIn
from dispatch.app.child_process import SupervisedChild, frame, read_frame
from dispatch.core.decide import DecidedCall
from dispatch.model.events import CallReceived, IncidentOpened
from dispatch.model.ids import CallId, IncidentId
from dispatch.ports import FrontUnavailable, Locator
from dispatch.service import decide_new_call

logger = logging.getLogger(__name__)

DECIDED, REFUSED, FAILED, LOADED = 0, 1, 2, 3

_encode = msgspec.msgpack.Encoder().encode

#: A decided call on the wire: its key, ids and its two events, decoded by msgspec in one
#: pass over the whole answer.
WireCall = tuple[str | None, str, str, CallReceived, IncidentOpened]
_decode_calls = msgspec.msgpack.Decoder(list[WireCall]).decode


def decide_batch(body: bytes, locator: Locator, now: datetime) -> list[WireCall]:
    """A batch body's calls decided, in the wire form; :class:`ApiError` for a bad body."""
    batch = parse_body(body, CallBatchIn)
    decided: list[WireCall] = []
    for call in batch.calls:
        new = decide_new_call(call.to_command(), locator=locator, now=now)
        received, opened = new.events
        if not isinstance(received, CallReceived) or not isinstance(opened, IncidentOpened):
            raise TypeError("a new call decides a CallReceived and an IncidentOpened")
        decided.append((new.idempotency_key, new.call_id, new.incident_id, received, opened))
    return decided


def answer(request_id: int, body: bytes, locator: Locator) -> list[Any]:
    """The answer frame's message to one request."""
    try:
        decided = _encode(decide_batch(body, locator, datetime.now(UTC)))
    except ApiError as exc:
        return [request_id, REFUSED, [exc.status, exc.code, exc.reason]]
    except Exception as exc:
        logger.exception("call front failed on a batch")
        return [request_id, FAILED, f"{type(exc).__name__}: {exc}"]
    return [request_id, DECIDED, decided]


def decided_calls(answer: bytes) -> list[DecidedCall]:
    """The decided calls of a DECIDED answer's body (its MessagePack) as domain values."""
    return [
        DecidedCall(
            idempotency_key=key,
            call_id=CallId(call_id),
            incident_id=IncidentId(incident_id),
            events=(received, opened),
        )
        for key, call_id, incident_id, received, opened in _decode_calls(answer)
    ]


# -- the child process ---------------------------------------------------------------------


def serve(source: BinaryIO, sink: BinaryIO, locator: Locator) -> None:
    """Answer requests from ``source`` on ``sink`` until ``source`` ends."""
    sink.write(frame([0, LOADED, None]))
    sink.flush()
    while (request := read_frame(source)) is not None:
        request_id, body = request
        sink.write(frame(answer(request_id, body, locator)))
        sink.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """The child: load the boundaries its parent names, then serve frames on stdin/stdout."""
    from dispatch.app.routing_wiring import GazetteerLocator  # noqa: PLC0415 - child only
    from routing import Gazetteer, RoutingSettings  # noqa: PLC0415 - child only

    args = sys.argv[1:] if argv is None else list(argv)
    section = msgspec.json.decode(args[0]) if args else {}
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Frames own the real stdout; anything a library prints goes to stderr instead.
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    locator = GazetteerLocator(Gazetteer.from_settings(RoutingSettings.model_validate(section)))
    with sink:
        serve(sys.stdin.buffer, sink, locator)
    return 0


# -- the engine's side ---------------------------------------------------------------------


class _Child(SupervisedChild):
    """One front process, started again when it dies until the front stops."""

    def __init__(
        self, section: dict[str, Any], name: str, on_ready: Callable[[], None] | None = None
    ) -> None:
        super().__init__(
            [
                sys.executable,
                "-m",
                "dispatch.app.call_front",
                msgspec.json.encode(section).decode(),
            ],
            f"call front {name}",
        )
        self._on_ready = on_ready
        self.ready = False
        #: set while the child is loaded and answering
        self.up = asyncio.Event()
        self.answered = 0
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self._next_id = 0

    def ended(self) -> None:
        """Its batches are decided on the loop instead."""
        self.ready = False
        self.up.clear()
        for future in self.pending.values():
            if not future.done():
                future.set_exception(FrontUnavailable(f"{self.name} exited"))
        self.pending.clear()

    def received(self, message: Any) -> None:
        """An answer, or the news that the child has loaded its boundaries."""
        request_id, kind, body = message
        if kind == LOADED:
            self.ready = True
            self.up.set()
            logger.info("%s ready", self.name)
            if self._on_ready is not None:
                self._on_ready()
            return
        future = self.pending.pop(request_id, None)
        if future is None or future.done():
            return
        self.answered += 1
        if kind == DECIDED:
            future.set_result(body)
        elif kind == REFUSED:
            status, code, reason = body
            future.set_exception(ApiError(status, code, reason))
        else:
            future.set_exception(FrontUnavailable(f"{self.name}: {body}"))

    async def decide(self, body: bytes) -> bytes:
        """Send one batch body; its decided calls in the wire form (MessagePack)."""
        if not self.ready:
            raise FrontUnavailable(f"{self.name} is not up")
        self._next_id += 1
        request_id = self._next_id
        writer = self.send([request_id, body])
        if writer is None:
            raise FrontUnavailable(f"{self.name} is not up")
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        try:
            await writer.drain()
        except ConnectionError as exc:
            self.pending.pop(request_id, None)
            raise FrontUnavailable(f"{self.name} went away") from exc
        return await future


class ProcessFront:
    """The engine's :class:`~dispatch.ports.CallFront`: a few child processes."""

    def __init__(
        self,
        routing_section: dict[str, Any],
        workers: int,
        *,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self.children = [_Child(routing_section, f"#{n + 1}", on_ready) for n in range(workers)]

    @property
    def ready(self) -> bool:
        """Whether any child is up."""
        return any(child.ready for child in self.children)

    def start(self) -> None:
        """Start the children (they report ready once their boundaries are loaded)."""
        for child in self.children:
            child.start()

    async def decide(self, body: bytes) -> Sequence[DecidedCall]:
        """The batch decided by the least busy child that is up."""
        up = [child for child in self.children if child.ready]
        if not up:
            raise FrontUnavailable("no call front is up")
        child = min(up, key=lambda c: len(c.pending))
        return decided_calls(await child.decide(body))

    async def stop(self) -> None:
        """Stop every child and its supervising task."""
        for child in self.children:
            await child.stop()


def install(app: web.Application, routing_section: dict[str, Any], workers: int) -> None:
    """Run ``workers`` front processes while the application runs."""

    # /readyz waits for the first front at start only: later a restart decides on the loop
    app[READY]["call_fronts"] = False

    def first_ready() -> None:
        app[READY]["call_fronts"] = True

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        front = ProcessFront(routing_section, workers, on_ready=first_ready)
        front.start()
        app[CALL_FRONT] = front
        try:
            yield
        finally:
            await front.stop()  # not ready any more: late batches are decided on the loop

    app.cleanup_ctx.append(lifespan)


if __name__ == "__main__":
    sys.exit(main())
