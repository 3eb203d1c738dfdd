"""The ``ng112`` command line: serve, events tail, benchmarks, and every package's commands.

Packages contribute commands through ``<package>/cli.py`` modules exposing
``register(commands)`` and ``register_bench(benches)``; this module lists them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from dispatch.adapters.listen import ListenError
from dispatch.app import bench_log, event_loop
from dispatch.app.settings import Settings, load_settings

logger = logging.getLogger(__name__)

#: Modules that contribute commands (``register``) and benchmarks (``register_bench``).
COMMAND_MODULES: tuple[str, ...] = (
    "routing.cli",
    "routing.cli_travel",
    "intake.cli",
    "ecall.cli",
    "dispatch.core.queue_cli",
    "dispatch.units_cli",
    "simulators.cli",
    "gamer_coordination.cli",
)


def _settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(
        config_file=args.config,
        environ=os.environ,
        overrides={"host": args.host, "port": args.port, "db": args.db},
    )


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (NG112_HOST; 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (NG112_PORT; 8112)")
    parser.add_argument("--db", help="database URL (NG112_DB; SQLite under ./var)")
    parser.add_argument("--config", type=Path, help="TOML settings file (NG112_CONFIG)")


def _serve(args: argparse.Namespace) -> int:
    from dispatch.app.runner import run_server  # noqa: PLC0415 - heavy imports only for serve

    settings = _settings_from(args)
    return event_loop.run(run_server(settings), settings.event_loop)


def _events_tail(args: argparse.Namespace) -> int:
    from dispatch.app.tail import tail  # noqa: PLC0415 - websockets only for this command

    try:
        return asyncio.run(tail(args.url, since=args.since, token=args.token, count=args.count))
    except KeyboardInterrupt:
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(
        prog="ng112", description="Next-Generation 112 dispatch and coordination engine"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the engine (embedded defaults)")
    _add_server_options(serve)
    serve.set_defaults(handler=_serve)

    events = commands.add_parser("events", help="the event log")
    events_sub = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    tail = events_sub.add_parser("tail", help="print committed events as they happen (JSON lines)")
    tail.add_argument("--url", default="ws://127.0.0.1:8112/api/v1/stream")
    tail.add_argument("--since", type=int, help="resume after this sequence number")
    tail.add_argument("--token", help="bearer token")
    tail.add_argument("--count", type=int, help="stop after this many events")
    tail.set_defaults(handler=_events_tail)

    bench = commands.add_parser("bench", help="benchmarks printing medians and ratios")
    benches = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCH")
    bench_log.register_bench(benches)

    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "register"):
            module.register(commands)
        if hasattr(module, "register_bench"):
            module.register_bench(benches)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ng112`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.handler(args)
    except BrokenPipeError:
        # The reader went away (``ng112 events tail | head``): stop quietly, as a shell
        # tool does. SIGPIPE itself stays ignored: restoring its default would let any
        # vanished socket peer kill a serving engine.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except ListenError as exc:  # a taken port: one line the operator can act on
        print(f"ng112: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
