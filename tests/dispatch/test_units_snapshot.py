"""The units service's snapshot and archive, on generated histories.

Units register, are dispatched (an order with a deadline), report statuses and positions,
acknowledge orders or are flagged at their deadline, while time passes; the archivist
archives incidents, with or without a unit still on them. The history is the log. A fleet
and an order book restored from a snapshot taken anywhere in it and fed the rest answer
exactly as the live ones; after an archive no order of the incident is kept and no unit
is on it, and the order book is as if the incident's orders had never been.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from dispatch.adapters.http import ENGINE
from dispatch.adapters.units_http import DUPLICATES, HAND_OFFS
from dispatch.adapters.units_http import UNITS as UNITS_KEY
from dispatch.core.projections import Recorded
from dispatch.duplicates import DuplicatesService
from dispatch.model import (
    Agency,
    CentreId,
    Event,
    IncidentId,
    IncidentStatus,
    Location,
    UnitDispatched,
    UnitId,
    UnitKind,
    UnitOrderAcknowledged,
    UnitOrderSent,
    UnitOrderUnacknowledged,
    UnitPositionReported,
    UnitRegistered,
    UnitStatus,
    UnitStatusReported,
)
from dispatch.model.events import IncidentArchived
from dispatch.ports import Snapshotting
from dispatch.units import Fleet, OrderBook, UnitsService, UnitsSettings, UnitsSnapshot
from tests.conftest import Database
from tests.dispatch.conftest import ClientFactory
from tests.dispatch.test_units_support import (
    Client,
    ControlledClock,
    open_incident,
    post,
    unit_body,
    units_app,
)

T0 = datetime(2025, 2, 6, 1, 17, tzinfo=UTC)
UNITS = [UnitId(f"amb-{n}") for n in range(4)]
INCIDENTS = [IncidentId(f"inc-{n}") for n in range(5)]


@dataclass
class Centre:
    """The live fleet and order book, their log and the clock."""

    fleet: Fleet = field(default_factory=Fleet)
    orders: OrderBook = field(default_factory=OrderBook)
    log: list[Event] = field(default_factory=list)
    now: datetime = T0
    archived: set[IncidentId] = field(default_factory=set)

    def commit(self, event: Event) -> None:
        self.log.append(event)
        self.fleet.apply(event)
        self.orders.apply(event)


def _register(unit_id: UnitId) -> UnitRegistered:
    return UnitRegistered(
        occurred_at=T0,
        unit_id=unit_id,
        kind=UnitKind.AMBULANCE,
        agency=Agency.HEALTH,
        centre=CentreId("53"),
        callsign=unit_id.upper(),
        location=Location(lat=41.02, lon=40.52),
    )


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.integers(0, 3)),
        st.tuples(st.just("dispatch"), st.integers(0, 3), st.integers(0, 4)),
        st.tuples(st.just("dispatch"), st.integers(0, 3), st.integers(0, 4)),
        st.tuples(
            st.just("status"),
            st.integers(0, 3),
            st.sampled_from(UnitStatus),
            st.none() | st.integers(0, 4),
        ),
        st.tuples(st.just("position"), st.integers(0, 3), st.floats(40.0, 42.0)),
        st.tuples(st.just("ack"), st.integers(0, 50)),
        st.tuples(st.just("tick")),
        st.tuples(st.just("wait"), st.integers(1, 60)),
        st.tuples(st.just("archive"), st.integers(0, 4)),
    ),
    min_size=8,
    max_size=60,
)


def _run(operations: list[tuple[Any, ...]]) -> Centre:
    centre = Centre()
    for kind, *args in operations:
        now = centre.now
        if kind == "wait":
            centre.now += timedelta(seconds=int(args[0]))
        elif kind == "register":
            centre.commit(_register(UNITS[args[0]]))
        elif kind == "tick":
            for order in centre.orders.due(now):
                centre.commit(
                    UnitOrderUnacknowledged(
                        occurred_at=now,
                        order_id=order.order_id,
                        unit_id=order.unit_id,
                        incident_id=order.incident_id,
                        deadline=order.deadline,
                    )
                )
        elif kind == "ack":
            sent = list(centre.orders.orders.values())
            if sent:
                order = sent[args[0] % len(sent)]
                centre.commit(
                    UnitOrderAcknowledged(
                        occurred_at=now,
                        order_id=order.order_id,
                        unit_id=order.unit_id,
                        incident_id=order.incident_id,
                    )
                )
        elif kind == "position":
            centre.commit(
                UnitPositionReported(
                    occurred_at=now,
                    unit_id=UNITS[args[0]],
                    location=Location(lat=args[1], lon=40.5),
                )
            )
        elif kind == "archive":
            incident_id = INCIDENTS[args[0]]
            if incident_id not in centre.archived:
                centre.archived.add(incident_id)
                centre.commit(
                    IncidentArchived(
                        occurred_at=now, incident_id=incident_id, status=IncidentStatus.CLOSED
                    )
                )
        elif kind == "dispatch" and INCIDENTS[args[1]] not in centre.archived:
            unit_id, incident_id = UNITS[args[0]], INCIDENTS[args[1]]
            centre.commit(
                UnitDispatched(occurred_at=now, unit_id=unit_id, incident_id=incident_id, actor="d")
            )
            centre.commit(
                UnitOrderSent(
                    occurred_at=now,
                    order_id=f"ord-{len(centre.log)}",
                    unit_id=unit_id,
                    incident_id=incident_id,
                    deadline=now + timedelta(seconds=30),
                )
            )
        elif kind == "status":
            incident_id = INCIDENTS[args[2]] if args[2] is not None else None
            if incident_id not in centre.archived:
                centre.commit(
                    UnitStatusReported(
                        occurred_at=now,
                        unit_id=UNITS[args[0]],
                        status=args[1],
                        incident_id=incident_id,
                    )
                )
    return centre


def _folded(
    log: Sequence[Event], fleet: Fleet | None = None, orders: OrderBook | None = None
) -> Centre:
    centre = Centre(fleet=fleet or Fleet(), orders=orders or OrderBook())
    for event in log:
        centre.fleet.apply(event)
        centre.orders.apply(event)
    return centre


def _answers(centre: Centre) -> list[Any]:
    """What the fleet and the order book answer, now and later."""
    later = [centre.now + timedelta(seconds=s) for s in (0, 29, 30, 31, 600)]
    fleet, orders = centre.fleet, centre.orders
    return [
        [unit.to_json() for unit in fleet.units.values()],
        [
            fleet.busy_on(incident_id, besides=unit_id)
            for incident_id in INCIDENTS
            for unit_id in UNITS
        ],
        fleet.candidates(Agency.HEALTH),
        [o.to_json() for o in orders.orders.values()],
        orders.next_deadline(),
        [[o.order_id for o in orders.due(moment)] for moment in later],
        [o.order_id for o in orders.flagged()],
    ]


def _crews(fleet: Fleet) -> dict[IncidentId, set[UnitId]]:
    """The units on each incident, as the fleet's units say."""
    crews: dict[IncidentId, set[UnitId]] = {}
    for unit in fleet.units.values():
        if unit.incident_id is not None:
            crews.setdefault(unit.incident_id, set()).add(unit.unit_id)
    return crews


@given(OPERATIONS, st.floats(0.0, 1.0))
def test_restored_then_folded_equals_the_live_units(
    operations: list[tuple[Any, ...]], where: float
) -> None:
    """Snapshot anywhere (pickled), restore, fold the rest: the same state and answers."""
    centre = _run(operations)
    split = round(where * len(centre.log))
    saved = _folded(centre.log[:split])
    units, orders = pickle.loads(pickle.dumps((saved.fleet.snapshot(), saved.orders.snapshot())))  # noqa: S301 - our own bytes
    restored = _folded([], Fleet(), OrderBook())
    restored.fleet.restore(units)
    restored.orders.restore(orders)
    restored = _folded(centre.log[split:], restored.fleet, restored.orders)
    restored.now = centre.now
    assert restored.fleet.snapshot() == centre.fleet.snapshot()
    assert restored.orders.snapshot() == centre.orders.snapshot()
    assert _answers(restored) == _answers(centre)
    assert restored.fleet._crews == _crews(restored.fleet)


@given(OPERATIONS)
def test_an_archived_incident_keeps_no_order_and_no_unit(operations: list[tuple[Any, ...]]) -> None:
    """Its orders go as if never sent; a unit still on it is freed; the crews stay in step."""
    centre = _run(operations)
    for unit in centre.fleet.units.values():
        assert unit.incident_id not in centre.archived
    assert centre.fleet._crews == _crews(centre.fleet)
    assert not {o.incident_id for o in centre.orders.orders.values()} & centre.archived
    kept = [e for e in centre.log if getattr(e, "incident_id", None) not in centre.archived]
    without = _folded(kept)
    without.now = centre.now
    assert centre.orders.snapshot() == without.orders.snapshot()
    assert _answers(centre)[3:] == _answers(without)[3:]


def test_a_unit_registered_again_leaves_its_old_incident() -> None:
    """Registering an id again starts a fresh unit: archiving its old incident frees nothing."""
    centre = _run([("register", 0), ("dispatch", 0, 1), ("register", 0), ("dispatch", 0, 2)])
    centre.commit(
        IncidentArchived(occurred_at=T0, incident_id=INCIDENTS[1], status=IncidentStatus.CLOSED)
    )
    assert centre.fleet.units[UNITS[0]].incident_id == INCIDENTS[2]
    assert centre.fleet._crews == {INCIDENTS[2]: {UNITS[0]}}


class _Engine:
    """Just enough of an engine for the service to subscribe."""

    def __init__(self) -> None:
        self.hooks: list[dict[str, Any]] = []
        self.listeners: list[Callable[[Sequence[Recorded]], None]] = []

    def subscribe(self, listener: Callable[[Sequence[Recorded]], None], **hooks: Any) -> None:
        self.listeners.append(listener)
        self.hooks.append(hooks)

    def record(self, events: Sequence[Event]) -> None:
        for listener in self.listeners:
            listener([Recorded(n, e) for n, e in enumerate(events, 1)])


def test_the_service_is_the_snapshot_participant_for_fleet_and_orders() -> None:
    """Subscribed with itself as participant; its snapshot brings back fleet and orders."""
    engine = _Engine()
    service = UnitsService(engine, UnitsSettings())  # type: ignore[arg-type]
    (hooks,) = engine.hooks
    participant: Snapshotting = hooks["snapshot"]
    assert participant is service
    assert (service.snapshot_name, service.snapshot_version) == ("dispatch.units", 1)
    engine.record(_run([("register", 0), ("register", 1), ("dispatch", 1, 3)]).log)
    saved = pickle.loads(pickle.dumps(service.snapshot()))  # noqa: S301 - our own bytes
    assert isinstance(saved, UnitsSnapshot)
    other = _Engine()
    restarted = UnitsService(other, UnitsSettings())  # type: ignore[arg-type]
    restarted.restore(saved)
    assert restarted.snapshot() == service.snapshot()
    assert restarted.units_json(None, None) == service.units_json(None, None)
    assert restarted.next_deadline() == T0 + timedelta(seconds=30)
    with pytest.raises(TypeError):
        restarted.restore(saved.units)


# -- end to end: the units package restarted from a snapshot ------------------------------

M_PER_DEG = 111_195.0


def _package_state(app: web.Application) -> tuple[Any, ...]:
    """What the three services keep (the duplicate sites rounded: a replay attaches a
    recorded call when its proposal is folded, which may round the last bit otherwise)."""
    service = app[DUPLICATES]
    assert isinstance(service, DuplicatesService)
    desk = service.desk
    return (
        app[UNITS_KEY].snapshot(),
        app[HAND_OFFS].book.snapshot(),
        {i: (p.candidate, p.state) for i, p in desk.proposals.items()},
        sorted(
            (s.incident_id, round(s.lat, 9), round(s.lon, 9), round(s.radius_m, 6), s.calls)
            for s in desk.finder.incidents()
        ),
    )


async def _tick_all(client: Client, clock: ControlledClock) -> None:
    """What the timer loop does: every service records what is due now."""
    for service in (client.app[UNITS_KEY], client.app[HAND_OFFS], client.app[DUPLICATES]):
        await service.tick(clock.now())


async def test_units_hand_offs_and_duplicates_come_back_from_a_snapshot(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """A snapshot saved mid-way restores the three services; the start folds only the events
    after it, and nothing is requested, proposed or flagged twice."""
    clock = ControlledClock()
    first = await aiohttp_client(units_app(database, clock, snapshot_on_stop=False))
    await post(first, "/api/v1/units", unit_body("amb-1", 41.021, 40.521), 201)
    await post(first, "/api/v1/units", unit_body("amb-2", 41.03, 40.53), 201)
    site = await open_incident(first, lat=41.02, lon=40.52, agencies=("health", "police"))
    await post(first, f"/api/v1/incidents/{site}/dispatch", {"unit_id": "amb-1"}, 201)
    await open_incident(first, lat=41.02 + 5 / M_PER_DEG, lon=40.52)  # a duplicate of the site
    await _tick_all(first, clock)
    saved = await first.app[ENGINE].save_snapshot()
    assert saved is not None
    other = await open_incident(first, lat=41.02 + 8 / M_PER_DEG, lon=40.52)  # another one
    await post(first, f"/api/v1/incidents/{other}/dispatch", {"unit_id": "amb-2"}, 201)
    await first.post(
        f"/api/v1/incidents/{site}/hand-offs/health/ack",
        headers={"X-NG112-Role": "agency_dispatcher", "X-NG112-Agency": "health"},
    )
    await _tick_all(first, clock)
    head = first.app[ENGINE].state.last_seq
    before = _package_state(first.app)
    assert len(before[2]) == 2, "both duplicates proposed"
    await first.close()

    again = await aiohttp_client(units_app(database, clock, snapshot_on_stop=False))
    assert again.app[ENGINE].restored_seq == saved
    assert _package_state(again.app) == before
    await _tick_all(again, clock)
    assert again.app[ENGINE].state.last_seq == head, "nothing recorded twice"
    flagged = await again.app[UNITS_KEY].tick(clock.advance(30))
    assert sorted(r.event.unit_id for r in flagged) == ["amb-1", "amb-2"]  # type: ignore[attr-defined]
