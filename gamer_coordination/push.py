"""Push to units, the pure part: whom a push reaches, what it records, what is still unacked.

A coordinator names the units directly, or an incident (its dispatched units), or an
area (a province, or a circle around a point), optionally one agency's units only.
:func:`resolve_targets` turns that into unit ids, :func:`decide_push` into the
:class:`UnitInfoSent` event; :class:`PushLedger` folds the log (so it is rebuilt at start)
and says which units have not acknowledged yet, for the gateway to republish, and
:meth:`PushLedger.decide_ack` turns a unit's acknowledgement into an event once. The
pushes about an incident are forgotten when the engine archives it (``IncidentArchived``:
no longer republished, and unknown to ``GET``); the ledger is a snapshot participant
(``gamer.push``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dispatch.core.projections import IncidentView, Recorded, UnitView
from dispatch.model.centres import centre_plate
from dispatch.model.events import IncidentArchived
from dispatch.model.ids import IncidentId, UnitId
from dispatch.model.vocabulary import Agency
from gamer_coordination.errors import PushRefused
from gamer_coordination.events import UnitInfoAcknowledged, UnitInfoSent
from gamer_coordination.saving import loaded, saved

MAX_UNITS = 500
_EARTH_KM = 6371.0088


@dataclass(frozen=True, slots=True, kw_only=True)
class Circle:
    """A circular area: centre in WGS84 degrees, radius in kilometres."""

    lat: float
    lon: float
    radius_km: float


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def resolve_targets(
    units: Iterable[UnitView],
    *,
    unit_ids: Sequence[str] = (),
    incident: IncidentView | None = None,
    plate: int | None = None,
    circle: Circle | None = None,
    agency: Agency | None = None,
) -> tuple[UnitId, ...]:
    """The units a push reaches, in a stable order; every named criterion must hold."""
    named = set(unit_ids)
    chosen = []
    for unit in units:
        if named and unit.unit_id not in named:
            continue
        if incident is not None and unit.unit_id not in incident.units:
            continue
        if plate is not None and centre_plate(unit.centre) != plate:
            continue
        if circle is not None and (
            unit.location is None
            or _km(unit.location.lat, unit.location.lon, circle.lat, circle.lon) > circle.radius_km
        ):
            continue
        if agency is not None and unit.agency is not agency:
            continue
        chosen.append(unit.unit_id)
    return tuple(sorted(chosen))


def decide_push(
    *,
    message_id: str,
    targets: Sequence[UnitId],
    text: str,
    actor: str,
    now: datetime,
    plate: int | None,
    incident_id: IncidentId | None = None,
    area: str | None = None,
    idempotency_key: str | None = None,
    max_text: int = 2000,
) -> UnitInfoSent:
    """The event recording a push, or :class:`PushRefused`."""
    if not targets:
        raise PushRefused("the push reaches no unit")
    if len(targets) > MAX_UNITS:
        raise PushRefused(f"a push reaches at most {MAX_UNITS} units")
    if not text.strip():
        raise PushRefused("the push needs text")
    if len(text) > max_text:
        raise PushRefused(f"the text is longer than {max_text} characters")
    return UnitInfoSent(
        occurred_at=now,
        idempotency_key=idempotency_key,
        plate=plate,
        message_id=message_id,
        unit_ids=tuple(targets),
        text=text,
        actor=actor,
        incident_id=incident_id,
        area=area,
    )


@dataclass(slots=True)
class PushRecord:
    """One pushed message and who has acknowledged it."""

    sent: UnitInfoSent
    seq: int
    acknowledged: dict[str, datetime] = field(default_factory=dict)

    @property
    def pending(self) -> list[UnitId]:
        """Targets that have not acknowledged."""
        return [u for u in self.sent.unit_ids if u not in self.acknowledged]

    def to_json(self) -> dict[str, Any]:
        """As the API shows it."""
        return {
            "message_id": self.sent.message_id,
            "seq": self.seq,
            "incident_id": self.sent.incident_id,
            "area": self.sent.area,
            "sent_at": self.sent.occurred_at.isoformat(),
            "units": list(self.sent.unit_ids),
            "acknowledged": {u: at.isoformat() for u, at in self.acknowledged.items()},
            "pending": self.pending,
        }


@dataclass(slots=True, kw_only=True)
class _Saved:
    """What :meth:`PushLedger.snapshot` pickles (bump ``snapshot_version`` with it)."""

    messages: dict[str, PushRecord]
    unacked: dict[str, None]
    by_incident: dict[str, list[str]]


class PushLedger:
    """Every push and its acknowledgements, folded from the log (see the module doc)."""

    snapshot_name = "gamer.push"
    snapshot_version = 1

    def __init__(self) -> None:
        self.messages: dict[str, PushRecord] = {}
        self._unacked: dict[str, None] = {}
        self._by_incident: dict[str, list[str]] = {}

    def apply(self, records: Sequence[Recorded]) -> list[PushRecord]:
        """Fold a committed batch; returns the pushes it recorded (to publish)."""
        new = []
        for record in records:
            event = record.event
            if isinstance(event, UnitInfoSent) and event.message_id not in self.messages:
                push = PushRecord(event, record.seq)
                self.messages[event.message_id] = push
                self._unacked[event.message_id] = None
                if event.incident_id is not None:
                    self._by_incident.setdefault(event.incident_id, []).append(event.message_id)
                new.append(push)
            elif isinstance(event, UnitInfoAcknowledged):
                known = self.messages.get(event.message_id)
                if known is not None:
                    known.acknowledged.setdefault(event.unit_id, event.occurred_at)
                    if not known.pending:
                        self._unacked.pop(event.message_id, None)
            elif isinstance(event, IncidentArchived):
                for message_id in self._by_incident.pop(event.incident_id, ()):
                    self.messages.pop(message_id, None)
                    self._unacked.pop(message_id, None)
        return new

    def snapshot(self) -> bytes:
        """The pushes and acknowledgements now, pickled (see ``saving``)."""
        return saved(
            _Saved(messages=self.messages, unacked=self._unacked, by_incident=self._by_incident)
        )

    def restore(self, state: object) -> None:
        """Replace the ledger with a :meth:`snapshot`'s content."""
        restored = loaded(state, _Saved)
        self.messages, self._unacked = restored.messages, restored.unacked
        self._by_incident = restored.by_incident

    def unacknowledged(self) -> list[PushRecord]:
        """Pushes some target has not acknowledged, oldest first."""
        return [self.messages[m] for m in self._unacked]

    def decide_ack(
        self, unit_id: str, message_id: str, now: datetime
    ) -> UnitInfoAcknowledged | None:
        """The event for a unit's first acknowledgement of a message it was sent, else None."""
        push = self.messages.get(message_id)
        if push is None or unit_id not in push.sent.unit_ids or unit_id in push.acknowledged:
            return None
        return UnitInfoAcknowledged(
            occurred_at=now,
            idempotency_key=f"gamer-info-ack:{message_id}:{unit_id}",
            plate=push.sent.plate,
            message_id=message_id,
            unit_id=UnitId(unit_id),
            incident_id=push.sent.incident_id,
        )
