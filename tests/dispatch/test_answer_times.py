"""Tests for dispatch.core.answer_times: NENA figures, exposition, the continuous clock."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.core.answer_times import (
    AnswerClock,
    AnswerTimeError,
    AnswerTimes,
    exposition_lines,
    summarise,
)
from dispatch.model import CENTRAL_DESK, CallId, CentreId, Channel

ISTANBUL = CentreId("34")
HATAY = CentreId("31")
ADANA = CentreId("01")
ANTALYA = CentreId("07")
T0 = datetime(2025, 2, 6, 1, 17, tzinfo=UTC)


class SteppedClock:
    """A controlled clock: time moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


#: Answer times of a scripted shift at İstanbul (seconds), plus two abandoned calls.
SCRIPT = [2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15, 16, 18, 20, 25]


def scripted(accumulator: AnswerTimes) -> None:
    clock = SteppedClock(T0)
    answers = AnswerClock(accumulator)
    for n, seconds in enumerate(SCRIPT):
        call_id = CallId(f"call-{n}")
        answers.offered(call_id, centre=ISTANBUL, channel=Channel.PHONE, at=clock.now)
        answers.answered(call_id, at=clock.advance(seconds))
        answers.ended(call_id)
        clock.advance(1)
    for n in range(2):
        call_id = CallId(f"gone-{n}")
        answers.offered(call_id, centre=ISTANBUL, channel=Channel.PHONE, at=clock.now)
        answers.abandoned(call_id, at=clock.advance(30))
    assert len(answers) == 0


def test_scripted_sequence_figures() -> None:
    """Counts, shares within 15/20 s, nearest-rank percentiles and the verdict are exact."""
    accumulator = AnswerTimes()
    scripted(accumulator)
    stats = accumulator.stats(centre=ISTANBUL, channel=Channel.PHONE)
    assert stats.answered == 20
    assert stats.abandoned == 2
    assert stats.offered == 22
    assert stats.within_15s == 16 / 20
    assert stats.within_20s == 19 / 20
    assert (stats.p50_s, stats.p90_s, stats.p95_s) == (10.0, 18.0, 20.0)
    assert stats.mean_s == pytest.approx(218 / 20)
    assert stats.meets_standard is False  # 80% within 15 s < 90%


def test_standard_met_per_channel_and_centre() -> None:
    """A channel answering 90% within 15 s and 95% within 20 s meets NENA-STA-020.1."""
    accumulator = AnswerTimes()
    scripted(accumulator)
    for n in range(20):
        seconds = 30 if n == 0 else 15 if n == 1 else 4
        accumulator.record_seconds(centre=ISTANBUL, channel=Channel.TEXT, seconds=seconds)
    text = accumulator.stats(centre=ISTANBUL, channel=Channel.TEXT)
    assert text.within_15s == 0.95
    assert text.within_20s == 0.95
    assert text.meets_standard is True
    both = accumulator.stats(centre=ISTANBUL)
    assert both.answered == 40
    assert both.within_15s == (16 + 19) / 40
    assert accumulator.stats(centre=HATAY).meets_standard is None
    assert accumulator.stats(centre=HATAY).answered == 0


def test_threshold_is_inclusive_to_the_microsecond() -> None:
    """15.000 s is within 15 s; 15.2 s is not."""
    stats = summarise(
        [
            (T0, T0 + timedelta(seconds=15)),
            (T0, T0 + timedelta(seconds=15.2)),
            (T0, None),
        ]
    )
    assert stats.within_15s == 0.5
    assert stats.abandoned == 1
    assert stats.p50_s == 15.0
    assert stats.p95_s == 16.0


def test_beyond_the_histogram_is_infinite() -> None:
    """An answer after max_seconds lands in the overflow bucket: percentile inf, not lost."""
    accumulator = AnswerTimes(max_seconds=60)
    accumulator.record_seconds(centre=ADANA, channel=Channel.PHONE, seconds=600)
    stats = accumulator.stats()
    assert stats.answered == 1
    assert stats.p50_s == float("inf")
    assert stats.within_20s == 0.0


def test_exposition_lines() -> None:
    """Prometheus lines: cumulative buckets per le, +Inf, sum, count, abandoned, verdict."""
    accumulator = AnswerTimes()
    scripted(accumulator)
    lines = exposition_lines(accumulator, bounds=(5, 15, 20))
    labels = 'centre="34",channel="phone"'
    assert "# TYPE ng112_answer_seconds histogram" in lines
    assert f'ng112_answer_seconds_bucket{{{labels},le="5"}} 5' in lines
    assert f'ng112_answer_seconds_bucket{{{labels},le="15"}} 16' in lines
    assert f'ng112_answer_seconds_bucket{{{labels},le="20"}} 19' in lines
    assert f'ng112_answer_seconds_bucket{{{labels},le="+Inf"}} 20' in lines
    assert f"ng112_answer_seconds_sum{{{labels}}} 218.000" in lines
    assert f"ng112_answer_seconds_count{{{labels}}} 20" in lines
    assert f"ng112_calls_abandoned_total{{{labels}}} 2" in lines
    assert f"ng112_answer_standard_met{{{labels}}} 0" in lines
    with pytest.raises(ValueError, match="increasing"):
        exposition_lines(accumulator, bounds=(20, 15))


def test_exposition_parses_with_prometheus_client() -> None:
    """The exposition is valid Prometheus text: the reference parser reads it back."""
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    accumulator = AnswerTimes()
    scripted(accumulator)
    text = "\n".join(exposition_lines(accumulator)) + "\n"
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {
        "ng112_answer_seconds",
        "ng112_calls_abandoned",
        "ng112_answer_standard_met",
    }
    count = [s for s in families["ng112_answer_seconds"].samples if s.name.endswith("_count")]
    assert count[0].value == 20


def test_clock_continues_from_desk_to_province() -> None:
    """A call handed from the central desk back to a province keeps its original offered_at."""
    clock = SteppedClock(T0)
    accumulator = AnswerTimes()
    answers = AnswerClock(accumulator)
    call_id = CallId("call-ru")
    started = answers.offered(call_id, centre=CENTRAL_DESK, channel=Channel.PHONE, at=clock.now)
    assert answers.answered(call_id, at=clock.advance(12)) == 12.0
    clock.advance(28)  # the desk takes incident and address, then hands back
    assert answers.offered(call_id, centre=ANTALYA, channel=Channel.PHONE, at=clock.now) == started
    assert answers.started_at(call_id) == T0
    assert answers.answered(call_id, at=clock.advance(5)) is None  # no second sample
    assert accumulator.stats(centre=CENTRAL_DESK).answered == 1
    assert accumulator.stats(centre=ANTALYA).answered == 0
    answers.ended(call_id)
    assert answers.started_at(call_id) is None


def test_clock_continues_through_overflow() -> None:
    """A call overflowed from Hatay to Adana is timed from its first offer, for Adana."""
    clock = SteppedClock(T0)
    accumulator = AnswerTimes()
    answers = AnswerClock(accumulator)
    call_id = CallId("call-quake")
    answers.offered(call_id, centre=HATAY, channel=Channel.PHONE, at=clock.now)
    answers.offered(call_id, centre=ADANA, channel=Channel.PHONE, at=clock.advance(3))
    assert answers.answered(call_id, at=clock.advance(6)) == 9.0
    assert accumulator.stats(centre=ADANA).p50_s == 9.0
    assert accumulator.stats(centre=HATAY).answered == 0


def test_bad_times_are_refused() -> None:
    """Naive datetimes, answers before offers and unknown calls raise AnswerTimeError."""
    accumulator = AnswerTimes()
    naive = datetime(2025, 1, 1)  # noqa: DTZ001 - the naive value under test
    with pytest.raises(AnswerTimeError, match="aware"):
        accumulator.record_answered(
            centre=ADANA, channel=Channel.PHONE, offered_at=naive, answered_at=naive
        )
    with pytest.raises(AnswerTimeError, match="before"):
        accumulator.record_answered(
            centre=ADANA, channel=Channel.PHONE, offered_at=T0, answered_at=T0 - timedelta(1)
        )
    with pytest.raises(AnswerTimeError, match="finite"):
        accumulator.record_seconds(centre=ADANA, channel=Channel.PHONE, seconds=float("nan"))
    answers = AnswerClock(accumulator)
    with pytest.raises(AnswerTimeError, match="no answer clock"):
        answers.answered(CallId("nobody"), at=T0)
    with pytest.raises(ValueError, match="max_seconds"):
        AnswerTimes(max_seconds=5)
    assert accumulator.keys() == []


@given(st.lists(st.floats(0, 700, allow_nan=False), min_size=1, max_size=200))
def test_shares_match_a_direct_count(samples: list[float]) -> None:
    """The histogram's shares equal a direct count over the raw answer times."""
    accumulator = AnswerTimes()
    for seconds in samples:
        accumulator.record_seconds(centre=ADANA, channel=Channel.PHONE, seconds=seconds)
    stats = accumulator.stats()
    assert stats.within_15s == sum(s <= 15 for s in samples) / len(samples)
    assert stats.within_20s == sum(s <= 20 for s in samples) / len(samples)
    assert stats.answered == len(samples)


# -- saving and restoring -------------------------------------------------------------------

_CENTRES = (ADANA, HATAY, CENTRAL_DESK)
_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["offered", "offered", "answered", "answered", "abandoned", "ended"]),
        st.integers(0, 2),
        st.sampled_from(_CENTRES),
        st.sampled_from([Channel.PHONE, Channel.TEXT]),
        st.floats(0, 30, allow_nan=False),
    ),
    min_size=3,
    max_size=60,
)
"""Steps of calls ``call-0`` to ``call-2``, each some seconds after the one before."""


Step = tuple[str, int, CentreId, Channel, float]


def _step(answers: AnswerClock, steps: list[Step], index: int) -> object:
    """Step ``index`` given to the clock; what it answered or the refusal."""
    kind, n, centre, channel, _ = steps[index]
    call_id = CallId(f"call-{n}")
    at = T0 + timedelta(seconds=sum(step[4] for step in steps[: index + 1]))
    try:
        if kind == "offered":
            return answers.offered(call_id, centre=centre, channel=channel, at=at)
        if kind == "answered":
            return answers.answered(call_id, at=at)
        if kind == "abandoned":
            answers.abandoned(call_id, at=at)
        else:
            answers.ended(call_id)
    except AnswerTimeError as exc:
        return str(exc)
    return None


def _figures(answers: AnswerClock) -> tuple[object, ...]:
    """Every figure of the accumulator and every clock followed."""
    accumulator = answers.accumulator
    keys = accumulator.keys()  # a sorted list, not a mapping's keys
    per_key = [accumulator.stats(centre=c, channel=ch) for c, ch in keys]
    started = [answers.started_at(CallId(f"call-{n}")) for n in range(3)]
    return (accumulator.exposition(), accumulator.stats(), per_key, started, len(answers))


@settings(max_examples=200)
@given(steps=_STEPS, where=st.floats(0, 1))
def test_restored_figures_and_clocks_go_on_like_the_saved_ones(
    steps: list[Step], where: float
) -> None:
    """Save (through pickle) after some steps, restore elsewhere: the same answers after."""
    split = round(where * len(steps))
    saved_answers = AnswerClock(AnswerTimes())
    for index in range(split):
        _step(saved_answers, steps, index)
    counts, clocks = pickle.loads(  # noqa: S301 - our own bytes
        pickle.dumps((saved_answers.accumulator.save(), saved_answers.save()))
    )
    restored = AnswerClock(AnswerTimes())
    restored.offered(CallId("call-0"), centre=ADANA, channel=Channel.PHONE, at=T0)
    restored.accumulator.record_seconds(centre=HATAY, channel=Channel.TEXT, seconds=3.0)
    restored.accumulator.restore(counts)
    restored.restore(clocks)
    assert _figures(restored) == _figures(saved_answers)
    for index in range(split, len(steps)):
        assert _step(restored, steps, index) == _step(saved_answers, steps, index)
    assert _figures(restored) == _figures(saved_answers)


def test_a_restored_clock_remembers_the_call_was_answered() -> None:
    """An answered call restored gives no second sample when answered again."""
    answers = AnswerClock(AnswerTimes())
    call_id = CallId("call-ru")
    answers.offered(call_id, centre=CENTRAL_DESK, channel=Channel.PHONE, at=T0)
    answers.answered(call_id, at=T0 + timedelta(seconds=12))
    restored = AnswerClock(AnswerTimes())
    restored.accumulator.restore(answers.accumulator.save())
    restored.restore(answers.save())
    restored.offered(call_id, centre=ANTALYA, channel=Channel.PHONE, at=T0 + timedelta(seconds=40))
    assert restored.answered(call_id, at=T0 + timedelta(seconds=45)) is None
    assert restored.started_at(call_id) == T0
    assert restored.accumulator.stats().answered == 1


def test_saved_figures_keep_only_buckets_that_counted() -> None:
    """The saved histogram is sparse; figures saved with more buckets are refused."""
    accumulator = AnswerTimes(max_seconds=700)
    accumulator.record_seconds(centre=ADANA, channel=Channel.PHONE, seconds=650.0)
    accumulator.record_seconds(centre=ADANA, channel=Channel.PHONE, seconds=4.2)
    saved = accumulator.save()
    assert saved[(ADANA, Channel.PHONE)].buckets == ((5, 1), (650, 1))
    with pytest.raises(ValueError, match="buckets"):
        AnswerTimes().restore(saved)
