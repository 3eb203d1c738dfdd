"""End-to-end call-taking scenarios: detection, routing, the desk's queues and hand-back.

Each scenario runs the real pieces together (detect_language, route_call, CallQueues at
the central desk and in the province, AnswerClock, hand_back) and checks where the call
ends, as issue #6 lists them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.core.answer_times import AnswerClock, AnswerTimes
from dispatch.core.call_queue import CallQueues, QueuedCall, WaitReason
from dispatch.model import CENTRAL_DESK, CallId, CentreId, Channel, IncidentId, OperatorId
from language_desk import (
    DeskRoute,
    Destination,
    EvidenceSource,
    LanguageVerdict,
    detect_language,
    hand_back,
    moves,
    route_call,
)

ANTALYA = CentreId("07")
MUGLA = CentreId("48")
T0 = datetime(2025, 8, 3, 14, 0, tzinfo=UTC)


def desk_with(*rosters: tuple[str, set[str]]) -> CallQueues:
    desk = CallQueues(centre=CENTRAL_DESK)
    for name, skills in rosters:
        desk.log_in(OperatorId(name), skills, 0.0)
        desk.set_ready(OperatorId(name), 0.0)
    return desk


def verdict_for(
    *,
    text: str | None = None,
    mcc: str | None = None,
    caller_choice: str | None = None,
    operator_flag: str | None = None,
) -> LanguageVerdict:
    return detect_language(
        text=text, mcc=mcc, caller_choice=caller_choice, ivr_digit=None, operator_flag=operator_flag
    )


def offer(
    queues: CallQueues, route: DeskRoute, call_id: str, channel: Channel, since: float
) -> None:
    queues.offer(
        QueuedCall(
            call_id=CallId(call_id),
            channel=channel,
            language=route.language,
            since=since,
            home_centre=route.province_centre,
        )
    )


def test_russian_text_from_antalya_reaches_the_desk_ru_queue_and_returns() -> None:
    """A Russian text from Antalya: desk ru queue, a Russian speaker answers, case to Antalya."""
    verdict = verdict_for(text="Помогите! Мой друг тонет в море возле отеля")
    route = route_call(verdict, province_centre=ANTALYA)
    assert (route.destination, route.centre, route.queue_language) == (
        Destination.DESK,
        CENTRAL_DESK,
        "ru",
    )
    desk = desk_with(("desk-en", {"en", "text"}), ("desk-ru", {"ru", "en", "text"}))
    clock = AnswerClock(AnswerTimes())
    clock.offered(CallId("call-ru"), centre=CENTRAL_DESK, channel=Channel.TEXT, at=T0)
    offer(desk, route, "call-ru", Channel.TEXT, since=0.0)
    assert desk.next_call_for(OperatorId("desk-en"), 3.0) is None
    assignment = desk.next_call_for(OperatorId("desk-ru"), 7.0)
    assert assignment is not None
    assert assignment.served_in == "ru"
    assert clock.answered(CallId("call-ru"), at=T0 + timedelta(seconds=7)) == 7.0
    case = hand_back(
        call_id=CallId("call-ru"),
        incident_id=IncidentId("inc-ru"),
        incident_plate=7,
        province_centre=route.province_centre,
        language=verdict.language,
        desk_operator=assignment.operator_id,
        address="Konyaaltı plajı, Antalya",
        offered_at=clock.offered(
            CallId("call-ru"), centre=ANTALYA, channel=Channel.TEXT, at=T0 + timedelta(seconds=35)
        ),
        answered_at=T0 + timedelta(seconds=7),
        handed_back_at=T0 + timedelta(seconds=35),
    )
    assert case.to_centre == ANTALYA
    assert case.caller_attached
    assert case.offered_at == T0  # one continuous answer clock


def test_german_sim_from_mugla_goes_to_desk_de_unless_turkish_text() -> None:
    """A German SIM calling from Muğla: desk de queue; with a Turkish text, Muğla keeps it."""
    route = route_call(verdict_for(mcc="262"), province_centre=MUGLA)
    assert (route.centre, route.queue_language) == (CENTRAL_DESK, "de")
    turkish = verdict_for(mcc="262", text="Bodrum'da trafik kazası oldu, iki yaralı var")
    route = route_call(turkish, province_centre=MUGLA)
    assert route.destination is Destination.PROVINCE
    assert route.centre == MUGLA


def test_arabic_choice_in_the_app() -> None:
    """An Arabic caller choosing the language in the app reaches the desk's ar queue."""
    verdict = verdict_for(caller_choice="ar", mcc="286")
    assert verdict.decided_by is EvidenceSource.CALLER_CHOICE
    route = route_call(verdict, province_centre=CentreId("34"))
    assert (route.centre, route.queue_language) == (CENTRAL_DESK, "ar")
    desk = desk_with(("desk-ar", {"ar"}))
    offer(desk, route, "call-ar", Channel.PHONE, since=0.0)
    assignment = desk.next_call_for(OperatorId("desk-ar"), 2.0)
    assert assignment is not None
    assert assignment.call.home_centre == "34"


def test_turkish_call_wrongly_flagged_then_corrected_goes_back() -> None:
    """Flagged foreign by mistake, then corrected: back to the province, wait preserved."""
    wrong = route_call(verdict_for(operator_flag="foreign"), province_centre=ANTALYA)
    assert wrong.centre == CENTRAL_DESK
    assert wrong.destination is Destination.DESK_FALLBACK
    desk = desk_with()
    offer(desk, wrong, "call-tr", Channel.PHONE, since=0.0)
    corrected = route_call(verdict_for(operator_flag="tr"), province_centre=ANTALYA)
    assert moves(wrong, corrected)
    assert corrected.destination is Destination.PROVINCE
    assert corrected.centre == ANTALYA
    province = CallQueues(centre=ANTALYA)
    call = desk.withdraw(CallId("call-tr"))
    offer(province, corrected, "call-tr", call.channel, since=call.since)
    province.log_in(OperatorId("tr-1"), {"tr"}, 0.0)
    province.set_ready(OperatorId("tr-1"), 0.0)
    assignment = province.next_call_for(OperatorId("tr-1"), 25.0)
    assert assignment is not None
    assert assignment.waited_s == 25.0  # the wait counts from the first offer
    assert desk.depth() == 0


def test_language_nobody_on_shift_speaks_waits_for_english_visibly() -> None:
    """A Persian call: desk fallback queue, waits for English, the reason shown in the queue."""
    verdict = verdict_for(text="کمک کنید، پدرم در هتل حالش بد شده است")
    assert verdict.language == "fa"
    route = route_call(verdict, province_centre=ANTALYA)
    assert route.destination is Destination.DESK_FALLBACK
    assert route.reason == "no operator speaks fa; waiting for en"
    desk = desk_with(("desk-de", {"de"}), ("desk-en", {"en"}))
    offer(desk, route, "call-fa", Channel.PHONE, since=0.0)
    [entry] = desk.waiting(12.0)
    assert entry.reason is WaitReason.FALLBACK
    assert entry.detail == "no operator on shift speaks fa; waiting for en"
    assert entry.waited_s == 12.0
    assert desk.next_call_for(OperatorId("desk-de"), 12.0) is None
    assignment = desk.next_call_for(OperatorId("desk-en"), 12.0)
    assert assignment is not None
    assert assignment.fallback_from == "fa"
