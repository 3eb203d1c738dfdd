"""HTTP request bodies: pydantic at the edge, ``extra="forbid"``, precise limits.

Each body model turns into a domain command with ``to_command``; nothing past this
module sees pydantic.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dispatch.core.decide import Action, IncidentAction, ReceiveCall
from dispatch.model.ids import IncidentId
from dispatch.model.values import Caller, Location
from dispatch.model.vocabulary import Agency, Channel, Priority, UnfoundedReason

MAX_TEXT = 4000
_STRICT = ConfigDict(extra="forbid", frozen=True)
_PHONE = r"^\+?[0-9]{2,20}$"
_REQUEST_ID = r"^[A-Za-z0-9._:\-]{1,128}$"


class LocationIn(BaseModel):
    """A position given with a call."""

    model_config = _STRICT

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    radius_m: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)

    def to_location(self, source: str) -> Location:
        """The domain value."""
        return Location(lat=self.lat, lon=self.lon, radius_m=self.radius_m, source=source)


class CallerIn(BaseModel):
    """Who is calling."""

    model_config = _STRICT

    number: str | None = Field(default=None, pattern=_PHONE)
    name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")


class CallIn(BaseModel):
    """``POST /api/v1/calls``: the generic intake of a call from any channel."""

    model_config = _STRICT

    channel: Channel
    caller: CallerIn | None = None
    dialled: str = Field(default="112", pattern=r"^(112|110|155|156|177|178|122)$")
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    location: LocationIn | None = None
    client_request_id: str | None = Field(default=None, pattern=_REQUEST_ID)

    def to_command(self) -> ReceiveCall:
        """The domain command."""
        caller = self.caller or CallerIn()
        return ReceiveCall(
            channel=self.channel,
            caller=Caller(number=caller.number, name=caller.name, language=caller.language),
            dialled=self.dialled,
            text=self.text,
            location=self.location.to_location(self.channel.value) if self.location else None,
            client_request_id=self.client_request_id,
        )


MAX_BATCH = 500


class CallBatchIn(BaseModel):
    """``POST /api/v1/calls/batch``: a gateway's calls, committed together.

    Validation is all or nothing: one bad call refuses the batch (the reason names its
    index, e.g. ``calls.3.location.lat``) and nothing is written.
    """

    model_config = _STRICT

    calls: list[CallIn] = Field(min_length=1, max_length=MAX_BATCH)


class ActionIn(BaseModel):
    """``POST /api/v1/incidents/{id}/actions``: an operator's transition."""

    model_config = _STRICT

    action: Action
    reason: str | None = Field(default=None, max_length=MAX_TEXT)
    into: str | None = Field(default=None, max_length=64)
    unfounded_reason: UnfoundedReason | None = None
    incident_type: str | None = Field(default=None, pattern=r"^[a-z_.]{2,64}$")
    priority: Priority | None = None
    agencies: tuple[Agency, ...] = ()
    suggested_type: str | None = Field(default=None, pattern=r"^[a-z_.]{2,64}$")
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    location: LocationIn | None = None
    client_request_id: str | None = Field(default=None, pattern=_REQUEST_ID)

    def to_command(self, actor: str) -> IncidentAction:
        """The domain command."""
        return IncidentAction(
            action=self.action,
            actor=actor,
            reason=self.reason,
            into=IncidentId(self.into) if self.into else None,
            unfounded_reason=self.unfounded_reason,
            incident_type=self.incident_type,
            priority=self.priority,
            agencies=self.agencies,
            suggested_type=self.suggested_type,
            text=self.text,
            location=self.location.to_location("operator_pin") if self.location else None,
            client_request_id=self.client_request_id,
        )
