"""``ng112 bench fanout``: dashboard fan-out through the hub against naive sequential sends.

One process serves websockets on loopback; a second process runs the dashboard clients
(``--clients``, of which ``--slow`` connect and then never read, with a tiny receive
buffer: the worst client there is). Incident updates are folded into the live projection at
``--rate`` per second for ``--seconds``. Two ways to deliver them, in the same run:

- ``hub``: :class:`DashboardHub` (per-client pending map, latest state per key wins, one
  sender task per client, ``--coalesce-ms`` gathering window);
- ``naive``: each update's incident fragment sent to each client in turn, awaiting every
  send before the next (what a first implementation does).

Clients note each incident fragment's version and the time it arrived
(``time.monotonic``, the same clock in both processes); the server noted when each version
was published. Printed: delivered incident updates per second over all clients, p50/p99
delivery latency, the share of updates a client got (coalescing may supersede some), per
run and as medians over ``--runs``. The slow clients' own figures are left out: the point is
whether they hurt the others.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import re
import socket
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import numpy as np
import orjson
from aiohttp import web

from dispatch.core.projections import Recorded
from dispatch.model.events import Event, IncidentOpened, IncidentStatusChanged
from dispatch.model.ids import CallId, CentreId, IncidentId
from dispatch.model.values import Location, Placement
from dispatch.model.vocabulary import Channel, IncidentStatus, Priority
from gamer_coordination.adapters.ws import DashboardHub
from gamer_coordination.projections import Coordination

_VERSION = re.compile(rb'"key":"incident/[^"]*","v":(\d+)')
_CYCLE = (
    IncidentStatus.NEW,
    IncidentStatus.CLASSIFIED,
    IncidentStatus.QUEUED,
    IncidentStatus.ASSIGNED,
    IncidentStatus.DISPATCHED,
    IncidentStatus.EN_ROUTE,
    IncidentStatus.ON_SCENE,
    IncidentStatus.RESOLVED,
)


# -- clients (second process) -----------------------------------------------------------------


async def _reader(
    session: aiohttp.ClientSession,
    url: str,
    out: list[tuple[int, float]],
    ready: Callable[[], None],
    *,
    first_message: bool,
) -> None:
    async with session.ws_connect(url, max_msg_size=0, heartbeat=None) as ws:
        if not first_message:
            ready()
        async for message in ws:
            if first_message:
                first_message = False
                ready()
                continue  # the snapshot
            now = time.monotonic()
            data = message.data if isinstance(message.data, bytes) else str(message.data).encode()
            out.extend((int(v), now) for v in _VERSION.findall(data))


def _stalled(port: int, path: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock  # never read again


async def _clients(port: int, path: str, clients: int, slow: int, conn: Connection) -> None:
    url = f"ws://127.0.0.1:{port}{path}"
    received: list[list[tuple[int, float]]] = [[] for _ in range(clients)]
    connector = aiohttp.TCPConnector(limit=0)
    stalled = [_stalled(port, path) for _ in range(slow)]
    waiting = clients
    all_ready = asyncio.Event()

    def ready() -> None:
        nonlocal waiting
        waiting -= 1
        if waiting == 0:
            all_ready.set()

    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [
            asyncio.create_task(
                _reader(session, url, received[i], ready, first_message=path == "/hub"),
                name=f"bench-client-{i}",
            )
            for i in range(clients)
        ]
        async with asyncio.timeout(300):
            await all_ready.wait()
        conn.send("ready")
        await asyncio.to_thread(conn.recv)  # "stop"
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for sock in stalled:
        sock.close()
    versions = np.array([v for r in received for v, _ in r], dtype=np.int64)
    times = np.array([t for r in received for _, t in r], dtype=np.float64)
    counts = np.array([len(r) for r in received], dtype=np.int64)
    conn.send((versions.tobytes(), times.tobytes(), counts.tobytes()))


def _client_process(port: int, path: str, clients: int, slow: int, conn: Connection) -> None:
    asyncio.run(_clients(port, path, clients, slow, conn))


# -- server (this process) --------------------------------------------------------------------


class _Arrivals:
    """Counts connected clients; ``all_here`` is set when the expected number arrived."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.all_here = asyncio.Event()

    def arrived(self) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.all_here.set()


class _Naive:
    """Every update to every client, one awaited send after another."""

    def __init__(self, arrivals: _Arrivals) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.arrivals = arrivals

    async def handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=4096, compress=False)
        await ws.prepare(request)
        self.sockets.append(ws)
        self.arrivals.arrived()
        async for _message in ws:
            pass
        return ws

    async def feed(self) -> None:
        while True:
            message = await self.queue.get()
            for ws in list(self.sockets):
                with suppress(ConnectionError):
                    await ws.send_bytes(message)


def _opening(count: int, now: datetime) -> list[Event]:
    events: list[Event] = []
    for number in range(count):
        plate = 1 + number % 81
        location = Location(lat=37.0 + (number % 50) / 10, lon=27.0 + (number % 170) / 10)
        placement = Placement(in_service_area=True, at_sea=False, plate=plate)
        events.append(
            IncidentOpened(
                occurred_at=now,
                plate=plate,
                incident_id=IncidentId(f"inc-{number}"),
                call_id=CallId(f"call-{number}"),
                channel=Channel.PHONE,
                centre=CentreId(f"{plate:02d}"),
                priority=Priority(1 + number % 4),
                location=location,
                placement=placement,
            )
        )
    return events


async def _run_once(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    start = datetime.now(UTC)
    projection = Coordination()
    hub = DashboardHub(
        projection,
        coalesce_s=args.coalesce_ms / 1000.0,
        summary_interval_s=args.summary_interval_s,
    )
    opening = _opening(args.incidents, start)
    hub.on_records([Recorded(i + 1, e) for i, e in enumerate(opening)])
    seq = len(opening)
    arrivals = _Arrivals(args.clients + args.slow)
    naive = _Naive(arrivals)
    app = web.Application()

    async def hub_stream(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=4096, compress=False)
        await ws.prepare(request)
        arrivals.arrived()
        await hub.serve(ws, None, None, None)
        return ws

    app.router.add_get("/hub", hub_stream)
    app.router.add_get("/naive", naive.handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    path = "/hub" if mode == "hub" else "/naive"
    process = context.Process(
        target=_client_process, args=(port, path, args.clients, args.slow, child), daemon=True
    )
    process.start()
    async with asyncio.timeout(300):
        await arrivals.all_here.wait()
        await asyncio.to_thread(parent.recv)  # every client has its snapshot
    published: dict[int, float] = {}
    status = dict.fromkeys(range(args.incidents), 0)
    rng = random.Random(7)
    feeder = asyncio.create_task(naive.feed(), name="bench-naive-feeder")
    interval = 1.0 / args.rate
    updates = int(args.rate * args.seconds)
    began = time.monotonic()
    for index in range(updates):
        target = began + index * interval
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the offered load
        number = rng.randrange(args.incidents)
        previous = _CYCLE[status[number]]
        status[number] = (status[number] + 1) % len(_CYCLE)
        seq += 1
        event = IncidentStatusChanged(
            occurred_at=start + timedelta(seconds=index * interval),
            plate=1 + number % 81,
            incident_id=IncidentId(f"inc-{number}"),
            previous=previous,
            status=_CYCLE[status[number]],
            actor="bench",
        )
        if mode == "hub":
            before = hub.version
            hub.on_records([Recorded(seq, event)])
            now = time.monotonic()
            for version in range(before + 1, hub.version + 1):
                published[version] = now
        else:
            projection_changes = projection.apply([Recorded(seq, event)])
            key = f"incident/inc-{number}"
            if key in projection_changes:
                version = seq
                fragment = orjson.dumps({"key": key, "v": version, "value": projection.view(key)})
                published[version] = time.monotonic()
                naive.queue.put_nowait(
                    b'{"type":"delta","seq":%d,"changes":[%s]}' % (version, fragment)
                )
    offered_s = time.monotonic() - began
    drain_until = time.monotonic() + args.drain
    await asyncio.sleep(max(0.0, drain_until - time.monotonic()))  # let deliveries finish
    parent.send("stop")
    raw_versions, raw_times, raw_counts = await asyncio.to_thread(parent.recv)
    feeder.cancel()
    with suppress(asyncio.CancelledError):
        await feeder
    process.join(10)
    await runner.cleanup()
    hub.close()
    versions = np.frombuffer(raw_versions, dtype=np.int64)
    times = np.frombuffer(raw_times, dtype=np.float64)
    counts = np.frombuffer(raw_counts, dtype=np.int64)
    sent = np.array([published.get(int(v), np.nan) for v in versions], dtype=np.float64)
    mask = ~np.isnan(sent)
    latency_ms = (times[mask] - sent[mask]) * 1000.0
    per_client = [int(m.sum()) for m in np.split(mask, np.cumsum(counts)[:-1])]
    window = offered_s + args.drain
    return {
        "mode": mode,
        "clients": args.clients,
        "slow_clients": args.slow,
        "offered_updates_per_s": round(updates / offered_s, 1),
        "delivered_updates_per_s": round(int(mask.sum()) / window, 0),
        "p50_ms": round(float(np.percentile(latency_ms, 50)), 2) if len(latency_ms) else None,
        "p99_ms": round(float(np.percentile(latency_ms, 99)), 2) if len(latency_ms) else None,
        "max_ms": round(float(latency_ms.max()), 2) if len(latency_ms) else None,
        "share_delivered": round(int(mask.sum()) / max(1, args.clients * updates), 4),
        "worst_client_share": round(min(per_client) / max(1, updates), 4) if per_client else None,
    }


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r[key] is not None]
    return round(statistics.median(values), 2) if values else None


async def _bench(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {"hub": [], "naive": []}
    for _ in range(args.runs):
        for mode in ("hub", "naive"):
            results[mode].append(await _run_once(args, mode))
    keys = ("delivered_updates_per_s", "p50_ms", "p99_ms", "max_ms", "share_delivered")
    medians = {mode: {k: _median(runs, k) for k in keys} for mode, runs in results.items()}
    hub_p99, naive_p99 = medians["hub"]["p99_ms"], medians["naive"]["p99_ms"]
    return {
        "benchmark": "dashboard fan-out",
        "clients": args.clients,
        "slow_clients": args.slow,
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "coalesce_ms": args.coalesce_ms,
        "runs": results,
        "median": medians,
        "p99_ratio_naive_to_hub": round(naive_p99 / hub_p99, 1) if hub_p99 and naive_p99 else None,
        "target_p99_ms": 250,
        "hub_meets_target": hub_p99 is not None and hub_p99 <= 250,
    }


def run(args: argparse.Namespace) -> int:
    """The command's handler: print the figures as JSON."""
    if args.clients < 1 or args.rate <= 0 or args.seconds <= 0 or args.runs < 1:
        print("clients, rate, seconds and runs must be positive", file=sys.stderr)
        return 2
    result = asyncio.run(_bench(args))
    print(json.dumps(result, indent=2))
    return 0


def add_arguments(
    parser: argparse.ArgumentParser, handler: Callable[[argparse.Namespace], int]
) -> None:
    """The command's options."""
    parser.add_argument("--clients", type=int, default=1000, help="dashboard clients (1000)")
    parser.add_argument("--slow", type=int, default=5, help="extra clients that never read (5)")
    parser.add_argument("--rate", type=float, default=100.0, help="incident updates per s (100)")
    parser.add_argument("--seconds", type=float, default=10.0, help="offered load duration (10)")
    parser.add_argument("--drain", type=float, default=2.0, help="time to finish delivery (2)")
    parser.add_argument("--incidents", type=int, default=300, help="open incidents updated (300)")
    parser.add_argument("--coalesce-ms", type=float, default=50.0, help="hub gathering window")
    parser.add_argument(
        "--summary-interval-s", type=float, default=1.0, help="summaries at most this often"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are printed (3)")
    parser.set_defaults(handler=handler)
