"""A helper process of the engine: a child interpreter speaking frames, started again if it dies.

The call fronts (:mod:`dispatch.app.call_front`) and the duplicate search
(:mod:`dispatch.app.duplicate_search`) run beside the loop as children talking over their
stdin and stdout in length-prefixed MessagePack frames (:func:`frame`). This module holds
what they share: the frames, and :class:`SupervisedChild`, which starts the child, hands
each frame it writes to :meth:`SupervisedChild.received`, and starts it again after a
pause when it exits, fails to start or writes a frame this side cannot read, until it is
stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

import msgspec

logger = logging.getLogger(__name__)

_FRAME = struct.Struct(">I")
#: A frame is one batch body (bounded by the HTTP body limit) or what a child answers.
MAX_FRAME = 64 * 2**20

_encode = msgspec.msgpack.Encoder().encode
decode = msgspec.msgpack.Decoder().decode


def frame(message: Any) -> bytes:
    """One message with its length in front."""
    payload = _encode(message)
    return _FRAME.pack(len(payload)) + payload


def read_frame(source: BinaryIO) -> Any | None:
    """The next message from a blocking stream (``None`` at its end)."""
    header = source.read(_FRAME.size)
    if len(header) < _FRAME.size:
        return None
    (size,) = _FRAME.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes exceeds {MAX_FRAME}")
    payload = source.read(size)
    if len(payload) < size:
        return None
    return decode(payload)


async def next_frame(reader: asyncio.StreamReader) -> Any | None:
    """The next message from an asyncio stream (``None`` at its end)."""
    try:
        (size,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
        if size > MAX_FRAME:
            raise ValueError(f"frame of {size} bytes exceeds {MAX_FRAME}")
        return decode(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        return None


class SupervisedChild:
    """One child process, started again when it dies until :meth:`stop`."""

    #: How long a dead child waits before it is started again.
    restart_after_s = 1.0

    def __init__(
        self, argv: Sequence[str], name: str, *, env: Mapping[str, str] | None = None
    ) -> None:
        self._argv = list(argv)
        self._env = dict(env) if env is not None else None
        self.name = name
        #: set once a child has exited (cleared when the next one starts)
        self.exited = asyncio.Event()
        self.started = 0
        #: times the child could not be started or spoke garbage (``failed`` set at each)
        self.failures = 0
        self.failed = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # -- what a kind of child does --------------------------------------------------------

    def received(self, message: Any) -> None:
        """A frame from the child."""
        raise NotImplementedError

    def ended(self) -> None:
        """The child is gone (before it is started again): forget what it was doing."""

    def greeting(self) -> Any | None:
        """The first frame each child is sent as it starts (``None``: none)."""
        return None

    # -- supervision ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The running child's process id."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def start(self) -> None:
        """Supervise the child in a task of the running loop."""
        self._task = asyncio.create_task(self.run(), name=f"ng112-{self.name}")

    async def run(self) -> None:
        """Start the child, read its frames; start it again when it ends."""
        while not self._stopping:
            try:
                await self._run_once()
            except (OSError, msgspec.DecodeError, ValueError):
                self.failures += 1
                self.failed.set()
                logger.exception("%s failed", self.name)
            if not self._stopping:
                logger.warning("%s exited; starting it again", self.name)
                await asyncio.sleep(self.restart_after_s)

    async def _run_once(self) -> None:
        process = await asyncio.create_subprocess_exec(
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=self._env,
        )
        self._process = process
        self.exited.clear()
        self.started += 1
        self._writer = process.stdin
        if (first := self.greeting()) is not None:
            self.send(first)
        assert process.stdout is not None  # noqa: S101 - PIPE above
        try:
            while (message := await next_frame(process.stdout)) is not None:
                self.received(message)
        finally:
            self._writer = None
            self.ended()
            if process.returncode is None:
                process.kill()
            await process.wait()
            self.exited.set()

    def send(self, message: Any) -> asyncio.StreamWriter | None:
        """Write a frame to the running child; its stream (to drain), or ``None`` if none runs."""
        writer = self._writer
        if writer is None or writer.is_closing():
            return None
        writer.write(frame(message))
        return writer

    def buffered_bytes(self) -> int:
        """Bytes written for the child that its pipe has not taken yet (0 if none runs)."""
        writer = self._writer
        return writer.transport.get_write_buffer_size() if writer is not None else 0

    def kill(self) -> None:
        """Kill the running child (it is started again)."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()

    async def stop(self) -> None:
        """Close the child's input and let it end (killed after 5 s); stop supervising."""
        self._stopping = True
        writer, process = self._writer, self._process
        if writer is not None:
            writer.close()
        if process is not None and process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


__all__ = ["MAX_FRAME", "SupervisedChild", "decode", "frame", "next_frame", "read_frame"]
