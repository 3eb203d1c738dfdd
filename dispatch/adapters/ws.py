"""The live event stream: a snapshot, then every committed event in order, over websockets.

Each subscriber has a bounded queue. The committer's listener puts already-encoded
messages into every queue without waiting; a subscriber whose queue is full is marked
behind and its queue emptied, and its connection task sends a ``resync`` message and
catches up from the log itself before going live again. A slow client therefore costs
one bounded queue and some reads, never memory growth or a delay for the others.

Resume: a client that connects with ``?since=SEQ`` gets exactly the events after SEQ
(from the log, then live), with no snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from dispatch.adapters.store import EventLog
from dispatch.core.projections import Recorded
from dispatch.model.access import Principal
from dispatch.model.codec import event_to_wire, wire_message

logger = logging.getLogger(__name__)

_REDACTED = "[redacted]"
#: Keys whose values identify or quote a caller: numbers, names, what they wrote, the
#: vehicle and device identities that lead to a person, and civic addresses.
_PERSONAL_KEYS = frozenset(
    {
        "caller",
        "text",
        "name",
        "number",
        "messages",
        "transcript",
        "vin",
        "imsi",
        "imei",
        "device_number",
        "device_id",
        "civic",
        "address",
    }
)

Snapshot = Callable[[Principal], dict[str, Any]]

#: Queue marker: the subscriber fell behind and must catch up from the log.
_BEHIND = -1


def redact(value: Any) -> Any:
    """A copy of a wire structure with caller personal data replaced."""
    if isinstance(value, dict):
        return {
            key: (_REDACTED if key in _PERSONAL_KEYS and item is not None else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


@dataclass(slots=True, eq=False)
class Subscriber:
    """One stream client's place in the fan-out."""

    principal: Principal
    queue: asyncio.Queue[tuple[int, bytes]]
    behind: bool = False
    every_province: bool = field(init=False)
    """The principal's reach and rights, asked once here instead of once per event."""
    caller_data: bool = field(init=False)

    def __post_init__(self) -> None:
        self.every_province = self.principal.sees_every_province
        self.caller_data = self.principal.sees_caller_data

    def sees(self, plate: int | None) -> bool:
        """Whether an event located in province ``plate`` goes to this subscriber."""
        return self.every_province or plate == self.principal.province


@dataclass(slots=True)
class StreamStats:
    """Fan-out counters for /metrics."""

    delivered: int = 0
    resyncs: int = 0


class Broadcaster:
    """Fans committed events out to stream subscribers; see the module docstring."""

    def __init__(self, log: EventLog, *, queue_size: int = 2048) -> None:
        self._log = log
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self.stats = StreamStats()
        log.add_encoded_listener(self.publish)

    @property
    def subscriber_count(self) -> int:
        """Connected stream clients."""
        return len(self._subscribers)

    def subscribe(self, principal: Principal) -> Subscriber:
        """Start collecting events committed from now on for ``principal``."""
        subscriber = Subscriber(principal, asyncio.Queue(self._queue_size))
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop collecting for a subscriber."""
        self._subscribers.discard(subscriber)

    def publish(self, records: Sequence[Recorded], payloads: Sequence[bytes]) -> None:
        """Queue each event for every subscriber allowed to see it (never waits).

        The message for principals who see caller data is spliced from the bytes the
        event was stored as (:func:`wire_message`); the redacted one is built only when
        such a principal is connected.
        """
        subscribers = self._subscribers
        if not subscribers:
            return
        for record, payload in zip(records, payloads, strict=True):
            plate = record.event.plate
            full: bytes | None = None
            redacted: bytes | None = None
            for subscriber in subscribers:
                if subscriber.behind or not subscriber.sees(plate):
                    continue
                if subscriber.caller_data:
                    if full is None:
                        full = wire_message(record.seq, record.event, payload)
                    message = full
                else:
                    if redacted is None:
                        wire = redact(event_to_wire(record.seq, record.event))
                        redacted = orjson.dumps({"type": "event", **wire})
                    message = redacted
                try:
                    subscriber.queue.put_nowait((record.seq, message))
                except asyncio.QueueFull:
                    subscriber.behind = True
                    _empty(subscriber.queue)
                    subscriber.queue.put_nowait((_BEHIND, b""))
                    self.stats.resyncs += 1

    async def catch_up(
        self, ws: web.WebSocketResponse, subscriber: Subscriber, after: int, until: int
    ) -> int:
        """Send committed events in ``(after, until]`` from the log; returns the last sent."""
        principal = subscriber.principal
        last = after
        while last < until:
            records = await self._log.read(last, 1000)
            records = [r for r in records if r.seq <= until]
            if not records:
                break
            for record in records:
                last = record.seq
                if not principal.sees_province(record.event.plate):
                    continue
                wire = event_to_wire(record.seq, record.event)
                if not principal.sees_caller_data:
                    wire = redact(wire)
                await ws.send_bytes(orjson.dumps({"type": "event", **wire}))
                self.stats.delivered += 1
        return last

    async def serve(
        self,
        ws: web.WebSocketResponse,
        principal: Principal,
        *,
        since: int | None,
        snapshot: Snapshot,
    ) -> None:
        """Run one client's stream until it disconnects."""
        subscriber = self.subscribe(principal)
        loop = asyncio.get_running_loop()
        reader = loop.create_task(_read_until_closed(ws), name="ng112-stream-reader")
        sender = loop.create_task(
            self._send(ws, subscriber, since, snapshot), name="ng112-stream-sender"
        )
        try:
            await asyncio.wait({reader, sender}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.unsubscribe(subscriber)
            for task in (reader, sender):
                task.cancel()
            results = await asyncio.gather(reader, sender, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception) and not isinstance(result, ConnectionResetError):
                    logger.warning("stream client ended with %r", result)

    async def _send(
        self,
        ws: web.WebSocketResponse,
        subscriber: Subscriber,
        since: int | None,
        snapshot: Snapshot,
    ) -> None:
        head = self._log.head
        if since is None:
            body = snapshot(subscriber.principal)
            await ws.send_bytes(orjson.dumps({"type": "snapshot", "seq": head, **body}))
            last = head
        else:
            last = await self.catch_up(ws, subscriber, since, head)
        queue = subscriber.queue
        while True:
            seq, message = await queue.get()
            if seq == _BEHIND:
                await ws.send_bytes(orjson.dumps({"type": "resync", "seq": last}))
                subscriber.behind = False
                last = await self.catch_up(ws, subscriber, last, self._log.head)
                continue
            if seq <= last:
                continue
            await ws.send_bytes(message)
            self.stats.delivered += 1
            last = seq


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    """Consume client frames (pings, acks) until the client leaves."""
    async for message in ws:
        if message.type in {WSMsgType.ERROR, WSMsgType.CLOSE}:
            break


def _empty(queue: asyncio.Queue[tuple[int, bytes]]) -> None:
    while not queue.empty():
        queue.get_nowait()
