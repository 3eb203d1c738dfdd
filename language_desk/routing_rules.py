"""Where a call goes by language, and how the central desk hands a case back (pure rules).

Turkish calls are answered by the province's own centre. A call in another language, from
any province, goes to the central desk in Ankara: to the queue of its language if the desk
serves it (``desk_languages``, a setting: English, German, Arabic and Russian by default),
otherwise to the desk's fallback queue (``fallback_order``, English first) with the
visible reason "no operator speaks X". The desk operator takes incident and address, then
:func:`hand_back` returns the case to the province of the incident as a structured case,
with the caller still attached (the desk operator stays on the line as interpreter) and
the original answer clock (``offered_at`` of the first offer).

The province of the call is carried by every decision (``province_centre``), so whatever
the desk does, the call's province is never lost.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dispatch.model.centres import CENTRAL_DESK, is_known_centre, provincial_centre
from language_desk.detection import UNDETERMINED, check_language_code
from language_desk.errors import IncompleteCase, InvalidDeskSettings

if TYPE_CHECKING:
    from collections.abc import Collection
    from datetime import datetime

    from dispatch.model.ids import CallId, CentreId, IncidentId, OperatorId
    from language_desk.detection import LanguageVerdict


class Destination(enum.StrEnum):
    """Which kind of queue a call goes to."""

    PROVINCE = "province"
    """The province's own centre, in the home language."""
    DESK = "desk"
    """The central desk's queue for the caller's language."""
    DESK_FALLBACK = "desk_fallback"
    """The central desk's fallback queue: nobody there speaks the caller's language."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskSettings:
    """What the central desk serves; settings, not code."""

    desk_languages: tuple[str, ...] = ("en", "de", "ar", "ru")
    fallback_order: tuple[str, ...] = ("en",)
    home_language: str = "tr"

    def __post_init__(self) -> None:
        for code in (*self.desk_languages, *self.fallback_order, self.home_language):
            check_language_code(code, "desk setting")
        if not self.fallback_order:
            raise InvalidDeskSettings("fallback_order needs at least one language")
        if not set(self.fallback_order) <= set(self.desk_languages):
            raise InvalidDeskSettings("every fallback language must be a desk language")
        if self.home_language in self.desk_languages:
            raise InvalidDeskSettings("the home language is served by the provinces")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskRoute:
    """Where a call goes: centre, queue language, and the province it belongs to."""

    destination: Destination
    centre: CentreId
    queue_language: str
    """The language of the queue the call waits in (the fallback's, if one is needed)."""
    language: str
    """The caller's language (``"und"`` if unknown)."""
    province_centre: CentreId
    reason: str | None = None
    """Why the call waits for someone who does not speak its language, if it does."""


def route_call(
    verdict: LanguageVerdict,
    *,
    province_centre: CentreId,
    settings: DeskSettings | None = None,
    desk_on_shift: Collection[str] | None = None,
) -> DeskRoute:
    """Route a call by its language verdict (see the module docstring).

    ``desk_on_shift`` (optional) is the set of languages spoken by desk operators on
    shift; with it, a desk language nobody on shift speaks also goes to the fallback queue,
    and the fallback is the first of ``fallback_order`` someone on shift speaks.
    """
    settings = settings if settings is not None else DeskSettings()
    if not is_known_centre(province_centre) or province_centre == CENTRAL_DESK:
        raise InvalidDeskSettings("province_centre must be a provincial centre (01..81)")
    language = verdict.language
    if language == settings.home_language:
        return DeskRoute(
            destination=Destination.PROVINCE,
            centre=province_centre,
            queue_language=language,
            language=language,
            province_centre=province_centre,
        )
    spoken = set(desk_on_shift) if desk_on_shift is not None else None
    served = language in settings.desk_languages and (spoken is None or language in spoken)
    if served:
        return DeskRoute(
            destination=Destination.DESK,
            centre=CENTRAL_DESK,
            queue_language=language,
            language=language,
            province_centre=province_centre,
        )
    fallback = next(
        (code for code in settings.fallback_order if spoken is None or code in spoken),
        settings.fallback_order[0],
    )
    if language == UNDETERMINED:
        reason = f"language not determined; waiting for {fallback}"
    elif language not in settings.desk_languages:
        reason = f"no operator speaks {language}; waiting for {fallback}"
    else:
        reason = f"no operator on shift speaks {language}; waiting for {fallback}"
    return DeskRoute(
        destination=Destination.DESK_FALLBACK,
        centre=CENTRAL_DESK,
        queue_language=fallback,
        language=language,
        province_centre=province_centre,
        reason=reason,
    )


def moves(previous: DeskRoute, current: DeskRoute) -> bool:
    """Whether a new verdict moves the call to another centre or queue (e.g. a correction)."""
    return (previous.centre, previous.queue_language) != (current.centre, current.queue_language)


@dataclass(frozen=True, slots=True, kw_only=True)
class HandBackCase:
    """A case the central desk returns to the province of the incident."""

    call_id: CallId
    incident_id: IncidentId
    from_centre: CentreId
    to_centre: CentreId
    language: str
    interpreter: OperatorId
    """The desk operator, who stays on the line: the caller is still attached."""
    caller_attached: bool
    address: str
    offered_at: datetime
    """When the call was first offered: the answer clock does not restart."""
    answered_at: datetime
    handed_back_at: datetime
    reason: str


def hand_back(
    *,
    call_id: CallId,
    incident_id: IncidentId,
    incident_plate: int | None,
    province_centre: CentreId,
    language: str,
    desk_operator: OperatorId,
    address: str,
    offered_at: datetime,
    answered_at: datetime,
    handed_back_at: datetime,
    caller_attached: bool = True,
) -> HandBackCase:
    """The case to hand to the province of the incident, with the caller and the clock.

    ``incident_plate`` is the plate code of the incident's province (from its location);
    with no location yet the case goes to the caller's ``province_centre``. Raises
    :class:`IncompleteCase` when the incident or the address is missing or the times are
    naive or out of order.
    """
    if not incident_id:
        raise IncompleteCase("the desk has not opened an incident yet")
    if not address.strip():
        raise IncompleteCase("the desk has not taken an address yet")
    times = (offered_at, answered_at, handed_back_at)
    if any(t.tzinfo is None for t in times):
        raise IncompleteCase("hand-back times must be aware datetimes")
    if not offered_at <= answered_at <= handed_back_at:
        raise IncompleteCase("offer, answer and hand-back times are out of order")
    check_language_code(language, "case language")
    if incident_plate is None:
        to_centre = province_centre
        reason = "incident location unknown: the caller's province"
    else:
        try:
            to_centre = provincial_centre(incident_plate)
        except ValueError:
            raise IncompleteCase("the incident's plate code must be 1..81") from None
        reason = "province of the incident"
    return HandBackCase(
        call_id=call_id,
        incident_id=incident_id,
        from_centre=CENTRAL_DESK,
        to_centre=to_centre,
        language=language,
        interpreter=desk_operator,
        caller_attached=caller_attached,
        address=address.strip(),
        offered_at=offered_at,
        answered_at=answered_at,
        handed_back_at=handed_back_at,
        reason=reason,
    )
