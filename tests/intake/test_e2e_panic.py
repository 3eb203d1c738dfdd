"""End to end over HTTP: a registered device's panic alarm and three follow-up positions.

The alarm is a priority-1 domestic-violence call on channel `panic_app` for the agency whose
ground it is on (gendarmerie in the countryside, police in town), with every position kept.
"""

from __future__ import annotations

from dispatch.model import Agency, Channel, Priority
from tests.intake.conftest import Intake

KIRSEHIR_COUNTRYSIDE = {"lat": 39.0, "lon": 34.0, "radius_m": 15}
FATIH = {"lat": 41.0082, "lon": 28.9784, "radius_m": 10}


def device(token: str) -> dict[str, str]:
    return {"X-NG112-Device-Token": token}


async def test_panic_alarm_with_three_follow_up_positions(intake: Intake) -> None:
    """Alarm, then three positions (one resent): the call is priority 1, gendarmerie on its
    ground, at the province centre, and its trail holds every position once."""
    _, token = await intake.register("05061234567")
    code, ack = await intake.post(
        "/api/v1/panic/alarms",
        {"alarm_id": "al-1", "position": KIRSEHIR_COUNTRYSIDE},
        headers=device(token),
    )
    assert code == 202, ack
    call_id = ack["call_id"]
    path = f"/api/v1/panic/alarms/{call_id}/positions"
    trail = [(39.001, 34.001), (39.002, 34.003), (39.004, 34.006)]
    for k, (lat, lon) in enumerate(trail):
        intake.clock.advance(10)
        body = {"position_id": f"p{k}", "lat": lat, "lon": lon, "radius_m": 12}
        code, position_ack = await intake.post(path, body, headers=device(token))
        assert (code, position_ack["duplicate"]) == (202, False), position_ack
    code, again = await intake.post(
        path, {"position_id": "p2", "lat": 39.004, "lon": 34.006}, headers=device(token)
    )
    assert (code, again["duplicate"]) == (202, True)
    call = intake.engine.state.calls[call_id]
    incident = intake.engine.state.incidents[call.incident_id]
    assert call.channel is Channel.PANIC_APP
    assert incident.priority is Priority.IMMEDIATE
    assert incident.incident_type == "domestic_violence"
    assert incident.agencies == (Agency.GENDARMERIE,)
    assert call.placement is not None
    assert (call.placement.plate, call.centre) == (40, "40")
    assert [(e.lat, e.lon) for e in call.evidence[1:]] == trail
    assert call.location is not None
    assert (call.location.lat, call.location.lon) == trail[-1]
    assert intake.timeline_types(call_id).count("call_located") == 3


async def test_panic_alarm_in_town_is_for_the_police(intake: Intake) -> None:
    """An alarm on police ground names the police; a resent alarm is the same call."""
    _, token = await intake.register("05061234568")
    body = {"alarm_id": "al-2", "position": FATIH}
    _, first = await intake.post("/api/v1/panic/alarms", body, headers=device(token))
    _, second = await intake.post("/api/v1/panic/alarms", body, headers=device(token))
    assert second["call_id"] == first["call_id"]
    assert second["duplicate"] is True
    incident = intake.engine.state.incidents[first["incident_id"]]
    assert incident.agencies == (Agency.POLICE,)
    assert incident.centre == "34"


async def test_panic_needs_the_devices_own_token(intake: Intake) -> None:
    """No token, an unknown token, another device's alarm, an impossible position: refused."""
    _, token = await intake.register("05061234569")
    _, other = await intake.register("05061234570")
    body = {"alarm_id": "al-3", "position": FATIH}
    code, refused = await intake.post("/api/v1/panic/alarms", body)
    assert (code, refused["error"]["code"]) == (401, "invalid_device_token")
    code, refused = await intake.post("/api/v1/panic/alarms", body, headers=device("y" * 43))
    assert (code, refused["error"]["code"]) == (401, "invalid_device_token")
    _, ack = await intake.post("/api/v1/panic/alarms", body, headers=device(token))
    path = f"/api/v1/panic/alarms/{ack['call_id']}/positions"
    code, refused = await intake.post(
        path, {"position_id": "x", "lat": 41.0, "lon": 29.0}, headers=device(other)
    )
    assert (code, refused["error"]["code"]) == (404, "unknown_call")
    code, refused = await intake.post(
        path, {"position_id": "x", "lat": 41.0, "lon": 200.0}, headers=device(token)
    )
    assert (code, refused["error"]["code"]) == (422, "invalid_body")
    assert intake.timeline_types(ack["call_id"]) == ["call_received", "incident_opened"]
