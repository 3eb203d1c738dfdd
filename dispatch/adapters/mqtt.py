"""MQTT plumbing shared by every package: the embedded broker and the broker's address.

By default ng112 runs an amqtt broker in process on loopback (MQTT 3.1.1 only). A
deployment points ``mqtt_url`` at Mosquitto, EMQX or any cluster instead
(``mqtt://user:password@host:1883``; ``mqtts://`` for TLS). Packages get an
:class:`~dispatch.ports.MqttEndpoint` and open their own ``aiomqtt`` clients with it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit

import aiomqtt

from dispatch.adapters.listen import ListenError, reason_of
from dispatch.ports import MqttEndpoint

logger = logging.getLogger(__name__)


def endpoint_from_url(url: str) -> MqttEndpoint:
    """Parse ``mqtt://user:password@host:port`` (or ``mqtts://``)."""
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts", "tcp"}:
        raise ValueError("the MQTT URL must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError("the MQTT URL needs a host")
    tls = parts.scheme == "mqtts"
    return MqttEndpoint(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def client_for(
    endpoint: MqttEndpoint,
    *,
    identifier: str,
    mqtt5: bool = False,
    max_inflight: int | None = None,
    max_queued: int | None = None,
) -> aiomqtt.Client:
    """An aiomqtt client for ng112's own gateways, configured the same way everywhere.

    MQTT 3.1.1 unless ``mqtt5`` (the embedded broker refuses 5); a clean session (devices
    resend until acknowledged, so nothing depends on broker-side session state); TLS when
    the endpoint says so; ``max_inflight`` bounds QoS 1/2 messages in flight and raises
    aiomqtt's pending-call warning threshold to match.
    """
    client = aiomqtt.Client(
        endpoint.host,
        endpoint.port,
        username=endpoint.username,
        password=endpoint.password,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5 if mqtt5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if mqtt5 else True,
        tls_params=aiomqtt.TLSParameters() if endpoint.tls else None,
        max_inflight_messages=min(max_inflight, 65535) if max_inflight else None,
        max_queued_outgoing_messages=max_queued,
        timeout=10,
    )
    if max_inflight:
        client.pending_calls_threshold = max_inflight
    return client


@asynccontextmanager
async def embedded_broker(host: str, port: int) -> AsyncIterator[MqttEndpoint]:
    """Run an amqtt broker in this process for the duration of the context."""
    from amqtt.broker import Broker  # noqa: PLC0415 - only embedded mode needs amqtt
    from amqtt.errors import BrokerError  # noqa: PLC0415 - same

    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }
    broker = Broker(config)
    try:
        await broker.start()
    except BrokerError as exc:
        raise ListenError("the embedded MQTT broker", host, port, reason_of(exc)) from exc
    logger.info("embedded MQTT broker listening on %s:%d", host, port)
    try:
        yield MqttEndpoint(host=host, port=port)
    finally:
        await broker.shutdown()
