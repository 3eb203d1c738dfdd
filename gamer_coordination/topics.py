"""GAMER's MQTT topics for information pushed to units: built and parsed here only.

They live in each unit's own subtree (``ng112/units/{unit_id}/...``, the prefix of
``dispatch.units_topics``), so the broker ACL that lets a unit use only its subtree covers
them too:

- ``info`` (ng112 → unit): ``{"message_id", "text", "incident_id"?, "sent_at", "from"}``
- ``info/ack`` (unit → ng112): ``{"message_id"}``, the application acknowledgement, sent
  when the crew's device has shown the message; ng112 republishes until it arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PREFIX = "ng112/units"
_UNIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,63}$")


@dataclass(frozen=True, slots=True)
class InfoTopics:
    """Topic names under one prefix."""

    prefix: str = DEFAULT_PREFIX

    def info(self, unit_id: str) -> str:
        """Where a unit receives information pushed to it."""
        return f"{self.prefix}/{unit_id}/info"

    def ack(self, unit_id: str) -> str:
        """Where a unit acknowledges it."""
        return f"{self.prefix}/{unit_id}/info/ack"

    @property
    def ack_subscription(self) -> str:
        """Every unit's acknowledgements."""
        return f"{self.prefix}/+/info/ack"

    def unit_of_ack(self, topic: str) -> str | None:
        """The unit id of an acknowledgement topic, ``None`` for anything else."""
        head, tail = f"{self.prefix}/", "/info/ack"
        if not (topic.startswith(head) and topic.endswith(tail)):
            return None
        unit_id = topic[len(head) : -len(tail)]
        return unit_id if _UNIT_ID.fullmatch(unit_id) else None
