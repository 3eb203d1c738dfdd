"""Events the eCall gateway records in the engine's log, and how the hand-off folds.

An accepted eCall is committed as the engine's own ``call_received`` + ``incident_opened``
(through ``receive_call``, at the central desk) followed by:

- :class:`EcallCaseOpened`: what the MSD says, structured (vehicle, occupants, hazards,
  direction, the trust flag) with the track the dashboard draws (N2, N1, current);
- :class:`EcallHandedOff`: the case leaves the central desk for the crash's province
  (only when the position can be trusted and falls in a province).

A new messageIdentifier from the same vehicle within the update window is
:class:`EcallMsdUpdated` on the same incident (its positions extend the track); a test
call is :class:`EcallTestCallLogged` and opens no incident. Each carries the MSD's
idempotency key (``ecall:{vin}:{messageIdentifier}``), so a retransmission finds its
original answer in the log.

``EcallHandedOff`` changes the incident's centre, so it registers a fold with
``dispatch.core.projections.register_handler`` when this module is imported (the event
class and its fold exist together, also during replay).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.core.projections import Recorded, State, register_handler
from dispatch.model.events import Event, event_type
from dispatch.model.ids import CallId, CentreId, IncidentId
from dispatch.model.vocabulary import Agency, Ground

__all__ = [
    "EcallCaseOpened",
    "EcallHandedOff",
    "EcallMsdUpdated",
    "EcallTestCallLogged",
    "TrackPoint",
    "ecall_key",
]


def ecall_key(msd_key: str) -> str:
    """The log's idempotency key of the eCall event that answered ``msd_idempotency_key``."""
    return f"ecall:{msd_key}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackPoint:
    """One position of the vehicle, in WGS84 degrees, oldest first in a track.

    ``source`` is ``"n2"``, ``"n1"`` (the MSD's recent locations, made absolute) or
    ``"current"``; ``message_identifier`` is the MSD that reported it.
    """

    lat: float
    lon: float
    source: str
    message_identifier: int


@event_type("ecall_case_opened")
@dataclass(frozen=True, slots=True, kw_only=True)
class EcallCaseOpened(Event):
    """An eCall opened a traffic-collision case; the MSD's content, structured.

    ``position_can_be_trusted`` false means the track is what the vehicle reported and the
    case stays at the central desk until an operator places it. ``hazards`` are the
    propulsion storage flags that add the fire brigade (electric, hydrogen, CNG, LPG).
    ``vehicle_time`` is the MSD's timestamp (None when the vehicle sent 0).
    """

    incident_id: IncidentId
    call_id: CallId
    vin: str
    message_identifier: int
    msd_version: int
    automatic_activation: bool
    position_can_be_trusted: bool
    vehicle_type: str
    propulsion: tuple[str, ...]
    hazards: tuple[str, ...]
    occupants: int | None
    direction_deg: int | None
    vehicle_time: datetime | None
    track: tuple[TrackPoint, ...]
    priority: int
    agencies: tuple[Agency, ...]

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("ecall_msd_updated")
@dataclass(frozen=True, slots=True, kw_only=True)
class EcallMsdUpdated(Event):
    """The same vehicle sent an updated MSD (a new messageIdentifier) for its open case.

    ``track`` holds this MSD's positions only: the case's track is the concatenation of
    the opening event's and every update's, in log order.
    """

    incident_id: IncidentId
    call_id: CallId
    vin: str
    message_identifier: int
    automatic_activation: bool
    position_can_be_trusted: bool
    hazards: tuple[str, ...]
    occupants: int | None
    direction_deg: int | None
    vehicle_time: datetime | None
    track: tuple[TrackPoint, ...]

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("ecall_handed_off")
@dataclass(frozen=True, slots=True, kw_only=True)
class EcallHandedOff(Event):
    """The central desk handed an eCall case to the 112 centre of the crash's province.

    ``plate`` (the base field) is the province; ``ground`` decided police or gendarmerie.
    """

    incident_id: IncidentId
    call_id: CallId
    from_centre: CentreId
    to_centre: CentreId
    province: str | None = None
    district: str | None = None
    ground: Ground | None = None
    agencies: tuple[Agency, ...] = ()

    @property
    def subject(self) -> str | None:
        return self.incident_id


@event_type("ecall_test_call_logged")
@dataclass(frozen=True, slots=True, kw_only=True)
class EcallTestCallLogged(Event):
    """A test eCall (testCall true): acknowledged and logged, never an incident."""

    call_id: CallId
    vin: str
    message_identifier: int
    automatic_activation: bool
    centre: CentreId
    track: tuple[TrackPoint, ...] = ()

    @property
    def subject(self) -> str | None:
        return self.call_id


def _fold_handed_off(state: State, seq: int, event: Event) -> None:
    """The incident moves to its province's centre and the hand-off joins its timeline."""
    if not isinstance(event, EcallHandedOff):  # pragma: no cover - the table guarantees it
        return
    incident = state.incidents.get(event.incident_id)
    if incident is None:
        return
    incident.timeline.append(Recorded(seq, event))
    incident.updated_seq = seq
    if incident.status.is_open and incident.centre != event.to_centre:
        state.open_by_centre[incident.centre] -= 1
        state.open_by_centre[event.to_centre] += 1
    incident.centre = event.to_centre
    if event.agencies:
        incident.agencies = event.agencies


register_handler(EcallHandedOff, _fold_handed_off)
