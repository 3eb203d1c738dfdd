"""How intake plugs into the running engine: its settings, service, routes and shutdown.

`install` validates the `[intake]` table, builds the `IntakeService` over the engine port
(its projections subscribe to the log, so they are rebuilt when the store replays it at
start), adds the HTTP and websocket routes with their OpenAPI description, and closes the
session websockets at shutdown. It runs no background loop: pending AML reports, challenges
and flood buckets expire lazily against the engine's clock (waiting reports and ended calls
also against the folded log's time), and an archived incident's calls leave the service's
projections when the engine folds its archive.
"""

from __future__ import annotations

import logging
import weakref
from typing import Final

from aiohttp import web

from dispatch.adapters.http import EXTRA_METRICS
from dispatch.ports import EnginePort, PackageContext
from intake.adapters import http, ws
from intake.service import IntakeService, SmsGateway
from intake.settings import IntakeSettings

logger = logging.getLogger(__name__)

__all__ = ["SMS_GATEWAY", "install"]

SMS_GATEWAY: Final = web.AppKey("intake_sms_gateway", SmsGateway)
"""Where a deployment puts its SMS gateway (before the app starts) for production registration."""

_SERVICES: weakref.WeakKeyDictionary[object, IntakeService] = weakref.WeakKeyDictionary()


def _metrics(engine: object) -> bytes:
    service = _SERVICES.get(engine)
    if service is None:
        return b""
    lines = [
        "# TYPE ng112_intake_aml_pending gauge",
        f"ng112_intake_aml_pending {service.aml.pending_count}",
        "# TYPE ng112_intake_aml_pending_dropped counter",
        f"ng112_intake_aml_pending_dropped_total {service.aml.evicted + service.aml.expired}",
        "# TYPE ng112_intake_flood_refused counter",
        f"ng112_intake_flood_refused_total {service.flood.refused}",
        "# TYPE ng112_intake_callbacks_waiting gauge",
        f"ng112_intake_callbacks_waiting {len(service.callbacks)}",
        "# TYPE ng112_intake_sessions gauge",
        f"ng112_intake_sessions {len(service.sessions)}",
        "# TYPE ng112_intake_devices gauge",
        f"ng112_intake_devices {service.registrations.device_count}",
    ]
    return ("\n".join(lines) + "\n").encode()


def _register_metrics(engine: EnginePort, service: IntakeService) -> None:
    _SERVICES[engine] = service
    if _metrics not in EXTRA_METRICS:
        EXTRA_METRICS.append(_metrics)


def install(app: web.Application, context: PackageContext) -> None:
    """Add intake's service, routes and shutdown step to the application."""
    settings = IntakeSettings.model_validate(dict(context.section))
    service = IntakeService(context.engine, settings, development_mode=context.development_mode)
    app[http.INTAKE] = service

    async def take_sms_gateway(app: web.Application) -> None:
        service.sms = app.get(SMS_GATEWAY)
        if service.sms is None and not context.development_mode:
            logger.warning("no SMS gateway: app registration answers 503 until one is set")

    app.on_startup.append(take_sms_gateway)
    _register_metrics(context.engine, service)
    http.add_routes(app)
    ws.add_routes(app)
