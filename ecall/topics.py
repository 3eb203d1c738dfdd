"""MQTT topics of the eCall gateway: the only place they are built or parsed.

A vehicle (or its telematics gateway) publishes the binary MSD to
``{prefix}/{vin}/msd`` at QoS 1 and reads ng112's application acknowledgement on
``{prefix}/{vin}/ack``. The default prefix is ``ng112/ecall``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EcallTopics"]

_MSD = "msd"
_ACK = "ack"


@dataclass(frozen=True, slots=True)
class EcallTopics:
    """Topic names under one prefix (``EcallSettings.topic_prefix``)."""

    prefix: str = "ng112/ecall"

    @property
    def msd_subscription(self) -> str:
        """The filter the gateway subscribes to: every vehicle's MSD topic."""
        return f"{self.prefix}/+/{_MSD}"

    @property
    def ack_subscription(self) -> str:
        """The filter a fleet of simulated vehicles reads acknowledgements from."""
        return f"{self.prefix}/+/{_ACK}"

    def msd(self, vin: str) -> str:
        """Where the vehicle ``vin`` publishes its MSD."""
        return f"{self.prefix}/{vin}/{_MSD}"

    def ack(self, vin: str) -> str:
        """Where ng112 answers the vehicle ``vin``."""
        return f"{self.prefix}/{vin}/{_ACK}"

    def _vin_of(self, topic: str, leaf: str) -> str | None:
        head = f"{self.prefix}/"
        tail = f"/{leaf}"
        if not (topic.startswith(head) and topic.endswith(tail)):
            return None
        vin = topic[len(head) : len(topic) - len(tail)]
        if not vin or "/" in vin:
            return None
        return vin

    def vin_of_msd(self, topic: str) -> str | None:
        """The VIN level of an MSD topic, or None when ``topic`` is not one."""
        return self._vin_of(topic, _MSD)

    def vin_of_ack(self, topic: str) -> str | None:
        """The VIN level of an ack topic, or None when ``topic`` is not one."""
        return self._vin_of(topic, _ACK)
