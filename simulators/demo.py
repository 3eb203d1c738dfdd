"""``ng112 demo``: the engine and simulated traffic in one process, until Ctrl-C.

The engine starts on embedded defaults (every provincial centre and the central desk
exist by construction); the simulators run against it over loopback; the terminal gets
one progress line a second. Calls end (the simulated gateway reports them abandoned or
ended) and incidents conclude (unfounded, or dispatched and closed), so the engine's
archivist lets them go: its retention (``archive_after_s``, an hour) counts in the
scenario's time, divided by the speed, unless the settings file sets it; the incidents
held in memory and the resident memory on the progress line level off after it.
SIGINT or SIGTERM stops the traffic first, then the engine
(``runner.cleanup()``: stop accepting, close streams, commit what is queued).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

import aiohttp

from simulators.host import Settings, start_engine
from simulators.progress import RateMeter, fetch_gauges
from simulators.runner import Simulation
from simulators.scenario import Scenario

logger = logging.getLogger(__name__)

#: Per-request and broker-internal logs would drown the progress lines.
_NOISY_LOGGERS = ("aiohttp.access", "amqtt", "transitions")


async def run_demo(settings: Settings, scenario: Scenario) -> int:
    """Serve, simulate and report progress until a signal; returns the exit code."""
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner, url = await start_engine(settings)
    print(f"ng112 demo: engine on {url} (scenario {scenario.name}, speed {scenario.speed:g}x)")
    print(f"  live map: {url}/map")
    print(f"  console:  {url}/console")
    print(f"  API:      {url}/api/v1/openapi.json   metrics: {url}/metrics")
    print(
        f"  concluded incidents leave memory {settings.archive_after_s:g} s after they"
        " conclude (once their calls have ended)"
    )
    print("  stop with Ctrl-C", flush=True)
    mqtt = (settings.mqtt_host, settings.mqtt_port) if settings.embedded_broker else None
    simulation = Simulation(scenario, url, mqtt=mqtt, settle_s=2.0, api_sample=200)
    try:
        async with asyncio.TaskGroup() as group:
            sim = group.create_task(simulation.run(stop), name="ng112-demo-simulation")
            reporter = group.create_task(_progress(simulation, url, stop), name="ng112-demo-ui")
            await sim
            stop.set()
            reporter.cancel()
        report = sim.result()
        print(
            f"ng112 demo: stopped; {report.acknowledged} calls committed, "
            f"{report.lost} lost, {report.duplicated} duplicated",
            flush=True,
        )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
    return 0


async def _progress(simulation: Simulation, url: str, stop: asyncio.Event) -> None:
    meter = RateMeter()
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await stop.wait()
            sender = simulation.sender
            if sender is None:
                continue
            offered, acked = sender.stats.offered, sender.stats.acknowledged
            offered_rate, acked_rate = meter.rates(offered, acked)
            gauges = await fetch_gauges(session, url)
            operator = simulation.operator
            hour = simulation.model.hour_at(time.monotonic() - simulation.started)
            line = (
                f"[{time.monotonic() - started:6.0f}s {int(hour):02d}:{int(hour % 1 * 60):02d}]"
                f" offered {offered_rate:6.1f}/s committed {acked_rate:6.1f}/s"
                f" | calls {acked}"
            )
            if gauges is not None:
                line += (
                    f" | open incidents {gauges.open_incidents}"
                    f" (held {gauges.incidents_held}, {gauges.resident_mb:.0f} MB)"
                    f" | log queue {gauges.log_queue_depth}"
                )
            line += f" | on stream {simulation.watcher.stats.calls_seen}"
            floor = simulation.call_takers
            if floor is not None:
                line += f" | answered {floor.stats.answered}"
            gateway = simulation.gateway
            if gateway is not None:
                reported = gateway.stats
                line += f" | ended {reported.ended} abandoned {reported.abandoned}"
                if reported.refused:  # ng112 refused reports: worth a look in the JSON
                    line += f" (refused {reported.refused})"
            if operator is not None:
                done = operator.stats
                line += f" | unfounded {done.unfounded} closed {done.closed}"
                line += f" | in hand {operator.backlog}"  # calls and incidents not yet done
                if done.dispatched:
                    line += f" | units sent {done.dispatched}"
            print(line, flush=True)
