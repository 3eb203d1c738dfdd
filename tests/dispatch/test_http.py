"""The HTTP API: intake, idempotency, queries, actions, bad input, metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatch.adapters.http import ENGINE
from dispatch.app.web import build_app
from tests.conftest import Database
from tests.dispatch.conftest import ClientFactory, settings_for

Client = TestClient[web.Request, web.Application]

CALL = {
    "channel": "phone",
    "caller": {"number": "+905321234567"},
    "dialled": "112",
    "text": "Kızılay'da trafik kazası",
    "location": {"lat": 39.92, "lon": 32.85, "radius_m": 50},
}


async def _post(client: Client, body: Any, **kwargs: Any) -> tuple[int, Any]:
    response = await client.post("/api/v1/calls", json=body, **kwargs)
    return response.status, await response.json()


async def _rejected(client: Client) -> float:
    text = await (await client.get("/metrics")).text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("ng112_rejected_total")
    )


async def test_a_call_is_acknowledged_after_commit(client: Client) -> None:
    """202 with the call id; the call and its incident are then readable."""
    status, body = await _post(client, CALL)
    assert status == 202
    engine = client.app[ENGINE]
    assert engine.log.head >= 2, "acknowledged means committed"
    call = await (await client.get(f"/api/v1/calls/{body['call_id']}")).json()
    assert call["caller"]["number"] == "+905321234567"
    assert call["text"] == "Kızılay'da trafik kazası"
    incident = await (await client.get(f"/api/v1/incidents/{body['incident_id']}")).json()
    assert [e["event_type"] for e in incident["timeline"]] == ["call_received", "incident_opened"]


async def test_a_retry_returns_the_same_call_and_stores_one(client: Client) -> None:
    """The same client_request_id, sequentially and concurrently, gives one call."""
    body = {**CALL, "client_request_id": "gw-7:call-42"}
    first = await _post(client, body)
    again = await asyncio.gather(*(_post(client, body) for _ in range(5)))
    assert {r[1]["call_id"] for r in again} == {first[1]["call_id"]}
    engine = client.app[ENGINE]
    assert len(engine.state.calls) == 1
    assert await engine.log.count() == 2


async def test_concurrent_first_attempts_store_one_call(client: Client) -> None:
    """Retries racing the first attempt wait for it instead of writing twice."""
    body = {**CALL, "client_request_id": "race-1"}
    results = await asyncio.gather(*(_post(client, body) for _ in range(8)))
    assert len({r[1]["call_id"] for r in results}) == 1
    assert len(client.app[ENGINE].state.calls) == 1


BAD_BODIES: list[tuple[str, Any, int, str]] = [
    ("unknown channel", {"channel": "fax"}, 422, "channel"),
    ("missing channel", {"text": "help"}, 422, "channel"),
    ("latitude out of range", {**CALL, "location": {"lat": 91, "lon": 30}}, 422, "location.lat"),
    ("longitude out of range", {**CALL, "location": {"lat": 39, "lon": -181}}, 422, "location.lon"),
    (
        "negative radius",
        {**CALL, "location": {"lat": 39, "lon": 32, "radius_m": -1}},
        422,
        "radius_m",
    ),
    ("wrong type", {**CALL, "text": 12}, 422, "text"),
    ("unknown field", {**CALL, "colour": "red"}, 422, "colour"),
    ("dialled a non-emergency number", {**CALL, "dialled": "911"}, 422, "dialled"),
    (
        "a phone number with letters",
        {**CALL, "caller": {"number": "<script>"}},
        422,
        "caller.number",
    ),
    ("text over the limit", {**CALL, "text": "x" * 4001}, 422, "text"),
    ("not an object", [1, 2], 422, "object"),
]


@pytest.mark.parametrize(
    ("name", "body", "status", "mentions"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES]
)
async def test_bad_input_is_refused_precisely_and_changes_nothing(
    client: Client, name: str, body: Any, status: int, mentions: str
) -> None:
    """Each bad body gets its 4xx with a reason naming the field, is counted, writes nothing."""
    code, answer = await _post(client, body)
    assert code == status, name
    assert mentions in answer["error"]["reason"]
    assert "<script>" not in answer["error"]["reason"], "reasons never echo input"
    assert await client.app[ENGINE].log.count() == 0
    assert await _rejected(client) == 1


async def test_malformed_json_and_wrong_media_type(client: Client) -> None:
    """Broken JSON is 400, a non-JSON body 415; both counted, nothing written."""
    response = await client.post(
        "/api/v1/calls", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed_json"
    response = await client.post("/api/v1/calls", data=b"x", headers={"Content-Type": "text/plain"})
    assert response.status == 415
    assert await _rejected(client) == 2
    assert await client.app[ENGINE].log.count() == 0


async def test_body_over_the_limit_is_413(client: Client) -> None:
    """A body over the configured 64 KiB limit is refused before parsing."""
    response = await client.post(
        "/api/v1/calls",
        data=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "body_too_large"
    assert await client.app[ENGINE].log.count() == 0


async def test_actions_move_the_incident_and_illegal_ones_are_409(client: Client) -> None:
    """Operator transitions follow the lifecycle; an illegal one is refused with its reason."""
    _, body = await _post(client, CALL)
    url = f"/api/v1/incidents/{body['incident_id']}/actions"
    response = await client.post(url, json={"action": "resolve"})
    assert response.status == 409
    assert "incident is new" in (await response.json())["error"]["reason"]
    response = await client.post(
        url,
        json={
            "action": "classify",
            "incident_type": "traffic_collision",
            "priority": 2,
            "agencies": ["health", "police"],
        },
    )
    assert response.status == 200
    incident = (await response.json())["incident"]
    assert incident["status"] == "classified"
    assert incident["agencies"] == ["health", "police"]
    response = await client.post(url, json={"action": "unfounded", "unfounded_reason": "prank"})
    assert (await response.json())["incident"]["status"] == "unfounded"


async def test_unknown_incident_is_404(client: Client) -> None:
    """Acting on or reading an unknown incident is a 404."""
    assert (await client.get("/api/v1/incidents/inc-nope")).status == 404
    response = await client.post("/api/v1/incidents/inc-nope/actions", json={"action": "cancel"})
    assert response.status == 404


async def test_incident_filters(client: Client) -> None:
    """Filters by status and since narrow the list."""
    _, first = await _post(client, CALL)
    await _post(client, {**CALL, "text": "ikinci"})
    await client.post(
        f"/api/v1/incidents/{first['incident_id']}/actions", json={"action": "cancel"}
    )
    listed = await (await client.get("/api/v1/incidents", params={"status": "cancelled"})).json()
    assert [i["incident_id"] for i in listed["incidents"]] == [first["incident_id"]]
    future = await (
        await client.get("/api/v1/incidents", params={"since": "2999-01-01T00:00:00+00:00"})
    ).json()
    assert future["incidents"] == []
    bad = await client.get("/api/v1/incidents", params={"status": "sleeping"})
    assert bad.status == 400


async def test_roles_and_scope_are_checked(client: Client) -> None:
    """A provincial coordinator cannot act on incidents; a device cannot read them."""
    _, body = await _post(client, CALL)
    coordinator = {"X-NG112-Role": "provincial_coordinator", "X-NG112-Province": "6"}
    response = await client.post(
        f"/api/v1/incidents/{body['incident_id']}/actions",
        json={"action": "cancel"},
        headers=coordinator,
    )
    assert response.status == 403
    response = await client.get(
        f"/api/v1/calls/{body['call_id']}", headers={"X-NG112-Role": "device"}
    )
    assert response.status == 403


async def test_tokens_replace_the_development_principal(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """With tokens configured, a request without one is 401 and a known token works."""
    settings = settings_for(
        database,
        tokens=[{"token": "t" * 32, "subject": "gateway-1", "role": "device"}],
    )
    client = await aiohttp_client(build_app(settings))
    assert (await client.post("/api/v1/calls", json=CALL)).status == 401
    assert (
        await client.post("/api/v1/calls", json=CALL, headers={"Authorization": "Bearer wrong"})
    ).status == 401
    response = await client.post(
        "/api/v1/calls", json=CALL, headers={"Authorization": "Bearer " + "t" * 32}
    )
    assert response.status == 202


async def test_health_ready_and_openapi(client: Client) -> None:
    """The probes answer and the OpenAPI document describes the call intake."""
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/calls" in document["paths"]
    assert "channel" in document["components"]["schemas"]["CallIn"]["properties"]


def _batch_call(number: int, **extra: Any) -> dict[str, Any]:
    return {
        **CALL,
        "caller": {"number": f"+90532{number:07d}"},
        "client_request_id": f"gw-batch:{number}",
        **extra,
    }


async def _post_batch(client: Client, calls: list[Any]) -> tuple[int, Any]:
    response = await client.post("/api/v1/calls/batch", json={"calls": calls})
    return response.status, await response.json()


async def test_a_batch_is_committed_together_and_acknowledged_in_order(client: Client) -> None:
    """A gateway's batch: one ack per call, in order, each call and incident readable."""
    calls = [_batch_call(n) for n in range(1, 21)]
    status, body = await _post_batch(client, calls)
    assert status == 202
    results = body["results"]
    assert len(results) == 20
    assert not any(r["duplicate"] for r in results)
    engine = client.app[ENGINE]
    assert await engine.log.count() == 40, "acknowledged means committed: 2 events a call"
    assert [r["seq"] for r in results] == sorted(r["seq"] for r in results)
    for call, result in zip(calls, results, strict=True):
        stored = await (await client.get(f"/api/v1/calls/{result['call_id']}")).json()
        assert stored["caller"]["number"] == call["caller"]["number"]
        assert stored["incident_id"] == result["incident_id"]


async def test_a_resent_batch_and_retries_inside_it_store_each_call_once(client: Client) -> None:
    """Resending the batch, or naming a call twice in it, gives the original ids back."""
    single = await _post(client, _batch_call(5))
    calls = [_batch_call(n) for n in range(1, 8)] + [_batch_call(2)]
    first = await _post_batch(client, calls)
    again = await asyncio.gather(*(_post_batch(client, calls) for _ in range(3)))
    assert first[0] == 202
    ids = [r["call_id"] for r in first[1]["results"]]
    assert ids[4] == single[1]["call_id"]
    assert ids[7] == ids[1]
    assert [r["duplicate"] for r in first[1]["results"]] == [
        False, False, False, False, True, False, False, True
    ]  # fmt: skip
    for status, body in again:
        assert status == 202
        assert [r["call_id"] for r in body["results"]] == ids
        assert all(r["duplicate"] for r in body["results"])
    engine = client.app[ENGINE]
    assert len(engine.state.calls) == 7
    assert await engine.log.count() == 14


BAD_BATCHES: list[tuple[str, Any, int, str]] = [
    ("empty", {"calls": []}, 422, "calls"),
    ("not a list", {"calls": CALL}, 422, "calls"),
    ("unknown field", {"calls": [CALL], "priority": 1}, 422, "priority"),
    (
        "one bad call among good ones",
        {"calls": [_batch_call(1), _batch_call(2, location={"lat": 91, "lon": 30})]},
        422,
        "calls.1.location.lat",
    ),
    ("too many", {"calls": [{"channel": "phone"}] * 501}, 422, "calls"),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "where"), BAD_BATCHES, ids=[c[0] for c in BAD_BATCHES]
)
async def test_a_bad_batch_is_refused_precisely_and_writes_nothing(
    client: Client, case: str, body: Any, status: int, where: str
) -> None:
    """All or nothing: one bad call refuses the batch, naming its index; nothing is written."""
    response = await client.post("/api/v1/calls/batch", json=body)
    assert response.status == status, case
    error = (await response.json())["error"]
    assert where in error["reason"]
    assert await client.app[ENGINE].log.count() == 0
    assert await _rejected(client) == 1


async def test_metrics_show_what_the_projections_hold_and_the_process_memory(
    client: Client,
) -> None:
    """Incidents and calls held in memory, and the resident memory to alert on."""
    for number in range(3):
        body = {**CALL, "client_request_id": f"held-{number}"}
        status, _ = await _post(client, body)
        assert status == 202
    text = await (await client.get("/metrics")).text()
    values = {
        line.split(" ")[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values["ng112_projection_incidents"] == 3
    assert values["ng112_projection_calls"] == 3
    assert values["ng112_projection_concluded"] == 0
    assert values['ng112_idempotency_keys{kept_as="event"}'] == 3
    assert values['ng112_idempotency_keys{kept_as="seq"}'] == 0
    assert values["ng112_snapshot_restored_seq"] == 0
    assert values["ng112_event_log_transactions"] >= 3
    assert values["ng112_event_log_commit_seconds"] > 0
    assert values["process_resident_memory_bytes"] > 10_000_000
