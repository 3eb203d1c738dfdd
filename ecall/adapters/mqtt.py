"""The eCall MQTT gateway: MSDs in on ``{prefix}/+/msd``, application acks out after commit.

aiomqtt 2.x sends PUBACK on receipt, before anything is committed, so the vehicle's real
receipt is the JSON :class:`~ecall.service.EcallAck` published (QoS 1) on
``{prefix}/{vin}/ack`` once the service has committed; vehicles resend until they have it
and the service dedupes on VIN + messageIdentifier. With MQTT 5 (``mqtt_protocol = "5"``)
the ack also goes to the message's response topic with its correlation data.

The receive loop never dies of a bad message: every MSD is handled in its own named task
(at most ``max_in_flight`` at once) inside the gateway's ``TaskGroup``, and any failure
is logged by reason, counted and answered or left to the vehicle's resend. When the
broker goes away the gateway reconnects with exponential back-off and subscribes again;
handlers still committing finish, and an ack that could not be published is counted as
lost (the vehicle's resend gets the original answer).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections import Counter

import aiomqtt
import orjson
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dispatch.adapters.mqtt import client_for
from dispatch.ports import MqttEndpoint
from ecall.service import GATEWAY_PRINCIPAL, AckStatus, EcallAck, EcallService
from ecall.settings import EcallSettings
from ecall.topics import EcallTopics

__all__ = ["MqttGateway"]

logger = logging.getLogger(__name__)


class MqttGateway:
    """One MQTT connection that feeds vehicles' MSDs to the :class:`EcallService`.

    ``connected`` is set while the gateway is subscribed (tests and readiness await it);
    ``stats`` counts connections, lost acks and handler failures for /metrics.
    """

    def __init__(
        self,
        service: EcallService,
        endpoint: MqttEndpoint,
        settings: EcallSettings,
        *,
        identifier: str | None = None,
    ) -> None:
        self.service = service
        self.endpoint = endpoint
        self.settings = settings
        self.topics = EcallTopics(settings.topic_prefix)
        self.identifier = identifier or f"ng112-ecall-{os.urandom(4).hex()}"
        self.connected = asyncio.Event()
        self.stats: Counter[str] = Counter()
        self._v5 = settings.mqtt_protocol == "5"
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._numbers = itertools.count(1)

    def _client(self) -> aiomqtt.Client:
        return client_for(
            self.endpoint,
            identifier=self.identifier,
            mqtt5=self._v5,
            max_inflight=self.settings.max_in_flight,
        )

    async def run(self) -> None:
        """Receive until cancelled, reconnecting with back-off whenever the broker goes away."""
        backoff = self.settings.reconnect_min_s
        async with asyncio.TaskGroup() as handlers:
            while True:
                try:
                    async with self._client() as client:
                        await client.subscribe(self.topics.msd_subscription, qos=1)
                        self.stats["connections"] += 1
                        self.connected.set()
                        logger.info("eCall gateway subscribed to %s", self.topics.msd_subscription)
                        backoff = self.settings.reconnect_min_s
                        async for message in client.messages:
                            await self._slots.acquire()
                            handlers.create_task(
                                self._handle(client, message),
                                name=f"ecall-msd-{next(self._numbers)}",
                            )
                except aiomqtt.MqttError as exc:
                    self.stats["disconnects"] += 1
                    logger.warning(
                        "eCall gateway lost the broker (%s); reconnecting in %.1f s",
                        type(exc).__name__,
                        backoff,
                    )
                finally:
                    self.connected.clear()
                await asyncio.sleep(backoff)  # back-off before reconnecting, not a sync point
                backoff = min(backoff * 2, self.settings.reconnect_max_s)

    async def _handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        try:
            topic_vin = self.topics.vin_of_msd(message.topic.value)
            if topic_vin is None:  # pragma: no cover - the subscription only matches msd topics
                self.stats["foreign_topic"] += 1
                return
            ack = await self.service.ingest(
                bytes(message.payload), GATEWAY_PRINCIPAL, topic_vin=topic_vin, transport="mqtt"
            )
            if ack.status is AckStatus.REJECTED:
                logger.info("eCall MSD rejected: %s", ack.code)
            await self._answer(client, message, topic_vin, ack)
        except aiomqtt.MqttError:
            self.stats["acks_lost"] += 1
            logger.info("eCall ack not published (broker gone); the vehicle will resend")
        except Exception:
            # A store failure or a bug: nothing was acknowledged, the vehicle resends.
            self.stats["handler_failures"] += 1
            logger.exception("eCall MSD handling failed")
        finally:
            self._slots.release()

    async def _answer(
        self, client: aiomqtt.Client, message: aiomqtt.Message, vin: str, ack: EcallAck
    ) -> None:
        body = orjson.dumps(ack.to_json())
        await client.publish(self.topics.ack(vin), body, qos=1)
        if not (self._v5 and self.settings.honour_response_topic):
            return
        properties = message.properties
        response_topic = getattr(properties, "ResponseTopic", None)
        if not isinstance(response_topic, str) or not response_topic:
            return
        if any(char in response_topic for char in "+#"):
            self.stats["bad_response_topic"] += 1
            return
        reply = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        correlation = getattr(properties, "CorrelationData", None)
        if isinstance(correlation, bytes):
            reply.CorrelationData = correlation
        await client.publish(response_topic, body, qos=1, properties=reply)
