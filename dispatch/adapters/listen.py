"""The engine could not take an address it was told to listen on."""

from __future__ import annotations

import os


class ListenError(Exception):
    """A listening address (HTTP or the embedded MQTT broker) is taken or refused.

    The message names what was to listen, where, and why, in one line an operator can
    act on (``ng112 serve`` prints it instead of a traceback and exits 2).
    """

    def __init__(self, what: str, host: str, port: int, reason: str) -> None:
        super().__init__(f"{what} cannot listen on {host}:{port}: {reason}")
        self.what = what
        self.host = host
        self.port = port
        self.reason = reason


def reason_of(exc: BaseException) -> str:
    """The operating system's words for a failed bind, without Python's decoration."""
    while exc.__cause__ is not None and not isinstance(exc, OSError):
        exc = exc.__cause__
    if isinstance(exc, OSError) and exc.errno:
        # asyncio words its own strerror ("error while attempting to bind on ..."); the
        # number says it plainly
        return os.strerror(exc.errno).lower()
    return str(exc)
