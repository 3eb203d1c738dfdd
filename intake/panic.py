"""Panic-app alarms (KADES-style silent alarms): alarm and follow-up positions to commands (pure).

A registered user presses the alarm: no voice, only the device's identity and position, then
follow-up positions while the app stays open. The alarm is a call on channel `panic_app` with
priority 1 (immediate) and incident type `domestic_violence`, for the police or the
gendarmerie by whose ground the position is (from the placement), the coast guard at sea. The
position trail is the call's `CallLocated` events, each keyed by the alarm's own position
counter so a resent position is recorded once.
"""

from __future__ import annotations

from typing import Final

from dispatch.core.decide import ReceiveCall
from dispatch.model.values import Caller, Location, Placement
from dispatch.model.vocabulary import Agency, Channel, Ground, Priority

__all__ = [
    "PANIC_INCIDENT_TYPE",
    "agencies_for",
    "alarm_command",
    "alarm_request_id",
    "position_key",
]

PANIC_INCIDENT_TYPE: Final = "domestic_violence"
"""The incident type of a panic alarm (KADES is the violence-against-women app)."""

_BY_GROUND: Final = {
    Ground.POLICE: Agency.POLICE,
    Ground.GENDARMERIE: Agency.GENDARMERIE,
    Ground.COAST_GUARD: Agency.COAST_GUARD,
}


def agencies_for(placement: Placement | None) -> tuple[Agency, ...]:
    """The agency whose ground the alarm is on; the police when the ground is unknown.

    The police take it when nothing is known: a call-taker reassigns it on classification,
    and an alarm without an agency would wait for nobody.
    """
    if placement is None or placement.ground is None:
        return (Agency.POLICE,)
    return (_BY_GROUND[placement.ground],)


def alarm_request_id(device_id: str, alarm_id: str) -> str:
    """The client request id of an alarm (a resent alarm is the same call)."""
    return f"panic:{device_id}:{alarm_id}"


def position_key(call_id: str, position_id: str) -> str:
    """The idempotency key of one follow-up position of an alarm."""
    return f"panic-position:{call_id}:{position_id}"


def alarm_command(
    *,
    device_id: str,
    alarm_id: str,
    number: str,
    position: Location,
    placement: Placement | None,
    name: str | None = None,
    language: str | None = None,
) -> ReceiveCall:
    """The dispatch command that records a panic alarm."""
    return ReceiveCall(
        channel=Channel.PANIC_APP,
        caller=Caller(number=number, name=name, language=language),
        location=position,
        client_request_id=alarm_request_id(device_id, alarm_id),
        details={"device_id": device_id, "alarm_id": alarm_id},
        priority=Priority.IMMEDIATE,
        incident_type=PANIC_INCIDENT_TYPE,
        agencies=agencies_for(placement),
    )
