"""The units' MQTT topics: built and parsed here only.

Every unit has a subtree of its own, ``{prefix}/{unit_id}/...``, which the broker's ACL
lets only that unit's login use (``ng112 units broker-config``):

- ``status`` (unit → ng112): ``{"status", "incident_id"?, "lat"?, "lon"?, "at", "msg_id"}``
- ``avl`` (unit → ng112): ``{"lat", "lon", "radius_m"?, "at", "msg_id"}``
- ``orders`` (ng112 → unit): ``{"order_id", "incident": {...}, "location"?}``
- ``orders/ack`` (unit → ng112): ``{"order_id", "msg_id"}``
- ``ack`` (ng112 → unit): the application acknowledgement after commit, ``{"msg_id", "result"}``
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

DEFAULT_PREFIX = "ng112/units"

#: What a unit id may look like: safe in a topic level and in a broker login.
UNIT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,63}$"
_UNIT_ID = re.compile(UNIT_ID_PATTERN)


class Inbound(enum.StrEnum):
    """What a unit publishes."""

    STATUS = "status"
    AVL = "avl"
    ORDER_ACK = "orders/ack"


def valid_unit_id(unit_id: str) -> bool:
    """Whether a unit id can name a topic level and a broker login."""
    return _UNIT_ID.fullmatch(unit_id) is not None


@dataclass(frozen=True, slots=True)
class UnitTopics:
    """Topic names under one prefix."""

    prefix: str = DEFAULT_PREFIX

    def status(self, unit_id: str) -> str:
        """Where a unit reports its status."""
        return f"{self.prefix}/{unit_id}/status"

    def avl(self, unit_id: str) -> str:
        """Where a unit reports its position."""
        return f"{self.prefix}/{unit_id}/avl"

    def orders(self, unit_id: str) -> str:
        """Where ng112 sends a unit its orders."""
        return f"{self.prefix}/{unit_id}/orders"

    def order_ack(self, unit_id: str) -> str:
        """Where a unit acknowledges an order."""
        return f"{self.prefix}/{unit_id}/orders/ack"

    def ack(self, unit_id: str) -> str:
        """Where ng112 acknowledges a unit's status and AVL messages after commit."""
        return f"{self.prefix}/{unit_id}/ack"

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """What ng112 subscribes to: every unit's inbound topics."""
        return tuple(f"{self.prefix}/+/{kind.value}" for kind in Inbound)

    def parse(self, topic: str) -> tuple[str, Inbound] | None:
        """``(unit_id, kind)`` of an inbound topic, or ``None`` for anything else."""
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return None
        unit_id, _, rest = topic[len(head) :].partition("/")
        if not valid_unit_id(unit_id):
            return None
        try:
            return unit_id, Inbound(rest)
        except ValueError:
            return None

    def acl_patterns(self) -> list[str]:
        """Mosquitto ACL ``pattern`` lines: each login may use only its own subtree."""
        own = f"{self.prefix}/%u"
        return [
            f"pattern write {own}/status",
            f"pattern write {own}/avl",
            f"pattern write {own}/orders/ack",
            f"pattern read {own}/orders",
            f"pattern read {own}/ack",
        ]

    def server_acl(self) -> str:
        """The ACL topic line for ng112's own login: every unit's subtree."""
        return f"topic readwrite {self.prefix}/#"
