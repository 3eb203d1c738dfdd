"""Units: the fleet, recommendations by travel time, dispatch orders and their timers.

Units (ambulances, patrol cars, gendarmerie teams, fire engines, AFAD and forest teams,
boats) belong to one agency and one home centre. Their devices talk MQTT
(:mod:`dispatch.adapters.units_mqtt`); dispatchers use HTTP
(:mod:`dispatch.adapters.units_http`). This module is the service between them and the
engine, over :class:`~dispatch.ports.EnginePort` only:

- :class:`Fleet` and :class:`OrderBook` are projections folded from committed events
  (``engine.subscribe``), so they come back after a restart; an archived incident
  (``IncidentArchived``) takes its orders with it and frees any unit still on it, and the
  service saves and restores both as one :class:`~dispatch.ports.Snapshotting` participant;
- :meth:`UnitsService.recommend` ranks the available units of an agency by travel time on
  the road graph (``[units] road_graph``) or by the documented estimate without one
  (:func:`routing.recommend.recommend`);
- :meth:`UnitsService.dispatch` commits the dispatcher's choice (recommended or overridden
  with a reason), moves the incident to ``dispatched`` through ``engine.act`` and sends the
  order after commit;
- unit status reports move the incident through its lifecycle (:func:`lifecycle_action`),
  again through ``engine.act``, so each step is in the timeline;
- :meth:`UnitsService.tick` flags orders not acknowledged by their deadline. Time is an
  input: the lifespan's timer loop calls it, tests call it with a controlled clock.

Device messages are deduplicated on ``(unit, msg_id)``: the idempotency key of the event
they produced, so a resend after a lost acknowledgement commits nothing twice.

Errors (all :class:`UnitsError`)::

    UnitsError
    ├── UnknownUnit (LookupError)       no unit with that id
    ├── UnknownOrder (LookupError)      no order with that id for that unit
    ├── UnitRefused                     the state does not allow it (409)
    └── InvalidUnitMessage (ValueError) a device message that cannot be read (rejected)
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar

import msgspec
import orjson
from pydantic import BaseModel, ConfigDict, Field

from dispatch.core.decide import Action, CommandRefused, IncidentAction
from dispatch.core.lifecycle import IllegalTransition
from dispatch.core.projections import IncidentView, Recorded
from dispatch.model.access import Principal
from dispatch.model.centres import centre_plate
from dispatch.model.dispatch_events import (
    RecommendationOverridden,
    UnitOrderAcknowledged,
    UnitOrderSent,
    UnitOrderUnacknowledged,
    UnitPositionReported,
)
from dispatch.model.events import (
    Event,
    IncidentArchived,
    UnitDispatched,
    UnitRegistered,
    UnitStatusReported,
)
from dispatch.model.ids import CentreId, IncidentId, UnitId
from dispatch.model.values import Location
from dispatch.model.vocabulary import (
    Agency,
    Ground,
    IncidentStatus,
    Role,
    UnitKind,
    UnitStatus,
)
from dispatch.ports import EnginePort
from dispatch.units_topics import DEFAULT_PREFIX, UNIT_ID_PATTERN
from routing.recommend import Recommendation, UnitCandidate
from routing.recommend import recommend as rank_units
from routing.travel import AreaKind, RoadGraph

logger = logging.getLogger(__name__)

#: The largest device message read (bytes).
MAX_MESSAGE_BYTES = 4096


class UnitsError(Exception):
    """Root of the units service's errors."""


class UnknownUnit(UnitsError, LookupError):  # noqa: N818 - names the refusal
    """No unit has that id."""


class UnknownOrder(UnitsError, LookupError):  # noqa: N818 - names the refusal
    """No order with that id was sent to that unit."""


class UnitRefused(UnitsError):  # noqa: N818 - names the refusal
    """A well-formed request that the current state does not allow."""


class InvalidUnitMessage(UnitsError, ValueError):  # noqa: N818 - names the refusal
    """A device message that cannot be read; the reason never echoes the payload."""


class UnitsSettings(BaseModel):
    """The ``[units]`` settings table (units, hand-offs and duplicates share it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    road_graph: Path | None = None
    order_ack_s: float = Field(default=30.0, gt=0, le=3600)
    handoff_ack_s: float = Field(default=120.0, gt=0, le=86_400)
    handoff_escalations: int = Field(default=2, ge=1, le=10)
    recommend_k: int = Field(default=3, ge=1, le=50)
    topic_prefix: str = Field(
        default=DEFAULT_PREFIX, pattern=r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$"
    )
    max_in_flight: int = Field(default=256, ge=1, le=65_535)
    outbox_size: int = Field(default=10_000, ge=1)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    timer_max_wait_s: float = Field(default=30.0, gt=0)
    duplicate_search: Literal["loop", "process"] = "loop"
    """Where new calls are searched for duplicates: on the engine's loop, or in a child
    process reading the log (``dispatch.app.duplicate_search``; needs a database file or
    server the child can open)."""
    duplicate_search_save_every: int = Field(default=200_000, ge=1)
    """With the search in a process: log events between two saves of its sites, which the
    engine keeps in its snapshots so that a process started again folds only the rest."""


# -- device messages (codec) ---------------------------------------------------------------

MsgId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")]
Lat = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Lon = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Radius = Annotated[float, msgspec.Meta(ge=0.0, le=1_000_000.0)]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]
IncidentRef = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]


class StatusMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``{prefix}/{unit}/status``: what a unit says it is doing."""

    status: UnitStatus
    msg_id: MsgId
    at: AwareTime | None = None
    incident_id: IncidentRef | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    radius_m: Radius | None = None

    def __post_init__(self) -> None:
        if (self.lat is None) != (self.lon is None):
            msg = "lat and lon come together"
            raise ValueError(msg)


class AvlMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``{prefix}/{unit}/avl``: where a unit is."""

    lat: Lat
    lon: Lon
    msg_id: MsgId
    at: AwareTime | None = None
    radius_m: Radius | None = None


class OrderAckMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``{prefix}/{unit}/orders/ack``: the unit received an order."""

    order_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
    msg_id: MsgId | None = None


_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {
    cls: msgspec.json.Decoder(cls) for cls in (StatusMessage, AvlMessage, OrderAckMessage)
}


_M = TypeVar("_M", bound=msgspec.Struct)


def decode_message(payload: bytes, kind: type[_M]) -> _M:
    """Read a device message or raise :class:`InvalidUnitMessage` with a precise reason."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise InvalidUnitMessage(f"message exceeds {MAX_MESSAGE_BYTES} bytes")
    try:
        message: _M = _DECODERS[kind].decode(payload)
    except msgspec.ValidationError as exc:
        # msgspec names the rule and the field (``Expected ... - at `$.lat```), not the value.
        rule, _, where = str(exc).partition(" - at ")
        if rule.startswith("Invalid enum value"):
            rule = "not a known value"  # msgspec quotes the value here: never echo it
        raise InvalidUnitMessage(f"{where or '$'}: {rule}") from None
    except msgspec.DecodeError:
        raise InvalidUnitMessage("message is not valid JSON") from None
    return message


class Receipt(enum.StrEnum):
    """What ng112 answers a device message on the unit's ack topic."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceAck:
    """The application acknowledgement of one device message (published after commit)."""

    msg_id: str | None
    result: Receipt
    code: str | None = None

    def to_json(self) -> bytes:
        """The ack topic's payload."""
        body: dict[str, str] = {"result": self.result.value}
        if self.msg_id is not None:
            body["msg_id"] = self.msg_id
        if self.code is not None:
            body["code"] = self.code
        return orjson.dumps(body)


# -- pure rules ---------------------------------------------------------------------------

#: The agency each kind of unit belongs to (boats serve several agencies).
KIND_AGENCIES: dict[UnitKind, frozenset[Agency]] = {
    UnitKind.AMBULANCE: frozenset({Agency.HEALTH}),
    UnitKind.PATROL_CAR: frozenset({Agency.POLICE}),
    UnitKind.GENDARMERIE_TEAM: frozenset({Agency.GENDARMERIE}),
    UnitKind.FIRE_ENGINE: frozenset({Agency.FIRE}),
    UnitKind.AFAD_TEAM: frozenset({Agency.AFAD}),
    UnitKind.FOREST_TEAM: frozenset({Agency.FOREST}),
    UnitKind.BOAT: frozenset(Agency),
}

_BUSY = frozenset(
    {
        UnitStatus.DISPATCHED,
        UnitStatus.EN_ROUTE,
        UnitStatus.ON_SCENE,
        UnitStatus.TRANSPORTING,
        UnitStatus.AT_HOSPITAL,
    }
)
_BEFORE_DISPATCH = frozenset(
    {IncidentStatus.CLASSIFIED, IncidentStatus.QUEUED, IncidentStatus.ASSIGNED}
)
_RESPONDING = frozenset(
    {IncidentStatus.DISPATCHED, IncidentStatus.EN_ROUTE, IncidentStatus.ON_SCENE}
)


def lifecycle_action(
    incident: IncidentStatus, reported: UnitStatus, *, others_busy: bool
) -> Action | None:
    """The incident's next step when one of its units reports ``reported``, if any.

    The first unit en route moves a dispatched incident en route; the first on scene moves
    it on scene; when the last unit leaves a scene (available again, or transporting a
    patient) the incident is resolved. Anything else leaves the incident where it is.
    """
    if reported is UnitStatus.EN_ROUTE and incident is IncidentStatus.DISPATCHED:
        return Action.EN_ROUTE
    if reported is UnitStatus.ON_SCENE and incident in {
        IncidentStatus.DISPATCHED,
        IncidentStatus.EN_ROUTE,
    }:
        return Action.ON_SCENE
    if (
        reported in {UnitStatus.AVAILABLE, UnitStatus.TRANSPORTING}
        and incident is IncidentStatus.ON_SCENE
        and not others_busy
    ):
        return Action.RESOLVE
    return None


def area_of(ground: Ground | None) -> AreaKind:
    """The estimate's area kind from whose ground the incident is on."""
    return AreaKind.RURAL if ground is Ground.GENDARMERIE else AreaKind.URBAN


@dataclass(slots=True, kw_only=True)
class FleetUnit:
    """One unit as the units service sees it."""

    unit_id: UnitId
    kind: UnitKind
    agency: Agency
    centre: CentreId
    callsign: str
    status: UnitStatus = UnitStatus.AVAILABLE
    home: Location | None = None
    location: Location | None = None
    incident_id: IncidentId | None = None

    @property
    def position(self) -> Location | None:
        """The last reported position, else the home station."""
        return self.location or self.home

    def to_json(self) -> dict[str, Any]:
        """The API's view of the unit."""
        where = self.position
        return {
            "unit_id": self.unit_id,
            "kind": self.kind.value,
            "agency": self.agency.value,
            "centre": self.centre,
            "callsign": self.callsign,
            "status": self.status.value,
            "incident_id": self.incident_id,
            "location": {"lat": where.lat, "lon": where.lon} if where else None,
        }


class Fleet:
    """Every registered unit, folded from the log."""

    def __init__(self) -> None:
        self.units: dict[UnitId, FleetUnit] = {}
        self._crews: dict[IncidentId, set[UnitId]] = {}
        """The units on each incident (those whose ``incident_id`` it is)."""

    def apply(self, event: Event) -> None:
        """Fold one committed event."""
        if isinstance(event, UnitRegistered):
            known = self.units.get(event.unit_id)
            if known is not None:
                self._assign(known, None)
            self.units[event.unit_id] = FleetUnit(
                unit_id=event.unit_id,
                kind=event.kind,
                agency=event.agency,
                centre=event.centre,
                callsign=event.callsign,
                home=event.location,
            )
            return
        unit_id = getattr(event, "unit_id", None)
        unit = self.units.get(UnitId(unit_id)) if isinstance(unit_id, str) else None
        if unit is None:
            if isinstance(event, IncidentArchived):
                for crew in self._crews.pop(event.incident_id, ()):
                    self.units[crew].incident_id = None
            return
        if isinstance(event, UnitStatusReported):
            unit.status = event.status
            if event.location is not None:
                unit.location = event.location
            if event.status in {UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE}:
                self._assign(unit, None)
            elif event.incident_id is not None:
                self._assign(unit, event.incident_id)
        elif isinstance(event, UnitPositionReported):
            unit.location = event.location
        elif isinstance(event, UnitDispatched):
            unit.status = UnitStatus.DISPATCHED
            self._assign(unit, event.incident_id)

    def _assign(self, unit: FleetUnit, incident_id: IncidentId | None) -> None:
        """Put the unit on an incident (``None``: on none), keeping the crews in step."""
        before = unit.incident_id
        if before == incident_id:
            return
        if before is not None:
            crew = self._crews[before]
            crew.discard(unit.unit_id)
            if not crew:
                del self._crews[before]
        if incident_id is not None:
            self._crews.setdefault(incident_id, set()).add(unit.unit_id)
        unit.incident_id = incident_id

    def snapshot(self) -> list[FleetUnit]:
        """Every unit, copied, in the order registered."""
        return [replace(unit) for unit in self.units.values()]

    def restore(self, units: Iterable[FleetUnit]) -> None:
        """Replace the fleet with saved units (what :meth:`snapshot` returned)."""
        self.units = {}
        self._crews = {}
        for saved in units:
            unit = self.units[saved.unit_id] = replace(saved, incident_id=None)
            self._assign(unit, saved.incident_id)

    def busy_on(self, incident_id: str, *, besides: str) -> bool:
        """Whether another unit is still working on the incident."""
        return any(
            u.incident_id == incident_id and u.status in _BUSY and u.unit_id != besides
            for u in self.units.values()
        )

    def candidates(self, agency: Agency) -> list[UnitCandidate]:
        """The agency's units with a known position, as routing sees them."""
        return [
            UnitCandidate(
                unit_id=u.unit_id,
                lat=where.lat,
                lon=where.lon,
                agency=u.agency.value,
                available=u.status is UnitStatus.AVAILABLE,
            )
            for u in self.units.values()
            if u.agency is agency and (where := u.position) is not None
        ]


class OrderState(enum.StrEnum):
    """Where an order is."""

    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"


@dataclass(slots=True, kw_only=True)
class Order:
    """One order to a unit and its acknowledgement state."""

    order_id: str
    unit_id: UnitId
    incident_id: IncidentId
    sent_at: datetime
    deadline: datetime
    state: OrderState = OrderState.SENT
    acknowledged_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The API's view of the order."""
        return {
            "order_id": self.order_id,
            "unit_id": self.unit_id,
            "incident_id": self.incident_id,
            "sent_at": self.sent_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "state": self.state.value,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
        }


class OrderBook:
    """Orders and their deadlines, folded from the log (sans-I/O: time is an input)."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self._deadlines: list[tuple[datetime, str]] = []
        self._by_incident: dict[IncidentId, list[str]] = {}
        """The orders of each incident, to drop them with it when it is archived."""

    def apply(self, event: Event) -> None:
        """Fold one committed event."""
        if isinstance(event, UnitOrderSent):
            self.orders[event.order_id] = Order(
                order_id=event.order_id,
                unit_id=event.unit_id,
                incident_id=event.incident_id,
                sent_at=event.occurred_at,
                deadline=event.deadline,
            )
            self._by_incident.setdefault(event.incident_id, []).append(event.order_id)
            heapq.heappush(self._deadlines, (event.deadline, event.order_id))
        elif isinstance(event, UnitOrderAcknowledged):
            order = self.orders.get(event.order_id)
            if order is not None:
                order.state = OrderState.ACKNOWLEDGED
                order.acknowledged_at = event.occurred_at
        elif isinstance(event, UnitOrderUnacknowledged):
            order = self.orders.get(event.order_id)
            if order is not None and order.state is OrderState.SENT:
                order.state = OrderState.UNACKNOWLEDGED
        elif isinstance(event, IncidentArchived):
            for order_id in self._by_incident.pop(event.incident_id, ()):
                self.orders.pop(order_id, None)  # its deadline lapses: _prune skips it

    def snapshot(self) -> list[Order]:
        """Every order, copied, in the order sent."""
        return [replace(order) for order in self.orders.values()]

    def restore(self, orders: Iterable[Order]) -> None:
        """Replace the book with saved orders; the deadlines still awaited are made again."""
        self.orders = {}
        self._by_incident = {}
        for saved in orders:
            self.orders[saved.order_id] = replace(saved)
            self._by_incident.setdefault(saved.incident_id, []).append(saved.order_id)
        self._deadlines = [
            (o.deadline, o.order_id) for o in self.orders.values() if o.state is OrderState.SENT
        ]
        heapq.heapify(self._deadlines)

    def _prune(self) -> None:
        while self._deadlines:
            order = self.orders.get(self._deadlines[0][1])
            if order is not None and order.state is OrderState.SENT:
                return
            heapq.heappop(self._deadlines)

    def due(self, now: datetime) -> list[Order]:
        """Orders still unacknowledged at their deadline, oldest deadline first."""
        self._prune()
        return [
            order
            for deadline, order_id in sorted(self._deadlines)
            if deadline <= now
            and (order := self.orders.get(order_id)) is not None
            and order.state is OrderState.SENT
        ]

    def next_deadline(self) -> datetime | None:
        """The earliest deadline of an order still waiting for its acknowledgement."""
        self._prune()
        return self._deadlines[0][0] if self._deadlines else None

    def flagged(self) -> list[Order]:
        """Orders flagged to the dispatcher (not acknowledged in time, nor since)."""
        return [o for o in self.orders.values() if o.state is OrderState.UNACKNOWLEDGED]


# -- the service --------------------------------------------------------------------------


class OrderSender(Protocol):
    """Delivers orders to units (the MQTT adapter); must not block."""

    def send_order(self, unit_id: str, payload: bytes) -> None:
        """Queue an order for delivery to the unit's device."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Dispatched:
    """What a dispatch committed."""

    order: Order
    recommended: bool
    recommendation: Recommendation | None
    seqs: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitsSnapshot:
    """What the units service keeps from the log: its fleet and its orders (copies)."""

    units: tuple[FleetUnit, ...]
    orders: tuple[Order, ...]


def unit_principal(unit: FleetUnit) -> Principal:
    """The principal under which a unit's reports move its incident."""
    return Principal(
        subject=f"unit:{unit.unit_id}", role=Role.AGENCY_DISPATCHER, agency=unit.agency
    )


def _new_order_id() -> str:
    return f"ord-{os.urandom(8).hex()}"


class UnitsService:
    """The fleet, recommendations, dispatch orders and device reports, over the engine."""

    snapshot_name = "dispatch.units"
    snapshot_version = 1

    def __init__(
        self,
        engine: EnginePort,
        settings: UnitsSettings,
        *,
        graph: RoadGraph | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.graph = graph
        self.fleet = Fleet()
        self.orders = OrderBook()
        self.sender: OrderSender | None = None
        self.wake = asyncio.Event()
        self._unit_locks: dict[str, asyncio.Lock] = {}
        self._tick_lock = asyncio.Lock()
        engine.subscribe(self._on_commit, snapshot=self)

    def _on_commit(self, batch: Sequence[Recorded]) -> None:
        for record in batch:
            self.fleet.apply(record.event)
            self.orders.apply(record.event)
            if isinstance(record.event, UnitOrderSent):
                self.wake.set()

    def snapshot(self) -> UnitsSnapshot:
        """The fleet and the orders after the last folded event (``Snapshotting``)."""
        return UnitsSnapshot(
            units=tuple(self.fleet.snapshot()), orders=tuple(self.orders.snapshot())
        )

    def restore(self, state: object) -> None:
        """Replace the fleet and the orders with a :meth:`snapshot` (``Snapshotting``)."""
        if not isinstance(state, UnitsSnapshot):
            raise TypeError("not the units service's snapshot")
        self.fleet.restore(state.units)
        self.orders.restore(state.orders)

    def _lock(self, unit_id: str) -> asyncio.Lock:
        lock = self._unit_locks.get(unit_id)
        if lock is None:
            lock = self._unit_locks[unit_id] = asyncio.Lock()
        return lock

    def unit(self, unit_id: str) -> FleetUnit:
        """The unit with this id, or :class:`UnknownUnit`."""
        unit = self.fleet.units.get(UnitId(unit_id))
        if unit is None:
            raise UnknownUnit("no such unit")
        return unit

    def _incident(self, incident_id: str) -> IncidentView:
        incident = self.engine.state.incidents.get(IncidentId(incident_id))
        if incident is None:
            raise UnitRefused("no such incident")
        return incident

    # -- registration ---------------------------------------------------------------------

    async def register(
        self,
        *,
        unit_id: str,
        kind: UnitKind,
        agency: Agency,
        centre: CentreId,
        callsign: str,
        home: Location | None,
    ) -> Recorded:
        """Add a unit to the fleet (once: registering an id again is refused)."""
        if agency not in KIND_AGENCIES[kind]:
            raise UnitRefused(f"a {kind.value} does not belong to {agency.value}")
        async with self._lock(unit_id):
            if UnitId(unit_id) in self.fleet.units:
                raise UnitRefused("a unit with this id is already registered")
            event = UnitRegistered(
                occurred_at=self.engine.clock.now(),
                idempotency_key=f"unit-registered:{unit_id}",
                plate=centre_plate(centre),
                unit_id=UnitId(unit_id),
                kind=kind,
                agency=agency,
                centre=centre,
                callsign=callsign,
                location=home,
            )
            (record,) = await self.engine.record([event])
        return record

    # -- recommendation and dispatch ------------------------------------------------------

    def recommend(self, incident_id: str, agency: Agency, k: int) -> list[Recommendation]:
        """The ``k`` available units of ``agency`` that reach the incident first."""
        incident = self._incident(incident_id)
        return self._rank(incident, self.fleet.candidates(agency), k)

    def _rank(
        self, incident: IncidentView, candidates: Sequence[UnitCandidate], k: int
    ) -> list[Recommendation]:
        where = incident.location
        if where is None:
            raise UnitRefused("the incident has no location to recommend units for")
        ground = incident.placement.ground if incident.placement else None
        return rank_units(self.graph, where.lat, where.lon, candidates, k, area=area_of(ground))

    async def dispatch(
        self,
        incident_id: str,
        unit_id: str,
        principal: Principal,
        *,
        override_reason: str | None = None,
    ) -> Dispatched:
        """Send a unit: the recommended one, or another with the dispatcher's reason.

        Commits ``UnitDispatched`` (with the recommended flag and the travel time), the
        override if any and ``UnitOrderSent``, together with the incident's move to
        ``dispatched`` (``engine.act``) when it was not yet there: one append, so a store
        failure leaves neither. Only then is the order sent to the device.
        """
        incident = self._incident(incident_id)
        principal.require_incident_action(incident.plate)
        unit = self.unit(unit_id)
        if principal.agency is not None and principal.agency is not unit.agency:
            raise UnitRefused("the unit belongs to another agency")
        if incident.status not in _BEFORE_DISPATCH | _RESPONDING:
            raise UnitRefused(
                f"incident is {incident.status.value}: units are sent once it is classified"
            )
        async with self._lock(unit_id):
            if unit.status is not UnitStatus.AVAILABLE:
                raise UnitRefused(f"the unit is {unit.status.value}, not available")
            best = self._rank(incident, self.fleet.candidates(unit.agency), 1)
            own = self._rank(
                incident, [c for c in self.fleet.candidates(unit.agency) if c.unit_id == unit_id], 1
            )
            recommended = bool(best) and best[0].unit_id == unit_id
            if not recommended and not override_reason:
                raise UnitRefused("another unit is recommended: give an override_reason")
            now = self.engine.clock.now()
            order_id = _new_order_id()
            events: list[Event] = [
                UnitDispatched(
                    occurred_at=now,
                    plate=incident.plate,
                    unit_id=unit.unit_id,
                    incident_id=incident.incident_id,
                    actor=principal.subject,
                    recommended=recommended,
                    travel_time_s=own[0].travel_time_s if own else None,
                )
            ]
            if not recommended:
                events.append(
                    RecommendationOverridden(
                        occurred_at=now,
                        plate=incident.plate,
                        incident_id=incident.incident_id,
                        unit_id=unit.unit_id,
                        recommended=UnitId(best[0].unit_id) if best else None,
                        reason=override_reason or "",
                        actor=principal.subject,
                    )
                )
            events.append(
                UnitOrderSent(
                    occurred_at=now,
                    plate=incident.plate,
                    order_id=order_id,
                    unit_id=unit.unit_id,
                    incident_id=incident.incident_id,
                    deadline=now + timedelta(seconds=self.settings.order_ack_s),
                )
            )
            if incident.status in _BEFORE_DISPATCH:  # the status and the unit: one commit
                committed = await self.engine.act(
                    incident_id,
                    IncidentAction(
                        action=Action.DISPATCH,
                        actor=principal.subject,
                        reason=f"unit {unit_id} sent",
                    ),
                    principal,
                    also=events,
                )
                records = committed[-len(events) :]
            else:
                records = await self.engine.record(events)
        order = self.orders.orders[order_id]
        if self.sender is not None:
            self.sender.send_order(unit_id, self.order_payload(order, incident))
        return Dispatched(
            order=order,
            recommended=recommended,
            recommendation=own[0] if own else None,
            seqs=[r.seq for r in records],
        )

    @staticmethod
    def order_payload(order: Order, incident: IncidentView) -> bytes:
        """What the unit's device receives: the order and a summary without caller data."""
        where = incident.location
        return orjson.dumps(
            {
                "order_id": order.order_id,
                "incident": {
                    "incident_id": incident.incident_id,
                    "incident_type": incident.incident_type or incident.suggested_type,
                    "priority": int(incident.priority),
                    "agencies": [a.value for a in incident.agencies],
                    "district": incident.placement.district if incident.placement else None,
                },
                "location": (
                    {"lat": where.lat, "lon": where.lon, "radius_m": where.radius_m}
                    if where
                    else None
                ),
                "sent_at": order.sent_at.isoformat(),
                "ack_by": order.deadline.isoformat(),
            }
        )

    # -- device reports -------------------------------------------------------------------

    async def report_status(self, unit_id: str, message: StatusMessage) -> DeviceAck:
        """A unit's status: commit it (once per msg_id), then move its incident."""
        key = f"unit-msg:{unit_id}:{message.msg_id}"
        async with self._lock(unit_id):
            unit = self.fleet.units.get(UnitId(unit_id))
            if unit is None:
                return DeviceAck(
                    msg_id=message.msg_id, result=Receipt.REJECTED, code="unknown_unit"
                )
            previous_incident = unit.incident_id
            duplicate = await self.engine.original(key) is not None
            if not duplicate:
                incident_id = message.incident_id or (
                    previous_incident if message.status in _BUSY else None
                )
                if incident_id is not None and IncidentId(incident_id) not in (
                    self.engine.state.incidents
                ):
                    return DeviceAck(
                        msg_id=message.msg_id, result=Receipt.REJECTED, code="unknown_incident"
                    )
                location = None
                if message.lat is not None and message.lon is not None:
                    location = Location(
                        lat=message.lat,
                        lon=message.lon,
                        radius_m=message.radius_m,
                        source="avl",
                        at=message.at,
                    )
                incident = self.engine.state.incidents.get(IncidentId(incident_id or ""))
                await self.engine.record(
                    [
                        UnitStatusReported(
                            occurred_at=self.engine.clock.now(),
                            idempotency_key=key,
                            plate=incident.plate if incident else centre_plate(unit.centre),
                            unit_id=unit.unit_id,
                            status=message.status,
                            incident_id=IncidentId(incident_id) if incident_id else None,
                            location=location,
                        )
                    ]
                )
                previous_incident = IncidentId(incident_id) if incident_id else previous_incident
            await self._move_incident(unit, previous_incident, message)
        return DeviceAck(
            msg_id=message.msg_id,
            result=Receipt.DUPLICATE if duplicate else Receipt.ACCEPTED,
        )

    async def _move_incident(
        self, unit: FleetUnit, incident_id: IncidentId | None, message: StatusMessage
    ) -> None:
        """Apply the lifecycle step the status implies (idempotent on the message)."""
        if incident_id is None:
            return
        incident = self.engine.state.incidents.get(incident_id)
        if incident is None:
            return
        action = lifecycle_action(
            incident.status,
            message.status,
            others_busy=self.fleet.busy_on(incident_id, besides=unit.unit_id),
        )
        if action is None:
            return
        try:
            await self.engine.act(
                incident_id,
                IncidentAction(
                    action=action,
                    actor=f"unit:{unit.unit_id}",
                    reason=f"unit {unit.unit_id} reported {message.status.value}",
                    client_request_id=f"unit-status:{unit.unit_id}:{message.msg_id}",
                ),
                unit_principal(unit),
            )
        except (IllegalTransition, CommandRefused) as exc:
            logger.info("incident %s not moved by unit status: %s", incident_id, exc)

    async def report_position(self, unit_id: str, message: AvlMessage) -> DeviceAck:
        """A unit's AVL position: commit it once per msg_id."""
        key = f"unit-msg:{unit_id}:{message.msg_id}"
        async with self._lock(unit_id):
            unit = self.fleet.units.get(UnitId(unit_id))
            if unit is None:
                return DeviceAck(
                    msg_id=message.msg_id, result=Receipt.REJECTED, code="unknown_unit"
                )
            if await self.engine.original(key) is not None:
                return DeviceAck(msg_id=message.msg_id, result=Receipt.DUPLICATE)
            await self.engine.record(
                [
                    UnitPositionReported(
                        occurred_at=self.engine.clock.now(),
                        idempotency_key=key,
                        plate=centre_plate(unit.centre),
                        unit_id=unit.unit_id,
                        location=Location(
                            lat=message.lat,
                            lon=message.lon,
                            radius_m=message.radius_m,
                            source="avl",
                            at=message.at,
                        ),
                    )
                ]
            )
        return DeviceAck(msg_id=message.msg_id, result=Receipt.ACCEPTED)

    async def acknowledge_order(self, unit_id: str, message: OrderAckMessage) -> DeviceAck:
        """The unit's device received an order (late acknowledgements are kept too)."""
        async with self._lock(unit_id):
            order = self.orders.orders.get(message.order_id)
            if order is None or order.unit_id != unit_id:
                return DeviceAck(
                    msg_id=message.msg_id, result=Receipt.REJECTED, code="unknown_order"
                )
            if order.state is OrderState.ACKNOWLEDGED:
                return DeviceAck(msg_id=message.msg_id, result=Receipt.DUPLICATE)
            incident = self.engine.state.incidents.get(order.incident_id)
            await self.engine.record(
                [
                    UnitOrderAcknowledged(
                        occurred_at=self.engine.clock.now(),
                        idempotency_key=f"order-ack:{order.order_id}",
                        plate=incident.plate if incident else None,
                        order_id=order.order_id,
                        unit_id=order.unit_id,
                        incident_id=order.incident_id,
                        late=order.state is OrderState.UNACKNOWLEDGED,
                    )
                ]
            )
        return DeviceAck(msg_id=message.msg_id, result=Receipt.ACCEPTED)

    # -- timers ---------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        """When :meth:`tick` next has something to do."""
        return self.orders.next_deadline()

    async def tick(self, now: datetime) -> list[Recorded]:
        """Flag every order not acknowledged by its deadline (once each)."""
        flagged: list[Recorded] = []
        async with self._tick_lock:
            for order in self.orders.due(now):
                async with self._lock(order.unit_id):
                    if order.state is not OrderState.SENT:
                        continue
                    incident = self.engine.state.incidents.get(order.incident_id)
                    flagged += await self.engine.record(
                        [
                            UnitOrderUnacknowledged(
                                occurred_at=now,
                                idempotency_key=f"order-unacked:{order.order_id}",
                                plate=incident.plate if incident else None,
                                order_id=order.order_id,
                                unit_id=order.unit_id,
                                incident_id=order.incident_id,
                                deadline=order.deadline,
                            )
                        ]
                    )
                    logger.warning(
                        "incident %s: unit %s did not acknowledge order %s",
                        order.incident_id,
                        order.unit_id,
                        order.order_id,
                    )
        return flagged

    def units_json(self, agency: Agency | None, status: UnitStatus | None) -> list[dict[str, Any]]:
        """The fleet as the API lists it."""
        return [
            u.to_json()
            for u in self.fleet.units.values()
            if (agency is None or u.agency is agency) and (status is None or u.status is status)
        ]


def orders_json(orders: Iterable[Order]) -> list[dict[str, Any]]:
    """Orders as the API lists them."""
    return [o.to_json() for o in orders]


__all__ = [
    "MAX_MESSAGE_BYTES",
    "UNIT_ID_PATTERN",
    "AvlMessage",
    "DeviceAck",
    "Dispatched",
    "Fleet",
    "FleetUnit",
    "InvalidUnitMessage",
    "Order",
    "OrderAckMessage",
    "OrderBook",
    "OrderSender",
    "OrderState",
    "Receipt",
    "StatusMessage",
    "UnitRefused",
    "UnitsError",
    "UnitsService",
    "UnitsSettings",
    "UnitsSnapshot",
    "UnknownOrder",
    "UnknownUnit",
    "area_of",
    "decode_message",
    "lifecycle_action",
    "orders_json",
    "unit_principal",
]
