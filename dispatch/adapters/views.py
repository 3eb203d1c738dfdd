"""JSON views of the projections, shaped for the API, the streams and the pages.

Personal data (caller numbers, names, text) is left out for principals that do not need
it; escaping for HTML is the page's job, never skipped there.
"""

from __future__ import annotations

from typing import Any

import msgspec

from dispatch.adapters.ws import redact
from dispatch.core.projections import CallView, IncidentView, State, UnitView
from dispatch.model.access import Principal
from dispatch.model.codec import event_to_wire


def _builtins(value: object) -> Any:
    return msgspec.to_builtins(value)


def call_json(call: CallView, principal: Principal) -> dict[str, Any]:
    """One call as the API shows it."""
    body = {
        "call_id": call.call_id,
        "incident_id": call.incident_id,
        "channel": call.channel.value,
        "centre": call.centre,
        "status": call.status.value,
        "received_at": call.received_at.isoformat(),
        "dialled": call.dialled,
        "caller": _builtins(call.caller),
        "text": call.text,
        "location": _builtins(call.location),
        "placement": _builtins(call.placement),
        "evidence": _builtins(call.evidence),
    }
    return body if principal.sees_caller_data else redact(body)


def incident_json(
    incident: IncidentView, principal: Principal, *, timeline: bool = False
) -> dict[str, Any]:
    """One incident as the API and the snapshot show it."""
    body: dict[str, Any] = {
        "incident_id": incident.incident_id,
        "centre": incident.centre,
        "channel": incident.channel.value,
        "status": incident.status.value,
        "priority": int(incident.priority),
        "incident_type": incident.incident_type,
        "suggested_type": incident.suggested_type,
        "suggestion_confidence": incident.suggestion_confidence,
        "agencies": [a.value for a in incident.agencies],
        "opened_at": incident.opened_at.isoformat(),
        "location": _builtins(incident.location),
        "placement": _builtins(incident.placement),
        "calls": list(incident.calls),
        "units": list(incident.units),
        "merged_into": incident.merged_into,
        "seq": incident.updated_seq,
    }
    if timeline:
        entries = [event_to_wire(r.seq, r.event) for r in incident.timeline]
        body["timeline"] = entries if principal.sees_caller_data else redact(entries)
    return body


def unit_json(unit: UnitView) -> dict[str, Any]:
    """One unit as the API and the snapshot show it."""
    return {
        "unit_id": unit.unit_id,
        "kind": unit.kind.value,
        "agency": unit.agency.value,
        "centre": unit.centre,
        "callsign": unit.callsign,
        "status": unit.status.value,
        "location": _builtins(unit.location),
        "incident_id": unit.incident_id,
        "seq": unit.updated_seq,
    }


def snapshot_json(state: State, principal: Principal) -> dict[str, Any]:
    """What a stream client gets first: open incidents and units it may see."""
    incidents = [
        incident_json(incident, principal)
        for incident in state.incidents.values()
        if incident.status.is_open and principal.sees_province(incident.plate)
    ]
    units = [unit_json(unit) for unit in state.units.values()]
    return {"incidents": incidents, "units": units}
