"""Tests of intake.flood: per-number token buckets with the time as an input."""

from __future__ import annotations

import pytest

from intake.errors import FloodLimited
from intake.flood import TokenBuckets


def test_burst_then_refill() -> None:
    """A key gets `burst` requests at once, then one per 1/per_s seconds; others are apart."""
    buckets = TokenBuckets(burst=3, per_s=0.5, max_keys=10)
    for _ in range(3):
        buckets.take("+905321234567", 0.0)
    with pytest.raises(FloodLimited) as info:
        buckets.take("+905321234567", 0.0)
    assert info.value.retry_after_s == pytest.approx(2.0)
    buckets.take("+905550000000", 0.0)
    buckets.take("+905321234567", 2.0)
    assert buckets.refused == 1


def test_time_going_backwards_gives_nothing() -> None:
    """A clock that steps back refills nothing and breaks nothing."""
    buckets = TokenBuckets(burst=1, per_s=1, max_keys=10)
    buckets.take("a", 10.0)
    with pytest.raises(FloodLimited):
        buckets.take("a", 5.0)


def test_table_is_bounded() -> None:
    """Beyond max_keys the least recently used key is forgotten."""
    buckets = TokenBuckets(burst=1, per_s=1, max_keys=2)
    for key in ("a", "b", "c"):
        buckets.take(key, 0.0)
    assert len(buckets) == 2
    buckets.take("a", 0.0)  # forgotten, so a fresh bucket


def test_settings_are_checked() -> None:
    """A bucket that could never pass is refused at construction."""
    with pytest.raises(ValueError, match="burst"):
        TokenBuckets(burst=0, per_s=1, max_keys=1)
