"""Tests for dispatch.core.call_queue: ordering, skills, fallback, bounds, operators."""

from __future__ import annotations

import argparse
import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.core.bench_queue import NaiveCallQueue, make_workload
from dispatch.core.call_queue import (
    CallNotWaiting,
    CallQueues,
    DuplicateCall,
    OperatorState,
    OperatorStateError,
    QueueClass,
    QueuedCall,
    QueueFull,
    QueueSettings,
    SavedQueue,
    UnknownOperator,
    WaitReason,
    priority_class,
)
from dispatch.core.queue_cli import register, register_bench
from dispatch.model import CallId, CentreId, Channel, OperatorId

ANTALYA = CentreId("07")
OP_A = OperatorId("op-a")
OP_B = OperatorId("op-b")


def call(
    n: int,
    *,
    language: str = "tr",
    channel: Channel = Channel.PHONE,
    since: float | None = None,
    priority: QueueClass | None = None,
) -> QueuedCall:
    return QueuedCall(
        call_id=CallId(f"call-{n}"),
        channel=channel,
        language=language,
        since=float(n) if since is None else since,
        priority=priority,
    )


def ready(queues: CallQueues, operator: OperatorId, skills: set[str], now: float = 0.0) -> None:
    queues.log_in(operator, skills, now)
    queues.set_ready(operator, now)


def take(queues: CallQueues, operator: OperatorId, now: float) -> CallId | None:
    assignment = queues.next_call_for(operator, now)
    if assignment is None:
        return None
    queues.wrap_up(operator, now)
    queues.set_ready(operator, now)
    return assignment.call.call_id


def test_alarms_first_then_longest_wait() -> None:
    """eCalls and panic alarms are served before other calls, each class oldest first."""
    queues = CallQueues(centre=ANTALYA)
    queues.offer(call(1))
    queues.offer(call(2, channel=Channel.ECALL))
    queues.offer(call(3))
    queues.offer(call(4, channel=Channel.PANIC_APP))
    queues.offer(call(0, since=-5.0))  # offered last, waiting longest (handed back)
    ready(queues, OP_A, {"tr"})
    order = [take(queues, OP_A, 10.0) for _ in range(5)]
    assert order == ["call-2", "call-4", "call-0", "call-1", "call-3"]
    assert take(queues, OP_A, 10.0) is None


def test_priority_class_by_channel_and_override() -> None:
    """The channel gives the default class; an explicit class (a test eCall) overrides it."""
    assert priority_class(Channel.ECALL) is QueueClass.ALARM
    assert priority_class(Channel.PANIC_APP) is QueueClass.ALARM
    assert priority_class(Channel.PHONE) is QueueClass.NORMAL
    test_ecall = call(1, channel=Channel.ECALL, priority=QueueClass.NORMAL)
    assert test_ecall.queue_class is QueueClass.NORMAL


def test_skills_decide_who_takes_what() -> None:
    """An operator only gets calls in a language they speak and on a medium they handle."""
    queues = CallQueues(centre=ANTALYA)
    queues.offer(call(1, language="ru"))
    queues.offer(call(2, language="tr", channel=Channel.TEXT))
    queues.offer(call(3, language="tr", channel=Channel.SIGN_VIDEO))
    queues.offer(call(4, language="tr"))
    ready(queues, OP_A, {"tr"})
    ready(queues, OP_B, {"ru"})
    assert queues.depth_by_skill() == {"ru": 1, "tr+text": 1, "tid": 1, "tr": 1}
    assert take(queues, OP_A, 5.0) == "call-4"
    assert take(queues, OP_A, 5.0) is None
    assert take(queues, OP_B, 5.0) == "call-1"
    signer = OperatorId("signer")
    ready(queues, signer, {"tid"})
    assert take(queues, signer, 5.0) == "call-3"
    texter = OperatorId("texter")
    ready(queues, texter, {"tr", "text"})
    assert take(queues, texter, 5.0) == "call-2"
    assert queues.depth() == 0


def test_nobody_speaks_the_language_waits_for_english_visibly() -> None:
    """A Persian call with no Persian speaker on shift waits for English, and says so."""
    queues = CallQueues(centre=CentreId("central"))
    ready(queues, OP_A, {"en"})
    ready(queues, OP_B, {"de"})
    enqueued = queues.offer(call(1, language="fa"))
    assert enqueued.reason is WaitReason.FALLBACK
    assert enqueued.waiting_for == frozenset({"en"})
    [entry] = queues.waiting(4.0)
    assert entry.reason is WaitReason.FALLBACK
    assert entry.detail == "no operator on shift speaks fa; waiting for en"
    assert entry.waited_s == 3.0
    assert queues.snapshot(4.0).fallback_waiting == 1
    assert queues.next_call_for(OP_B, 4.0) is None
    assignment = queues.next_call_for(OP_A, 4.0)
    assert assignment is not None
    assert assignment.served_in == "en"
    assert assignment.fallback_from == "fa"


def test_fallback_order_is_a_setting() -> None:
    """The fallback order is configurable: with German first, a German speaker takes it."""
    queues = CallQueues(
        centre=CentreId("central"), settings=QueueSettings(fallback_order=("de", "en"))
    )
    ready(queues, OP_A, {"en"})
    ready(queues, OP_B, {"de"})
    queues.offer(call(1, language="fa"))
    assert queues.next_call_for(OP_A, 1.0) is None
    assignment = queues.next_call_for(OP_B, 1.0)
    assert assignment is not None
    assert assignment.served_in == "de"


def test_speaker_logging_in_ends_the_fallback() -> None:
    """Once a Persian speaker is on shift, the call waits for them, not for English."""
    queues = CallQueues(centre=CentreId("central"))
    ready(queues, OP_A, {"en"})
    queues.offer(call(1, language="fa"))
    persian = OperatorId("op-fa")
    queues.log_in(persian, {"fa"}, 2.0)  # on shift, not ready yet
    [entry] = queues.waiting(3.0)
    assert entry.reason is None
    assert entry.waiting_for == frozenset({"fa"})
    assert queues.next_call_for(OP_A, 3.0) is None
    queues.set_ready(persian, 3.0)
    assert take(queues, persian, 3.0) == "call-1"


def test_nobody_at_all_is_visible_too() -> None:
    """With neither the language nor a fallback on shift, the wait says nobody can take it."""
    queues = CallQueues(centre=CentreId("central"))
    ready(queues, OP_A, {"de"})
    enqueued = queues.offer(call(1, language="fa"))
    assert enqueued.reason is WaitReason.NO_OPERATOR
    assert enqueued.detail == "no operator on shift speaks fa or a fallback language"


def test_bounded_queue_refuses_with_queue_full() -> None:
    """A full queue refuses one more call with QueueFull; a withdrawn call frees a place."""
    queues = CallQueues(centre=ANTALYA, settings=QueueSettings(max_waiting=2))
    fullness = []
    queues.offer(call(1))
    fullness.append(queues.full)
    queues.offer(call(2))
    fullness.append(queues.full)
    assert fullness == [False, True]
    with pytest.raises(QueueFull, match="centre 07 is full") as info:
        queues.offer(call(3))
    assert info.value.limit == 2
    assert queues.depth() == 2
    assert queues.withdraw(CallId("call-1")).call_id == "call-1"
    fullness.append(queues.full)
    assert fullness[-1] is False
    queues.offer(call(3))
    assert queues.depth() == 2


def test_duplicate_and_missing_calls_are_refused() -> None:
    """The same call cannot wait twice; withdrawing a call that does not wait is an error."""
    queues = CallQueues(centre=ANTALYA)
    queues.offer(call(1))
    with pytest.raises(DuplicateCall):
        queues.offer(call(1))
    ready(queues, OP_A, {"tr"})
    queues.next_call_for(OP_A, 1.0)
    with pytest.raises(DuplicateCall):
        queues.offer(call(1))
    with pytest.raises(CallNotWaiting):
        queues.withdraw(CallId("call-1"))


def test_every_change_of_depth_is_told_and_put_refuses_like_offer() -> None:
    """The owner hears each new depth (offer, put, withdraw, next call, decline)."""
    heard: list[tuple[CentreId, int]] = []
    queues = CallQueues(
        centre=ANTALYA,
        settings=QueueSettings(max_waiting=2),
        on_depth=lambda centre, depth: heard.append((centre, depth)),
    )
    queues.offer(call(1))
    queues.put(call(2))
    with pytest.raises(QueueFull):
        queues.put(call(3))
    with pytest.raises(DuplicateCall):
        queues.put(call(1))
    assert queues.holds(CallId("call-1"))
    assert not queues.holds(CallId("call-3"))
    queues.withdraw(CallId("call-2"))
    ready(queues, OP_A, {"tr"})
    queues.next_call_for(OP_A, 1.0)
    assert queues.holds(CallId("call-1"))  # handled here: offering it again is a duplicate
    queues.decline(OP_A, 2.0)
    assert heard == [(ANTALYA, 1), (ANTALYA, 2), (ANTALYA, 1), (ANTALYA, 0), (ANTALYA, 1)]
    assert heard[-1][1] == queues.depth()


def test_withdrawn_calls_are_skipped_and_compacted() -> None:
    """Withdrawn calls never reach an operator; the heap sheds them (bounded memory)."""
    queues = CallQueues(centre=ANTALYA)
    for n in range(500):
        queues.offer(call(n))
    for n in range(499):
        queues.withdraw(CallId(f"call-{n}"))
    bucket = queues._buckets[("tr", None)]
    assert len(bucket.heap) <= 3 * bucket.live + 64
    ready(queues, OP_A, {"tr"})
    assert take(queues, OP_A, 600.0) == "call-499"
    assert queues.oldest_wait(600.0) is None


def test_the_age_heap_sheds_calls_that_left_too() -> None:
    """Calls withdrawn or taken leave no trace behind: memory follows the waiting calls."""
    queues = CallQueues(centre=ANTALYA)
    for n in range(500):
        queues.offer(call(n))
    for n in range(400):
        queues.withdraw(CallId(f"call-{n}"))
    ready(queues, OP_A, {"tr"})
    for n in range(400, 499):
        assert take(queues, OP_A, 600.0) == f"call-{n}"
    assert queues.depth() == 1
    assert len(queues._by_age) <= 3 * 1 + 64
    assert queues.oldest_wait(600.0) == 101.0
    assert not queues._handled


def test_observation_depths_and_oldest_wait() -> None:
    """The snapshot shows depth per skill and class, the oldest wait and operator states."""
    queues = CallQueues(centre=ANTALYA)
    queues.offer(call(10))
    queues.offer(call(12, language="en"))
    queues.offer(call(13, channel=Channel.ECALL))
    ready(queues, OP_A, {"tr"})
    queues.log_in(OP_B, {"en"}, 0.0)
    snap = queues.snapshot(20.0)
    assert snap.depth == 3
    assert snap.depth_by_skill == {"tr": 2, "en": 1}
    assert snap.depth_by_class == {"normal": 2, "alarm": 1}
    assert snap.oldest_wait_s == 10.0
    assert snap.operators_by_state == {"ready": 1, "not_ready": 1}
    queues.withdraw(CallId("call-10"))
    assert queues.oldest_wait(20.0) == 8.0
    assert [e.call.call_id for e in queues.waiting(20.0)] == ["call-13", "call-12"]


def test_operator_lifecycle_and_refusals() -> None:
    """Operators log in not ready, go ready, get busy, wrap up; wrong moves are refused."""
    queues = CallQueues(centre=ANTALYA)
    with pytest.raises(UnknownOperator):
        queues.set_ready(OP_A, 0.0)
    queues.log_in(OP_A, {"tr"}, 0.0)
    with pytest.raises(OperatorStateError):
        queues.log_in(OP_A, {"tr"}, 0.0)
    with pytest.raises(OperatorStateError, match="not_ready cannot take a call"):
        queues.next_call_for(OP_A, 0.0)
    queues.set_ready(OP_A, 1.0)
    queues.offer(call(1))
    assignment = queues.next_call_for(OP_A, 2.0)
    assert assignment is not None
    assert assignment.waited_s == 1.0
    [view] = queues.operators()
    assert view.state is OperatorState.BUSY
    assert view.call_id == "call-1"
    with pytest.raises(OperatorStateError):
        queues.log_out(OP_A)
    with pytest.raises(OperatorStateError):
        queues.set_not_ready(OP_A, 2.0)
    assert queues.wrap_up(OP_A, 30.0) == "call-1"
    with pytest.raises(OperatorStateError):
        queues.wrap_up(OP_A, 30.0)
    queues.set_not_ready(OP_A, 31.0)
    queues.log_out(OP_A)
    assert queues.on_shift_skills() == frozenset()


def test_declined_call_goes_back_in_its_place() -> None:
    """A declined call is first again; the operator who declined goes not ready."""
    queues = CallQueues(centre=ANTALYA)
    queues.offer(call(1))
    queues.offer(call(2))
    ready(queues, OP_A, {"tr"})
    ready(queues, OP_B, {"tr"})
    assert queues.next_call_for(OP_A, 3.0) is not None
    assert queues.decline(OP_A, 4.0).call_id == "call-1"
    assert take(queues, OP_B, 5.0) == "call-1"
    with pytest.raises(OperatorStateError):
        queues.next_call_for(OP_A, 5.0)


def test_assign_ready_gives_longest_ready_first() -> None:
    """assign_ready matches waiting calls to ready operators, the longest-ready first."""
    queues = CallQueues(centre=ANTALYA)
    ready(queues, OP_B, {"tr"}, now=5.0)
    ready(queues, OP_A, {"tr"}, now=1.0)
    queues.offer(call(1))
    [assignment] = queues.assign_ready(6.0)
    assert assignment.operator_id == OP_A
    assert queues.assign_ready(6.0) == []


def test_settings_are_validated() -> None:
    """Bad settings and language codes are refused without echoing the value."""
    with pytest.raises(ValueError, match="max_waiting"):
        QueueSettings(max_waiting=0)
    with pytest.raises(ValueError, match="2 or 3 lower-case"):
        QueueSettings(fallback_order=("EN",))
    with pytest.raises(ValueError, match="2 or 3 lower-case"):
        call(1, language="<script>")


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("offer"), st.integers(0, 99)),
        st.tuples(st.just("take"), st.integers(0, 4)),
        st.tuples(st.just("withdraw"), st.integers(0, 99)),
    ),
    max_size=120,
)
_SKILL_SETS = [
    frozenset({"tr"}),
    frozenset({"en"}),
    frozenset({"tr", "text"}),
    frozenset({"tid"}),
    frozenset({"ru", "en", "text"}),
]


@settings(max_examples=150, deadline=None)
@given(ops=_OPS, on_shift=st.sets(st.integers(0, 4), min_size=1))
def test_same_assignments_as_a_list_scan(ops: list[tuple[str, int]], on_shift: set[int]) -> None:
    """Whatever the sequence, the heaps hand out exactly what a full list scan would."""
    workload = make_workload(100, seed=7)
    queues = CallQueues(centre=ANTALYA)
    naive = NaiveCallQueue()
    for index in sorted(on_shift):
        ready(queues, OperatorId(f"op-{index}"), set(_SKILL_SETS[index]))
        naive.log_in(_SKILL_SETS[index])
    offered: set[int] = set()
    for op, arg in ops:
        if op == "offer" and arg not in offered:
            offered.add(arg)
            queues.offer(workload[arg])
            naive.offer(workload[arg])
        elif op == "withdraw" and queues.is_waiting(workload[arg].call_id):
            queues.withdraw(workload[arg].call_id)
            naive.waiting = [e for e in naive.waiting if e[3].call_id != workload[arg].call_id]
        elif op == "take" and arg in on_shift:
            got = take(queues, OperatorId(f"op-{arg}"), 1_000.0)
            expected = naive.take(_SKILL_SETS[arg])
            assert got == (expected.call_id if expected is not None else None)
    assert queues.depth() == len(naive.waiting)
    assert sum(queues.snapshot(1_000.0).depth_by_class.values()) == queues.depth()


def test_bench_command_prints_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`bench queue` runs both implementations and reports the same order and a speed-up."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    register(sub)
    register_bench(sub)
    args = parser.parse_args(
        ["queue", "--calls", "2000", "--naive-assignments", "50", "--repeats", "1"]
    )
    assert args.handler(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("run")
    result = json.loads(out[-1])
    assert result["same_order"] is True
    assert result["indexed_full_drain"]["assignments"] == 2000
    assert result["naive_first_assignments"]["assignments"] == 50


def test_bench_command_rejects_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    """Non-positive sizes give a one-line reason on stderr and exit code 2."""
    parser = argparse.ArgumentParser()
    register_bench(parser.add_subparsers())
    args = parser.parse_args(["queue", "--calls", "0"])
    assert args.handler(args) == 2
    assert "must be positive" in capsys.readouterr().err


# -- saving and restoring -------------------------------------------------------------------

_OPERATOR_IDS = [OperatorId(f"op-{i}") for i in range(3)]
_SAVE_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("offer"), st.integers(0, 39)),
        st.tuples(st.just("withdraw"), st.integers(0, 39)),
        st.tuples(
            st.sampled_from(["take", "wrap_up", "decline", "ready", "not_ready"]), st.integers(0, 2)
        ),
        st.tuples(st.sampled_from(["log_in", "log_out"]), st.integers(0, 2), st.integers(0, 4)),
    ),
    max_size=80,
)


def _apply(queues: CallQueues, op: tuple[Any, ...], now: float) -> object:
    """One input to the queue; what it answered or the refusal it raised."""
    workload = make_workload(40, seed=11)
    kind, arg, *rest = op
    try:
        if kind == "offer":
            return queues.offer(workload[arg])
        if kind == "withdraw":
            return queues.withdraw(workload[arg].call_id)
        operator = _OPERATOR_IDS[arg]
        if kind == "log_in":
            queues.log_in(operator, _SKILL_SETS[rest[0]], now)
            return None
        if kind == "log_out":
            queues.log_out(operator)
            return None
        if kind == "take":
            return queues.next_call_for(operator, now)
        if kind == "wrap_up":
            return queues.wrap_up(operator, now)
        if kind == "decline":
            return queues.decline(operator, now)
        if kind == "ready":
            queues.set_ready(operator, now)
        else:
            queues.set_not_ready(operator, now)
    except Exception as exc:  # noqa: BLE001 - the two queues must refuse alike
        return type(exc)
    return None


def _observed(queues: CallQueues, now: float) -> tuple[object, ...]:
    """Everything a queue answers about itself."""
    return (
        queues.snapshot(now),
        queues.waiting(now),
        queues.operators(),
        queues.on_shift_skills(),
        sorted(queues._handled),
        sorted(c.call_id for c in queues),
        queues.full,
    )


@settings(max_examples=150, deadline=None)
@given(ops=_SAVE_OPS, split=st.integers(0, 80), limit=st.integers(1, 12))
def test_a_restored_queue_goes_on_like_the_saved_one(
    ops: list[tuple[Any, ...]], split: int, limit: int
) -> None:
    """Save after some inputs (through pickle), restore into a new queue: same answers after."""
    heard: list[int] = []
    settings_ = QueueSettings(max_waiting=limit)
    saved_queue = CallQueues(centre=ANTALYA, settings=settings_)
    for index, op in enumerate(ops[:split]):
        _apply(saved_queue, op, float(index))
    saved = pickle.loads(pickle.dumps(saved_queue.save()))  # noqa: S301 - our own bytes
    assert isinstance(saved, SavedQueue)
    restored = CallQueues(
        centre=ANTALYA, settings=settings_, on_depth=lambda _c, depth: heard.append(depth)
    )
    restored.offer(make_workload(40, seed=11)[0])  # state restore replaces
    restored.restore(saved)
    assert heard[-1] == saved_queue.depth()
    assert _observed(restored, 100.0) == _observed(saved_queue, 100.0)
    for index, op in enumerate(ops[split:], start=split):
        assert _apply(restored, op, float(index)) == _apply(saved_queue, op, float(index))
        assert _observed(restored, index + 0.5) == _observed(saved_queue, index + 0.5)
