"""GAMER's live projections: per province and national counts, times, units and spikes. Pure.

:class:`Coordination` is fed every committed batch of the event log in order (at start, the
whole log; then live) and keeps what coordinators watch:

- open incidents by type, agency, priority and status, per province and for the country;
- answer and dispatch times against the standards (``response_times``);
- units by status;
- spike alerts (``spikes``): a province's call rate far above its usual level;
- each open incident's map summary (and the last ``closed_retention`` concluded ones), with
  its calls' positions (a duplicate cluster when calls were merged) and, for eCalls and
  panic alarms, the track of reported positions;
- what situation reports count (``periods``): the incidents it holds, and the period totals
  of those it no longer holds.

An incident leaves the projection when, concluded, it drops out of the map's retention or
when the engine archives it (``IncidentArchived``), whichever comes first: it and its
calls are forgotten (its key's value becomes ``None``) and its summary joins the period
totals. Later events about it are ignored. Everything else kept is bounded: units (the
fleet), provinces, spike series, and the period totals' history horizon.

The projection is a snapshot participant's state (:meth:`Coordination.snapshot`,
:meth:`Coordination.restore`; the dashboard hub is the participant).

The projection is a keyed document. Keys are ``incident/<id>``, ``unit/<id>``,
``province/<NN>`` and ``national``; :meth:`Coordination.apply` and :meth:`Coordination.tick`
return the keys they changed, :meth:`Coordination.view` gives a key's JSON-ready value
(``None`` once removed) and :meth:`Coordination.plate_of` the province that scopes it
(``None``: only principals that see the whole country). Views carry no caller personal data
(no names, numbers or text), so dashboards need no redaction.

No clock: event times come from the events, "now" for spikes from the caller of ``tick``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dispatch.core.projections import Recorded
from dispatch.model.call_taking_events import CallAnswered
from dispatch.model.centres import centre_plate
from dispatch.model.events import (
    CallAttached,
    CallLocated,
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
from dispatch.model.pickling import pickled_as_tuple
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
from gamer_coordination.periods import IncidentSummary, PeriodTotals
from gamer_coordination.response_times import (
    ANSWER_STANDARDS,
    DISPATCH_STANDARDS,
    Histogram,
)
from gamer_coordination.saving import loaded, saved
from gamer_coordination.spikes import SpikeAlert, SpikeDetector, SpikePolicy

NATIONAL = "national"
#: Positions kept per track or duplicate cluster (the newest win).
MAX_POSITIONS = 200
_TRACKED_CHANNELS = frozenset({Channel.ECALL, Channel.PANIC_APP})
_UNCLASSIFIED = "unclassified"


def incident_key(incident_id: str) -> str:
    """The projection key of an incident."""
    return f"incident/{incident_id}"


def unit_key(unit_id: str) -> str:
    """The projection key of a unit."""
    return f"unit/{unit_id}"


def province_key(plate: int) -> str:
    """The projection key of a province's summary."""
    return f"province/{plate:02d}"


@pickled_as_tuple
@dataclass(slots=True, kw_only=True)
class _Call:
    incident_id: str
    received_at: datetime
    channel: Channel
    positions: tuple[tuple[float, float], ...] = ()
    answer_s: float | None = None
    """Its answer time, once answered."""


@pickled_as_tuple
@dataclass(slots=True, kw_only=True)
class _Incident:
    incident_id: str
    channel: Channel
    opened_at: datetime
    status: IncidentStatus = IncidentStatus.NEW
    priority: Priority = Priority.PROMPT
    incident_type: str | None = None
    suggested_type: str | None = None
    agencies: tuple[Agency, ...] = ()
    location: Location | None = None
    placement: Placement | None = None
    calls: list[str] = field(default_factory=list)
    units: tuple[str, ...] = ()
    merged_into: str | None = None
    answered_at: datetime | None = None
    dispatched_at: datetime | None = None
    dispatch_s: float | None = None
    concluded_at: datetime | None = None
    updated_at: datetime | None = None
    track: tuple[tuple[float, float], ...] = ()
    events: int = 1
    """Events that concerned it or its calls (a situation report ranks by them)."""

    @property
    def plate(self) -> int | None:
        return self.placement.plate if self.placement else None

    def contribution(self) -> list[tuple[str, str]]:
        """What this incident adds to the open counts (nothing once concluded)."""
        if not self.status.is_open:
            return []
        items = [
            ("status", self.status.value),
            ("priority", str(int(self.priority))),
            ("type", self.incident_type or _UNCLASSIFIED),
        ]
        items.extend(("agency", agency.value) for agency in self.agencies)
        return items


@pickled_as_tuple
@dataclass(slots=True, kw_only=True)
class _Unit:
    unit_id: str
    kind: UnitKind
    agency: Agency
    plate: int | None
    callsign: str
    status: UnitStatus = UnitStatus.AVAILABLE
    location: Location | None = None
    incident_id: str | None = None


@pickled_as_tuple
@dataclass(slots=True)
class _Scope:
    """Counts for one province, or for the country."""

    open: dict[str, Counter[str]] = field(
        default_factory=lambda: {d: Counter() for d in ("status", "priority", "type", "agency")}
    )
    units: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    answer: Histogram = field(default_factory=Histogram)
    dispatch: Histogram = field(default_factory=Histogram)

    def open_total(self) -> int:
        return sum(self.open["status"].values())


@dataclass(slots=True, kw_only=True)
class _Saved:
    """What :meth:`Coordination.snapshot` pickles (bump the hub's snapshot_version with it)."""

    calls: dict[str, _Call]
    incidents: dict[str, _Incident]
    units: dict[str, _Unit]
    scopes: dict[int | None, _Scope]
    national: _Scope
    concluded: dict[str, None]
    spikes: dict[int, tuple[int, int, float]]
    alerts: dict[int, SpikeAlert]
    periods: PeriodTotals
    last_seq: int
    last_event_at: datetime | None


def _position(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"lat": location.lat, "lon": location.lon, "radius_m": location.radius_m}


class Coordination:
    """The keyed live projection; see the module docstring."""

    def __init__(
        self,
        *,
        spike_policy: SpikePolicy | None = None,
        closed_retention: int = 500,
        report_history: timedelta = timedelta(days=62),
    ) -> None:
        self._calls: dict[str, _Call] = {}
        self._incidents: dict[str, _Incident] = {}
        self._units: dict[str, _Unit] = {}
        self._scopes: dict[int | None, _Scope] = {}
        self._national = _Scope()
        self._concluded: dict[str, None] = {}
        """Concluded incidents still on the map, oldest first."""
        self._retention = closed_retention
        self.spikes = SpikeDetector(spike_policy)
        self.alerts: dict[int, SpikeAlert] = {}
        self.periods = PeriodTotals(report_history)
        self.last_seq = 0
        self.last_event_at: datetime | None = None
        self._dirty: set[str] = set()

    # -- reading ----------------------------------------------------------------------------

    def current_keys(self) -> Iterable[str]:
        """Every key that has a value now."""
        yield NATIONAL
        for plate in sorted(p for p in self._scopes if p is not None):
            yield province_key(plate)
        for incident_id in self._incidents:
            yield incident_key(incident_id)
        for unit_id in self._units:
            yield unit_key(unit_id)

    def plate_of(self, key: str) -> int | None:
        """The province that scopes ``key`` (``None``: national or not placed)."""
        kind, _, name = key.partition("/")
        if kind == "incident":
            incident = self._incidents.get(name)
            return incident.plate if incident else None
        if kind == "unit":
            unit = self._units.get(name)
            return unit.plate if unit else None
        if kind == "province":
            return int(name)
        return None

    def has(self, key: str) -> bool:
        """Whether ``key`` has a value (``view(key) is not None``, without building the view)."""
        kind, _, name = key.partition("/")
        if kind == "incident":
            return name in self._incidents
        if kind == "unit":
            return name in self._units
        if kind == "province":
            return int(name) in self._scopes
        return key == NATIONAL

    def view(self, key: str) -> dict[str, Any] | None:
        """The JSON-ready value of ``key``, ``None`` if it has none (removed or unknown)."""
        kind, _, name = key.partition("/")
        if kind == "incident":
            incident = self._incidents.get(name)
            return self._incident_view(incident) if incident else None
        if kind == "unit":
            unit = self._units.get(name)
            return self._unit_view(unit) if unit else None
        if kind == "province":
            plate = int(name)
            scope = self._scopes.get(plate)
            return self._scope_view(scope, plate) if scope else None
        if key == NATIONAL:
            return self._scope_view(self._national, None)
        return None

    def open_incidents(self, plate: int | None = None) -> list[str]:
        """Ids of open incidents, in one province or everywhere."""
        return [
            i.incident_id
            for i in self._incidents.values()
            if i.status.is_open and (plate is None or i.plate == plate)
        ]

    def summaries(self) -> Iterator[IncidentSummary]:
        """What a situation report reads of each incident held (see ``periods`` for the rest)."""
        for incident in self._incidents.values():
            yield self._summary(incident)

    @property
    def held(self) -> tuple[int, int]:
        """How many incidents and calls the projection holds."""
        return len(self._incidents), len(self._calls)

    # -- folding ----------------------------------------------------------------------------

    def apply(self, records: Sequence[Recorded]) -> set[str]:
        """Fold a committed batch; returns the keys whose values changed."""
        observed: set[int] = set()
        for record in records:
            if record.seq <= self.last_seq:
                continue
            self.last_seq = record.seq
            event = record.event
            if self.last_event_at is None or event.occurred_at > self.last_event_at:
                self.last_event_at = event.occurred_at
            self._apply(event, observed)
        if self.last_event_at is not None:
            self.periods.forget_before(self.last_event_at)
            if observed:
                self._evaluate(observed, self.last_event_at)
        dirty, self._dirty = self._dirty, set()
        return dirty

    def tick(self, now: datetime) -> set[str]:
        """Re-evaluate spikes at ``now`` (alerts end when the rush does); returns changed keys."""
        self._evaluate(set(self.spikes.plates), now)
        dirty, self._dirty = self._dirty, set()
        return dirty

    def _evaluate(self, plates: set[int], now: datetime) -> None:
        for plate in plates:
            alert = self.spikes.alert(plate, now)
            previous = self.alerts.get(plate)
            if alert is None and previous is None:
                continue
            if alert is None:
                del self.alerts[plate]
            else:
                self.alerts[plate] = alert
            if previous is None or alert is None or previous.count != alert.count:
                self._dirty.update((province_key(plate), NATIONAL))

    def _scope(self, plate: int | None) -> _Scope:
        scope = self._scopes.get(plate)
        if scope is None:
            scope = self._scopes[plate] = _Scope()
        return scope

    def _touch_scopes(self, plate: int | None) -> None:
        self._dirty.add(NATIONAL)
        if plate is not None:
            self._dirty.add(province_key(plate))

    def _apply(self, event: Event, observed: set[int]) -> None:
        if isinstance(event, CallReceived):
            self._call_received(event, observed)
            return
        if isinstance(event, IncidentOpened):
            self._incident_opened(event)
            return
        if isinstance(event, CallStatusChanged):
            if event.status is CallStatus.ANSWERED:
                self._answered(event.call_id, event.occurred_at, event.plate)
            return
        if isinstance(event, CallAnswered):
            self._answered(event.call_id, event.occurred_at, event.plate)
            return
        if isinstance(event, CallLocated):
            self._call_located(event)
            return
        if isinstance(event, IncidentClassified):
            self._change(
                event.incident_id,
                event.occurred_at,
                incident_type=event.incident_type,
                priority=event.priority,
                agencies=event.agencies,
            )
            return
        if isinstance(event, IncidentStatusChanged):
            self._incident_status(event)
            return
        if isinstance(event, CallAttached):
            self._call_attached(event)
            return
        if isinstance(event, (UnitRegistered, UnitStatusReported, UnitDispatched)):
            self._unit_event(event)
            return
        if isinstance(event, IncidentArchived):
            self._archived(event)
            return
        self._other(event)

    def _other(self, event: Event) -> None:
        """Another package's event: positions join a call or a track, the rest a timeline.

        Read by shape, not by class (packages are independent): a ``location`` with a
        ``call_id`` is new evidence for that call; a ``track`` of points with ``lat`` and
        ``lon`` (eCall MSDs) extends the incident's track.
        """
        incident_id = getattr(event, "incident_id", None)
        location = getattr(event, "location", None)
        call_id = getattr(event, "call_id", None)
        if isinstance(location, Location) and isinstance(call_id, str):
            self._call_position(call_id, location)
            return
        if not isinstance(incident_id, str):
            return
        incident = self._incidents.get(incident_id)
        if incident is None:
            return
        track = getattr(event, "track", None)
        if isinstance(track, (tuple, list)):
            points = []
            for point in track:
                lat, lon = getattr(point, "lat", None), getattr(point, "lon", None)
                if isinstance(lat, float) and isinstance(lon, float):
                    points.append((lat, lon))
            incident.track = (*incident.track, *points)[-MAX_POSITIONS:]
        incident.updated_at = event.occurred_at
        incident.events += 1
        self._dirty.add(incident_key(incident_id))

    def _call_received(self, event: CallReceived, observed: set[int]) -> None:
        call = _Call(
            incident_id=event.incident_id, received_at=event.occurred_at, channel=event.channel
        )
        if event.location is not None:
            call.positions = ((event.location.lat, event.location.lon),)
        self._calls[event.call_id] = call
        plate = event.placement.plate if event.placement else None
        self._national.calls += 1
        if plate is not None:
            self._scope(plate).calls += 1
            self.spikes.observe(plate, event.occurred_at)
            observed.add(plate)
        self._touch_scopes(plate)

    def _incident_opened(self, event: IncidentOpened) -> None:
        incident = _Incident(
            incident_id=event.incident_id,
            channel=event.channel,
            opened_at=event.occurred_at,
            priority=event.priority,
            incident_type=event.incident_type,
            suggested_type=event.suggested_type,
            agencies=event.agencies,
            location=event.location,
            placement=event.placement,
            calls=[event.call_id],
            updated_at=event.occurred_at,
        )
        self._incidents[event.incident_id] = incident
        self._count(incident, +1)
        self._dirty.add(incident_key(event.incident_id))

    def _count(self, incident: _Incident, sign: int) -> None:
        items = incident.contribution()
        if not items:
            return
        plate = incident.plate
        scopes = [self._national] if plate is None else [self._national, self._scope(plate)]
        for scope in scopes:
            for dimension, value in items:
                counter = scope.open[dimension]
                counter[value] += sign
                if counter[value] <= 0:
                    del counter[value]
        self._touch_scopes(plate)

    def _change(self, incident_id: str, at: datetime, **changes: Any) -> _Incident | None:
        """Change an incident's fields, keeping the counts right (plate moves included)."""
        incident = self._incidents.get(incident_id)
        if incident is None:
            return None
        self._count(incident, -1)
        for name, value in changes.items():
            setattr(incident, name, value)
        incident.updated_at = at
        incident.events += 1
        self._count(incident, +1)
        self._dirty.add(incident_key(incident_id))
        return incident

    def _answered(self, call_id: str, at: datetime, event_plate: int | None) -> None:
        """A call's first answer (the engine's status or call-taking's own event)."""
        call = self._calls.get(call_id)
        if call is None or call.answer_s is not None:
            return
        seconds = (at - call.received_at).total_seconds()
        call.answer_s = seconds
        incident = self._incidents.get(call.incident_id)
        plate = incident.plate if incident else event_plate
        self._national.answer.add(seconds)
        if plate is not None:
            self._scope(plate).answer.add(seconds)
        self._touch_scopes(plate)
        if incident is not None:
            incident.events += 1
            if incident.answered_at is None:
                incident.answered_at = at
                self._dirty.add(incident_key(incident.incident_id))

    def _call_position(self, call_id: str, location: Location) -> None:
        call = self._calls.get(call_id)
        if call is None:
            return
        call.positions = (*call.positions, (location.lat, location.lon))[-MAX_POSITIONS:]
        incident = self._incidents.get(call.incident_id)
        if incident is not None:
            incident.events += 1
            self._dirty.add(incident_key(call.incident_id))

    def _call_located(self, event: CallLocated) -> None:
        self._call_position(event.call_id, event.evidence)
        call = self._calls.get(event.call_id)
        if call is None:
            return
        incident = self._incidents.get(call.incident_id)
        if incident is not None and incident.calls and incident.calls[0] == event.call_id:
            self._change(
                incident.incident_id,
                event.occurred_at,
                location=event.best,
                placement=event.placement or incident.placement,
            )

    def _incident_status(self, event: IncidentStatusChanged) -> None:
        incident = self._incidents.get(event.incident_id)
        if incident is None:
            return
        was_open = incident.status.is_open
        changes: dict[str, Any] = {"status": event.status}
        if event.merged_into is not None:
            changes["merged_into"] = event.merged_into
        if was_open and not event.status.is_open:
            changes["concluded_at"] = event.occurred_at
        self._change(event.incident_id, event.occurred_at, **changes)
        if event.status is IncidentStatus.DISPATCHED:
            self._dispatched(incident, event.occurred_at)
        if was_open and not event.status.is_open:
            self._conclude(incident.incident_id)

    def _conclude(self, incident_id: str) -> None:
        self._concluded[incident_id] = None
        while len(self._concluded) > self._retention:
            old = next(iter(self._concluded))
            del self._concluded[old]
            incident = self._incidents.get(old)
            if incident is not None and not incident.status.is_open:
                self._retire(incident)

    def _retire(self, incident: _Incident) -> None:
        """The incident leaves the projection: its summary joins the period totals."""
        self.periods.add(self._summary(incident))
        self._count(incident, -1)  # nothing for a concluded one
        del self._incidents[incident.incident_id]
        self._concluded.pop(incident.incident_id, None)
        if incident.status is not IncidentStatus.MERGED:  # a merged one's calls move on
            for call_id in incident.calls:
                call = self._calls.get(call_id)
                if call is not None and call.incident_id == incident.incident_id:
                    del self._calls[call_id]  # calls merged here earlier may belong elsewhere
        self._dirty.add(incident_key(incident.incident_id))

    def _archived(self, event: IncidentArchived) -> None:
        """The engine archived the incident: it and its calls are forgotten (if still held)."""
        incident = self._incidents.get(event.incident_id)
        if incident is not None:
            self._retire(incident)
        for call_id in event.calls:
            self._calls.pop(call_id, None)

    def _dispatched(self, incident: _Incident, at: datetime) -> None:
        if incident.dispatched_at is not None:
            return
        incident.dispatched_at = at
        start = incident.answered_at or incident.opened_at
        seconds = (at - start).total_seconds()
        incident.dispatch_s = seconds
        self._national.dispatch.add(seconds)
        if incident.plate is not None:
            self._scope(incident.plate).dispatch.add(seconds)
        self._touch_scopes(incident.plate)

    def _call_attached(self, event: CallAttached) -> None:
        incident = self._incidents.get(event.incident_id)
        call = self._calls.get(event.call_id)
        if incident is None:
            return
        if event.call_id not in incident.calls:
            incident.calls.append(event.call_id)
        if call is not None:
            call.incident_id = event.incident_id
        incident.updated_at = event.occurred_at
        incident.events += 1
        self._dirty.add(incident_key(event.incident_id))

    def _unit_event(self, event: UnitRegistered | UnitStatusReported | UnitDispatched) -> None:
        if isinstance(event, UnitRegistered):
            previous = self._units.get(event.unit_id)
            if previous is not None:
                self._unit_count(previous, -1)
            unit = _Unit(
                unit_id=event.unit_id,
                kind=event.kind,
                agency=event.agency,
                plate=centre_plate(event.centre),
                callsign=event.callsign,
                location=event.location,
            )
            self._units[event.unit_id] = unit
            self._unit_count(unit, +1)
            self._dirty.add(unit_key(event.unit_id))
            return
        found = self._units.get(event.unit_id)
        if isinstance(event, UnitDispatched):
            incident = self._incidents.get(event.incident_id)
            if incident is not None:
                if event.unit_id not in incident.units:
                    incident.units = (*incident.units, event.unit_id)
                incident.updated_at = event.occurred_at
                incident.events += 1
                self._dirty.add(incident_key(event.incident_id))
                self._dispatched(incident, event.occurred_at)
            if found is not None:
                self._unit_count(found, -1)
                found.status = UnitStatus.DISPATCHED
                found.incident_id = event.incident_id
                self._unit_count(found, +1)
                self._dirty.add(unit_key(event.unit_id))
            return
        if found is None:
            return
        unit = found
        self._unit_count(unit, -1)
        unit.status = event.status
        if event.location is not None:
            unit.location = event.location
        if event.status in {UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE}:
            unit.incident_id = None
        elif event.incident_id is not None:
            unit.incident_id = event.incident_id
        self._unit_count(unit, +1)
        self._dirty.add(unit_key(event.unit_id))

    def _unit_count(self, unit: _Unit, sign: int) -> None:
        scopes = (
            [self._national] if unit.plate is None else [self._national, self._scope(unit.plate)]
        )
        for scope in scopes:
            scope.units[unit.status.value] += sign
            if scope.units[unit.status.value] <= 0:
                del scope.units[unit.status.value]
        self._touch_scopes(unit.plate)

    # -- snapshots --------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The state after the last folded batch, pickled (see ``saving``).

        The spike policy, the retention and the history are settings, not state: a
        restored projection keeps its own.
        """
        return saved(self._saved())

    def _saved(self) -> _Saved:
        return _Saved(
            calls=self._calls,
            incidents=self._incidents,
            units=self._units,
            scopes=self._scopes,
            national=self._national,
            concluded=self._concluded,
            spikes=self.spikes.saved(),
            alerts=self.alerts,
            periods=self.periods,
            last_seq=self.last_seq,
            last_event_at=self.last_event_at,
        )

    def restore(self, state: object) -> None:
        """Replace the state with one :meth:`snapshot` returned."""
        restored = loaded(state, _Saved)
        self._calls, self._incidents = restored.calls, restored.incidents
        self._units, self._scopes = restored.units, restored.scopes
        self._national, self._concluded = restored.national, restored.concluded
        self.spikes.restore(restored.spikes)
        self.alerts, self.periods = restored.alerts, restored.periods
        self.last_seq, self.last_event_at = restored.last_seq, restored.last_event_at
        self._dirty = set()

    # -- views ------------------------------------------------------------------------------

    def _summary(self, incident: _Incident) -> IncidentSummary:
        placement = incident.placement
        location = incident.location
        return IncidentSummary(
            incident_id=incident.incident_id,
            plate=incident.plate,
            province=placement.province if placement else None,
            district=placement.district if placement else None,
            status=incident.status,
            incident_type=incident.incident_type,
            priority=int(incident.priority),
            agencies=incident.agencies,
            calls=len(incident.calls),
            units=len(incident.units),
            events=incident.events,
            opened_at=incident.opened_at,
            concluded_at=incident.concluded_at,
            answer_s=tuple(
                call.answer_s
                for call_id in incident.calls
                if (call := self._calls.get(call_id)) is not None
                and call.answer_s is not None
                and call.incident_id == incident.incident_id
            ),
            dispatch_s=incident.dispatch_s,
            position=(location.lat, location.lon) if location else None,
        )

    def _incident_view(self, incident: _Incident) -> dict[str, Any]:
        placement = incident.placement
        positions = [
            [lat, lon]
            for call_id in incident.calls
            if (call := self._calls.get(call_id)) is not None and call.positions
            for lat, lon in call.positions[:1]
        ]
        track = [[lat, lon] for lat, lon in incident.track]
        if not track and incident.calls:
            first = self._calls.get(incident.calls[0])
            if first is not None and first.channel in _TRACKED_CHANNELS:
                track = [[lat, lon] for lat, lon in first.positions]

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "incident_id": incident.incident_id,
            "plate": incident.plate,
            "province": placement.province if placement else None,
            "district": placement.district if placement else None,
            "status": incident.status.value,
            "open": incident.status.is_open,
            "priority": int(incident.priority),
            "incident_type": incident.incident_type,
            "suggested_type": incident.suggested_type,
            "agencies": [a.value for a in incident.agencies],
            "channel": incident.channel.value,
            "opened_at": incident.opened_at.isoformat(),
            "answered_at": iso(incident.answered_at),
            "dispatched_at": iso(incident.dispatched_at),
            "concluded_at": iso(incident.concluded_at),
            "updated_at": iso(incident.updated_at),
            "location": _position(incident.location),
            "calls": len(incident.calls),
            "call_positions": positions if len(positions) > 1 else [],
            "track": track if len(track) > 1 else [],
            "units": list(incident.units),
            "merged_into": incident.merged_into,
        }

    @staticmethod
    def _unit_view(unit: _Unit) -> dict[str, Any]:
        return {
            "unit_id": unit.unit_id,
            "plate": unit.plate,
            "kind": unit.kind.value,
            "agency": unit.agency.value,
            "callsign": unit.callsign,
            "status": unit.status.value,
            "location": _position(unit.location),
            "incident_id": unit.incident_id,
        }

    def _scope_view(self, scope: _Scope, plate: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "plate": plate,
            "open": scope.open_total(),
            "by_status": dict(scope.open["status"]),
            "by_priority": dict(scope.open["priority"]),
            "by_type": dict(scope.open["type"]),
            "by_agency": dict(scope.open["agency"]),
            "units": dict(scope.units),
            "calls": scope.calls,
            "answer": scope.answer.summary(ANSWER_STANDARDS),
            "dispatch": scope.dispatch.summary(DISPATCH_STANDARDS),
        }
        if plate is None:
            body["spikes"] = [_alert_view(a) for a in sorted(self.alerts.values(), key=_by_plate)]
        else:
            alert = self.alerts.get(plate)
            body["spike"] = _alert_view(alert) if alert else None
        return body


def _by_plate(alert: SpikeAlert) -> int:
    return alert.plate


def _alert_view(alert: SpikeAlert) -> dict[str, Any]:
    return {
        "plate": alert.plate,
        "count": alert.count,
        "baseline": alert.baseline,
        "ratio": alert.ratio,
        "bucket_start": alert.bucket_start.isoformat(),
    }
