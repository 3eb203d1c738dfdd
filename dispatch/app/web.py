"""The composition root's web application: every package's lifespan, in dependency order.

Lifespans are aiohttp cleanup contexts appended in the order they start (store, engine,
boundaries, streams, channels), so they close in reverse. Long-lived loops run in a
``TaskGroup`` owned by the store lifespan; nothing is fire-and-forget.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from datetime import timedelta

from aiohttp import web

from dispatch.adapters import http
from dispatch.adapters.store import EventLog, create_engine
from dispatch.adapters.ws import Broadcaster
from dispatch.app.gc_tuning import bulk_load
from dispatch.app.housekeeping import run_archivist, run_snapshot_keeper
from dispatch.app.openapi import openapi_document
from dispatch.app.settings import Settings
from dispatch.model.access import Principal
from dispatch.model.ids import CentreId
from dispatch.ports import Clock, Locator
from dispatch.service import Engine

logger = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
LOCATOR = web.AppKey("locator", Locator)
TASKS = web.AppKey("tasks", asyncio.TaskGroup)

#: Extra lifespans other packages contribute (the CLI's composition appends to this).
Lifespan = Callable[[web.Application], AsyncIterator[None]]


def _principals(settings: Settings) -> dict[str, Principal]:
    return {
        grant.token: Principal(
            subject=grant.subject,
            role=grant.role,
            province=grant.province,
            centre=CentreId(grant.centre) if grant.centre else None,
            agency=grant.agency,
        )
        for grant in settings.tokens
    }


def build_app(
    settings: Settings,
    *,
    locator: Locator | None = None,
    clock: Clock | None = None,
    extra_lifespans: tuple[Lifespan, ...] = (),
) -> web.Application:
    """The aiohttp application of one ng112 process."""
    app = web.Application(
        client_max_size=settings.body_limit,
        middlewares=[http.error_middleware, http.auth_middleware],
    )
    app[SETTINGS] = settings
    app[http.METRICS] = http.Metrics()
    app[http.PRINCIPALS] = _principals(settings)
    app[http.DEVELOPMENT] = settings.development_mode and not settings.tokens
    app[http.READY] = {"event_log": False}
    db_engine = create_engine(settings.db, schema=settings.db_schema)
    log = EventLog(
        db_engine,
        group_commit=settings.group_commit,
        max_batch=settings.max_batch,
    )
    engine = Engine(log, clock=clock)
    app[http.ENGINE] = engine
    app[http.BROADCASTER] = Broadcaster(log, queue_size=settings.stream_queue)
    if locator is not None:
        app[LOCATOR] = locator
        engine.locator = locator

    async def store_lifespan(app: web.Application) -> AsyncIterator[None]:
        started = time.perf_counter()
        await log.open()
        with bulk_load():
            replayed = await engine.rebuild()
        logger.info(
            "event log open: %d events replayed in %.2f s", replayed, time.perf_counter() - started
        )
        async with asyncio.TaskGroup() as tasks:
            app[TASKS] = tasks
            writer = tasks.create_task(log.run_writer(), name="ng112-event-log-writer")
            keepers = _start_housekeeping(tasks, engine, settings)
            app[http.READY]["event_log"] = True
            try:
                yield
            finally:
                app[http.READY]["event_log"] = False
                for keeper in keepers:
                    keeper.cancel()
                log.stop_writer()
                try:
                    await asyncio.wait_for(asyncio.shield(writer), timeout=30)
                except TimeoutError:
                    logger.exception("the event log writer did not stop within 30 s: cancelled")
                    writer.cancel()
                    with suppress(asyncio.CancelledError):
                        await writer
                await log.drain()
                if settings.snapshot_on_stop:
                    await _snapshot_on_stop(engine)
        await db_engine.dispose()
        gc.unfreeze()  # what the replay froze is the collector's again (tests start many apps)

    app.cleanup_ctx.append(store_lifespan)
    for lifespan in extra_lifespans:
        app.cleanup_ctx.append(lifespan)
    app.on_shutdown.append(_close_streams)
    http.add_routes(app)
    document: dict[str, object] = {}

    async def openapi(_request: web.Request) -> web.Response:
        if not document:  # built on first use, after every package added its paths
            document.update(openapi_document())
        return http.json_response(document)

    app.router.add_get("/api/v1/openapi.json", openapi)
    return app


def _start_housekeeping(
    tasks: asyncio.TaskGroup, engine: Engine, settings: Settings
) -> list[asyncio.Task[None]]:
    keepers = [
        tasks.create_task(
            run_archivist(
                engine,
                after=timedelta(seconds=settings.archive_after_s),
                every_s=settings.archive_every_s,
            ),
            name="ng112-archivist",
        )
    ]
    if settings.snapshot_every_events > 0:
        keepers.append(
            tasks.create_task(
                run_snapshot_keeper(
                    engine,
                    every_events=settings.snapshot_every_events,
                    min_interval_s=settings.snapshot_min_interval_s,
                ),
                name="ng112-snapshot-keeper",
            )
        )
    return keepers


async def _snapshot_on_stop(engine: Engine) -> None:
    """Save the projections as the last commit left them, so the next start is quick."""
    try:
        await engine.save_snapshot()
    except Exception:  # the log is the truth: a missing snapshot only slows the next start
        logger.exception("no snapshot saved at stop")


async def _close_streams(app: web.Application) -> None:
    """Stop-accepting phase of shutdown: tell stream clients the server is going away."""
    del app  # websockets are closed by aiohttp's shutdown; nothing more to do yet
