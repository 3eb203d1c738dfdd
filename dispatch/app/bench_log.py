"""``ng112 bench log``: committed events/s and commit latency.

Group commit against one commit per event, in the same run, on SQLite (and PostgreSQL
with ``--db``).

Many concurrent producers each append one command's events at a time (two by default:
a call ingest commits ``call_received`` and ``incident_opened`` together) and wait for
the commit, as ingest handlers do. The baseline commits every event in its own
transaction (one event per append, no grouping). Latency is from the append call to its
acknowledgement. Figures are medians over ``--runs`` runs; the ratio compares the two
modes of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispatch.adapters.store import EventLog, create_engine
from dispatch.app.gc_tuning import freeze_survivors
from dispatch.model.centres import provincial_centre
from dispatch.model.events import CallReceived
from dispatch.model.ids import new_call_id, new_incident_id
from dispatch.model.values import Caller, Location
from dispatch.model.vocabulary import Channel


def _event(i: int) -> CallReceived:
    # As an ingest commits a call: the first event of each call carries the client's
    # idempotency key, the second (the incident it opens) none.
    return CallReceived(
        occurred_at=datetime.now(UTC),
        idempotency_key=f"bench:{uuid.uuid4().hex}" if i % 2 == 0 else None,
        plate=34,
        call_id=new_call_id(),
        incident_id=new_incident_id(),
        channel=Channel.PHONE,
        centre=provincial_centre(34),
        caller=Caller(number=f"+90532{i:07d}"),
        text="Kadıköy'de trafik kazası, iki yaralı var",
        location=Location(lat=40.99, lon=29.03, radius_m=25.0),
    )


async def _one_run(
    url: str, *, group: bool, events: int, producers: int, per_append: int = 2
) -> dict[str, float]:
    schema = None
    if url.startswith("postgres"):
        schema = await _fresh_schema(url)
    engine = create_engine(url, schema=schema)
    log = EventLog(engine, group_commit=group)
    await log.open()
    latencies: list[float] = []
    payload = [_event(i) for i in range(events)]
    freeze_survivors()  # as the server does after start: no full GC walks of the payload
    index = 0

    async def producer() -> None:
        nonlocal index
        while index < events:
            chunk = payload[index : index + per_append]
            index += per_append
            started = time.perf_counter()
            await log.append(chunk)
            latencies.append(time.perf_counter() - started)

    async with asyncio.TaskGroup() as tasks:
        writer = tasks.create_task(log.run_writer())
        started = time.perf_counter()
        async with asyncio.TaskGroup() as workers:
            for _ in range(producers):
                workers.create_task(producer())
        elapsed = time.perf_counter() - started
        writer.cancel()
    gc.unfreeze()
    stored = await log.count()
    await engine.dispose()
    if stored != events:
        raise RuntimeError(f"lost events: {stored} stored of {events}")
    latencies.sort()
    return {
        "events_per_s": events / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "transactions": log.stats.transactions,
    }


async def _fresh_schema(url: str) -> str:
    import asyncpg  # noqa: PLC0415 - only for PostgreSQL runs

    name = f"bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await conn.close()
    return name


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


async def run_bench(
    urls: list[str],
    *,
    events: int,
    baseline_events: int,
    producers: int,
    runs: int,
    per_append: int = 2,
) -> list[dict[str, Any]]:
    """Both modes on every database, ``runs`` times each; medians."""
    results = []
    for url in urls:
        grouped, single = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                target = url.replace("{tmp}", tmp)
                grouped.append(
                    await _one_run(
                        target,
                        group=True,
                        events=events,
                        producers=producers,
                        per_append=per_append,
                    )
                )
            with tempfile.TemporaryDirectory() as tmp:
                target = url.replace("{tmp}", tmp)
                single.append(
                    await _one_run(
                        target,
                        group=False,
                        events=baseline_events,
                        producers=producers,
                        per_append=1,
                    )
                )
        row: dict[str, Any] = {
            "database": url.split(":", 1)[0],
            "runs": runs,
            "events_per_append": per_append,
        }
        for name, data in (("group_commit", grouped), ("commit_per_event", single)):
            row[name] = {
                key: round(_median(data, key), 3)
                for key in ("events_per_s", "p50_ms", "p99_ms", "transactions")
            }
        row["speedup"] = round(
            row["group_commit"]["events_per_s"] / row["commit_per_event"]["events_per_s"], 1
        )
        results.append(row)
    return results


def _print_table(results: list[dict[str, Any]]) -> None:
    print(f"{'database':<22} {'mode':<18} {'events/s':>12} {'p50 ms':>9} {'p99 ms':>9}")
    for row in results:
        for mode in ("group_commit", "commit_per_event"):
            data = row[mode]
            print(
                f"{row['database']:<22} {mode:<18} {data['events_per_s']:>12,.0f}"
                f" {data['p50_ms']:>9.2f} {data['p99_ms']:>9.2f}"
            )
        print(f"{row['database']:<22} {'speedup':<18} {row['speedup']:>11.1f}x")


def _handle(args: argparse.Namespace) -> int:
    urls = [f"sqlite+aiosqlite:///{{tmp}}/{Path('bench.db')}", *(args.db or [])]
    results = asyncio.run(
        run_bench(
            urls,
            events=args.events,
            baseline_events=args.baseline_events,
            producers=args.producers,
            runs=args.runs,
            per_append=args.per_append,
        )
    )
    _print_table(results)
    print(json.dumps({"bench": "log", "results": results}))
    return 0


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ng112 bench log``."""
    parser = benches.add_parser("log", help="event log: group commit against commit per event")
    parser.add_argument("--events", type=int, default=100_000, help="events per group run")
    parser.add_argument(
        "--baseline-events", type=int, default=3_000, help="events per commit-per-event run"
    )
    parser.add_argument("--producers", type=int, default=1000, help="concurrent appenders")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (median reported)")
    parser.add_argument(
        "--per-append", type=int, default=2, help="events per append (a call ingest has 2)"
    )
    parser.add_argument(
        "--db", action="append", help="also run on this database URL (e.g. PostgreSQL)"
    )
    parser.set_defaults(handler=_handle)
