"""Builders of real engine events for the GAMER tests (a small log, written by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.core.projections import Recorded
from dispatch.model.events import (
    CallAttached,
    CallReceived,
    CallStatusChanged,
    Event,
    IncidentArchived,
    IncidentClassified,
    IncidentOpened,
    IncidentStatusChanged,
    UnitDispatched,
    UnitRegistered,
    UnitStatusReported,
)
from dispatch.model.ids import CallId, CentreId, IncidentId, UnitId
from dispatch.model.values import Location, Placement
from dispatch.model.vocabulary import (
    Agency,
    CallStatus,
    Channel,
    IncidentStatus,
    Priority,
    UnitKind,
    UnitStatus,
)

T0 = datetime(2026, 2, 6, 1, 17, tzinfo=UTC)
POSITIONS = {34: (41.0082, 28.9784), 6: (39.9208, 32.8541), 80: (37.0742, 36.2478)}


class Log:
    """A hand-written event log: each helper appends events with the next sequence numbers."""

    def __init__(self) -> None:
        self.records: list[Recorded] = []

    def add(self, *events: Event) -> list[Recorded]:
        """Append events; returns their records."""
        start = len(self.records)
        for event in events:
            self.records.append(Recorded(len(self.records) + 1, event))
        return self.records[start:]

    def call(
        self,
        number: int,
        plate: int | None,
        at: datetime = T0,
        *,
        channel: Channel = Channel.PHONE,
        priority: Priority = Priority.PROMPT,
    ) -> list[Recorded]:
        """A call with its incident (``call-N`` / ``inc-N``) in province ``plate``."""
        lat, lon = POSITIONS.get(plate or 34, (41.0, 29.0))
        placement = (
            Placement(in_service_area=True, at_sea=False, plate=plate, province=f"il {plate}")
            if plate
            else None
        )
        location = Location(lat=lat, lon=lon, radius_m=50.0)
        centre = CentreId(f"{plate:02d}" if plate else "central")
        return self.add(
            CallReceived(
                occurred_at=at,
                plate=plate,
                call_id=CallId(f"call-{number}"),
                incident_id=IncidentId(f"inc-{number}"),
                channel=channel,
                centre=centre,
                text="secret caller words",
                location=location,
                placement=placement,
            ),
            IncidentOpened(
                occurred_at=at,
                plate=plate,
                incident_id=IncidentId(f"inc-{number}"),
                call_id=CallId(f"call-{number}"),
                channel=channel,
                centre=centre,
                priority=priority,
                location=location,
                placement=placement,
            ),
        )

    def answer(self, number: int, plate: int | None, at: datetime) -> list[Recorded]:
        """The call ``call-N`` is answered at ``at``."""
        return self.add(
            CallStatusChanged(
                occurred_at=at,
                plate=plate,
                call_id=CallId(f"call-{number}"),
                status=CallStatus.ANSWERED,
            )
        )

    def classify(
        self, number: int, plate: int | None, incident_type: str, agencies: tuple[Agency, ...]
    ) -> list[Recorded]:
        """The call-taker classifies ``inc-N``."""
        return self.add(
            IncidentClassified(
                occurred_at=T0,
                plate=plate,
                incident_id=IncidentId(f"inc-{number}"),
                incident_type=incident_type,
                priority=Priority.URGENT,
                agencies=agencies,
                actor="ct",
            ),
            IncidentStatusChanged(
                occurred_at=T0,
                plate=plate,
                incident_id=IncidentId(f"inc-{number}"),
                previous=IncidentStatus.NEW,
                status=IncidentStatus.CLASSIFIED,
                actor="ct",
            ),
        )

    def status(
        self,
        number: int,
        plate: int | None,
        previous: IncidentStatus,
        status: IncidentStatus,
        *,
        at: datetime = T0,
        merged_into: str | None = None,
    ) -> list[Recorded]:
        """``inc-N`` moves from ``previous`` to ``status``."""
        return self.add(
            IncidentStatusChanged(
                occurred_at=at,
                plate=plate,
                incident_id=IncidentId(f"inc-{number}"),
                previous=previous,
                status=status,
                actor="op",
                merged_into=IncidentId(merged_into) if merged_into else None,
            )
        )

    def archive(
        self,
        number: int,
        plate: int | None,
        status: IncidentStatus,
        calls: tuple[int, ...],
        at: datetime = T0,
    ) -> list[Recorded]:
        """The engine archives ``inc-N`` with the calls ``call-M`` that belong to it."""
        return self.add(
            IncidentArchived(
                occurred_at=at,
                plate=plate,
                incident_id=IncidentId(f"inc-{number}"),
                status=status,
                calls=tuple(CallId(f"call-{call}") for call in calls),
            )
        )

    def attach(self, call: int, into: int, plate: int | None) -> list[Recorded]:
        """``call-N`` joins ``inc-M`` (a merge)."""
        return self.add(
            CallAttached(
                occurred_at=T0,
                plate=plate,
                incident_id=IncidentId(f"inc-{into}"),
                call_id=CallId(f"call-{call}"),
                actor="op",
            )
        )

    def unit(self, name: str, plate: int, agency: Agency = Agency.HEALTH) -> list[Recorded]:
        """A unit registers at its province's centre."""
        return self.add(
            UnitRegistered(
                occurred_at=T0,
                plate=plate,
                unit_id=UnitId(name),
                kind=UnitKind.AMBULANCE,
                agency=agency,
                centre=CentreId(f"{plate:02d}"),
                callsign=name.upper(),
            )
        )

    def dispatch(self, name: str, number: int, plate: int, at: datetime) -> list[Recorded]:
        """Unit ``name`` is sent to ``inc-N``."""
        return self.add(
            UnitDispatched(
                occurred_at=at,
                plate=plate,
                unit_id=UnitId(name),
                incident_id=IncidentId(f"inc-{number}"),
                actor="dispatcher",
            )
        )

    def unit_status(self, name: str, plate: int, status: UnitStatus) -> list[Recorded]:
        """Unit ``name`` reports ``status``."""
        return self.add(
            UnitStatusReported(occurred_at=T0, plate=plate, unit_id=UnitId(name), status=status)
        )


def seconds(value: float) -> timedelta:
    """A duration."""
    return timedelta(seconds=value)
