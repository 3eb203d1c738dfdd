"""Units: lifecycle rules, order timers, device messages, registration, recommendation, dispatch."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.adapters.http import ENGINE
from dispatch.adapters.store import StoreError
from dispatch.adapters.units_http import HAND_OFFS, UNITS
from dispatch.core.decide import Action
from dispatch.model.dispatch_events import UnitOrderAcknowledged, UnitOrderSent
from dispatch.model.events import Event, UnitDispatched
from dispatch.model.ids import IncidentId, UnitId
from dispatch.model.vocabulary import IncidentStatus as I
from dispatch.model.vocabulary import UnitStatus as U
from dispatch.units import (
    AvlMessage,
    InvalidUnitMessage,
    OrderAckMessage,
    OrderBook,
    OrderState,
    Receipt,
    StatusMessage,
    decode_message,
    lifecycle_action,
)
from dispatch.units_topics import Inbound, UnitTopics
from routing.travel import ACCESS_SPEED_KPH, RoadGraph, great_circle_m
from tests.conftest import SHARED_DATA, Database
from tests.dispatch.conftest import ClientFactory
from tests.dispatch.test_units_support import (
    ControlledClock,
    get,
    open_incident,
    post,
    timeline,
    unit_body,
    units_app,
)

RIZE_GRAPHML = SHARED_DATA / "roads" / "rize_center_drive.graphml"
T0 = datetime(2025, 2, 6, 1, 17, tzinfo=UTC)

# -- pure rules ---------------------------------------------------------------------------

LIFECYCLE = [
    (I.DISPATCHED, U.EN_ROUTE, False, Action.EN_ROUTE),
    (I.EN_ROUTE, U.EN_ROUTE, False, None),
    (I.DISPATCHED, U.ON_SCENE, False, Action.ON_SCENE),
    (I.EN_ROUTE, U.ON_SCENE, True, Action.ON_SCENE),
    (I.ON_SCENE, U.ON_SCENE, False, None),
    (I.ON_SCENE, U.AVAILABLE, False, Action.RESOLVE),
    (I.ON_SCENE, U.AVAILABLE, True, None),
    (I.ON_SCENE, U.TRANSPORTING, False, Action.RESOLVE),
    (I.ON_SCENE, U.AT_HOSPITAL, False, None),
    (I.CLASSIFIED, U.EN_ROUTE, False, None),
    (I.RESOLVED, U.AVAILABLE, False, None),
    (I.DISPATCHED, U.OUT_OF_SERVICE, False, None),
]


@pytest.mark.parametrize(("incident", "reported", "others_busy", "expected"), LIFECYCLE)
def test_unit_status_moves_the_incident_lifecycle(
    incident: I, reported: U, others_busy: bool, expected: Action | None
) -> None:
    """En route and on scene move the incident; the last unit leaving resolves it."""
    assert lifecycle_action(incident, reported, others_busy=others_busy) == expected


def _sent(order_id: str, deadline_s: float) -> UnitOrderSent:
    return UnitOrderSent(
        occurred_at=T0,
        order_id=order_id,
        unit_id=UnitId("amb-1"),
        incident_id=IncidentId("inc-1"),
        deadline=T0 + timedelta(seconds=deadline_s),
    )


def test_order_book_flags_what_is_unacknowledged_at_its_deadline() -> None:
    """Only orders still waiting at their deadline are due; acknowledged ones never are."""
    book = OrderBook()
    for event in (_sent("a", 30), _sent("b", 60), _sent("c", 30)):
        book.apply(event)
    book.apply(
        UnitOrderAcknowledged(
            occurred_at=T0, order_id="c", unit_id=UnitId("amb-1"), incident_id=IncidentId("inc-1")
        )
    )
    assert book.next_deadline() == T0 + timedelta(seconds=30)
    assert book.due(T0 + timedelta(seconds=29)) == []
    assert [o.order_id for o in book.due(T0 + timedelta(seconds=30))] == ["a"]
    assert [o.order_id for o in book.due(T0 + timedelta(seconds=90))] == ["a", "b"]
    assert book.orders["c"].state is OrderState.ACKNOWLEDGED


# -- device messages and topics ------------------------------------------------------------


def test_device_messages_decode() -> None:
    """Status, AVL and order acks decode into typed messages."""
    status = decode_message(
        b'{"status":"en_route","incident_id":"inc-1","lat":41.02,"lon":40.52,'
        b'"at":"2025-02-06T01:17:00Z","msg_id":"m-1"}',
        StatusMessage,
    )
    assert status.status is U.EN_ROUTE
    assert status.at == T0
    avl = decode_message(b'{"lat":41.0,"lon":40.5,"msg_id":"m-2"}', AvlMessage)
    assert (avl.lat, avl.lon) == (41.0, 40.5)
    ack = decode_message(b'{"order_id":"ord-1","msg_id":"m-3"}', OrderAckMessage)
    assert ack.order_id == "ord-1"


BAD_MESSAGES = [
    ("not JSON", b"{oops", StatusMessage, "JSON"),
    ("unknown status", b'{"status":"<b>","msg_id":"m"}', StatusMessage, "status"),
    ("no msg_id", b'{"status":"available"}', StatusMessage, "msg_id"),
    ("lat alone", b'{"status":"available","msg_id":"m","lat":41}', StatusMessage, "lat and lon"),
    ("latitude out of range", b'{"lat":91,"lon":40,"msg_id":"m"}', AvlMessage, "lat"),
    (
        "naive time",
        b'{"lat":41,"lon":40,"msg_id":"m","at":"2025-02-06T01:17:00"}',
        AvlMessage,
        "at",
    ),
    ("unknown field", b'{"lat":41,"lon":40,"msg_id":"m","speed":3}', AvlMessage, "speed"),
    ("order id with a slash", b'{"order_id":"a/b"}', OrderAckMessage, "order_id"),
    (
        "too large",
        b'{"status":"available","msg_id":"' + b"m" * 5000 + b'"}',
        StatusMessage,
        "bytes",
    ),
]


@pytest.mark.parametrize(
    ("name", "payload", "kind", "mentions"), BAD_MESSAGES, ids=[m[0] for m in BAD_MESSAGES]
)
def test_bad_device_messages_are_refused_precisely(
    name: str,
    payload: bytes,
    kind: type[StatusMessage | AvlMessage | OrderAckMessage],
    mentions: str,
) -> None:
    """Each bad message raises InvalidUnitMessage naming the problem, never echoing input."""
    with pytest.raises(InvalidUnitMessage) as caught:
        decode_message(payload, kind)
    assert mentions in str(caught.value), name
    assert "<b>" not in str(caught.value)


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_the_documented_error(payload: bytes) -> None:
    """Whatever a device sends, decoding returns a message or raises InvalidUnitMessage."""
    for kind in (StatusMessage, AvlMessage, OrderAckMessage):
        with contextlib.suppress(InvalidUnitMessage):
            decode_message(payload, kind)


def test_topics_are_built_and_parsed_in_one_place() -> None:
    """Inbound topics parse back to (unit, kind); outbound and foreign topics do not."""
    topics = UnitTopics("ng112/units")
    assert topics.parse(topics.status("amb-1")) == ("amb-1", Inbound.STATUS)
    assert topics.parse(topics.avl("amb-1")) == ("amb-1", Inbound.AVL)
    assert topics.parse(topics.order_ack("amb-1")) == ("amb-1", Inbound.ORDER_ACK)
    assert topics.parse(topics.orders("amb-1")) is None
    assert topics.parse(topics.ack("amb-1")) is None
    assert topics.parse("ng112/units/+/status") is None
    assert topics.parse("other/amb-1/status") is None
    assert topics.subscriptions == (
        "ng112/units/+/status",
        "ng112/units/+/avl",
        "ng112/units/+/orders/ack",
    )


# -- through the API -----------------------------------------------------------------------


async def test_units_are_registered_by_administrators_only(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Administrators register units once; others get 403; a kind must fit its agency."""
    client = await aiohttp_client(units_app(database, ControlledClock()))
    await post(client, "/api/v1/units", unit_body("amb-1", 41.02, 40.52), 201)
    refused = await client.post(
        "/api/v1/units",
        json=unit_body("amb-2", 41.02, 40.52),
        headers={"X-NG112-Role": "call_taker"},
    )
    assert refused.status == 403
    again = await post(client, "/api/v1/units", unit_body("amb-1", 41.0, 40.5), 409)
    assert "already registered" in again["error"]["reason"]
    await post(
        client,
        "/api/v1/units",
        unit_body("pc-1", 41.0, 40.5, kind="patrol_car", agency="health"),
        409,
    )
    bad = await post(client, "/api/v1/units", {**unit_body("x", 41.0, 40.5), "unit_id": "a/b"}, 422)
    assert "unit_id" in bad["error"]["reason"]
    await post(client, "/api/v1/units", unit_body("pc-1", 41.0, 40.5, "patrol_car", "police"), 201)
    health = await get(client, "/api/v1/units?agency=health")
    assert [u["unit_id"] for u in health["units"]] == ["amb-1"]
    assert health["units"][0]["status"] == "available"
    await get(client, "/api/v1/units?agency=nobody", 400)


def _scenario(graph: RoadGraph) -> tuple[tuple[float, float], list[tuple[float, float]]]:
    """An incident and eight unit positions where the nearest by air is not the fastest."""
    rng = np.random.default_rng(7)
    for node in rng.integers(0, graph.node_count, 200):
        lat, lon = float(graph.lats[node]), float(graph.lons[node])
        picks = rng.integers(0, graph.node_count, 8)
        ulats, ulons = graph.lats[picks], graph.lons[picks]
        times = graph.times_to(lat, lon)[picks]
        crow = great_circle_m(ulats, ulons, lat, lon)
        if np.all(np.isfinite(times)) and np.argmin(times) != np.argmin(crow):
            return (lat, lon), [(float(a), float(b)) for a, b in zip(ulats, ulons, strict=True)]
    pytest.fail("no scenario found")  # pragma: no cover


async def test_recommendations_rank_by_road_travel_time_on_rize(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """On Rize's real roads, the API ranks available units by road time, not by distance."""
    graph = RoadGraph.from_graphml(RIZE_GRAPHML)
    (lat, lon), positions = _scenario(graph)
    app = units_app(database, ControlledClock(), section={"road_graph": str(RIZE_GRAPHML)})
    client = await aiohttp_client(app)
    for number, (ulat, ulon) in enumerate(positions):
        await post(client, "/api/v1/units", unit_body(f"amb-{number}", ulat, ulon), 201)
    await post(client, "/api/v1/units", unit_body("pc-9", lat, lon, "patrol_car", "police"), 201)
    incident_id = await open_incident(client, lat=lat, lon=lon)
    body = await get(client, f"/api/v1/incidents/{incident_id}/recommendations?agency=health&k=8")
    assert body["road_graph"] is True
    found = body["recommendations"]
    assert {r["method"] for r in found} == {"road"}
    assert "pc-9" not in {r["unit_id"] for r in found}, "only the requested agency"
    times = [r["travel_time_s"] for r in found]
    assert times == sorted(times)
    road = graph.times_to(lat, lon)
    snapped = graph.snap(np.array([p[0] for p in positions]), np.array([p[1] for p in positions]))
    expected = {
        f"amb-{i}": float(road[snapped.nodes[i]] + snapped.distance_m[i] / (ACCESS_SPEED_KPH / 3.6))
        for i in range(8)
    }
    assert times == pytest.approx([expected[r["unit_id"]] for r in found], abs=0.1)
    by_distance = sorted(found, key=lambda r: r["distance_m"])
    assert by_distance[0]["unit_id"] != found[0]["unit_id"], "the nearest by air is not first"
    top = await get(client, f"/api/v1/incidents/{incident_id}/recommendations?agency=health&k=1")
    assert [r["unit_id"] for r in top["recommendations"]] == [found[0]["unit_id"]]
    await get(client, f"/api/v1/incidents/{incident_id}/recommendations?agency=health&k=0", 400)


async def test_dispatch_accepts_or_overrides_and_units_move_the_lifecycle(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """Dispatch commits the choice and the order; statuses move the incident; timers flag."""
    clock = ControlledClock()
    app = units_app(database, clock, section={"order_ack_s": 30})
    client = await aiohttp_client(app)
    await post(client, "/api/v1/units", unit_body("amb-near", 41.021, 40.521), 201)
    await post(client, "/api/v1/units", unit_body("amb-far", 41.05, 40.58), 201)
    unclassified = await open_incident(client, lat=41.02, lon=40.52, classify=False)
    early = await post(
        client, f"/api/v1/incidents/{unclassified}/dispatch", {"unit_id": "amb-near"}, 409
    )
    assert "classified" in early["error"]["reason"]
    incident_id = await open_incident(client, lat=41.02, lon=40.52)
    best = await get(client, f"/api/v1/incidents/{incident_id}/recommendations?agency=health")
    assert [r["unit_id"] for r in best["recommendations"]] == ["amb-near", "amb-far"]
    assert best["recommendations"][0]["method"] == "estimate"
    refused = await post(
        client, f"/api/v1/incidents/{incident_id}/dispatch", {"unit_id": "amb-far"}, 409
    )
    assert "override_reason" in refused["error"]["reason"]
    override = await post(
        client,
        f"/api/v1/incidents/{incident_id}/dispatch",
        {"unit_id": "amb-far", "override_reason": "crew has a paediatric kit"},
        201,
    )
    assert override["recommended"] is False
    accepted = await post(
        client, f"/api/v1/incidents/{incident_id}/dispatch", {"unit_id": "amb-near"}, 201
    )
    assert accepted["recommended"] is True
    busy = await post(
        client, f"/api/v1/incidents/{incident_id}/dispatch", {"unit_id": "amb-near"}, 409
    )
    assert "not available" in busy["error"]["reason"]
    assert client.app[ENGINE].incident(incident_id).status is I.DISPATCHED

    units = client.app[UNITS]
    near_order = accepted["order"]["order_id"]
    ack = await units.acknowledge_order(
        "amb-near", OrderAckMessage(order_id=near_order, msg_id="a1")
    )
    assert ack.result is Receipt.ACCEPTED
    assert (
        await units.acknowledge_order("amb-far", OrderAckMessage(order_id=near_order))
    ).result is Receipt.REJECTED
    assert await units.tick(clock.advance(29)) == []
    flagged = await units.tick(clock.advance(2))
    assert [r.event.unit_id for r in flagged] == ["amb-far"]  # type: ignore[attr-defined]
    assert await units.tick(clock.advance(60)) == [], "flagged once"
    shown = await get(client, "/api/v1/orders?state=unacknowledged")
    assert [o["unit_id"] for o in shown["orders"]] == ["amb-far"]

    async def report(unit_id: str, status: U, msg_id: str) -> Receipt:
        message = StatusMessage(status=status, msg_id=msg_id)
        return (await units.report_status(unit_id, message)).result

    assert await report("amb-near", U.EN_ROUTE, "s1") is Receipt.ACCEPTED
    assert await report("amb-near", U.EN_ROUTE, "s1") is Receipt.DUPLICATE
    assert await report("amb-near", U.ON_SCENE, "s2") is Receipt.ACCEPTED
    assert await report("amb-far", U.ON_SCENE, "s3") is Receipt.ACCEPTED
    assert await report("amb-near", U.AVAILABLE, "s4") is Receipt.ACCEPTED
    assert client.app[ENGINE].incident(incident_id).status is I.ON_SCENE, "amb-far is still there"
    assert await report("amb-far", U.AVAILABLE, "s5") is Receipt.ACCEPTED
    assert client.app[ENGINE].incident(incident_id).status is I.RESOLVED
    assert await report("ghost", U.AVAILABLE, "s6") is Receipt.REJECTED

    events = await timeline(client, incident_id)
    kinds = [e["event_type"] for e in events]
    assert kinds.count("unit_dispatched") == 2
    assert "recommendation_overridden" in kinds
    assert kinds.count("unit_order_sent") == 2
    assert "unit_order_acknowledged" in kinds
    assert "unit_order_unacknowledged" in kinds
    statuses = [e["data"]["status"] for e in events if e["event_type"] == "incident_status_changed"]
    assert statuses == ["classified", "dispatched", "en_route", "on_scene", "resolved"]
    movers = {e["data"]["actor"] for e in events if e["event_type"] == "incident_status_changed"}
    assert {"unit:amb-near", "unit:amb-far"} <= movers
    reported = [e["data"]["status"] for e in events if e["event_type"] == "unit_status_reported"]
    assert reported == ["en_route", "on_scene", "on_scene"], "the resent status committed nothing"


async def test_a_device_resend_is_known_after_its_key_left_the_engine_s_memory(
    aiohttp_client: ClientFactory, database: Database
) -> None:
    """The engine keeps only recent keys' events; an older resend is read back from the log
    and answered as a duplicate, not committed again."""
    client = await aiohttp_client(units_app(database, ControlledClock()))
    await post(client, "/api/v1/units", unit_body("amb-1", 41.021, 40.521), 201)
    units, engine = client.app[UNITS], client.app[ENGINE]
    engine.state.recent_keys = 1

    def position(msg_id: str) -> AvlMessage:
        return AvlMessage(lat=41.03, lon=40.53, msg_id=msg_id)

    def status(msg_id: str) -> StatusMessage:
        return StatusMessage(status=U.OUT_OF_SERVICE, msg_id=msg_id)

    assert (await units.report_position("amb-1", position("p1"))).result is Receipt.ACCEPTED
    assert (await units.report_status("amb-1", status("s1"))).result is Receipt.ACCEPTED
    for number in range(2, 5):
        await units.report_position("amb-1", position(f"p{number}"))
    assert engine.state.original("unit-msg:amb-1:p1") is None, "settled to its seq"
    count = await engine.log.count()
    assert (await units.report_position("amb-1", position("p1"))).result is Receipt.DUPLICATE
    assert (await units.report_status("amb-1", status("s1"))).result is Receipt.DUPLICATE
    assert await engine.log.count() == count


async def test_a_failed_dispatch_commit_leaves_neither_status_nor_unit(
    aiohttp_client: ClientFactory, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The incident's move to dispatched and the unit's order are one append: when the
    store refuses it, the incident stays classified and the unit stays available."""
    clock = ControlledClock()
    client = await aiohttp_client(units_app(database, clock))
    await post(client, "/api/v1/units", unit_body("amb-1", 41.021, 40.521), 201)
    incident_id = await open_incident(client, lat=41.02, lon=40.52)
    await client.app[HAND_OFFS].tick(clock.now())  # the timer loop's request, before counting
    engine = client.app[ENGINE]
    before = engine.incident(incident_id).status
    count = await engine.log.count()
    real_append = engine.log.append

    async def refuse_unit_events(events: Sequence[Event]) -> list[int]:
        if any(isinstance(event, UnitDispatched) for event in events):
            raise StoreError("the event log could not commit")
        return await real_append(events)

    monkeypatch.setattr(engine.log, "append", refuse_unit_events)
    failed = await client.post(
        f"/api/v1/incidents/{incident_id}/dispatch", json={"unit_id": "amb-1"}
    )
    assert failed.status == 503
    assert engine.incident(incident_id).status is before is I.CLASSIFIED
    assert await engine.log.count() == count
    monkeypatch.setattr(engine.log, "append", real_append)
    sent = await post(
        client, f"/api/v1/incidents/{incident_id}/dispatch", {"unit_id": "amb-1"}, 201
    )
    assert sent["recommended"] is True
    assert engine.incident(incident_id).status is I.DISPATCHED
    kinds = [e["event_type"] for e in await timeline(client, incident_id)]
    assert kinds[-3:] == ["incident_status_changed", "unit_dispatched", "unit_order_sent"]
