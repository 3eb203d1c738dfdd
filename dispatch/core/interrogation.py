"""Criteria-based interrogation: a few yes/no questions per incident type that set priority.

Like the Norwegian index for medical emergencies (Norsk indeks for medisinsk nødhjelp), each
incident type has a short list of key questions and an ordered list of criteria; the first
criterion whose answers all match decides the priority (1 most urgent), may change the type
(an unconscious patient who is not breathing is a cardiac arrest) and may add responders (a
collision with someone trapped needs the fire brigade). Questions the call-taker has not
asked yet do not match any criterion, so partial answers are safe: with no matching
criterion the taxonomy's default priority stands.

The questions and criteria here are ng112's own wording, not a licensed protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dispatch.core.taxonomy import TAXONOMY, Family, IncidentType, Responder
from dispatch.model.vocabulary import Priority


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """One yes/no question: a stable key and its wording."""

    key: str
    text_tr: str
    text_en: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Criterion:
    """If every answer in ``when`` is as given: this priority, maybe a new type, more responders."""

    when: Mapping[str, bool]
    priority: Priority
    reason: str
    becomes: IncidentType | None = None
    adds: tuple[Responder, ...] = ()

    def matches(self, answers: Mapping[str, bool]) -> bool:
        """Whether the answers given so far satisfy every condition of this criterion."""
        return all(key in answers and answers[key] is value for key, value in self.when.items())


@dataclass(frozen=True, slots=True, kw_only=True)
class Refinement:
    """What the answers say: the (possibly changed) type, its priority and why."""

    incident_type: IncidentType
    priority: Priority
    reason: str | None
    adds: tuple[Responder, ...] = ()


def _q(key: str, text_tr: str, text_en: str) -> Question:
    return Question(key=key, text_tr=text_tr, text_en=text_en)


#: Every question, by key.
QUESTIONS: Mapping[str, Question] = MappingProxyType(
    {
        q.key: q
        for q in (
            _q(
                "conscious",
                "Kişi bilinçli mi, sorulara cevap veriyor mu?",
                "Is the person awake and answering?",
            ),
            _q("breathing", "Kişi normal nefes alıyor mu?", "Is the person breathing normally?"),
            _q(
                "severe_bleeding",
                "Durdurulamayan ağır bir kanama var mı?",
                "Is there severe bleeding that will not stop?",
            ),
            _q("chest_pain", "Göğüs ağrısı var mı?", "Is there chest pain?"),
            _q(
                "stroke_signs",
                "Yüzde kayma, kolda güçsüzlük ya da konuşma bozukluğu var mı?",
                "Is the face drooping, an arm weak or the speech slurred?",
            ),
            _q(
                "onset_recent",
                "Belirtiler son 4,5 saat içinde mi başladı?",
                "Did it start within the last 4.5 hours?",
            ),
            _q(
                "throat_swelling",
                "Yüzde, dilde ya da boğazda şişlik var mı?",
                "Is the face, tongue or throat swelling?",
            ),
            _q(
                "seizure_ongoing",
                "Nöbet hâlâ sürüyor mu ya da 5 dakikadan uzun sürdü mü?",
                "Is the seizure still going on, or did it last over 5 minutes?",
            ),
            _q("baby_visible", "Bebeğin başı görünüyor mu?", "Can you see the baby's head?"),
            _q("injured", "Yaralı var mı?", "Is anyone injured?"),
            _q(
                "trapped",
                "Sıkışan ya da enkaz altında kalan biri var mı?",
                "Is anyone trapped or under rubble?",
            ),
            _q("many_casualties", "Beşten fazla yaralı var mı?", "Are more than five people hurt?"),
            _q(
                "hazmat_leak",
                "Yakıt ya da tehlikeli madde sızıyor mu?",
                "Is fuel or a dangerous substance leaking?",
            ),
            _q("people_inside", "İçeride insan var mı?", "Are people inside?"),
            _q("spreading", "Yangın yayılıyor mu?", "Is the fire spreading?"),
            _q(
                "settlement_threat",
                "Yangın evlere ya da yerleşim yerine yaklaşıyor mu?",
                "Is the fire coming close to houses?",
            ),
            _q("weapon", "Silah ya da bıçak var mı?", "Is there a gun or a knife?"),
            _q("attacker_present", "Saldırgan hâlâ orada mı?", "Is the attacker still there?"),
            _q("ongoing", "Olay şu anda devam ediyor mu?", "Is it happening right now?"),
            _q("child", "Kaybolan kişi çocuk mu?", "Is the missing person a child?"),
            _q(
                "vulnerable",
                "Kaybolan kişi yaşlı, hasta ya da engelli mi?",
                "Is the missing person elderly, ill or disabled?",
            ),
            _q("in_water", "Kişi hâlâ suda mı?", "Is the person still in the water?"),
            _q("water_rising", "Su yükseliyor mu?", "Is the water rising?"),
            _q("indoors", "Koku bir binanın içinde mi?", "Is the smell inside a building?"),
            _q(
                "danger_to_people",
                "Hayvan insanlar için tehlike oluşturuyor mu?",
                "Is the animal a danger to people?",
            ),
        )
    }
)

_P1 = Priority.IMMEDIATE
_P2 = Priority.URGENT
_P3 = Priority.PROMPT
_P4 = Priority.ROUTINE
_T = IncidentType


def _c(
    when: Mapping[str, bool],
    priority: Priority,
    reason: str,
    *,
    becomes: IncidentType | None = None,
    adds: tuple[Responder, ...] = (),
) -> Criterion:
    return Criterion(
        when=MappingProxyType(dict(when)),
        priority=priority,
        reason=reason,
        becomes=becomes,
        adds=adds,
    )


# The life threats every medical protocol starts with.
_ARREST = _c(
    {"conscious": False, "breathing": False},
    _P1,
    "not conscious and not breathing",
    becomes=_T.CARDIAC_ARREST,
)
_UNCONSCIOUS = _c({"conscious": False}, _P1, "not conscious")
_NOT_BREATHING = _c({"breathing": False}, _P1, "not breathing normally")
_BLEEDING = _c({"severe_bleeding": True}, _P1, "severe bleeding")
_MEDICAL_ABC = (_ARREST, _UNCONSCIOUS, _NOT_BREATHING, _BLEEDING)
_MEDICAL_QUESTIONS = ("conscious", "breathing", "severe_bleeding")

# The same threats when the type is not medical: the type stays, the priority rises.
_SCENE_ABC = (
    _c({"conscious": False}, _P1, "someone not conscious", adds=(Responder.HEALTH,)),
    _c({"breathing": False}, _P1, "someone not breathing", adds=(Responder.HEALTH,)),
    _c({"severe_bleeding": True}, _P1, "severe bleeding", adds=(Responder.HEALTH,)),
)

_H = Responder.HEALTH
_F = Responder.FIRE
_A = Responder.AFAD

_PROTOCOLS: dict[IncidentType, tuple[tuple[str, ...], tuple[Criterion, ...]]] = {
    _T.CARDIAC_ARREST: (_MEDICAL_QUESTIONS, (_ARREST, _c({}, _P1, "reported arrest"))),
    _T.CHEST_PAIN: (
        ("conscious", "breathing", "chest_pain"),
        (*_MEDICAL_ABC, _c({"chest_pain": True}, _P2, "chest pain, awake and breathing")),
    ),
    _T.BREATHING_PROBLEM: (
        ("conscious", "breathing", "throat_swelling"),
        (
            *_MEDICAL_ABC,
            _c({"throat_swelling": True}, _P1, "swelling airway"),
        ),
    ),
    _T.UNCONSCIOUS: (
        ("conscious", "breathing"),
        (
            _ARREST,
            _c({"conscious": False, "breathing": True}, _P1, "unconscious, breathing"),
            _c({"conscious": True}, _P2, "awake again"),
        ),
    ),
    _T.STROKE: (
        ("conscious", "breathing", "stroke_signs", "onset_recent"),
        (
            *_MEDICAL_ABC,
            _c({"stroke_signs": True, "onset_recent": True}, _P1, "stroke signs within 4.5 h"),
            _c({"stroke_signs": True}, _P2, "stroke signs, onset unknown or late"),
        ),
    ),
    _T.BLEEDING_INJURY: (
        ("conscious", "breathing", "severe_bleeding", "trapped"),
        (
            *_MEDICAL_ABC,
            _c({"trapped": True}, _P1, "person trapped", adds=(_F,)),
            _c({"severe_bleeding": False, "conscious": True}, _P3, "minor injury, awake"),
        ),
    ),
    _T.CHILDBIRTH: (
        ("conscious", "severe_bleeding", "baby_visible"),
        (
            *_MEDICAL_ABC,
            _c({"baby_visible": True}, _P1, "birth imminent"),
        ),
    ),
    _T.POISONING: (("conscious", "breathing"), _MEDICAL_ABC),
    _T.SEIZURE: (
        ("conscious", "breathing", "seizure_ongoing"),
        (
            _ARREST,
            _NOT_BREATHING,
            _c({"seizure_ongoing": True}, _P1, "seizure ongoing or over 5 minutes"),
            _c({"seizure_ongoing": False, "conscious": True}, _P3, "seizure over, awake"),
        ),
    ),
    _T.ALLERGIC_REACTION: (
        ("conscious", "breathing", "throat_swelling"),
        (*_MEDICAL_ABC, _c({"throat_swelling": True}, _P1, "swelling airway")),
    ),
    _T.DIABETIC: (
        ("conscious", "breathing"),
        (*_MEDICAL_ABC, _c({"conscious": True, "breathing": True}, _P3, "awake and breathing")),
    ),
    _T.BURNS: (("conscious", "breathing", "severe_bleeding"), _MEDICAL_ABC),
    _T.SUICIDE_ATTEMPT: (("conscious", "breathing", "weapon"), _MEDICAL_ABC),
    _T.SICK_PERSON: (
        ("conscious", "breathing", "chest_pain", "stroke_signs"),
        (
            *_MEDICAL_ABC,
            _c({"chest_pain": True}, _P2, "chest pain", becomes=_T.CHEST_PAIN),
            _c({"stroke_signs": True}, _P1, "stroke signs", becomes=_T.STROKE),
            _c({"conscious": True, "breathing": True}, _P3, "awake and breathing"),
        ),
    ),
    _T.TRAFFIC_COLLISION: (
        ("injured", "trapped", "conscious", "breathing", "hazmat_leak", "many_casualties"),
        (
            _c({"hazmat_leak": True}, _P1, "fuel or dangerous goods leaking", adds=(_F, _A)),
            _c({"trapped": True}, _P1, "person trapped in a vehicle", adds=(_F,)),
            _c({"many_casualties": True}, _P1, "more than five hurt", adds=(_F, _A)),
            *_SCENE_ABC,
            _c({"injured": True}, _P2, "people injured"),
            _c({"injured": False}, _P3, "no one injured"),
        ),
    ),
    _T.FIRE_BUILDING: (
        ("people_inside", "spreading", "trapped"),
        (
            _c({"people_inside": True}, _P1, "people inside"),
            _c({"trapped": True}, _P1, "people trapped"),
            _c({"spreading": True}, _P1, "fire spreading"),
            _c({"people_inside": False, "spreading": False}, _P2, "empty, not spreading"),
        ),
    ),
    _T.FIRE_VEHICLE: (
        ("people_inside", "trapped", "spreading"),
        (
            _c({"trapped": True}, _P1, "person trapped", adds=(_H,)),
            _c({"people_inside": True}, _P1, "people in the vehicle", adds=(_H,)),
            _c({"spreading": True}, _P1, "fire spreading"),
        ),
    ),
    _T.FIRE_INDUSTRIAL: (
        ("people_inside", "hazmat_leak", "spreading"),
        (_c({}, _P1, "industrial fire"),),
    ),
    _T.FIRE_OTHER: (
        ("spreading", "people_inside"),
        (
            _c({"people_inside": True}, _P1, "people inside", becomes=_T.FIRE_BUILDING),
            _c({"spreading": True}, _P2, "fire spreading"),
            _c({"spreading": False}, _P3, "small fire, not spreading"),
        ),
    ),
    _T.FOREST_FIRE: (
        ("settlement_threat", "spreading"),
        (
            _c({"settlement_threat": True}, _P1, "fire near houses", adds=(_A,)),
            _c({"spreading": True}, _P1, "fire spreading"),
        ),
    ),
    _T.CRIME_VIOLENCE: (
        ("weapon", "attacker_present", "injured", "ongoing"),
        (
            _c({"weapon": True}, _P1, "weapon involved", becomes=_T.CRIME_WEAPON),
            *_SCENE_ABC,
            _c({"ongoing": True}, _P1, "violence ongoing"),
            _c({"attacker_present": True}, _P1, "attacker still there"),
            _c({"ongoing": False, "injured": False}, _P3, "over, no one hurt"),
        ),
    ),
    _T.CRIME_WEAPON: (
        ("attacker_present", "injured", "conscious", "breathing"),
        (*_SCENE_ABC, _c({}, _P1, "weapon involved")),
    ),
    _T.CRIME_PROPERTY: (
        ("ongoing", "weapon", "attacker_present"),
        (
            _c({"weapon": True}, _P1, "armed robbery", becomes=_T.CRIME_WEAPON),
            _c({"ongoing": True}, _P2, "burglary in progress"),
            _c({"attacker_present": True}, _P2, "offender still there"),
        ),
    ),
    _T.DOMESTIC_VIOLENCE: (
        ("weapon", "attacker_present", "injured", "ongoing"),
        (*_SCENE_ABC, _c({}, _P1, "domestic violence")),
    ),
    _T.PUBLIC_ORDER: (
        ("weapon", "injured", "ongoing"),
        (
            _c({"weapon": True}, _P1, "weapon involved", becomes=_T.CRIME_WEAPON),
            _c({"injured": True}, _P2, "people injured", adds=(_H,)),
        ),
    ),
    _T.MISSING_PERSON: (
        ("child", "vulnerable"),
        (
            _c({"child": True}, _P1, "missing child"),
            _c({"vulnerable": True}, _P1, "missing vulnerable person"),
            _c({"child": False, "vulnerable": False}, _P3, "missing adult"),
        ),
    ),
    _T.SECURITY_OTHER: (
        ("weapon", "injured", "ongoing"),
        (
            _c({"weapon": True}, _P1, "weapon involved", becomes=_T.CRIME_WEAPON),
            _c({"injured": True}, _P2, "people injured", adds=(_H,)),
            _c({"ongoing": True}, _P2, "happening now"),
        ),
    ),
    _T.DROWNING: (
        ("in_water", "conscious", "breathing"),
        (
            _c({"in_water": True}, _P1, "person still in the water"),
            _ARREST,
            _c({}, _P1, "drowning"),
        ),
    ),
    _T.SEA_RESCUE: (("in_water", "injured"), (_c({}, _P1, "sea rescue"),)),
    _T.EARTHQUAKE_COLLAPSE: (
        ("trapped", "injured", "many_casualties"),
        (
            _c({"trapped": True}, _P1, "people under rubble"),
            _c({"many_casualties": True}, _P1, "more than five hurt"),
            _c({"injured": True}, _P1, "people injured"),
            _c({"trapped": False, "injured": False}, _P3, "damage, no one trapped or hurt"),
        ),
    ),
    _T.BUILDING_COLLAPSE: (
        ("trapped", "injured"),
        (
            _c({"trapped": True}, _P1, "people under rubble"),
            _c({"injured": True}, _P1, "people injured"),
            _c({"trapped": False, "injured": False}, _P2, "collapse, no one trapped or hurt"),
        ),
    ),
    _T.FLOOD: (
        ("trapped", "water_rising"),
        (
            _c({"trapped": True}, _P1, "people cut off by water", adds=(_H,)),
            _c({"water_rising": True}, _P2, "water rising"),
            _c({"water_rising": False}, _P3, "water not rising"),
        ),
    ),
    _T.LANDSLIDE: (
        ("trapped", "injured"),
        (
            _c({"trapped": True}, _P1, "people buried"),
            _c({"injured": True}, _P1, "people injured"),
            _c({"trapped": False, "injured": False}, _P2, "landslide, no one hurt"),
        ),
    ),
    _T.HAZARDOUS_MATERIALS: (("injured", "hazmat_leak"), (_c({}, _P1, "dangerous substance"),)),
    _T.GAS_LEAK: (
        ("indoors", "conscious"),
        (
            _c({"conscious": False}, _P1, "someone overcome", adds=(_H,)),
            _c({"indoors": True}, _P2, "gas smell indoors"),
            _c({"indoors": False}, _P3, "gas smell outdoors"),
        ),
    ),
    _T.TECHNICAL_RESCUE: (
        ("injured", "conscious"),
        (
            *_SCENE_ABC,
            _c({"injured": True}, _P2, "trapped and hurt"),
            _c({"injured": False}, _P3, "trapped, unhurt"),
        ),
    ),
    _T.UNKNOWN: (
        _MEDICAL_QUESTIONS,
        (
            _ARREST,
            _c({"conscious": False}, _P1, "not conscious", becomes=_T.UNCONSCIOUS),
            _c({"breathing": False}, _P1, "not breathing normally", becomes=_T.BREATHING_PROBLEM),
            _c({"severe_bleeding": True}, _P1, "severe bleeding", becomes=_T.BLEEDING_INJURY),
        ),
    ),
    _T.ANIMAL: (
        ("danger_to_people",),
        (_c({"danger_to_people": True}, _P2, "animal dangerous to people"),),
    ),
}


def questions_for(incident_type: IncidentType) -> tuple[Question, ...]:
    """The key questions for one incident type, in the order the call-taker asks them.

    Types with no protocol of their own (information requests, unknown) ask the general
    life-threat questions if they look medical, else nothing.
    """
    protocol = _PROTOCOLS.get(incident_type)
    if protocol is None:
        if TAXONOMY[incident_type].family is Family.MEDICAL:
            return tuple(QUESTIONS[key] for key in _MEDICAL_QUESTIONS)
        return ()
    return tuple(QUESTIONS[key] for key in protocol[0])


def refine(incident_type: IncidentType, answers: Mapping[str, bool] | None) -> Refinement:
    """Apply the first matching criterion of the type's protocol to the answers so far.

    Without answers, or when no criterion matches, the taxonomy's default priority stands
    (``reason`` is ``None``). Answers to questions the type does not ask are ignored unless
    a criterion names them.
    """
    default = TAXONOMY[incident_type].priority
    protocol = _PROTOCOLS.get(incident_type)
    if not answers or protocol is None:
        return Refinement(incident_type=incident_type, priority=default, reason=None)
    for criterion in protocol[1]:
        if criterion.matches(answers):
            return Refinement(
                incident_type=criterion.becomes or incident_type,
                priority=criterion.priority,
                reason=criterion.reason,
                adds=criterion.adds,
            )
    return Refinement(incident_type=incident_type, priority=default, reason=None)


def protocol_types() -> frozenset[IncidentType]:
    """The incident types that have a protocol of their own."""
    return frozenset(_PROTOCOLS)
