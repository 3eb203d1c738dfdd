"""Plugging GAMER coordination into the engine: projection, stream, pages, reports, push.

``install`` validates the ``[gamer_coordination]`` table, subscribes the live projection and
the push ledger to the event log (so they are rebuilt from the log at start, or restored
from the engine's snapshot and the events after it), adds the routes (see
``adapters/http.py``) and appends one cleanup context whose ``TaskGroup`` runs the spike
ticker, the scheduled situation reports and the MQTT push client.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web
from pydantic import ValidationError

from dispatch.ports import PackageContext
from gamer_coordination.adapters import http as gamer_http
from gamer_coordination.adapters.ws import DashboardHub, HubSnapshots
from gamer_coordination.projections import Coordination
from gamer_coordination.settings import GamerSettings
from gamer_coordination.spikes import SpikePolicy

logger = logging.getLogger(__name__)


def install(app: web.Application, context: PackageContext) -> None:
    """Add GAMER coordination's routes and background loops to the application."""
    try:
        settings = GamerSettings.model_validate(dict(context.section))
    except ValidationError as exc:
        msg = f"[gamer_coordination] settings are invalid: {exc.error_count()} error(s)"
        raise ValueError(msg) from None
    projection = Coordination(
        spike_policy=SpikePolicy(
            bucket_s=settings.spike_bucket_s,
            alpha=settings.spike_alpha,
            factor=settings.spike_factor,
            min_count=settings.spike_min_count,
            floor=settings.spike_floor,
        ),
        closed_retention=settings.closed_retention,
        report_history=timedelta(days=settings.report_history_days),
    )
    hub = DashboardHub(
        projection,
        max_pending=settings.stream_max_pending,
        coalesce_s=settings.stream_coalesce_ms / 1000.0,
        summary_interval_s=settings.stream_summary_interval_s,
    )
    context.engine.subscribe(hub.on_records, snapshot=HubSnapshots(hub))
    runtime = gamer_http.GamerRuntime(
        settings=settings, hub=hub, engine=context.engine, mqtt=context.mqtt
    )
    context.engine.subscribe(runtime.on_records, snapshot=runtime.ledger)
    app[gamer_http.RUNTIME] = runtime
    gamer_http.add_routes(app)

    async def lifespan(_app: web.Application) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    app.cleanup_ctx.append(lifespan)
