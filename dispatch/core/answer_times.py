"""Answer-time statistics per centre and channel, against NENA's call-answering standard.

NENA-STA-020.1-2020 asks that 90% of calls be answered within 15 seconds and 95% within
20 seconds. :class:`AnswerTimes` is a streaming accumulator: one histogram of one-second
buckets per (centre, channel) (``max_seconds`` + 2 counters each, so memory does not grow
with traffic), from which it computes counts, the shares answered within 15 and 20 s, the
50th/90th/95th percentiles and whether the standard is met, and writes Prometheus
exposition lines (``ng112_answer_seconds_bucket{centre="34",channel="phone",le="15"}``).

Definitions. The answer time is ``answered_at - offered_at``. A bucket ``i`` holds answer
times in ``(i - 1, i]`` seconds (bucket 0 holds exactly 0), so "within 15 s" means at most
15.000000 s and the shares are exact; percentiles are nearest-rank and exact to the second
(reported as the bucket's upper bound; ``inf`` beyond ``max_seconds``). Shares are over
answered calls; abandoned calls (the caller hung up before an answer) are counted apart,
as most answering-time reports do.

One continuous clock. :class:`AnswerClock` follows each call from its first offer: a call
overflowed to a neighbour centre, or handed from the central desk back to its province,
keeps its original ``offered_at``; each call gives one answer-time sample (its first
answer), attributed to the centre and channel that answered it.

No clock of its own: every time is an aware ``datetime`` passed in.

Saving. :meth:`AnswerTimes.save` and :meth:`AnswerClock.save` give their state as plain
values (the histograms sparse: only buckets that counted something) and ``restore`` puts
it back, so figures and clocks go on as if nothing had happened.

Errors: :class:`AnswerTimeError` (a ``ValueError``) for naive datetimes, an answer before
the offer, or an unknown call in :class:`AnswerClock`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dispatch.model.centres import CENTRAL_DESK
from dispatch.model.ids import CallId, CentreId
from dispatch.model.vocabulary import Channel

if TYPE_CHECKING:
    from collections.abc import Iterable


class AnswerTimeError(ValueError):
    """A time that cannot be measured: naive, answered before offered, or unknown call."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceLevelTarget:
    """``share`` of calls must be answered within ``within_s`` seconds."""

    within_s: int
    share: float


#: NENA-STA-020.1-2020: 90% of calls answered within 15 s, 95% within 20 s.
NENA_STA_020_1: tuple[ServiceLevelTarget, ...] = (
    ServiceLevelTarget(within_s=15, share=0.90),
    ServiceLevelTarget(within_s=20, share=0.95),
)

#: The ``le`` bounds written to the Prometheus histogram by default (seconds).
DEFAULT_EXPOSITION_BOUNDS: tuple[int, ...] = (5, 10, 15, 20, 30, 60, 120)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerTimeStats:
    """Answer-time figures for some centres and channels."""

    answered: int
    abandoned: int
    within_15s: float | None
    """Share of answered calls answered within 15 s; ``None`` with no answered call."""
    within_20s: float | None
    p50_s: float | None
    p90_s: float | None
    p95_s: float | None
    mean_s: float | None
    meets_standard: bool | None
    """Whether every target (NENA by default) is met; ``None`` with no answered call."""

    @property
    def offered(self) -> int:
        """Calls that reached an end: answered plus abandoned."""
        return self.answered + self.abandoned


def _seconds(offered_at: datetime, ended_at: datetime) -> float:
    if offered_at.tzinfo is None or ended_at.tzinfo is None:
        raise AnswerTimeError("answer times need aware datetimes")
    seconds = (ended_at - offered_at).total_seconds()
    if seconds < 0:
        raise AnswerTimeError("a call cannot end before it was offered")
    return seconds


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Histogram:
    __slots__ = ("abandoned", "counts", "total_s")

    def __init__(self, max_seconds: int) -> None:
        self.counts = [0] * (max_seconds + 2)  # 0..max_seconds, then overflow
        self.total_s = 0.0
        self.abandoned = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedHistogram:
    """One (centre, channel)'s histogram as plain values: its non-zero buckets only."""

    buckets: tuple[tuple[int, int], ...]
    """``(bucket index, count)`` of every bucket that counted a call."""
    total_s: float
    abandoned: int


#: The figures of an :class:`AnswerTimes` as :meth:`AnswerTimes.save` gives them.
SavedAnswerTimes = dict[tuple[CentreId, Channel], SavedHistogram]

#: One call's answer clock as :meth:`AnswerClock.save` gives it: its first offer, the
#: centre and channel it is offered on now, whether it was answered.
SavedClock = tuple[datetime, CentreId, Channel, bool]


class AnswerTimes:
    """Streaming answer-time accumulator per (centre, channel); bounded memory."""

    def __init__(
        self,
        *,
        max_seconds: int = 600,
        targets: tuple[ServiceLevelTarget, ...] = NENA_STA_020_1,
    ) -> None:
        if max_seconds < 20:
            raise ValueError("max_seconds must be at least 20")
        if any(t.within_s > max_seconds or not 0 < t.share <= 1 for t in targets):
            raise ValueError("targets must lie within max_seconds with a share in (0, 1]")
        self.max_seconds = max_seconds
        self.targets = targets
        self._histograms: dict[tuple[CentreId, Channel], _Histogram] = {}

    def _histogram(self, centre: CentreId, channel: Channel) -> _Histogram:
        key = (centre, channel)
        histogram = self._histograms.get(key)
        if histogram is None:
            histogram = self._histograms[key] = _Histogram(self.max_seconds)
        return histogram

    def record_answered(
        self, *, centre: CentreId, channel: Channel, offered_at: datetime, answered_at: datetime
    ) -> float:
        """Count an answered call; return its answer time in seconds."""
        seconds = _seconds(offered_at, answered_at)
        self.record_seconds(centre=centre, channel=channel, seconds=seconds)
        return seconds

    def record_seconds(self, *, centre: CentreId, channel: Channel, seconds: float) -> None:
        """Count an answered call by its answer time in seconds."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise AnswerTimeError("an answer time is a finite number of seconds, at least 0")
        histogram = self._histogram(centre, channel)
        index = min(math.ceil(seconds), self.max_seconds + 1)
        histogram.counts[index] += 1
        histogram.total_s += seconds

    def record_abandoned(
        self,
        *,
        centre: CentreId,
        channel: Channel,
        offered_at: datetime,
        abandoned_at: datetime | None = None,
    ) -> None:
        """Count a call the caller abandoned before anyone answered (time checked if given)."""
        if abandoned_at is not None:
            _seconds(offered_at, abandoned_at)
        self._histogram(centre, channel).abandoned += 1

    def keys(self) -> list[tuple[CentreId, Channel]]:
        """Every (centre, channel) seen, sorted."""
        return sorted(self._histograms)

    def save(self) -> SavedAnswerTimes:
        """The counts so far as plain values, sharing nothing mutable with the accumulator."""
        return {
            key: SavedHistogram(
                buckets=tuple((i, n) for i, n in enumerate(histogram.counts) if n),
                total_s=histogram.total_s,
                abandoned=histogram.abandoned,
            )
            for key, histogram in self._histograms.items()
        }

    def restore(self, saved: SavedAnswerTimes) -> None:
        """Replace the counts with saved ones (saved with the same ``max_seconds``)."""
        histograms: dict[tuple[CentreId, Channel], _Histogram] = {}
        for key, kept in saved.items():
            histogram = histograms[key] = _Histogram(self.max_seconds)
            for index, count in kept.buckets:
                if index >= len(histogram.counts):
                    raise ValueError("the saved figures have more buckets than max_seconds")
                histogram.counts[index] = count
            histogram.total_s = kept.total_s
            histogram.abandoned = kept.abandoned
        self._histograms = histograms

    def stats(
        self, *, centre: CentreId | None = None, channel: Channel | None = None
    ) -> AnswerTimeStats:
        """Figures for one centre and/or channel (``None`` = all of them together)."""
        counts = [0] * (self.max_seconds + 2)
        total_s = 0.0
        abandoned = 0
        for (c, ch), histogram in self._histograms.items():
            if (centre is None or c == centre) and (channel is None or ch == channel):
                counts = [a + b for a, b in zip(counts, histogram.counts, strict=True)]
                total_s += histogram.total_s
                abandoned += histogram.abandoned
        return self._figures(counts, total_s, abandoned)

    def exposition(self, *, bounds: tuple[int, ...] = DEFAULT_EXPOSITION_BOUNDS) -> list[str]:
        """Prometheus text exposition of the accumulator: histogram, abandoned, standard met.

        ``bounds`` are the ``le`` values in whole seconds (each at most ``max_seconds``).
        """
        if any(b < 0 or b > self.max_seconds for b in bounds) or list(bounds) != sorted(
            set(bounds)
        ):
            raise ValueError("bounds must be increasing whole seconds within max_seconds")
        histogram_lines = [
            "# HELP ng112_answer_seconds Time from a call's offer to its answer.",
            "# TYPE ng112_answer_seconds histogram",
        ]
        abandoned_lines = [
            "# HELP ng112_calls_abandoned_total Calls abandoned before an answer.",
            "# TYPE ng112_calls_abandoned_total counter",
        ]
        met_lines = [
            "# HELP ng112_answer_standard_met 1 if NENA-STA-020.1 answering targets are met.",
            "# TYPE ng112_answer_standard_met gauge",
        ]
        for centre, channel in self.keys():
            histogram = self._histograms[(centre, channel)]
            labels = f'centre="{_label(centre)}",channel="{_label(channel.value)}"'
            cumulative = 0
            upto = 0
            for bound in bounds:
                cumulative += sum(histogram.counts[upto : bound + 1])
                upto = bound + 1
                histogram_lines.append(
                    f'ng112_answer_seconds_bucket{{{labels},le="{bound}"}} {cumulative}'
                )
            total = sum(histogram.counts)
            histogram_lines.append(f'ng112_answer_seconds_bucket{{{labels},le="+Inf"}} {total}')
            histogram_lines.append(f"ng112_answer_seconds_sum{{{labels}}} {histogram.total_s:.3f}")
            histogram_lines.append(f"ng112_answer_seconds_count{{{labels}}} {total}")
            abandoned_lines.append(f"ng112_calls_abandoned_total{{{labels}}} {histogram.abandoned}")
            stats = self.stats(centre=centre, channel=channel)
            if stats.meets_standard is not None:
                met_lines.append(
                    f"ng112_answer_standard_met{{{labels}}} {int(stats.meets_standard)}"
                )
        return histogram_lines + abandoned_lines + met_lines

    def _figures(self, counts: list[int], total_s: float, abandoned: int) -> AnswerTimeStats:
        answered = sum(counts)
        if answered == 0:
            return AnswerTimeStats(
                answered=0,
                abandoned=abandoned,
                within_15s=None,
                within_20s=None,
                p50_s=None,
                p90_s=None,
                p95_s=None,
                mean_s=None,
                meets_standard=None,
            )
        cumulative = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)

        def share(within_s: int) -> float:
            return cumulative[within_s] / answered

        def percentile(fraction: float) -> float:
            rank = max(1, math.ceil(fraction * answered))
            for index, value in enumerate(cumulative):
                if value >= rank:
                    return float(index) if index <= self.max_seconds else math.inf
            return math.inf  # pragma: no cover - cumulative[-1] == answered >= rank

        return AnswerTimeStats(
            answered=answered,
            abandoned=abandoned,
            within_15s=share(15),
            within_20s=share(20),
            p50_s=percentile(0.50),
            p90_s=percentile(0.90),
            p95_s=percentile(0.95),
            mean_s=total_s / answered,
            meets_standard=all(share(t.within_s) >= t.share for t in self.targets),
        )


def summarise(
    records: Iterable[tuple[datetime, datetime | None]],
    *,
    centre: CentreId = CENTRAL_DESK,
    channel: Channel = Channel.PHONE,
) -> AnswerTimeStats:
    """Figures for ``(offered_at, answered_at)`` pairs; ``None`` answered means abandoned.

    Abandoned calls carry no end time here, so they are counted without a time check.
    """
    accumulator = AnswerTimes()
    for offered_at, answered_at in records:
        if answered_at is None:
            accumulator.record_abandoned(centre=centre, channel=channel, offered_at=offered_at)
        else:
            accumulator.record_answered(
                centre=centre, channel=channel, offered_at=offered_at, answered_at=answered_at
            )
    return accumulator.stats()


def exposition_lines(
    accumulator: AnswerTimes, *, bounds: tuple[int, ...] = DEFAULT_EXPOSITION_BOUNDS
) -> list[str]:
    """Prometheus text exposition of ``accumulator`` (see :meth:`AnswerTimes.exposition`)."""
    return accumulator.exposition(bounds=bounds)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Clock:
    offered_at: datetime
    centre: CentreId
    channel: Channel
    answered: bool


class AnswerClock:
    """One continuous answer clock per call, across overflow and hand-back.

    Feed it :meth:`offered` each time a call is offered to a centre (the first time starts
    the clock, later offers keep it), :meth:`answered` and :meth:`abandoned`, and
    :meth:`ended` to forget the call. Samples go to ``accumulator``.
    """

    def __init__(self, accumulator: AnswerTimes) -> None:
        self.accumulator = accumulator
        self._clocks: dict[CallId, _Clock] = {}

    def offered(
        self, call_id: CallId, *, centre: CentreId, channel: Channel, at: datetime
    ) -> datetime:
        """A centre was offered the call; return when the call's clock started."""
        if at.tzinfo is None:
            raise AnswerTimeError("answer times need aware datetimes")
        clock = self._clocks.get(call_id)
        if clock is None:
            clock = _Clock(offered_at=at, centre=centre, channel=channel, answered=False)
        else:
            clock = _Clock(
                offered_at=clock.offered_at, centre=centre, channel=channel, answered=clock.answered
            )
        self._clocks[call_id] = clock
        return clock.offered_at

    def started_at(self, call_id: CallId) -> datetime | None:
        """When the call's clock started, ``None`` for a call not followed (or ended)."""
        clock = self._clocks.get(call_id)
        return clock.offered_at if clock is not None else None

    def answered(self, call_id: CallId, *, at: datetime) -> float | None:
        """Someone answered: the first answer is a sample (seconds); later ones return None."""
        clock = self._clock(call_id)
        if clock.answered:
            _seconds(clock.offered_at, at)
            return None
        seconds = self.accumulator.record_answered(
            centre=clock.centre, channel=clock.channel, offered_at=clock.offered_at, answered_at=at
        )
        self._clocks[call_id] = _Clock(
            offered_at=clock.offered_at, centre=clock.centre, channel=clock.channel, answered=True
        )
        return seconds

    def abandoned(self, call_id: CallId, *, at: datetime) -> None:
        """The caller hung up; counted as abandoned if nobody had answered yet."""
        clock = self._clock(call_id)
        if not clock.answered:
            self.accumulator.record_abandoned(
                centre=clock.centre,
                channel=clock.channel,
                offered_at=clock.offered_at,
                abandoned_at=at,
            )
        del self._clocks[call_id]

    def ended(self, call_id: CallId) -> None:
        """Forget the call (it ended after an answer); unknown calls are ignored."""
        self._clocks.pop(call_id, None)

    def __len__(self) -> int:
        """Calls followed now."""
        return len(self._clocks)

    def save(self) -> dict[CallId, SavedClock]:
        """The calls followed now and their clocks, as plain values."""
        return {
            call_id: (clock.offered_at, clock.centre, clock.channel, clock.answered)
            for call_id, clock in self._clocks.items()
        }

    def restore(self, saved: dict[CallId, SavedClock]) -> None:
        """Follow the saved calls instead of the current ones (the accumulator is kept)."""
        self._clocks = {
            call_id: _Clock(
                offered_at=offered_at, centre=centre, channel=channel, answered=answered
            )
            for call_id, (offered_at, centre, channel, answered) in saved.items()
        }

    def _clock(self, call_id: CallId) -> _Clock:
        try:
            return self._clocks[call_id]
        except KeyError:
            raise AnswerTimeError("the call has no answer clock (never offered or ended)") from None
