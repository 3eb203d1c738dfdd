"""Archived incidents leave GAMER's folds; situation reports still count them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.model.events import (
    CallLocated,
    IncidentArchived,
    IncidentStatusChanged,
    UnitDispatched,
)
from dispatch.model.ids import CallId, IncidentId, UnitId
from dispatch.model.values import Location
from dispatch.model.vocabulary import IncidentStatus, Priority
from gamer_coordination.adapters.ws import DashboardHub
from gamer_coordination.periods import hour_of, hour_start
from gamer_coordination.projections import Coordination, incident_key
from gamer_coordination.push import PushLedger
from gamer_coordination.sitrep import SituationReport, report_of
from tests.gamer_coordination.events import T0, Log, seconds
from tests.gamer_coordination.histories import (
    PLATES,
    History,
    TrackReported,
    fleet,
    histories,
)

START = hour_start(hour_of(T0))
END = START + timedelta(days=3)


def _fold(
    history: History | Log, *, retention: int = 10_000, archives: bool = True
) -> DashboardHub:
    hub = DashboardHub(Coordination(closed_retention=retention))
    batches = history.batches if isinstance(history, History) else [history.records]
    for batch in batches:
        kept = [r for r in batch if archives or not isinstance(r.event, IncidentArchived)]
        hub.on_records(kept)
    return hub


def _report(projection: Coordination, plate: int | None) -> SituationReport:
    return report_of(projection, plate=plate, start=START, end=END, generated_at=T0)


def _hub_keys(hub: DashboardHub) -> set[str]:
    """Every key the hub indexes (tombstones aside: they are bounded by count)."""
    keys = set(hub._fragments) | set(hub._versions) | set(hub._plates)
    for scoped in hub._plate_keys.values():
        keys |= set(scoped)
    return keys


def test_archiving_forgets_the_incident_and_its_calls_but_reports_count_them() -> None:
    """The projection holds as before the incident; the day's report still counts it."""
    log = Log()
    log.call(1, 34, T0)
    log.answer(1, 34, T0 + seconds(6))
    before = _fold(log).projection.held
    log.call(2, 34, T0 + seconds(60))
    log.answer(2, 34, T0 + seconds(70))
    log.status(2, 34, IncidentStatus.NEW, IncidentStatus.CLOSED, at=T0 + seconds(900))
    log.archive(2, 34, IncidentStatus.CLOSED, (2,), T0 + seconds(5000))
    hub = _fold(log)
    projection = hub.projection
    assert projection.held == before
    assert projection.view(incident_key("inc-2")) is None
    assert incident_key("inc-2") not in set(projection.current_keys())
    assert incident_key("inc-2") not in _hub_keys(hub)
    report = _report(projection, 34)
    assert report.incidents == 2
    assert report.calls == 2
    assert report.answer["count"] == 2
    assert report.by_status == {"new": 1, "closed": 1}
    assert [b.incident_id for b in report.busiest] == ["inc-2", "inc-1"]  # more events


def test_events_about_an_archived_incident_are_ignored() -> None:
    """A log may still mention an archived incident or call: nothing comes back, no error."""
    log = Log()
    log.unit("amb-1", 34)
    log.call(1, 34)
    log.status(1, 34, IncidentStatus.NEW, IncidentStatus.CANCELLED)
    log.archive(1, 34, IncidentStatus.CANCELLED, (1,))
    hub = _fold(log)
    held = hub.projection.held
    report = _report(hub.projection, None)
    here = Location(lat=41.0, lon=29.0, radius_m=10.0)
    late = [
        *log.answer(1, 34, T0 + seconds(5)),
        *log.add(
            IncidentStatusChanged(
                occurred_at=T0,
                plate=34,
                incident_id=IncidentId("inc-1"),
                previous=IncidentStatus.CANCELLED,
                status=IncidentStatus.CLOSED,
                actor="op",
            ),
            CallLocated(
                occurred_at=T0, plate=34, call_id=CallId("call-1"), evidence=here, best=here
            ),
            TrackReported(occurred_at=T0, plate=34, incident_id=IncidentId("inc-1"), track=()),
            UnitDispatched(
                occurred_at=T0,
                plate=34,
                unit_id=UnitId("amb-1"),
                incident_id=IncidentId("inc-1"),
                actor="d",
            ),
        ),
    ]
    changed = hub.projection.apply(late)
    assert incident_key("inc-1") not in changed
    assert hub.projection.held == held
    assert hub.projection.view(incident_key("inc-1")) is None
    assert replace(_report(hub.projection, None), answer={}) == replace(report, answer={})


def test_the_archive_takes_the_calls_the_projection_still_kept() -> None:
    """A merged incident's calls outlive it (they move on); the archive's list drops them."""
    log = Log()
    log.call(1, 34)
    log.call(2, 34)
    log.status(2, 34, IncidentStatus.NEW, IncidentStatus.MERGED, merged_into="inc-1")
    projection = _fold(log, retention=0).projection
    assert projection.held == (1, 2)  # inc-2 left the map, its call waits to join inc-1
    projection.apply(log.archive(2, 34, IncidentStatus.MERGED, (2,)))
    assert projection.held == (1, 1)


def _views(projection: Coordination) -> dict[str, Any]:
    return {key: projection.view(key) for key in projection.current_keys()}


@settings(max_examples=150, deadline=None)
@given(histories())
def test_archiving_removes_exactly_the_archived_incidents(history: History) -> None:
    """Every other key's value is what it is without the archive events; archived are gone."""
    archived = history.archived
    with_archives = _fold(history).projection
    without = _fold(history, archives=False).projection
    gone = {incident_key(i) for i in archived}
    assert _views(with_archives) == {k: v for k, v in _views(without).items() if k not in gone}
    calls = {c for found in archived.values() for c in found}
    assert with_archives.held == (
        without.held[0] - len(archived),
        without.held[1] - len(calls),
    )


@settings(max_examples=150, deadline=None)
@given(histories(), st.sampled_from((0, 1, 3)))
def test_no_archived_id_remains_in_the_projection_or_the_hub(
    history: History, retention: int
) -> None:
    """Whatever the map's retention, nothing is kept per archived incident or call."""
    hub = _fold(history, retention=retention)
    projection = hub.projection
    archived = history.archived
    calls = {c for found in archived.values() for c in found}
    for incident_id in archived:
        assert projection.view(incident_key(incident_id)) is None
    assert not {incident_key(i) for i in archived} & _hub_keys(hub)
    assert _hub_keys(hub) == set(projection.current_keys())
    state = projection._saved()
    assert not set(archived) & set(state.incidents)
    assert not set(archived) & set(state.concluded)
    assert not calls & set(state.calls)
    assert not any(call.incident_id in archived for call in state.calls.values())
    assert not any(calls & set(i.calls) for i in state.incidents.values())
    assert not any(u.incident_id in archived for u in state.units.values())


def _comparable(report: SituationReport) -> SituationReport:
    """A report but for its map dots (of incidents no longer held, only the busiest)."""
    return replace(report, points=())


@settings(max_examples=150, deadline=None)
@given(histories(), st.sampled_from((0, 1, 3, 10_000)))
def test_reports_count_the_same_whatever_the_projection_still_holds(
    history: History, retention: int
) -> None:
    """Over whole hours, a report is the same with archives and any retention as without."""
    held = _fold(history, archives=False).projection
    pruned = _fold(history, retention=retention).projection
    for plate in (None, *PLATES):
        full, counted = _report(held, plate), _report(pruned, plate)
        assert _comparable(counted) == _comparable(full)
        assert set(counted.points) <= set(full.points)


def test_pushes_about_an_archived_incident_are_forgotten() -> None:
    """Its pushes are no longer known nor republished; other pushes stay."""
    history = fleet()
    history.call(34, 0.0, Priority.PROMPT)
    history.push(0, about_incident=True)
    history.push(0, about_incident=False)
    history.conclude(0, 0, 60.0)
    ledger = PushLedger()
    for batch in history.batches:
        ledger.apply(batch)
    assert [p.sent.message_id for p in ledger.unacknowledged()] == ["msg-0", "msg-1"]
    history.archive()
    ledger.apply(history.batches[-1])
    assert list(ledger.messages) == ["msg-1"]
    assert [p.sent.message_id for p in ledger.unacknowledged()] == ["msg-1"]
    assert ledger.decide_ack("amb-34", "msg-0", T0) is None
