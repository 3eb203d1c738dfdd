"""Reading an engine's /metrics and printing one progress line a second (demo, simulate)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import aiohttp

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEinfNa]+)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineGauges:
    """What /metrics says about load: open incidents, the commit queue, stream clients.

    ``incidents_held`` are the incidents the engine keeps in memory (open ones and those
    concluded within the archive's retention) and ``resident_mb`` its resident memory: with
    calls ending and incidents concluding, both level off once the retention has passed.
    """

    open_incidents: int
    log_queue_depth: int
    committed_events: int
    stream_clients: int
    stream_resyncs: int
    incidents_held: int = 0
    resident_mb: float = 0.0


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text to ``{name: sum over label sets}`` (pure)."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line.strip())
        if match is None:
            continue
        name, _labels, value = match.groups()
        try:
            totals[name] = totals.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return totals


def gauges_from(totals: dict[str, float]) -> EngineGauges:
    """The gauges the demo and the benchmark show."""
    return EngineGauges(
        open_incidents=int(totals.get("ng112_open_incidents", 0)),
        log_queue_depth=int(totals.get("ng112_event_log_queue_depth", 0)),
        committed_events=int(totals.get("ng112_event_log_committed_events", 0)),
        stream_clients=int(totals.get("ng112_stream_clients", 0)),
        stream_resyncs=int(totals.get("ng112_stream_resyncs", 0)),
        incidents_held=int(totals.get("ng112_projection_incidents", 0)),
        resident_mb=totals.get("process_resident_memory_bytes", 0.0) / 2**20,
    )


async def fetch_gauges(session: aiohttp.ClientSession, base_url: str) -> EngineGauges | None:
    """The engine's gauges, or ``None`` if /metrics did not answer."""
    try:
        async with session.get(f"{base_url.rstrip('/')}/metrics") as response:
            if response.status != 200:
                return None
            return gauges_from(parse_metrics(await response.text()))
    except (aiohttp.ClientError, TimeoutError):
        return None


@dataclass(slots=True)
class RateMeter:
    """Turns running totals into per-second rates between two readings."""

    last_time: float = 0.0
    last_offered: int = 0
    last_acked: int = 0

    def rates(self, offered: int, acked: int) -> tuple[float, float]:
        """Offered/s and committed/s since the previous reading."""
        now = time.monotonic()
        span = max(now - self.last_time, 1e-6) if self.last_time else 1.0
        rates = ((offered - self.last_offered) / span, (acked - self.last_acked) / span)
        self.last_time, self.last_offered, self.last_acked = now, offered, acked
        return rates
