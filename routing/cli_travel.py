"""Command-line entry point of travel times: ``ng112 bench recommend``.

``ng112 bench recommend [--units N] [--incidents N] [--naive N] [--side N] [--no-rize]``
prints a table of recommendation latencies (median, p99) on the Rize road graph (when
``../shared/data/roads`` is present) and on a synthetic 100,000-node grid, against NetworkX,
then the same figures as one JSON object. Invalid counts print a one-line reason on stderr
and exit with status 2; a graph that cannot be read exits with status 1.
"""

from __future__ import annotations

import argparse
import sys

from routing.bench_travel import RIZE_GRAPHML, BenchConfig, render, run_bench
from routing.errors import RoutingError

__all__ = ["register", "register_bench"]

EXIT_INVALID = 2
EXIT_FAILED = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Travel times add no top-level command (recommendation runs inside the engine)."""
    del commands


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench recommend``."""
    parser = benches.add_parser(
        "recommend",
        help="unit recommendation latency on road graphs against NetworkX",
        description=(
            "Benchmark recommend(): 500 units, one incident at a time, on the Rize road graph "
            "and a synthetic 100,000-node grid; NetworkX Dijkstra as the naive baseline."
        ),
    )
    parser.add_argument("--units", type=int, default=500, help="candidate units")
    parser.add_argument("--incidents", type=int, default=300, help="incidents timed")
    parser.add_argument("--naive", type=int, default=20, help="incidents for NetworkX")
    parser.add_argument("--k", type=int, default=3, help="units to recommend")
    parser.add_argument("--side", type=int, default=317, help="synthetic grid side (nodes)")
    parser.add_argument("--seed", type=int, default=112)
    parser.add_argument("--no-rize", action="store_true", help="skip the Rize graph")
    parser.set_defaults(handler=_bench)


def _bench(args: argparse.Namespace) -> int:
    if min(args.units, args.incidents, args.naive, args.k) < 1 or args.side < 2:
        reason = "counts must be at least 1, side at least 2"
        print(f"ng112 bench recommend: {reason}", file=sys.stderr)  # noqa: T201 - CLI output
        return EXIT_INVALID
    config = BenchConfig(
        units=args.units,
        incidents=args.incidents,
        naive_incidents=min(args.naive, args.incidents),
        k=args.k,
        side=args.side,
        seed=args.seed,
        rize=None if args.no_rize else RIZE_GRAPHML,
    )
    try:
        result = run_bench(config)
    except RoutingError as exc:
        print(f"ng112 bench recommend: {exc}", file=sys.stderr)  # noqa: T201 - CLI output
        return EXIT_FAILED
    print(render(result))  # noqa: T201 - a command prints its result
    return 0
