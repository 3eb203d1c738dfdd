"""End to end over HTTP and websockets: a CTI gateway's call events, AML and PIDF-LO by value.

Each test runs against ng112 served on loopback (SQLite and PostgreSQL) and ends by looking at
what a user could observe: the acknowledgements, the call in the log, its location and where
it was placed (its province centre is its queue), the callback list and /metrics.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import websockets

from dispatch.model import CallStatus, Channel
from tests.intake.conftest import Intake

DATA = Path(__file__).parent / "data"
NUMBER = "+905321234567"
KADIKOY_CELL = {"id": "28601-4711", "lat": 40.9900, "lon": 29.0300, "radius_m": 2_000}


def aml_sms(lat: float, lon: float, at: datetime, *, imei: str = "358239059042542") -> str:
    """An AML v1 SMS text with a German SIM (MCC 262) and a correct `ml`."""
    body = (
        f'A"ML=1;lt={lat:+.5f};lg={lon:+.5f};rd=12;top={at:%Y%m%d%H%M%S};lc=68;pm=G;'
        f"si=262011234567890;ei={imei};mcc=286;mnc=01;ml="
    )
    length = len(body) + 3
    return f"{body}{length}"


def offered(call_id: str, *, number: str | None = "05321234567", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "offered",
        "id": f"req-{call_id}",
        "gateway": "ast-ist-1",
        "gateway_call_id": call_id,
        "caller": number,
        "dialled": "155",
        "trunk": "turkcell-sip-3",
        "cell": KADIKOY_CELL,
        "time": "2025-06-01T10:00:00+00:00",
    }
    event.update(extra)
    return event


def status(kind: str, call_id: str, **extra: Any) -> dict[str, Any]:
    event = {
        "type": kind,
        "id": f"{kind}-{call_id}",
        "gateway": "ast-ist-1",
        "gateway_call_id": call_id,
        "time": "2025-06-01T10:01:00+00:00",
    }
    event.update(extra)
    return event


async def post_aml(intake: Intake, text: str, number: str = NUMBER) -> tuple[int, dict[str, Any]]:
    return await intake.post(
        f"/api/v1/aml?from={number.replace('+', '%2B')}", data=text, content_type="text/plain"
    )


def assert_located_in_istanbul(intake: Intake, call_id: str, source: str) -> None:
    call = intake.engine.state.calls[call_id]  # type: ignore[index]
    assert call.channel is Channel.PHONE
    assert call.location is not None
    assert call.location.source == source
    assert call.placement is not None
    assert call.placement.plate == 34
    assert call.centre == "34"  # the province centre's queue takes it


async def test_gateway_call_with_aml_after_the_call_ended(intake: Intake) -> None:
    """Offered, answered, ended over HTTP; the AML arriving after the end joins the call,
    locates it by the handset fix and carries the SIM's home MCC for the language desk."""
    code, ack = await intake.post("/api/v1/phone/events", offered("c1"))
    assert code == 202, ack
    assert ack["id"] == "req-c1"
    call_id = ack["call_id"]
    call = intake.engine.state.calls[call_id]
    assert call.dialled == "155"
    assert call.caller.number == NUMBER
    assert call.location is not None
    assert call.location.source == "cell"
    code, _ = await intake.post(
        "/api/v1/phone/events", [status("answered", "c1", operator="op-7"), status("ended", "c1")]
    )
    assert code == 202
    assert intake.engine.state.calls[call_id].status is CallStatus.ENDED
    intake.clock.advance(120)
    code, body = await post_aml(intake, aml_sms(40.99043, 29.02935, intake.clock.now()))
    assert code == 202, body
    assert body["joined"] is True
    assert body["order"] == "after"
    assert body["call_id"] == call_id
    assert_located_in_istanbul(intake, call_id, "aml")
    types = intake.timeline_types(call_id)
    assert types.count("call_status_changed") == 2
    assert "call_located" in types
    joined = [
        r.event
        for r in intake.engine.state.incidents[call.incident_id].timeline
        if r.event.event_type == "intake_aml_joined"
    ]
    assert [(j.home_mcc, j.order) for j in joined] == [("262", "after")]  # type: ignore[attr-defined]


async def test_aml_before_the_call_event_waits_and_joins(intake: Intake) -> None:
    """An AML report that beats the gateway's offered event waits, then joins the call."""
    code, body = await post_aml(intake, aml_sms(40.99043, 29.02935, intake.clock.now()))
    assert code == 202, body
    assert body["joined"] is False
    assert intake.service.aml.pending_count == 1
    async with websockets.connect(intake.ws_url("/api/v1/phone/ws")) as ws:
        await ws.send(orjson.dumps(offered("c2")).decode())
        ack = orjson.loads(await ws.recv())
    assert ack["type"] == "ack"
    assert ack["id"] == "req-c2"
    assert intake.service.aml.pending_count == 0
    assert_located_in_istanbul(intake, ack["call_id"], "aml")
    assert "intake_aml_joined" in intake.timeline_types(ack["call_id"])
    assert "ng112_intake_aml_pending 0" in await intake.metrics()


async def test_aml_during_the_call_joins_it(intake: Intake) -> None:
    """An AML report during a live call joins it at once, and its resend changes nothing."""
    _, ack = await intake.post("/api/v1/phone/events", offered("c3"))
    text = aml_sms(40.99043, 29.02935, intake.clock.now())
    code, body = await post_aml(intake, text)
    assert (code, body["order"], body["call_id"]) == (202, "during", ack["call_id"])
    code, again = await post_aml(intake, text)
    assert (code, again["duplicate"]) == (202, True)
    types = intake.timeline_types(ack["call_id"])
    assert types.count("call_located") == 1
    assert types.count("intake_aml_joined") == 1


async def test_aml_after_the_join_window_waits_instead(intake: Intake) -> None:
    """An AML report later than the join window after the call's end does not join it."""
    _, ack = await intake.post("/api/v1/phone/events", offered("c4"))
    await intake.post("/api/v1/phone/events", status("ended", "c4"))
    intake.clock.advance(601)
    _, body = await post_aml(intake, aml_sms(40.99, 29.03, intake.clock.now()))
    assert body["joined"] is False
    assert "intake_aml_joined" not in intake.timeline_types(ack["call_id"])


async def test_offered_event_retried_is_one_call(intake: Intake) -> None:
    """The gateway resends an offered event: one call, the same id, flagged duplicate."""
    _, first = await intake.post("/api/v1/phone/events", offered("c5"))
    _, second = await intake.post("/api/v1/phone/events", offered("c5"))
    assert second["call_id"] == first["call_id"]
    assert second["duplicate"] is True
    assert len(intake.engine.state.calls) == 1


async def test_abandoned_call_goes_to_the_callback_list(intake: Intake) -> None:
    """An abandoned call waits for a callback until an operator records the outcome; a
    later call from the same number supersedes another abandoned one."""
    _, first = await intake.post("/api/v1/phone/events", offered("c6"))
    await intake.post("/api/v1/phone/events", status("abandoned", "c6"))
    code, listed = await intake.get("/api/v1/callbacks")
    assert code == 200
    assert [(c["call_id"], c["number"], c["plate"]) for c in listed["callbacks"]] == [
        (first["call_id"], NUMBER, 34)
    ]
    code, done = await intake.post(
        f"/api/v1/callbacks/{first['call_id']}/done", {"outcome": "reached"}
    )
    assert code == 200, done
    assert (await intake.get("/api/v1/callbacks"))[1]["callbacks"] == []
    assert "intake_callback_completed" in intake.timeline_types(first["call_id"])
    await intake.post("/api/v1/phone/events", offered("c7"))
    await intake.post("/api/v1/phone/events", status("abandoned", "c7"))
    await intake.post("/api/v1/phone/events", offered("c8"))
    assert (await intake.get("/api/v1/callbacks"))[1]["callbacks"] == []
    code, again = await intake.post("/api/v1/phone/events", status("ended", "c7"))
    assert (code, again["error"]["code"]) == (409, "call_already_ended")


async def test_pidf_lo_by_value_on_the_offered_event(intake: Intake) -> None:
    """A SIP multipart body on the offered event gives PIDF-LO evidence and the civic address,
    found by its Content-ID."""
    pidf = (DATA / "tr_civic_point.xml").read_text()
    body = (
        "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n"
        "--b1\r\nContent-Type: application/pidf+xml\r\nContent-ID: <loc1@gw.example.tr>\r\n\r\n"
        f"{pidf}\r\n--b1--\r\n"
    )
    event = offered(
        "c9",
        location_by_value={
            "content_type": "multipart/mixed; boundary=b1",
            "content_id": "<cid:loc1@gw.example.tr>",
            "body": body,
        },
    )
    code, ack = await intake.post("/api/v1/phone/events", event)
    assert code == 202, ack
    assert "location_error" not in ack
    assert_located_in_istanbul(intake, ack["call_id"], "pidf")
    assert intake.engine.state.calls[ack["call_id"]].placement.district == "Kadıköy"  # type: ignore[union-attr]
    incident = intake.engine.state.incidents[ack["incident_id"]]
    civic = [
        r.event for r in incident.timeline if r.event.event_type.endswith("civic_address_reported")
    ]
    assert civic[0].civic["NAM"] == "مطعم 🚑 Çiğdem"  # type: ignore[attr-defined]


async def test_hostile_pidf_is_refused_and_the_call_is_kept(intake: Intake) -> None:
    """A billion-laughs document is refused with its reason and counted; the call stands, and
    the same refusal on POST /calls/{id}/location changes nothing."""
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;">]><presence xmlns="urn:ietf:params:xml:ns:pidf">'
        "&lol2;</presence>"
    )
    event = offered("c10", location_by_value={"body": laughs})
    code, ack = await intake.post("/api/v1/phone/events", event)
    assert code == 202
    assert ack["location_error"]["code"] == "pidf_unsafe_xml"
    call_id = ack["call_id"]
    code, refused = await intake.post(
        f"/api/v1/calls/{call_id}/location", data=laughs, content_type="application/pidf+xml"
    )
    assert (code, refused["error"]["code"]) == (422, "pidf_unsafe_xml")
    assert intake.timeline_types(call_id) == ["call_received", "incident_opened"]
    pidf = (DATA / "tr_civic_point.xml").read_bytes()
    code, located = await intake.post(
        f"/api/v1/calls/{call_id}/location", data=pidf, content_type="application/pidf+xml"
    )
    assert code == 202, located
    assert_located_in_istanbul(intake, call_id, "pidf")
    assert 'ng112_rejected_total{code="pidf_unsafe_xml"} 2.0' in await intake.metrics()


async def test_bad_input_is_refused_precisely_and_counted(intake: Intake) -> None:
    """Broken AML, impossible positions, bad numbers and unknown calls: precise 4xx, counted,
    nothing written."""
    code, body = await post_aml(intake, 'A"ML=1;lt=+91.00000;lg=29.0;rd=10;top=20250601100000')
    assert (code, body["error"]["code"]) == (422, "aml_value_error")
    code, body = await post_aml(intake, "hello")
    assert (code, body["error"]["code"]) == (422, "aml_syntax_error")
    bad_cell = offered("c11", cell={"lat": 123.0, "lon": 29.0})
    code, body = await intake.post("/api/v1/phone/events", bad_cell)
    assert (code, body["error"]["code"]) == (422, "invalid_body")
    assert "cell.lat" in body["error"]["reason"]
    code, body = await intake.post("/api/v1/phone/events", offered("c12", number="12ab"))
    assert (code, body["error"]["code"]) == (422, "invalid_number")
    code, body = await intake.post("/api/v1/phone/events", status("answered", "nope", operator="o"))
    assert (code, body["error"]["code"]) == (404, "unknown_gateway_call")
    async with websockets.connect(intake.ws_url("/api/v1/phone/ws")) as ws:
        await ws.send("{not json")
        assert orjson.loads(await ws.recv())["code"] == "malformed_json"
        await ws.send(orjson.dumps(status("ended", "nope")).decode())
        reply = orjson.loads(await ws.recv())
        assert (reply["type"], reply["id"], reply["code"]) == (
            "error",
            "ended-nope",
            "unknown_gateway_call",
        )
    assert intake.engine.log.head == 0
    metrics = await intake.metrics()
    for code_name in (
        "aml_value_error",
        "aml_syntax_error",
        "invalid_number",
        "unknown_gateway_call",
    ):
        assert f'ng112_rejected_total{{code="{code_name}"}}' in metrics


async def test_a_flood_from_one_number_is_contained(intake: Intake) -> None:
    """One number sending faster than its bucket gets 429 with Retry-After; others go on."""
    statuses = []
    for k in range(25):
        async with intake.session.post(
            intake.base + "/api/v1/phone/events", json=offered(f"f{k}", number="05551112233")
        ) as response:
            statuses.append(response.status)
            if response.status == 429:
                assert int(response.headers["Retry-After"]) >= 1
                assert (await response.json())["error"]["code"] == "flood_limited"
    assert statuses.count(202) == 20
    assert statuses.count(429) == 5
    code, _ = await intake.post("/api/v1/phone/events", offered("other"))
    assert code == 202
    intake.clock.advance(5)
    code, _ = await intake.post("/api/v1/phone/events", offered("f99", number="05551112233"))
    assert code == 202
    assert "ng112_intake_flood_refused_total 5" in await intake.metrics()
