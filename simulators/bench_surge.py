"""``ng112 bench surge``: calls/s, arrival-to-dashboard latency, memory and loss under load.

For each offered rate and each engine mode (group commit on, then off: one commit per
call), the benchmark starts an engine process (``python -m dispatch serve`` on a free
loopback port with a temporary SQLite log, unless ``--url`` names a running one), then:

- load generators in ``--workers`` separate processes (on uvloop, like the engine) draw
  the whole run's calls first, each its own (population-weighted, the normal-day
  generator, one ``TrafficModel`` stream per process), batched
  and encoded as a gateway would send them (:mod:`simulators.surge_load`), then post them
  at the rate and retry with the same ``client_request_id`` until acknowledged;
- this process is the dashboard: a websocket client (aiohttp's) on ``/api/v1/stream``
  noting when each ``call_received`` arrives; latency is from the call's arrival at the
  gateway (lingering in its batch included) to that moment (``time.monotonic()`` is one
  clock for all processes of a machine);
- it samples the engine's RSS (psutil) and the commit queue depth (``/metrics``);
- afterwards it compares the acknowledged call ids with the stream and with
  ``GET /api/v1/calls/{id}`` (all of them, or a sample with ``--api-sample``):
  lost and duplicated must both be zero.

2 cores are shared by the engine, the generators and the dashboard: the figures are
what the machine does with all three on it, not the engine alone.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import uvloop

from simulators.drivers import StreamWatcher
from simulators.errors import EngineUnavailable
from simulators.progress import fetch_gauges
from simulators.runner import check_api, latency_summary, ws_url
from simulators.scenario import Scenario, load_scenario
from simulators.surge_load import offer_planned, plan_batches
from simulators.traffic import TrafficModel, rhythm

BATCH_LINGER_S = 0.005
"""How long a batching gateway waits for more calls after the first (``--batch``)."""

SAMPLE_EVERY_S = 1.0
"""How often the run reads the engine's memory and ``/metrics``. A scrape costs the
engine's loop a few milliseconds; four a second took about 2% of it at surge rates, which
a real scraper (every 15 s) would not."""


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class EngineProcess:
    """An engine started by the benchmark: its process and URL."""

    process: subprocess.Popen[bytes]
    url: str
    folder: tempfile.TemporaryDirectory[str]

    def stop(self) -> int:
        """SIGTERM, wait, and remove the temporary log."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.folder.cleanup()
        return code


def spawn_engine(
    *, group_commit: bool, call_fronts: int = 0, duplicate_search: str = "loop"
) -> EngineProcess:
    """Start ``python -m dispatch serve`` with a temporary SQLite log (not yet ready)."""
    folder = tempfile.TemporaryDirectory(prefix="ng112-bench-")
    port = free_port()
    config = Path(folder.name) / "settings.toml"
    config.write_text(
        f"group_commit = {'true' if group_commit else 'false'}\nembedded_broker = false\n"
        f"call_front_workers = {call_fronts}\n"
        f'[units]\nduplicate_search = "{duplicate_search}"\n',
        encoding="utf-8",
    )
    db = f"sqlite+aiosqlite:///{folder.name}/bench.db"
    env = {**os.environ, "NG112_CONFIG": str(config)}
    command = [sys.executable, "-m", "dispatch", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", db]
    with (Path(folder.name) / "engine.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return EngineProcess(process=process, url=f"http://127.0.0.1:{port}", folder=folder)


async def wait_ready(url: str, *, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``/readyz`` answers 200 (60 s at most)."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise EngineUnavailable("the engine process exited during start-up")
            try:
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise EngineUnavailable("the engine was not ready within 60 s")


def _worker(
    url: str, scenario_json: str, index: int, duration_s: float, batch: int
) -> dict[str, Any]:
    """One load-generator process: offers its share of the calls, returns the acks."""
    scenario = Scenario.model_validate_json(scenario_json)
    return uvloop.run(_worker_async(url, scenario, index, duration_s, batch))


async def _worker_async(
    url: str, scenario: Scenario, index: int, duration_s: float, batch: int
) -> dict[str, Any]:
    model = TrafficModel(scenario, run_id=f"{uuid.uuid4().hex[:6]}w{index}", stream=index)
    plan = plan_batches(model, duration_s=duration_s, max_batch=batch, linger_s=BATCH_LINGER_S)
    connector = aiohttp.TCPConnector(limit=scenario.max_in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        stats, poster = await offer_planned(
            session, url, plan, max_in_flight=scenario.max_in_flight
        )
    return {
        "acks": stats.acks,
        "offered": stats.offered,
        "refused": stats.refused,
        "retries": poster.stats.retries,
        "max_lag_s": stats.max_lag_s,
    }


def _child_rss(process: psutil.Process, module: str) -> int:
    """Resident memory of the engine's children running ``module`` (not snapshot forks)."""
    total = 0
    for child in process.children():
        try:
            if module in child.cmdline():
                total += child.memory_info().rss
        except psutil.Error:
            continue
    return total


async def _sample(url: str, pid: int | None, stop: asyncio.Event) -> dict[str, float]:
    peak_rss = 0
    peak_front_rss = 0
    peak_search_rss = 0
    peak_queue = 0
    process = psutil.Process(pid) if pid is not None else None
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            if process is not None:
                try:
                    peak_rss = max(peak_rss, process.memory_info().rss)
                    peak_front_rss = max(
                        peak_front_rss, _child_rss(process, "dispatch.app.call_front")
                    )
                    peak_search_rss = max(
                        peak_search_rss, _child_rss(process, "dispatch.app.duplicate_search")
                    )
                except psutil.Error:
                    process = None
            gauges = await fetch_gauges(session, url)
            if gauges is not None:
                peak_queue = max(peak_queue, gauges.log_queue_depth)
            await asyncio.sleep(SAMPLE_EVERY_S)
    return {
        "peak_rss_mb": round(peak_rss / 2**20, 1),
        "peak_front_rss_mb": round(peak_front_rss / 2**20, 1),
        "peak_search_rss_mb": round(peak_search_rss / 2**20, 1),
        "peak_log_queue": peak_queue,
    }


async def measure(
    url: str,
    scenario: Scenario,
    *,
    rate: float,
    duration_s: float,
    workers: int,
    engine_pid: int | None,
    api_sample: int,
    batch: int = 1,
    settle_s: float = 60.0,
) -> dict[str, Any]:
    """One measurement at one rate against one running engine."""
    per_worker = scenario.model_copy(
        update={
            "rate_multiplier": rate
            / workers
            / (scenario.base_rate_per_s * scenario.speed * rhythm(scenario.start_hour)),
            "max_in_flight": max(1, scenario.max_in_flight // workers),
        }
    )
    watcher = StreamWatcher(ws_url(url))
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        watching = group.create_task(watcher.run(), name="ng112-bench-dashboard")
        async with asyncio.timeout(30):
            await watcher.connected.wait()
        sampler = group.create_task(_sample(url, engine_pid, stop), name="ng112-bench-sampler")
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        started = time.monotonic()
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = await asyncio.gather(
                *(
                    loop.run_in_executor(
                        pool, _worker, url, per_worker.model_dump_json(), i, duration_s, batch
                    )
                    for i in range(workers)
                )
            )
        acks = [ack for result in results for ack in result["acks"]]
        wanted = {call_id for call_id, _, _ in acks}
        await watcher.wait_seen(wanted, settle_s)
        stop.set()
        watching.cancel()
        samples = await sampler
    async with aiohttp.ClientSession() as session:
        checked, missing = await check_api(session, url, list(wanted), sample=api_sample)
    offered = sum(r["offered"] for r in results)
    first_sent = min((sent for _, sent, _ in acks), default=started)
    last_acked = max((acked for _, _, acked in acks), default=started)
    latencies = [watcher.seen[c] - sent for c, sent, _ in acks if c in watcher.seen]
    ack_latencies = [acked - sent for _, sent, acked in acks]
    lost = len(wanted - watcher.seen.keys()) + missing
    return {
        "rate_target": rate,
        "batch": batch,
        "offered": offered,
        "acknowledged": len(acks),
        "offered_per_s": round(offered / duration_s, 1),
        "committed_per_s": round(len(acks) / max(last_acked - first_sent, 1e-9), 1),
        "latency_ms": latency_summary(latencies),
        "ack_latency_ms": latency_summary(ack_latencies),
        "lost": lost,
        "duplicated": (len(acks) - len(wanted)) + watcher.stats.duplicate_calls,
        "refused": sum(r["refused"] for r in results),
        "retries": sum(r["retries"] for r in results),
        "stream_resyncs": watcher.stats.resyncs,
        "api_checked": checked,
        "api_missing": missing,
        "generator_max_lag_s": round(max(r["max_lag_s"] for r in results), 3),
        **samples,
    }


async def run_surge(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every rate in both modes (or against ``--url`` only)."""
    scenario = load_scenario(args.scenario)
    rows: list[dict[str, Any]] = []
    modes = [("group_commit", True)]
    if not args.no_baseline and args.url is None:
        modes.append(("commit_per_call", False))
    for rate in args.rate:
        for mode, grouped in modes:
            duration = args.duration if grouped else min(args.duration, args.baseline_duration)
            engine = None
            url = args.url
            pid = None
            if url is None:
                engine = spawn_engine(
                    group_commit=grouped,
                    call_fronts=args.call_fronts if grouped else 0,
                    duplicate_search=args.duplicate_search if grouped else "loop",
                )
                url, pid = engine.url, engine.process.pid
                await wait_ready(url, process=engine.process)
            try:
                row = await measure(
                    url,
                    scenario,
                    rate=rate,
                    duration_s=duration,
                    workers=args.workers,
                    engine_pid=pid,
                    api_sample=args.api_sample,
                    batch=args.batch if grouped else 1,
                )
            finally:
                if engine is not None:
                    await asyncio.to_thread(engine.stop)
            started = grouped and args.url is None
            rows.append(
                {
                    "mode": mode if args.url is None else "external",
                    "call_fronts": args.call_fronts if started else None,
                    "duplicate_search": (args.duplicate_search if started else "loop")
                    if args.url is None
                    else None,
                    **row,
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """The human-readable table."""
    header = (
        f"{'mode':<16} {'batch':>5} {'fronts':>6} {'target/s':>8} {'offered/s':>9}"
        f" {'commit/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'queue':>6} {'RSS MB':>7}"
        f" {'+front':>6} {'+search':>7} {'lost':>5} {'dup':>4}"
    )
    print(header)
    for row in rows:
        lat = row["latency_ms"]

        def cell(value: float | None) -> str:
            return f"{value:8.1f}" if value is not None else f"{'-':>8}"

        print(
            f"{row['mode']:<16} {row['batch']:>5} {row['call_fronts'] or 0:>6}"
            f" {row['rate_target']:>8.0f}"
            f" {row['offered_per_s']:>9.0f} {row['committed_per_s']:>9.0f}"
            f" {cell(lat['p50'])} {cell(lat['p95'])} {cell(lat['p99'])}"
            f" {row['peak_log_queue']:>6} {row['peak_rss_mb']:>7.0f}"
            f" {row.get('peak_front_rss_mb', 0):>6.0f} {row.get('peak_search_rss_mb', 0):>7.0f}"
            f" {row['lost']:>5} {row['duplicated']:>4}"
        )
