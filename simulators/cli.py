"""Commands: ``ng112 demo``, ``ng112 simulate``, ``ng112 bench surge``, ``ng112 bench replay``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import uvloop

from simulators.errors import SimulatorError
from simulators.scenario import bundled_names, load_scenario


def _demo(args: argparse.Namespace) -> int:
    from simulators.demo import run_demo  # noqa: PLC0415 - the engine only for this command
    from simulators.host import run_on_engine_loop, settings_from  # noqa: PLC0415 - same

    try:
        scenario = load_scenario(args.scenario).with_overrides(
            speed=args.speed, duration_s=args.duration
        )
        settings = settings_from(
            config=args.config,
            environ=os.environ,
            overrides={"host": args.host, "port": args.port, "db": args.db},
        )
    except (SimulatorError, ValueError) as exc:
        print(f"ng112 demo: {exc}", file=sys.stderr)
        return 2
    if "archive_after_s" not in settings.model_fields_set:
        # The archivist's retention is an hour of the scenario's time, not of the wall's.
        retention = settings.archive_after_s / scenario.speed
        settings = settings.model_copy(update={"archive_after_s": retention})
    return run_on_engine_loop(run_demo(settings, scenario), settings)


def _simulate(args: argparse.Namespace) -> int:
    from simulators.runner import Simulation  # noqa: PLC0415 - aiohttp only for this command

    try:
        scenario = load_scenario(args.scenario).with_overrides(
            speed=args.speed, duration_s=args.duration
        )
    except SimulatorError as exc:
        print(f"ng112 simulate: {exc}", file=sys.stderr)
        return 2
    mqtt = None
    if args.mqtt:
        host, _, port = args.mqtt.rpartition(":")
        mqtt = (host or "127.0.0.1", int(port))

    async def run() -> int:
        stop = asyncio.Event()
        simulation = Simulation(scenario, args.url, mqtt=mqtt)
        try:
            report = await simulation.run(stop)
        except SimulatorError as exc:
            print(f"ng112 simulate: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(report.as_dict(), ensure_ascii=False))
        return 0 if report.lost == 0 and report.duplicated == 0 else 1

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130


def _bench_surge(args: argparse.Namespace) -> int:
    from simulators.bench_surge import print_table, run_surge  # noqa: PLC0415 - heavy

    try:
        rows = uvloop.run(run_surge(args))  # the dashboard client keeps up better on it
    except SimulatorError as exc:
        print(f"ng112 bench surge: {exc}", file=sys.stderr)
        return 1
    print_table(rows)
    result: dict[str, object] = {"bench": "surge", "results": rows}
    grouped = {r["rate_target"]: r for r in rows if r["mode"] == "group_commit"}
    single = {r["rate_target"]: r for r in rows if r["mode"] == "commit_per_call"}
    result["speedup"] = {
        str(rate): round(grouped[rate]["committed_per_s"] / single[rate]["committed_per_s"], 2)
        for rate in grouped
        if rate in single and single[rate]["committed_per_s"]
    }
    print(json.dumps(result))
    return 0 if all(r["lost"] == 0 and r["duplicated"] == 0 for r in rows) else 1


def _bench_replay(args: argparse.Namespace) -> int:
    from simulators.bench_replay import run_replay  # noqa: PLC0415 - the engine only here

    try:
        result = asyncio.run(run_replay(args))
    except SimulatorError as exc:
        print(f"ng112 bench replay: {exc}", file=sys.stderr)
        return 2
    if result["write_s"] is None:
        origin = f"read from a copy of {args.from_path}"
    else:
        origin = f"written in {result['write_s']} s"
    print(
        f"{result['events']:,} events: {origin}, engine ready in"
        f" {result['start_s']} s ({result['empty_start_s']} s on an empty log; folding"
        f" {result['fold_events_per_s']:,} events/s, 10 M would take about"
        f" {result['projected_10m_s']} s); the spine alone folds it in"
        f" {result['spine_rebuild_s']} s (10 M: about {result['spine_projected_10m_s']} s);"
        f" resident memory {result['rss_mb']:,} MB ({result['empty_rss_mb']:,} MB empty,"
        f" {result['bytes_per_event']:,} bytes per event: 10 M would need about"
        f" {result['projected_10m_rss_gb']} GB); from the snapshot saved at its stop"
        f" ({result['snapshot_mb']} MB) and {result['tail_events']:,} more events, ready in"
        f" {result['snapshot_start_s']} s"
    )
    print(json.dumps(result))
    return 0


def _rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError("rates are numbers separated by commas") from None
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError("rates must be positive")
    return rates


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ng112 demo`` and ``ng112 simulate``."""
    scenarios = ", ".join(bundled_names())
    demo = commands.add_parser(
        "demo", help="run the engine with simulated traffic and print the URLs to open"
    )
    demo.add_argument("--scenario", default="demo", help=f"bundled ({scenarios}) or a file")
    demo.add_argument("--speed", type=float, help="1..100: simulated seconds per wall second")
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    demo.add_argument("--host", help="address to listen on (NG112_HOST; 127.0.0.1)")
    demo.add_argument("--port", type=int, help="port to listen on (NG112_PORT; 8112)")
    demo.add_argument("--db", help="database URL (NG112_DB; SQLite under ./var)")
    demo.add_argument("--config", type=Path, help="TOML settings file (NG112_CONFIG)")
    demo.set_defaults(handler=_demo)

    simulate = commands.add_parser("simulate", help="run a scenario against a running engine")
    simulate.add_argument("scenario", help=f"bundled ({scenarios}) or a TOML file")
    simulate.add_argument("--url", default="http://127.0.0.1:8112", help="the engine")
    simulate.add_argument("--speed", type=float, help="override the scenario's speed")
    simulate.add_argument("--duration", type=float, help="override the scenario's duration")
    simulate.add_argument("--mqtt", help="broker HOST:PORT for eCall over MQTT")
    simulate.set_defaults(handler=_simulate)


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ng112 bench surge`` and ``ng112 bench replay``."""
    surge = benches.add_parser(
        "surge", help="calls/s, arrival-to-dashboard latency, memory and loss under load"
    )
    surge.add_argument(
        "--rate", type=_rates, default=[1000.0, 5000.0], help="calls/s, e.g. 1000,5000"
    )
    surge.add_argument("--duration", type=float, default=10.0, help="seconds of load per rate")
    surge.add_argument(
        "--baseline-duration", type=float, default=5.0, help="seconds per commit-per-call run"
    )
    surge.add_argument("--workers", type=int, default=2, help="load-generator processes")
    surge.add_argument("--scenario", default="surge", help="bundled scenario or a file")
    surge.add_argument("--url", help="measure a running engine instead of starting one")
    surge.add_argument("--no-baseline", action="store_true", help="skip the commit-per-call run")
    surge.add_argument(
        "--api-sample", type=int, default=2000, help="acknowledged calls looked up by id"
    )
    surge.add_argument(
        "--batch",
        type=int,
        default=1,
        help="generators act as gateways posting up to N calls per request"
        " (POST /api/v1/calls/batch, 5 ms linger); the commit-per-call baseline posts one by one",
    )
    surge.add_argument(
        "--call-fronts",
        type=int,
        default=0,
        help="front processes the started engine runs to decide batches (call_front_workers)",
    )
    surge.add_argument(
        "--duplicate-search",
        choices=("loop", "process"),
        default="loop",
        help="where the started engine searches new calls for duplicates ([units]"
        " duplicate_search): on its loop, or in a child process following the log",
    )
    surge.set_defaults(handler=_bench_surge)

    replay = benches.add_parser("replay", help="engine start-up time on a log of N events")
    replay.add_argument(
        "--events", type=int, help="events to write (default 200000; 10M: the target)"
    )
    replay.add_argument("--db", help="database URL to write into (default: temporary SQLite)")
    replay.add_argument(
        "--log",
        choices=("centre", "held"),  # simulators.host.LOG_KINDS, without importing the engine
        help="what to write: a centre's working day where calls end, incidents conclude and"
        " are archived (centre, the default), or every call held open (held: the old worst case)",
    )
    replay.add_argument(
        "--retention",
        type=float,
        metavar="S",
        help="centre log: seconds of the log's time a concluded incident stays live (default 120)",
    )
    replay.add_argument(
        "--tail",
        type=int,
        metavar="N",
        help="events appended after the snapshot before the timed restart"
        " (default: half the log, at most 100000)",
    )
    replay.add_argument(
        "--from",
        dest="from_path",
        type=Path,
        metavar="PATH",
        help="time the start on a copy of this SQLite event log instead of writing one",
    )
    replay.set_defaults(handler=_bench_replay)
