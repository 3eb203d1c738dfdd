"""Tests for language_desk.routing_rules: province or desk queue, fallback, hand-back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.model import CENTRAL_DESK, CallId, CentreId, IncidentId, OperatorId
from language_desk import (
    UNDETERMINED,
    DeskSettings,
    Destination,
    EvidenceSource,
    IncompleteCase,
    InvalidDeskSettings,
    LanguageVerdict,
    hand_back,
    moves,
    route_call,
)

ANTALYA = CentreId("07")
MUGLA = CentreId("48")
T0 = datetime(2025, 7, 14, 22, 5, tzinfo=UTC)


def verdict(language: str) -> LanguageVerdict:
    return LanguageVerdict(
        language=language,
        confidence=0.9,
        decided_by=EvidenceSource.TEXT,
        reason="text",
        evidence=(),
    )


@pytest.mark.parametrize(
    ("language", "destination", "centre", "queue"),
    [
        ("tr", Destination.PROVINCE, ANTALYA, "tr"),
        ("en", Destination.DESK, CENTRAL_DESK, "en"),
        ("de", Destination.DESK, CENTRAL_DESK, "de"),
        ("ar", Destination.DESK, CENTRAL_DESK, "ar"),
        ("ru", Destination.DESK, CENTRAL_DESK, "ru"),
        ("fa", Destination.DESK_FALLBACK, CENTRAL_DESK, "en"),
        (UNDETERMINED, Destination.DESK_FALLBACK, CENTRAL_DESK, "en"),
    ],
)
def test_route_by_language(
    language: str, destination: Destination, centre: str, queue: str
) -> None:
    """Turkish stays in the province; desk languages go to their queue; others fall back."""
    route = route_call(verdict(language), province_centre=ANTALYA)
    assert route.destination is destination
    assert route.centre == centre
    assert route.queue_language == queue
    assert route.province_centre == ANTALYA
    assert (route.reason is None) == (destination is not Destination.DESK_FALLBACK)


def test_fallback_reason_is_visible() -> None:
    """A language the desk does not serve waits for English with the reason spelled out."""
    route = route_call(verdict("fa"), province_centre=MUGLA)
    assert route.reason == "no operator speaks fa; waiting for en"
    assert route.language == "fa"


def test_desk_languages_are_settings() -> None:
    """Adding Persian to the desk languages is configuration: the call gets its own queue."""
    settings = DeskSettings(desk_languages=("en", "de", "ar", "ru", "fa"))
    route = route_call(verdict("fa"), province_centre=MUGLA, settings=settings)
    assert route.destination is Destination.DESK
    assert route.queue_language == "fa"


def test_desk_language_nobody_on_shift_speaks_falls_back() -> None:
    """With the shift known, an Arabic call with no Arabic speaker on shift falls back."""
    route = route_call(verdict("ar"), province_centre=ANTALYA, desk_on_shift={"en", "ru"})
    assert route.destination is Destination.DESK_FALLBACK
    assert route.reason == "no operator on shift speaks ar; waiting for en"
    settings = DeskSettings(fallback_order=("en", "de"))
    route = route_call(
        verdict("ar"), province_centre=ANTALYA, settings=settings, desk_on_shift={"de"}
    )
    assert route.queue_language == "de"


def test_moves_detects_a_correction() -> None:
    """A verdict corrected from Russian to Turkish moves the call back to the province."""
    before = route_call(verdict("ru"), province_centre=ANTALYA)
    after = route_call(verdict("tr"), province_centre=ANTALYA)
    assert moves(before, after)
    assert not moves(after, route_call(verdict("tr"), province_centre=ANTALYA))


def test_desk_settings_are_validated() -> None:
    """Fallbacks must be desk languages; Turkish is not a desk language; provinces only."""
    with pytest.raises(InvalidDeskSettings):
        DeskSettings(fallback_order=("fa",))
    with pytest.raises(InvalidDeskSettings):
        DeskSettings(desk_languages=("tr", "en"))
    with pytest.raises(InvalidDeskSettings):
        DeskSettings(fallback_order=())
    with pytest.raises(InvalidDeskSettings):
        route_call(verdict("en"), province_centre=CENTRAL_DESK)


def test_hand_back_goes_to_the_incident_province_with_caller_and_clock() -> None:
    """The case returns to the incident's province, caller attached, original offer time."""
    case = hand_back(
        call_id=CallId("call-1"),
        incident_id=IncidentId("inc-1"),
        incident_plate=48,  # the incident is in Muğla, the caller's phone was in Antalya
        province_centre=ANTALYA,
        language="de",
        desk_operator=OperatorId("desk-de-1"),
        address="  Bodrum, Gümbet Mahallesi, Adnan Menderes Cd. 12  ",
        offered_at=T0,
        answered_at=T0 + timedelta(seconds=9),
        handed_back_at=T0 + timedelta(seconds=38),
    )
    assert case.from_centre == CENTRAL_DESK
    assert case.to_centre == MUGLA
    assert case.caller_attached
    assert case.interpreter == "desk-de-1"
    assert case.offered_at == T0
    assert case.address == "Bodrum, Gümbet Mahallesi, Adnan Menderes Cd. 12"
    assert case.reason == "province of the incident"


def test_hand_back_without_location_goes_to_the_callers_province() -> None:
    """With no incident location yet, the case goes to the province the call came from."""
    case = hand_back(
        call_id=CallId("call-1"),
        incident_id=IncidentId("inc-1"),
        incident_plate=None,
        province_centre=ANTALYA,
        language="ru",
        desk_operator=OperatorId("desk-ru-1"),
        address="Kemer, marina",
        offered_at=T0,
        answered_at=T0,
        handed_back_at=T0,
    )
    assert case.to_centre == ANTALYA


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"incident_id": IncidentId("")}, "incident"),
        ({"address": "   "}, "address"),
        ({"incident_plate": 82}, "plate"),
        ({"answered_at": T0 - timedelta(seconds=1)}, "out of order"),
        ({"offered_at": datetime(2025, 1, 1)}, "aware"),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_incomplete_hand_back_is_refused(changes: dict[str, object], match: str) -> None:
    """The desk cannot hand back without an incident, an address, a plate and sane times."""
    arguments: dict[str, object] = {
        "call_id": CallId("call-1"),
        "incident_id": IncidentId("inc-1"),
        "incident_plate": 7,
        "province_centre": ANTALYA,
        "language": "ru",
        "desk_operator": OperatorId("desk-ru-1"),
        "address": "Kemer",
        "offered_at": T0,
        "answered_at": T0 + timedelta(seconds=5),
        "handed_back_at": T0 + timedelta(seconds=30),
    }
    arguments.update(changes)
    with pytest.raises(IncompleteCase, match=match):
        hand_back(**arguments)  # type: ignore[arg-type]
