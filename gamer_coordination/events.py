"""Events GAMER coordination records: information pushed to units and their receipts.

Both carry ``incident_id`` when the push concerns an incident, so they join its timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.model.events import Event, event_type
from dispatch.model.ids import IncidentId, UnitId

__all__ = ["UnitInfoAcknowledged", "UnitInfoSent"]


@event_type("gamer_unit_info_sent")
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitInfoSent(Event):
    """A coordinator sent information or an instruction to units (an incident's, an area's)."""

    message_id: str
    unit_ids: tuple[UnitId, ...]
    text: str
    actor: str
    incident_id: IncidentId | None = None
    area: str | None = None

    @property
    def subject(self) -> str | None:
        return self.incident_id or self.message_id


@event_type("gamer_unit_info_acknowledged")
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitInfoAcknowledged(Event):
    """A unit's device acknowledged a pushed message (it was shown to the crew)."""

    message_id: str
    unit_id: UnitId
    incident_id: IncidentId | None = None

    @property
    def subject(self) -> str | None:
        return self.incident_id or self.message_id
