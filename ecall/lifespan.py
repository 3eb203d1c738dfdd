"""Plugging eCall into the running engine: routes, the MQTT gateway and its metrics.

``install(app, context)`` validates the ``[ecall]`` table, builds the
:class:`~ecall.service.EcallService` (which subscribes its ledger before the engine
replays the log), adds the HTTP routes and, when a broker is configured, appends a
cleanup context that runs the :class:`~ecall.adapters.mqtt.MqttGateway` in a
``TaskGroup`` of its own until shutdown. Answers, rejections by code and the gateway's
connection counters are exported in /metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import suppress
from typing import Final

from aiohttp import web
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from dispatch.adapters.http import METRICS
from dispatch.ports import PackageContext
from ecall.adapters.http import add_routes
from ecall.adapters.mqtt import MqttGateway
from ecall.bench import sample_msd_bytes
from ecall.msd import ENCODABLE_VERSIONS, decode_msd, encode_msd
from ecall.service import EcallService
from ecall.settings import load_ecall_settings

__all__ = ["ECALL_GATEWAY", "EcallCollector", "install"]

ECALL_GATEWAY: Final = web.AppKey("ecall_gateway", MqttGateway)


class EcallCollector(Collector):
    """Prometheus view of the service's and the gateway's counters, read at scrape time."""

    def __init__(self, service: EcallService, gateway: MqttGateway | None) -> None:
        self.service = service
        self.gateway = gateway

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The eCall counters."""
        answers = CounterMetricFamily(
            "ng112_ecall_answers", "eCall MSDs answered", labels=["transport", "status"]
        )
        for (transport, status), count in sorted(self.service.answers.items()):
            answers.add_metric([transport, status], count)
        yield answers
        rejected = CounterMetricFamily(
            "ng112_ecall_rejected", "eCall MSDs refused, by reason code", labels=["code"]
        )
        for code, count in sorted(self.service.rejections.items()):
            rejected.add_metric([code], count)
        yield rejected
        gateway = CounterMetricFamily(
            "ng112_ecall_gateway", "eCall MQTT gateway events", labels=["event"]
        )
        if self.gateway is not None:
            for name, count in sorted(self.gateway.stats.items()):
                gateway.add_metric([name], count)
        yield gateway


def install(app: web.Application, context: PackageContext) -> None:
    """Add eCall's routes and, with a broker, its MQTT gateway lifespan."""
    settings = load_ecall_settings(context.section)
    service = EcallService(context.engine, settings)
    add_routes(app, service)
    gateway = None
    if context.mqtt is not None and settings.mqtt_enabled:
        gateway = MqttGateway(service, context.mqtt, settings)
        app[ECALL_GATEWAY] = gateway
        app.cleanup_ctx.append(_gateway_lifespan(gateway))
    app[METRICS].registry.register(EcallCollector(service, gateway))


def _gateway_lifespan(
    gateway: MqttGateway,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifespan(_app: web.Application) -> AsyncIterator[None]:
        # Compile the ASN.1 schemas now, not on the first real eCall (about 0.1 s each).
        for version in ENCODABLE_VERSIONS:
            decode_msd(encode_msd(decode_msd(sample_msd_bytes()), version))
        async with asyncio.TaskGroup() as tasks:
            runner = tasks.create_task(gateway.run(), name="ng112-ecall-gateway")
            try:
                yield
            finally:
                runner.cancel()
                with suppress(asyncio.CancelledError):
                    await runner

    return lifespan
