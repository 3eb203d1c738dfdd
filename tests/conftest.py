"""Shared fixtures and hygiene for every test.

- ``database``: the same tests run on SQLite and, when ``NG112_TEST_PG_URL`` is set (the
  README's test command always sets it), on PostgreSQL with a schema of their own.
- Hygiene: a test fails if it leaves tasks running, or opens a socket to anything but
  loopback or a local Unix socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings

# CI explores a fixed sequence of examples (a red build is reproducible); developers'
# runs stay random and keep finding new cases.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@dataclass(frozen=True)
class Database:
    """Where a test's event log lives."""

    url: str
    schema: str | None = None

    @property
    def kind(self) -> str:
        return "postgresql" if self.url.startswith("postgres") else "sqlite"


def _database_params() -> list[str]:
    kinds = ["sqlite"]
    if os.environ.get("NG112_TEST_PG_URL"):
        kinds.append("postgresql")
    elif os.environ.get("CI"):
        msg = "CI must run the suite on PostgreSQL too: set NG112_TEST_PG_URL (scripts/test does)"
        raise RuntimeError(msg)
    return kinds


async def _pg_schema(url: str, name: str, *, drop: bool) -> None:
    conn = await asyncpg.connect(url)
    try:
        if drop:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        else:
            await conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await conn.close()


@pytest.fixture(params=_database_params())
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty event-log database: SQLite in a temporary directory, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield Database(url=f"sqlite+aiosqlite:///{tmp_path}/ng112.db")
        return
    url = os.environ["NG112_TEST_PG_URL"]
    schema = f"t_{uuid.uuid4().hex[:16]}"
    await _pg_schema(url, schema, drop=False)
    try:
        yield Database(url=url, schema=schema)
    finally:
        await _pg_schema(url, schema, drop=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every coroutine test gets the lingering-task check."""
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and asyncio.iscoroutinefunction(function):
            item.fixturenames.insert(0, "no_lingering_tasks")  # type: ignore[attr-defined]


@pytest.fixture
async def no_lingering_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running behind it."""
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()
    lingering = [
        task
        for task in asyncio.all_tasks()
        if task is not current and task not in before and not task.done()
    ]
    for task in lingering:
        task.cancel()
    if lingering:
        await asyncio.gather(*lingering, return_exceptions=True)
    assert not lingering, f"tasks left running: {[t.get_name() for t in lingering]}"


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        ip = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        if host == "localhost":
            return
        raise AssertionError(f"tests may only connect by address, not to {host!r}") from None
    if not ip.is_loopback:
        raise AssertionError(f"tests may only connect to loopback, not {ip}")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any connection that leaves this machine's loopback."""

    def connect(self: socket.socket, address: object) -> None:
        _check_address(self, address)
        _real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        _check_address(self, address)
        return _real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different free loopback ports.

    Each socket stays bound until all are chosen: two separate :func:`free_port` calls
    may be handed the same port, and a process told to listen on both then fails.
    """
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
