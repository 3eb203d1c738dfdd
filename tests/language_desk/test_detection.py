"""Tests for language_desk.detection: precedence, length weighting, evidence, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from language_desk import (
    UNDETERMINED,
    DetectionSettings,
    EvidenceSource,
    InvalidDeskSettings,
    InvalidLanguageHint,
    LanguageDeskError,
    LanguageVerdict,
    Py3LangidIdentifier,
    default_identifier,
    detect_language,
)


def detect(
    *,
    text: str | None = None,
    mcc: str | None = None,
    caller_choice: str | None = None,
    ivr_digit: str | None = None,
    operator_flag: str | None = None,
    detection: DetectionSettings | None = None,
) -> LanguageVerdict:
    return detect_language(
        text=text,
        mcc=mcc,
        caller_choice=caller_choice,
        ivr_digit=ivr_digit,
        operator_flag=operator_flag,
        settings=detection,
    )


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Помогите, мой муж упал с балкона", "ru"),
        ("Hilfe, mein Mann ist von der Leiter gestürzt", "de"),
        ("Please help, my wife fell down the stairs", "en"),
        ("مساعدة، زوجي سقط من الشرفة", "ar"),
        ("کمک، شوهرم از بالکن افتاد", "fa"),
        ("Допоможіть, мій чоловік впав з балкона", "uk"),
        ("Acil ambulans lazım, Konyaaltı sahilinde bir adam boğuluyor", "tr"),
    ],
)
def test_offline_model_reads_emergency_texts(text: str, language: str) -> None:
    """Sentence-length texts are identified offline with enough confidence to decide."""
    verdict = detect(text=text)
    assert verdict.language == language
    assert verdict.decided_by is EvidenceSource.TEXT
    assert verdict.confidence >= 0.5
    [evidence] = verdict.evidence
    assert evidence.source is EvidenceSource.TEXT
    assert evidence.detail is not None
    assert "letters" in evidence.detail


def test_short_text_is_weighed_down() -> None:
    """A one-word text is too short to decide: the call stays in the home language."""
    verdict = detect(text="help")
    assert verdict.language == "tr"
    assert verdict.decided_by is None
    [evidence] = verdict.evidence
    assert evidence.confidence < 0.3


def test_german_sim_alone_is_a_hint_for_german() -> None:
    """A German SIM (MCC 262) with nothing else gives German, from the home network."""
    verdict = detect(mcc="262")
    assert verdict.language == "de"
    assert verdict.decided_by is EvidenceSource.SIM_HOME_NETWORK
    assert verdict.evidence[0].detail == "MCC 262 (Germany)"
    assert verdict.foreign


def test_confident_turkish_text_beats_a_german_sim() -> None:
    """A Turkish speaker living in Germany: a confident Turkish text outweighs the SIM."""
    verdict = detect(mcc="262", text="Yardım edin, kocam merdivenden düştü")
    assert verdict.language == "tr"
    assert verdict.decided_by is EvidenceSource.TEXT
    assert {e.source for e in verdict.evidence} == {
        EvidenceSource.TEXT,
        EvidenceSource.SIM_HOME_NETWORK,
    }
    assert not verdict.foreign


def test_weak_text_narrows_a_multilingual_sim() -> None:
    """A Swiss SIM with a short French text picks French among the SIM's languages."""
    verdict = detect(mcc="228", text="au secours")
    assert verdict.language == "fr"
    assert verdict.decided_by is EvidenceSource.SIM_HOME_NETWORK


def test_turkish_sim_and_unknown_mcc() -> None:
    """A Turkish SIM points home; an MCC outside the table gives no evidence at all."""
    assert detect(mcc="286").language == "tr"
    verdict = detect(mcc="999")
    assert verdict.evidence == ()
    assert verdict.language == "tr"


def test_caller_choice_beats_text_and_sim() -> None:
    """The caller's choice in the app decides over a text and a SIM."""
    verdict = detect(caller_choice="ar", mcc="262", text="Hilfe, mein Mann ist gestürzt")
    assert verdict.language == "ar"
    assert verdict.decided_by is EvidenceSource.CALLER_CHOICE
    assert len(verdict.evidence) == 3


def test_ivr_digit_map_is_a_setting() -> None:
    """IVR digit 5 is Russian by default; the map can be changed; unmapped digits say nothing."""
    assert detect(ivr_digit="5").language == "ru"
    custom = DetectionSettings(ivr_digits={"1": "tr", "2": "fa"})
    assert detect(ivr_digit="2", detection=custom).language == "fa"
    verdict = detect(ivr_digit="9")
    assert verdict.evidence == ()
    assert verdict.decided_by is None


def test_operator_flag_beats_everything() -> None:
    """The call-taker heard the caller: their flag wins over choice, IVR, text and SIM."""
    verdict = detect(
        operator_flag="tr",
        caller_choice="en",
        ivr_digit="3",
        text="Помогите, мой муж упал с балкона",
        mcc="250",
    )
    assert verdict.language == "tr"
    assert verdict.decided_by is EvidenceSource.OPERATOR
    assert verdict.confidence == 1.0
    assert verdict.evidence[0].source is EvidenceSource.OPERATOR


def test_foreign_flag_takes_the_best_foreign_hint() -> None:
    """Flagged "foreign": a short Russian text or a Russian SIM names the language."""
    assert detect(operator_flag="foreign", text="Помогите").language == "ru"
    assert detect(operator_flag="foreign", mcc="250").language == "ru"
    assert detect(operator_flag="foreign", caller_choice="de").language == "de"
    verdict = detect(operator_flag="foreign")
    assert verdict.language == UNDETERMINED
    assert verdict.foreign


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"caller_choice": "Arabic"}, "caller choice"),
        ({"operator_flag": "<b>"}, "operator flag"),
        ({"ivr_digit": "12"}, "IVR digit"),
        ({"mcc": "26x"}, "mcc"),
    ],
)
def test_malformed_hints_are_refused_without_echo(kwargs: dict[str, str], field: str) -> None:
    """A malformed hint raises InvalidLanguageHint naming the field, never the value."""
    with pytest.raises(InvalidLanguageHint) as info:
        detect(**kwargs)  # type: ignore[arg-type]
    assert info.value.source == field
    assert next(iter(kwargs.values())) not in str(info.value)
    assert isinstance(info.value, LanguageDeskError)


def test_settings_are_validated() -> None:
    """Detection settings must include the home language and use well-formed codes."""
    with pytest.raises(InvalidDeskSettings):
        DetectionSettings(text_languages=("en", "de"))
    with pytest.raises(InvalidDeskSettings):
        DetectionSettings(ivr_digits={"10": "en"})
    with pytest.raises(InvalidLanguageHint):
        DetectionSettings(ivr_digits={"1": "English"})
    with pytest.raises(InvalidDeskSettings, match="unknown to the model"):
        Py3LangidIdentifier(("tr", "qq"))


def test_identifier_is_shared_and_restricted() -> None:
    """The default identifier is loaded once per language set and ranks only those."""
    first = default_identifier()
    assert default_identifier() is first
    ranking = first.rank("Hilfe, mein Mann ist gestürzt")
    assert {lang for lang, _ in ranking} == set(first.languages)
    assert sum(p for _, p in ranking) == pytest.approx(1.0, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=300), mcc=st.sampled_from([None, "262", "286", "250", "999"]))
def test_any_text_gives_a_verdict(text: str, mcc: str | None) -> None:
    """Whatever the text (hostile, empty, binary-ish), detection returns a verdict."""
    verdict = detect(text=text, mcc=mcc)
    assert 0.0 <= verdict.confidence <= 1.0
    assert verdict.language
