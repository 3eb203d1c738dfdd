"""Running the server: start, serve until SIGTERM or Ctrl-C, then shut down in order.

Shutdown: stop accepting connections, close websockets, let the event log commit what
it has queued, then close lifespans in reverse (aiohttp's runner cleanup does this).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from dispatch.adapters.listen import ListenError, reason_of
from dispatch.app.composition import compose
from dispatch.app.settings import Settings

logger = logging.getLogger(__name__)


async def start_site(settings: Settings) -> tuple[web.AppRunner, str]:
    """Build and start the application; returns the runner and its base URL."""
    app = compose(settings)
    runner = web.AppRunner(
        app,
        shutdown_timeout=settings.shutdown_grace_s,
        handle_signals=False,
        # one log line per request costs about 5% of the CPU at load: opt in
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
    )
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            raise ListenError("the engine", settings.host, settings.port, reason_of(exc)) from exc
    except BaseException:
        await runner.cleanup()  # what started (the store, the broker) stops again
        raise
    sockets = runner.addresses
    port = sockets[0][1] if sockets else settings.port
    return runner, f"http://{settings.host}:{port}"


async def run_server(settings: Settings) -> int:
    """Serve until a signal asks us to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner, url = await start_site(settings)
    print(f"ng112 listening on {url}", flush=True)  # noqa: T201 - the operator reads this
    try:
        await stop.wait()
    finally:
        logger.info("shutting down")
        await runner.cleanup()
    sys.stdout.flush()
    return 0
