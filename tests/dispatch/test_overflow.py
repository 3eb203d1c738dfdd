"""Tests for dispatch.core.overflow: failover to neighbours and the hand-back on recovery."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.call_queue import CallQueues, QueuedCall, QueueFull, QueueSettings
from dispatch.core.overflow import (
    CentreCondition,
    CentreStatus,
    ChoiceReason,
    OverflowSettings,
    WaitingAway,
    calls_to_hand_back,
    choose_centre,
    condition,
    pick_centre,
    rings,
    symmetric_neighbours,
)
from dispatch.model import CallId, CentreId, Channel

HATAY = CentreId("31")
ADANA = CentreId("01")
OSMANIYE = CentreId("80")
GAZIANTEP = CentreId("27")
KAHRAMANMARAS = CentreId("46")
MERSIN = CentreId("33")

#: A slice of the real adjacency (Hatay borders Adana, Osmaniye and Gaziantep), given as
#: input the way the lead builds it from boundaries.
NEIGHBOURS = symmetric_neighbours(
    [
        (HATAY, OSMANIYE),
        (HATAY, ADANA),
        (HATAY, GAZIANTEP),
        (OSMANIYE, ADANA),
        (OSMANIYE, GAZIANTEP),
        (OSMANIYE, KAHRAMANMARAS),
        (ADANA, MERSIN),
    ]
)


def states(**overrides: CentreStatus) -> dict[CentreId, CentreStatus]:
    base = {
        c: CentreStatus(in_service=True)
        for c in (HATAY, ADANA, OSMANIYE, GAZIANTEP, KAHRAMANMARAS, MERSIN)
    }
    base.update({CentreId(k.removeprefix("c")): v for k, v in overrides.items()})
    return base


def test_home_in_service_keeps_its_calls() -> None:
    """A centre in service answers its own province's calls."""
    choice = choose_centre(HATAY, states(), NEIGHBOURS)
    assert choice.centre == HATAY
    assert choice.reason is ChoiceReason.HOME
    assert not choice.overflowed


def test_out_of_service_overflows_to_first_neighbour() -> None:
    """Hatay out of service: its calls go to its first neighbour in service, province kept."""
    choice = choose_centre(HATAY, states(c31=CentreStatus(in_service=False)), NEIGHBOURS)
    assert choice.centre == ADANA  # neighbours sorted by plate: 01, 27, 80
    assert choice.home == HATAY
    assert choice.reason is ChoiceReason.HOME_OUT_OF_SERVICE
    assert choice.overflowed


def test_overloaded_neighbours_are_skipped_then_rings_widen() -> None:
    """Overloaded or down neighbours are passed over; neighbours of neighbours come next."""
    busy = CentreStatus(in_service=True, queue_depth=50)
    down = CentreStatus(in_service=False)
    choice = choose_centre(HATAY, states(c31=down, c01=busy, c27=down, c80=busy), NEIGHBOURS)
    assert choice.centre in {MERSIN, KAHRAMANMARAS}
    assert choice.home == HATAY


def test_everyone_overloaded_takes_the_least_loaded() -> None:
    """When every reachable centre is overloaded, the least loaded still answers."""
    result = states(
        c31=CentreStatus(in_service=True, queue_depth=90),
        c01=CentreStatus(in_service=True, queue_depth=40),
        c27=CentreStatus(in_service=True, queue_depth=30),
        c80=CentreStatus(in_service=True, queue_depth=60),
        c46=CentreStatus(in_service=False),
        c33=CentreStatus(in_service=False),
    )
    choice = choose_centre(HATAY, result, NEIGHBOURS)
    assert choice.centre == GAZIANTEP
    assert choice.reason is ChoiceReason.ALL_OVERLOADED


def test_nobody_answering_keeps_the_call_home() -> None:
    """With no centre in service the call stays with its home centre, never dropped."""
    down = {c: CentreStatus(in_service=False) for c in states()}
    choice = choose_centre(HATAY, down, NEIGHBOURS)
    assert choice.centre == HATAY
    assert choice.reason is ChoiceReason.NONE_IN_SERVICE


def test_unknown_centre_counts_as_out_of_service() -> None:
    """A centre with no reported status is not sent calls."""
    settings = OverflowSettings()
    assert condition(None, settings) is CentreCondition.OUT_OF_SERVICE
    choice = choose_centre(CentreId("99"), {}, {CentreId("99"): [ADANA]}, settings)
    assert choice.reason is ChoiceReason.NONE_IN_SERVICE


def phone_call(n: int) -> QueuedCall:
    return QueuedCall(call_id=CallId(f"call-{n}"), channel=Channel.PHONE, language="tr", since=n)


def test_out_of_service_overflow_and_hand_back_on_recovery() -> None:
    """Hatay goes down: a full queue refuses, calls overflow to Adana, then go home."""
    hatay = CallQueues(centre=HATAY, settings=QueueSettings(max_waiting=1))
    adana = CallQueues(centre=ADANA)
    hatay.offer(phone_call(0))
    with pytest.raises(QueueFull):
        hatay.offer(phone_call(99))
    # The building collapses: the centre goes out of service, its waiting call moves too.
    now_states = states(c31=CentreStatus(in_service=False))
    away: list[WaitingAway] = []
    for call in [hatay.withdraw(CallId("call-0")), phone_call(1), phone_call(2), phone_call(3)]:
        choice = choose_centre(HATAY, now_states, NEIGHBOURS)
        assert choice.centre == ADANA
        adana.offer(replace(call, home_centre=choice.home))
        away.append(
            WaitingAway(call_id=call.call_id, home=choice.home, at=choice.centre, since=call.since)
        )
    assert adana.depth() == 4
    assert {c.home_centre for c in adana} == {HATAY}
    # While Hatay is down, nothing goes back.
    assert calls_to_hand_back(away, now_states) == []
    # Hatay recovers with room for two calls before it counts as overloaded.
    recovered = states(c31=CentreStatus(in_service=True, queue_depth=0))
    orders = calls_to_hand_back(away, recovered, OverflowSettings(overload_depth=2))
    assert [o.call_id for o in orders] == ["call-0", "call-1"]  # oldest first
    assert {(o.from_centre, o.to_centre) for o in orders} == {(ADANA, HATAY)}
    hatay = CallQueues(centre=HATAY)
    for order in orders:
        call = adana.withdraw(order.call_id)
        hatay.offer(call)
    assert [c.since for c in hatay] == [0.0, 1.0]  # original wait kept
    assert adana.depth() == 2
    # Calls already at home are never "handed back".
    assert (
        calls_to_hand_back(
            [WaitingAway(call_id=CallId("call-9"), home=HATAY, at=HATAY, since=0.0)], recovered
        )
        == []
    )


def test_symmetric_neighbours_and_settings() -> None:
    """Adjacent pairs become a two-way map; self-pairs are ignored; settings are checked."""
    assert NEIGHBOURS[HATAY] == [ADANA, GAZIANTEP, OSMANIYE]
    assert HATAY in NEIGHBOURS[OSMANIYE]
    assert symmetric_neighbours([(HATAY, HATAY)]) == {}
    with pytest.raises(ValueError, match="max_rings"):
        OverflowSettings(max_rings=0)


def _naive_choice(
    home: CentreId, now: dict[CentreId, CentreStatus], settings: OverflowSettings
) -> tuple[CentreId, ChoiceReason]:
    """The module docstring's rule, spelled out with no shortcuts."""
    around = rings(home, NEIGHBOURS, settings.max_rings)
    conditions = {c: condition(now.get(c), settings) for c in [home, *around]}
    if conditions[home] is CentreCondition.IN_SERVICE:
        return home, ChoiceReason.HOME
    reason = (
        ChoiceReason.HOME_OVERLOADED
        if conditions[home] is CentreCondition.OVERLOADED
        else ChoiceReason.HOME_OUT_OF_SERVICE
    )
    for centre in around:
        if conditions[centre] is CentreCondition.IN_SERVICE:
            return centre, reason
    answering = [
        (now[c].queue_depth, i, c)
        for i, c in enumerate([home, *around])
        if conditions[c] is CentreCondition.OVERLOADED
    ]
    if answering:
        return min(answering)[2], ChoiceReason.ALL_OVERLOADED
    return home, ChoiceReason.NONE_IN_SERVICE


_CENTRES = [HATAY, ADANA, OSMANIYE, GAZIANTEP, KAHRAMANMARAS, MERSIN]


@given(
    home=st.sampled_from(_CENTRES),
    statuses=st.lists(
        st.none()
        | st.builds(CentreStatus, in_service=st.booleans(), queue_depth=st.integers(0, 6)),
        min_size=len(_CENTRES),
        max_size=len(_CENTRES),
    ),
    max_rings=st.integers(1, 3),
)
def test_choice_with_precomputed_rings_is_the_rule(
    home: CentreId, statuses: list[CentreStatus | None], max_rings: int
) -> None:
    """Rings passed in or computed, or the fold's pick_centre: the docstring's rule."""
    settings = OverflowSettings(overload_depth=3, max_rings=max_rings)
    now = {c: s for c, s in zip(_CENTRES, statuses, strict=True) if s is not None}
    expected = _naive_choice(home, now, settings)
    for around in (None, rings(home, NEIGHBOURS, max_rings)):
        choice = choose_centre(home, now, NEIGHBOURS, settings, around=around)
        assert (choice.centre, choice.reason) == expected
        assert choice.home == home
    assert pick_centre(home, now, rings(home, NEIGHBOURS, max_rings), 3) == expected
