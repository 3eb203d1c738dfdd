"""Tests for dispatch.core.nuisance: repeat numbers are flagged, never blocked, memory bounded."""

from __future__ import annotations

import pickle
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.nuisance import COUNTED_REASONS, NuisanceFlag, NuisanceRegister
from dispatch.model import UnfoundedReason

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NUMBER = "+905321234567"


def test_flag_after_threshold_within_window() -> None:
    """Three unfounded calls within 24 h flag the fourth; the flag names the kinds, no number."""
    register = NuisanceRegister(threshold=3)
    register.record(NUMBER, UnfoundedReason.PRANK, T0)
    register.record(NUMBER, UnfoundedReason.SILENT, T0 + timedelta(hours=1))
    assert register.flag_for(NUMBER, T0 + timedelta(hours=2)) is None
    register.record(NUMBER, UnfoundedReason.PRANK, T0 + timedelta(hours=3))
    flag = register.flag_for(NUMBER, T0 + timedelta(hours=4))
    assert flag is not None
    assert flag.count == 3
    assert flag.reasons == {"prank": 2, "silent": 1}
    assert flag.last_at == T0 + timedelta(hours=3)
    assert NUMBER not in repr(flag)
    assert register.flag_for("+905000000000", T0) is None


def test_window_slides() -> None:
    """Dispositions older than the window stop counting; an emptied number is forgotten."""
    register = NuisanceRegister(threshold=2, window=timedelta(hours=1))
    register.record(NUMBER, UnfoundedReason.POCKET_DIAL, T0)
    register.record(NUMBER, UnfoundedReason.POCKET_DIAL, T0 + timedelta(minutes=30))
    assert register.flag_for(NUMBER, T0 + timedelta(minutes=45)) is not None
    assert register.flag_for(NUMBER, T0 + timedelta(minutes=75)) is None
    assert register.flag_for(NUMBER, T0 + timedelta(hours=3)) is None
    assert len(register) == 0


def test_tests_and_anonymous_calls_do_not_count() -> None:
    """eCall tests are nobody's fault and calls without a number cannot be tracked."""
    register = NuisanceRegister(threshold=1)
    register.record(NUMBER, UnfoundedReason.TEST, T0)
    register.record(None, UnfoundedReason.PRANK, T0)
    assert register.flag_for(NUMBER, T0) is None
    assert register.flag_for(None, T0) is None
    assert len(register) == 0


def test_memory_is_bounded() -> None:
    """Only max_numbers numbers are kept, least recently seen forgotten first."""
    register = NuisanceRegister(threshold=1, max_numbers=3, keep_extra=0)
    for n in range(5):
        register.record(f"+90532000000{n}", UnfoundedReason.PRANK, T0)
    assert len(register) == 3
    assert register.flag_for("+905320000000", T0) is None
    assert register.flag_for("+905320000004", T0) is not None
    for _ in range(10):
        register.record("+905320000004", UnfoundedReason.PRANK, T0)
    assert register._seen["+905320000004"].maxlen == 1


def test_refusals() -> None:
    """Naive times and non-positive settings are refused."""
    with pytest.raises(ValueError, match="positive"):
        NuisanceRegister(threshold=0)
    register = NuisanceRegister()
    with pytest.raises(ValueError, match="aware"):
        register.record(NUMBER, UnfoundedReason.PRANK, datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        register.flag_for(NUMBER, datetime(2025, 1, 1))  # noqa: DTZ001


class NaiveRegister:
    """The reference: the register before it forgot numbers by time (LRU bound only)."""

    def __init__(self, *, window: timedelta, threshold: int, cap: int) -> None:
        self.window, self.threshold, self.cap = window, threshold, cap
        self.seen: dict[str, deque[tuple[datetime, UnfoundedReason]]] = {}

    def record(self, number: str, reason: UnfoundedReason, at: datetime) -> None:
        if reason in COUNTED_REASONS:
            self.seen.setdefault(number, deque(maxlen=self.cap)).append((at, reason))

    def flag_for(self, number: str, now: datetime) -> NuisanceFlag | None:
        history = self.seen.get(number)
        if history is None:
            return None
        while history and history[0][0] <= now - self.window:
            history.popleft()
        recent = [entry for entry in history if entry[0] <= now]
        if not history or len(recent) < self.threshold:
            return None
        return NuisanceFlag(
            count=len(recent),
            window=self.window,
            reasons=dict(Counter(reason.value for _, reason in recent)),
            last_at=recent[-1][0],
        )


HISTORY = st.lists(
    st.tuples(
        st.sampled_from(["record", "record", "flag"]),
        st.integers(0, 5),
        st.sampled_from(UnfoundedReason),
        st.integers(0, 90),  # minutes since the step before: the log's times move forward
    ),
    min_size=5,
    max_size=80,
)
WINDOW = timedelta(hours=2)


def _step(register: NuisanceRegister | NaiveRegister, step: tuple[Any, ...], at: datetime) -> Any:
    kind, number, reason, _ = step
    if kind == "record":
        register.record(f"+90532000000{number}", reason, at)
        return None
    return register.flag_for(f"+90532000000{number}", at)


@given(HISTORY)
def test_forgetting_by_time_changes_no_flag_and_keeps_only_the_window(
    history: list[tuple[Any, ...]],
) -> None:
    """Every flag as the reference's; only numbers with a disposition in the window stay."""
    register = NuisanceRegister(window=WINDOW, threshold=2, keep_extra=1)
    naive = NaiveRegister(window=WINDOW, threshold=2, cap=3)
    at = T0
    for step in history:
        at += timedelta(minutes=step[3])
        assert _step(register, step, at) == _step(naive, step, at)
        assert len(register) <= len(naive.seen)
    for number, entries in register.snapshot():
        assert max(when for when, _ in entries) > at - WINDOW, number


def test_a_number_quiet_for_a_window_is_forgotten() -> None:
    """Recording or asking about any number forgets those whose calls all left the window."""
    register = NuisanceRegister(threshold=1, window=timedelta(hours=1))
    register.record(NUMBER, UnfoundedReason.PRANK, T0)
    register.record("+905000000000", UnfoundedReason.PRANK, T0 + timedelta(minutes=30))
    assert len(register) == 2
    assert register.flag_for("+905111111111", T0 + timedelta(minutes=61)) is None
    assert [number for number, _ in register.snapshot()] == ["+905000000000"]
    register.record("+905222222222", UnfoundedReason.SILENT, T0 + timedelta(minutes=95))
    assert [number for number, _ in register.snapshot()] == ["+905222222222"]


@given(HISTORY, st.floats(0.0, 1.0))
def test_a_restored_register_flags_as_the_saved_one(
    history: list[tuple[Any, ...]], where: float
) -> None:
    """Snapshot anywhere (pickled), restore, go on with both: the same flags and numbers."""
    split = round(where * len(history))
    saved = NuisanceRegister(window=WINDOW, threshold=2, keep_extra=1)
    at = T0
    for step in history[:split]:
        at += timedelta(minutes=step[3])
        _step(saved, step, at)
    restored = NuisanceRegister(window=WINDOW, threshold=2, keep_extra=1)
    restored.record("+905999999999", UnfoundedReason.PRANK, T0)  # replaced by the restore
    restored.restore(pickle.loads(pickle.dumps(saved.snapshot())))  # noqa: S301 - our own bytes
    for step in history[split:]:
        at += timedelta(minutes=step[3])
        assert _step(restored, step, at) == _step(saved, step, at)
    assert restored.snapshot() == saved.snapshot()
    restored.record(NUMBER, UnfoundedReason.PRANK, at)
    for _ in range(5):
        restored.record(NUMBER, UnfoundedReason.PRANK, at)
    assert len(restored.snapshot()[-1][1]) == 3, "the restored register keeps its bound"
