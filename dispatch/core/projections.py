"""Projections: calls, incidents with their timelines, units and queues, folded from the log.

``State.apply`` is the ``evolve`` of the engine: it is fed every committed event in
sequence order, at start (replay) and live, and is the only code that changes the views.
Views are mutable records owned by the state; callers outside the engine get them
through ``dispatch.service`` and must not change them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from dispatch.model.events import (
    CallAttached,
    CallLocated,
    CallReceived,
    CallStatusChanged,
    Event,
    IncidentArchived,
    IncidentClassified,
    IncidentOpened,
    IncidentPlaced,
    IncidentStatusChanged,
    UnitDispatched,
    UnitRegistered,
    UnitStatusReported,
)
from dispatch.model.ids import CallId, CentreId, IncidentId, UnitId
from dispatch.model.pickling import pickled_as_tuple
from dispatch.model.values import Caller, Location, Placement
from dispatch.model.vocabulary import (
    Agency,
    CallStatus,
    Channel,
    IncidentStatus,
    Priority,
    UnitKind,
    UnitStatus,
)


class Recorded(NamedTuple):
    """A committed event with its sequence number (a tuple: made for every event, cheaply)."""

    seq: int
    event: Event


@pickled_as_tuple
@dataclass(slots=True, kw_only=True)
class CallView:
    """What is known about one call."""

    call_id: CallId
    incident_id: IncidentId
    channel: Channel
    centre: CentreId
    caller: Caller
    dialled: str
    text: str | None
    location: Location | None
    placement: Placement | None
    received_at: datetime
    status: CallStatus = CallStatus.OFFERED
    evidence: list[Location] = field(default_factory=list)
    received: Recorded | None = None


@pickled_as_tuple
@dataclass(slots=True, kw_only=True)
class IncidentView:
    """One incident, its calls and its timeline from report to conclusion."""

    incident_id: IncidentId
    centre: CentreId
    channel: Channel
    opened_at: datetime
    status: IncidentStatus = IncidentStatus.NEW
    priority: Priority = Priority.PROMPT
    incident_type: str | None = None
    agencies: tuple[Agency, ...] = ()
    location: Location | None = None
    placement: Placement | None = None
    calls: list[CallId] = field(default_factory=list)
    units: list[UnitId] = field(default_factory=list)
    merged_into: IncidentId | None = None
    suggested_type: str | None = None
    suggestion_confidence: float | None = None
    timeline: list[Recorded] = field(default_factory=list)
    updated_seq: int = 0

    @property
    def plate(self) -> int | None:
        """The province the incident is in, if known."""
        return self.placement.plate if self.placement else None


@pickled_as_tuple
@dataclass(slots=True, kw_only=True)
class UnitView:
    """One unit: who it belongs to, where it is and what it is doing."""

    unit_id: UnitId
    kind: UnitKind
    agency: Agency
    centre: CentreId
    callsign: str
    status: UnitStatus = UnitStatus.AVAILABLE
    location: Location | None = None
    incident_id: IncidentId | None = None
    updated_seq: int = 0


#: Keys of the newest events whose original answer is kept in memory; older keys are kept
#: as sequence numbers only (:attr:`State.settled_keys`), and their events read from the log.
RECENT_KEYS = 50_000
#: Older keys remembered by seq: about 100 bytes each, so at most about 500 MB. At the
#: national rate (some 20 keyed events a second) that is days of retries; a retry older
#: than that finds its key in the log's unique index and is refused as a stale duplicate.
SETTLED_KEYS = 5_000_000


@dataclass(slots=True)
class State:
    """Every projection the engine keeps in memory.

    Memory is bounded by the live working set: an archived incident
    (:class:`IncidentArchived`) leaves ``incidents`` with its calls, idempotency keys
    older than the newest :data:`RECENT_KEYS` keep only their sequence number, and at
    most :data:`SETTLED_KEYS` of those are kept.
    """

    calls: dict[CallId, CallView] = field(default_factory=dict)
    incidents: dict[IncidentId, IncidentView] = field(default_factory=dict)
    units: dict[UnitId, UnitView] = field(default_factory=dict)
    #: idempotency key -> the committed event that first carried it (the newest keys)
    keys: dict[str, Recorded] = field(default_factory=dict)
    #: idempotency key -> seq of the event that first carried it (the older keys)
    settled_keys: dict[str, int] = field(default_factory=dict)
    last_seq: int = 0
    open_by_centre: Counter[CentreId] = field(default_factory=Counter)
    #: incidents in a final status, not yet archived -> when they reached it (event time)
    concluded: dict[IncidentId, datetime] = field(default_factory=dict)
    recent_keys: int = RECENT_KEYS
    settled_limit: int = SETTLED_KEYS

    def apply(self, seq: int, event: Event) -> None:
        """Fold one committed event into the projections (``evolve``)."""
        if seq <= self.last_seq:
            raise ValueError(f"events must be applied in order: {seq} after {self.last_seq}")
        self.last_seq = seq
        key = event.idempotency_key
        if key is not None and key not in self.keys and key not in self.settled_keys:
            self.keys[key] = Recorded(seq, event)
            if len(self.keys) >= 2 * self.recent_keys:
                self._settle_keys()
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, seq, event)
            return
        # Another package's event about an incident still belongs to its timeline.
        incident_id = getattr(event, "incident_id", None)
        if isinstance(incident_id, str):
            self._touch(IncidentId(incident_id), seq, event)

    def original(self, key: str) -> Recorded | None:
        """The committed event that first carried a recent idempotency key, if any.

        For a key older than the newest :data:`RECENT_KEYS` this is ``None`` and
        :meth:`settled` names the event's seq (``Engine.original`` reads it back).
        """
        return self.keys.get(key)

    def settled(self, key: str) -> int | None:
        """The seq of the event that first carried an older idempotency key, if any."""
        return self.settled_keys.get(key)

    def _settle_keys(self) -> None:
        """Keep the newest ``recent_keys`` keys' events; older keys keep only their seq.

        Keys enter in seq order, so the oldest are first; rebuilding the dict (amortised
        over ``recent_keys`` insertions) keeps lookups and memory compact.
        """
        keep = len(self.keys) - self.recent_keys
        recent: dict[str, Recorded] = {}
        settled = self.settled_keys
        for index, (key, record) in enumerate(self.keys.items()):
            if index < keep:
                settled[key] = record.seq
            else:
                recent[key] = record
        self.keys = recent
        self._forget_oldest_keys()

    def _forget_oldest_keys(self) -> None:
        """Past ``settled_limit``, forget the oldest half of the settled keys."""
        settled = self.settled_keys
        if len(settled) > self.settled_limit:
            drop = len(settled) - self.settled_limit // 2
            self.settled_keys = dict(itertools.islice(settled.items(), drop, None))

    def _touch(self, incident_id: IncidentId, seq: int, event: Event) -> IncidentView | None:
        incident = self.incidents.get(incident_id)
        if incident is not None:
            incident.timeline.append(Recorded(seq, event))
            incident.updated_seq = seq
        return incident


def _call_received(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, CallReceived)  # noqa: S101 - dispatch table guarantees it
    state.calls[event.call_id] = CallView(
        call_id=event.call_id,
        incident_id=event.incident_id,
        channel=event.channel,
        centre=event.centre,
        caller=event.caller,
        dialled=event.dialled,
        text=event.text,
        location=event.location,
        placement=event.placement,
        received_at=event.occurred_at,
        evidence=[event.location] if event.location else [],
        received=Recorded(seq, event),
    )


def _call_status(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, CallStatusChanged)  # noqa: S101
    call = state.calls.get(event.call_id)
    if call is None:
        return
    call.status = event.status
    if event.centre is not None:
        call.centre = event.centre
    state._touch(call.incident_id, seq, event)  # noqa: SLF001 - same module


def _call_located(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, CallLocated)  # noqa: S101
    call = state.calls.get(event.call_id)
    if call is None:
        return
    call.evidence.append(event.evidence)
    call.location = event.best
    call.placement = event.placement or call.placement
    incident = state._touch(call.incident_id, seq, event)  # noqa: SLF001
    if incident is not None and incident.calls and incident.calls[0] == call.call_id:
        incident.location = event.best
        incident.placement = event.placement or incident.placement


def _incident_opened(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, IncidentOpened)  # noqa: S101
    incident = IncidentView(
        incident_id=event.incident_id,
        centre=event.centre,
        channel=event.channel,
        opened_at=event.occurred_at,
        priority=event.priority,
        incident_type=event.incident_type,
        agencies=event.agencies,
        location=event.location,
        placement=event.placement,
        calls=[event.call_id],
        updated_seq=seq,
        suggested_type=event.suggested_type,
        suggestion_confidence=event.suggestion_confidence,
    )
    call = state.calls.get(event.call_id)
    if call is not None and call.received is not None:
        incident.timeline.append(call.received)
    incident.timeline.append(Recorded(seq, event))
    state.incidents[event.incident_id] = incident
    state.open_by_centre[event.centre] += 1


def _incident_status(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, IncidentStatusChanged)  # noqa: S101
    incident = state._touch(event.incident_id, seq, event)  # noqa: SLF001
    if incident is None:
        return
    was_open = incident.status.is_open
    incident.status = event.status
    if event.merged_into is not None:
        incident.merged_into = event.merged_into
    if was_open and not event.status.is_open:
        state.open_by_centre[incident.centre] -= 1
        state.concluded[incident.incident_id] = event.occurred_at


def _incident_classified(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, IncidentClassified)  # noqa: S101
    incident = state._touch(event.incident_id, seq, event)  # noqa: SLF001
    if incident is None:
        return
    incident.incident_type = event.incident_type
    incident.priority = event.priority
    incident.agencies = event.agencies


def _incident_placed(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, IncidentPlaced)  # noqa: S101
    incident = state._touch(event.incident_id, seq, event)  # noqa: SLF001
    if incident is None:
        return
    incident.location = event.location
    incident.placement = event.placement or incident.placement
    if event.centre != incident.centre:
        if incident.status.is_open:
            state.open_by_centre[incident.centre] -= 1
            state.open_by_centre[event.centre] += 1
        incident.centre = event.centre


def _call_attached(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, CallAttached)  # noqa: S101
    incident = state._touch(event.incident_id, seq, event)  # noqa: SLF001
    call = state.calls.get(event.call_id)
    if incident is None or call is None:
        return
    if event.call_id not in incident.calls:
        incident.calls.append(event.call_id)
    call.incident_id = event.incident_id


def _unit_registered(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, UnitRegistered)  # noqa: S101
    state.units[event.unit_id] = UnitView(
        unit_id=event.unit_id,
        kind=event.kind,
        agency=event.agency,
        centre=event.centre,
        callsign=event.callsign,
        location=event.location,
        updated_seq=seq,
    )


def _unit_status(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, UnitStatusReported)  # noqa: S101
    unit = state.units.get(event.unit_id)
    if unit is None:
        return
    unit.status = event.status
    unit.updated_seq = seq
    if event.location is not None:
        unit.location = event.location
    if event.status in {UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE}:
        unit.incident_id = None
    elif event.incident_id is not None:
        unit.incident_id = event.incident_id
    if unit.incident_id is not None:
        state._touch(unit.incident_id, seq, event)  # noqa: SLF001


def _unit_dispatched(state: State, seq: int, event: Event) -> None:
    assert isinstance(event, UnitDispatched)  # noqa: S101
    incident = state._touch(event.incident_id, seq, event)  # noqa: SLF001
    unit = state.units.get(event.unit_id)
    if unit is not None:
        unit.status = UnitStatus.DISPATCHED
        unit.incident_id = event.incident_id
        unit.updated_seq = seq
    if incident is not None and event.unit_id not in incident.units:
        incident.units.append(event.unit_id)


def _incident_archived(state: State, seq: int, event: Event) -> None:
    """The incident and its calls leave memory; units keep only where they are."""
    assert isinstance(event, IncidentArchived)  # noqa: S101
    del seq
    incident = state.incidents.pop(event.incident_id, None)
    state.concluded.pop(event.incident_id, None)
    if incident is not None and incident.status.is_open:  # a log written by hand
        state.open_by_centre[incident.centre] -= 1
    listed = incident.calls if incident is not None else ()
    for call_id in dict.fromkeys((*event.calls, *listed)):  # the event's and the view's
        call = state.calls.get(call_id)
        if call is not None and call.incident_id == event.incident_id:
            del state.calls[call_id]
    if incident is not None:
        keys, settled = state.keys, state.settled_keys
        for record in incident.timeline:  # its events leave memory with it
            key = record.event.idempotency_key
            kept = keys.get(key) if key is not None else None
            if key is not None and kept is not None and kept.seq == record.seq:
                del keys[key]
                settled[key] = record.seq
        state._forget_oldest_keys()  # noqa: SLF001 - same module
        for unit_id in incident.units:
            unit = state.units.get(unit_id)
            if unit is not None and unit.incident_id == event.incident_id:
                unit.incident_id = None


_HANDLERS: dict[type[Event], Callable[[State, int, Event], None]] = {
    CallReceived: _call_received,
    CallStatusChanged: _call_status,
    CallLocated: _call_located,
    IncidentOpened: _incident_opened,
    IncidentStatusChanged: _incident_status,
    IncidentClassified: _incident_classified,
    CallAttached: _call_attached,
    IncidentPlaced: _incident_placed,
    UnitRegistered: _unit_registered,
    UnitStatusReported: _unit_status,
    UnitDispatched: _unit_dispatched,
    IncidentArchived: _incident_archived,
}


Handler = Callable[[State, int, Event], None]


def register_handler(event_class: type[Event], handler: Handler) -> None:
    """Let another package's events fold into the state (the composition root calls this)."""
    _HANDLERS[event_class] = handler
