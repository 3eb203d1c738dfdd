"""The live projection: counts, times against standards, units, clusters, tracks, scope."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.model.events import Event, event_type
from dispatch.model.ids import IncidentId
from dispatch.model.vocabulary import Agency, IncidentStatus, Priority, UnitStatus
from gamer_coordination.projections import (
    NATIONAL,
    Coordination,
    incident_key,
    province_key,
    unit_key,
)
from tests.gamer_coordination.events import T0, Log, seconds


def _fold(log: Log, projection: Coordination | None = None) -> Coordination:
    projection = projection or Coordination()
    projection.apply(log.records)
    return projection


def test_open_counts_by_dimension_per_province_and_nationally() -> None:
    """Open incidents are counted by status, priority, type and agency, per il and for Türkiye."""
    log = Log()
    log.call(1, 34)
    log.call(2, 34, priority=Priority.IMMEDIATE)
    log.call(3, 6)
    log.call(4, None)
    log.classify(2, 34, "fire.building", (Agency.FIRE, Agency.HEALTH))
    projection = _fold(log)
    istanbul = projection.view(province_key(34))
    assert istanbul is not None
    assert istanbul["open"] == 2
    assert istanbul["by_status"] == {"new": 1, "classified": 1}
    assert istanbul["by_priority"] == {"3": 1, "2": 1}
    assert istanbul["by_type"] == {"unclassified": 1, "fire.building": 1}
    assert istanbul["by_agency"] == {"fire": 1, "health": 1}
    national = projection.view(NATIONAL)
    assert national is not None
    assert national["open"] == 4
    assert national["calls"] == 4
    assert projection.view(province_key(6))["open"] == 1  # type: ignore[index]


def test_concluded_incidents_leave_the_counts_and_old_ones_the_map() -> None:
    """Closing removes an incident from the open counts; beyond the retention it is removed."""
    log = Log()
    for number in (1, 2, 3):
        log.call(number, 34)
        log.status(number, 34, IncidentStatus.NEW, IncidentStatus.CANCELLED)
    projection = Coordination(closed_retention=2)
    changed = projection.apply(log.records)
    assert projection.view(province_key(34))["open"] == 0  # type: ignore[index]
    assert projection.view(incident_key("inc-1")) is None
    assert incident_key("inc-1") in changed
    concluded = projection.view(incident_key("inc-3"))
    assert concluded is not None
    assert concluded["open"] is False
    assert concluded["concluded_at"] == T0.isoformat()


def test_answer_and_dispatch_times_against_the_standards() -> None:
    """Answer times meet NENA when 9 of 10 are within 15 s; dispatch times are checked at 60 s."""
    log = Log()
    log.unit("amb-1", 34)
    for number in range(10):
        log.call(number, 34)
        log.answer(number, 34, T0 + seconds(5 if number < 9 else 40))
    log.dispatch("amb-1", 0, 34, T0 + seconds(5 + 45))
    log.status(1, 34, IncidentStatus.NEW, IncidentStatus.DISPATCHED, at=T0 + seconds(5 + 90))
    istanbul = _fold(log).view(province_key(34))
    assert istanbul is not None
    answer = istanbul["answer"]
    assert answer["count"] == 10
    assert answer["p50_s"] == 5
    assert answer["p90_s"] == 5
    assert answer["p95_s"] == 40
    verdicts = {s["within_s"]: (s["share"], s["met"]) for s in answer["standards"]}
    assert verdicts == {15: (0.9, True), 20: (0.9, False), 10: (0.9, True)}
    dispatch = istanbul["dispatch"]
    assert dispatch["count"] == 2
    assert dispatch["standards"][0]["share"] == 0.5
    assert dispatch["standards"][0]["met"] is False


def test_units_by_status_follow_dispatch_and_reports() -> None:
    """Units are counted by status in their centre's province and follow each report."""
    log = Log()
    log.unit("amb-1", 34)
    log.unit("amb-2", 34)
    log.unit("amb-3", 6)
    log.call(1, 34)
    log.dispatch("amb-1", 1, 34, T0)
    log.unit_status("amb-2", 34, UnitStatus.OUT_OF_SERVICE)
    projection = _fold(log)
    assert projection.view(province_key(34))["units"] == {  # type: ignore[index]
        "dispatched": 1,
        "out_of_service": 1,
    }
    assert projection.view(NATIONAL)["units"] == {  # type: ignore[index]
        "dispatched": 1,
        "out_of_service": 1,
        "available": 1,
    }
    unit = projection.view(unit_key("amb-1"))
    assert unit is not None
    assert unit["incident_id"] == "inc-1"
    assert projection.plate_of(unit_key("amb-3")) == 6
    assert projection.view(incident_key("inc-1"))["units"] == ["amb-1"]  # type: ignore[index]


def test_a_merge_shows_the_duplicate_cluster() -> None:
    """After a merge the surviving incident lists every call's position (the cluster)."""
    log = Log()
    log.call(1, 34)
    log.call(2, 34)
    log.status(2, 34, IncidentStatus.NEW, IncidentStatus.MERGED, merged_into="inc-1")
    log.attach(2, 1, 34)
    projection = _fold(log)
    survivor = projection.view(incident_key("inc-1"))
    assert survivor is not None
    assert survivor["calls"] == 2
    assert len(survivor["call_positions"]) == 2
    merged = projection.view(incident_key("inc-2"))
    assert merged is not None
    assert merged["merged_into"] == "inc-1"
    assert projection.view(province_key(34))["open"] == 1  # type: ignore[index]


@event_type("test_vehicle_track")
@dataclass(frozen=True, slots=True, kw_only=True)
class _TrackEvent(Event):
    incident_id: IncidentId
    track: tuple[_Point, ...]


@dataclass(frozen=True, slots=True)
class _Point:
    lat: float
    lon: float


def test_tracks_of_other_packages_extend_the_incident() -> None:
    """An event with a ``track`` of lat/lon points (as eCall's) draws the incident's track."""
    log = Log()
    log.call(1, 34)
    log.add(
        _TrackEvent(
            occurred_at=T0,
            plate=34,
            incident_id=IncidentId("inc-1"),
            track=(_Point(41.0, 29.0), _Point(41.001, 29.001), _Point(41.002, 29.002)),
        )
    )
    incident = _fold(log).view(incident_key("inc-1"))
    assert incident is not None
    assert incident["track"] == [[41.0, 29.0], [41.001, 29.001], [41.002, 29.002]]


def test_views_carry_no_caller_data_and_know_their_province() -> None:
    """No caller words reach a dashboard view; each key names the province that scopes it."""
    log = Log()
    log.call(1, 34)
    log.call(2, None)
    projection = _fold(log)
    assert "secret" not in repr([projection.view(k) for k in projection.current_keys()])
    assert projection.plate_of(incident_key("inc-1")) == 34
    assert projection.plate_of(incident_key("inc-2")) is None
    assert projection.plate_of(province_key(34)) == 34
    assert projection.plate_of(NATIONAL) is None


def test_replaying_a_batch_twice_changes_nothing() -> None:
    """Records at or below the last folded sequence number are ignored (replay then live)."""
    log = Log()
    log.call(1, 34)
    projection = _fold(log)
    assert projection.apply(log.records) == set()
    assert projection.view(NATIONAL)["calls"] == 1  # type: ignore[index]
