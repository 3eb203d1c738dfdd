"""The incident lifecycle state machine."""

from __future__ import annotations

import itertools

import pytest

from dispatch.core.lifecycle import TRANSITIONS, IllegalTransition, check_transition
from dispatch.model import IncidentStatus as S

HAPPY_PATH = [
    S.NEW,
    S.CLASSIFIED,
    S.QUEUED,
    S.ASSIGNED,
    S.DISPATCHED,
    S.EN_ROUTE,
    S.ON_SCENE,
    S.RESOLVED,
    S.CLOSED,
]


def test_the_happy_path_is_allowed_step_by_step() -> None:
    """new -> classified -> ... -> closed is a legal sequence."""
    for current, target in itertools.pairwise(HAPPY_PATH):
        check_transition(current, target)


@pytest.mark.parametrize("status", [S.NEW, S.CLASSIFIED])
def test_unfounded_is_one_step_from_the_start(status: S) -> None:
    """Pocket dials and pranks are disposed of before anyone is sent."""
    check_transition(status, S.UNFOUNDED)


@pytest.mark.parametrize("final", [S.CLOSED, S.CANCELLED, S.MERGED, S.UNFOUNDED])
def test_final_statuses_refuse_everything(final: S) -> None:
    """Nothing leaves a final status, and the reason says it is final."""
    for target in S:
        with pytest.raises(IllegalTransition, match="final status"):
            check_transition(final, target)


def test_refusal_names_what_is_allowed() -> None:
    """An illegal move says where the incident may go instead."""
    with pytest.raises(IllegalTransition) as info:
        check_transition(S.NEW, S.ON_SCENE)
    message = str(info.value)
    assert "incident is new" in message
    assert "classified" in message
    assert "not on_scene" in message


def test_every_status_has_a_row_and_open_matches_transitions() -> None:
    """A status is open exactly when it has somewhere to go."""
    for status in S:
        assert status in TRANSITIONS
        assert status.is_open == bool(TRANSITIONS[status])


def test_cannot_skip_from_new_to_resolved() -> None:
    """A case nobody looked at cannot be resolved."""
    with pytest.raises(IllegalTransition):
        check_transition(S.NEW, S.RESOLVED)
