"""Snapshots: a fold restored from one goes on exactly as the fold it was taken from."""

from __future__ import annotations

import pickle
from typing import Any

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dispatch.model.events import IncidentArchived
from dispatch.ports import Snapshotting
from gamer_coordination.adapters.ws import DashboardHub, HubSnapshots
from gamer_coordination.projections import Coordination
from gamer_coordination.push import PushLedger
from tests.gamer_coordination.histories import PLATES, History, histories

RETENTIONS = st.sampled_from((0, 2, 500))


def _hub(retention: int) -> DashboardHub:
    return DashboardHub(Coordination(closed_retention=retention))


def _round_trip(participant: Snapshotting) -> object:
    """What the engine stores and gives back: the snapshot through pickle."""
    return pickle.loads(pickle.dumps(participant.snapshot()))  # noqa: S301 - our own bytes


def _client_view(hub: DashboardHub, scope: int | None) -> dict[str, Any]:
    """What a dashboard scoped to ``scope`` shows after connecting (versions aside)."""
    message = orjson.loads(hub.snapshot(scope))
    return {change["key"]: change["value"] for change in message["changes"]}


def _assert_same(x: DashboardHub, y: DashboardHub) -> None:
    assert y.projection._saved() == x.projection._saved()
    keys = list(x.projection.current_keys())
    assert list(y.projection.current_keys()) == keys
    assert [y.projection.view(k) for k in keys] == [x.projection.view(k) for k in keys]
    assert list(y.projection.summaries()) == list(x.projection.summaries())
    for scope in (None, *PLATES):
        assert _client_view(y, scope) == _client_view(x, scope)


def _split(history: History, data: st.DataObject) -> int:
    return data.draw(st.integers(0, len(history.batches)), label="split")


@settings(max_examples=150, deadline=None)
@given(histories(), RETENTIONS, st.data())
def test_a_restored_dashboard_goes_on_as_the_original(
    history: History, retention: int, data: st.DataObject
) -> None:
    """Fold A into X, restore X's snapshot into Y, fold B into both: X and Y are the same."""
    split = _split(history, data)
    x = _hub(retention)
    for batch in history.batches[:split]:
        x.on_records(batch)
    y = _hub(retention)
    HubSnapshots(y).restore(_round_trip(HubSnapshots(x)))
    _assert_same(x, y)
    for batch in history.batches[split:]:
        x.on_records(batch)
        y.on_records(batch)
    _assert_same(x, y)


@settings(max_examples=60, deadline=None)
@given(histories(), RETENTIONS, st.data())
def test_a_snapshot_taken_after_archives_restores_without_them(
    history: History, retention: int, data: st.DataObject
) -> None:
    """Split after the first archive: the restored fold knows nothing of the archived ones."""
    firsts = [
        n
        for n, batch in enumerate(history.batches)
        if any(isinstance(r.event, IncidentArchived) for r in batch)
    ]
    assume(firsts)
    split = data.draw(st.integers(firsts[0] + 1, len(history.batches)), label="split")
    x = _hub(retention)
    for batch in history.batches[:split]:
        x.on_records(batch)
    y = _hub(retention)
    HubSnapshots(y).restore(_round_trip(HubSnapshots(x)))
    archived = {
        r.event.incident_id
        for batch in history.batches[:split]
        for r in batch
        if isinstance(r.event, IncidentArchived)
    }
    assert not archived & set(y.projection._saved().incidents)
    for batch in history.batches[split:]:
        x.on_records(batch)
        y.on_records(batch)
    _assert_same(x, y)


@settings(max_examples=60, deadline=None)
@given(histories(), st.data())
def test_a_snapshot_shares_nothing_with_the_fold(history: History, data: st.DataObject) -> None:
    """Folding on after a snapshot (before it is pickled) does not change the snapshot."""
    split = _split(history, data)
    x, at_split = _hub(500), _hub(500)
    for batch in history.batches[:split]:
        x.on_records(batch)
        at_split.on_records(batch)
    taken = HubSnapshots(x).snapshot()
    for batch in history.batches[split:]:
        x.on_records(batch)
    y = _hub(500)
    HubSnapshots(y).restore(pickle.loads(pickle.dumps(taken)))  # noqa: S301
    _assert_same(at_split, y)


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_a_restored_push_ledger_goes_on_as_the_original(
    history: History, data: st.DataObject
) -> None:
    """Pushes, acknowledgements and what is still to republish survive a restore."""
    split = _split(history, data)
    x = PushLedger()
    for batch in history.batches[:split]:
        x.apply(batch)
    y = PushLedger()
    y.restore(_round_trip(x))
    for batch in history.batches[split:]:
        assert y.apply(batch) == x.apply(batch)
    assert y.messages == x.messages
    assert y.unacknowledged() == x.unacknowledged()
    assert y._by_incident == x._by_incident


def test_participants_are_named_and_refuse_foreign_state() -> None:
    """Stable names and versions; a snapshot of something else is a TypeError, not a mess."""
    hub = _hub(500)
    participants: list[Snapshotting] = [HubSnapshots(hub), PushLedger()]
    assert [(p.snapshot_name, p.snapshot_version) for p in participants] == [
        ("gamer.hub", 1),
        ("gamer.push", 1),
    ]
    hub_state, ledger_state = (p.snapshot() for p in participants)
    with pytest.raises(TypeError):
        participants[0].restore(ledger_state)
    with pytest.raises(TypeError):
        participants[1].restore(hub_state)
    with pytest.raises(TypeError):
        participants[0].restore({"incidents": {}})
