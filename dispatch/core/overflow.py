"""Overflow and failover between centres, and the hand-back when a centre recovers (pure).

On 6 February 2023 the Hatay centre's building partly collapsed and Kahramanmaraş's centre
lost its computers: a centre can disappear, and its calls must go elsewhere. Each centre is
in service, overloaded (its queue deeper than ``overload_depth``) or out of service.
:func:`choose_centre` picks where a call of a province goes: its own centre when in
service; else the first configured neighbour in service, then neighbours of neighbours
(up to ``max_rings``); else the least loaded centre still answering, even overloaded;
else, with nobody answering, the home centre with that reason (the call waits for the
gateway to hold it: it is never dropped). :func:`calls_to_hand_back` says which overflowed
calls go home when their centre recovers, oldest first, without overloading it again.

The neighbour map is an input (``centre -> [neighbour centres, best first]``), e.g. built
from province adjacency on the real boundaries by ``routing`` at start-up; nothing here
hard-codes geography. The call's province (``home``) is carried by every decision.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from dispatch.model.ids import CallId, CentreId


class CentreCondition(enum.StrEnum):
    """Whether a centre can take calls."""

    IN_SERVICE = "in_service"
    OVERLOADED = "overloaded"
    OUT_OF_SERVICE = "out_of_service"


@dataclass(frozen=True, slots=True, kw_only=True)
class CentreStatus:
    """What is known of a centre now: up or down, and how deep its queue is."""

    in_service: bool
    queue_depth: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class OverflowSettings:
    """When a centre counts as overloaded and how far overflow may reach."""

    overload_depth: int = 20
    """A centre with more calls waiting than this is overloaded."""
    max_rings: int = 2
    """Neighbours (1), neighbours of neighbours (2), ... considered for overflow."""

    def __post_init__(self) -> None:
        if self.overload_depth < 0 or self.max_rings < 1:
            raise ValueError("overload_depth must be >= 0 and max_rings >= 1")


class ChoiceReason(enum.StrEnum):
    """Why a call went where it went."""

    HOME = "home"
    HOME_OVERLOADED = "home_overloaded"
    HOME_OUT_OF_SERVICE = "home_out_of_service"
    ALL_OVERLOADED = "all_overloaded"
    """Every reachable centre is overloaded: the least loaded one takes it."""
    NONE_IN_SERVICE = "none_in_service"
    """No reachable centre answers: the call stays with its home centre, held."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CentreChoice:
    """Where a call goes and why; ``home`` is the call's province, never lost."""

    centre: CentreId
    home: CentreId
    reason: ChoiceReason

    @property
    def overflowed(self) -> bool:
        """Whether the call is answered away from its province's centre."""
        return self.centre != self.home


def condition(status: CentreStatus | None, settings: OverflowSettings) -> CentreCondition:
    """A centre's condition; an unknown centre (no status) counts as out of service."""
    if status is None or not status.in_service:
        return CentreCondition.OUT_OF_SERVICE
    if status.queue_depth > settings.overload_depth:
        return CentreCondition.OVERLOADED
    return CentreCondition.IN_SERVICE


def rings(
    home: CentreId, neighbours: Mapping[CentreId, Sequence[CentreId]], max_rings: int
) -> list[CentreId]:
    """Centres around ``home`` in breadth-first order (configured order within a ring).

    The neighbour map changes only with configuration, so a caller that chooses for many
    calls computes this once per centre and passes it to :func:`choose_centre`.
    """
    seen = {home}
    order: list[CentreId] = []
    frontier: deque[tuple[CentreId, int]] = deque([(home, 0)])
    while frontier:
        centre, ring = frontier.popleft()
        if ring == max_rings:
            continue
        for neighbour in neighbours.get(centre, ()):
            if neighbour not in seen:
                seen.add(neighbour)
                order.append(neighbour)
                frontier.append((neighbour, ring + 1))
    return order


def choose_centre(
    home: CentreId,
    states: Mapping[CentreId, CentreStatus],
    neighbours: Mapping[CentreId, Sequence[CentreId]],
    settings: OverflowSettings | None = None,
    *,
    around: Sequence[CentreId] | None = None,
) -> CentreChoice:
    """Which centre takes a call of province ``home`` (see the module docstring).

    ``around`` is ``rings(home, neighbours, settings.max_rings)`` when the caller has it.
    """
    settings = settings if settings is not None else OverflowSettings()
    home_status = states.get(home)
    if condition(home_status, settings) is CentreCondition.IN_SERVICE:
        return CentreChoice(centre=home, home=home, reason=ChoiceReason.HOME)
    if around is None:
        around = rings(home, neighbours, settings.max_rings)
    centre, reason = pick_centre(home, states, around, settings.overload_depth)
    return CentreChoice(centre=centre, home=home, reason=reason)


def pick_centre(
    home: CentreId,
    states: Mapping[CentreId, CentreStatus],
    around: Sequence[CentreId],
    overload_depth: int,
) -> tuple[CentreId, ChoiceReason]:
    """:func:`choose_centre`'s centre and reason, for a caller that has the rings at hand.

    The same rule in one pass, with no objects made (the call-taking fold asks for every
    call it places): the first centre in service of ``home`` then ``around``; else the
    least deep answering one, the earlier on a tie (``home`` first); else ``home``.
    """
    status = states.get(home)
    best: CentreId | None = None
    best_depth = 0
    if status is None or not status.in_service:
        reason = ChoiceReason.HOME_OUT_OF_SERVICE
    elif status.queue_depth <= overload_depth:
        return home, ChoiceReason.HOME
    else:
        reason = ChoiceReason.HOME_OVERLOADED
        best, best_depth = home, status.queue_depth
    for centre in around:
        status = states.get(centre)
        if status is None or not status.in_service:
            continue
        depth = status.queue_depth
        if depth <= overload_depth:
            return centre, reason
        if best is None or depth < best_depth:
            best, best_depth = centre, depth
    if best is not None:
        return best, ChoiceReason.ALL_OVERLOADED
    return home, ChoiceReason.NONE_IN_SERVICE


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingAway:
    """A call waiting at a centre other than its province's."""

    call_id: CallId
    home: CentreId
    at: CentreId
    since: float
    """Monotonic seconds when the call started waiting (its original start)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HandBackOrder:
    """Move a waiting call from the centre that holds it back to its province's centre."""

    call_id: CallId
    from_centre: CentreId
    to_centre: CentreId


def calls_to_hand_back(
    waiting: Iterable[WaitingAway],
    states: Mapping[CentreId, CentreStatus],
    settings: OverflowSettings | None = None,
) -> list[HandBackOrder]:
    """Which overflowed waiting calls go home now, oldest first per home centre.

    A home centre takes back calls only while in service, and only as many as keep its
    queue at most ``overload_depth`` deep, so recovery does not overload it again. Calls
    already answered elsewhere stay with their operator (they are not in ``waiting``).
    """
    settings = settings if settings is not None else OverflowSettings()
    by_home: dict[CentreId, list[WaitingAway]] = {}
    for call in waiting:
        if call.at != call.home:
            by_home.setdefault(call.home, []).append(call)
    orders: list[HandBackOrder] = []
    for home in sorted(by_home):
        status = states.get(home)
        if status is None or condition(status, settings) is not CentreCondition.IN_SERVICE:
            continue
        room = settings.overload_depth - status.queue_depth
        oldest_first = sorted(by_home[home], key=lambda c: (c.since, c.call_id))
        orders.extend(
            HandBackOrder(call_id=call.call_id, from_centre=call.at, to_centre=home)
            for call in oldest_first[: max(room, 0)]
        )
    return orders


def symmetric_neighbours(
    pairs: Iterable[tuple[CentreId, CentreId]],
) -> dict[CentreId, list[CentreId]]:
    """A neighbour map from adjacent pairs (each pair both ways), neighbours sorted."""
    result: dict[CentreId, set[CentreId]] = {}
    for a, b in pairs:
        if a == b:
            continue
        result.setdefault(a, set()).add(b)
        result.setdefault(b, set()).add(a)
    return {centre: sorted(around) for centre, around in sorted(result.items())}
