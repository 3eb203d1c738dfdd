"""Per-number token buckets that contain floods from one number (pure; time is an input).

Each key (a normalised phone number, a device id) has a bucket of `burst` tokens refilled at
`per_s` tokens a second; a request takes one token or is refused with the time until the next
token. Time is monotonic seconds passed in by the caller, never read here. The table is
bounded: beyond `max_keys` the least recently used key is forgotten, which only ever gives a
flooder a fresh bucket (a full one), never takes tokens from anybody else.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from intake.errors import FloodLimited

__all__ = ["TokenBuckets"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """Token buckets per key; see the module docstring."""

    def __init__(self, *, burst: float, per_s: float, max_keys: int) -> None:
        if burst < 1 or per_s <= 0 or max_keys < 1:
            raise ValueError("burst must be >= 1, per_s > 0 and max_keys >= 1")
        self.burst = burst
        self.per_s = per_s
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.refused = 0
        """How many requests were refused since start (a counter for metrics)."""

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, now: float) -> None:
        """Take one token for `key` at `now`, or raise `FloodLimited` with the wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=self.burst, at=now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.per_s)
            bucket.at = max(bucket.at, now)
        if bucket.tokens < 1.0:
            self.refused += 1
            raise FloodLimited(
                "too many requests from this number: wait before sending again",
                retry_after_s=(1.0 - bucket.tokens) / self.per_s,
            )
        bucket.tokens -= 1.0
