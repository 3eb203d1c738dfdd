"""``ng112 bench ecall``: MSD decodes/s and end-to-end eCall ingest/s over MQTT.

Two parts, printed as a table and then one JSON object:

1. MSD decodes per second (the codec's own benchmark, ``ecall.bench``).
2. End to end: a real ``ng112 serve`` process (SQLite event log, eCall gateway) and a
   :class:`VehicleFleet` of N simulated vehicles on one MQTT connection (a telematics
   gateway). Each vehicle publishes its MSD (QoS 1) and waits for ng112's application
   ack, then sends its update (a new messageIdentifier) and waits again. Measured from
   the first publish to the last ack: ingest/s, p50 and p99 publish-to-ack latency.
   Against the embedded broker (amqtt, in the server process) and, when the binary is
   there, Mosquitto. Each configuration runs ``--runs`` times on a fresh database; the
   median run is shown, against the naive baseline in the same run: the event log
   committing each append on its own (``group_commit = false``).

:class:`VehicleFleet` is also what the gateway's end-to-end tests drive: vehicles resend
until acked, and the fleet reconnects when the broker goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import orjson

from ecall.bench import run_msd_bench
from ecall.msd import MinimumSetOfData, PropulsionStorage, VehicleLocationDelta, VehicleType
from ecall.msd import encode_msd as _encode
from ecall.topics import EcallTopics

__all__ = [
    "IngestResult",
    "VehicleFleet",
    "fleet_msd",
    "print_ecall_bench",
    "run_ingest",
    "vin_for",
]

_VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def vin_for(number: int) -> str:
    """A distinct valid 17-character VIN for vehicle ``number`` (WMI ``NMT`` + base 33)."""
    digits = []
    for _ in range(14):
        number, digit = divmod(number, len(_VIN_ALPHABET))
        digits.append(_VIN_ALPHABET[digit])
    return "NMT" + "".join(reversed(digits))


def fleet_msd(
    vin: str,
    message_identifier: int = 1,
    *,
    lat_mas: int = 143_538_120,
    lon_mas: int = 118_208_160,
    automatic: bool = True,
    test_call: bool = False,
    trusted: bool = True,
    propulsion: frozenset[PropulsionStorage] = frozenset({PropulsionStorage.GASOLINE_TANK_PRESENT}),
) -> bytes:
    """A version 3 MSD from a simulated vehicle (default: Ankara, three occupants)."""
    msd = MinimumSetOfData(
        msd_version=3,
        message_identifier=message_identifier,
        automatic_activation=automatic,
        test_call=test_call,
        position_can_be_trusted=trusted,
        vehicle_type=VehicleType.PASSENGER_VEHICLE_CLASS_M1,
        vin=vin,
        vehicle_propulsion_storage_type=propulsion,
        timestamp=1_767_225_600 + message_identifier,
        position_latitude=lat_mas,
        position_longitude=lon_mas,
        vehicle_direction=45,
        recent_vehicle_location_n1=VehicleLocationDelta(latitude_delta=-12, longitude_delta=7),
        recent_vehicle_location_n2=VehicleLocationDelta(latitude_delta=-11, longitude_delta=6),
        number_of_occupants=3,
    )
    return _encode(msd, 3)


AckKey = tuple[str, int | None]


@dataclass(slots=True)
class FleetStats:
    """What the fleet saw: acks, resends, reconnections, publish-to-ack latencies."""

    acks: int = 0
    resends: int = 0
    connections: int = 0
    latencies: list[float] = field(default_factory=list)


class VehicleFleet:
    """Simulated vehicles sharing one MQTT 3.1.1 connection; each resends until acked.

    Run :meth:`run` in a task; :meth:`send` publishes one MSD and returns ng112's ack JSON
    (resending every ``resend_after_s`` and across broker restarts). Acks are matched by
    VIN and message identifier (``None`` for a rejection of an undecodable MSD).
    ``received`` keeps every ack, in arrival order, for the tests to count.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        topics: EcallTopics | None = None,
        resend_after_s: float = 2.0,
        reconnect_s: float = 0.2,
    ) -> None:
        self.host = host
        self.port = port
        self.topics = topics or EcallTopics()
        self.resend_after_s = resend_after_s
        self.reconnect_s = reconnect_s
        self.ready = asyncio.Event()
        self.stats = FleetStats()
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._client: aiomqtt.Client | None = None
        self._waiting: dict[AckKey, asyncio.Future[dict[str, Any]]] = {}
        self._identifier = f"ng112-fleet-{os.urandom(4).hex()}"

    async def run(self) -> None:
        """Keep the connection (and the ack subscription) up until cancelled."""
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self._identifier,
                    protocol=aiomqtt.ProtocolVersion.V311,
                    max_inflight_messages=65535,
                    timeout=10,
                ) as client:
                    client.pending_calls_threshold = 1_000_000  # a fleet publishes a lot at once
                    await client.subscribe(self.topics.ack_subscription, qos=1)
                    self._client = client
                    self.stats.connections += 1
                    self.ready.set()
                    async for message in client.messages:
                        self._on_ack(message)
            except aiomqtt.MqttError:
                pass
            finally:
                self.ready.clear()
                self._client = None
            await asyncio.sleep(self.reconnect_s)  # back-off before reconnecting

    def _on_ack(self, message: aiomqtt.Message) -> None:
        vin = self.topics.vin_of_ack(message.topic.value)
        if vin is None or not isinstance(message.payload, bytes):
            return
        body: dict[str, Any] = orjson.loads(message.payload)
        self.received.append((vin, body))
        self.stats.acks += 1
        future = self._waiting.get((vin, body.get("message_identifier")))
        if future is not None and not future.done():
            future.set_result(body)

    async def send(self, data: bytes, vin: str, message_identifier: int | None) -> dict[str, Any]:
        """Publish ``data`` on ``vin``'s MSD topic until an ack for it arrives; return it."""
        key = (vin, message_identifier)
        future = self._waiting.get(key)
        if future is None or future.done():
            future = self._waiting[key] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        first = True
        try:
            while not future.done():
                if not first:
                    self.stats.resends += 1
                first = False
                await self.ready.wait()
                client = self._client
                if client is None:
                    continue
                try:
                    await client.publish(self.topics.msd(vin), data, qos=1, timeout=5)
                except aiomqtt.MqttError:
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.resend_after_s):
                        await asyncio.shield(future)
            self.stats.latencies.append(time.perf_counter() - started)
            return future.result()
        finally:
            if self._waiting.get(key) is future:
                del self._waiting[key]


# -- the benchmark ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult:
    """One end-to-end run: acks per second and publish-to-ack latency percentiles."""

    broker: str
    group_commit: bool
    msds: int
    seconds: float
    resends: int

    p50_ms: float
    p99_ms: float

    @property
    def per_s(self) -> float:
        """Acknowledged MSDs per second."""
        return self.msds / self.seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _mosquitto(workdir: Path) -> AsyncIterator[int]:
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if binary is None:  # pragma: no cover - checked by the caller
        raise RuntimeError("mosquitto is not installed")
    port = _free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nlog_dest none\n"
    )
    process = await asyncio.create_subprocess_exec(
        binary, "-c", str(config), stdout=asyncio.subprocess.DEVNULL
    )
    try:
        async with asyncio.timeout(10):
            while True:
                with contextlib.suppress(OSError):
                    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    await writer.wait_closed()
                    break
                await asyncio.sleep(0.05)  # waiting for a child process to listen
        yield port
    finally:
        process.terminate()
        await process.wait()


@contextlib.asynccontextmanager
async def _server(workdir: Path, settings: dict[str, Any]) -> AsyncIterator[str]:
    """An ``ng112 serve`` subprocess with ``settings`` (TOML), until the gateway is up."""
    lines = []
    for key, value in settings.items():
        if isinstance(value, dict):
            continue
        lines.append(f"{key} = {json.dumps(value)}")
    for table, values in settings.items():
        if isinstance(values, dict):
            lines.append(f"[{table}]")
            lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    config = workdir / "ng112.toml"
    config.write_text("\n".join(lines) + "\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatch",
        "serve",
        "--config",
        str(config),
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None  # noqa: S101 - PIPE was asked for
    url = f"http://127.0.0.1:{settings['port']}"
    try:
        async with asyncio.timeout(120):
            line = await process.stdout.readline()
            if b"listening on" not in line:
                raise RuntimeError("ng112 serve did not start")
            async with aiohttp.ClientSession() as session:
                while True:  # the gateway subscribes shortly after the site starts
                    async with session.get(f"{url}/metrics") as response:
                        text = await response.text()
                    if 'ng112_ecall_gateway_total{event="connections"}' in text:
                        break
                    await asyncio.sleep(0.05)
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                await process.wait()


async def _drive(
    broker_port: int, vehicles: int, updates: int, resend_after_s: float
) -> tuple[int, float, FleetStats]:
    fleet = VehicleFleet("127.0.0.1", broker_port, resend_after_s=resend_after_s)
    payloads = [
        [fleet_msd(vin_for(v), mid) for mid in range(1, updates + 2)] for v in range(vehicles)
    ]
    async with asyncio.TaskGroup() as tasks:
        runner = tasks.create_task(fleet.run(), name="bench-fleet")
        await fleet.ready.wait()

        async def vehicle(number: int) -> None:
            vin = vin_for(number)
            for mid, data in enumerate(payloads[number], 1):
                await fleet.send(data, vin, mid)

        started = time.perf_counter()
        async with asyncio.TaskGroup() as senders:
            for number in range(vehicles):
                senders.create_task(vehicle(number), name=f"bench-vehicle-{number}")
        seconds = time.perf_counter() - started
        runner.cancel()
    return vehicles * (updates + 1), seconds, fleet.stats


async def _one_run(
    *, broker: str, group_commit: bool, vehicles: int, updates: int, resend_after_s: float
) -> IngestResult:
    with tempfile.TemporaryDirectory(prefix="ng112-bench-ecall-") as tmp:
        workdir = Path(tmp)
        settings: dict[str, Any] = {
            "port": _free_port(),
            "db": f"sqlite+aiosqlite:///{workdir}/ng112.db",
            "group_commit": group_commit,
            "load_boundaries": False,
            "ecall": {"max_in_flight": 1024},
        }
        async with contextlib.AsyncExitStack() as stack:
            if broker == "mosquitto":
                port = await stack.enter_async_context(_mosquitto(workdir))
                settings["embedded_broker"] = False
                settings["mqtt_url"] = f"mqtt://127.0.0.1:{port}"
            else:
                port = _free_port()
                settings["mqtt_port"] = port
            await stack.enter_async_context(_server(workdir, settings))
            msds, seconds, stats = await _drive(port, vehicles, updates, resend_after_s)
    latencies = sorted(stats.latencies)
    return IngestResult(
        broker=broker,
        group_commit=group_commit,
        msds=msds,
        seconds=seconds,
        resends=stats.resends,
        p50_ms=1000 * latencies[len(latencies) // 2],
        p99_ms=1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    )


def _median(results: list[IngestResult]) -> IngestResult:
    ordered = sorted(results, key=lambda r: r.per_s)
    middle = ordered[len(ordered) // 2]
    return replace(
        middle,
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
    )


async def run_ingest(
    *, vehicles: int, updates: int, runs: int, brokers: tuple[str, ...], resend_after_s: float
) -> list[IngestResult]:
    """The median run of every (broker, group commit on/off) configuration."""
    medians = []
    for broker in brokers:
        for group_commit in (True, False):
            results = [
                await _one_run(
                    broker=broker,
                    group_commit=group_commit,
                    vehicles=vehicles,
                    updates=updates,
                    resend_after_s=resend_after_s,
                )
                for _ in range(runs)
            ]
            medians.append(_median(results))
    return medians


def _rows(results: list[IngestResult]) -> Iterator[dict[str, Any]]:
    baselines = {r.broker: r.per_s for r in results if not r.group_commit}
    for r in results:
        yield {
            "broker": r.broker,
            "event_log": "group commit" if r.group_commit else "commit per append (baseline)",
            "msds": r.msds,
            "ingest_per_s": round(r.per_s, 1),
            "p50_ms": round(r.p50_ms, 1),
            "p99_ms": round(r.p99_ms, 1),
            "resends": r.resends,
            "ratio_to_baseline": round(r.per_s / baselines[r.broker], 2),
        }


def print_ecall_bench(
    *, vehicles: int, updates: int, runs: int, decodes: int, resend_after_s: float
) -> None:
    """Run both parts and print the table, then one JSON object with the same figures."""
    decode_results, _baseline = run_msd_bench(number=decodes, runs=runs)
    has_mosquitto = bool(shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin"))
    brokers = ("embedded", "mosquitto") if has_mosquitto else ("embedded",)
    results = asyncio.run(
        run_ingest(
            vehicles=vehicles,
            updates=updates,
            runs=runs,
            brokers=brokers,
            resend_after_s=resend_after_s,
        )
    )
    print(f"MSD decode: median of {runs} runs x {decodes} decodes")
    for d in decode_results:
        print(f"  {d.name:<34} {d.decodes_per_s:>10,.0f}/s {d.microseconds:>7.1f} us")
    print(
        f"eCall ingest over MQTT: {vehicles} vehicles x {updates + 1} MSDs (open + updates), "
        f"publish -> commit -> app ack; median of {runs} runs"
    )
    print(
        f"  {'broker':<10} {'event log':<30} {'MSDs/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'resends':>8} {'x baseline':>10}"
    )
    rows = list(_rows(results))
    for row in rows:
        print(
            f"  {row['broker']:<10} {row['event_log']:<30} {row['ingest_per_s']:>8,.0f} "
            f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['resends']:>8} "
            f"{row['ratio_to_baseline']:>10.2f}"
        )
    if not has_mosquitto:
        print("  mosquitto skipped: the binary is not installed")
    print(
        json.dumps(
            {
                "bench": "ecall",
                "runs": runs,
                "vehicles": vehicles,
                "msds_per_vehicle": updates + 1,
                "decode": [
                    {"decoder": d.name, "decodes_per_s": round(d.decodes_per_s)}
                    for d in decode_results
                ],
                "ingest": rows,
            }
        )
    )
