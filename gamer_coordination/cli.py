"""GAMER coordination's commands: ``ng112 bench fanout``."""

from __future__ import annotations

import argparse

from gamer_coordination import bench_fanout


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """No top-level commands (the pages and reports are served by ``ng112 serve``)."""
    del commands


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ng112 bench fanout``: dashboard fan-out, hub against naive sends."""
    parser = benches.add_parser(
        "fanout", help="websocket dashboard fan-out: coalescing hub vs naive sequential sends"
    )
    bench_fanout.add_arguments(parser, bench_fanout.run)
