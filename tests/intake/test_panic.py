"""Tests of intake.panic: an alarm is a priority-1 domestic-violence call for its ground."""

from __future__ import annotations

import pytest

from dispatch.model import Agency, Channel, Ground, Location, Placement, Priority
from intake.panic import agencies_for, alarm_command, position_key


@pytest.mark.parametrize(
    ("ground", "agency"),
    [
        (Ground.POLICE, Agency.POLICE),
        (Ground.GENDARMERIE, Agency.GENDARMERIE),
        (Ground.COAST_GUARD, Agency.COAST_GUARD),
        (None, Agency.POLICE),
    ],
)
def test_agency_by_ground(ground: Ground | None, agency: Agency) -> None:
    """Police in town, gendarmerie outside, coast guard at sea; police when unknown."""
    placement = Placement(in_service_area=True, at_sea=False, plate=6, ground=ground)
    assert agencies_for(placement) == (agency,)
    assert agencies_for(None) == (Agency.POLICE,)


def test_alarm_command() -> None:
    """The command is idempotent per device and alarm and carries priority and type."""
    command = alarm_command(
        device_id="dev-1",
        alarm_id="a1",
        number="+905321234567",
        position=Location(lat=39.0, lon=34.0, radius_m=10, source="app"),
        placement=Placement(in_service_area=True, at_sea=False, ground=Ground.GENDARMERIE),
    )
    assert command.channel is Channel.PANIC_APP
    assert command.priority is Priority.IMMEDIATE
    assert command.incident_type == "domestic_violence"
    assert command.agencies == (Agency.GENDARMERIE,)
    assert command.idempotency_key == "call:panic:dev-1:a1"
    assert position_key("call-1", "p1") == "panic-position:call-1:p1"
