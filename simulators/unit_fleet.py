"""Simulated unit fleets: units that register, report, take orders, drive and come back.

Each unit speaks only ng112's public protocols. It is registered with
``POST /api/v1/units`` (as an administrator; in development mode through the
``X-NG112-Role`` header), then its device connects to the broker (MQTT 3.1.1, one
connection per unit, as a real device would) and:

- publishes its position on ``{prefix}/{unit}/avl`` and its status on ``.../status``,
  resending each message until ng112's application ack (published after commit on
  ``.../ack``) names its ``msg_id`` -- the broker's PUBACK is not enough;
- listens on ``.../orders``; for each order it acknowledges on ``.../orders/ack``, reports
  ``en_route``, moves toward the incident reporting AVL every ``step_s``, reports
  ``on_scene`` there, waits ``on_scene_s`` and reports ``available``.

Movement is a straight-line interpolation from the unit's position to the order's
location at ``speed_kmh`` (great-circle distance, linear in latitude and longitude).
Driving along roads (ng112's road graph, ``units.road_graph``) is the extension point:
replace :func:`path_toward` with a routed polyline. A broker outage drops the connections;
devices reconnect with back-off and resend everything not acknowledged (ng112 dedupes on
``(unit, msg_id)``; ``msg_id`` carries the run id, so a rerun never collides).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import aiomqtt
import orjson

from dispatch.units_topics import DEFAULT_PREFIX, UnitTopics
from simulators.errors import FleetRefused, raise_if_cancelled
from simulators.geography import distance_m, offset, province
from simulators.scenario import Units

logger = logging.getLogger(__name__)

#: The kind of unit each simulated agency fields.
AGENCY_KINDS: dict[str, str] = {
    "health": "ambulance",
    "police": "patrol_car",
    "fire": "fire_engine",
    "gendarmerie": "gendarmerie_team",
    "afad": "afad_team",
}

ADMIN_HEADERS = {"X-NG112-Role": "administrator"}


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitSpec:
    """One simulated unit: who it is and where its station is."""

    unit_id: str
    agency: str
    plate: int
    home: tuple[float, float]

    @property
    def kind(self) -> str:
        """The unit's kind (ambulance, patrol car ...)."""
        return AGENCY_KINDS[self.agency]


@dataclass(slots=True)
class UnitFleetStats:
    """What the fleet registered, sent and was acknowledged."""

    registered: int = 0
    published: int = 0
    acknowledged: int = 0
    rejected: int = 0
    orders: int = 0
    arrived: int = 0
    reconnects: int = 0
    statuses: dict[str, str] = field(default_factory=dict)


def fleet_specs(config: Units, *, prefix: str = "sim") -> list[UnitSpec]:
    """The units a ``[units]`` table asks for, stationed around their plates' centres."""
    slots = [(plate, agency) for plate in config.plates for agency in config.agencies]
    specs: list[UnitSpec] = []
    for n in range(config.total):
        plate, agency = slots[n % len(slots)]
        centre = province(plate)
        ring, angle = divmod(n, 8)
        radius = 800.0 * (1 + ring % 5)
        lat, lon = offset(
            centre.lat,
            centre.lon,
            radius * math.cos(angle * math.pi / 4),
            radius * math.sin(angle * math.pi / 4),
        )
        unit_id = f"{prefix}-{plate:02d}-{agency}-{n:04d}"
        specs.append(UnitSpec(unit_id=unit_id, agency=agency, plate=plate, home=(lat, lon)))
    return specs


def path_toward(
    start: tuple[float, float], goal: tuple[float, float], *, step_m: float
) -> Iterator[tuple[float, float]]:
    """Points every ``step_m`` metres on the straight line to ``goal``, ending at it."""
    total = distance_m(start, goal)
    steps = max(1, math.ceil(total / step_m)) if step_m > 0 else 1
    for i in range(1, steps + 1):
        f = i / steps
        yield start[0] + (goal[0] - start[0]) * f, start[1] + (goal[1] - start[1]) * f


class _Device:
    """One unit's device: its connection, its unacknowledged messages and its behaviour."""

    def __init__(self, fleet: UnitFleet, spec: UnitSpec) -> None:
        self.fleet = fleet
        self.spec = spec
        self.position = spec.home
        self.status = "available"
        self._numbers = itertools.count(1)
        self._pending: dict[str, tuple[str, bytes]] = {}
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._orders: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._seen_orders: set[str] = set()
        self._client: aiomqtt.Client | None = None
        self._wake = asyncio.Event()

    @property
    def unacknowledged(self) -> int:
        """Messages still waiting for ng112's ack."""
        return len(self._pending)

    async def run(self) -> None:
        """Keep the connection and play the unit's part until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._connection(), name=f"ng112-sim-unit-{self.spec.unit_id}")
            await self._behaviour()

    async def _connection(self) -> None:
        fleet = self.fleet
        topics = fleet.topics
        unit_id = self.spec.unit_id
        backoff = 0.2
        while True:
            try:
                async with aiomqtt.Client(
                    fleet.host,
                    fleet.port,
                    identifier=f"{unit_id}-{fleet.run_id}",
                    protocol=aiomqtt.ProtocolVersion.V311,
                ) as client:
                    await client.subscribe(topics.ack(unit_id), qos=1)
                    await client.subscribe(topics.orders(unit_id), qos=1)
                    backoff = 0.2
                    self._client = client
                    async with asyncio.TaskGroup() as group:
                        reader = group.create_task(self._read(client))
                        try:
                            await self._resend_loop(client)
                        finally:
                            reader.cancel()
            except aiomqtt.MqttError:
                raise_if_cancelled()
                fleet.stats.reconnects += 1
            finally:
                self._client = None
            await asyncio.sleep(backoff)  # back-off before reconnecting
            backoff = min(backoff * 2, 5.0)

    async def _resend_loop(self, client: aiomqtt.Client) -> None:
        """Publish every unacknowledged message now and again every resend interval."""
        interval = self.fleet.resend_interval_s
        sent_at: dict[str, float] = {}
        while True:
            now = time.monotonic()
            for msg_id, (topic, payload) in list(self._pending.items()):
                if now - sent_at.get(msg_id, -math.inf) >= interval:
                    sent_at[msg_id] = now
                    await client.publish(topic, payload, qos=1)
                    self.fleet.stats.published += 1
            for msg_id in list(sent_at):
                if msg_id not in self._pending:
                    del sent_at[msg_id]
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()

    async def _read(self, client: aiomqtt.Client) -> None:
        topics = self.fleet.topics
        unit_id = self.spec.unit_id
        async for message in client.messages:
            try:
                body = orjson.loads(bytes(message.payload))
            except orjson.JSONDecodeError:
                continue
            if not isinstance(body, dict):
                continue
            if message.topic.value == topics.ack(unit_id):
                msg_id = body.get("msg_id")
                future = self._acks.get(msg_id) if isinstance(msg_id, str) else None
                if future is not None and not future.done():
                    future.set_result(body)
            elif message.topic.value == topics.orders(unit_id):
                self._orders.put_nowait(body)

    async def send(self, topic: str, body: dict[str, Any]) -> dict[str, Any]:
        """Queue a message and wait until ng112 acknowledges it (resending meanwhile)."""
        msg_id = f"{self.fleet.run_id}-{next(self._numbers)}"
        body = {**body, "msg_id": msg_id}
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[msg_id] = future
        self._pending[msg_id] = (topic, orjson.dumps(body))
        self._wake.set()
        try:
            ack = await future
        finally:
            self._pending.pop(msg_id, None)
            self._acks.pop(msg_id, None)
        stats = self.fleet.stats
        stats.acknowledged += 1
        if ack.get("result") == "rejected":
            stats.rejected += 1
        return ack

    async def _avl(self) -> None:
        lat, lon = self.position
        await self.send(self.fleet.topics.avl(self.spec.unit_id), {"lat": lat, "lon": lon})

    async def _report(self, status: str, incident_id: str | None = None) -> None:
        body: dict[str, Any] = {"status": status}
        if incident_id is not None:
            body["incident_id"] = incident_id
        lat, lon = self.position
        body |= {"lat": lat, "lon": lon}
        ack = await self.send(self.fleet.topics.status(self.spec.unit_id), body)
        if ack.get("result") != "rejected":
            self.status = status
            self.fleet.stats.statuses[self.spec.unit_id] = status

    async def _behaviour(self) -> None:
        await self._avl()
        await self._report("available")
        while True:
            order = await self._orders.get()
            order_id = order.get("order_id")
            if not isinstance(order_id, str) or order_id in self._seen_orders:
                continue  # a redelivered order: already being served
            self._seen_orders.add(order_id)
            await self._serve(order_id, order)

    async def _serve(self, order_id: str, order: dict[str, Any]) -> None:
        fleet = self.fleet
        fleet.stats.orders += 1
        unit_id = self.spec.unit_id
        await self.send(fleet.topics.order_ack(unit_id), {"order_id": order_id})
        incident = order.get("incident")
        incident_id = incident.get("incident_id") if isinstance(incident, dict) else None
        if not isinstance(incident_id, str):
            return
        await self._report("en_route", incident_id)
        where = order.get("location")
        if isinstance(where, dict):
            goal = (float(where["lat"]), float(where["lon"]))
            step_m = fleet.speed_mps * fleet.step_s
            for point in path_toward(self.position, goal, step_m=step_m):
                await asyncio.sleep(fleet.step_s)  # simulated driving time
                self.position = point
                await self._avl()
        fleet.stats.arrived += 1
        await self._report("on_scene", incident_id)
        await asyncio.sleep(fleet.on_scene_s)  # simulated time at the scene
        await self._report("available")


class UnitFleet:
    """A fleet of simulated units against one engine; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        host: str,
        port: int,
        specs: list[UnitSpec],
        *,
        speed_kmh: float = 60.0,
        step_s: float = 1.0,
        on_scene_s: float = 10.0,
        resend_interval_s: float = 2.0,
        topic_prefix: str = DEFAULT_PREFIX,
        run_id: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = host
        self.port = port
        self.specs = specs
        self.speed_mps = speed_kmh / 3.6
        self.step_s = step_s
        self.on_scene_s = on_scene_s
        self.resend_interval_s = resend_interval_s
        self.topics = UnitTopics(topic_prefix)
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.stats = UnitFleetStats()
        self.ready = asyncio.Event()
        self._devices: list[_Device] = []

    @property
    def unacknowledged(self) -> int:
        """Messages the devices are still resending (waiting for ng112's ack)."""
        return sum(device.unacknowledged for device in self._devices)

    @classmethod
    def from_scenario(
        cls, config: Units, base_url: str, host: str, port: int, *, run_id: str | None = None
    ) -> UnitFleet:
        """The fleet a scenario's ``[units]`` table describes."""
        return cls(
            base_url,
            host,
            port,
            fleet_specs(config),
            speed_kmh=config.speed_kmh,
            step_s=config.step_s,
            on_scene_s=config.on_scene_s,
            resend_interval_s=config.resend_interval_s,
            run_id=run_id,
        )

    async def register(self, session: aiohttp.ClientSession) -> None:
        """Register every unit (an already registered one is kept as it is)."""
        for spec in self.specs:
            body = {
                "unit_id": spec.unit_id,
                "kind": spec.kind,
                "agency": spec.agency,
                "centre": f"{spec.plate:02d}",
                "callsign": spec.unit_id.upper()[-32:],
                "home": {"lat": spec.home[0], "lon": spec.home[1]},
            }
            async with session.post(
                f"{self.base_url}/api/v1/units", json=body, headers=ADMIN_HEADERS
            ) as response:
                await response.read()
                if response.status not in {201, 409}:
                    msg = f"registering a unit failed with HTTP {response.status}"
                    raise FleetRefused(msg)
            self.stats.registered += 1

    async def run(self) -> None:
        """Register the units, then run every device until cancelled."""
        async with aiohttp.ClientSession() as session:
            await self.register(session)
        self.ready.set()
        async with asyncio.TaskGroup() as group:
            for spec in self.specs:
                device = _Device(self, spec)
                self._devices.append(device)
                group.create_task(device.run(), name=f"ng112-sim-unit-{spec.unit_id}-do")
