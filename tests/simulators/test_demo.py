"""``ng112 demo`` as a newcomer runs it: progress, committed calls, a clean Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.integration


async def _line_containing(stream: asyncio.StreamReader, text: str, seen: list[str]) -> str:
    while True:
        raw = await stream.readline()
        if not raw:
            raise AssertionError(f"output ended before {text!r}: {seen[-5:]}")
        line = raw.decode()
        seen.append(line)
        if text in line:
            return line


async def test_demo_runs_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    """The demo prints the URLs and progress, commits calls, and exits 0 on SIGINT."""
    port = free_port()
    env = {**os.environ, "NG112_MQTT_PORT": str(free_port())}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatch",
        "demo",
        "--port",
        str(port),
        "--db",
        f"sqlite+aiosqlite:///{tmp_path}/demo.db",
        "--speed",
        "50",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(60):
            await _line_containing(process.stdout, f"127.0.0.1:{port}/map", seen)
            retention = await _line_containing(process.stdout, "leave memory", seen)
            progress = await _line_containing(process.stdout, "committed", seen)
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/api/v1/incidents?limit=5") as response,
            ):
                body = await response.json()
            assert response.status == 200
            assert body["incidents"], "no committed call yet after a progress line"
            call_id = body["incidents"][0]["calls"][0]
            process.send_signal(signal.SIGINT)
            final = await _line_containing(process.stdout, "stopped", seen)
            await process.stdout.read()
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 0
    assert "leave memory 72 s after" in retention, "an hour of the scenario at 50x"
    for figure in ("held", "MB)", "answered", "ended", "abandoned", "unfounded", "closed"):
        assert figure in progress, progress
    assert call_id.startswith("call-")
    committed = int(final.split(";")[1].split()[0])
    assert committed > 0
    assert " 0 lost, 0 duplicated" in final
