"""decide and evolve: commands to events, events to projections. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.core.decide import (
    Action,
    CommandRefused,
    IncidentAction,
    ReceiveCall,
    decide_action,
    decide_receive_call,
)
from dispatch.core.lifecycle import IllegalTransition
from dispatch.core.projections import State
from dispatch.model import (
    Caller,
    CallId,
    CentreId,
    Channel,
    IncidentId,
    IncidentStatus,
    Location,
    Placement,
    Priority,
    UnfoundedReason,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ISTANBUL = Placement(in_service_area=True, at_sea=False, plate=34, province="İstanbul")


def _open(state: State, n: int, placement: Placement | None = ISTANBUL) -> IncidentId:
    events = decide_receive_call(
        ReceiveCall(
            channel=Channel.PHONE,
            caller=Caller(number="+905321234567"),
            location=Location(lat=41.0, lon=29.0),
            client_request_id=f"r{n}",
        ),
        call_id=CallId(f"call-{n}"),
        incident_id=IncidentId(f"inc-{n}"),
        placement=placement,
        now=NOW,
    )
    for event in events:
        state.apply(state.last_seq + 1, event)
    return IncidentId(f"inc-{n}")


def _act(state: State, incident: IncidentId, **kwargs: object) -> None:
    target_id = kwargs.get("into")
    target = state.incidents.get(IncidentId(target_id)) if isinstance(target_id, str) else None
    command = IncidentAction(actor="op-1", **kwargs)  # type: ignore[arg-type]
    for event in decide_action(state.incidents[incident], command, now=NOW, target=target):
        state.apply(state.last_seq + 1, event)


def test_a_call_opens_an_incident_at_its_provinces_centre() -> None:
    """The call and its incident land at the centre of the province it was placed in."""
    state = State()
    incident = _open(state, 1)
    view = state.incidents[incident]
    assert view.centre == "34"
    assert view.status is IncidentStatus.NEW
    assert view.calls == ["call-1"]
    assert [r.event.event_type for r in view.timeline] == ["call_received", "incident_opened"]
    assert state.original("call:r1") is not None


def test_an_unplaced_call_goes_to_the_central_desk() -> None:
    """Without a province the central desk takes the case."""
    state = State()
    incident = _open(state, 1, placement=None)
    assert state.incidents[incident].centre == "central"


@pytest.mark.parametrize(
    ("channel", "priority"),
    [
        (Channel.ECALL, Priority.IMMEDIATE),
        (Channel.PANIC_APP, Priority.IMMEDIATE),
        (Channel.PHONE, Priority.PROMPT),
    ],
)
def test_alarms_without_voice_start_at_priority_one(channel: Channel, priority: Priority) -> None:
    """eCalls and panic alarms are priority 1 before anyone classifies them."""
    events = decide_receive_call(
        ReceiveCall(channel=channel),
        call_id=CallId("c"),
        incident_id=IncidentId("i"),
        placement=None,
        now=NOW,
    )
    assert events[1].priority is priority  # type: ignore[attr-defined]


def test_classify_keeps_suggestion_and_decision() -> None:
    """The log holds both what the classifier suggested and what the call-taker chose."""
    state = State()
    incident = _open(state, 1)
    _act(
        state,
        incident,
        action=Action.CLASSIFY,
        incident_type="building_fire",
        priority=Priority.IMMEDIATE,
        suggested_type="vehicle_fire",
    )
    view = state.incidents[incident]
    assert view.status is IncidentStatus.CLASSIFIED
    assert view.incident_type == "building_fire"
    classified = view.timeline[-2].event
    assert classified.suggested_type == "vehicle_fire"  # type: ignore[attr-defined]


def test_merge_moves_every_call_to_the_target() -> None:
    """Merging keeps every call and caller attached, now to the surviving incident."""
    state = State()
    first, second = _open(state, 1), _open(state, 2)
    _act(state, second, action=Action.MERGE, into=first)
    assert state.incidents[second].status is IncidentStatus.MERGED
    assert state.incidents[second].merged_into == first
    assert state.incidents[first].calls == ["call-1", "call-2"]
    assert state.calls[CallId("call-2")].incident_id == first


def test_merge_into_itself_is_refused() -> None:
    """An incident cannot swallow itself."""
    state = State()
    first = _open(state, 1)
    with pytest.raises(CommandRefused, match="itself"):
        _act(state, first, action=Action.MERGE, into=first)


def test_unfounded_needs_a_reason_and_is_final() -> None:
    """The one-key disposition records why, and the incident is closed for good."""
    state = State()
    incident = _open(state, 1)
    with pytest.raises(CommandRefused, match="unfounded_reason"):
        _act(state, incident, action=Action.UNFOUNDED)
    _act(state, incident, action=Action.UNFOUNDED, unfounded_reason=UnfoundedReason.POCKET_DIAL)
    assert state.incidents[incident].status is IncidentStatus.UNFOUNDED
    assert state.open_by_centre[CentreId("34")] == 0
    with pytest.raises(IllegalTransition):
        _act(
            state, incident, action=Action.CLASSIFY, incident_type="x_y", priority=Priority.ROUTINE
        )


def test_events_must_be_applied_in_order() -> None:
    """Replaying out of order is a bug the state refuses to hide."""
    state = State()
    _open(state, 1)
    with pytest.raises(ValueError, match="in order"):
        state.apply(1, state.incidents[IncidentId("inc-1")].timeline[0].event)
