"""The test brokers themselves: a message published at QoS 1 arrives."""

from __future__ import annotations

import asyncio

import aiomqtt

from dispatch.ports import MqttEndpoint
from tests.brokers import broker  # noqa: F401 - fixture

pytest_plugins: list[str] = []


async def test_qos1_round_trip(broker: MqttEndpoint) -> None:  # noqa: F811 - fixture
    """Both brokers carry a QoS 1 message from a publisher to a subscriber."""
    async with (
        aiomqtt.Client(broker.host, broker.port, identifier="sub") as sub,
        aiomqtt.Client(broker.host, broker.port, identifier="pub") as pub,
    ):
        await sub.subscribe("ng112/test/#", qos=1)
        await pub.publish("ng112/test/a", b"\x03", qos=1)
        async with asyncio.timeout(10):
            message = await anext(aiter(sub.messages))
    assert message.payload == b"\x03"
    assert str(message.topic) == "ng112/test/a"
