"""The duplicate desk's quicker bookkeeping gives what the plain one gave.

- ``open_proposals`` is kept as the proposals waiting for a decision change state; the
  reference is the scan over every proposal it replaced, checked after every committed event
  of generated histories (calls, operator actions, recorded proposals, archives), after a
  snapshot's restore and after a start-up replay.
- ``apply`` passes events it does not fold at a dictionary lookup; a subclass of an event it
  folds is folded.
- A whole desk fed a national surge with operator actions records the same events and ends in
  the same state as a desk whose finder judges every open incident by the rule.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.core.clustering import DuplicateCandidate, DuplicateFinder, NewCall
from dispatch.duplicates import DuplicateDesk, Proposal, ProposalState
from dispatch.model.dispatch_events import DuplicateSearchMarked
from dispatch.model.events import (
    CallReceived,
    Event,
    IncidentOpened,
)
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.values import Location
from dispatch.model.vocabulary import Channel, IncidentStatus
from tests.dispatch import test_duplicates_replay
from tests.dispatch.test_clustering_fast import PATHS, path
from tests.dispatch.test_clustering_index import brute_force
from tests.dispatch.test_duplicates_replay import (
    OPERATIONS,
    T0,
    Centre,
    _latest,
    _run,
    _state,
    concluded,
    rejected,
)

M_PER_DEG = 6_371_008.8 * math.pi / 180.0
CITIES = [(41.01, 28.97), (39.93, 32.86), (38.42, 27.14), (37.58, 36.93)]


def waiting(desk: DuplicateDesk) -> list[Proposal]:
    """The reference: every proposal scanned for those waiting for a decision."""
    return [
        p for p in desk.proposals.values() if p.state in {ProposalState.DUE, ProposalState.PROPOSED}
    ]


@dataclass
class CheckedCentre(Centre):
    """A centre whose desk's open proposals are checked after every committed event."""

    checks: int = 0

    def commit(self, event: Event) -> None:
        super().commit(event)
        assert self.desk.open_proposals() == waiting(self.desk)
        assert self.desk.open_proposal_count() == len(waiting(self.desk))
        self.checks += 1


@given(OPERATIONS)
def test_open_proposals_follow_every_event(operations: list[tuple[Any, ...]]) -> None:
    """After each event of a generated history; after a restore; after a replay."""
    with mock.patch.object(test_duplicates_replay, "Centre", CheckedCentre):
        centre = _run(operations)
    assert isinstance(centre, CheckedCentre)
    assert centre.checks == len(centre.log)
    restored = DuplicateDesk()
    restored.restore(centre.desk.snapshot())
    assert restored.open_proposals() == waiting(restored)
    assert [p.incident_id for p in restored.open_proposals()] == [
        p.incident_id for p in centre.desk.open_proposals()
    ]
    replayed = DuplicateDesk()
    replayed.begin_replay(*_latest(centre.log))
    for seq, event in centre.log:
        replayed.replay(event, seq)
        assert replayed.open_proposals() == waiting(replayed)
    replayed.finish_replay()
    assert replayed.open_proposals() == waiting(replayed)


def _opened(
    number: int, where: Location | None, kind: str | None = "medical.chest_pain"
) -> IncidentOpened:
    """The incident the ``number``-th call opened."""
    return IncidentOpened(
        occurred_at=T0 + timedelta(seconds=number),
        incident_id=IncidentId(f"inc-{number}"),
        call_id=CallId(f"call-{number}"),
        channel=Channel.PHONE,
        centre="34",  # type: ignore[arg-type]
        location=where,
        suggested_type=kind,
    )


def _at(lat: float, lon: float, radius_m: float = 15.0) -> Location:
    return Location(lat=lat, lon=lon, radius_m=radius_m)


def test_a_proposal_waiting_again_where_a_decided_one_was_keeps_its_place() -> None:
    """An incident opened again (its id reused in a log) after its proposal was rejected:
    the new proposal waits in the old one's place in ``proposals``, as the scan lists it."""
    desk = DuplicateDesk()
    desk.apply(_opened(1, _at(41.0, 29.0)))
    desk.apply(_opened(2, _at(41.0, 29.0)))  # proposed: a duplicate of inc-1
    desk.apply(_opened(3, _at(41.0, 29.1)))
    desk.apply(_opened(4, _at(41.0, 29.1)))  # proposed: a duplicate of inc-3
    desk.apply(rejected("call-2", "inc-2", "inc-1"))
    assert [p.incident_id for p in desk.open_proposals()] == ["inc-4"]
    desk.finder.close("inc-2")
    desk.apply(_opened(2, _at(41.0, 29.0)))  # the same incident id again: proposed once more
    assert [p.incident_id for p in desk.open_proposals()] == ["inc-2", "inc-4"]
    assert desk.open_proposals() == waiting(desk)


class Opened(IncidentOpened):
    """A subclass of an event the desk folds (none exists in ng112; a test of the rule)."""


def test_events_the_desk_does_not_fold_pass_and_subclasses_are_folded() -> None:
    desk = DuplicateDesk()
    received = CallReceived(
        occurred_at=T0,
        call_id=CallId("call-1"),
        incident_id=IncidentId("inc-1"),
        channel=Channel.PHONE,
        centre="34",  # type: ignore[arg-type]
    )
    assert desk.apply(received, 7) is False
    assert (desk.folded_through, len(desk.finder), desk.proposals) == (7, 0, {})
    opened = _opened(1, _at(41.0, 29.0))
    desk.apply(Opened(**{f.name: getattr(opened, f.name) for f in fields(opened) if f.init}), 8)
    assert desk.folded_through == 8
    assert "inc-1" in desk.finder
    assert desk.apply(_opened(2, _at(41.0, 29.0)), 9) is True


class RuleFinder(DuplicateFinder):
    """The reference finder: every open incident judged by the rule."""

    def candidates(self, call: NewCall, limit: int = 3) -> list[DuplicateCandidate]:
        return brute_force(self, call, limit)


@dataclass
class Surge:
    """A live desk fed a national surge: calls, the service's ticks, operators' decisions."""

    desk: DuplicateDesk
    log: list[tuple[int, Event]] = field(default_factory=list)

    def commit(self, event: Event) -> bool:
        self.log.append((len(self.log) + 1, event))
        return self.desk.apply(event, len(self.log))

    def conclude(
        self, incident_id: IncidentId, status: IncidentStatus, merged_into: IncidentId | None = None
    ) -> None:
        """An operator ends a new incident: closed, or merged into another."""
        self.commit(concluded(incident_id, status, merged_into))

    def tick(self, mark: int) -> None:
        due = self.desk.due()
        for proposal in due:
            self.commit(proposal.event(T0, mark))
        if not due and self.desk.mark_due():
            self.commit(DuplicateSearchMarked(occurred_at=T0, searched_through=mark))


def surge(desk: DuplicateDesk, seed: int, calls: int) -> Surge:
    """Calls near cities (dense spots and wide spread, precise and vague positions, types of
    every kind, some with no position); every few calls a tick; operators merge, reject and
    close what they see."""
    rng = random.Random(seed)
    run = Surge(desk)
    spots = [
        (lat + rng.gauss(0.0, 0.05), lon + rng.gauss(0.0, 0.05))
        for lat, lon in CITIES
        for _ in range(3)
    ]
    kinds = [None, "medical.chest_pain", "traffic.collision", "security.violence", "fire.building"]
    kinds += ["information.request", "forest.fire", "unknown", "disaster.earthquake_collapse"]
    for number in range(1, calls + 1):
        spot = rng.choice(spots)
        spread = rng.choice([30.0, 300.0, 3_000.0, 30_000.0])
        radius = rng.choice([8.0, 25.0, 60.0, 150.0, 900.0, 3_000.0])
        lat = spot[0] + rng.gauss(0.0, spread) / M_PER_DEG
        lon = spot[1] + rng.gauss(0.0, spread) / M_PER_DEG / math.cos(math.radians(spot[0]))
        run.commit(
            CallReceived(
                occurred_at=T0 + timedelta(seconds=number),
                call_id=CallId(f"call-{number}"),
                incident_id=IncidentId(f"inc-{number}"),
                channel=Channel.PHONE,
                centre="34",  # type: ignore[arg-type]
            )
        )
        where = None if rng.random() < 0.05 else _at(lat, lon, radius)
        run.commit(_opened(number, where, rng.choice(kinds)))
        if number % 7 == 0:
            run.tick(len(run.log))
        if number % 11 == 0:
            decide(run, rng)
    return run


def decide(run: Surge, rng: random.Random) -> None:
    """An operator merges or rejects a recorded proposal, or closes an open incident."""
    desk = run.desk
    proposed = [p for p in desk.proposals.values() if p.state is ProposalState.PROPOSED]
    action = rng.random()
    if proposed and action < 0.4:
        proposal = rng.choice(proposed)
        if proposal.candidate in desk.finder:
            run.conclude(proposal.incident_id, IncidentStatus.MERGED, proposal.candidate)
    elif proposed and action < 0.7:
        proposal = rng.choice(proposed)
        run.commit(rejected(proposal.call_id, proposal.incident_id, proposal.candidate))
    else:
        sites = [IncidentId(i.incident_id) for i in desk.finder.incidents()]
        if sites:
            run.conclude(rng.choice(sites), IncidentStatus.CLOSED)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    calls=st.integers(20, 400),
    way=st.sampled_from(sorted(PATHS)),
)
def test_a_surge_records_what_judging_every_open_incident_records(
    seed: int, calls: int, way: str
) -> None:
    """The same events (proposals with their numbers, marks), in the same order; the same
    sites, proposals and open proposals at the end; whichever path the finder's queries take."""
    with path(way):
        fast = surge(DuplicateDesk(mark_every=50), seed, calls)
    rule = surge(DuplicateDesk(RuleFinder(), mark_every=50), seed, calls)
    assert fast.log == rule.log
    assert _state(fast.desk) == _state(rule.desk)
    assert [(p.incident_id, p.state) for p in fast.desk.open_proposals()] == [
        (p.incident_id, p.state) for p in rule.desk.open_proposals()
    ]
    assert fast.desk.open_proposals() == waiting(fast.desk)
