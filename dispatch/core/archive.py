"""The archivist's rule: which concluded incidents leave the live projections (pure).

A centre's screens show what is still being handled; a concluded incident stays on them
for a retention period (a coordinator may still look at what just ended), then leaves
memory. Its story stays in the log, and ``Engine.archived_incident`` reads it back from
there. An incident is archived when

- it has been in a final status (closed, cancelled, merged, unfounded) for ``after``,
  measured from the event that concluded it to the engine's clock now;
- every call that belongs to it has ended or been abandoned (a call-taker may still be
  on the line of a call whose incident was marked unfounded, and a text or sign-language
  session may still be open). eCall and panic-app calls have no end signal (an MSD or an
  alarm is a message, not a line; an eCall's voice line is a phone call of its own), so
  they count as over once their incident is final;
- no unit is assigned to it;
- no package holds it back (an :data:`ArchiveHold`: intake keeps an abandoned call's
  incident while its callback waits).

The archivist records :class:`IncidentArchived`; every projection drops the incident and
its calls when it folds that event, so a replay of the log archives exactly what the live
engine archived, whatever the clock says at replay time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from dispatch.core.projections import IncidentView, State
from dispatch.model.events import IncidentArchived
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.vocabulary import CallStatus, Channel

#: A package's veto: ``True`` keeps the incident (its id, its own calls) in memory for now.
ArchiveHold = Callable[[IncidentId, tuple[CallId, ...]], bool]

CALL_OVER = frozenset({CallStatus.ENDED, CallStatus.ABANDONED})
#: Channels whose calls never end by a signal of their own: over when the incident is final.
NO_END_SIGNAL = frozenset({Channel.ECALL, Channel.PANIC_APP})


def archive_key(incident_id: str) -> str:
    """The idempotency key of an incident's archiving: it is recorded once."""
    return f"archive:{incident_id}"


def _own_calls(state: State, incident: IncidentView) -> list[CallId] | None:
    """The calls that belong to the incident, or ``None`` while one of them goes on."""
    own: list[CallId] = []
    for call_id in incident.calls:
        call = state.calls.get(call_id)
        if call is None or call.incident_id != incident.incident_id:
            continue  # merged into another incident: that one archives it
        if call.status not in CALL_OVER and call.channel not in NO_END_SIGNAL:
            return None
        own.append(call_id)
    return own


def _unit_assigned(state: State, incident: IncidentView) -> bool:
    for unit_id in incident.units:
        unit = state.units.get(unit_id)
        if unit is not None and unit.incident_id == incident.incident_id:
            return True
    return False


def due_for_archive(
    state: State,
    now: datetime,
    *,
    after: timedelta,
    limit: int = 1000,
    holds: Sequence[ArchiveHold] = (),
) -> list[IncidentArchived]:
    """The archive events to record now, oldest conclusion first, at most ``limit``.

    ``state.concluded`` is in the order incidents concluded, so the scan stops at the
    first incident concluded less than ``after`` ago; incidents held back by a call or a
    unit are looked at again on the next round.
    """
    cutoff = now - after
    due: list[IncidentArchived] = []
    for incident_id, concluded_at in state.concluded.items():
        if concluded_at > cutoff:
            break
        incident = state.incidents.get(incident_id)
        if incident is None:
            continue
        calls = _own_calls(state, incident)
        if calls is None or _unit_assigned(state, incident):
            continue
        own = tuple(calls)
        if any(hold(incident_id, own) for hold in holds):
            continue
        due.append(
            IncidentArchived(
                occurred_at=now,
                idempotency_key=archive_key(incident_id),
                plate=incident.plate,
                incident_id=incident_id,
                status=incident.status,
                calls=own,
                timeline=tuple(record.seq for record in incident.timeline),
            )
        )
        if len(due) >= limit:
            break
    return due
