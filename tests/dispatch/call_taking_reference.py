"""The straightforward call-taking decisions, kept as references for the fast ones.

:func:`reference_choose_centre` is the overflow rule as first written (every answering
centre listed, then the least deep); :class:`ReferenceFold` is the call-taking fold before
its fast paths: every choice reads statuses worked out afresh from the queues, a call its
choice cannot take walks every queue, held calls are copied to be re-offered, and a
hand-back looks at every overflowed call. Tests fold the same events into both and compare.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from dispatch.call_taking import CallRecord, CallState, CallTakingFold
from dispatch.core.call_queue import QueueFull
from dispatch.core.overflow import (
    CentreChoice,
    CentreCondition,
    CentreStatus,
    ChoiceReason,
    OverflowSettings,
    condition,
    rings,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dispatch.model import CentreId


def reference_choose_centre(
    home: CentreId,
    states: Mapping[CentreId, CentreStatus],
    neighbours: Mapping[CentreId, Sequence[CentreId]],
    settings: OverflowSettings,
) -> CentreChoice:
    """Which centre takes a call of ``home``: the rule of ``dispatch.core.overflow``."""
    home_status = states.get(home)
    home_condition = condition(home_status, settings)
    if home_condition is CentreCondition.IN_SERVICE:
        return CentreChoice(centre=home, home=home, reason=ChoiceReason.HOME)
    reason = (
        ChoiceReason.HOME_OVERLOADED
        if home_condition is CentreCondition.OVERLOADED
        else ChoiceReason.HOME_OUT_OF_SERVICE
    )
    answering: list[tuple[int, int, CentreId]] = []
    if home_status is not None and home_condition is CentreCondition.OVERLOADED:
        answering.append((home_status.queue_depth, 0, home))
    for index, centre in enumerate(rings(home, neighbours, settings.max_rings), start=1):
        status = states.get(centre)
        centre_condition = condition(status, settings)
        if centre_condition is CentreCondition.IN_SERVICE:
            return CentreChoice(centre=centre, home=home, reason=reason)
        if status is not None and centre_condition is CentreCondition.OVERLOADED:
            answering.append((status.queue_depth, index, centre))
    if answering:
        return CentreChoice(centre=min(answering)[2], home=home, reason=ChoiceReason.ALL_OVERLOADED)
    return CentreChoice(centre=home, home=home, reason=ChoiceReason.NONE_IN_SERVICE)


def fresh_statuses(fold: CallTakingFold) -> dict[CentreId, CentreStatus]:
    """Every centre's status worked out from its queue and mark, as the fold used to."""
    statuses = {}
    for centre, queues in fold.queues.items():
        condition = fold.conditions.get(centre, CentreCondition.IN_SERVICE)
        depth = queues.depth()
        if condition is CentreCondition.OVERLOADED:
            depth += fold.settings.overload_depth + 1
        statuses[centre] = CentreStatus(
            in_service=condition is not CentreCondition.OUT_OF_SERVICE, queue_depth=depth
        )
    return statuses


class ReferenceFold(CallTakingFold):
    """The straightforward fold (see the module docstring); its handlers are the fold's."""

    def _candidates(self, target: CentreId) -> list[tuple[CentreId, str]]:
        choice = reference_choose_centre(
            target, fresh_statuses(self), self.settings.neighbours, self.overflow
        )
        found = [(choice.centre, choice.reason.value)]
        tried = {choice.centre}
        around = self.settings.neighbours.get(target, ())
        for centre in itertools.chain((target,), around, self.queues):
            if centre in tried:
                continue
            tried.add(centre)
            queues = self.queues.get(centre)
            if queues is None or queues.full:
                continue
            if self.condition(centre) is not CentreCondition.OUT_OF_SERVICE:
                found.append((centre, "queue_full"))
        return found

    def _place(self, record: CallRecord) -> None:
        target = record.target or record.province
        queued = self._queued(record)
        for centre, reason in self._candidates(target):
            try:
                self.queues[centre].offer(queued)
            except QueueFull:
                continue
            self._placed_at(record, centre, reason)
            return
        self._hold(record)

    def _re_offer_held(self) -> None:
        for call_id in list(self.held):
            record = self.calls.get(call_id)
            if record is None:
                self.held.pop(call_id, None)
                continue
            self._place(record)
            if record.state is CallState.HELD:
                break

    def _hand_back_overflowed(self) -> None:
        self._hand_back(list(self._away), fresh_statuses(self))
