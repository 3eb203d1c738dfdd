"""Command-line registration of the call-queue benchmark (``ng112 bench queue``).

The lead's ``dispatch.app.cli`` calls :func:`register_bench` with the ``bench`` subparsers.
The queue has no top-level command of its own, so :func:`register` adds nothing.
"""

from __future__ import annotations

import argparse

from dispatch.core import bench_queue


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """No top-level commands: the queue is driven through the engine's API."""
    del commands


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench queue``: 100,000 calls through assignment against a naive list scan."""
    parser = benches.add_parser(
        "queue",
        help="call assignment: skill heaps against a naive list scan",
        description=bench_queue.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench_queue.add_arguments(parser)
