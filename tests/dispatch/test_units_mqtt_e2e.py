"""Units over MQTT, end to end against Mosquitto with per-unit passwords and the ACL.

200 simulated unit devices (aiomqtt clients in this test) log in with their own passwords,
report positions and statuses until ng112 acknowledges each message after commit, receive
orders on their own topic and acknowledge them. One never acknowledges its order and is
flagged to the dispatcher when the controlled clock passes the deadline. A unit publishing
on another unit's topic is refused by the broker: the message never reaches ng112.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import orjson

from dispatch.adapters.http import ENGINE
from dispatch.adapters.units_http import UNITS
from dispatch.model.dispatch_events import UnitPositionReported
from dispatch.model.vocabulary import IncidentStatus
from dispatch.ports import MqttEndpoint
from dispatch.units_cli import write_broker_config
from dispatch.units_lifespan import GATEWAY
from dispatch.units_topics import UnitTopics
from tests.brokers import running_mosquitto
from tests.conftest import Database
from tests.dispatch.conftest import ClientFactory
from tests.dispatch.test_units_support import ControlledClock, get, open_incident, post, units_app

UNITS_COUNT = 200
INCIDENTS = 10
SILENT = "amb-007"
TOPICS = UnitTopics()
SERVER = ("ng112", "server-secret-0123456789")


class Device:
    """A unit's device: publishes with msg_ids and resends until ng112's app ack arrives."""

    def __init__(self, unit_id: str, client: aiomqtt.Client) -> None:
        self.unit_id = unit_id
        self.client = client
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.orders: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def listen(self) -> None:
        """Route ack and order messages until the connection closes."""
        with contextlib.suppress(aiomqtt.MqttError):
            async for message in self.client.messages:
                body = orjson.loads(bytes(message.payload))
                if message.topic.value == TOPICS.ack(self.unit_id):
                    future = self.acks.get(body.get("msg_id", ""))
                    if future is not None and not future.done():
                        future.set_result(body)
                else:
                    self.orders.put_nowait(body)

    async def send(self, topic: str, body: dict[str, Any], *, attempts: int = 5) -> dict[str, Any]:
        """Publish until acknowledged (the device's resend rule); returns the ack."""
        msg_id = str(body["msg_id"])
        future = self.acks[msg_id] = asyncio.get_running_loop().create_future()
        for _ in range(attempts):
            await self.client.publish(topic, orjson.dumps(body), qos=1)
            try:
                async with asyncio.timeout(5):
                    return await asyncio.shield(future)
            except TimeoutError:
                continue
        raise AssertionError(f"{self.unit_id}: no ack for {msg_id}")


@contextlib.asynccontextmanager
async def devices(
    broker: MqttEndpoint, passwords: dict[str, str]
) -> AsyncIterator[dict[str, Device]]:
    """Connect every unit's device with its own login; each listens on its own topics."""
    async with contextlib.AsyncExitStack() as stack, asyncio.TaskGroup() as listeners:
        connected: dict[str, Device] = {}
        gate = asyncio.Semaphore(50)

        async def connect(unit_id: str) -> None:
            async with gate:
                client = aiomqtt.Client(
                    broker.host,
                    broker.port,
                    username=unit_id,
                    password=passwords[unit_id],
                    identifier=f"dev-{unit_id}",
                    timeout=10,
                )
                await stack.enter_async_context(client)
                await client.subscribe(TOPICS.orders(unit_id), qos=1)
                await client.subscribe(TOPICS.ack(unit_id), qos=1)
                connected[unit_id] = Device(unit_id, client)

        async with asyncio.TaskGroup() as connecting:
            for unit_id in passwords:
                connecting.create_task(connect(unit_id), name=f"connect-{unit_id}")
        tasks = [
            listeners.create_task(d.listen(), name=f"listen-{u}") for u, d in connected.items()
        ]
        try:
            yield connected
        finally:
            for task in tasks:
                task.cancel()


async def test_units_over_mosquitto_with_passwords_and_acl(
    aiohttp_client: ClientFactory, database: Database, tmp_path: Path
) -> None:
    """200 units report, get orders, acknowledge; the silent one is flagged; spoofing fails."""
    passwords = {f"amb-{n:03d}": f"pw-{n:03d}-device-secret" for n in range(UNITS_COUNT)}
    config = write_broker_config(
        passwords, tmp_path / "broker", server_user=SERVER[0], server_password=SERVER[1]
    )
    # the files are private (0600): Mosquitto started as root must stay this user to read them
    extra = (
        f"password_file {config.password_file}\nacl_file {config.acl_file}\n"
        f"user {getpass.getuser()}"
    )
    async with asyncio.timeout(90), running_mosquitto(tmp_path, extra=extra) as broker:
        clock = ControlledClock()
        url = f"mqtt://{SERVER[0]}:{SERVER[1]}@127.0.0.1:{broker.port}"
        app = units_app(database, clock, section={"order_ack_s": 30}, mqtt_url=url)
        client = await aiohttp_client(app)
        await client.app[GATEWAY].connected.wait()
        engine = client.app[ENGINE]
        for n, unit_id in enumerate(passwords):
            home = {"lat": 41.0 + (n % 20) * 0.002, "lon": 40.5 + (n // 20) * 0.002}
            body = {
                "unit_id": unit_id,
                "kind": "ambulance",
                "agency": "health",
                "centre": "53",
                "callsign": unit_id.upper(),
                "home": home,
            }
            await post(client, "/api/v1/units", body, 201)

        with contextlib.suppress(aiomqtt.MqttError):
            async with aiomqtt.Client(
                broker.host, broker.port, username="amb-000", password="wrong", timeout=5
            ):
                raise AssertionError("a wrong password must be refused")

        async with devices(broker, passwords) as fleet:
            # positions and statuses, each acknowledged after commit
            async def report(device: Device, n: int) -> None:
                avl = {"lat": 41.01 + n * 1e-5, "lon": 40.51, "msg_id": f"avl-{n}"}
                assert (await device.send(TOPICS.avl(device.unit_id), avl))["result"] == "accepted"
                status = {"status": "available", "msg_id": f"st-{n}"}
                ack = await device.send(TOPICS.status(device.unit_id), status)
                assert ack["result"] == "accepted"

            async with asyncio.TaskGroup() as group:
                for n, unit_id in enumerate(passwords):
                    group.create_task(report(fleet[unit_id], n), name=f"report-{n}")
            resent = await fleet["amb-001"].send(
                TOPICS.avl("amb-001"), {"lat": 41.01001, "lon": 40.51, "msg_id": "avl-1"}
            )
            assert resent["result"] == "duplicate", "a resend commits nothing twice"
            positions = [
                r
                for r in await engine.log.read(0, 10_000)
                if isinstance(r.event, UnitPositionReported)
            ]
            assert len(positions) == UNITS_COUNT
            assert engine.state.units["amb-199"].location.source == "avl"  # type: ignore[index,union-attr]

            # orders: ten incidents, twenty units each
            incidents = [
                await open_incident(client, lat=41.01, lon=40.51) for _ in range(INCIDENTS)
            ]
            for n, unit_id in enumerate(passwords):
                body = {"unit_id": unit_id, "override_reason": "surge roster"}
                await post(
                    client, f"/api/v1/incidents/{incidents[n % INCIDENTS]}/dispatch", body, 201
                )

            async def take_order(device: Device, n: int) -> None:
                async with asyncio.timeout(20):
                    order = await device.orders.get()
                assert order["incident"]["incident_id"] == incidents[n % INCIDENTS]
                assert "caller" not in orjson.dumps(order).decode()
                if device.unit_id == SILENT:
                    return
                ack = await device.send(
                    TOPICS.order_ack(device.unit_id),
                    {"order_id": order["order_id"], "msg_id": f"oa-{n}"},
                )
                assert ack["result"] == "accepted"
                incident_id = order["incident"]["incident_id"]
                for step in ("en_route", "on_scene"):
                    body = {"status": step, "incident_id": incident_id, "msg_id": f"{step}-{n}"}
                    assert (await device.send(TOPICS.status(device.unit_id), body))[
                        "result"
                    ] == "accepted"

            async with asyncio.TaskGroup() as group:
                for n, unit_id in enumerate(passwords):
                    group.create_task(take_order(fleet[unit_id], n), name=f"order-{n}")
            for incident_id in incidents:
                assert engine.incident(incident_id).status is IncidentStatus.ON_SCENE

            # the silent unit is flagged once the controlled clock passes its deadline
            assert (await get(client, "/api/v1/orders?state=unacknowledged"))["orders"] == []
            await client.app[UNITS].tick(clock.advance(31))
            flagged = (await get(client, "/api/v1/orders?state=unacknowledged"))["orders"]
            assert [o["unit_id"] for o in flagged] == [SILENT]
            acknowledged = (await get(client, "/api/v1/orders?state=acknowledged"))["orders"]
            assert len(acknowledged) == UNITS_COUNT - 1

            # a unit cannot speak for another: the broker drops the foreign publication
            async with aiomqtt.Client(
                broker.host,
                broker.port,
                username=SERVER[0],
                password=SERVER[1],
                identifier="observer",
            ) as observer:
                await observer.subscribe(f"{TOPICS.prefix}/+/status", qos=1)
                spoofer = fleet["amb-001"]
                spoof = {"status": "out_of_service", "msg_id": "spoof-1"}
                await spoofer.client.publish(TOPICS.status("amb-002"), orjson.dumps(spoof), qos=1)
                after = {"status": "on_scene", "msg_id": "after-spoof"}
                assert (await spoofer.send(TOPICS.status("amb-001"), after))["result"] == "accepted"
                seen = []
                async with asyncio.timeout(10):
                    async for message in observer.messages:
                        seen.append(message.topic.value)
                        if orjson.loads(bytes(message.payload))["msg_id"] == "after-spoof":
                            break
                assert seen == [TOPICS.status("amb-001")], "the spoofed message never arrived"
            assert engine.state.original("unit-msg:amb-002:spoof-1") is None
            assert engine.state.units["amb-002"].status.value == "on_scene"  # type: ignore[index]
        await client.close()
