"""Running a scenario against an engine: arrivals on time, every driver, and the report.

:func:`offer_calls` is the load loop (used in-process and by the benchmark's worker
processes); :class:`Simulation` adds the dashboard watcher, the phone gateway that ends
the calls (``[gateway]``), the call-takers (``[call_takers]``), the operators and
dispatchers who conclude the incidents (``[operator]``), the eCall fleet, the unit fleet
(``[units]``) and the scenario's scheduled events, and ends with a :class:`Report` that
compares what was acknowledged with what the stream and the API show.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from simulators.call_takers import CallTakerFloor, seats
from simulators.drivers import (
    Ack,
    CallSender,
    MalformedStats,
    Sender,
    StreamWatcher,
    malformed_bodies,
    malformed_burst,
)
from simulators.ecall_fleet import EcallFleet
from simulators.gateway import PhoneGateway
from simulators.operators import Operator
from simulators.scenario import Scenario
from simulators.traffic import CallSpec, TrafficModel
from simulators.unit_fleet import UnitFleet

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class LoopStats:
    """How well the load loop kept to the schedule."""

    scheduled: int = 0
    max_lag_s: float = 0.0
    saturated: int = 0


async def offer_calls(
    model: TrafficModel,
    sender: Sender,
    *,
    duration_s: float,
    stop: asyncio.Event,
    max_in_flight: int,
    on_ack: Callable[[CallSpec, Ack], None] | None = None,
    divert: Callable[[CallSpec], bool] | None = None,
    stats: LoopStats | None = None,
) -> LoopStats:
    """Offer the model's calls at their scenario times until ``duration_s`` or ``stop``.

    ``divert`` may take a call for another transport (the eCall fleet) and return True.
    In-flight sends finish (they retry until acknowledged) before this returns.
    """
    stats = stats or LoopStats()
    semaphore = asyncio.Semaphore(max_in_flight)
    start = time.monotonic()

    async def one(spec: CallSpec) -> None:
        try:
            ack = await sender.send(spec)
            if ack is not None and on_ack is not None:
                on_ack(spec, ack)
        finally:
            semaphore.release()

    until = duration_s if duration_s > 0 else None
    async with asyncio.TaskGroup() as group:
        for t in model.arrivals(0.0, until):
            if stop.is_set():
                break
            delay = start + t - time.monotonic()
            if delay > 0.001:
                await asyncio.sleep(min(delay, 0.5))
                if stop.is_set():
                    break
                delay = start + t - time.monotonic()
                if delay > 0.001:
                    await asyncio.sleep(delay)
            else:
                stats.max_lag_s = max(stats.max_lag_s, -delay)
            spec = model.call_at(t)
            stats.scheduled += 1
            if divert is not None and divert(spec):
                continue
            if semaphore.locked():
                stats.saturated += 1
            await semaphore.acquire()
            group.create_task(one(spec))
    return stats


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by nearest rank, or ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


@dataclass(slots=True)
class Report:
    """What a run offered, what was acknowledged, and what the dashboard and API saw."""

    scenario: str
    elapsed_s: float
    offered: int
    acknowledged: int
    refused: int
    retries: int
    seen_on_stream: int
    lost: int
    duplicated: int
    api_checked: int
    api_missing: int
    latency_ms: dict[str, float | None]
    by_channel: dict[str, int]
    operator: dict[str, int]
    malformed: dict[str, Any] | None
    ecall_mqtt: dict[str, int] | None
    loop: dict[str, float]
    units: dict[str, int] | None = None
    gateway: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "scenario": self.scenario,
            "elapsed_s": round(self.elapsed_s, 3),
            "offered": self.offered,
            "acknowledged": self.acknowledged,
            "refused": self.refused,
            "retries": self.retries,
            "seen_on_stream": self.seen_on_stream,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "api_checked": self.api_checked,
            "api_missing": self.api_missing,
            "latency_ms": self.latency_ms,
            "by_channel": self.by_channel,
            "operator": self.operator,
            "malformed": self.malformed,
            "ecall_mqtt": self.ecall_mqtt,
            "loop": self.loop,
            "units": self.units,
            "gateway": self.gateway,
            **self.extra,
        }


def latency_summary(samples_s: list[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds."""
    out: dict[str, float | None] = {}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        value = percentile(samples_s, q)
        out[name] = None if value is None else round(value * 1000, 2)
    return out


async def check_api(
    session: aiohttp.ClientSession, base_url: str, call_ids: list[str], *, sample: int
) -> tuple[int, int]:
    """Look up (a sample of) acknowledged calls through ``GET /api/v1/calls/{id}``.

    Returns ``(checked, missing)``.
    """
    chosen = call_ids if len(call_ids) <= sample else random.sample(call_ids, sample)
    missing = 0
    semaphore = asyncio.Semaphore(32)
    base = base_url.rstrip("/")

    async def one(call_id: str) -> None:
        nonlocal missing
        async with semaphore, session.get(f"{base}/api/v1/calls/{call_id}") as response:
            await response.read()
            if response.status != 200:
                missing += 1

    async with asyncio.TaskGroup() as group:
        for call_id in chosen:
            group.create_task(one(call_id))
    return len(chosen), missing


def ws_url(base_url: str) -> str:
    """The stream URL of an engine's base URL."""
    return (
        base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/")
        + "/api/v1/stream"
    )


class Simulation:
    """One scenario run against one engine, with every driver; see the module docstring."""

    def __init__(
        self,
        scenario: Scenario,
        base_url: str,
        *,
        mqtt: tuple[str, int] | None = None,
        run_id: str | None = None,
        api_sample: int = 2000,
        settle_s: float = 15.0,
    ) -> None:
        self.scenario = scenario
        self.base_url = base_url.rstrip("/")
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.model = TrafficModel(scenario, run_id=self.run_id)
        self.watcher = StreamWatcher(ws_url(self.base_url))
        self.mqtt = mqtt
        self.api_sample = api_sample
        self.settle_s = settle_s
        self.loop_stats = LoopStats()
        self.sender: CallSender | None = None
        self.operator: Operator | None = None
        self.fleet: EcallFleet | None = None
        self.units: UnitFleet | None = None
        self.call_takers: CallTakerFloor | None = None
        self.gateway: PhoneGateway | None = None
        self.malformed: MalformedStats | None = None
        self.started = time.monotonic()

    def _divert(self, spec: CallSpec) -> bool:
        if self.fleet is not None and spec.vehicle is not None:
            self.fleet.offer(spec)
            return True
        return False

    def _on_ack(self, spec: CallSpec, ack: Ack) -> None:
        gateway = self.gateway
        if gateway is not None:
            gateway.offered(spec, ack)
        if self.operator is not None:
            self.operator.take(spec, ack)

    def _abandoned(self, spec: CallSpec, ack: Ack) -> None:
        """The gateway reported a caller hung up: the operators call the number back."""
        if self.operator is not None:
            self.operator.abandoned(spec, ack)

    def _call_ended(self, _spec: CallSpec, ack: Ack) -> None:
        """With no call-takers, the operator's handling is the call: it has ended now."""
        if self.gateway is not None:
            self.gateway.finished(ack.call_id)

    async def _at(self, at_s: float, stop: asyncio.Event) -> bool:
        delay = self.started + at_s - time.monotonic()
        if delay > 0:
            try:
                async with asyncio.timeout(delay):
                    await stop.wait()
            except TimeoutError:
                return True
        return not stop.is_set()

    async def _malformed(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        burst = self.scenario.malformed
        if burst is None or not await self._at(burst.at_s, stop):
            return
        bodies = malformed_bodies(random.Random(self.scenario.seed + 2), burst.count)
        self.malformed = await malformed_burst(session, self.base_url, bodies)

    async def _broker_restart(self, stop: asyncio.Event) -> None:
        restart = self.scenario.broker_restart
        if restart is None or self.fleet is None or not await self._at(restart.at_s, stop):
            return
        self.fleet.broker_outage(restart.down_s)

    async def run(self, stop: asyncio.Event | None = None) -> Report:
        """Run until the scenario's duration or ``stop``; then settle and report."""
        stop = stop or asyncio.Event()
        scenario = self.scenario
        connector = aiohttp.TCPConnector(limit=scenario.max_in_flight + 32)
        async with aiohttp.ClientSession(connector=connector) as session:
            self.sender = CallSender(session, self.base_url)
            takers = scenario.call_takers.enabled
            if scenario.gateway.enabled:
                self.gateway = PhoneGateway(
                    session,
                    self.base_url,
                    announce_s=scenario.gateway.announce_s,
                    patience_s=scenario.gateway.patience_s if takers else None,
                    speed=scenario.speed,
                    rng=random.Random(scenario.seed + 7),
                    on_abandoned=self._abandoned,
                )
            if scenario.operator.enabled:
                operating = scenario.operator
                self.operator = Operator(
                    session,
                    self.base_url,
                    delay_s=operating.delay_s,
                    queue_legitimate=operating.queue_legitimate,
                    outage=scenario.outage,
                    clock=lambda: time.monotonic() - self.started,
                    rng=random.Random(scenario.seed + 3),
                    dispatch_within_s=operating.dispatch_within_s,
                    conclude=operating.conclude,
                    respond_s=operating.respond_s,
                    close_s=operating.close_s,
                    speed=scenario.speed,
                    on_handled=None if takers else self._call_ended,
                )
            if scenario.ecall.transport == "mqtt" and self.mqtt is not None:
                self.fleet = EcallFleet(
                    *self.mqtt, resend_interval_s=scenario.ecall.resend_interval_s
                )
            if scenario.units.enabled and self.mqtt is not None:
                self.units = UnitFleet.from_scenario(
                    scenario.units, self.base_url, *self.mqtt, run_id=self.run_id
                )
            if scenario.call_takers.enabled:
                floor = scenario.call_takers
                self.call_takers = CallTakerFloor(
                    session,
                    self.base_url,
                    seats(floor.operators, run_id=self.run_id),
                    handle_s=floor.handle_s,
                    speed=scenario.speed,
                    idle_s=floor.idle_s,
                    rng=random.Random(scenario.seed + 5),
                    gateway=self.gateway,
                )
            async with asyncio.TaskGroup() as group:
                helpers = [group.create_task(self.watcher.run(), name="ng112-sim-watcher")]
                if self.call_takers is not None:
                    helpers.append(
                        group.create_task(self.call_takers.run(), name="ng112-sim-call-takers")
                    )
                if self.units is not None:
                    helpers.append(group.create_task(self.units.run(), name="ng112-sim-units"))
                if self.gateway is not None:
                    helpers.append(group.create_task(self.gateway.run(), name="ng112-sim-gateway"))
                async with asyncio.timeout(10):
                    await self.watcher.connected.wait()
                if self.operator is not None:
                    helpers.append(group.create_task(self.operator.run(), name="ng112-sim-ops"))
                if self.fleet is not None:
                    helpers.append(group.create_task(self.fleet.run(), name="ng112-sim-ecall"))
                    helpers.append(group.create_task(self._broker_restart(stop)))
                events = group.create_task(self._malformed(session, stop), name="ng112-sim-bad")
                self.started = time.monotonic()
                await offer_calls(
                    self.model,
                    self.sender,
                    duration_s=scenario.duration_s,
                    stop=stop,
                    max_in_flight=scenario.max_in_flight,
                    on_ack=self._on_ack,
                    divert=self._divert,
                    stats=self.loop_stats,
                )
                elapsed = time.monotonic() - self.started
                if not events.done():
                    events.cancel()
                await self._settle()
                for helper in helpers:
                    helper.cancel()
            checked, missing = await check_api(
                session,
                self.base_url,
                self._acknowledged_ids(),
                sample=self.api_sample,
            )
        return self._report(elapsed, checked, missing)

    async def _settle(self) -> None:
        """Wait (bounded) until the dashboard has seen every acknowledged call."""
        if self.sender is None:
            return
        wanted = set(self._acknowledged_ids())
        await self.watcher.wait_seen(wanted, self.settle_s)

    def _acknowledged_ids(self) -> list[str]:
        """Every call id the engine acknowledged: over HTTP and in eCall acks."""
        ids = [a.call_id for a in self.sender.acks.values()] if self.sender else []
        if self.fleet is not None:
            ids.extend(self.fleet.stats.call_ids.values())
        return ids

    def _report(self, elapsed: float, checked: int, missing: int) -> Report:
        sender = self.sender
        if sender is None:
            raise RuntimeError("the simulation has not run")
        acks = sender.acks
        seen = self.watcher.seen
        call_ids = self._acknowledged_ids()
        lost = sum(1 for call_id in call_ids if call_id not in seen)
        duplicated = (len(call_ids) - len(set(call_ids))) + self.watcher.stats.duplicate_calls
        latencies = [seen[a.call_id] - a.sent_at for a in acks.values() if a.call_id in seen]
        operator = self.operator.stats if self.operator else None
        fleet = self.fleet.stats if self.fleet else None
        gateway = self.gateway.stats if self.gateway else None
        return Report(
            scenario=self.scenario.name,
            elapsed_s=elapsed,
            offered=sender.stats.offered,
            acknowledged=sender.stats.acknowledged,
            refused=sender.stats.refused,
            retries=sender.stats.retries,
            seen_on_stream=self.watcher.stats.calls_seen,
            lost=lost,
            duplicated=duplicated,
            api_checked=checked,
            api_missing=missing,
            latency_ms=latency_summary(latencies),
            by_channel=dict(sender.stats.by_channel),
            operator={
                "unfounded": operator.unfounded,
                "queued": operator.queued,
                "refused": operator.refused,
                "deferred_by_outage": operator.deferred_by_outage,
                "dispatched": operator.dispatched,
                "no_unit": operator.no_unit,
                "called_back": operator.called_back,
                "agency_dispatched": operator.agency_dispatched,
                "resolved": operator.resolved,
                "closed": operator.closed,
            }
            if operator
            else {},
            gateway=None
            if gateway is None
            else {
                "abandoned": gateway.abandoned,
                "gave_up_waiting": gateway.gave_up_waiting,
                "ended": gateway.ended,
                "acknowledged": gateway.acknowledged,
                "refused": gateway.refused,
                "refusals": dict(gateway.refusals),
                "requests": gateway.requests,
                "dropped": gateway.dropped,
            },
            malformed=None
            if self.malformed is None
            else {
                "sent": self.malformed.sent,
                "refused": self.malformed.refused,
                "accepted": self.malformed.accepted,
            },
            ecall_mqtt=None
            if fleet is None
            else {
                "offered": fleet.offered,
                "published": fleet.published,
                "acknowledged": fleet.acknowledged,
                "with_call": len(fleet.call_ids),
                "rejected": fleet.rejected,
                "tests_logged": fleet.tests_logged,
                "reconnects": fleet.reconnects,
            },
            units=None
            if self.units is None
            else {
                "registered": self.units.stats.registered,
                "published": self.units.stats.published,
                "acknowledged": self.units.stats.acknowledged,
                "rejected": self.units.stats.rejected,
                "orders": self.units.stats.orders,
                "arrived": self.units.stats.arrived,
                "reconnects": self.units.stats.reconnects,
            },
            loop={
                "scheduled": self.loop_stats.scheduled,
                "max_lag_s": round(self.loop_stats.max_lag_s, 3),
                "saturated": self.loop_stats.saturated,
            },
        )
