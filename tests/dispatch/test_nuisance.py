"""Tests for dispatch.core.nuisance: repeat numbers are flagged, never blocked, memory bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.core.nuisance import NuisanceRegister
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
