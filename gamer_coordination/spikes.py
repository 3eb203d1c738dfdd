"""Spike detection: a province's call rate far above its own usual level. Pure.

An earthquake first shows as a spike: Osmaniye's centre took ten times its usual volume on
6 February 2023, İzmir a thousand calls in ten minutes in 2020. Each province keeps an
exponentially weighted moving average (EWMA) of its calls per bucket (one minute by
default). The bucket in progress is a spike when it holds at least ``min_count`` calls and
at least ``factor`` times the baseline (the baseline never counts below ``floor``, so a
quiet province needs ``min_count`` calls, not one, to alarm).

Time is an input: :meth:`SpikeDetector.observe` takes each call's time, and
:meth:`SpikeDetector.evaluate` the time "now" (from the engine's clock or the last event),
so replaying the log gives the same alerts and tests control time exactly. Buckets are
aligned to the Unix epoch; buckets in which nothing was observed count as zero calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikePolicy:
    """How a spike is told from noise."""

    bucket_s: float = 60.0
    alpha: float = 0.1
    factor: float = 5.0
    min_count: int = 10
    floor: float = 1.0

    def __post_init__(self) -> None:
        if not self.bucket_s > 0:
            raise ValueError("bucket_s must be positive")
        if not 0 < self.alpha <= 1:
            raise ValueError("alpha must be within (0, 1]")
        if self.factor < 1 or self.min_count < 1 or not self.floor > 0:
            raise ValueError("factor and min_count must be >= 1 and floor positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikeAlert:
    """A province whose current bucket holds far more calls than usual."""

    plate: int
    count: int
    baseline: float
    ratio: float
    bucket_start: datetime


@dataclass(slots=True)
class _Series:
    bucket: int
    count: int = 0
    baseline: float = 0.0


class SpikeDetector:
    """Per-province EWMA baselines of calls per bucket; see the module docstring."""

    def __init__(self, policy: SpikePolicy | None = None) -> None:
        self.policy = policy or SpikePolicy()
        self._series: dict[int, _Series] = {}

    def _bucket(self, at: datetime) -> int:
        return math.floor(at.timestamp() / self.policy.bucket_s)

    def _advance(self, series: _Series, bucket: int) -> None:
        """Fold completed buckets (with empty ones in between) into the baseline."""
        if bucket <= series.bucket:
            return
        alpha = self.policy.alpha
        series.baseline += alpha * (series.count - series.baseline)
        gap = bucket - series.bucket - 1
        if gap > 0:
            series.baseline *= (1.0 - alpha) ** min(gap, 10_000)
        series.bucket = bucket
        series.count = 0

    def observe(self, plate: int, at: datetime) -> None:
        """Count a call in ``plate`` at ``at`` (a late call counts in the current bucket)."""
        bucket = self._bucket(at)
        series = self._series.get(plate)
        if series is None:
            series = self._series[plate] = _Series(bucket)
        self._advance(series, bucket)
        series.count += 1

    def baseline(self, plate: int) -> float:
        """The province's usual calls per bucket (0.0 if never seen)."""
        series = self._series.get(plate)
        return series.baseline if series else 0.0

    def alert(self, plate: int, now: datetime) -> SpikeAlert | None:
        """The province's spike at ``now``, if its current bucket is one."""
        series = self._series.get(plate)
        if series is None:
            return None
        self._advance(series, self._bucket(now))
        policy = self.policy
        reference = max(series.baseline, policy.floor)
        if series.count < policy.min_count or series.count < policy.factor * reference:
            return None
        return SpikeAlert(
            plate=plate,
            count=series.count,
            baseline=round(series.baseline, 3),
            ratio=round(series.count / reference, 2),
            bucket_start=datetime.fromtimestamp(
                series.bucket * policy.bucket_s, tz=now.tzinfo or None
            ),
        )

    def evaluate(self, now: datetime) -> dict[int, SpikeAlert]:
        """Every province in a spike at ``now``."""
        alerts = {}
        for plate in self._series:
            found = self.alert(plate, now)
            if found is not None:
                alerts[plate] = found
        return alerts

    def saved(self) -> dict[int, tuple[int, int, float]]:
        """Each province's series as ``(bucket, count, baseline)``, for a snapshot."""
        return {p: (s.bucket, s.count, s.baseline) for p, s in self._series.items()}

    def restore(self, saved: dict[int, tuple[int, int, float]]) -> None:
        """Replace the series with what :meth:`saved` returned (the policy stays)."""
        self._series = {p: _Series(b, c, baseline) for p, (b, c, baseline) in saved.items()}

    @property
    def plates(self) -> list[int]:
        """Provinces with a baseline."""
        return list(self._series)
