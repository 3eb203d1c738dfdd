"""The fast classifier gives exactly the straightforward one's suggestions.

``classify`` indexes the rules by keyword, remembers each text piece's tokens and matches
and each suggestion; :func:`~tests.dispatch.classification_reference.reference_classify`
does the work afresh. Both see the simulators' traffic, many texts made from the keyword
table as callers type it, and whatever hypothesis makes up; every field must agree,
reasons in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.core import classification
from dispatch.core.classification import Suggestion, classify
from dispatch.core.interrogation import QUESTIONS
from dispatch.model.vocabulary import Channel
from simulators.scenario import load_scenario
from simulators.traffic import TrafficModel
from tests.dispatch.classification_reference import (
    KEYWORDS,
    PHRASES,
    realistic_texts,
    reference_classify,
)

DIALLED = [None, "", "112", "110", "155", "156", "177", "178", "122", " 110 ", "999"]
LANGUAGE_HINTS = [None, "", "tr", "en", "de", "ar", "ru", "EN", "en-GB", "fr", "kmr"]


def _both(
    *,
    channel: Channel,
    dialled: str | None,
    text: str | None,
    language: str | None,
    answers: Mapping[str, bool] | None = None,
) -> tuple[Suggestion, Suggestion]:
    fast = classify(channel=channel, dialled=dialled, text=text, language=language, answers=answers)
    slow = reference_classify(
        channel=channel, dialled=dialled, text=text, language=language, answers=answers
    )
    return fast, slow


def _traffic(scenario: str, count: int) -> list[tuple[Channel, str | None, str | None, str]]:
    model = TrafficModel(load_scenario(scenario), run_id="fast-classify")
    calls = []
    for i in range(count):
        spec = model.call_at(i * 0.001)
        body = spec.body()
        calls.append(
            (Channel(body["channel"]), body.get("dialled"), body.get("text"), spec.language)
        )
    return calls


@pytest.mark.parametrize("scenario", ["surge", "normal-day", "earthquake"])
def test_simulated_traffic_gets_the_reference_suggestions(scenario: str) -> None:
    """Every simulated call, with and without its caller's language, is classified alike."""
    for channel, dialled, text, language in _traffic(scenario, 600):
        for hint in (None, language):
            fast, slow = _both(channel=channel, dialled=dialled, text=text, language=hint)
            assert fast == slow, text


@pytest.mark.parametrize("answered", [False, True])
def test_realistic_texts_get_the_reference_suggestions(answered: bool) -> None:
    """Keywords as typed (no Turkish letters, suffixes, one error, negated) classify alike,
    also with the call-taker's answers (those suggestions are never remembered)."""
    rng = random.Random(112)
    keys = sorted(QUESTIONS)
    for text in realistic_texts(seed=2024, count=2000):
        picked = rng.sample(keys, rng.randrange(1, 5))
        answers = {key: rng.random() < 0.5 for key in picked} if answered else None
        fast, slow = _both(
            channel=rng.choice(list(Channel)),
            dialled=rng.choice(DIALLED),
            text=text,
            language=rng.choice(LANGUAGE_HINTS),
            answers=answers,
        )
        assert fast == slow, (text, answers)


def test_no_text_is_classified_from_channel_and_number() -> None:
    """No text, an empty text and a text of blanks: every channel and number as the reference."""
    for channel in Channel:
        for dialled in DIALLED:
            for text in (None, "", "   ", "\n"):
                for language in LANGUAGE_HINTS:
                    fast, slow = _both(
                        channel=channel, dialled=dialled, text=text, language=language
                    )
                    assert fast == slow


def test_the_same_call_gets_the_same_remembered_suggestion() -> None:
    """Two calls alike share one immutable suggestion; one with answers is worked out anew."""
    first = classify(channel=Channel.PHONE, dialled="110", text="evde yangın var", language="tr")
    again = classify(channel=Channel.PHONE, dialled="110", text="EVDE YANGIN VAR", language="tr")
    answered = classify(
        channel=Channel.PHONE,
        dialled="110",
        text="evde yangın var",
        language="tr",
        answers={"people_inside": True},
    )
    assert again is first
    assert answered is not first
    assert answered == reference_classify(
        channel=Channel.PHONE,
        dialled="110",
        text="evde yangın var",
        language="tr",
        answers={"people_inside": True},
    )


def test_remembered_suggestions_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its size the suggestion memory starts again, and answers stay the reference's."""
    monkeypatch.setattr(classification, "_SUGGESTIONS", {})
    monkeypatch.setattr(classification, "_SUGGESTION_CACHE_SIZE", 5)
    for number in range(40):
        dialled = f"{number:03d}"
        fast, slow = _both(channel=Channel.PHONE, dialled=dialled, text="kaza var", language=None)
        assert fast == slow
        assert len(classification._SUGGESTIONS) <= 5


_SEPARATORS = st.sampled_from([" ", "  ", ", ", ". ", "!", "\n", "\t", "\u00a0", "-", "'", "’"])
_NOISE = st.text(
    alphabet=st.sampled_from("aıiIİsşSŞgğcçoöuüeynkzr ΣσςßـىةЁё\u0301\u0308\u064e0123456789"),
    max_size=12,
)


@st.composite
def _caller_texts(draw: st.DrawFn) -> str:
    """A text of table keywords, simulator phrases and noise, maybe misspelt or cased."""
    pieces = draw(
        st.lists(
            st.sampled_from(KEYWORDS) | st.sampled_from(PHRASES) | _NOISE,
            min_size=1,
            max_size=6,
        )
    )
    seps = draw(st.lists(_SEPARATORS, min_size=len(pieces), max_size=len(pieces)))
    text = "".join(p + s for p, s in zip(pieces, seps, strict=True))
    if draw(st.booleans()) and len(text) > 2:
        cut = draw(st.integers(0, len(text) - 2))
        text = text[:cut] + text[cut + 1] + text[cut] + text[cut + 2 :]
    case = draw(st.sampled_from(["as is", "upper", "lower", "title"]))
    return text if case == "as is" else getattr(text, case)()


@settings(max_examples=300)
@given(
    text=_caller_texts() | st.text(max_size=200),
    channel=st.sampled_from(Channel),
    dialled=st.sampled_from(DIALLED),
    language=st.sampled_from(LANGUAGE_HINTS),
)
def test_any_text_gets_the_reference_suggestion(
    text: str, channel: Channel, dialled: str | None, language: str | None
) -> None:
    """Whatever the text, number and language, the fast suggestion is the reference's."""
    fast, slow = _both(channel=channel, dialled=dialled, text=text, language=language)
    assert fast == slow
