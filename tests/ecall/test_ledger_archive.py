"""The eCall ledger forgets archived incidents and comes back from a snapshot.

Histories are generated: cases opened for a few vehicles, updated, handed off, test calls,
and archives (an archived incident may still get late events, which must be ignored). The
reference for archiving is a fold of the same history without the archived incidents.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.projections import Recorded
from dispatch.model.centres import CENTRAL_DESK
from dispatch.model.events import Event, IncidentArchived
from dispatch.model.ids import CallId, CentreId, IncidentId
from dispatch.model.vocabulary import IncidentStatus
from ecall.events import (
    EcallCaseOpened,
    EcallHandedOff,
    EcallMsdUpdated,
    EcallTestCallLogged,
    TrackPoint,
)
from ecall.service import EcallLedger

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
VINS = ("WVWZZZ1JZ3W386752", "VF1RFB00X61234567", "WBA3A5C51CF256985")

Op = tuple[str, int, int]
ops = st.lists(
    st.tuples(
        st.sampled_from(["open", "open", "update", "handoff", "test", "archive"]),
        st.integers(0, len(VINS) - 1),
        st.integers(0, 5),
    ),
    max_size=40,
)


@dataclass
class History:
    """A generated log and what it archived."""

    records: list[Recorded]
    archived: set[IncidentId]
    last_of_vin: dict[str, IncidentId]


def _track(k: int) -> tuple[TrackPoint, ...]:
    return (TrackPoint(lat=39.0 + k / 100, lon=32.0, source="current", message_identifier=k),)


def history(steps: list[Op]) -> History:
    """Turn generated steps into events: an incident opens once; archived ones stay archived
    (late updates and hand-offs about them still come)."""
    events: list[Event] = []
    opened: dict[IncidentId, str] = {}
    archived: set[IncidentId] = set()
    last_of_vin: dict[str, IncidentId] = {}
    for n, (kind, v, k) in enumerate(steps):
        at = T0 + timedelta(seconds=n)
        incident, call, vin = IncidentId(f"inc-{k}"), CallId(f"call-{k}"), VINS[v]
        if kind == "open" and incident not in opened:
            opened[incident] = vin
            last_of_vin[vin] = incident
            events.append(
                EcallCaseOpened(
                    occurred_at=at,
                    incident_id=incident,
                    call_id=call,
                    vin=vin,
                    message_identifier=n,
                    msd_version=3,
                    automatic_activation=True,
                    position_can_be_trusted=bool(n % 2),
                    vehicle_type="passengerVehicleClassM1",
                    propulsion=(),
                    hazards=(),
                    occupants=None,
                    direction_deg=None,
                    vehicle_time=None,
                    track=_track(n),
                    priority=1,
                    agencies=(),
                )
            )
        elif kind == "update":
            events.append(
                EcallMsdUpdated(
                    occurred_at=at,
                    incident_id=incident,
                    call_id=call,
                    vin=opened.get(incident, vin),
                    message_identifier=n,
                    automatic_activation=False,
                    position_can_be_trusted=True,
                    hazards=("hydrogenStorage",) if n % 3 == 0 else (),
                    occupants=2,
                    direction_deg=None,
                    vehicle_time=None,
                    track=_track(n),
                )
            )
        elif kind == "handoff":
            events.append(
                EcallHandedOff(
                    occurred_at=at,
                    plate=6,
                    incident_id=incident,
                    call_id=call,
                    from_centre=CENTRAL_DESK,
                    to_centre=CentreId(f"{6 + n:02d}"),
                )
            )
        elif kind == "test":
            events.append(
                EcallTestCallLogged(
                    occurred_at=at,
                    call_id=CallId(f"test-{n}"),
                    vin=vin,
                    message_identifier=n,
                    automatic_activation=False,
                    centre=CENTRAL_DESK,
                )
            )
        elif kind == "archive" and incident in opened and incident not in archived:
            archived.add(incident)
            events.append(
                IncidentArchived(
                    occurred_at=at,
                    incident_id=incident,
                    status=IncidentStatus.CLOSED,
                    calls=(call,),
                )
            )
    records = [Recorded(seq, event) for seq, event in enumerate(events, start=1)]
    return History(records=records, archived=archived, last_of_vin=last_of_vin)


def folded(records: list[Recorded]) -> EcallLedger:
    ledger = EcallLedger()
    ledger.apply(records)
    return ledger


def _about(record: Recorded) -> IncidentId | None:
    incident = getattr(record.event, "incident_id", None)
    return IncidentId(incident) if isinstance(incident, str) else None


@given(ops)
def test_archiving_leaves_the_ledger_of_a_log_without_the_archived_incidents(
    steps: list[Op],
) -> None:
    """Cases of archived incidents are gone from both indexes; every other case is what a log
    without the archived incidents gives, and a VIN points at its latest case unless that
    one was archived."""
    made = history(steps)
    ledger = folded(made.records)
    reference = folded([r for r in made.records if _about(r) not in made.archived])
    assert ledger.by_incident == reference.by_incident
    assert not made.archived & set(ledger.by_incident)
    assert {case.incident_id for case in ledger.by_vin.values()}.isdisjoint(made.archived)
    expected_vins = {
        vin: reference.by_incident[incident]
        for vin, incident in made.last_of_vin.items()
        if incident not in made.archived
    }
    assert ledger.by_vin == expected_vins
    assert ledger.test_calls == reference.test_calls


def _observed(ledger: EcallLedger) -> tuple[object, ...]:
    shared = all(ledger.by_incident.get(c.incident_id) is c for c in ledger.by_vin.values())
    return ledger.by_incident, ledger.by_vin, ledger.test_calls, shared


@given(ops, st.integers(0, 40))
def test_a_restored_snapshot_folds_on_like_the_original(steps: list[Op], cut: int) -> None:
    """Fold a prefix, snapshot it through pickle into a fresh ledger, fold the rest into both:
    they are the same (also when the prefix archived incidents)."""
    records = history(steps).records
    before, after = records[:cut], records[cut:]
    original = folded(before)
    restored = EcallLedger()
    restored.restore(pickle.loads(pickle.dumps(original.snapshot())))  # noqa: S301 - our own
    assert _observed(restored) == _observed(original)
    original.apply(after)
    restored.apply(after)
    assert _observed(restored) == _observed(original)


def test_a_snapshot_does_not_follow_the_live_ledger() -> None:
    """A snapshot is a copy: events folded after it do not change it."""
    made = history([("open", 0, 1)])
    ledger = folded(made.records)
    saved = ledger.snapshot()
    ledger.apply(history([("open", 0, 1), ("update", 0, 1)]).records[1:])
    assert len(ledger.by_incident[IncidentId("inc-1")].track) == 2
    assert len(saved.by_incident[IncidentId("inc-1")].track) == 1
    assert EcallLedger.snapshot_name == "ecall.ledger"
