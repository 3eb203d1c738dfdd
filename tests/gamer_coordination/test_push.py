"""Push to units: targets, refusals, and delivery over MQTT (amqtt and Mosquitto) with acks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import orjson
import pytest
from aiohttp.test_utils import TestServer

from dispatch.adapters.http import ENGINE
from dispatch.app.composition import compose
from dispatch.core.projections import Recorded, State
from dispatch.model.events import UnitDispatched, UnitRegistered
from dispatch.model.ids import CentreId, IncidentId, UnitId
from dispatch.model.values import Location
from dispatch.model.vocabulary import Agency, UnitKind
from dispatch.ports import MqttEndpoint
from gamer_coordination.errors import PushRefused
from gamer_coordination.events import UnitInfoAcknowledged
from gamer_coordination.push import Circle, PushLedger, decide_push, resolve_targets
from gamer_coordination.topics import InfoTopics
from tests.brokers import broker  # noqa: F401
from tests.gamer_coordination.conftest import GAMER, gamer_settings, post_call
from tests.gamer_coordination.events import T0, Log

TOPICS = InfoTopics()


def _fleet() -> State:
    log = Log()
    log.call(1, 34)
    log.unit("amb-1", 34)
    log.unit("amb-2", 34)
    log.unit("pol-1", 34, Agency.POLICE)
    log.unit("amb-9", 6)
    log.dispatch("amb-1", 1, 34, T0)
    state = State()
    for record in log.records:
        state.apply(record.seq, record.event)
    for unit_id, (lat, lon) in {"amb-1": (41.0, 29.0), "amb-2": (41.01, 29.01)}.items():
        state.units[UnitId(unit_id)].location = Location(lat=lat, lon=lon)
    return state


def test_targets_by_incident_area_province_and_agency() -> None:
    """Each criterion narrows the units: the incident's, a circle, a province, an agency."""
    state = _fleet()
    units = list(state.units.values())
    incident = state.incidents[IncidentId("inc-1")]
    assert resolve_targets(units, incident=incident) == ("amb-1",)
    circle = Circle(lat=41.0, lon=29.0, radius_km=2)
    assert resolve_targets(units, circle=circle) == ("amb-1", "amb-2")
    assert resolve_targets(units, plate=34) == ("amb-1", "amb-2", "pol-1")
    assert resolve_targets(units, plate=34, agency=Agency.POLICE) == ("pol-1",)
    assert resolve_targets(units, unit_ids=["amb-9", "nope"]) == ("amb-9",)


def test_pushes_without_units_or_text_are_refused() -> None:
    """No unit, blank text, or text over the limit: PushRefused with a reason."""
    common: dict[str, Any] = {"message_id": "m", "actor": "c", "now": T0, "plate": 34}
    with pytest.raises(PushRefused, match="no unit"):
        decide_push(targets=(), text="x", **common)
    with pytest.raises(PushRefused, match="text"):
        decide_push(targets=(UnitId("a"),), text="  ", **common)
    with pytest.raises(PushRefused, match="longer"):
        decide_push(targets=(UnitId("a"),), text="x" * 11, max_text=10, **common)


def test_the_ledger_records_each_ack_once() -> None:
    """A unit's first ack is an event; a repeat, a stranger's or an unknown message is not."""
    ledger = PushLedger()
    sent = decide_push(
        message_id="m1",
        targets=(UnitId("a"), UnitId("b")),
        text="yol kapalı",
        actor="c",
        now=T0,
        plate=34,
    )
    ledger.apply([Recorded(1, sent)])
    ack = ledger.decide_ack("a", "m1", T0)
    assert isinstance(ack, UnitInfoAcknowledged)
    ledger.apply([Recorded(2, ack)])
    assert ledger.decide_ack("a", "m1", T0) is None
    assert ledger.decide_ack("z", "m1", T0) is None
    assert ledger.decide_ack("a", "m2", T0) is None
    assert [p.sent.message_id for p in ledger.unacknowledged()] == ["m1"]
    assert ledger.messages["m1"].pending == ["b"]


def test_topics_are_the_units_own_subtree() -> None:
    """Info and its ack live under ng112/units/{id}/; foreign topics are not acks."""
    assert TOPICS.info("amb-1") == "ng112/units/amb-1/info"
    assert TOPICS.unit_of_ack("ng112/units/amb-1/info/ack") == "amb-1"
    assert TOPICS.unit_of_ack("ng112/units/amb-1/orders/ack") is None
    assert TOPICS.unit_of_ack("ng112/units/../info/ack") is None


class Committed:
    """Waits on what the engine commits (no polling, no sleeps)."""

    def __init__(self) -> None:
        self.records: list[Recorded] = []
        self.changed = asyncio.Event()

    def __call__(self, records: Sequence[Recorded]) -> None:
        self.records.extend(records)
        self.changed.set()

    async def until(self, predicate: Callable[[list[Recorded]], bool]) -> None:
        async with asyncio.timeout(15):
            while not predicate(self.records):
                self.changed.clear()
                await self.changed.wait()


def _acks(records: list[Recorded], message_id: str) -> list[str]:
    return [
        r.event.unit_id
        for r in records
        if isinstance(r.event, UnitInfoAcknowledged) and r.event.message_id == message_id
    ]


@pytest.fixture
async def push_server(tmp_path: Path, broker: MqttEndpoint) -> AsyncIterator[TestServer]:  # noqa: F811
    """ng112 with GAMER talking to the test broker, retrying unacked pushes quickly."""
    settings = gamer_settings(f"sqlite+aiosqlite:///{tmp_path}/ng112.db", push_retry_s=0.2)
    settings = settings.model_copy(update={"mqtt_url": f"mqtt://{broker.host}:{broker.port}"})
    server = TestServer(compose(settings, packages=GAMER), host="127.0.0.1")
    async with server:
        yield server


async def _push(server: TestServer, body: dict[str, Any]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{server.port}/api/v1/gamer/push",
            json=body,
            headers={"X-NG112-Role": "provincial_coordinator", "X-NG112-Province": "34"},
        ) as response,
    ):
        assert response.status == 202, await response.text()
        result: dict[str, Any] = await response.json()
        return result


async def _receive(client: aiomqtt.Client, message_id: str) -> dict[str, Any]:
    async with asyncio.timeout(15):
        async for message in client.messages:
            data: dict[str, Any] = orjson.loads(bytes(message.payload))
            if data["message_id"] == message_id:
                return data
    raise AssertionError("the subscription ended")  # pragma: no cover


@pytest.mark.integration
async def test_units_receive_pushes_over_mqtt_and_acknowledge(
    push_server: TestServer,
    broker: MqttEndpoint,  # noqa: F811
) -> None:
    """An incident's unit gets the push at once; an offline unit gets it on the retry."""
    engine = push_server.app[ENGINE]
    committed = Committed()
    engine.subscribe(committed)
    ack = await post_call(push_server, {"channel": "phone", "location": {"lat": 41.0, "lon": 29.0}})
    now = engine.clock.now()
    await engine.record(
        [
            *(
                UnitRegistered(
                    occurred_at=now,
                    plate=34,
                    unit_id=UnitId(u),
                    kind=UnitKind.AMBULANCE,
                    agency=Agency.HEALTH,
                    centre=CentreId("34"),
                    callsign=u.upper(),
                    location=Location(lat=41.0, lon=29.0 + i / 100),
                )
                for i, u in enumerate(("amb-1", "amb-2"))
            ),
            UnitDispatched(
                occurred_at=now,
                plate=34,
                unit_id=UnitId("amb-1"),
                incident_id=IncidentId(ack["incident_id"]),
                actor="dispatcher",
            ),
        ]
    )
    async with aiomqtt.Client(broker.host, broker.port, identifier="amb-1") as unit:
        await unit.subscribe(TOPICS.info("amb-1"), qos=1)
        first = await _push(
            push_server, {"incident_id": ack["incident_id"], "text": "Köprü kapalı"}
        )
        assert first["units"] == ["amb-1"]
        received = await _receive(unit, first["message_id"])
        assert (received["text"], received["incident_id"]) == ("Köprü kapalı", ack["incident_id"])
        reply = orjson.dumps({"message_id": first["message_id"]})
        await unit.publish(TOPICS.ack("amb-1"), reply, qos=1)
        await unit.publish(TOPICS.ack("amb-1"), reply, qos=1)
        await committed.until(lambda r: _acks(r, first["message_id"]) == ["amb-1"])

        area = await _push(push_server, {"lat": 41.0, "lon": 29.0, "radius_km": 5, "text": "AFAD"})
        assert area["units"] == ["amb-1", "amb-2"]
        async with aiomqtt.Client(broker.host, broker.port, identifier="amb-2") as late:
            await late.subscribe(TOPICS.info("amb-2"), qos=1)
            republished = await _receive(late, area["message_id"])
            await late.publish(
                TOPICS.ack("amb-2"), orjson.dumps({"message_id": republished["message_id"]}), qos=1
            )
            await committed.until(lambda r: _acks(r, area["message_id"]) == ["amb-2"])
    status_url = f"http://127.0.0.1:{push_server.port}/api/v1/gamer/push/{first['message_id']}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(status_url, headers={"X-NG112-Role": "central_coordinator"}) as response,
    ):
        status = await response.json()
    assert status["pending"] == []
    assert list(status["acknowledged"]) == ["amb-1"]
    timeline = [r.event.event_type for r in engine.state.incidents[ack["incident_id"]].timeline]
    assert timeline.count("gamer_unit_info_sent") == 1
    assert timeline.count("gamer_unit_info_acknowledged") == 1
