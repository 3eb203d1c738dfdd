"""Information pushed to units over MQTT, republished until each unit acknowledges it.

The push is committed first (``UnitInfoSent``), then published QoS 1 on each target's
``ng112/units/{unit_id}/info``. A unit answers on ``.../info/ack`` with the message id once
its crew has seen it; the gateway records ``UnitInfoAcknowledged`` (once per unit and
message). Messages some target has not acknowledged are republished on every (re)connect
and every ``push_retry_s``, so a unit that was offline, or a broker that restarted, loses
nothing; units dedupe on the message id. Acknowledgements are handled one at a time, so a
repeated ack is recorded once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import aiomqtt
import orjson

from dispatch.adapters.mqtt import client_for
from dispatch.core.projections import Recorded
from dispatch.ports import EnginePort, MqttEndpoint
from gamer_coordination.push import PushLedger, PushRecord
from gamer_coordination.topics import InfoTopics

logger = logging.getLogger(__name__)

RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0
OUTBOX = 10_000


class PushGateway:
    """Publishes pushes to units and records their acknowledgements; see the module doc."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        ledger: PushLedger,
        engine: EnginePort,
        *,
        retry_s: float = 30.0,
        topics: InfoTopics | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.ledger = ledger
        self.engine = engine
        self.retry_s = retry_s
        self.topics = topics or InfoTopics()
        self.identifier = f"ng112-gamer-{os.urandom(4).hex()}"
        self.connected = asyncio.Event()
        self.stats: Counter[str] = Counter()
        self._outbox: asyncio.Queue[PushRecord] = asyncio.Queue(OUTBOX)
        self._live = False

    def on_records(self, records: Sequence[Recorded]) -> None:
        """The log listener: fold the ledger and queue new pushes for publishing."""
        for push in self.ledger.apply(records):
            if not self._live:
                continue  # replayed pushes go out with the unacknowledged ones on connect
            try:
                self._outbox.put_nowait(push)
            except asyncio.QueueFull:
                self.stats["outbox_full"] += 1  # the retry republishes it

    def _client(self) -> aiomqtt.Client:
        return client_for(self.endpoint, identifier=self.identifier)

    async def run(self) -> None:
        """Publish and receive until cancelled, reconnecting with back-off."""
        self._live = True
        backoff = RECONNECT_MIN_S
        while True:
            try:
                async with self._client() as client:
                    await client.subscribe(self.topics.ack_subscription, qos=1)
                    self.stats["connections"] += 1
                    backoff = RECONNECT_MIN_S
                    for push in self.ledger.unacknowledged():
                        await self._publish(client, push)
                    self.connected.set()
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(self._sender(client), name="ng112-gamer-push-sender")
                        tasks.create_task(self._retrier(client), name="ng112-gamer-push-retry")
                        tasks.create_task(self._receiver(client), name="ng112-gamer-push-acks")
            except* aiomqtt.MqttError:
                self.stats["disconnects"] += 1
                logger.warning("push gateway lost the broker; reconnecting in %.1f s", backoff)
            finally:
                self.connected.clear()
            await asyncio.sleep(backoff)  # back-off before reconnecting, not a sync point
            backoff = min(backoff * 2, RECONNECT_MAX_S)

    async def _publish(self, client: aiomqtt.Client, push: PushRecord) -> None:
        sent = push.sent
        payload = orjson.dumps(
            {
                "message_id": sent.message_id,
                "text": sent.text,
                "incident_id": sent.incident_id,
                "sent_at": sent.occurred_at.isoformat(),
                "from": sent.actor,
            }
        )
        for unit_id in push.pending:
            await client.publish(self.topics.info(unit_id), payload, qos=1)
            self.stats["published"] += 1

    async def _sender(self, client: aiomqtt.Client) -> None:
        while True:
            push = await self._outbox.get()
            await self._publish(client, push)

    async def _retrier(self, client: aiomqtt.Client) -> None:
        while True:
            await asyncio.sleep(self.retry_s)  # the retry period, not a sync point
            now = self.engine.clock.now()
            for push in self.ledger.unacknowledged():
                if (now - push.sent.occurred_at).total_seconds() >= self.retry_s:
                    self.stats["republished"] += 1
                    await self._publish(client, push)

    async def _receiver(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            unit_id = self.topics.unit_of_ack(message.topic.value)
            if unit_id is None:
                continue
            await self.acknowledge(unit_id, bytes(message.payload), self.engine.clock.now())

    async def acknowledge(self, unit_id: str, payload: bytes, now: datetime) -> bool:
        """Record a unit's acknowledgement once; False for malformed, unknown or repeated."""
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.stats["malformed_ack"] += 1
            return False
        message_id = data.get("message_id") if isinstance(data, dict) else None
        if not isinstance(message_id, str) or len(message_id) > 64:
            self.stats["malformed_ack"] += 1
            return False
        event = self.ledger.decide_ack(unit_id, message_id, now)
        if event is None:
            self.stats["ignored_ack"] += 1
            return False
        await self.engine.record([event])
        self.stats["acknowledged"] += 1
        return True
