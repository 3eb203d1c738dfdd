"""``ng112 events tail``: print the live stream as JSON lines."""

from __future__ import annotations

import sys

import websockets


async def tail(url: str, *, since: int | None, token: str | None, count: int | None) -> int:
    """Print each stream message on its own line until ``count`` events or the server closes."""
    if since is not None:
        url = f"{url}{'&' if '?' in url else '?'}since={since}"
    headers = {"Authorization": f"Bearer {token}"} if token else None
    seen = 0
    async with websockets.connect(url, additional_headers=headers, max_size=2**24) as ws:
        async for message in ws:
            text = message if isinstance(message, str) else message.decode()
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
            if text.startswith('{"type":"event"'):
                seen += 1
                if count is not None and seen >= count:
                    break
    return 0
