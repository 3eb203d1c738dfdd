"""The dashboard hub: versions, scoping, coalescing for slow clients, resume without gaps."""

from __future__ import annotations

from typing import Any

import orjson

from dispatch.model.events import CallLocated
from dispatch.model.ids import CallId
from dispatch.model.values import Location, Placement
from dispatch.model.vocabulary import IncidentStatus
from gamer_coordination.adapters.ws import DashboardClient, DashboardHub
from gamer_coordination.projections import Coordination, incident_key
from tests.gamer_coordination.events import T0, Log


def _hub(**options: Any) -> tuple[DashboardHub, Log]:
    return DashboardHub(Coordination(), **options), Log()


def _decode(message: bytes) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(message)
    return data


def _state(messages: list[bytes]) -> dict[str, Any]:
    """What a page holds after applying these messages (as common.js does)."""
    state: dict[str, Any] = {}
    for raw in messages:
        message = _decode(raw)
        if message["type"] == "snapshot":
            state.clear()
        for change in message["changes"]:
            if change["value"] is None:
                state.pop(change["key"], None)
            else:
                state[change["key"]] = change["value"]
    return state


def _truth(hub: DashboardHub, scope: int | None) -> dict[str, Any]:
    first = hub.snapshot(scope)
    return _state([first])


def test_a_slow_client_gets_the_latest_state_of_each_key_once() -> None:
    """Changes made while a client is not reading coalesce: one fragment per key, the newest."""
    hub, log = _hub()
    client, first = hub.connect(None, None, None)
    hub.on_records(log.call(1, 34))
    for status in (IncidentStatus.CLASSIFIED, IncidentStatus.QUEUED, IncidentStatus.ASSIGNED):
        previous = hub.projection.view(incident_key("inc-1"))["status"]  # type: ignore[index]
        hub.on_records(log.status(1, 34, IncidentStatus(previous), status))
    message = _decode(hub.next_message(client))
    incidents = [c for c in message["changes"] if c["key"] == "incident/inc-1"]
    assert len(incidents) == 1
    assert incidents[0]["value"]["status"] == "assigned"
    assert message["seq"] == hub.version
    assert _state([first, orjson.dumps(message)]) == _truth(hub, None)


def test_a_province_client_sees_only_its_province() -> None:
    """A client scoped to il 34 gets İstanbul's keys only, never Ankara's or the national one."""
    hub, log = _hub()
    client, first = hub.connect(34, None, None)
    hub.on_records(log.call(1, 34))
    hub.on_records(log.call(2, 6))
    hub.on_records(log.call(3, None))
    keys = {c["key"] for c in _decode(hub.next_message(client))["changes"]}
    assert keys == {"incident/inc-1", "province/34"}
    assert _decode(first)["changes"] == []


def test_an_incident_that_moves_province_leaves_the_old_scope() -> None:
    """When a better location moves an incident to another il, the old il's clients get null."""
    hub, log = _hub()
    hub.on_records(log.call(1, 34))
    istanbul, _ = hub.connect(34, None, None)
    ankara, _ = hub.connect(6, None, None)
    moved = Placement(in_service_area=True, at_sea=False, plate=6, province="Ankara")
    best = Location(lat=39.92, lon=32.85)
    hub.on_records(
        log.add(
            CallLocated(
                occurred_at=T0,
                plate=6,
                call_id=CallId("call-1"),
                evidence=best,
                best=best,
                placement=moved,
            )
        )
    )
    gone = {c["key"]: c["value"] for c in _decode(hub.next_message(istanbul))["changes"]}
    assert gone["incident/inc-1"] is None
    arrived = {c["key"]: c["value"] for c in _decode(hub.next_message(ankara))["changes"]}
    assert arrived["incident/inc-1"]["plate"] == 6


def test_resume_delivers_exactly_the_missed_state() -> None:
    """A client back with ?since= gets every key changed since, and nulls for removed ones."""
    hub = DashboardHub(Coordination(closed_retention=0))
    log = Log()
    hub.on_records(log.call(1, 34))
    hub.on_records(log.call(2, 34))
    _, first = hub.connect(34, None, None)
    seen = _decode(first)["seq"]
    hub.on_records(log.status(1, 34, IncidentStatus.NEW, IncidentStatus.CANCELLED))
    hub.on_records(log.call(3, 34))
    hub.on_records(log.call(4, 6))
    _, resumed = hub.connect(34, seen, hub.epoch)
    message = _decode(resumed)
    assert message["type"] == "delta"
    changes = {c["key"]: c["value"] for c in message["changes"]}
    assert changes["incident/inc-1"] is None
    assert "incident/inc-2" not in changes
    assert changes["incident/inc-3"]["status"] == "new"
    assert "incident/inc-4" not in changes
    assert _state([first, resumed]) == _truth(hub, 34)


def test_resume_from_another_epoch_or_a_forgotten_past_is_a_snapshot() -> None:
    """After a restart (new epoch) or beyond the remembered removals, a snapshot is sent."""
    hub = DashboardHub(Coordination(closed_retention=0), tombstones=1)
    log = Log()
    hub.on_records(log.call(1, 34))
    hub.on_records(log.call(2, 34))
    assert _decode(hub.resume(34, 1, "another-epoch"))["type"] == "snapshot"
    hub.on_records(log.status(1, 34, IncidentStatus.NEW, IncidentStatus.CANCELLED))
    hub.on_records(log.status(2, 34, IncidentStatus.NEW, IncidentStatus.CANCELLED))
    assert _decode(hub.resume(34, 1, hub.epoch))["type"] == "snapshot"
    assert _decode(hub.resume(34, hub.version, hub.epoch))["changes"] == []


def test_a_client_over_its_bound_gets_a_snapshot_not_a_backlog() -> None:
    """More pending keys than allowed: the pending map is dropped and a snapshot replaces it."""
    hub, log = _hub(max_pending=16)
    client, first = hub.connect(None, None, None)
    for number in range(20):
        hub.on_records(log.call(number, 34))
    assert client.overflow
    assert client.pending == {}
    message = hub.next_message(client)
    assert _decode(message)["type"] == "snapshot"
    assert _state([first, message]) == _truth(hub, None)
    assert hub.stats.overflows == 1


def test_disconnected_clients_get_nothing() -> None:
    """After disconnect a client's pending map stays empty."""
    hub, log = _hub()
    client, _ = hub.connect(34, None, None)
    hub.disconnect(client)
    hub.on_records(log.call(1, 34))
    assert client.pending == {}
    assert hub.client_count == 0
    assert isinstance(client, DashboardClient)


def test_changes_nobody_watched_are_encoded_when_a_client_first_asks() -> None:
    """Start-up replay has no clients: nothing is encoded then, yet the first snapshot is
    the projection's current state and each key keeps the version of its last change."""
    hub, log = _hub()
    hub.on_records(log.call(1, 34))
    hub.on_records(log.call(2, 6))
    hub.on_records(log.status(1, 34, IncidentStatus.NEW, IncidentStatus.CLASSIFIED))
    assert hub._fragments == {}
    assert "incident/inc-1" in hub._versions
    version_of_inc_1 = hub._versions["incident/inc-1"]
    watcher, first = hub.connect(None, None, None)
    changes = {c["key"]: c for c in _decode(first)["changes"]}
    assert changes["incident/inc-1"]["value"]["status"] == "classified"
    assert changes["incident/inc-1"]["v"] == version_of_inc_1
    assert {key: change["value"] for key, change in changes.items()} == {
        key: hub.projection.view(key) for key in changes
    }
    hub.on_records(log.call(3, 6))
    delta = _decode(hub.next_message(watcher))
    assert {c["key"] for c in delta["changes"]} >= {"incident/inc-3", "province/06"}
    assert _state([first, orjson.dumps(delta)]) == _truth(hub, None)


def test_a_province_nobody_watches_is_not_encoded_while_another_is() -> None:
    """With only İstanbul's dashboard connected, Ankara's changes wait unencoded."""
    hub, log = _hub()
    istanbul, _ = hub.connect(34, None, None)
    hub.on_records(log.call(1, 34))
    hub.on_records(log.call(2, 6))
    assert "incident/inc-1" in hub._fragments
    assert "incident/inc-2" not in hub._fragments
    _, ankara_first = hub.connect(6, None, None)
    assert _decode(ankara_first)["changes"][0]["value"] is not None
    assert _state([ankara_first]) == _truth(hub, 6)
    assert {c["key"] for c in _decode(hub.next_message(istanbul))["changes"]} == {
        "incident/inc-1",
        "province/34",
    }


def test_has_agrees_with_view_for_every_key_a_batch_touches() -> None:
    """The hub decides removals with ``has``; it must say what ``view`` would."""
    projection = Coordination(closed_retention=0)
    log = Log()
    touched: set[str] = set()
    touched |= projection.apply(log.call(1, 34))
    touched |= projection.apply(log.call(2, None))
    touched |= projection.apply(log.status(1, 34, IncidentStatus.NEW, IncidentStatus.CANCELLED))
    touched |= {"unit/none", "province/99", "incident/none", "other"}
    assert "incident/inc-1" in touched
    for key in touched:
        assert projection.has(key) == (projection.view(key) is not None), key
