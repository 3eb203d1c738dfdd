"""Start the engine on a log in a fresh process and report its memory when ready.

``python -m simulators.start_probe DB_URL`` prints one JSON line: ``start_s`` (seconds to
ready) and ``rss_mb`` (resident memory when ready, as ``bench surge`` reads it: psutil),
then stops the engine. ``ng112 bench
replay`` runs it once on the empty log and once on the full one, so the memory the
projections hold per event is measured apart from what the benchmark process itself has
touched (writing, the spine-only rebuild).
"""

from __future__ import annotations

import asyncio
import json
import sys

import psutil

from simulators.host import log_start_settings, time_start


def resident_mb() -> float:
    """This process's resident memory in MB."""
    return psutil.Process().memory_info().rss / 2**20


async def _probe(db: str) -> dict[str, float]:
    start_s, runner, _url = await time_start(log_start_settings(db))
    try:
        return {"start_s": round(start_s, 2), "rss_mb": round(resident_mb(), 1)}
    finally:
        await runner.cleanup()


def main(argv: list[str]) -> int:
    """Probe the log named by the one argument (a database URL)."""
    if len(argv) != 1:
        print("usage: python -m simulators.start_probe DB_URL", file=sys.stderr)
        return 2
    print(json.dumps(asyncio.run(_probe(argv[0]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
