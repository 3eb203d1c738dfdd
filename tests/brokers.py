"""Real MQTT brokers for tests: Mosquitto (Debian's binary) and the embedded amqtt broker.

Each fixture starts a broker of its own on a free loopback port and stops it after the
test. ``broker`` runs a test against both. :func:`running_mosquitto` takes extra
configuration lines (password files, ACLs) for tests of device authentication.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from dispatch.adapters.mqtt import embedded_broker
from dispatch.ports import MqttEndpoint
from tests.conftest import free_port

MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")


async def _wait_until_running(stderr: asyncio.StreamReader) -> None:
    """Read Mosquitto's log until it says it is running (it listens before saying so)."""
    async with asyncio.timeout(10):
        while True:
            line = await stderr.readline()
            if not line:
                msg = "mosquitto exited during start-up"
                raise RuntimeError(msg)
            if b" running" in line:
                return


@asynccontextmanager
async def running_mosquitto(
    workdir: Path, *, port: int | None = None, extra: str = ""
) -> AsyncIterator[MqttEndpoint]:
    """A Mosquitto process on loopback with ``extra`` configuration lines."""
    if MOSQUITTO is None:
        msg = "mosquitto is not installed: scripts/setup --test installs it"
        raise RuntimeError(msg)
    port = port or free_port()
    config = workdir / f"mosquitto-{port}.conf"
    anonymous = "false" if "password_file" in extra else "true"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous {anonymous}\npersistence false\n"
        f"log_dest stderr\nlog_type information\n{extra}\n"
    )
    process = await asyncio.create_subprocess_exec(
        MOSQUITTO,
        "-c",
        str(config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    endpoint = MqttEndpoint(host="127.0.0.1", port=port)
    drain: asyncio.Task[bytes] | None = None
    try:
        await _wait_until_running(process.stderr)
        # keep reading the log so the broker never blocks on a full pipe
        drain = asyncio.get_running_loop().create_task(process.stderr.read(), name="mosquitto-log")
        yield endpoint
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        if drain is not None:
            await drain


@pytest.fixture
async def mosquitto(tmp_path: Path) -> AsyncIterator[MqttEndpoint]:
    """A fresh Mosquitto broker."""
    async with running_mosquitto(tmp_path) as endpoint:
        yield endpoint


@pytest.fixture
async def amqtt_broker() -> AsyncIterator[MqttEndpoint]:
    """A fresh embedded amqtt broker (what ng112 runs by default)."""
    async with embedded_broker("127.0.0.1", free_port()) as endpoint:
        yield endpoint


@pytest.fixture(params=["amqtt", "mosquitto"])
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MqttEndpoint]:
    """Each test runs against the embedded broker and against Mosquitto."""
    if request.param == "amqtt":
        async with embedded_broker("127.0.0.1", free_port()) as endpoint:
            yield endpoint
    else:
        async with running_mosquitto(tmp_path) as endpoint:
            yield endpoint
