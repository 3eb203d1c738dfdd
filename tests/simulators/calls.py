"""Simulated calls for the driver tests: a call as the simulator makes it, posted for real.

``phone_call`` builds a :class:`~simulators.traffic.CallSpec` with the simulated gateway's
request id (``sim:<name>``); ``offer`` posts it to the engine under test as the simulator
does (``POST /api/v1/calls``) and returns the engine's acknowledgement as an ``Ack``.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from typing import Any

from simulators.drivers import Ack
from simulators.geography import Position
from simulators.traffic import GATEWAY, CallSpec, Disposition
from tests.dispatch.call_taking_fakes import Client
from tests.dispatch.test_units_support import post


def phone_call(
    name: str,
    *,
    lat: float,
    lon: float,
    plate: int,
    disposition: Disposition = Disposition.LEGITIMATE,
    **changes: Any,
) -> CallSpec:
    """A phone call from ``lat``/``lon`` that the gateway knows as ``name``."""
    spec = CallSpec(
        client_request_id=f"{GATEWAY}:{name}",
        at_s=0.0,
        channel="phone",
        dialled="112",
        text=None if disposition is Disposition.HUNG_UP else "yaşlı adam fenalaştı",
        caller_number=f"+90532{zlib.crc32(name.encode()) % 10_000_000:07d}",
        location=Position(lat=lat, lon=lon, radius_m=20.0),
        plate=plate,
        disposition=disposition,
        agency="health" if disposition is Disposition.LEGITIMATE else None,
        incident_type=(
            "medical.breathing_problem" if disposition is Disposition.LEGITIMATE else None
        ),
        language="tr",
        unfounded_reason="hung_up" if disposition is Disposition.HUNG_UP else None,
    )
    return replace(spec, **changes)


async def offer(client: Client, spec: CallSpec) -> Ack:
    """Post the call to the engine; its acknowledgement."""
    answer = await post(client, "/api/v1/calls", spec.body(), 202)
    return Ack(
        call_id=answer["call_id"],
        incident_id=answer["incident_id"],
        seq=answer["seq"],
        sent_at=0.0,
        acked_at=0.0,
        attempts=1,
    )
