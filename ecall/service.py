"""From a decoded MSD to what the engine commits: the eCall desk's rules and its dedupe.

The rules are pure functions (``priority_for``, ``agencies_for``, ``hazards_of``,
``track_of``, ``plan_case``); :class:`EcallService` strings them together against the
engine's port, one vehicle at a time, and answers with an :class:`EcallAck`. It does no
I/O of its own: transports (``ecall.adapters``) move the bytes and publish the answer.

Handling (issue #4):

- Every eCall reaches the central Ankara desk (``CENTRAL_DESK``) and opens a
  ``traffic_collision`` case: automatic activation is priority 1, manual priority 2.
- When the position can be trusted and falls in a province, the case is handed to that
  province's centre (``EcallHandedOff``) with health plus police or gendarmerie by ground
  (both when the ground is unknown, the province drops one; coast guard at sea). A
  propulsion storage flag of electric, hydrogen, CNG or LPG adds fire and is a hazard.
- When the position cannot be trusted (or is unknown, or outside every province), the
  call carries no location, nothing is placed, and the case stays at the central desk
  until an operator places it; the reported track still travels with the case, flagged.
  An updated MSD with a trusted position hands such a case off.
- A test call (testCall true) is acknowledged and logged (``EcallTestCallLogged``) but
  opens no incident, so it is never dispatched.
- Dedupe: a retransmission (same VIN and messageIdentifier) is answered from the log
  with the original call and incident (status ``duplicate``). A new messageIdentifier
  from the same VIN within ``update_window_s`` of its last MSD, while its case is open,
  updates that case (``EcallMsdUpdated``, track extended); otherwise it opens a new case.

Commit order for a new case: ``receive_call`` (idempotent on the MSD key) then the
eCall events (keyed too). If the process dies between the two, the vehicle resends, the
engine returns the committed call, and the eCall events are written then.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from dispatch.core.decide import ReceiveCall
from dispatch.core.projections import Recorded
from dispatch.locks import KeyedLocks
from dispatch.model.access import Principal
from dispatch.model.centres import CENTRAL_DESK, provincial_centre
from dispatch.model.events import CallLocated, Event, IncidentArchived
from dispatch.model.ids import CallId, CentreId, IncidentId, new_call_id
from dispatch.model.values import Location, Placement
from dispatch.model.vocabulary import Agency, Channel, Ground, Priority, Role
from dispatch.ports import EnginePort
from ecall.errors import MsdError
from ecall.events import (
    EcallCaseOpened,
    EcallHandedOff,
    EcallMsdUpdated,
    EcallTestCallLogged,
    TrackPoint,
    ecall_key,
)
from ecall.msd import (
    MAX_MSD_OCTETS,
    MinimumSetOfData,
    PropulsionStorage,
    decode_msd,
    msd_idempotency_key,
)
from ecall.settings import EcallSettings

__all__ = [
    "GATEWAY_PRINCIPAL",
    "INCIDENT_TYPE",
    "AckStatus",
    "CasePlan",
    "EcallAck",
    "EcallCase",
    "EcallLedger",
    "EcallService",
    "LedgerSnapshot",
    "agencies_for",
    "hazards_of",
    "plan_case",
    "priority_for",
    "rejection_code",
    "track_of",
]

INCIDENT_TYPE: Final = "traffic_collision"
#: Uncertainty given to a trusted MSD position (GNSS in a car, no accuracy in the MSD).
TRUSTED_RADIUS_M: Final = 50.0
#: The MSD bytes a transport accepts: the largest v2/v3 message plus its wrapper, with room
#: for the trailing octets EN 15722 says to ignore.
MAX_MESSAGE_OCTETS: Final = 4 * MAX_MSD_OCTETS
_MAS_PER_DEGREE: Final = 3_600_000
_DELTA_MAS: Final = 100
_DIRECTION_UNKNOWN: Final = 255

#: The principal MQTT ingest acts as (the broker authenticated the vehicle).
GATEWAY_PRINCIPAL: Final = Principal(subject="ecall-gateway", role=Role.DEVICE)

_HAZARDOUS: Final = (
    PropulsionStorage.ELECTRIC_ENERGY_STORAGE,
    PropulsionStorage.HYDROGEN_STORAGE,
    PropulsionStorage.COMPRESSED_NATURAL_GAS,
    PropulsionStorage.LIQUID_PROPANE_GAS,
)


class AckStatus(enum.StrEnum):
    """What ng112 answers a vehicle (the ``status`` of the ack JSON)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    UPDATED = "updated"
    TEST = "test"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class EcallAck:
    """The application acknowledgement, sent after commit (or a rejection, nothing written).

    A duplicate repeats the original call, incident and message identifier, and names the
    original answer in ``original_status``. A rejection has a ``code`` and a ``reason``
    that never echo the payload.
    """

    status: AckStatus
    call_id: CallId | None = None
    incident_id: IncidentId | None = None
    message_identifier: int | None = None
    original_status: AckStatus | None = None
    code: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object published on the ack topic and answered over HTTP."""
        body: dict[str, Any] = {
            "call_id": self.call_id,
            "incident_id": self.incident_id,
            "message_identifier": self.message_identifier,
            "status": self.status.value,
        }
        if self.original_status is not None:
            body["original_status"] = self.original_status.value
        if self.code is not None:
            body["code"] = self.code
        if self.reason is not None:
            body["reason"] = self.reason
        return body


# -- pure rules -----------------------------------------------------------------------------


def rejection_code(exc: Exception) -> str:
    """A metric-friendly code for a codec rejection: ``MsdTruncated`` -> ``msd_truncated``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def priority_for(msd: MinimumSetOfData) -> Priority:
    """Automatic activation (a crash sensor) is priority 1, a button press priority 2."""
    return Priority.IMMEDIATE if msd.automatic_activation else Priority.URGENT


def hazards_of(msd: MinimumSetOfData) -> tuple[str, ...]:
    """The propulsion storage flags that are a hazard at the scene (ASN.1 names)."""
    return tuple(f.value for f in _HAZARDOUS if f in msd.vehicle_propulsion_storage_type)


def agencies_for(msd: MinimumSetOfData, ground: Ground | None) -> tuple[Agency, ...]:
    """Health, the law-enforcement agency of the ground, and fire for a hazardous store."""
    agencies = [Agency.HEALTH]
    if ground is Ground.POLICE:
        agencies.append(Agency.POLICE)
    elif ground is Ground.GENDARMERIE:
        agencies.append(Agency.GENDARMERIE)
    elif ground is Ground.COAST_GUARD:
        agencies.append(Agency.COAST_GUARD)
    else:
        agencies.extend((Agency.POLICE, Agency.GENDARMERIE))
    if hazards_of(msd):
        agencies.append(Agency.FIRE)
    return tuple(agencies)


def track_of(msd: MinimumSetOfData) -> tuple[TrackPoint, ...]:
    """The MSD's positions, oldest first: N2, N1 (deltas made absolute), then current.

    N1 is relative to the current position and N2 to N1, in units of 100 milliarcseconds.
    An unknown current position gives an empty track.
    """
    lat, lon = msd.position_latitude, msd.position_longitude
    if msd.latitude_deg is None or msd.longitude_deg is None:
        return ()
    mid = msd.message_identifier
    points = [
        TrackPoint(
            lat=lat / _MAS_PER_DEGREE,
            lon=lon / _MAS_PER_DEGREE,
            source="current",
            message_identifier=mid,
        )
    ]
    for source, delta in (
        ("n1", msd.recent_vehicle_location_n1),
        ("n2", msd.recent_vehicle_location_n2),
    ):
        if delta is None:
            break
        lat += delta.latitude_delta * _DELTA_MAS
        lon += delta.longitude_delta * _DELTA_MAS
        points.append(
            TrackPoint(
                lat=lat / _MAS_PER_DEGREE,
                lon=lon / _MAS_PER_DEGREE,
                source=source,
                message_identifier=mid,
            )
        )
    return tuple(reversed(points))


def _vehicle_time(msd: MinimumSetOfData) -> datetime | None:
    return datetime.fromtimestamp(msd.timestamp, UTC) if msd.timestamp else None


def _direction_deg(msd: MinimumSetOfData) -> int | None:
    if msd.vehicle_direction == _DIRECTION_UNKNOWN:
        return None
    return msd.vehicle_direction * 2


def trusted_location(msd: MinimumSetOfData) -> Location | None:
    """The call's location: the MSD's position when trusted and known, else None."""
    lat, lon = msd.latitude_deg, msd.longitude_deg
    if not msd.position_can_be_trusted or lat is None or lon is None:
        return None
    return Location(
        lat=lat, lon=lon, radius_m=TRUSTED_RADIUS_M, source="ecall", at=_vehicle_time(msd)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CasePlan:
    """What a new eCall case commits: the engine's call command, then the eCall events.

    ``handoff`` is the province's centre when the case leaves the central desk.
    """

    command: ReceiveCall
    handoff: CentreId | None
    placement: Placement | None


def _details(msd: MinimumSetOfData, hazards: tuple[str, ...]) -> dict[str, str]:
    details = {
        "vin": msd.vin,
        "message_identifier": str(msd.message_identifier),
        "msd_version": str(msd.msd_version),
        "activation": "automatic" if msd.automatic_activation else "manual",
        "position_can_be_trusted": "true" if msd.position_can_be_trusted else "false",
        "vehicle_type": msd.vehicle_type.value,
    }
    if msd.number_of_occupants is not None:
        details["occupants"] = str(msd.number_of_occupants)
    direction = _direction_deg(msd)
    if direction is not None:
        details["direction_deg"] = str(direction)
    if hazards:
        details["hazards"] = ",".join(hazards)
    return details


def plan_case(msd: MinimumSetOfData, placement: Placement | None) -> CasePlan:
    """The ReceiveCall of a new eCall case, opened at the central desk, and its hand-off.

    ``placement`` is where the trusted position falls (None when untrusted or unknown).
    """
    location = trusted_location(msd)
    plate = placement.plate if placement is not None and location is not None else None
    ground = placement.ground if placement is not None and plate is not None else None
    hazards = hazards_of(msd)
    command = ReceiveCall(
        channel=Channel.ECALL,
        location=location,
        client_request_id=ecall_key(msd_idempotency_key(msd)),
        details=_details(msd, hazards),
        priority=priority_for(msd),
        incident_type=INCIDENT_TYPE,
        agencies=agencies_for(msd, ground),
        centre=CENTRAL_DESK,
    )
    return CasePlan(
        command=command,
        handoff=provincial_centre(plate) if plate is not None else None,
        placement=placement if plate is not None else None,
    )


# -- the ledger: eCall cases folded from the log --------------------------------------------


@dataclass(slots=True, kw_only=True)
class EcallCase:
    """One vehicle's case as the gateway remembers it (rebuilt from the log at start)."""

    incident_id: IncidentId
    call_id: CallId
    vin: str
    last_at: datetime
    centre: CentreId
    position_can_be_trusted: bool
    hazards: tuple[str, ...]
    track: list[TrackPoint] = field(default_factory=list)
    message_identifiers: list[int] = field(default_factory=list)


class EcallLedger:
    """eCall cases by VIN and by incident: a projection fed every committed batch.

    An archived incident (``IncidentArchived``) takes its case with it, from both indexes;
    later events about it are ignored. The ledger is a snapshot participant
    (:class:`dispatch.ports.Snapshotting`): :meth:`snapshot` copies the live cases.
    """

    snapshot_name = "ecall.ledger"
    snapshot_version = 1

    def __init__(self) -> None:
        self.by_vin: dict[str, EcallCase] = {}
        self.by_incident: dict[IncidentId, EcallCase] = {}
        self.test_calls = 0

    def apply(self, records: Sequence[Recorded]) -> None:
        """Fold committed events (live and at replay); other events are ignored."""
        for record in records:
            event = record.event
            if isinstance(event, EcallCaseOpened):
                case = EcallCase(
                    incident_id=event.incident_id,
                    call_id=event.call_id,
                    vin=event.vin,
                    last_at=event.occurred_at,
                    centre=CENTRAL_DESK,
                    position_can_be_trusted=event.position_can_be_trusted,
                    hazards=event.hazards,
                    track=list(event.track),
                    message_identifiers=[event.message_identifier],
                )
                self.by_vin[event.vin] = case
                self.by_incident[event.incident_id] = case
            elif isinstance(event, EcallMsdUpdated):
                case_or_none = self.by_incident.get(event.incident_id)
                if case_or_none is None:
                    continue
                case_or_none.last_at = max(case_or_none.last_at, event.occurred_at)
                case_or_none.track.extend(event.track)
                case_or_none.message_identifiers.append(event.message_identifier)
                case_or_none.position_can_be_trusted = event.position_can_be_trusted
                case_or_none.hazards = event.hazards
            elif isinstance(event, EcallHandedOff):
                handed = self.by_incident.get(event.incident_id)
                if handed is not None:
                    handed.centre = event.to_centre
            elif isinstance(event, EcallTestCallLogged):
                self.test_calls += 1
            elif isinstance(event, IncidentArchived):
                self._archived(event.incident_id)

    def _archived(self, incident_id: IncidentId) -> None:
        """The incident left the live projections: its case is forgotten."""
        case = self.by_incident.pop(incident_id, None)
        if case is not None and self.by_vin.get(case.vin) is case:
            del self.by_vin[case.vin]

    def snapshot(self) -> LedgerSnapshot:
        """The cases and the test-call count now, copied (a case shared by both indexes
        stays one object)."""
        return _copied(self.by_vin, self.by_incident, self.test_calls)

    def restore(self, state: object) -> None:
        """Replace the ledger with a :meth:`snapshot`'s content."""
        if not isinstance(state, LedgerSnapshot):
            raise TypeError("not an eCall ledger snapshot")
        copy = _copied(state.by_vin, state.by_incident, state.test_calls)
        self.by_vin, self.by_incident, self.test_calls = (
            copy.by_vin,
            copy.by_incident,
            copy.test_calls,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerSnapshot:
    """What :meth:`EcallLedger.snapshot` saves: both indexes over copies of the cases."""

    by_vin: dict[str, EcallCase]
    by_incident: dict[IncidentId, EcallCase]
    test_calls: int


def _copied(
    by_vin: dict[str, EcallCase], by_incident: dict[IncidentId, EcallCase], test_calls: int
) -> LedgerSnapshot:
    copies: dict[int, EcallCase] = {}

    def copy(case: EcallCase) -> EcallCase:
        made = copies.get(id(case))
        if made is None:
            made = replace(
                case, track=list(case.track), message_identifiers=list(case.message_identifiers)
            )
            copies[id(case)] = made
        return made

    return LedgerSnapshot(
        by_incident={key: copy(case) for key, case in by_incident.items()},
        by_vin={key: copy(case) for key, case in by_vin.items()},
        test_calls=test_calls,
    )


# -- the service ----------------------------------------------------------------------------


_STATUS_OF: Final[dict[type[Event], AckStatus]] = {
    EcallCaseOpened: AckStatus.ACCEPTED,
    EcallMsdUpdated: AckStatus.UPDATED,
    EcallTestCallLogged: AckStatus.TEST,
}


class EcallService:
    """Decode, dedupe, decide and commit one MSD; answer with an :class:`EcallAck`.

    Construct it before the engine replays its log (in ``install``): it subscribes its
    ledger, also as a snapshot participant, so that cases and the update window survive
    restarts.
    """

    def __init__(self, engine: EnginePort, settings: EcallSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.ledger = EcallLedger()
        #: answers given, by (transport, status); rejections by code (for /metrics)
        self.answers: Counter[tuple[str, str]] = Counter()
        self.rejections: Counter[str] = Counter()
        self._locks = KeyedLocks()  # one per VIN: a vehicle's MSDs in order
        engine.subscribe(self.ledger.apply, snapshot=self.ledger)

    async def ingest(
        self,
        data: bytes,
        principal: Principal,
        *,
        topic_vin: str | None = None,
        transport: str = "mqtt",
    ) -> EcallAck:
        """Handle one MSD message; the answer is committed before it is returned.

        ``topic_vin`` is the VIN level of the MQTT topic (must equal the MSD's VIN).
        Raises ``AccessDenied`` for a principal that may not ingest; store failures
        propagate (nothing is acknowledged, the vehicle resends).
        """
        principal.require_ingest()
        ack = await self._ingest(data, principal, topic_vin)
        self.answers[transport, ack.status.value] += 1
        if ack.code is not None:
            self.rejections[ack.code] += 1
        return ack

    async def _ingest(self, data: bytes, principal: Principal, topic_vin: str | None) -> EcallAck:
        if len(data) > MAX_MESSAGE_OCTETS:
            return EcallAck(
                status=AckStatus.REJECTED, code="msd_too_long", reason="the message is too long"
            )
        try:
            msd = decode_msd(data)
        except MsdError as exc:
            return EcallAck(status=AckStatus.REJECTED, code=rejection_code(exc), reason=str(exc))
        if topic_vin is not None and topic_vin != msd.vin:
            return EcallAck(
                status=AckStatus.REJECTED,
                message_identifier=msd.message_identifier,
                code="vin_mismatch",
                reason="the topic's VIN is not the MSD's vehicleIdentificationNumber",
            )
        async with self._locks.hold(msd.vin):
            duplicate = await self._answered(msd)
            if duplicate is not None:
                return duplicate
            if msd.test_call:
                return await self._log_test_call(msd)
            case = self._open_case_of(msd.vin)
            if case is not None:
                return await self._update(case, msd)
            return await self._open(msd, principal)

    async def _answered(self, msd: MinimumSetOfData) -> EcallAck | None:
        original = await self.engine.original(ecall_key(msd_idempotency_key(msd)))
        if original is None:
            return None
        event = original.event
        status = _STATUS_OF.get(type(event))
        if status is None:  # pragma: no cover - only the gateway writes ecall keys
            return None
        return EcallAck(
            status=AckStatus.DUPLICATE,
            original_status=status,
            call_id=getattr(event, "call_id", None),
            incident_id=getattr(event, "incident_id", None),
            message_identifier=msd.message_identifier,
        )

    def _open_case_of(self, vin: str) -> EcallCase | None:
        case = self.ledger.by_vin.get(vin)
        if case is None:
            return None
        age = (self.engine.clock.now() - case.last_at).total_seconds()
        if age > self.settings.update_window_s:
            return None
        incident = self.engine.state.incidents.get(case.incident_id)
        if incident is None or not incident.status.is_open:
            return None
        return case

    def _place(self, msd: MinimumSetOfData) -> Placement | None:
        location = trusted_location(msd)
        if location is None:
            return None
        return self.engine.locator.place(location.lat, location.lon, location.radius_m)

    async def _log_test_call(self, msd: MinimumSetOfData) -> EcallAck:
        call_id = new_call_id()
        await self.engine.record(
            [
                EcallTestCallLogged(
                    occurred_at=self.engine.clock.now(),
                    idempotency_key=ecall_key(msd_idempotency_key(msd)),
                    call_id=call_id,
                    vin=msd.vin,
                    message_identifier=msd.message_identifier,
                    automatic_activation=msd.automatic_activation,
                    centre=CENTRAL_DESK,
                    track=track_of(msd),
                )
            ]
        )
        return EcallAck(
            status=AckStatus.TEST, call_id=call_id, message_identifier=msd.message_identifier
        )

    async def _open(self, msd: MinimumSetOfData, principal: Principal) -> EcallAck:
        plan = plan_case(msd, self._place(msd))
        call = await self.engine.receive_call(plan.command, principal)
        now = self.engine.clock.now()
        plate = plan.placement.plate if plan.placement is not None else None
        events: list[Event] = [
            EcallCaseOpened(
                occurred_at=now,
                idempotency_key=ecall_key(msd_idempotency_key(msd)),
                plate=plate,
                incident_id=call.incident_id,
                call_id=call.call_id,
                vin=msd.vin,
                message_identifier=msd.message_identifier,
                msd_version=msd.msd_version,
                automatic_activation=msd.automatic_activation,
                position_can_be_trusted=msd.position_can_be_trusted,
                vehicle_type=msd.vehicle_type.value,
                propulsion=tuple(
                    f.value for f in PropulsionStorage if f in msd.vehicle_propulsion_storage_type
                ),
                hazards=hazards_of(msd),
                occupants=msd.number_of_occupants,
                direction_deg=_direction_deg(msd),
                vehicle_time=_vehicle_time(msd),
                track=track_of(msd),
                priority=int(plan.command.priority or priority_for(msd)),
                agencies=plan.command.agencies,
            )
        ]
        if plan.handoff is not None and plan.placement is not None:
            events.append(self._handoff(call.incident_id, call.call_id, plan, now))
        await self.engine.record(events)
        return EcallAck(
            status=AckStatus.ACCEPTED,
            call_id=call.call_id,
            incident_id=call.incident_id,
            message_identifier=msd.message_identifier,
        )

    @staticmethod
    def _handoff(
        incident_id: IncidentId, call_id: CallId, plan: CasePlan, now: datetime
    ) -> EcallHandedOff:
        placement = plan.placement
        assert placement is not None  # noqa: S101 - the caller checked
        assert plan.handoff is not None  # noqa: S101
        return EcallHandedOff(
            occurred_at=now,
            plate=placement.plate,
            incident_id=incident_id,
            call_id=call_id,
            from_centre=CENTRAL_DESK,
            to_centre=plan.handoff,
            province=placement.province,
            district=placement.district,
            ground=placement.ground,
            agencies=plan.command.agencies,
        )

    async def _update(self, case: EcallCase, msd: MinimumSetOfData) -> EcallAck:
        incident = self.engine.state.incidents.get(case.incident_id)
        plate = incident.plate if incident is not None else None
        now = self.engine.clock.now()
        events: list[Event] = [
            EcallMsdUpdated(
                occurred_at=now,
                idempotency_key=ecall_key(msd_idempotency_key(msd)),
                plate=plate,
                incident_id=case.incident_id,
                call_id=case.call_id,
                vin=msd.vin,
                message_identifier=msd.message_identifier,
                automatic_activation=msd.automatic_activation,
                position_can_be_trusted=msd.position_can_be_trusted,
                hazards=hazards_of(msd),
                occupants=msd.number_of_occupants,
                direction_deg=_direction_deg(msd),
                vehicle_time=_vehicle_time(msd),
                track=track_of(msd),
            )
        ]
        location = trusted_location(msd)
        if location is not None:
            placement = self._place(msd)
            events.append(
                CallLocated(
                    occurred_at=now,
                    plate=placement.plate if placement else plate,
                    call_id=case.call_id,
                    evidence=location,
                    best=location,
                    placement=placement,
                )
            )
            if case.centre == CENTRAL_DESK and placement is not None:
                plan = plan_case(msd, placement)
                if plan.handoff is not None:
                    events.append(self._handoff(case.incident_id, case.call_id, plan, now))
        await self.engine.record(events)
        return EcallAck(
            status=AckStatus.UPDATED,
            call_id=case.call_id,
            incident_id=case.incident_id,
            message_identifier=msd.message_identifier,
        )
