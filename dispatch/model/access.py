"""Who is asking: principals with a role and a scope, and what each may see and do.

Every request, stream and command carries a :class:`Principal`. Handlers ask the
principal, never a global; how a principal was authenticated is the edge's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.model.ids import CentreId
from dispatch.model.vocabulary import Agency, Role

_SEES_EVERY_PROVINCE = frozenset(
    {Role.CENTRAL_COORDINATOR, Role.ADMINISTRATOR, Role.LANGUAGE_DESK_OPERATOR}
)
_SEES_CALLER_DATA = frozenset(
    {
        Role.CALL_TAKER,
        Role.LANGUAGE_DESK_OPERATOR,
        Role.SIGN_LANGUAGE_OPERATOR,
        Role.AGENCY_DISPATCHER,
        Role.ADMINISTRATOR,
    }
)
_TAKES_CALLS = frozenset(
    {
        Role.CALL_TAKER,
        Role.LANGUAGE_DESK_OPERATOR,
        Role.SIGN_LANGUAGE_OPERATOR,
        Role.ADMINISTRATOR,
    }
)
_ACTS_ON_INCIDENTS = _TAKES_CALLS | {Role.AGENCY_DISPATCHER}
_INGESTS = frozenset({Role.DEVICE, Role.ADMINISTRATOR, Role.CALL_TAKER})


class AccessDenied(Exception):  # noqa: N818 - the domain's name for a refusal
    """The principal may not do this; the message says which rule refused it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """An authenticated user or device, with its role and scope.

    ``province`` ``None`` means every province (only for roles that see the whole
    country); ``agency`` ``None`` means every agency.
    """

    subject: str
    role: Role
    centre: CentreId | None = None
    province: int | None = None
    agency: Agency | None = None

    def sees_province(self, plate: int | None) -> bool:
        """Whether this principal may see a case located in province ``plate``."""
        if self.sees_every_province:
            return True
        return plate == self.province

    @property
    def sees_every_province(self) -> bool:
        """Whether this principal's reach is the whole country."""
        return self.role in _SEES_EVERY_PROVINCE or self.province is None

    @property
    def sees_caller_data(self) -> bool:
        """Whether caller names, numbers and text are shown to this principal."""
        return self.role in _SEES_CALLER_DATA

    def require_ingest(self) -> None:
        """Refuse unless this principal may submit calls."""
        if self.role not in _INGESTS:
            raise AccessDenied(f"role {self.role} may not submit calls")

    def require_incident_action(self, plate: int | None) -> None:
        """Refuse unless this principal may act on an incident located in ``plate``."""
        if self.role not in _ACTS_ON_INCIDENTS:
            raise AccessDenied(f"role {self.role} may not act on incidents")
        if not self.sees_province(plate):
            raise AccessDenied("the incident is outside the principal's province")

    def require_read(self, plate: int | None) -> None:
        """Refuse unless this principal may read a case located in ``plate``."""
        if self.role is Role.DEVICE:
            raise AccessDenied("devices may not read cases")
        if not self.sees_province(plate):
            raise AccessDenied("the case is outside the principal's province")


#: What embedded (development) mode grants when no credentials are configured.
DEVELOPMENT_PRINCIPAL = Principal(subject="development", role=Role.ADMINISTRATOR)
