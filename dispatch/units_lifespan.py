"""Wiring units, multi-agency hand-offs and duplicates into the running engine.

``install`` validates the ``[units]`` table, builds the three services over the engine
(each subscribes its projections, so they are rebuilt from the log at start), adds their
HTTP routes and a lifespan that loads the road graph off the loop (if
``road_graph = "path.graphml"`` is set), connects the units' MQTT gateway (if a broker is
configured) and runs the timer loop: order acknowledgements, hand-off requests and
escalations, duplicate proposals. The loop waits until the earliest deadline or until a
committed event wakes it; it reads time only from the engine's clock, so tests drive it by
calling each service's ``tick(now)`` with a controlled clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Protocol

from aiohttp import web

from dispatch.adapters.http import EXTRA_METRICS
from dispatch.adapters.store import is_memory_database
from dispatch.adapters.units_http import DUPLICATES, HAND_OFFS, UNITS, add_routes
from dispatch.adapters.units_mqtt import UnitsGateway
from dispatch.app import duplicate_search
from dispatch.core.projections import Recorded, State, register_handler
from dispatch.duplicates import DuplicateDecisions, DuplicatesService
from dispatch.model.dispatch_events import UnitPositionReported
from dispatch.model.events import Event
from dispatch.multi_agency import HandOffPolicy, MultiAgencyService
from dispatch.ports import Clock, EnginePort, PackageContext
from dispatch.service import Engine
from dispatch.units import UnitsService, UnitsSettings
from routing.travel import RoadGraph

logger = logging.getLogger(__name__)

GATEWAY = web.AppKey("units_gateway", UnitsGateway)


class Timed(Protocol):
    """A service with deadlines: the timer loop calls ``tick`` when one is due."""

    wake: asyncio.Event

    def next_deadline(self) -> datetime | None:
        """When ``tick`` next has something to do."""
        ...

    async def tick(self, now: datetime) -> list[Recorded]:
        """Do what is due at ``now``."""
        ...


#: Each engine's services, for the metrics function (one per process, several in tests).
_SERVICES: weakref.WeakKeyDictionary[
    EnginePort, tuple[UnitsService, DuplicateDecisions, UnitsGateway | None]
] = weakref.WeakKeyDictionary()


def _metrics(engine: Engine) -> bytes:
    """Prometheus lines: fleet size, flagged orders, open proposals, outbox depth."""
    found = _SERVICES.get(engine)
    if found is None:
        return b""
    units, duplicates, gateway = found
    lines = [
        "# TYPE ng112_units gauge",
        f"ng112_units {len(units.fleet.units)}",
        "# TYPE ng112_unit_orders_unacknowledged gauge",
        f"ng112_unit_orders_unacknowledged {len(units.orders.flagged())}",
        "# TYPE ng112_duplicate_proposals_open gauge",
        f"ng112_duplicate_proposals_open {duplicates.book.open_proposal_count()}",
    ]
    if isinstance(duplicates, duplicate_search.ProcessDuplicatesService):
        lines += [
            "# TYPE ng112_duplicate_search_up gauge",
            f"ng112_duplicate_search_up {int(duplicates.process.up.is_set())}",
            "# TYPE ng112_duplicate_search_waiting gauge",
            f"ng112_duplicate_search_waiting {duplicates.waiting}",
            "# TYPE ng112_duplicate_search_lag_events gauge",
            f"ng112_duplicate_search_lag_events {duplicates.lag_events()}",
        ]
    if gateway is not None:
        lines += [
            "# TYPE ng112_units_outbox_depth gauge",
            f"ng112_units_outbox_depth {gateway.outbox_depth}",
        ]
    return ("\n".join(lines) + "\n").encode()


def _position(state: State, seq: int, event: Event) -> None:
    """The engine's unit view follows AVL positions too."""
    assert isinstance(event, UnitPositionReported)  # noqa: S101 - dispatch table guarantees it
    unit = state.units.get(event.unit_id)
    if unit is not None:
        unit.location = event.location
        unit.updated_seq = seq


async def run_timers(
    clock: Clock, services: Sequence[Timed], *, max_wait_s: float, wake: asyncio.Event
) -> None:
    """Call each service's ``tick`` when a deadline passes or a commit wakes the loop."""
    while True:
        wake.clear()
        pause = 0.0
        for service in services:
            try:
                await service.tick(clock.now())
            except Exception:
                logger.exception("timer tick failed; retrying shortly")
                pause = 1.0
        deadlines = [d for s in services if (d := s.next_deadline()) is not None]
        wait = max_wait_s
        if deadlines:
            wait = min(max((min(deadlines) - clock.now()).total_seconds(), 0.0), max_wait_s)
        wait = max(wait, pause)
        if wait <= 0 and not pause:
            wait = 0.01  # something is due right now: loop again soon, never spin
        with suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await wake.wait()


def install(app: web.Application, context: PackageContext) -> None:
    """Build the units, hand-off and duplicate services and add their routes and lifespan."""
    settings = UnitsSettings.model_validate(dict(context.section))
    engine = context.engine
    units = UnitsService(engine, settings)
    hand_offs = MultiAgencyService(
        engine,
        HandOffPolicy(ack_s=settings.handoff_ack_s, max_level=settings.handoff_escalations),
    )
    duplicates: DuplicateDecisions
    if settings.duplicate_search == "process":
        if context.database is None:
            raise ValueError("duplicate_search = 'process' needs the engine's database")
        db_url, db_schema = context.database
        if is_memory_database(db_url):
            raise ValueError("duplicate_search = 'process' cannot share an in-memory database")
        searching = duplicate_search.ProcessDuplicatesService(
            engine,
            db_url=db_url,
            db_schema=db_schema,
            save_every=settings.duplicate_search_save_every,
        )
        duplicate_search.install(app, searching)
        duplicates = searching
    else:
        duplicates = DuplicatesService(engine)
    app[UNITS] = units
    app[HAND_OFFS] = hand_offs
    app[DUPLICATES] = duplicates
    register_handler(UnitPositionReported, _position)
    add_routes(app)
    gateway = UnitsGateway(units, context.mqtt, settings) if context.mqtt is not None else None
    if gateway is not None:
        app[GATEWAY] = gateway
        units.sender = gateway
    wake = asyncio.Event()
    services: tuple[Timed, ...] = (units, hand_offs, duplicates)
    for service in services:
        service.wake = wake  # one event wakes the timer loop for all three

    _SERVICES[engine] = (units, duplicates, gateway)
    if _metrics not in EXTRA_METRICS:
        EXTRA_METRICS.append(_metrics)

    async def lifespan(_app: web.Application) -> AsyncIterator[None]:
        if settings.road_graph is not None:
            started = time.perf_counter()
            units.graph = await asyncio.to_thread(RoadGraph.from_graphml, settings.road_graph)
            logger.info(
                "road graph of %d nodes loaded in %.2f s",
                units.graph.node_count,
                time.perf_counter() - started,
            )
        async with asyncio.TaskGroup() as tasks:
            running = [
                tasks.create_task(
                    run_timers(
                        engine.clock, services, max_wait_s=settings.timer_max_wait_s, wake=wake
                    ),
                    name="units-timers",
                ),
            ]
            if gateway is not None:
                running.append(tasks.create_task(gateway.run(), name="units-mqtt"))
            try:
                yield
            finally:
                for task in running:
                    task.cancel()

    app.cleanup_ctx.append(lifespan)
