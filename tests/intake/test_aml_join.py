"""Tests of intake.aml_join: reports join calls of the same number before, during and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.model import CallId, IncidentId
from intake.aml_join import AmlJoin, CallRef, JoinOrder, PendingReport

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
NUMBER = "+905321234567"


def _call(call: str, at: datetime = T0) -> CallRef:
    return CallRef(
        call_id=CallId(call), incident_id=IncidentId("i" + call), number=NUMBER, started_at=at
    )


def _report(key: str, at: datetime = T0, number: str = NUMBER) -> PendingReport:
    return PendingReport(report_key=key, number=number, arrived_at=at, evidence=None)


def test_during_then_after_then_outside_the_window() -> None:
    """A live call is joined `during`; after its end `after`, until the window closes."""
    join = AmlJoin(window_s=600)
    join.call_started(_call("c1"))
    assert join.find_call(NUMBER, T0) == (_call("c1"), JoinOrder.DURING)
    join.call_ended(CallId("c1"), T0 + timedelta(seconds=60))
    found = join.find_call(NUMBER, T0 + timedelta(seconds=660))
    assert found is not None
    assert (found[0].call_id, found[1]) == ("c1", JoinOrder.AFTER)
    assert join.find_call(NUMBER, T0 + timedelta(seconds=661)) is None
    assert join.find_call("+4915112345678", T0) is None


def test_the_most_recent_call_wins() -> None:
    """With a live call and an ended one, the live one is joined; among ended, the latest end."""
    join = AmlJoin()
    join.call_started(_call("old"))
    join.call_ended(CallId("old"), T0)
    join.call_started(_call("new", T0 + timedelta(seconds=5)))
    found = join.find_call(NUMBER, T0 + timedelta(seconds=6))
    assert found is not None
    assert found[0].call_id == "new"


def test_reports_before_the_call_wait_then_expire() -> None:
    """A waiting report is taken by its number's call within its time to live, else dropped."""
    join = AmlJoin(pending_ttl_s=300)
    join.hold(_report("r1"))
    join.hold(_report("r2", number="+1555"))
    assert [r.report_key for r in join.take_pending(NUMBER, T0 + timedelta(seconds=299))] == ["r1"]
    assert join.pending_count == 1
    join.hold(_report("r3"))
    assert join.take_pending(NUMBER, T0 + timedelta(seconds=301)) == []
    assert join.expired == 1


def test_pending_is_bounded_and_released_by_the_log() -> None:
    """Beyond pending_max the oldest report is dropped; a joined report leaves the queue."""
    join = AmlJoin(pending_max=2)
    assert join.hold(_report("r1")) is None
    join.hold(_report("r2"))
    dropped = join.hold(_report("r3"))
    assert dropped is not None
    assert dropped.report_key == "r1"
    join.release("r2")
    assert join.pending_count == 1
    assert join.evicted == 1


def test_sweep_forgets_old_calls_and_reports() -> None:
    """The sweep drops expired reports and calls ended longer ago than the window."""
    join = AmlJoin(window_s=60, pending_ttl_s=60)
    join.call_started(_call("c1"))
    join.call_ended(CallId("c1"), T0)
    join.call_started(_call("c2"))
    join.hold(_report("r1"))
    join.sweep(T0 + timedelta(seconds=61))
    assert join.pending_count == 0
    found = join.find_call(NUMBER, T0 + timedelta(seconds=61))
    assert found is not None
    assert found[0].call_id == "c2"
