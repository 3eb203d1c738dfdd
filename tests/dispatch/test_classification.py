"""Classification help: five languages, misspellings, channels, dialled numbers and answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.classification import LANGUAGES, classify
from dispatch.core.taxonomy import TAXONOMY, IncidentType, Responder, resolve_agencies
from dispatch.model.vocabulary import Agency, Channel, Ground, Priority

T = IncidentType

# (language, text, expected type). Our own sentences, as callers say them or call-takers
# type them: without Turkish letters, in capitals, with a typing error.
TEXTS: list[tuple[str, str, IncidentType]] = [
    # Turkish
    ("tr", "yangin var", T.FIRE_OTHER),
    ("tr", "yangın var, çabuk gelin", T.FIRE_OTHER),
    ("tr", "YANGIN VAR", T.FIRE_OTHER),
    ("tr", "yanign var", T.FIRE_OTHER),
    ("tr", "evimiz yaniyor, mutfaktan alevler cikiyor", T.FIRE_BUILDING),
    ("tr", "Apartmanın 3. katında yangın çıktı", T.FIRE_BUILDING),
    ("tr", "yolda bir araba yanıyor", T.FIRE_VEHICLE),
    ("tr", "fabrikada büyük yangın var", T.FIRE_INDUSTRIAL),
    ("tr", "ormanda yangın çıktı, duman görünüyor", T.FOREST_FIRE),
    ("tr", "babam kalp krizi geçiriyor", T.CHEST_PAIN),
    ("tr", "annem nefes alamıyor", T.BREATHING_PROBLEM),
    ("tr", "annem nefes alamiyor", T.BREATHING_PROBLEM),
    ("tr", "dedem bayıldı, ayılmıyor", T.UNCONSCIOUS),
    ("tr", "kalbi durdu, nefes almıyor", T.CARDIAC_ARREST),
    ("tr", "babamın yüzü kaydı, konuşamıyor", T.STROKE),
    ("tr", "eşimin doğum sancısı başladı, suyu geldi", T.CHILDBIRTH),
    ("tr", "çocuk ilaç içti, zehirlenmiş olabilir", T.POISONING),
    ("tr", "kaza var, iki araba çarpıştı", T.TRAFFIC_COLLISION),
    ("tr", "trafik kazasi oldu", T.TRAFFIC_COLLISION),
    ("tr", "DEPREM OLDU, BİNA ÇÖKTÜ", T.EARTHQUAKE_COLLAPSE),
    ("tr", "enkaz altında insanlar var", T.EARTHQUAKE_COLLAPSE),
    ("tr", "enkaz altinda kalanlar var sesleri geliyor", T.EARTHQUAKE_COLLAPSE),
    ("tr", "kocam beni dövüyor", T.DOMESTIC_VIOLENCE),
    ("tr", "sokakta silahlı kavga var, ateş açtılar", T.CRIME_WEAPON),
    ("tr", "evime hırsız girdi", T.CRIME_PROPERTY),
    ("tr", "gaz kokusu var", T.GAS_LEAK),
    ("tr", "dere taştı, su bastı", T.FLOOD),
    ("tr", "köyde heyelan oldu, yol kapandı", T.LANDSLIDE),
    ("tr", "çocuğum kayboldu", T.MISSING_PERSON),
    ("tr", "denizde biri boğuluyor", T.DROWNING),
    ("tr", "asansörde mahsur kaldık", T.TECHNICAL_RESCUE),
    ("tr", "nöbetçi eczane hangisi", T.INFORMATION_REQUEST),
    # English
    ("en", "there is a fire in the kitchen", T.FIRE_BUILDING),
    ("en", "Fire! Fire!", T.FIRE_OTHER),
    ("en", "my husband is having a heart attack", T.CHEST_PAIN),
    ("en", "she can't breathe", T.BREATHING_PROBLEM),
    ("en", "he is not breathing, no pulse", T.CARDIAC_ARREST),
    ("en", "car accident on the highway", T.TRAFFIC_COLLISION),
    ("en", "people trapped under the rubble after the earthquake", T.EARTHQUAKE_COLLAPSE),
    ("en", "someone was stabbed", T.CRIME_WEAPON),
    ("en", "our boat is sinking", T.SEA_RESCUE),
    ("en", "my son is missing since this morning", T.MISSING_PERSON),
    ("en", "I smell gas in the building", T.GAS_LEAK),
    # German
    ("de", "Feuer im Haus!", T.FIRE_BUILDING),
    ("de", "Es brennt in der Küche", T.FIRE_BUILDING),
    ("de", "Verkehrsunfall, zwei Verletzte", T.TRAFFIC_COLLISION),
    ("de", "Unfall auf der Straße", T.TRAFFIC_COLLISION),
    ("de", "mein Mann ist bewusstlos", T.UNCONSCIOUS),
    ("de", "Herzinfarkt, bitte schnell", T.CHEST_PAIN),
    ("de", "Verdacht auf Schlaganfall", T.STROKE),
    ("de", "Einbruch in unsere Wohnung", T.CRIME_PROPERTY),
    ("de", "Waldbrand am Hang", T.FOREST_FIRE),
    # Arabic
    ("ar", "حريق في المنزل", T.FIRE_BUILDING),
    ("ar", "حريق كبير", T.FIRE_OTHER),
    ("ar", "حادث سير على الطريق", T.TRAFFIC_COLLISION),
    ("ar", "زوجي فاقد الوعي", T.UNCONSCIOUS),
    ("ar", "أبي عنده ألم في الصدر", T.CHEST_PAIN),
    ("ar", "زلزال، ناس تحت الأنقاض", T.EARTHQUAKE_COLLAPSE),
    ("ar", "طفل يغرق في البحر", T.DROWNING),
    ("ar", "سرقة في المحل", T.CRIME_PROPERTY),
    # Russian
    ("ru", "пожар в квартире", T.FIRE_BUILDING),
    ("ru", "Пожар!", T.FIRE_OTHER),
    ("ru", "авария на дороге, есть раненые", T.TRAFFIC_COLLISION),
    ("ru", "человек без сознания", T.UNCONSCIOUS),
    ("ru", "у мужа сердечный приступ", T.CHEST_PAIN),
    ("ru", "она не может дышать", T.BREATHING_PROBLEM),
    ("ru", "землетрясение, люди под завалами", T.EARTHQUAKE_COLLAPSE),
    ("ru", "ребенок тонет в море", T.DROWNING),
    ("ru", "пахнет газом в подъезде", T.GAS_LEAK),
]


@pytest.mark.parametrize(("language", "text", "expected"), TEXTS)
def test_text_suggests_the_type(language: str, text: str, expected: IncidentType) -> None:
    """Each sentence, in any of the five languages, suggests the expected type with reasons."""
    suggestion = classify(channel=Channel.PHONE, dialled="112", text=text)
    assert suggestion.incident_type is expected, suggestion.reasons
    assert 0.0 < suggestion.confidence <= 1.0
    assert any(reason.startswith("keyword") for reason in suggestion.reasons)


def test_every_language_is_covered_by_the_table() -> None:
    """The sentence table has cases in all five languages the desk serves."""
    assert {language for language, _, _ in TEXTS} == set(LANGUAGES)


@pytest.mark.parametrize(
    ("text", "not_expected"),
    [
        ("пожалуйста помогите", T.FIRE_OTHER),  # "please" is one letter from "fire"
        ("piyangoyu kazandım", T.TRAFFIC_COLLISION),  # "kazan-" is not "kaza"
        ("selam, bir şey soracaktım", T.FLOOD),  # "selam" is not "sel"
        ("nöbetçi eczane hangisi", T.SEIZURE),  # pharmacy on duty, not a seizure
        ("yangın yok, sadece duman kokusu", T.FIRE_BUILDING),
        ("المنزل", T.CHEST_PAIN),  # "the house" starts like "pain"
        ("потерял сознание", T.MISSING_PERSON),  # lost consciousness, not lost
    ],
)
def test_look_alike_words_do_not_match(text: str, not_expected: IncidentType) -> None:
    """Words that merely start like a keyword, or a negated keyword, do not suggest it."""
    suggestion = classify(channel=Channel.PHONE, dialled=None, text=text)
    assert suggestion.incident_type is not not_expected
    assert not_expected not in suggestion.also


def test_negation_cancels_a_keyword() -> None:
    """'yangın yok, kaza var': the fire is denied, the collision stands."""
    suggestion = classify(channel=Channel.PHONE, dialled="112", text="yangın yok, kaza var")
    assert suggestion.incident_type is T.TRAFFIC_COLLISION
    assert T.FIRE_OTHER not in suggestion.also


def test_ecall_is_a_traffic_collision() -> None:
    """An eCall with no words is a collision needing health and security."""
    suggestion = classify(channel=Channel.ECALL, dialled=None, text=None)
    assert suggestion.incident_type is T.TRAFFIC_COLLISION
    assert suggestion.responders == (Responder.HEALTH, Responder.SECURITY)
    assert suggestion.reasons == ("channel ecall -> traffic.collision (+2)",)


def test_ecall_with_fire_brings_the_fire_brigade() -> None:
    """An eCall where the occupant says the car is burning adds the fire brigade."""
    suggestion = classify(channel=Channel.ECALL, dialled=None, text="araba yanıyor")
    assert suggestion.incident_type is T.TRAFFIC_COLLISION
    assert T.FIRE_VEHICLE in suggestion.also
    assert Responder.FIRE in suggestion.responders


def test_panic_app_is_domestic_violence_priority_one() -> None:
    """A silent panic-app alarm is domestic violence, priority 1, police or gendarmerie."""
    suggestion = classify(channel=Channel.PANIC_APP, dialled=None, text=None)
    assert suggestion.incident_type is T.DOMESTIC_VIOLENCE
    assert suggestion.priority is Priority.IMMEDIATE
    assert suggestion.needs_security


@pytest.mark.parametrize(
    ("dialled", "expected"),
    [
        ("110", T.FIRE_OTHER),
        ("155", T.SECURITY_OTHER),
        ("156", T.SECURITY_OTHER),
        ("177", T.FOREST_FIRE),
        ("178", T.SEA_RESCUE),
        ("122", T.DISASTER_OTHER),
    ],
)
def test_dialled_number_is_a_hint(dialled: str, expected: IncidentType) -> None:
    """With no words, the old number dialled suggests its agency's default type."""
    suggestion = classify(channel=Channel.PHONE, dialled=dialled, text=None)
    assert suggestion.incident_type is expected
    assert suggestion.reasons[0].startswith(f"dialled {dialled}")


def test_dialled_number_picks_the_kind_within_its_family() -> None:
    """110 plus 'araba' is a vehicle fire; the number pushes the family, words pick the kind."""
    suggestion = classify(channel=Channel.PHONE, dialled="110", text="araba yanıyor")
    assert suggestion.incident_type is T.FIRE_VEHICLE


def test_words_outweigh_the_dialled_number() -> None:
    """Dialling 155 about a heart attack still suggests a medical type."""
    suggestion = classify(channel=Channel.PHONE, dialled="155", text="kalp krizi, göğüs ağrısı")
    assert suggestion.incident_type is T.CHEST_PAIN


def test_112_says_nothing() -> None:
    """Dialling 112 with no words leaves the type unknown, confidence 0."""
    suggestion = classify(channel=Channel.PHONE, dialled="112", text=None)
    assert suggestion.incident_type is T.UNKNOWN
    assert suggestion.confidence == 0.0
    assert suggestion.responders == ()


def test_answers_turn_chest_pain_into_cardiac_arrest() -> None:
    """Chest pain, then 'not conscious' and 'not breathing': cardiac arrest, priority 1."""
    before = classify(channel=Channel.PHONE, dialled="112", text="kalp krizi")
    after = classify(
        channel=Channel.PHONE,
        dialled="112",
        text="kalp krizi",
        answers={"conscious": False, "breathing": False},
    )
    assert (before.incident_type, before.priority) == (T.CHEST_PAIN, Priority.URGENT)
    assert (after.incident_type, after.priority) == (T.CARDIAC_ARREST, Priority.IMMEDIATE)
    assert any(reason.startswith("answers") for reason in after.reasons)


def test_answers_lower_a_minor_collision() -> None:
    """A collision where no one is hurt drops to priority 3; someone trapped adds fire."""
    minor = classify(channel=Channel.ECALL, dialled=None, text=None, answers={"injured": False})
    trapped = classify(channel=Channel.ECALL, dialled=None, text=None, answers={"trapped": True})
    assert minor.priority is Priority.PROMPT
    assert trapped.priority is Priority.IMMEDIATE
    assert Responder.FIRE in trapped.responders


def test_answers_alone_find_a_cardiac_arrest() -> None:
    """Nothing understood, but 'not conscious, not breathing': cardiac arrest."""
    suggestion = classify(
        channel=Channel.PHONE,
        dialled="112",
        text="alo alo",
        answers={"conscious": False, "breathing": False},
    )
    assert suggestion.incident_type is T.CARDIAC_ARREST
    assert suggestion.priority is Priority.IMMEDIATE


def test_suggestion_carries_the_questions_to_ask() -> None:
    """The suggestion lists the key questions of its type, starting with consciousness."""
    suggestion = classify(channel=Channel.PHONE, dialled="112", text="bayıldı")
    assert [q.key for q in suggestion.questions][:2] == ["conscious", "breathing"]


def test_language_hint_weights_other_languages_down() -> None:
    """With a caller language, keywords of another language count less (Turkish fully)."""
    plain = classify(channel=Channel.PHONE, dialled=None, text="fire", language=None)
    hinted = classify(channel=Channel.PHONE, dialled=None, text="fire", language="ru")
    turkish = classify(channel=Channel.PHONE, dialled=None, text="yangın", language="ru")
    assert plain.incident_type is hinted.incident_type is T.FIRE_OTHER
    assert hinted.confidence < plain.confidence
    assert turkish.confidence == plain.confidence


def test_other_urgent_types_raise_priority_and_add_responders() -> None:
    """'kaza var, bayıldı': a collision with someone unconscious is priority 1."""
    suggestion = classify(channel=Channel.PHONE, dialled="112", text="kaza var, şoför bayıldı")
    assert suggestion.incident_type is T.TRAFFIC_COLLISION
    assert T.UNCONSCIOUS in suggestion.also
    assert suggestion.priority is Priority.IMMEDIATE


@pytest.mark.parametrize(
    ("ground", "expected"),
    [
        (Ground.POLICE, (Agency.FIRE, Agency.HEALTH, Agency.POLICE)),
        (Ground.GENDARMERIE, (Agency.FIRE, Agency.HEALTH, Agency.GENDARMERIE)),
        (Ground.COAST_GUARD, (Agency.FIRE, Agency.HEALTH, Agency.COAST_GUARD)),
        (None, (Agency.FIRE, Agency.HEALTH, Agency.POLICE, Agency.GENDARMERIE)),
    ],
)
def test_security_resolves_by_ground(ground: Ground | None, expected: tuple[Agency, ...]) -> None:
    """A building fire's security responder becomes police, gendarmerie or coast guard."""
    suggestion = classify(channel=Channel.PHONE, dialled="112", text="evde yangın var")
    assert suggestion.agencies_for(ground) == expected


def test_resolve_agencies_keeps_order_without_repeats() -> None:
    """Security at sea and an explicit coast guard give one coast guard."""
    agencies = resolve_agencies(
        (Responder.COAST_GUARD, Responder.SECURITY, Responder.HEALTH), Ground.COAST_GUARD
    )
    assert agencies == (Agency.COAST_GUARD, Agency.HEALTH)


def test_taxonomy_rows_are_complete() -> None:
    """Every incident type has a row; only information requests and unknown need no one."""
    assert set(TAXONOMY) == set(IncidentType)
    without = {t for t, spec in TAXONOMY.items() if not spec.responders}
    assert without == {T.INFORMATION_REQUEST, T.UNKNOWN}


@given(
    text=st.text(max_size=300),
    channel=st.sampled_from(Channel),
    dialled=st.none() | st.sampled_from(["110", "112", "155", "156", "177", "178", "122", "x"]),
)
def test_any_input_gives_a_well_formed_suggestion(
    text: str, channel: Channel, dialled: str | None
) -> None:
    """Whatever the text, the classifier returns a suggestion with confidence in [0, 1]."""
    suggestion = classify(channel=channel, dialled=dialled, text=text)
    assert 0.0 <= suggestion.confidence <= 1.0
    assert suggestion.incident_type in TAXONOMY
    assert len(set(suggestion.responders)) == len(suggestion.responders)
