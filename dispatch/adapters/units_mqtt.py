"""The units' MQTT gateway: status and AVL in, orders out, application acks after commit.

ng112 subscribes (QoS 1) to every unit's ``status``, ``avl`` and ``orders/ack`` topics
(:mod:`dispatch.units_topics`). aiomqtt sends PUBACK on receipt, before anything is
committed, so a device's real receipt is the :class:`~dispatch.units.DeviceAck` published
on ``{prefix}/{unit}/ack`` once the units service has committed; devices resend until they
have it and the service dedupes on ``(unit, msg_id)``.

The unit id comes from the topic. The broker authenticates every device and its ACL lets
each login use only its own subtree (``ng112 units broker-config``), so a unit cannot
speak for another: its publication on a foreign topic never reaches ng112.

Orders are queued in a bounded outbox (:meth:`send_order` never blocks the dispatcher) and
published at QoS 1 while connected; an order queued while the broker is away goes out on
reconnection, and one never acknowledged is flagged by the order timer anyway. The receive
loop reconnects with exponential back-off; each message is handled in its own named task
(at most ``max_in_flight`` at once) inside the gateway's ``TaskGroup``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections import Counter

import aiomqtt

from dispatch.adapters.mqtt import client_for
from dispatch.ports import MqttEndpoint
from dispatch.units import (
    AvlMessage,
    DeviceAck,
    InvalidUnitMessage,
    OrderAckMessage,
    Receipt,
    StatusMessage,
    UnitsService,
    UnitsSettings,
    decode_message,
)
from dispatch.units_topics import Inbound, UnitTopics

__all__ = ["UnitsGateway"]

logger = logging.getLogger(__name__)


class UnitsGateway:
    """One MQTT connection between ng112 and every unit's device.

    ``connected`` is set while subscribed; ``stats`` counts messages by kind and result,
    orders sent and dropped, connections and handler failures (for /metrics and tests).
    """

    def __init__(
        self,
        service: UnitsService,
        endpoint: MqttEndpoint,
        settings: UnitsSettings,
        *,
        identifier: str | None = None,
    ) -> None:
        self.service = service
        self.endpoint = endpoint
        self.settings = settings
        self.topics = UnitTopics(settings.topic_prefix)
        self.identifier = identifier or f"ng112-units-{os.urandom(4).hex()}"
        self.connected = asyncio.Event()
        self.stats: Counter[str] = Counter()
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(settings.outbox_size)
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._numbers = itertools.count(1)

    @property
    def outbox_depth(self) -> int:
        """Orders waiting to be published (a gauge)."""
        return self._outbox.qsize()

    def send_order(self, unit_id: str, payload: bytes) -> None:
        """Queue an order for the unit (dropped and counted if the outbox is full)."""
        try:
            self._outbox.put_nowait((unit_id, payload))
        except asyncio.QueueFull:
            self.stats["orders_dropped"] += 1
            logger.warning("order outbox full: an order to unit %s was not queued", unit_id)

    def _client(self) -> aiomqtt.Client:
        return client_for(
            self.endpoint,
            identifier=self.identifier,
            max_inflight=self.settings.max_in_flight,
            max_queued=self.settings.outbox_size,
        )

    async def run(self) -> None:
        """Receive and send until cancelled, reconnecting with back-off."""
        backoff = self.settings.reconnect_min_s
        async with asyncio.TaskGroup() as handlers:
            while True:
                try:
                    async with self._client() as client:
                        for subscription in self.topics.subscriptions:
                            await client.subscribe(subscription, qos=1)
                        self.stats["connections"] += 1
                        self.connected.set()
                        backoff = self.settings.reconnect_min_s
                        logger.info("units gateway subscribed under %s", self.topics.prefix)
                        await self._serve(client, handlers)
                except aiomqtt.MqttError as exc:
                    self.stats["disconnects"] += 1
                    logger.warning(
                        "units gateway lost the broker (%s); reconnecting in %.1f s",
                        type(exc).__name__,
                        backoff,
                    )
                finally:
                    self.connected.clear()
                await asyncio.sleep(backoff)  # back-off before reconnecting, not a sync point
                backoff = min(backoff * 2, self.settings.reconnect_max_s)

    async def _serve(self, client: aiomqtt.Client, handlers: asyncio.TaskGroup) -> None:
        """Receive messages and publish queued orders on one connection until it fails."""
        sender = handlers.create_task(self._send_orders(client), name="units-orders-out")
        try:
            async for message in client.messages:
                await self._slots.acquire()
                handlers.create_task(
                    self._handle(client, message), name=f"units-msg-{next(self._numbers)}"
                )
        finally:
            sender.cancel()

    async def _send_orders(self, client: aiomqtt.Client) -> None:
        """Publish queued orders until the connection fails (the receive loop then notices)."""
        while True:
            unit_id, payload = await self._outbox.get()
            try:
                await client.publish(self.topics.orders(unit_id), payload, qos=1)
            except aiomqtt.MqttError:
                # keep it for the next connection
                with contextlib.suppress(asyncio.QueueFull):
                    self._outbox.put_nowait((unit_id, payload))
                self.stats["orders_deferred"] += 1
                return
            self.stats["orders_sent"] += 1

    async def _handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        try:
            parsed = self.topics.parse(message.topic.value)
            if parsed is None:
                self.stats["foreign_topic"] += 1
                return
            unit_id, kind = parsed
            ack = await self._ingest(unit_id, kind, bytes(message.payload))
            self.stats[f"{kind.value}_{ack.result.value}"] += 1
            if kind is not Inbound.ORDER_ACK or ack.msg_id is not None:
                await client.publish(self.topics.ack(unit_id), ack.to_json(), qos=1)
        except aiomqtt.MqttError:
            self.stats["acks_lost"] += 1
            logger.info("unit ack not published (broker gone); the device will resend")
        except Exception:
            # A store failure or a bug: nothing was acknowledged, the device resends.
            self.stats["handler_failures"] += 1
            logger.exception("unit message handling failed")
        finally:
            self._slots.release()

    async def _ingest(self, unit_id: str, kind: Inbound, payload: bytes) -> DeviceAck:
        try:
            if kind is Inbound.STATUS:
                status = decode_message(payload, StatusMessage)
                return await self.service.report_status(unit_id, status)
            if kind is Inbound.AVL:
                avl = decode_message(payload, AvlMessage)
                return await self.service.report_position(unit_id, avl)
            order_ack = decode_message(payload, OrderAckMessage)
            return await self.service.acknowledge_order(unit_id, order_ack)
        except InvalidUnitMessage as exc:
            logger.info("unit %s sent an unreadable %s message: %s", unit_id, kind.value, exc)
            return DeviceAck(msg_id=None, result=Receipt.REJECTED, code="invalid_message")
