"""Duplicates at start: the replay applies recorded proposals and ends where the live desk was.

A live :class:`DuplicateDesk` folds a generated stream of calls, operator actions and the
service's recording of due proposals; the stream is the log. A second desk replays the log
(``replay`` then ``finish_replay``) and must hold the same sites and proposals, without
searching again for any call the log shows was searched. The stream also reports people
trapped and archives concluded incidents with their calls, as the engine's archivist does.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.clustering import DuplicateCandidate, DuplicateFinder, NewCall
from dispatch.core.projections import Recorded
from dispatch.core.taxonomy import IncidentType
from dispatch.duplicates import DuplicateDesk, ProposalState
from dispatch.model.dispatch_events import (
    DuplicateProposed,
    DuplicateRejected,
    DuplicateSearchMarked,
    TrappedReported,
)
from dispatch.model.events import (
    Event,
    IncidentArchived,
    IncidentClassified,
    IncidentOpened,
    IncidentStatusChanged,
)
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.values import Location
from dispatch.model.vocabulary import Agency, Channel, IncidentStatus, Priority

T0 = datetime(2025, 2, 6, 1, 17, tzinfo=UTC)


def concluded(
    incident_id: IncidentId, status: IncidentStatus, into: IncidentId | None = None
) -> IncidentStatusChanged:
    """An operator ends a new incident: closed, cancelled, or merged ``into`` another."""
    return IncidentStatusChanged(
        occurred_at=T0,
        incident_id=incident_id,
        previous=IncidentStatus.NEW,
        status=status,
        actor="ct",
        merged_into=into,
    )


def rejected(call_id: str, incident_id: str, candidate: str) -> DuplicateRejected:
    """The dispatcher keeps the call's incident as one of its own."""
    return DuplicateRejected(
        occurred_at=T0,
        call_id=CallId(call_id),
        incident_id=IncidentId(incident_id),
        candidate=IncidentId(candidate),
        actor="ct",
    )


M_PER_DEG = 6_371_008.8 * math.pi / 180.0
BUILDINGS = [(41.0201 + 300 * b / M_PER_DEG, 40.5234) for b in range(4)]


class CountingFinder(DuplicateFinder):
    """A finder that counts its searches."""

    def __init__(self) -> None:
        super().__init__()
        self.searches = 0

    def propose(self, call: NewCall) -> DuplicateCandidate | None:
        self.searches += 1
        return super().propose(call)


@dataclass
class Centre:
    """The live side: a desk, its log, and the service's recording of due proposals."""

    desk: DuplicateDesk = field(default_factory=lambda: DuplicateDesk(mark_every=12))
    log: list[tuple[int, Event]] = field(default_factory=list)
    opened: int = 0
    owners: dict[CallId, IncidentId] = field(default_factory=dict)
    """Each call not archived yet, and the incident it belongs to now (after merges)."""
    concluded: dict[IncidentId, IncidentStatus] = field(default_factory=dict)
    """Incidents in a final status, not archived yet."""
    archived: set[IncidentId] = field(default_factory=set)
    archived_calls: set[CallId] = field(default_factory=set)

    def commit(self, event: Event) -> None:
        seq = len(self.log) + 1
        self.log.append((seq, event))
        self.desk.apply(event, seq)

    def tick(self) -> None:
        """What ``DuplicatesService.tick`` commits: every due proposal, else a due mark."""
        mark = self.desk.folded_through
        due = self.desk.due()
        for proposal in due:
            self.commit(proposal.event(T0, mark))
        if not due and self.desk.mark_due():
            self.commit(DuplicateSearchMarked(occurred_at=T0, searched_through=mark))

    def open_call(self, building: int, north_m: float, radius_m: float) -> None:
        self.opened += 1
        self.owners[CallId(f"call-{self.opened}")] = IncidentId(f"inc-{self.opened}")
        lat, lon = BUILDINGS[building]
        self.commit(
            IncidentOpened(
                occurred_at=T0 + timedelta(seconds=self.opened),
                incident_id=IncidentId(f"inc-{self.opened}"),
                call_id=CallId(f"call-{self.opened}"),
                channel=Channel.PHONE,
                centre="53",  # type: ignore[arg-type]
                location=Location(lat=lat + north_m / M_PER_DEG, lon=lon, radius_m=radius_m),
                suggested_type=IncidentType.EARTHQUAKE_COLLAPSE.value,
            )
        )

    def open_incidents(self) -> list[IncidentId]:
        return [IncidentId(i.incident_id) for i in self.desk.finder.incidents()]

    def close(self, incident_id: IncidentId, status: IncidentStatus, into: str | None) -> None:
        self.concluded[incident_id] = status
        if into is not None:
            for call_id, owner in self.owners.items():
                if owner == incident_id:
                    self.owners[call_id] = IncidentId(into)
        self.commit(concluded(incident_id, status, IncidentId(into) if into else None))

    def archive(self, incident_id: IncidentId) -> None:
        """The archivist: a concluded incident leaves with the calls that belong to it."""
        calls = tuple(c for c, owner in self.owners.items() if owner == incident_id)
        for call_id in calls:
            del self.owners[call_id]
        self.archived.add(incident_id)
        self.archived_calls.update(calls)
        self.commit(
            IncidentArchived(
                occurred_at=T0,
                incident_id=incident_id,
                status=self.concluded.pop(incident_id),
                calls=calls,
            )
        )

    def report_trapped(self, call_id: CallId, count: int) -> None:
        self.commit(
            TrappedReported(
                occurred_at=T0 + timedelta(seconds=len(self.log)),
                incident_id=self.owners[call_id],
                call_id=call_id,
                count=count,
                actor="ct",
            )
        )


def _state(desk: DuplicateDesk) -> tuple[dict[str, tuple[str, str]], dict[str, Any], list[Any]]:
    proposals = {str(i): (str(p.candidate), p.state.value) for i, p in desk.proposals.items()}
    sites = {
        s.incident_id: (round(s.lat, 9), round(s.lon, 9), round(s.radius_m, 6), s.calls)
        for s in desk.finder.incidents()
    }
    reports = sorted((r.incident_id, r.call_id, r.trapped, r.at) for r in desk.reports)
    return proposals, sites, reports


def _latest(log: list[tuple[int, Event]]) -> list[Recorded | None]:
    """What ``EventLog.last_of_type`` answers for proposals and for marks."""
    latest: list[Recorded | None] = []
    for kind in (DuplicateProposed, DuplicateSearchMarked):
        found = [Recorded(seq, e) for seq, e in log if isinstance(e, kind)]
        latest.append(found[-1] if found else None)
    return latest


def _replayed(log: list[tuple[int, Event]]) -> tuple[DuplicateDesk, CountingFinder, bool]:
    finder = CountingFinder()
    desk = DuplicateDesk(finder)
    desk.begin_replay(*_latest(log))
    for seq, event in log:
        desk.replay(event, seq)
    due = desk.finish_replay()
    return desk, finder, due


def _unmarked(log: list[tuple[int, Event]]) -> int:
    """Calls the log cannot show were searched: those after the newest mark."""
    marks = [0]
    for seq, event in log:
        if isinstance(event, DuplicateProposed):
            marks.append(event.searched_through or seq)
        elif isinstance(event, DuplicateSearchMarked):
            marks.append(event.searched_through)
    return sum(1 for seq, e in log if isinstance(e, IncidentOpened) and seq > max(marks))


CALL = st.tuples(
    st.just("call"), st.integers(0, len(BUILDINGS) - 1), st.floats(-30, 30), st.floats(5, 60)
)
OPERATIONS = st.lists(
    st.one_of(
        CALL,
        CALL,  # twice as likely: histories with sites enough for the other operations
        st.tuples(st.just("tick")),
        st.tuples(st.just("close"), st.integers(0, 50)),
        st.tuples(st.just("merge"), st.integers(0, 50)),
        st.tuples(st.just("reject"), st.integers(0, 50)),
        st.tuples(st.just("classify"), st.integers(0, 50)),
        st.tuples(st.just("trapped"), st.integers(0, 50), st.integers(0, 9)),
        st.tuples(st.just("archive"), st.integers(0, 50)),
    ),
    min_size=12,
    max_size=60,
)


def _run(operations: list[tuple[Any, ...]]) -> Centre:
    centre = Centre()
    for operation in operations:
        kind = operation[0]
        if kind == "call":
            _, building, north, radius = operation
            centre.open_call(int(building), float(north), float(radius))
            continue
        if kind == "tick":
            centre.tick()
            continue
        pick = int(operation[1])
        if kind == "trapped":
            calls = list(centre.owners)
            if calls:
                centre.report_trapped(calls[pick % len(calls)], int(operation[2]))
            continue
        if kind == "close":  # may come before the call's proposal is recorded
            sites = centre.open_incidents()
            if sites:
                centre.close(sites[pick % len(sites)], IncidentStatus.CLOSED, None)
            continue
        centre.tick()  # a dispatcher (or the archivist, long after) acts on what is recorded
        if kind == "archive":
            concluded = list(centre.concluded)
            if concluded:
                centre.archive(concluded[pick % len(concluded)])
            continue
        proposed = [
            p
            for p in centre.desk.proposals.values()
            if p.state is ProposalState.PROPOSED and p.candidate not in centre.archived
        ]
        if kind == "merge" and proposed:
            proposal = proposed[pick % len(proposed)]
            centre.close(proposal.incident_id, IncidentStatus.MERGED, proposal.candidate)
        elif kind == "reject" and proposed:
            proposal = proposed[pick % len(proposed)]
            centre.commit(rejected(proposal.call_id, proposal.incident_id, proposal.candidate))
        elif kind == "classify":
            sites = centre.open_incidents()
            if sites:
                centre.commit(
                    IncidentClassified(
                        occurred_at=T0,
                        incident_id=sites[pick % len(sites)],
                        incident_type=IncidentType.FIRE_BUILDING.value,
                        priority=Priority.IMMEDIATE,
                        agencies=(Agency.FIRE,),
                        actor="ct",
                    )
                )
    return centre


@given(OPERATIONS)
def test_replay_rebuilds_the_live_desk_without_searching_recorded_calls(
    operations: list[tuple[Any, ...]],
) -> None:
    """Same sites and proposals as the live desk; searches only what the log cannot show."""
    centre = _run(operations)
    centre.tick()  # everything recorded: nothing is left to search at start
    desk, finder, due = _replayed(centre.log)
    assert _state(desk) == _state(centre.desk)
    assert finder.searches == _unmarked(centre.log)
    assert due is False
    assert desk.folded_through == centre.desk.folded_through


@given(OPERATIONS, st.integers(1, 6))
def test_calls_whose_proposal_was_never_recorded_are_searched_at_the_end(
    operations: list[tuple[Any, ...]], tail: int
) -> None:
    """The engine stopped after committing the last calls but before recording proposals."""
    centre = _run(operations)
    centre.tick()
    for number in range(tail):
        centre.open_call(number % len(BUILDINGS), 2.0 * number, 20.0)
    desk, finder, due = _replayed(centre.log)
    assert _state(desk) == _state(centre.desk)
    assert finder.searches == _unmarked(centre.log) >= tail, "only the unrecorded tail"
    assert due == bool(centre.desk.due())
    assert [(p.incident_id, p.candidate) for p in desk.due()] == [
        (p.incident_id, p.candidate) for p in centre.desk.due()
    ]


@given(OPERATIONS)
def test_a_log_written_before_the_mark_existed_is_searched_as_before(
    operations: list[tuple[Any, ...]],
) -> None:
    """Without ``searched_through`` the newest proposal's own place is the mark."""
    centre = _run(operations)
    centre.tick()
    old_log: list[tuple[int, Event]] = [
        (seq, dataclasses.replace(e, searched_through=None))
        if isinstance(e, DuplicateProposed)
        else (seq, e)
        for seq, e in centre.log
    ]
    desk, _, due = _replayed(old_log)
    assert _state(desk) == _state(centre.desk)
    assert due is False


@pytest.mark.parametrize("status", [IncidentStatus.CLOSED, IncidentStatus.MERGED])
def test_a_call_closed_before_its_proposal_was_recorded(status: IncidentStatus) -> None:
    """The proposal follows the close (or the merge into its candidate) in the log."""
    centre = Centre()
    centre.open_call(0, 0.0, 20.0)
    centre.open_call(0, 5.0, 20.0)  # a duplicate of inc-1, its proposal due
    mark = centre.desk.folded_through
    in_flight = [p.event(T0, mark) for p in centre.desk.due()]  # a tick's append, in flight
    into = "inc-1" if status is IncidentStatus.MERGED else None
    centre.close(IncidentId("inc-2"), status, into)  # commits first
    for event in in_flight:
        centre.commit(event)
    assert centre.desk.proposals[IncidentId("inc-2")].state.value == status.value
    desk, finder, _ = _replayed(centre.log)
    assert _state(desk) == _state(centre.desk)
    assert finder.searches == 0, "inc-1 is before the mark, inc-2 was proposed"


def test_where_duplicates_are_rare_a_mark_keeps_the_replay_from_searching() -> None:
    """Forty calls, none a duplicate: marks are recorded, and the replay searches only the tail."""
    centre = Centre(desk=DuplicateDesk(mark_every=10))
    for number in range(40):
        centre.open_call(0, 5000.0 * number, 20.0)  # 5 km apart: no two are one incident
        centre.tick()
    marks = [e for _, e in centre.log if isinstance(e, DuplicateSearchMarked)]
    assert centre.desk.proposals == {}
    assert len(marks) >= 3
    desk, finder, _ = _replayed(centre.log)
    assert _state(desk) == _state(centre.desk)
    assert finder.searches == _unmarked(centre.log) < 10
