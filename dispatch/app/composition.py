"""Wiring every package into one runnable ng112 process (the only module that imports all).

Each package that runs inside the engine has a ``lifespan`` module with
``install(app, context) -> None``: it adds its routes and appends its cleanup contexts
(which start after the store's and stop before it). ``PACKAGES`` lists them in start
order, paired with the settings table each one reads.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from dispatch.adapters import http
from dispatch.adapters.mqtt import embedded_broker, endpoint_from_url
from dispatch.app import call_front, routing_wiring
from dispatch.app.gc_tuning import gc_lifespan
from dispatch.app.settings import Settings
from dispatch.app.web import build_app
from dispatch.ports import Clock, Locator, MqttEndpoint, PackageContext

logger = logging.getLogger(__name__)

#: ``(module with install(app, context), settings table)`` in start order.
PACKAGES: tuple[tuple[str, str], ...] = (
    ("ecall.lifespan", "ecall"),
    ("intake.lifespan", "intake"),
    ("dispatch.call_taking_lifespan", "call_taking"),
    ("language_desk.lifespan", "language_desk"),
    ("gamer_coordination.lifespan", "gamer_coordination"),
    ("dispatch.units_lifespan", "units"),
)

MQTT = web.AppKey("mqtt", MqttEndpoint)


def mqtt_endpoint(settings: Settings) -> MqttEndpoint | None:
    """The broker packages talk to, if any."""
    if settings.mqtt_url:
        return endpoint_from_url(settings.mqtt_url)
    if settings.embedded_broker:
        return MqttEndpoint(host=settings.mqtt_host, port=settings.mqtt_port)
    return None


def compose(
    settings: Settings,
    *,
    clock: Clock | None = None,
    locator: Locator | None = None,
    packages: tuple[tuple[str, str], ...] | None = None,
) -> web.Application:
    """The application with every package's lifespan and routes."""
    app = build_app(settings, clock=clock, locator=locator)
    if locator is None and settings.load_boundaries:
        routing_wiring.install(app, settings.routing)
        if settings.call_front_workers and clock is None:
            # fronts decide with their own gazetteer and the system clock
            call_front.install(app, settings.routing, settings.call_front_workers)
    endpoint = mqtt_endpoint(settings)
    if settings.embedded_broker and not settings.mqtt_url and endpoint is not None:
        broker_endpoint = endpoint

        async def broker_lifespan(_app: web.Application) -> AsyncIterator[None]:
            async with embedded_broker(broker_endpoint.host, broker_endpoint.port):
                yield

        app.cleanup_ctx.insert(0, broker_lifespan)
    if endpoint is not None:
        app[MQTT] = endpoint
    engine = app[http.ENGINE]
    for module_name, table in PACKAGES if packages is None else packages:
        module = importlib.import_module(module_name)
        context = PackageContext(
            engine=engine,
            mqtt=endpoint,
            section=getattr(settings, table),
            development_mode=settings.development_mode,
            database=(settings.db, settings.db_schema),
        )
        module.install(app, context)
    app.cleanup_ctx.append(gc_lifespan(settings.gc_freeze_interval_s, settings.gc_full_every))
    return app
