"""The sparse histogram answers as the dense one it replaced; merged, as one of all samples."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from gamer_coordination.response_times import (
    ANSWER_STANDARDS,
    DISPATCH_STANDARDS,
    MAX_SECONDS,
    Histogram,
)


class _DenseHistogram:
    """The reference: one counter per second up to ``MAX_SECONDS`` (the former layout)."""

    def __init__(self) -> None:
        self.counts = [0] * (MAX_SECONDS + 1)
        self.count = 0
        self.overflow = 0

    def add(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.count += 1
        index = math.ceil(seconds)
        if index > MAX_SECONDS:
            self.overflow += 1
        else:
            self.counts[index] += 1

    def within(self, seconds: int) -> int:
        return sum(self.counts[: min(seconds, MAX_SECONDS) + 1])

    def percentile(self, share: float) -> float | None:
        if self.count == 0:
            return None
        rank = max(1, math.ceil(share * self.count))
        seen = 0
        for index, bucket in enumerate(self.counts):
            seen += bucket
            if seen >= rank:
                return float(index)
        return math.inf


_samples = st.lists(
    st.one_of(
        st.floats(-5, 120, allow_nan=False),
        st.floats(0, 2 * MAX_SECONDS, allow_nan=False),
        st.integers(0, MAX_SECONDS + 2).map(float),
    ),
    max_size=200,
)
_shares = (0.01, 0.5, 0.9, 0.95, 1.0)


@given(_samples)
def test_sparse_answers_as_dense(samples: list[float]) -> None:
    """Percentiles, counts within each standard and overflow agree with the dense layout."""
    sparse, dense = Histogram(), _DenseHistogram()
    for seconds in samples:
        sparse.add(seconds)
        dense.add(seconds)
    assert [sparse.percentile(s) for s in _shares] == [dense.percentile(s) for s in _shares]
    for seconds in (0, 1, 10, 15, 20, 60, MAX_SECONDS, MAX_SECONDS + 5):
        assert sparse.within(seconds) == dense.within(seconds)
    assert (sparse.count, sparse.overflow) == (dense.count, dense.overflow)


@given(_samples, _samples)
def test_a_merge_is_the_histogram_of_all_samples(first: list[float], second: list[float]) -> None:
    """Merging two periods' histograms gives the one of both periods' samples."""
    merged, one, other, every = Histogram(), Histogram(), Histogram(), Histogram()
    for seconds in first:
        one.add(seconds)
        every.add(seconds)
    for seconds in second:
        other.add(seconds)
        every.add(seconds)
    merged.merge(one)
    merged.merge(other)
    for standards in (ANSWER_STANDARDS, DISPATCH_STANDARDS):
        # the mean's sum is added in another order: equal up to rounding
        assert {**merged.summary(standards), "mean_s": None} == {
            **every.summary(standards),
            "mean_s": None,
        }
    assert math.isclose(merged.total_s, every.total_s, rel_tol=1e-9, abs_tol=1e-9)
    assert merged._counts == every._counts
