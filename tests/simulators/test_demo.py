"""``ng112 demo`` as a newcomer runs it: progress, committed calls, a clean Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from functools import partial
from pathlib import Path
from typing import BinaryIO

import aiohttp
import pytest

from tests.conftest import free_ports

pytestmark = pytest.mark.integration


async def _line_containing(
    stream: asyncio.StreamReader, text: str, seen: list[str], stderr: Path
) -> str:
    while True:
        raw = await stream.readline()
        if not raw:
            said = (await asyncio.to_thread(stderr.read_text, errors="replace")).splitlines()
            said = said[-15:]
            raise AssertionError(f"output ended before {text!r}: {seen[-5:]}; stderr: {said}")
        line = raw.decode()
        seen.append(line)
        if text in line:
            return line


async def _start_demo(
    port: int, tmp_path: Path, env: dict[str, str], stderr: BinaryIO
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
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
        stderr=stderr,
        env=env,
    )


async def test_demo_runs_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    """The demo prints the URLs and progress, commits calls, and exits 0 on SIGINT."""
    port, mqtt_port = free_ports(2)
    env = {**os.environ, "NG112_MQTT_PORT": str(mqtt_port)}
    stderr = tmp_path / "stderr.txt"
    with stderr.open("wb") as sink:
        process = await _start_demo(port, tmp_path, env, sink)
    assert process.stdout is not None
    lines = partial(_line_containing, process.stdout, seen=[], stderr=stderr)
    try:
        async with asyncio.timeout(60):
            await lines(f"127.0.0.1:{port}/map")
            retention = await lines("leave memory")
            progress = await lines("committed")
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/api/v1/incidents?limit=5") as response,
            ):
                body = await response.json()
            assert response.status == 200
            assert body["incidents"], "no committed call yet after a progress line"
            call_id = body["incidents"][0]["calls"][0]
            process.send_signal(signal.SIGINT)
            final = await lines("stopped")
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
