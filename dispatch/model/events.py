"""Events: the immutable facts the event log records.

Each event is a frozen dataclass registered under a stable ``event_type`` name with a
``schema_version``. Every event has an aware-UTC ``occurred_at`` and an optional
idempotency key, and names the province it concerns (``plate``), so that streams can be
scoped without decoding payloads. ``dispatch.model.codec`` turns them into bytes and back,
upcasting old versions.

Packages add their own event classes by decorating them with :func:`event_type`; the
name is the wire and database identity, so never rename one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, TypeVar

from dispatch.model.ids import CallId, CentreId, IncidentId, OperatorId, UnitId
from dispatch.model.values import Caller, Location, Placement
from dispatch.model.vocabulary import (
    Agency,
    CallStatus,
    Channel,
    IncidentStatus,
    Priority,
    UnfoundedReason,
    UnitKind,
    UnitStatus,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event."""

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    occurred_at: datetime
    idempotency_key: str | None = None
    plate: int | None = None

    @property
    def subject(self) -> str | None:
        """The id of the thing this event is about (incident, call or unit)."""
        return None

    def __reduce__(self) -> tuple[Callable[[str, bytes], Event], tuple[str, bytes]]:
        """Pickle (projection snapshots) as MessagePack: many times faster than field by field."""
        from dispatch.model import codec  # noqa: PLC0415 - the codec imports this module

        return codec.unpacked_event, codec.packed_event(self)


EVENT_TYPES: dict[str, type[Event]] = {}

_E = TypeVar("_E", bound=type[Event])


def event_type(name: str, *, version: int = 1) -> Callable[[_E], _E]:
    """Register an event class under a stable wire name and schema version."""

    def register(cls: _E) -> _E:
        if name in EVENT_TYPES:
            raise ValueError(f"event type {name!r} is registered twice")
        cls.event_type = name
        cls.schema_version = version
        EVENT_TYPES[name] = cls
        return cls

    return register


# -- calls --------------------------------------------------------------------------------


@event_type("call_received")
@dataclass(frozen=True, slots=True, kw_only=True)
class CallReceived(Event):
    """A call reached ng112 on some channel, with what the channel told us."""

    call_id: CallId
    incident_id: IncidentId
    channel: Channel
    centre: CentreId
    caller: Caller = field(default_factory=Caller)
    dialled: str = "112"
    text: str | None = None
    location: Location | None = None
    placement: Placement | None = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def subject(self) -> str | None:
        return self.call_id


@event_type("call_status_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class CallStatusChanged(Event):
    """A call was queued, answered, abandoned or ended."""

    call_id: CallId
    status: CallStatus
    operator: OperatorId | None = None
    centre: CentreId | None = None

    @property
    def subject(self) -> str | None:
        return self.call_id


@event_type("call_located")
@dataclass(frozen=True, slots=True, kw_only=True)
class CallLocated(Event):
    """New location evidence for a call, and where the best estimate now falls."""

    call_id: CallId
    evidence: Location
    best: Location
    placement: Placement | None = None

    @property
    def subject(self) -> str | None:
        return self.call_id


# -- incidents ----------------------------------------------------------------------------


@event_type("incident_opened")
@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentOpened(Event):
    """An incident was opened for a call."""

    incident_id: IncidentId
    call_id: CallId
    channel: Channel
    centre: CentreId
    priority: Priority = Priority.PROMPT
    incident_type: str | None = None
    agencies: tuple[Agency, ...] = ()
    location: Location | None = None
    placement: Placement | None = None
    suggested_type: str | None = None
    suggestion_confidence: float | None = None
    suggestion_reasons: tuple[str, ...] = ()

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("incident_status_changed")
@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentStatusChanged(Event):
    """An incident moved in its lifecycle, by whom and why."""

    incident_id: IncidentId
    previous: IncidentStatus
    status: IncidentStatus
    actor: str
    reason: str | None = None
    merged_into: IncidentId | None = None
    unfounded_reason: UnfoundedReason | None = None

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("incident_classified")
@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentClassified(Event):
    """The call-taker's classification: type, priority and agencies concerned.

    ``suggested_type`` keeps what the classifier proposed, so the log holds both.
    """

    incident_id: IncidentId
    incident_type: str
    priority: Priority
    agencies: tuple[Agency, ...]
    actor: str
    suggested_type: str | None = None

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("call_attached")
@dataclass(frozen=True, slots=True, kw_only=True)
class CallAttached(Event):
    """A call (with its caller) now belongs to an incident, e.g. after a merge."""

    incident_id: IncidentId
    call_id: CallId
    actor: str

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("incident_placed")
@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentPlaced(Event):
    """An operator placed an incident (a pin on the map): where it is and whose centre has it.

    The pin is evidence of its own and is never replaced automatically.
    """

    incident_id: IncidentId
    actor: str
    location: Location
    placement: Placement | None
    centre: CentreId
    previous_centre: CentreId

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("incident_note_added")
@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentNoteAdded(Event):
    """An operator wrote a note on an incident."""

    incident_id: IncidentId
    actor: str
    text: str

    @property
    def subject(self) -> str | None:
        return self.incident_id


# -- units --------------------------------------------------------------------------------


@event_type("unit_registered")
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitRegistered(Event):
    """A unit joined the fleet of an agency and a home centre."""

    unit_id: UnitId
    kind: UnitKind
    agency: Agency
    centre: CentreId
    callsign: str
    location: Location | None = None

    @property
    def subject(self) -> str | None:
        return self.unit_id


@event_type("unit_status_reported")
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitStatusReported(Event):
    """A unit reported its status (and, with it, possibly its position)."""

    unit_id: UnitId
    status: UnitStatus
    incident_id: IncidentId | None = None
    location: Location | None = None

    @property
    def subject(self) -> str | None:
        return self.unit_id


@event_type("unit_dispatched")
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitDispatched(Event):
    """A dispatcher sent a unit to an incident."""

    unit_id: UnitId
    incident_id: IncidentId
    actor: str
    recommended: bool = False
    travel_time_s: float | None = None

    @property
    def subject(self) -> str | None:
        return self.incident_id


# -- archive ------------------------------------------------------------------------------


@event_type("incident_archived")
@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentArchived(Event):
    """A concluded incident leaves the live projections; its story stays in the log.

    Recorded by the engine's archivist (``dispatch.core.archive``) once the incident has
    been in a final status (closed, cancelled, merged, unfounded) for the retention
    period, every call still on it has ended and no unit is assigned to it. ``calls`` are
    the calls that belonged to it when archived (calls merged into another incident
    belong to that one); ``timeline`` the sequence numbers of the incident's timeline, so
    the archived incident is read back from the log by seq. Every package drops what it
    keeps about the incident and these calls when it folds this event.
    """

    incident_id: IncidentId
    status: IncidentStatus
    calls: tuple[CallId, ...] = ()
    timeline: tuple[int, ...] = ()

    @property
    def subject(self) -> str | None:
        return self.incident_id
