"""Answer and dispatch times against the public standards, as bounded histograms. Pure.

- Answer time: a call's first answer minus its arrival. NENA-STA-020.1-2020 asks 90% within
  15 s and 95% within 20 s; NFPA 1225 (2022) asks 90% within 10 s.
- Dispatch time: the incident's first unit dispatched minus its first answer (minus its
  opening when no answer was recorded, e.g. alarms that open incidents directly). NFPA
  1225 asks 90% within 60 s.

Each series is a histogram of one-second buckets up to ``MAX_SECONDS`` plus an overflow
counter, so memory does not grow with traffic (at most ``MAX_SECONDS + 1`` buckets, only
those that hold samples); percentiles are nearest-rank and exact to the second (reported
as the bucket's upper bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_SECONDS = 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class Standard:
    """``share`` of samples must be within ``within_s`` seconds, per ``name``."""

    name: str
    within_s: int
    share: float


ANSWER_STANDARDS: tuple[Standard, ...] = (
    Standard(name="NENA-STA-020.1 90% in 15 s", within_s=15, share=0.90),
    Standard(name="NENA-STA-020.1 95% in 20 s", within_s=20, share=0.95),
    Standard(name="NFPA 1225 90% in 10 s", within_s=10, share=0.90),
)
DISPATCH_STANDARDS: tuple[Standard, ...] = (
    Standard(name="NFPA 1225 90% in 60 s", within_s=60, share=0.90),
)


class Histogram:
    """Samples in one-second buckets; bucket ``i`` holds ``(i - 1, i]`` (0 holds exactly 0).

    Sparse (only buckets that hold samples), so a period's histogram is small, two can be
    merged (:meth:`merge`) and pickling one for a snapshot costs little.
    """

    __slots__ = ("_counts", "count", "overflow", "total_s")

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self.count = 0
        self.overflow = 0
        self.total_s = 0.0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return (self.count, self.overflow, self.total_s, self._counts) == (
            other.count,
            other.overflow,
            other.total_s,
            other._counts,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def add(self, seconds: float) -> None:
        """Record one sample (negative samples, from clock skew, count as zero)."""
        seconds = max(seconds, 0.0)
        self.count += 1
        self.total_s += seconds
        index = math.ceil(seconds)
        if index > MAX_SECONDS:
            self.overflow += 1
        else:
            counts = self._counts
            counts[index] = counts.get(index, 0) + 1

    def merge(self, other: Histogram) -> None:
        """Add every sample of ``other`` (a period's histogram into a longer period's)."""
        self.count += other.count
        self.overflow += other.overflow
        self.total_s += other.total_s
        counts = self._counts
        for index, samples in other._counts.items():
            counts[index] = counts.get(index, 0) + samples

    def within(self, seconds: int) -> int:
        """How many samples are at most ``seconds``."""
        limit = min(seconds, MAX_SECONDS)
        return sum(samples for index, samples in self._counts.items() if index <= limit)

    def percentile(self, share: float) -> float | None:
        """The nearest-rank percentile, ``inf`` beyond ``MAX_SECONDS``; ``None`` when empty."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(share * self.count))
        seen = 0
        for index in sorted(self._counts):
            seen += self._counts[index]
            if seen >= rank:
                return float(index)
        return math.inf

    def summary(self, standards: tuple[Standard, ...]) -> dict[str, Any]:
        """Counts, percentiles and each standard's share and verdict, JSON-ready."""
        checks = []
        for standard in standards:
            share = self.within(standard.within_s) / self.count if self.count else None
            checks.append(
                {
                    "standard": standard.name,
                    "within_s": standard.within_s,
                    "target": standard.share,
                    "share": None if share is None else round(share, 4),
                    "met": None if share is None else share >= standard.share,
                }
            )

        def finite(value: float | None) -> float | None:
            return None if value is None or math.isinf(value) else value

        return {
            "count": self.count,
            "mean_s": round(self.total_s / self.count, 2) if self.count else None,
            "p50_s": finite(self.percentile(0.5)),
            "p90_s": finite(self.percentile(0.9)),
            "p95_s": finite(self.percentile(0.95)),
            "over_max": self.overflow,
            "standards": checks,
        }
