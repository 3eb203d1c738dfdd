"""Drivers: send simulated traffic over the public protocols and count what was acknowledged.

- :class:`CallSender` posts calls (``POST /api/v1/calls``) and retries every failure with
  the same ``client_request_id`` until the engine acknowledges it (the engine is idempotent
  on that id, so a retry never makes a second call).
- :class:`BatchSender` is a gateway that gathers the calls arriving within a few
  milliseconds (``POST /api/v1/calls/batch``) and resends a batch until acknowledged; a
  call's latency still counts from its own arrival, lingering included.
- (:class:`~simulators.operators.Operator` plays the operators and dispatchers who decide
  and conclude the incidents; :class:`~simulators.gateway.PhoneGateway` the phone
  gateway that reports how calls end.)
- :class:`StreamWatcher` is a dashboard on ``/api/v1/stream``: it notes when each call
  first appears, spots duplicates and gaps in the sequence, and resumes with ``?since=``
  after a disconnect. It reads with aiohttp's websocket client: an aiohttp server and this
  client spent 4.8 µs of CPU per message between them, against 12.9 µs with the
  ``websockets`` package's client (in ``ng112 bench surge`` it shares the engine's cores).
- :class:`EcallFleet` publishes MSDs to ``ng112/ecall/{vin}/msd`` over MQTT and resends
  until the gateway's application ack arrives on ``ng112/ecall/{vin}/ack``.
- :func:`malformed_burst` sends inputs the engine must refuse, and counts the refusals.

Times are ``time.monotonic()``: on Linux it is one system-wide clock, so times taken in
different processes of one machine compare.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import orjson

from simulators.traffic import CallSpec

logger = logging.getLogger(__name__)

#: Connecting to the stream: 10 s to connect, no limit on the stream itself.
_WS_SESSION_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10.0)
_WS_TIMEOUT = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=10.0)

_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


async def post_settled(
    session: aiohttp.ClientSession,
    url: str,
    body: Any = None,
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    attempts: int = 8,
) -> tuple[int, Any]:
    """POST JSON, retrying while the engine is busy or unreachable; (status, JSON or None).

    Retries back off from 0.2 s to 5 s. The status is the last answer's, 0 when the engine
    was never reached; a refusal (4xx) is returned at once, never retried.
    """
    delay = 0.2
    status, data = 0, None
    for _ in range(attempts):
        try:
            async with session.post(url, json=body) as response:
                status = response.status
                raw = await response.read()
            try:
                data = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                data = None
        except (aiohttp.ClientError, TimeoutError):
            status, data = 0, None
        if status and status not in _RETRY_STATUSES:
            return status, data
        await sleep(delay)
        delay = min(delay * 2, 5.0)
    return status, data


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    """The engine's acknowledgement of one call."""

    call_id: str
    incident_id: str
    seq: int
    sent_at: float
    acked_at: float
    attempts: int


@dataclass(slots=True)
class SenderStats:
    """What the senders offered and what the engine acknowledged."""

    offered: int = 0
    acknowledged: int = 0
    retries: int = 0
    refused: int = 0
    abandoned: int = 0
    requests: int = 0
    """HTTP requests sent, retries included (one per call, or one per batch)."""
    by_channel: dict[str, int] = field(default_factory=dict)


class Sender(Protocol):
    """What the traffic loop needs of a sender: offer a call, wait for its ack."""

    stats: SenderStats
    acks: dict[str, Ack]

    async def send(self, spec: CallSpec) -> Ack | None:
        """Offer one call until acknowledged; ``None`` if the engine refused it."""
        ...


class RetryingPoster:
    """The retry loop every sender shares: POST a body until 202, back off on failures."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        retry_delay_s: float = 0.2,
        max_retry_delay_s: float = 5.0,
        request_timeout_s: float = 30.0,
    ) -> None:
        self._session = session
        self._url = url
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._retry_delay = retry_delay_s
        self._max_retry_delay = max_retry_delay_s
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self.stats = SenderStats()
        self.acks: dict[str, Ack] = {}

    async def post_until_acknowledged(self, body: bytes) -> tuple[Any, int] | None:
        """The 202 answer's JSON and the attempts it took; ``None`` when refused (4xx)."""
        delay = self._retry_delay
        attempts = 0
        while True:
            attempts += 1
            self.stats.requests += 1
            try:
                async with self._session.post(
                    self._url, data=body, headers=self._headers, timeout=self._timeout
                ) as response:
                    raw = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status, raw = 0, b""
            if status == 202:
                return orjson.loads(raw), attempts
            if status and status not in _RETRY_STATUSES:
                logger.warning("engine refused simulated calls with status %d", status)
                return None
            self.stats.retries += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, self._max_retry_delay)

    def _acknowledged(self, spec: CallSpec, data: Any, sent_at: float, attempts: int) -> Ack:
        ack = Ack(
            call_id=data["call_id"],
            incident_id=data["incident_id"],
            seq=int(data["seq"]),
            sent_at=sent_at,
            acked_at=time.monotonic(),
            attempts=attempts,
        )
        stats = self.stats
        stats.acknowledged += 1
        stats.by_channel[spec.channel] = stats.by_channel.get(spec.channel, 0) + 1
        self.acks[spec.client_request_id] = ack
        return ack


class CallSender(RetryingPoster):
    """Posts calls one by one and retries until acknowledged; see the module docstring."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        retry_delay_s: float = 0.2,
        max_retry_delay_s: float = 5.0,
        request_timeout_s: float = 30.0,
    ) -> None:
        super().__init__(
            session,
            f"{base_url.rstrip('/')}/api/v1/calls",
            headers=headers,
            retry_delay_s=retry_delay_s,
            max_retry_delay_s=max_retry_delay_s,
            request_timeout_s=request_timeout_s,
        )

    async def send(self, spec: CallSpec) -> Ack | None:
        """Offer one call until the engine acknowledges it; ``None`` if it refused it (4xx)."""
        self.stats.offered += 1
        sent_at = time.monotonic()
        try:
            answer = await self.post_until_acknowledged(orjson.dumps(spec.body()))
        except asyncio.CancelledError:
            self.stats.abandoned += 1
            raise
        if answer is None:
            self.stats.refused += 1
            return None
        data, attempts = answer
        return self._acknowledged(spec, data, sent_at, attempts)


class BatchSender(RetryingPoster):
    """A gateway posting calls in batches; see the module docstring.

    A batch goes out when ``max_batch`` calls are waiting or ``linger_s`` after its first
    call arrived, whichever comes first.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        max_batch: int = 50,
        linger_s: float = 0.005,
        headers: dict[str, str] | None = None,
        retry_delay_s: float = 0.2,
        max_retry_delay_s: float = 5.0,
        request_timeout_s: float = 30.0,
    ) -> None:
        if max_batch < 1 or linger_s < 0:
            raise ValueError("max_batch must be >= 1 and linger_s >= 0")
        super().__init__(
            session,
            f"{base_url.rstrip('/')}/api/v1/calls/batch",
            headers=headers,
            retry_delay_s=retry_delay_s,
            max_retry_delay_s=max_retry_delay_s,
            request_timeout_s=request_timeout_s,
        )
        self._max_batch = max_batch
        self._linger = linger_s
        self._waiting: list[tuple[CallSpec, float, asyncio.Future[Ack | None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._posting: set[asyncio.Task[None]] = set()

    async def send(self, spec: CallSpec) -> Ack | None:
        """Offer one call in the next batch; returns its ack (``None`` if refused)."""
        loop = asyncio.get_running_loop()
        self.stats.offered += 1
        future: asyncio.Future[Ack | None] = loop.create_future()
        self._waiting.append((spec, time.monotonic(), future))
        if len(self._waiting) >= self._max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._linger, self._flush)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            self.stats.abandoned += 1
            raise

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._post(batch))
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)

    async def _post(self, batch: list[tuple[CallSpec, float, asyncio.Future[Ack | None]]]) -> None:
        body = orjson.dumps({"calls": [spec.body() for spec, _, _ in batch]})
        try:
            answer = await self.post_until_acknowledged(body)
        except asyncio.CancelledError:
            for _, _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            raise
        if answer is None:
            self.stats.refused += len(batch)
            for _, _, future in batch:
                if not future.done():
                    future.set_result(None)
            return
        data, attempts = answer
        for (spec, sent_at, future), result in zip(batch, data["results"], strict=True):
            ack = self._acknowledged(spec, result, sent_at, attempts)
            if not future.done():
                future.set_result(ack)


@dataclass(slots=True)
class StreamStats:
    """What the dashboard saw."""

    events: int = 0
    calls_seen: int = 0
    duplicate_calls: int = 0
    out_of_order: int = 0
    resyncs: int = 0
    reconnects: int = 0
    last_seq: int = 0


class StreamWatcher:
    """A dashboard client on the live stream; see the module docstring."""

    def __init__(self, ws_url: str, *, on_call: Callable[[str], None] | None = None) -> None:
        self._url = ws_url
        self._on_call = on_call
        self.stats = StreamStats()
        self.seen: dict[str, float] = {}
        self.connected = asyncio.Event()
        self._missing: set[str] = set()
        self._all_seen = asyncio.Event()

    async def wait_seen(self, call_ids: set[str], timeout_s: float) -> bool:
        """Wait until every one of ``call_ids`` has been seen (or the timeout); all seen?"""
        self._missing = call_ids - self.seen.keys()
        self._all_seen.clear()
        if not self._missing:
            return True
        try:
            async with asyncio.timeout(timeout_s):
                await self._all_seen.wait()
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        """Watch until cancelled, reconnecting with ``?since=`` after a drop."""
        stats = self.stats
        first = True
        while True:
            url = self._url
            if not first:
                separator = "&" if "?" in url else "?"
                url = f"{url}{separator}since={stats.last_seq}"
            try:
                async with (
                    aiohttp.ClientSession(timeout=_WS_SESSION_TIMEOUT) as session,
                    session.ws_connect(url, max_msg_size=0, timeout=_WS_TIMEOUT) as ws,
                ):
                    self.connected.set()
                    async for message in ws:
                        if message.type not in {aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT}:
                            break
                        self._handle(message.data)
            except (OSError, aiohttp.ClientError, TimeoutError):
                pass
            stats.reconnects += 1
            first = False
            self.connected.clear()
            await asyncio.sleep(0.5)

    def _handle(self, raw: str | bytes) -> None:
        message = orjson.loads(raw)
        kind = message.get("type")
        stats = self.stats
        if kind == "snapshot":
            stats.last_seq = max(stats.last_seq, int(message["seq"]))
            return
        if kind == "resync":
            stats.resyncs += 1
            return
        if kind != "event":
            return
        now = time.monotonic()
        seq = int(message["seq"])
        if seq <= stats.last_seq:
            stats.out_of_order += 1
            return
        stats.last_seq = seq
        stats.events += 1
        if message.get("event_type") != "call_received":
            return
        call_id = message["data"]["call_id"]
        if call_id in self.seen:
            stats.duplicate_calls += 1
            return
        self.seen[call_id] = now
        stats.calls_seen += 1
        if self._missing:
            self._missing.discard(call_id)
            if not self._missing:
                self._all_seen.set()
        if self._on_call is not None:
            self._on_call(call_id)


@dataclass(slots=True)
class MalformedStats:
    """The burst of bad inputs: each must be refused."""

    sent: int = 0
    refused: int = 0
    accepted: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


def malformed_bodies(rng: random.Random, count: int) -> list[tuple[bytes, str]]:
    """Bad ``POST /api/v1/calls`` inputs: ``(body, content type)`` pairs (pure)."""
    kinds: list[tuple[bytes, str]] = [
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (orjson.dumps({"channel": "carrier_pigeon"}), "application/json"),
        (
            orjson.dumps({"channel": "phone", "location": {"lat": 123.0, "lon": 0}}),
            "application/json",
        ),
        (orjson.dumps({"channel": "phone", "dialled": "911"}), "application/json"),
        (orjson.dumps({"channel": "phone", "unexpected": True}), "application/json"),
        (orjson.dumps({"channel": "phone", "text": "x" * 5000}), "application/json"),
        (orjson.dumps({"channel": "phone", "caller": {"number": "<script>"}}), "application/json"),
        (orjson.dumps({"channel": "phone"}), "text/plain"),
        (
            orjson.dumps({"channel": "phone", "client_request_id": "bad id with spaces"}),
            "application/json",
        ),
        (b"\xff\xfe\x00garbage", "application/json"),
        (
            orjson.dumps({"channel": "phone", "location": {"lat": "NaN", "lon": 1}}),
            "application/json",
        ),
    ]
    return [rng.choice(kinds) for _ in range(count)]


async def malformed_burst(
    session: aiohttp.ClientSession, base_url: str, bodies: list[tuple[bytes, str]]
) -> MalformedStats:
    """Send each bad input once and count how the engine answered."""
    stats = MalformedStats()
    url = f"{base_url.rstrip('/')}/api/v1/calls"
    semaphore = asyncio.Semaphore(32)

    async def one(body: bytes, content_type: str) -> None:
        async with semaphore:
            try:
                async with session.post(
                    url, data=body, headers={"Content-Type": content_type}
                ) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
        stats.sent += 1
        stats.by_status[status] = stats.by_status.get(status, 0) + 1
        if 400 <= status < 500:
            stats.refused += 1
        else:
            stats.accepted += 1

    async with asyncio.TaskGroup() as group:
        for body, content_type in bodies:
            group.create_task(one(body, content_type))
    return stats
