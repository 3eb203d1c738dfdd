"""The incident lifecycle as a pure state machine.

::

    new -> classified -> queued -> assigned -> dispatched -> en_route -> on_scene
        -> resolved -> closed

plus ``cancelled``, ``merged`` (into another incident) and ``unfounded`` (pocket
dials, pranks, information requests: most calls to 112). Practical shortcuts that real
centres take are allowed (a dispatcher may dispatch a classified incident straight away,
a unit may report on scene without en route); everything else is refused with a
precise reason.
"""

from __future__ import annotations

from dispatch.model.vocabulary import IncidentStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.CLASSIFIED, S.QUEUED, S.CANCELLED, S.MERGED, S.UNFOUNDED}),
    S.CLASSIFIED: frozenset(
        {S.CLASSIFIED, S.QUEUED, S.ASSIGNED, S.DISPATCHED, S.CANCELLED, S.MERGED, S.UNFOUNDED}
    ),
    S.QUEUED: frozenset({S.CLASSIFIED, S.ASSIGNED, S.DISPATCHED, S.CANCELLED, S.MERGED}),
    S.ASSIGNED: frozenset({S.QUEUED, S.DISPATCHED, S.CANCELLED, S.MERGED}),
    S.DISPATCHED: frozenset({S.EN_ROUTE, S.ON_SCENE, S.QUEUED, S.CANCELLED, S.RESOLVED}),
    S.EN_ROUTE: frozenset({S.ON_SCENE, S.QUEUED, S.CANCELLED, S.RESOLVED}),
    S.ON_SCENE: frozenset({S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.ON_SCENE}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
    S.MERGED: frozenset(),
    S.UNFOUNDED: frozenset(),
}


class IllegalTransition(Exception):  # noqa: N818 - names the refusal
    """The lifecycle does not allow this move; the message says why."""

    def __init__(self, current: S, target: S) -> None:
        self.current = current
        self.target = target
        if not TRANSITIONS[current]:
            reason = f"incident is {current}, a final status: no further transitions"
        else:
            allowed = ", ".join(sorted(TRANSITIONS[current]))
            reason = f"incident is {current}; from there it may go to {allowed}, not {target}"
        super().__init__(reason)


def check_transition(current: S, target: S) -> None:
    """Return if ``current -> target`` is allowed, else raise :class:`IllegalTransition`."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
