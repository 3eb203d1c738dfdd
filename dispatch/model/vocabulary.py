"""The words every ng112 package shares: channels, agencies, priorities, statuses, roles.

These are wire and database values (``StrEnum``), so renaming a member's value is a
schema change; add members freely.
"""

from __future__ import annotations

import enum
from typing import Self


class Channel(enum.StrEnum):
    """How a person or a vehicle reached 112."""

    PHONE = "phone"
    ECALL = "ecall"
    TEXT = "text"
    SIGN_VIDEO = "sign_video"
    PANIC_APP = "panic_app"


class Agency(enum.StrEnum):
    """The seven agencies gathered under 112, each with the number callers still dial."""

    HEALTH = "health"
    POLICE = "police"
    GENDARMERIE = "gendarmerie"
    FIRE = "fire"
    FOREST = "forest"
    COAST_GUARD = "coast_guard"
    AFAD = "afad"

    @property
    def legacy_number(self) -> str:
        """The agency's old emergency number (112 for health)."""
        return _LEGACY_NUMBERS[self]

    @classmethod
    def from_dialled(cls, dialled: str) -> Self | None:
        """The agency whose legacy number was dialled; ``None`` for 112 itself or others.

        112 is the common number (and health's own), so it says nothing about the agency.
        """
        for agency, number in _LEGACY_NUMBERS.items():
            if number == dialled and number != "112":
                return cls(agency)
        return None


_LEGACY_NUMBERS: dict[Agency, str] = {
    Agency.HEALTH: "112",
    Agency.POLICE: "155",
    Agency.GENDARMERIE: "156",
    Agency.FIRE: "110",
    Agency.FOREST: "177",
    Agency.COAST_GUARD: "178",
    Agency.AFAD: "122",
}

#: Every number a caller may dial and still reach a 112 call-taker.
EMERGENCY_NUMBERS: frozenset[str] = frozenset(_LEGACY_NUMBERS.values())


class Priority(enum.IntEnum):
    """Urgency of an incident; 1 is the most urgent."""

    IMMEDIATE = 1
    URGENT = 2
    PROMPT = 3
    ROUTINE = 4


class IncidentStatus(enum.StrEnum):
    """Where an incident is in its lifecycle (see ``dispatch.core.lifecycle``)."""

    NEW = "new"
    CLASSIFIED = "classified"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MERGED = "merged"
    UNFOUNDED = "unfounded"

    @property
    def is_open(self) -> bool:
        """Whether the incident still needs attention."""
        return self not in _TERMINAL_STATUSES


_TERMINAL_STATUSES = frozenset(
    {
        IncidentStatus.CLOSED,
        IncidentStatus.CANCELLED,
        IncidentStatus.MERGED,
        IncidentStatus.UNFOUNDED,
    }
)


class CallStatus(enum.StrEnum):
    """Where a call is, from the gateway's offer to its end."""

    OFFERED = "offered"
    QUEUED = "queued"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    ENDED = "ended"


class UnfoundedReason(enum.StrEnum):
    """Why a call needed no response: most calls to 112 are one of these."""

    POCKET_DIAL = "pocket_dial"
    PRANK = "prank"
    INFORMATION_REQUEST = "information_request"
    SILENT = "silent"
    HUNG_UP = "hung_up"
    TEST = "test"


class UnitStatus(enum.StrEnum):
    """What a unit reports about itself."""

    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    AT_HOSPITAL = "at_hospital"
    OUT_OF_SERVICE = "out_of_service"


class UnitKind(enum.StrEnum):
    """The kind of vehicle or team a unit is."""

    AMBULANCE = "ambulance"
    PATROL_CAR = "patrol_car"
    GENDARMERIE_TEAM = "gendarmerie_team"
    FIRE_ENGINE = "fire_engine"
    AFAD_TEAM = "afad_team"
    FOREST_TEAM = "forest_team"
    BOAT = "boat"


class Ground(enum.StrEnum):
    """Whose ground a place is: police in towns, gendarmerie elsewhere, coast guard at sea."""

    POLICE = "police"
    GENDARMERIE = "gendarmerie"
    COAST_GUARD = "coast_guard"


class Role(enum.StrEnum):
    """What a principal is allowed to do."""

    CALL_TAKER = "call_taker"
    LANGUAGE_DESK_OPERATOR = "language_desk_operator"
    SIGN_LANGUAGE_OPERATOR = "sign_language_operator"
    AGENCY_DISPATCHER = "agency_dispatcher"
    PROVINCIAL_COORDINATOR = "provincial_coordinator"
    CENTRAL_COORDINATOR = "central_coordinator"
    ADMINISTRATOR = "administrator"
    DEVICE = "device"
