"""Spike detection: a province's calls far above its own usual level, with time as an input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamer_coordination.projections import Coordination, province_key
from gamer_coordination.spikes import SpikeDetector, SpikePolicy
from tests.gamer_coordination.events import T0, Log

MINUTE = timedelta(minutes=1)
POLICY = SpikePolicy(bucket_s=60, alpha=0.2, factor=5, min_count=10, floor=1)


def _steady(detector: SpikeDetector, plate: int, per_minute: int, minutes: int) -> None:
    for minute in range(minutes):
        for call in range(per_minute):
            detector.observe(plate, T0 + minute * MINUTE + call * timedelta(seconds=1))


def test_a_quake_rush_is_a_spike_and_a_busy_city_is_not() -> None:
    """Ten times a province's usual rate alarms; a province always that busy does not."""
    detector = SpikeDetector(POLICY)
    _steady(detector, 80, 2, 60)  # Osmaniye: two calls a minute for an hour
    _steady(detector, 34, 40, 60)  # İstanbul: forty a minute, every minute
    now = T0 + 60 * MINUTE
    for call in range(25):
        detector.observe(80, now + call * timedelta(seconds=2))
        detector.observe(34, now + call * timedelta(seconds=2))
    alerts = detector.evaluate(now + timedelta(seconds=50))
    assert set(alerts) == {80}
    alert = alerts[80]
    assert alert.count == 25
    assert alert.baseline == pytest.approx(2.0, abs=0.01)
    assert alert.ratio == pytest.approx(12.5, abs=0.1)
    assert alert.bucket_start == now


def test_a_quiet_province_needs_the_minimum_count() -> None:
    """A province with no history needs ``min_count`` calls, not one, to alarm."""
    detector = SpikeDetector(POLICY)
    for call in range(9):
        detector.observe(1, T0 + call * timedelta(seconds=1))
    assert detector.evaluate(T0 + 10 * timedelta(seconds=1)) == {}
    detector.observe(1, T0 + timedelta(seconds=11))
    assert set(detector.evaluate(T0 + timedelta(seconds=12))) == {1}


def test_a_spike_ends_when_time_moves_on() -> None:
    """Evaluated a bucket later with no new calls, the alert is gone and the baseline rose."""
    detector = SpikeDetector(POLICY)
    _steady(detector, 6, 30, 1)
    assert set(detector.evaluate(T0 + timedelta(seconds=59))) == {6}
    assert detector.evaluate(T0 + 2 * MINUTE) == {}
    assert detector.baseline(6) == pytest.approx(0.2 * 30 * 0.8, abs=1e-9)


def test_empty_buckets_decay_the_baseline() -> None:
    """Minutes without calls count as zero: the usual level falls after a quiet spell."""
    detector = SpikeDetector(POLICY)
    _steady(detector, 7, 10, 30)
    high = detector.baseline(7)
    detector.observe(7, T0 + 90 * MINUTE)
    assert detector.baseline(7) < high * 0.8**50


def test_the_projection_publishes_alerts_and_their_end() -> None:
    """Folding a rush marks the province's summary with the spike; a later tick clears it."""
    log = Log()
    for number in range(12):
        log.call(number, 80, T0 + number * timedelta(seconds=3))
    projection = Coordination(spike_policy=POLICY)
    changed = projection.apply(log.records)
    assert province_key(80) in changed
    summary = projection.view(province_key(80))
    assert summary is not None
    assert summary["spike"]["count"] == 12
    assert [s["plate"] for s in projection.view("national")["spikes"]] == [80]  # type: ignore[index]
    assert province_key(80) in projection.tick(T0 + 3 * MINUTE)
    assert projection.view(province_key(80))["spike"] is None  # type: ignore[index]
    assert projection.tick(T0 + 4 * MINUTE) == set()


def test_bad_policies_are_refused() -> None:
    """A policy with a non-positive bucket, an alpha outside (0, 1] or a factor below 1 fails."""
    for bad in ({"bucket_s": 0}, {"alpha": 0}, {"alpha": 1.5}, {"factor": 0.5}, {"floor": 0}):
        with pytest.raises(ValueError, match="must"):
            SpikePolicy(**bad)


@given(st.lists(st.integers(min_value=0, max_value=7200), min_size=1, max_size=300))
def test_alerts_always_meet_the_policy(offsets: list[int]) -> None:
    """Whatever the arrival pattern, an alert holds >= min_count and >= factor x baseline."""
    detector = SpikeDetector(POLICY)
    for offset in sorted(offsets):
        detector.observe(34, T0 + timedelta(seconds=offset))
    alert = detector.alert(34, T0 + timedelta(seconds=max(offsets)))
    if alert is not None:
        assert alert.count >= POLICY.min_count
        assert alert.count >= POLICY.factor * max(alert.baseline, POLICY.floor) - 1e-6
