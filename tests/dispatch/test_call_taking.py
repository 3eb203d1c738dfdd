"""Call-taking through the HTTP API of the composed engine: queues, operators, answer times,
overflow and failover between centres, nuisance flags, roles and rebuilding from the log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dispatch.adapters.http import ENGINE
from dispatch.call_taking_lifespan import CallTakingSection, province_neighbours
from dispatch.model import CallStatus, CallStatusChanged, CentreId
from tests.conftest import Database
from tests.dispatch.call_taking_fakes import (
    Client,
    SteppedClock,
    app_for,
    location,
    on_shift,
    operator,
    post_call,
    queue,
    take,
)
from tests.dispatch.conftest import ClientFactory


@pytest.fixture
def clock() -> SteppedClock:
    """The test's controlled clock."""
    return SteppedClock()


@pytest.fixture
async def client(aiohttp_client: ClientFactory, database: Database, clock: SteppedClock) -> Client:
    """The engine with call-taking only; Hatay overflows to Adana, Osmaniye, Gaziantep."""
    app = app_for(database, clock, call_taking={"neighbours": {"31": ["01", "80", "27"]}})
    return await aiohttp_client(app)


async def test_alarms_first_then_the_longest_waiting(client: Client, clock: SteppedClock) -> None:
    """An eCall jumps the queue; then calls are served oldest first, with caller data."""
    first = await post_call(client, location=location("istanbul"), caller={"number": "+905551"})
    clock.advance(5)
    second = await post_call(client, location=location("istanbul"))
    clock.advance(5)
    ecall = await post_call(client, channel="ecall", location=location("istanbul"))
    snapshot = await queue(client, "34")
    assert snapshot["depth"] == 3
    assert snapshot["depth_by_class"] == {"alarm": 1, "normal": 2}
    assert snapshot["oldest_wait_s"] == 10.0
    assert [w["call_id"] for w in snapshot["waiting"]] == [
        ecall["call_id"],
        first["call_id"],
        second["call_id"],
    ]
    await operator(client, "ayse", "login", {"centre": "34", "skills": ["tr"]})
    await operator(client, "ayse", "next", status=409)  # not ready yet
    await operator(client, "ayse", "ready")
    taken = [await take(client, "ayse")]
    await operator(client, "ayse", "wrap-up")
    await operator(client, "ayse", "ready")
    taken.append(await take(client, "ayse"))
    assert [c["call_id"] for c in taken if c] == [ecall["call_id"], first["call_id"]]
    assert taken[1] is not None
    assert taken[1]["caller"]["number"] == "+905551"
    assert taken[1]["location"]["lat"] == pytest.approx(41.0082)
    assert taken[1]["waited_s"] == 10.0
    assert taken[1]["province_centre"] == "34"


async def test_answer_times_from_a_scripted_sequence(client: Client, clock: SteppedClock) -> None:
    """Ten answers at known delays and one abandoned call give exact NENA figures."""
    await on_shift(client, "mehmet", "34", ["tr"])
    delays = [2, 4, 6, 8, 10, 12, 14, 16, 18, 25]
    for delay in delays:
        await post_call(client, location=location("istanbul"))
        clock.advance(delay)
        assert await take(client, "mehmet") is not None
        clock.advance(30)  # talking; not part of the answer time
        await operator(client, "mehmet", "wrap-up")
        await operator(client, "mehmet", "ready")
    abandoned = await post_call(client, location=location("istanbul"))
    clock.advance(40)
    await client.app[ENGINE].record(
        [
            CallStatusChanged(
                occurred_at=clock.now(),
                call_id=abandoned["call_id"],
                status=CallStatus.ABANDONED,
            )
        ]
    )
    response = await client.get("/api/v1/answer-times", params={"centre": "34", "channel": "phone"})
    figures = await response.json()
    assert figures["answered"] == 10
    assert figures["abandoned"] == 1
    assert figures["within_15s"] == pytest.approx(0.7)
    assert figures["within_20s"] == pytest.approx(0.9)
    assert (figures["p50_s"], figures["p90_s"], figures["p95_s"]) == (10.0, 18.0, 25.0)
    assert figures["mean_s"] == pytest.approx(11.5)
    assert figures["meets_standard"] is False
    assert (await queue(client, "34"))["depth"] == 0, "the abandoned call left the queue"
    metrics = await (await client.get("/metrics")).text()
    labels = 'centre="34",channel="phone"'
    assert f'ng112_answer_seconds_bucket{{{labels},le="15"}} 7' in metrics
    assert f"ng112_answer_seconds_count{{{labels}}} 10" in metrics
    assert f"ng112_calls_abandoned_total{{{labels}}} 1" in metrics
    assert f"ng112_answer_standard_met{{{labels}}} 0" in metrics
    assert 'ng112_call_takers{centre="34",state="ready"} 1' in metrics


async def test_a_full_queue_overflows_and_drops_nothing(
    aiohttp_client: ClientFactory, database: Database, clock: SteppedClock
) -> None:
    """With room for two calls, the third from İstanbul waits at Kocaeli, its province kept."""
    app = app_for(database, clock, call_taking={"max_waiting": 2, "neighbours": {"34": ["41"]}})
    client = await aiohttp_client(app)
    calls = [await post_call(client, location=location("istanbul")) for _ in range(3)]
    assert (await queue(client, "34"))["depth"] == 2
    kocaeli = await queue(client, "41")
    [away] = kocaeli["waiting"]
    assert away["call_id"] == calls[2]["call_id"]
    assert away["province_centre"] == "34"
    assert away["placed_because"] == "queue_full"


async def test_out_of_service_centre_overflows_and_takes_its_calls_back(
    client: Client, clock: SteppedClock
) -> None:
    """Hatay out of service: its calls wait in Adana; back in service, the waiting ones return."""
    first = await post_call(client, location=location("hatay"))
    clock.advance(3)
    second = await post_call(client, location=location("hatay"))
    response = await client.post(
        "/api/v1/centres/31/status",
        json={"condition": "out_of_service"},
        headers={"X-NG112-Role": "call_taker", "X-NG112-Province": "31"},
    )
    assert response.status == 403, "only an administrator marks a centre"
    response = await client.post(
        "/api/v1/centres/31/status", json={"condition": "out_of_service", "reason": "building"}
    )
    assert (await response.json())["condition"] == "out_of_service"
    clock.advance(4)
    third = await post_call(client, location=location("hatay"))
    assert (await queue(client, "31"))["depth"] == 0
    adana = await queue(client, "01")
    assert {w["call_id"] for w in adana["waiting"]} == {
        first["call_id"],
        second["call_id"],
        third["call_id"],
    }
    assert {w["province_centre"] for w in adana["waiting"]} == {"31"}
    assert adana["waiting"][0]["placed_because"] == "home_out_of_service"
    metrics = await (await client.get("/metrics")).text()
    assert 'ng112_centre_in_service{centre="31"} 0' in metrics
    await on_shift(client, "adana-1", "01", ["tr"])
    taken = await take(client, "adana-1")
    assert taken is not None
    assert taken["call_id"] == first["call_id"]
    assert taken["province_centre"] == "31"
    clock.advance(10)
    await client.post("/api/v1/centres/31/status", json={"condition": "in_service"})
    assert (await queue(client, "01"))["depth"] == 0
    hatay = await queue(client, "31")
    assert [w["call_id"] for w in hatay["waiting"]] == [second["call_id"], third["call_id"]]
    assert hatay["waiting"][0]["waited_s"] == 14.0, "the wait counts from the first offer"
    assert hatay["waiting"][0]["placed_because"] == "handed_back_on_recovery"


async def test_repeat_nuisance_numbers_are_flagged_never_blocked(
    client: Client, clock: SteppedClock
) -> None:
    """Three pranks from one number flag its next call to the call-taker; the call still waits."""
    await on_shift(client, "zeynep", "34", ["tr"])
    caller = {"number": "+905559998877"}
    for _ in range(3):
        await post_call(client, location=location("istanbul"), caller=caller)
        call = await take(client, "zeynep")
        assert call is not None
        assert call["flags"] == []
        response = await client.post(
            f"/api/v1/calls/{call['call_id']}/unfounded", json={"reason": "prank"}
        )
        assert response.status == 200, await response.text()
        await operator(client, "zeynep", "wrap-up")
        await operator(client, "zeynep", "ready")
        clock.advance(60)
    await post_call(client, location=location("istanbul"), caller=caller)
    call = await take(client, "zeynep")
    assert call is not None
    [flag] = call["flags"]
    assert flag["kind"] == "repeat_unfounded"
    assert flag["count"] == 3
    assert flag["reasons"] == {"prank": 3}
    incident = await (await client.get(f"/api/v1/incidents/{call['incident_id']}")).json()
    assert incident["status"] == "new", "a flagged call is answered as usual"


async def test_sign_video_and_text_need_their_skills(client: Client) -> None:
    """A sign-language session waits for a TİD operator; a text chat for one who takes text."""
    video = await post_call(client, channel="sign_video", location=location("istanbul"))
    text = await post_call(client, channel="text", location=location("istanbul"), text="yardım")
    await on_shift(client, "voice", "34", ["tr"])
    assert (await operator(client, "voice", "next"))["call"] is None
    await on_shift(client, "signer", "34", ["tid", "tr"])
    assert (await take(client, "signer") or {})["call_id"] == video["call_id"]
    await on_shift(client, "writer", "34", ["tr", "text"])
    assert (await take(client, "writer") or {})["call_id"] == text["call_id"]


ROLE_CASES: list[tuple[str, dict[str, str], str, int]] = [
    ("device", {"X-NG112-Role": "device"}, "34", 403),
    ("other province", {"X-NG112-Role": "call_taker", "X-NG112-Province": "6"}, "34", 403),
    ("own province", {"X-NG112-Role": "call_taker", "X-NG112-Province": "34"}, "34", 201),
    ("desk operator in a province", {"X-NG112-Role": "language_desk_operator"}, "34", 403),
    ("desk operator at the desk", {"X-NG112-Role": "language_desk_operator"}, "central", 201),
    ("coordinator", {"X-NG112-Role": "central_coordinator"}, "central", 403),
]


@pytest.mark.parametrize(
    ("name", "headers", "centre", "status"), ROLE_CASES, ids=[c[0] for c in ROLE_CASES]
)
async def test_roles_and_scope_decide_who_logs_in_where(
    client: Client, name: str, headers: dict[str, str], centre: str, status: int
) -> None:
    """Call-takers work at their own centre, the desk's operators at the central desk."""
    response = await client.post(
        "/api/v1/operators/op-1/login",
        json={"centre": centre, "skills": ["tr"]},
        headers=headers,
    )
    assert response.status == status, name


BAD_COMMANDS: list[tuple[str, str, Any, int, str]] = [
    ("unknown centre", "login", {"centre": "99", "skills": ["tr"]}, 404, "unknown_centre"),
    ("no skills", "login", {"centre": "34", "skills": []}, 422, "invalid_body"),
    ("odd skill", "login", {"centre": "34", "skills": ["<b>"]}, 422, "invalid_body"),
    ("not logged in", "ready", None, 409, "operator_state"),
    ("nothing to wrap up", "wrap-up", None, 409, "operator_state"),
]


@pytest.mark.parametrize("case", BAD_COMMANDS, ids=[c[0] for c in BAD_COMMANDS])
async def test_bad_operator_commands_are_refused_and_write_nothing(
    client: Client, case: tuple[str, str, Any, int, str]
) -> None:
    """Each refusal has its status and code, echoes nothing and commits nothing."""
    name, action, body, status, code = case
    answer = await operator(client, "op-x", action, body, status=status)
    assert answer["error"]["code"] == code, name
    assert "<b>" not in answer["error"]["reason"]
    assert await client.app[ENGINE].log.count() == 0


async def test_restart_rebuilds_the_queues_from_the_log(
    aiohttp_client: ClientFactory, database: Database, clock: SteppedClock
) -> None:
    """After a restart the queues, operators and answer times are what they were."""
    settings = {"neighbours": {"31": ["01"]}}
    client = await aiohttp_client(app_for(database, clock, call_taking=settings))
    calls = [await post_call(client, location=location("istanbul")) for _ in range(3)]
    await post_call(client, location=location("hatay"))
    await client.post("/api/v1/centres/31/status", json={"condition": "out_of_service"})
    await on_shift(client, "ali", "34", ["tr"])
    clock.advance(6)
    held = await take(client, "ali")
    before = [await queue(client, c) for c in ("34", "01", "31")]
    before_times = await (await client.get("/api/v1/answer-times")).json()
    await client.close()

    again = await aiohttp_client(app_for(database, clock, call_taking=settings))
    after = [await queue(again, c) for c in ("34", "01", "31")]
    assert after == before
    assert [w["call_id"] for w in after[0]["waiting"]] == [c["call_id"] for c in calls[1:]]
    assert after[1]["depth"] == 1, "the overflowed Hatay call is still in Adana"
    assert await (await again.get("/api/v1/answer-times")).json() == before_times
    wrapped = await operator(again, "ali", "wrap-up")
    assert held is not None
    assert wrapped["call_id"] == held["call_id"]


async def test_openapi_lists_the_call_taking_paths(client: Client) -> None:
    """The OpenAPI document describes the operator, queue and centre routes."""
    document = await (await client.get("/api/v1/openapi.json")).json()
    for path in (
        "/api/v1/operators/{operator_id}/next",
        "/api/v1/queues",
        "/api/v1/answer-times",
        "/api/v1/centres/{centre}/status",
    ):
        assert path in document["paths"]
    assert "LoginIn" in document["components"]["schemas"]


def test_settings_table_and_neighbours_from_boundaries(tmp_path: Path) -> None:
    """Neighbours come from the settings, else from touching province outlines."""
    squares = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"plate": plate},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]],
                },
            }
            for plate, x in ((1, 0), (2, 1), (3, 2), (4, 10))
        ],
    }
    path = tmp_path / "provinces.geojson"
    path.write_text(json.dumps(squares))
    neighbours = province_neighbours(path)
    assert neighbours[CentreId("02")] == ("01", "03")
    assert neighbours[CentreId("04")] == ()
    given = CallTakingSection.model_validate({"neighbours": {"31": ["01"]}}).to_settings()
    assert given.neighbours == {"31": ("01",)}
    computed = CallTakingSection.model_validate({"boundaries": str(path)}).to_settings()
    assert computed.neighbours[CentreId("01")] == ("02",)
    with pytest.raises(ValueError, match="plate code"):
        CallTakingSection.model_validate({"neighbours": {"99": ["01"]}})
    assert province_neighbours(tmp_path / "missing.geojson") == {}
