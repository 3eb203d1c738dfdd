"""Criteria-based interrogation: key questions per type and the priority the answers set."""

from __future__ import annotations

import pytest

from dispatch.core.interrogation import QUESTIONS, protocol_types, questions_for, refine
from dispatch.core.taxonomy import TAXONOMY, IncidentType, Responder
from dispatch.model.vocabulary import Priority

T = IncidentType
P = Priority


@pytest.mark.parametrize(
    ("incident_type", "answers", "expected_type", "expected_priority"),
    [
        (T.CHEST_PAIN, {"conscious": False, "breathing": False}, T.CARDIAC_ARREST, P.IMMEDIATE),
        (
            T.CHEST_PAIN,
            {"conscious": True, "breathing": True, "chest_pain": True},
            T.CHEST_PAIN,
            P.URGENT,
        ),
        (T.UNCONSCIOUS, {"conscious": False, "breathing": True}, T.UNCONSCIOUS, P.IMMEDIATE),
        (T.UNCONSCIOUS, {"conscious": True}, T.UNCONSCIOUS, P.URGENT),
        (T.STROKE, {"stroke_signs": True, "onset_recent": True}, T.STROKE, P.IMMEDIATE),
        (T.STROKE, {"stroke_signs": True, "onset_recent": False}, T.STROKE, P.URGENT),
        (
            T.BLEEDING_INJURY,
            {"severe_bleeding": False, "conscious": True},
            T.BLEEDING_INJURY,
            P.PROMPT,
        ),
        (T.SICK_PERSON, {"conscious": True, "breathing": True}, T.SICK_PERSON, P.PROMPT),
        (T.SICK_PERSON, {"stroke_signs": True}, T.STROKE, P.IMMEDIATE),
        (T.CRIME_VIOLENCE, {"weapon": True}, T.CRIME_WEAPON, P.IMMEDIATE),
        (T.MISSING_PERSON, {"child": True}, T.MISSING_PERSON, P.IMMEDIATE),
        (T.MISSING_PERSON, {"child": False, "vulnerable": False}, T.MISSING_PERSON, P.PROMPT),
        (T.EARTHQUAKE_COLLAPSE, {"trapped": True}, T.EARTHQUAKE_COLLAPSE, P.IMMEDIATE),
        (
            T.EARTHQUAKE_COLLAPSE,
            {"trapped": False, "injured": False},
            T.EARTHQUAKE_COLLAPSE,
            P.PROMPT,
        ),
        (T.GAS_LEAK, {"indoors": False}, T.GAS_LEAK, P.PROMPT),
        (T.FIRE_OTHER, {"people_inside": True}, T.FIRE_BUILDING, P.IMMEDIATE),
        (T.UNKNOWN, {"conscious": False, "breathing": False}, T.CARDIAC_ARREST, P.IMMEDIATE),
    ],
)
def test_answers_set_priority_and_type(
    incident_type: IncidentType,
    answers: dict[str, bool],
    expected_type: IncidentType,
    expected_priority: Priority,
) -> None:
    """The first matching criterion decides the priority and may change the type."""
    refinement = refine(incident_type, answers)
    assert refinement.incident_type is expected_type
    assert refinement.priority is expected_priority
    assert refinement.reason is not None


def test_no_answers_keep_the_default() -> None:
    """Without answers, or with answers no criterion names, the default priority stands."""
    for incident_type, spec in TAXONOMY.items():
        assert refine(incident_type, None).priority is spec.priority
        unrelated = refine(incident_type, {"not_a_question": True})
        assert (unrelated.incident_type, unrelated.priority) == (incident_type, spec.priority)


def test_unasked_questions_do_not_match() -> None:
    """'conscious' answered but 'breathing' not yet: no cardiac arrest is concluded."""
    refinement = refine(T.CHEST_PAIN, {"conscious": False})
    assert refinement.incident_type is T.CHEST_PAIN
    assert refinement.priority is P.IMMEDIATE


def test_trapped_in_a_collision_adds_the_fire_brigade() -> None:
    """Someone trapped in a vehicle needs the fire brigade to cut them free."""
    refinement = refine(T.TRAFFIC_COLLISION, {"trapped": True})
    assert refinement.adds == (Responder.FIRE,)
    assert refinement.priority is P.IMMEDIATE


def test_every_protocol_asks_known_questions_in_order() -> None:
    """Each protocol's questions exist, are not repeated, and its criteria only use known keys."""
    for incident_type in IncidentType:
        keys = [q.key for q in questions_for(incident_type)]
        assert len(keys) == len(set(keys))
        assert set(keys) <= set(QUESTIONS)
    assert T.CARDIAC_ARREST in protocol_types()
    assert questions_for(T.INFORMATION_REQUEST) == ()


def test_questions_have_both_wordings() -> None:
    """Every question is worded in Turkish and English."""
    for question in QUESTIONS.values():
        assert question.text_tr.endswith("?")
        assert question.text_en.endswith("?")
