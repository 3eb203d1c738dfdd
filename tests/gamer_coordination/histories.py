"""Generated event histories for GAMER's property tests (hypothesis), as the engine writes them.

A history is a list of steps drawn by hypothesis and played on a small model of the
engine, so every event is one the engine could record: calls open incidents in a few
provinces over several hours; incidents are answered, classified, located (possibly into
another province), dispatched, tracked, merged (status, then each call attached to the
survivor in the same batch) and concluded (their units report available); pushes go to
units and are acknowledged. ``archive`` steps record ``IncidentArchived`` for the incident
concluded first, as the archivist does: with the calls that belong to it. Steps that do
not fit the model's state are skipped, so any drawn list is a valid history. Nothing but
the archive concerns a concluded incident (its units' reports name no incident): what the
projection counts of an incident is what it had when the incident left it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import strategies as st

from dispatch.core.projections import Recorded
from dispatch.model.events import (
    CallLocated,
    Event,
    IncidentArchived,
    IncidentClassified,
    event_type,
)
from dispatch.model.ids import CallId, IncidentId, UnitId
from dispatch.model.values import Location, Placement
from dispatch.model.vocabulary import Agency, IncidentStatus, Priority, UnitStatus
from gamer_coordination.events import UnitInfoAcknowledged, UnitInfoSent
from tests.gamer_coordination.events import POSITIONS, T0, Log

PLATES = (34, 6, 80)
UNITS = {"amb-34": 34, "amb-6": 6, "fire-80": 80}
TYPES = ("fire.building", "traffic.collision", "health.cardiac")
CONCLUSIONS = (IncidentStatus.CLOSED, IncidentStatus.CANCELLED, IncidentStatus.UNFOUNDED)


@event_type("test_gamer_history_track")
@dataclass(frozen=True, slots=True, kw_only=True)
class TrackReported(Event):
    """Another package's event about an incident (as eCall's MSD updates): a track."""

    incident_id: IncidentId
    track: tuple[Location, ...]


def _location(plate: int, offset: int = 0) -> Location:
    lat, lon = POSITIONS[plate]
    return Location(lat=lat + offset / 1000, lon=lon + offset / 1000, radius_m=50.0)


@dataclass
class _Incident:
    plate: int
    status: IncidentStatus = IncidentStatus.NEW
    calls: list[int] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    archived: bool = False


@dataclass
class History:
    """The model the steps are played on, and the batches of records they produced.

    Incident ``inc-N`` opens with call ``call-N`` (``Log``'s names).
    """

    log: Log = field(default_factory=Log)
    batches: list[list[Recorded]] = field(default_factory=list)
    incidents: dict[int, _Incident] = field(default_factory=dict)
    unanswered: dict[int, int] = field(default_factory=dict)
    free_units: dict[str, int] = field(default_factory=lambda: dict(UNITS))
    pushes: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    concluded: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def records(self) -> list[Recorded]:
        """Every record, in order."""
        return self.log.records

    @property
    def archived(self) -> dict[str, tuple[str, ...]]:
        """Archived incidents and the calls archived with them."""
        return {
            r.event.incident_id: r.event.calls
            for r in self.records
            if isinstance(r.event, IncidentArchived)
        }

    def commit(self, *records: list[Recorded]) -> None:
        """Commit records ``Log`` made as one batch (one command's events)."""
        self.batches.append([r for made in records for r in made])

    def now(self, advance: float = 0.0) -> datetime:
        """The clock, moved on by ``advance`` seconds."""
        self.seconds += advance
        return T0 + timedelta(seconds=self.seconds)

    def _pick_open(self, pick: int) -> int | None:
        open_numbers = [n for n, i in self.incidents.items() if i.status.is_open]
        return open_numbers[pick % len(open_numbers)] if open_numbers else None

    # -- steps --------------------------------------------------------------------------

    def call(self, plate: int, advance: float, priority: Priority) -> None:
        """A call opens an incident."""
        number = len(self.incidents)
        self.commit(self.log.call(number, plate, self.now(advance), priority=priority))
        self.incidents[number] = _Incident(plate, calls=[number])
        self.unanswered[number] = number

    def answer(self, pick: int, advance: float) -> None:
        """An unanswered call of an open incident is answered."""
        calls = [c for c, n in self.unanswered.items() if self.incidents[n].status.is_open]
        if not calls:
            return
        call = calls[pick % len(calls)]
        incident = self.incidents[self.unanswered.pop(call)]
        self.commit(self.log.answer(call, incident.plate, self.now(advance)))

    def _transition(
        self, number: int, status: IncidentStatus, merged_into: int | None = None
    ) -> list[Recorded]:
        incident = self.incidents[number]
        records = self.log.status(
            number,
            incident.plate,
            incident.status,
            status,
            at=self.now(),
            merged_into=None if merged_into is None else f"inc-{merged_into}",
        )
        incident.status = status
        if not status.is_open:
            self.concluded.append(number)
        return records

    def classify(self, pick: int, type_index: int, agencies: tuple[Agency, ...]) -> None:
        """An open incident is classified (its status too, when still new)."""
        number = self._pick_open(pick)
        if number is None:
            return
        incident = self.incidents[number]
        classified = self.log.add(
            IncidentClassified(
                occurred_at=self.now(1),
                plate=incident.plate,
                incident_id=IncidentId(f"inc-{number}"),
                incident_type=TYPES[type_index % len(TYPES)],
                priority=Priority.URGENT,
                agencies=agencies,
                actor="ct",
            )
        )
        if incident.status is IncidentStatus.NEW:
            self.commit(classified, self._transition(number, IncidentStatus.CLASSIFIED))
        else:
            self.commit(classified)

    def locate(self, pick: int, plate: int, offset: int) -> None:
        """Better evidence for an open incident's first call (it may move province)."""
        number = self._pick_open(pick)
        if number is None:
            return
        location = _location(plate, offset)
        placement = Placement(
            in_service_area=True, at_sea=False, plate=plate, province=f"il {plate}"
        )
        self.commit(
            self.log.add(
                CallLocated(
                    occurred_at=self.now(1),
                    plate=plate,
                    call_id=CallId(f"call-{self.incidents[number].calls[0]}"),
                    evidence=location,
                    best=location,
                    placement=placement,
                )
            )
        )
        self.incidents[number].plate = plate

    def track(self, pick: int, offset: int) -> None:
        """Another package reports a track for an open incident."""
        number = self._pick_open(pick)
        if number is None:
            return
        plate = self.incidents[number].plate
        self.commit(
            self.log.add(
                TrackReported(
                    occurred_at=self.now(1),
                    plate=plate,
                    incident_id=IncidentId(f"inc-{number}"),
                    track=tuple(_location(plate, offset + n) for n in range(2)),
                )
            )
        )

    def dispatch(self, pick: int, advance: float) -> None:
        """A free unit is sent to an open incident."""
        number = self._pick_open(pick)
        if number is None or not self.free_units:
            return
        unit_id = sorted(self.free_units)[pick % len(self.free_units)]
        plate = self.free_units.pop(unit_id)
        incident = self.incidents[number]
        incident.units.append(unit_id)
        sent = self.log.dispatch(unit_id, number, plate, self.now(advance))
        if incident.status is IncidentStatus.DISPATCHED:
            self.commit(sent)
        else:
            self.commit(sent, self._transition(number, IncidentStatus.DISPATCHED))

    def _free(self, incident: _Incident) -> list[Recorded]:
        records = []
        for unit_id in incident.units:
            self.free_units[unit_id] = UNITS[unit_id]
            records += self.log.unit_status(unit_id, UNITS[unit_id], UnitStatus.AVAILABLE)
        incident.units = []
        return records

    def merge(self, pick: int, into: int) -> None:
        """An open incident is merged into another open one; its calls join the survivor."""
        open_numbers = [n for n, i in self.incidents.items() if i.status.is_open]
        if len(open_numbers) < 2:
            return
        merged_number = open_numbers[pick % len(open_numbers)]
        others = [n for n in open_numbers if n != merged_number]
        survivor_number = others[into % len(others)]
        merged, survivor = self.incidents[merged_number], self.incidents[survivor_number]
        records = [
            self._transition(merged_number, IncidentStatus.MERGED, merged_into=survivor_number),
            self._free(merged),
        ]
        for call in merged.calls:
            records.append(self.log.attach(call, survivor_number, survivor.plate))
            if call in self.unanswered:
                self.unanswered[call] = survivor_number
        survivor.calls += merged.calls
        merged.calls = []
        self.commit(*records)

    def conclude(self, pick: int, how: int, advance: float) -> None:
        """An open incident is concluded; its units report available."""
        number = self._pick_open(pick)
        if number is None:
            return
        self.now(advance)
        status = CONCLUSIONS[how % len(CONCLUSIONS)]
        self.commit(self._transition(number, status), self._free(self.incidents[number]))

    def archive(self) -> None:
        """The archivist archives the incident concluded first, with the calls it has.

        One retention period for all: incidents are archived in the order they concluded
        (a merged incident before the one it joined).
        """
        ready = [n for n in self.concluded if not self.incidents[n].archived]
        if not ready:
            return
        incident = self.incidents[ready[0]]
        incident.archived = True
        self.commit(
            self.log.archive(
                ready[0], incident.plate, incident.status, tuple(incident.calls), self.now(1)
            )
        )

    def push(self, pick: int, about_incident: bool) -> None:
        """A coordinator pushes to units (about an open incident, or not)."""
        message_id = f"msg-{len(self.pushes)}"
        number = self._pick_open(pick) if about_incident else None
        units = tuple(sorted(UNITS))[: 1 + pick % len(UNITS)]
        self.pushes.append((message_id, units))
        self.commit(
            self.log.add(
                UnitInfoSent(
                    occurred_at=self.now(1),
                    plate=None,
                    message_id=message_id,
                    unit_ids=tuple(UnitId(u) for u in units),
                    text="yol kapalı",
                    actor="coordinator",
                    incident_id=None if number is None else IncidentId(f"inc-{number}"),
                )
            )
        )

    def acknowledge(self, pick: int) -> None:
        """A unit acknowledges a push."""
        if not self.pushes:
            return
        message_id, units = self.pushes[pick % len(self.pushes)]
        self.commit(
            self.log.add(
                UnitInfoAcknowledged(
                    occurred_at=self.now(1),
                    message_id=message_id,
                    unit_id=UnitId(units[pick % len(units)]),
                )
            )
        )


def fleet() -> History:
    """A history where the fleet has registered."""
    history = History()
    history.commit(*(history.log.unit(unit_id, plate) for unit_id, plate in UNITS.items()))
    return history


_picks = st.integers(0, 50)
_advance = st.sampled_from((0.0, 3.0, 9.0, 40.0, 900.0, 3000.0))
_CALL = st.tuples(st.just("call"), st.sampled_from(PLATES), _advance, st.sampled_from(Priority))
_CONCLUDE = st.tuples(st.just("conclude"), _picks, _picks, _advance)
_ARCHIVE = st.tuples(st.just("archive"))
_STEPS = st.one_of(
    _CALL,
    _CALL,
    st.tuples(st.just("answer"), _picks, st.sampled_from((2.0, 8.0, 14.0, 25.0))),
    st.tuples(
        st.just("classify"),
        _picks,
        _picks,
        st.sampled_from(((Agency.FIRE,), (Agency.HEALTH, Agency.POLICE), ())),
    ),
    st.tuples(st.just("locate"), _picks, st.sampled_from(PLATES), st.integers(0, 9)),
    st.tuples(st.just("track"), _picks, st.integers(0, 9)),
    st.tuples(st.just("dispatch"), _picks, st.sampled_from((10.0, 50.0, 90.0))),
    st.tuples(st.just("merge"), _picks, _picks),
    st.tuples(st.just("merge"), _picks, _picks),
    _CONCLUDE,
    _CONCLUDE,
    _ARCHIVE,
    _ARCHIVE,
    st.tuples(st.just("push"), _picks, st.booleans()),
    st.tuples(st.just("acknowledge"), _picks),
)


@st.composite
def histories(draw: st.DrawFn, *, max_steps: int = 40) -> History:
    """A played history: a few calls, up to ``max_steps`` steps, then conclusions and archives."""
    history = fleet()
    steps = (
        draw(st.lists(_CALL, min_size=1, max_size=6))
        + draw(st.lists(_STEPS, min_size=1, max_size=max_steps))
        + draw(st.lists(st.one_of(_CONCLUDE, _ARCHIVE), max_size=8))
    )
    for name, *args in steps:
        getattr(history, name)(*args)
    return history
