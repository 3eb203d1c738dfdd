"""Command-line entry points of ``routing``: ``ng112 locate`` and ``ng112 bench locate``.

``ng112 locate LAT LON [--radius M]`` prints one JSON object (see
:meth:`routing.LocateResult.to_json_dict`); negative coordinates work as plain arguments
(``ng112 locate -33.9 18.4``). Impossible coordinates or radii print a one-line reason on
stderr and exit with status 2; missing boundary data exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from routing.bench import BenchConfig, render, run_bench
from routing.errors import InvalidCoordinates, InvalidRadius, RoutingError
from routing.locate import Gazetteer

__all__ = ["register", "register_bench"]

EXIT_INVALID = 2
EXIT_FAILED = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locate``."""
    parser = commands.add_parser(
        "locate",
        help="where is a point: province, district, sea, ground (JSON)",
        description="Locate a WGS84 point: province, district, service area, sea and ground.",
    )
    parser.add_argument("lat", type=float, help="latitude in degrees (-90..90)")
    parser.add_argument("lon", type=float, help="longitude in degrees (-180..180)")
    parser.add_argument(
        "--radius", type=float, default=None, metavar="M", help="uncertainty radius in metres"
    )
    parser.add_argument(
        "--routing-settings",
        dest="routing_settings",
        type=Path,
        default=None,
        metavar="TOML",
        help="routing settings (own boundary or responsibility datasets)",
    )
    parser.set_defaults(handler=_locate)


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench locate``."""
    parser = benches.add_parser(
        "locate",
        help="lookup latency and bulk throughput against a naive loop",
        description="Benchmark locate: load time, single-point latency, bulk points/s.",
    )
    parser.add_argument("--single", type=int, default=20_000, help="single-lookup points")
    parser.add_argument("--naive", type=int, default=300, help="points for the naive loop")
    parser.add_argument("--bulk", type=int, default=1_000_000, help="points for bulk lookup")
    parser.add_argument("--seed", type=int, default=112)
    parser.add_argument("--no-sjoin", action="store_true", help="skip the geopandas sjoin")
    parser.add_argument(
        "--routing-settings", dest="routing_settings", type=Path, default=None, metavar="TOML"
    )
    parser.set_defaults(handler=_bench)


def _locate(args: argparse.Namespace) -> int:
    try:
        gazetteer = Gazetteer.load(args.routing_settings)
        result = gazetteer.locate(args.lat, args.lon, args.radius)
    except (InvalidCoordinates, InvalidRadius) as exc:
        print(f"ng112 locate: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except RoutingError as exc:
        print(f"ng112 locate: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(result.to_json_dict(), ensure_ascii=False))
    return 0


def _bench(args: argparse.Namespace) -> int:
    if min(args.single, args.naive, args.bulk) < 1:
        print("ng112 bench locate: point counts must be at least 1", file=sys.stderr)
        return EXIT_INVALID
    config = BenchConfig(
        single=args.single,
        naive=args.naive,
        bulk=args.bulk,
        seed=args.seed,
        sjoin=not args.no_sjoin,
        settings_path=args.routing_settings,
    )
    try:
        result = run_bench(config)
    except RoutingError as exc:
        print(f"ng112 bench locate: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(render(result))
    return 0
