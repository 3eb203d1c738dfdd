"""The central foreign-language desk end to end, through the HTTP API of the composed engine.

Call-taking (``dispatch``) and the language desk run together on a test database with a
controlled clock and a fake locator. Each scenario of issue #6 ends where it should: the
desk's queue for the caller's language, the fallback with its reason, or the province, and
back to the province of the incident with the original answer clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from dispatch.adapters.http import ENGINE
from dispatch.app.composition import compose
from dispatch.core.decide import ReceiveCall
from dispatch.model import DEVELOPMENT_PRINCIPAL, Caller, Channel, Location
from language_desk.adapters.http import LANGUAGE_DESK
from tests.conftest import Database
from tests.dispatch.call_taking_fakes import (
    CALL_TAKING,
    DESK_PACKAGE,
    Client,
    PlateLocator,
    SteppedClock,
    app_for,
    location,
    on_shift,
    operator,
    post_call,
    queue,
    take,
)
from tests.dispatch.conftest import ClientFactory, settings_for

BOTH = (CALL_TAKING, DESK_PACKAGE)
RUSSIAN = "Помогите! Мой друг тонет в море возле отеля"
PERSIAN = "کمک کنید، پدرم در هتل حالش بد شده است"
DESK = {"X-NG112-Role": "language_desk_operator"}


@pytest.fixture
def clock() -> SteppedClock:
    """The test's controlled clock."""
    return SteppedClock()


@pytest.fixture
async def client(aiohttp_client: ClientFactory, database: Database, clock: SteppedClock) -> Client:
    """Call-taking and the language desk with default settings."""
    return await aiohttp_client(app_for(database, clock, packages=BOTH))


async def settled(client: Client) -> None:
    """Wait until the desk has detected and routed every call received so far."""
    await client.app[LANGUAGE_DESK].settled()


async def timeline(client: Client, incident_id: str) -> list[dict[str, Any]]:
    """The incident's timeline."""
    body = await (await client.get(f"/api/v1/incidents/{incident_id}")).json()
    entries: list[dict[str, Any]] = body["timeline"]
    return entries


def waiting_ids(snapshot: dict[str, Any]) -> list[str]:
    """Call ids waiting in a queue snapshot."""
    return [w["call_id"] for w in snapshot["waiting"]]


async def test_russian_text_from_antalya_goes_to_the_desk_and_back_to_antalya(
    client: Client, clock: SteppedClock
) -> None:
    """Russian text from Antalya: desk ru queue, answered there, handed back with its clock."""
    call = await post_call(client, channel="text", text=RUSSIAN, location=location("antalya"))
    received_at = clock.now()
    await settled(client)
    desk = await queue(client, "central")
    assert desk["depth_by_skill"] == {"ru+text": 1}
    assert desk["waiting"][0]["province_centre"] == "07"
    assert (await queue(client, "07"))["depth"] == 0
    await on_shift(client, "desk-en", "central", ["en", "text"])
    await on_shift(client, "desk-ru", "central", ["ru", "en", "text"])
    assert (await operator(client, "desk-en", "next"))["call"] is None
    clock.advance(7)
    taken = await take(client, "desk-ru")
    assert taken is not None
    assert taken["call_id"] == call["call_id"]
    assert taken["language_verdict"]["language"] == "ru"
    assert taken["language_verdict"]["decided_by"] == "text"
    clock.advance(28)  # the desk takes incident and address in 25-30 s
    response = await client.post(
        f"/api/v1/calls/{call['call_id']}/hand-back",
        json={
            "incident_type": "drowning",
            "address": "Konyaaltı plajı, Antalya",
            "location": location("antalya"),
        },
        headers=DESK,
    )
    assert response.status == 200, await response.text()
    case = (await response.json())["case"]
    assert case["to_centre"] == "07"
    assert case["caller_attached"] is True
    assert case["interpreter"] == "desk-ru"
    assert datetime.fromisoformat(case["offered_at"]) == received_at
    again = await client.post(
        f"/api/v1/calls/{call['call_id']}/hand-back",
        json={"incident_type": "drowning", "address": "Konyaaltı"},
        headers=DESK,
    )
    assert again.status == 409
    antalya = await queue(client, "07")
    assert waiting_ids(antalya) == [call["call_id"]]
    assert antalya["waiting"][0]["waited_s"] == 35.0, "one continuous clock from the first offer"
    await on_shift(client, "antalya-1", "07", ["tr", "text"])
    case_call = await take(client, "antalya-1")
    assert case_call is not None
    assert case_call["case"]["incident_type"] == "drowning"
    assert case_call["case"]["address"] == "Konyaaltı plajı, Antalya"
    assert case_call["interpreter"] == "desk-ru"
    figures = await (await client.get("/api/v1/answer-times")).json()
    assert figures["answered"] == 1, "the hand-back does not start a second answer time"
    assert figures["p50_s"] == 7.0
    kinds = [e["event_type"] for e in await timeline(client, call["incident_id"])]
    for kind in ("language_detected", "call_routed_to_desk", "call_answered", "case_handed_back"):
        assert kind in kinds
    incident = await (await client.get(f"/api/v1/incidents/{call['incident_id']}")).json()
    assert incident["placement"]["plate"] == 7


async def test_german_sim_calling_from_mugla_reaches_the_de_queue(
    client: Client, clock: SteppedClock
) -> None:
    """A German SIM (MCC 262, from AML) calling from Bodrum waits in the desk's de queue."""
    lat, lon = location("bodrum")["lat"], location("bodrum")["lon"]
    engine = client.app[ENGINE]
    ack = await engine.receive_call(
        ReceiveCall(
            channel=Channel.PHONE,
            caller=Caller(number="+4915112345678"),
            location=Location(lat=lat, lon=lon, radius_m=20.0, source="aml", at=clock.now()),
            details={"home_mcc": "262"},
            client_request_id="aml-262-1",
        ),
        DEVELOPMENT_PRINCIPAL,
    )
    await settled(client)
    desk = await queue(client, "central")
    assert desk["depth_by_skill"] == {"de": 1}
    assert desk["waiting"][0]["province_centre"] == "48"
    detected = [
        e for e in await timeline(client, ack.incident_id) if e["event_type"] == "language_detected"
    ]
    [verdict] = detected
    assert verdict["data"]["language"] == "de"
    assert verdict["data"]["decided_by"] == "sim_home_network"
    assert any(
        h["source"] == "sim_home_network" and h["detail"] == "MCC 262 (Germany)"
        for h in verdict["data"]["evidence"]
    )


async def test_arabic_chosen_in_the_app_reaches_the_ar_queue(client: Client) -> None:
    """An Arabic caller who chose the language in the app waits for an Arabic speaker."""
    call = await post_call(client, caller={"language": "ar"}, location=location("istanbul"))
    await settled(client)
    await on_shift(client, "desk-en", "central", ["en"])
    await on_shift(client, "desk-ar", "central", ["ar"])
    assert (await operator(client, "desk-en", "next"))["call"] is None
    taken = await take(client, "desk-ar")
    assert taken is not None
    assert taken["call_id"] == call["call_id"]
    assert taken["province_centre"] == "34"
    assert taken["language_verdict"]["decided_by"] == "caller_choice"


async def test_turkish_call_wrongly_flagged_then_corrected_returns_to_its_province(
    client: Client, clock: SteppedClock
) -> None:
    """Flagged foreign by mistake, the call goes to the desk; corrected, it is back in Antalya."""
    call = await post_call(client, location=location("antalya"))
    await settled(client)
    await on_shift(client, "antalya-1", "07", ["tr"])
    clock.advance(5)
    assert await take(client, "antalya-1") is not None
    flag = await client.post(
        f"/api/v1/calls/{call['call_id']}/language",
        json={"language": "foreign", "operator": "antalya-1"},
    )
    assert flag.status == 200, await flag.text()
    await settled(client)
    desk = await queue(client, "central")
    assert waiting_ids(desk) == [call["call_id"]]
    assert desk["waiting"][0]["desk_reason"] == "language not determined; waiting for en"
    operator_view = await operator(client, "antalya-1", "next")
    assert operator_view["call"] is None, "the flagging call-taker is free again"
    await on_shift(client, "desk-en", "central", ["en"])
    clock.advance(10)
    assert await take(client, "desk-en") is not None
    correction = await client.post(
        f"/api/v1/calls/{call['call_id']}/language",
        json={"language": "tr", "operator": "desk-en"},
        headers=DESK,
    )
    assert correction.status == 200
    await settled(client)
    assert (await queue(client, "central"))["depth"] == 0
    antalya = await queue(client, "07")
    assert waiting_ids(antalya) == [call["call_id"]]
    assert antalya["waiting"][0]["waited_s"] == 15.0
    kinds = [e["event_type"] for e in await timeline(client, call["incident_id"])]
    assert kinds.count("language_flagged") == 2
    assert "call_routed_to_province" in kinds
    await operator(client, "antalya-1", "ready")
    back = await take(client, "antalya-1")
    assert back is not None
    assert back["language_verdict"]["language"] == "tr"
    figures = await (await client.get("/api/v1/answer-times", params={"centre": "07"})).json()
    assert figures["answered"] == 1, "the first answer is the only answer-time sample"
    assert figures["p50_s"] == 5.0


async def test_a_language_nobody_on_shift_speaks_waits_for_english_visibly(
    client: Client, clock: SteppedClock
) -> None:
    """A Persian text waits at the desk for English, and the wait and its reason are visible."""
    call = await post_call(client, channel="text", text=PERSIAN, location=location("antalya"))
    await settled(client)
    await on_shift(client, "desk-de", "central", ["de", "text"])
    await on_shift(client, "desk-en", "central", ["en", "text"])
    clock.advance(12)
    desk = await queue(client, "central")
    [entry] = desk["waiting"]
    assert entry["language"] == "fa"
    assert entry["reason"] == "fallback"
    assert entry["detail"] == "no operator on shift speaks fa; waiting for en"
    assert entry["desk_reason"] == "no operator speaks fa; waiting for en"
    assert entry["waited_s"] == 12.0
    assert desk["fallback_waiting"] == 1
    metrics = await (await client.get("/metrics")).text()
    assert 'ng112_call_queue_fallback_waiting{centre="central"} 1' in metrics
    assert (await operator(client, "desk-de", "next"))["call"] is None
    taken = await take(client, "desk-en")
    assert taken is not None
    assert taken["call_id"] == call["call_id"]


async def test_desk_languages_are_settings(
    aiohttp_client: ClientFactory, database: Database, clock: SteppedClock
) -> None:
    """A desk configured to serve Persian queues a Persian text for Persian speakers."""
    app = app_for(
        database,
        clock,
        packages=BOTH,
        language_desk={"languages": ["en", "de", "ar", "ru", "fa"]},
    )
    client = await aiohttp_client(app)
    await post_call(client, channel="text", text=PERSIAN, location=location("antalya"))
    await settled(client)
    [entry] = (await queue(client, "central"))["waiting"]
    assert entry["language"] == "fa"
    assert entry["desk_reason"] is None


async def test_hand_back_is_refused_until_the_desk_has_the_call(client: Client) -> None:
    """Only a desk operator hands back, only a call at the desk and answered there."""
    turkish = await post_call(client, location=location("antalya"))
    russian = await post_call(client, channel="text", text=RUSSIAN, location=location("antalya"))
    await settled(client)
    body = {"incident_type": "drowning", "address": "Lara"}
    cases = [
        (turkish["call_id"], DESK, 409),
        (russian["call_id"], DESK, 409),  # not answered yet
        (russian["call_id"], {"X-NG112-Role": "call_taker"}, 403),
        ("call-unknown", DESK, 404),
    ]
    for call_id, headers, status in cases:
        response = await client.post(
            f"/api/v1/calls/{call_id}/hand-back", json=body, headers=headers
        )
        assert response.status == status, (call_id, await response.text())
    response = await client.post(
        f"/api/v1/calls/{russian['call_id']}/hand-back", json={"address": "x"}, headers=DESK
    )
    assert response.status == 422


async def test_restart_keeps_the_desk_queues_without_detecting_twice(
    aiohttp_client: ClientFactory, database: Database, clock: SteppedClock
) -> None:
    """After a restart the Russian call is still in the ru queue, detected once."""
    client = await aiohttp_client(app_for(database, clock, packages=BOTH))
    call = await post_call(client, channel="text", text=RUSSIAN, location=location("antalya"))
    await settled(client)
    before = await queue(client, "central")
    await client.close()
    again = await aiohttp_client(app_for(database, clock, packages=BOTH))
    await settled(again)
    assert await queue(again, "central") == before
    kinds = [e["event_type"] for e in await timeline(again, call["incident_id"])]
    assert kinds.count("language_detected") == 1
    assert kinds.count("call_routed_to_desk") == 1


async def test_the_case_goes_to_the_province_of_the_incident(
    client: Client, clock: SteppedClock
) -> None:
    """A Russian caller in Antalya reporting a crash in Bodrum: the case goes to Muğla."""
    call = await post_call(client, channel="text", text=RUSSIAN, location=location("antalya"))
    await settled(client)
    await on_shift(client, "desk-ru", "central", ["ru", "text"])
    assert await take(client, "desk-ru") is not None
    clock.advance(25)
    response = await client.post(
        f"/api/v1/calls/{call['call_id']}/hand-back",
        json={
            "incident_type": "traffic_collision",
            "address": "Bodrum girişi",
            "location": location("bodrum"),
        },
        headers=DESK,
    )
    case = (await response.json())["case"]
    assert case["to_centre"] == "48"
    assert case["reason"] == "province of the incident"
    assert waiting_ids(await queue(client, "48")) == [call["call_id"]]
    assert (await queue(client, "07"))["depth"] == 0
    flag = await client.post(f"/api/v1/calls/{call['call_id']}/language", json={"language": "ru"})
    assert flag.status == 200
    await settled(client)
    assert waiting_ids(await queue(client, "48")) == [call["call_id"]], "a case stays put"
    await on_shift(client, "mugla-1", "48", ["tr", "text"])
    taken = await take(client, "mugla-1")
    assert taken is not None
    assert taken["interpreter"] == "desk-ru", "the desk operator stays on as interpreter"
    wrapped = await operator(client, "desk-ru", "wrap-up")
    assert wrapped["call_id"] == call["call_id"]
    assert (await operator(client, "mugla-1", "wrap-up"))["call_id"] == call["call_id"]


async def test_the_desk_comes_back_from_a_snapshot(
    aiohttp_client: ClientFactory, database: Database, clock: SteppedClock
) -> None:
    """A snapshot saved mid-way restores the desk at the next start, which folds only the
    events after it and detects nothing again."""
    settings = settings_for(database, snapshot_on_stop=False)
    first = await aiohttp_client(
        compose(settings, clock=clock, locator=PlateLocator(), packages=(DESK_PACKAGE,))
    )
    await post_call(first, channel="text", text=RUSSIAN, location=location("antalya"))
    await settled(first)
    saved = await first.app[ENGINE].save_snapshot()
    await post_call(first, channel="text", text=PERSIAN, location=location("antalya"))
    await settled(first)
    head = first.app[ENGINE].state.last_seq
    before = first.app[LANGUAGE_DESK].snapshot()
    await first.close()
    again = await aiohttp_client(
        compose(settings, clock=clock, locator=PlateLocator(), packages=(DESK_PACKAGE,))
    )
    await settled(again)
    assert again.app[ENGINE].restored_seq == saved
    assert again.app[ENGINE].state.last_seq == head, "nothing detected twice"
    assert again.app[LANGUAGE_DESK].snapshot() == before
    assert [h.route_language for h in again.app[LANGUAGE_DESK].calls.values()] == ["ru", "fa"]
