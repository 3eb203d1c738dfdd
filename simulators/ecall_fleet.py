"""Simulated eCall vehicles over MQTT: publish the MSD, resend until the gateway acks it.

Topics: a vehicle publishes its MSD's UPER octets on ``ng112/ecall/{vin}/msd`` (QoS 1)
and listens on ``ng112/ecall/{vin}/ack``. aiomqtt's PUBACK only says the broker has the
message; the gateway's application ack, published after the call is committed, is what
ends the resending. A broker restart drops the connection: the fleet reconnects with
backoff and resends everything not yet acked (the gateway dedupes on VIN + message id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

import aiomqtt
import orjson

from simulators.errors import raise_if_cancelled
from simulators.msd import encode_for
from simulators.traffic import CallSpec

logger = logging.getLogger(__name__)

ACK_FILTER = "ng112/ecall/+/ack"


def msd_topic(vin: str) -> str:
    """Where a vehicle publishes its MSD."""
    return f"ng112/ecall/{vin}/msd"


def vin_of_ack(topic: str) -> str | None:
    """The VIN in an ack topic, or ``None`` if the topic is not an ack topic."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[:2] == ["ng112", "ecall"] and parts[3] == "ack":
        return parts[2]
    return None


@dataclass(slots=True)
class FleetStats:
    """What the vehicles sent and what the gateway acknowledged."""

    offered: int = 0
    published: int = 0
    acknowledged: int = 0
    reconnects: int = 0
    rejected: int = 0
    tests_logged: int = 0
    latencies_s: list[float] = field(default_factory=list)
    call_ids: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Pending:
    spec: CallSpec
    payload: bytes
    first_sent: float
    last_sent: float = 0.0


class EcallFleet:
    """Vehicles that publish MSDs and resend until acked; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        resend_interval_s: float = 2.0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._resend = resend_interval_s
        self._pending: dict[str, _Pending] = {}
        self._wake = asyncio.Event()
        self._offline_until = 0.0
        self.stats = FleetStats()

    @property
    def unacknowledged(self) -> int:
        """MSDs still waiting for the gateway's ack."""
        return len(self._pending)

    def offer(self, spec: CallSpec) -> None:
        """A vehicle has crashed (or pressed the button): queue its MSD."""
        if spec.vehicle is None:
            raise ValueError("an eCall needs a vehicle")
        now = time.monotonic()
        payload = encode_for(spec, timestamp=int(time.time()))
        self._pending[spec.vehicle.vin] = _Pending(spec, payload, now)
        self.stats.offered += 1
        self._wake.set()

    def broker_outage(self, down_s: float) -> None:
        """Simulate the broker going away: drop the connection for ``down_s`` seconds."""
        self._offline_until = time.monotonic() + down_s
        self._wake.set()

    async def run(self) -> None:
        """Stay connected (with backoff) and keep publishing until cancelled."""
        backoff = 0.5
        while True:
            wait = self._offline_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                async with aiomqtt.Client(
                    self._host,
                    self._port,
                    username=self._username,
                    password=self._password,
                    protocol=aiomqtt.ProtocolVersion.V311,
                ) as client:
                    backoff = 0.5
                    await client.subscribe(ACK_FILTER, qos=1)
                    async with asyncio.TaskGroup() as group:
                        reader = group.create_task(self._read(client), name="ng112-sim-ecall-acks")
                        await self._publish_loop(client)
                        reader.cancel()
            except aiomqtt.MqttError:
                raise_if_cancelled()
                self.stats.reconnects += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        while time.monotonic() >= self._offline_until:
            now = time.monotonic()
            for vin, pending in list(self._pending.items()):
                if now - pending.last_sent >= self._resend:
                    pending.last_sent = now
                    await client.publish(msd_topic(vin), pending.payload, qos=1)
                    self.stats.published += 1
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(self._resend, 0.5)):
                    await self._wake.wait()
        self.stats.reconnects += 1

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            vin = vin_of_ack(str(message.topic))
            if vin is None or vin not in self._pending:
                continue
            pending = self._pending[vin]
            vehicle = pending.spec.vehicle
            ack = _ack_of(message.payload)
            named = ack.get("message_identifier")
            if (
                named is not None
                and vehicle is not None
                and named != vehicle.message_identifier % 256
            ):
                continue
            del self._pending[vin]
            self.stats.acknowledged += 1
            self.stats.latencies_s.append(time.monotonic() - pending.first_sent)
            status = ack.get("status")
            if status == "rejected":
                self.stats.rejected += 1
            if status == "test":
                self.stats.tests_logged += 1  # a test call is logged, not made a call
                continue
            call_id = ack.get("call_id")
            if isinstance(call_id, str):
                self.stats.call_ids[pending.spec.client_request_id] = call_id


def _ack_of(payload: object) -> dict[str, object]:
    """The gateway's ack JSON (``call_id``, ``message_identifier``, ``status`` ...), or {}."""
    if not isinstance(payload, bytes | bytearray):
        return {}
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
