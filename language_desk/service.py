"""The language desk in the running engine: each call's language, its route, the hand-back.

:class:`LanguageDeskService` follows the committed log (``engine.subscribe``; the whole log
at start, so it survives restarts) and, for every call, gathers the language hints:

- ``CallReceived``: the caller's text; the caller's choice in the app (``caller.language``
  or ``details["caller_language"]``); the IVR digit (``details["ivr_digit"]``); the SIM's
  home network (``details["home_mcc"]``, three digits). Intake has no AML event of its own
  yet, so the MCC travels in the call's details; any later event that names a
  ``call_id`` and carries a ``home_mcc`` string is read the same way;
- ``LanguageFlagged``: a call-taker's flag or correction.

Each new hint queues the call for (re)detection. A worker task (owned by the package's
lifespan) runs :func:`~language_desk.detection.detect_language` and commits
``LanguageDetected`` with every piece of evidence and, when the call must move,
``CallRoutedToDesk`` (a language other than Turkish: the central desk's queue for it, or
the fallback with the reason) or ``CallRoutedToProvince`` (a correction). Call-taking in
``dispatch`` reacts to those events; this package never touches its queues.

The desk operator's hand-back (:meth:`LanguageDeskService.hand_back`) returns the case to
the province of the incident with the caller attached and the original answer clock.

Bounds: at most ``max_pending`` calls wait for detection (more are counted and stay with
their province in Turkish, where a call-taker can flag them) and ``max_calls`` calls are
remembered (the oldest forgotten first). The calls of an archived incident
(``IncidentArchived``) are forgotten when it is folded, so the desk holds the live calls
only; later events about them are ignored and a hand-back of one is refused as for an
unknown call. The service is a snapshot participant (:class:`dispatch.ports.Snapshotting`):
the engine saves what the fold gathered and restores it at start instead of a whole replay.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import TYPE_CHECKING

from dispatch.model.access import AccessDenied
from dispatch.model.call_taking_events import (
    CallAnswered,
    CallRoutedToDesk,
    CallRoutedToProvince,
    CaseHandedBack,
    LanguageDetected,
    LanguageFlagged,
    LanguageHint,
)
from dispatch.model.centres import CENTRAL_DESK, is_known_centre, provincial_centre
from dispatch.model.events import CallLocated, CallReceived, Event, IncidentArchived
from dispatch.model.ids import CallId, CentreId, IncidentId, OperatorId
from dispatch.model.vocabulary import Role
from language_desk.detection import (
    DetectionSettings,
    LanguageVerdict,
    TextIdentifier,
    check_language_code,
    default_identifier,
    detect_language,
)
from language_desk.errors import (
    IdentifierUnavailable,
    IncompleteCase,
    InvalidLanguageHint,
    LanguageDeskError,
    NotAtDesk,
    UnknownDeskCall,
)
from language_desk.mcc import check_mcc
from language_desk.routing_rules import DeskSettings, Destination, hand_back, route_call

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from dispatch.core.projections import Recorded
    from dispatch.model.access import Principal
    from dispatch.model.values import Location
    from dispatch.ports import EnginePort

logger = logging.getLogger(__name__)

#: The centre whose routing rules stand in for a call of unknown province (the desk's city).
_ANKARA = provincial_centre(6)


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageDeskSettings:
    """Detection, the desk's languages and the service's bounds; settings, not code."""

    detection: DetectionSettings = field(default_factory=DetectionSettings)
    desk: DeskSettings = field(default_factory=DeskSettings)
    max_pending: int = 10_000
    commit_batch: int = 16
    """Calls decided between two commits of the desk's worker (one append for all); small
    enough that deciding them (~150 µs each with text) never holds the loop for long."""
    max_calls: int = 100_000


@dataclass(slots=True, kw_only=True)
class CallHints:
    """What the desk knows of one call: its hints, verdict, route and answer."""

    call_id: CallId
    incident_id: IncidentId
    province: CentreId
    plate: int | None
    offered_at: datetime
    text: str | None = None
    caller_choice: str | None = None
    ivr_digit: str | None = None
    mcc: str | None = None
    operator_flag: str | None = None
    revision: int = 1
    detected: int = 0
    verdict: LanguageDetected | None = None
    destination: Destination = Destination.PROVINCE
    route_language: str = "tr"
    queue_language: str = "tr"
    answered_at: datetime | None = None
    answered_by: OperatorId | None = None
    answered_centre: CentreId | None = None
    handed_back: bool = False


_HINT_FIELDS = tuple(f.name for f in fields(CallHints))
_hint_values = attrgetter(*_HINT_FIELDS)
"""A call's hints as a tuple of their values in field order (one C call: snapshots are
taken on the live loop, and tuples pickle several times faster than slotted objects)."""


def _hints_from(values: tuple[object, ...]) -> CallHints:
    return CallHints(**dict(zip(_HINT_FIELDS, values, strict=True)))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskSnapshot:
    """What :meth:`LanguageDeskService.snapshot` saves: the calls' hints (each a tuple of
    :class:`CallHints`' values in field order, oldest call first), the calls waiting for
    detection in order, and the fold's counters. A change of :class:`CallHints`' fields
    changes this shape: bump the service's ``snapshot_version``."""

    calls: tuple[tuple[object, ...], ...]
    pending: tuple[CallId, ...]
    last_seq: int
    skipped: int
    skipped_in_row: int
    invalid_hints: int


class _NoText:
    """Stands in when the text model cannot be loaded: texts say nothing."""

    def __init__(self, home: str) -> None:
        self._home = home

    def rank(self, text: str) -> list[tuple[str, float]]:  # noqa: ARG002 - protocol shape
        return [(self._home, 0.0)]


class LanguageDeskService:
    """Language detection and desk routing over the engine (see the module docstring)."""

    def __init__(
        self,
        engine: EnginePort,
        settings: LanguageDeskSettings | None = None,
        *,
        identifier: TextIdentifier | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings if settings is not None else LanguageDeskSettings()
        self.identifier = identifier
        self.calls: OrderedDict[CallId, CallHints] = OrderedDict()
        self._pending: OrderedDict[CallId, None] = OrderedDict()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.detections = 0
        self.last_seq = 0
        self.skipped = 0
        """Calls not queued for detection because ``max_pending`` were waiting."""
        self._skipped_in_row = 0
        self.invalid_hints = 0
        self.failures = 0

    # -- start -------------------------------------------------------------------------

    async def load_identifier(self) -> None:
        """Load the text model off the loop (about 0.7 s, once per process)."""
        if self.identifier is not None:
            return
        languages = self.settings.detection.text_languages
        try:
            self.identifier = await asyncio.to_thread(default_identifier, languages)
        except IdentifierUnavailable:
            logger.exception("language identification unavailable: texts give no hint")
            self.identifier = _NoText(self.settings.detection.home_language)

    # -- following the log ---------------------------------------------------------------

    def on_committed(self, records: Sequence[Recorded]) -> None:
        """The engine's subscriber: gather hints and queue calls for detection."""
        for record in records:
            if record.seq <= self.last_seq:
                continue  # already seen (the log is replayed again)
            self.last_seq = record.seq
            event = record.event
            if isinstance(event, CallReceived):
                self._received(event)
            elif isinstance(event, LanguageFlagged):
                hints = self.calls.get(event.call_id)
                if hints is not None:
                    hints.operator_flag = event.flag
                    self._changed(hints)
            elif isinstance(event, LanguageDetected):
                self._detected(event)
            elif isinstance(event, CallRoutedToDesk):
                self._routed(
                    event.call_id,
                    Destination.DESK_FALLBACK if event.fallback else Destination.DESK,
                    event.language,
                    event.queue_language,
                )
            elif isinstance(event, CallRoutedToProvince):
                self._routed(event.call_id, Destination.PROVINCE, event.language, event.language)
            elif isinstance(event, CallAnswered):
                self._answered(event)
            elif isinstance(event, CaseHandedBack):
                hints = self.calls.get(event.call_id)
                if hints is not None:
                    hints.handed_back = True
            elif isinstance(event, IncidentArchived):
                self._archived(event)
            else:
                self._other(event)

    def _received(self, event: CallReceived) -> None:
        province = event.centre if is_known_centre(event.centre) else CENTRAL_DESK
        home = self.settings.detection.home_language
        hints = CallHints(
            call_id=event.call_id,
            incident_id=event.incident_id,
            province=province,
            plate=event.plate,
            offered_at=event.occurred_at,
            text=event.text,
            caller_choice=self._language(event.caller.language)
            or self._language(event.details.get("caller_language")),
            ivr_digit=self._digit(event.details.get("ivr_digit")),
            mcc=self._mcc(event.details.get("home_mcc")),
            route_language=home,
            queue_language=home,
        )
        self.calls[event.call_id] = hints
        while len(self.calls) > self.settings.max_calls:
            forgotten, _ = self.calls.popitem(last=False)
            self._pending.pop(forgotten, None)
        if _has_evidence(hints):  # without any, the home language holds: nothing to decide
            self._queue(hints)

    def _archived(self, event: IncidentArchived) -> None:
        """The incident left the live projections: its calls leave the desk."""
        for call_id in event.calls:
            self.calls.pop(call_id, None)
            self._pending.pop(call_id, None)

    def _other(self, event: Event) -> None:
        call_id = getattr(event, "call_id", None)
        mcc = getattr(event, "home_mcc", None)
        if not isinstance(call_id, str) or not isinstance(mcc, str):
            return
        hints = self.calls.get(CallId(call_id))
        checked = self._mcc(mcc)
        if hints is not None and checked is not None and checked != hints.mcc:
            hints.mcc = checked
            self._changed(hints)

    def _detected(self, event: LanguageDetected) -> None:
        hints = self.calls.get(event.call_id)
        if hints is None:
            return
        hints.verdict = event
        hints.detected = max(hints.detected, event.revision)
        if hints.detected >= hints.revision:
            self._pending.pop(event.call_id, None)

    def _routed(self, call_id: CallId, destination: Destination, language: str, queue: str) -> None:
        hints = self.calls.get(call_id)
        if hints is not None:
            hints.destination = destination
            hints.route_language = language
            hints.queue_language = queue

    def _answered(self, event: CallAnswered) -> None:
        hints = self.calls.get(event.call_id)
        if hints is None:
            return
        if event.centre == CENTRAL_DESK or hints.answered_at is None:
            hints.answered_at = event.occurred_at
            hints.answered_by = event.operator
            hints.answered_centre = event.centre

    def _changed(self, hints: CallHints) -> None:
        hints.revision += 1
        self._queue(hints)

    def _queue(self, hints: CallHints) -> None:
        if hints.call_id in self._pending:
            return
        if len(self._pending) >= self.settings.max_pending:
            if self._skipped_in_row == 0:  # once per episode, not once per call
                logger.warning(
                    "language detection backlog full (%d calls): new calls stay as they are",
                    len(self._pending),
                )
            self.skipped += 1
            self._skipped_in_row += 1
            return
        if self._skipped_in_row and len(self._pending) <= self.settings.max_pending // 2:
            # the episode ends when the backlog is half drained, not at the first free place
            logger.warning(
                "language detection backlog half drained: %d calls were left undetected",
                self._skipped_in_row,
            )
            self._skipped_in_row = 0
        self._pending[hints.call_id] = None
        self._idle.clear()
        self._wake.set()

    def _language(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return check_language_code(value, "caller choice")
        except InvalidLanguageHint:
            self.invalid_hints += 1
            return None

    def _digit(self, value: str | None) -> str | None:
        if not value:
            return None
        if len(value) == 1 and value.isascii() and value.isdigit():
            return value
        self.invalid_hints += 1
        return None

    def _mcc(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return check_mcc(value)
        except InvalidLanguageHint:
            self.invalid_hints += 1
            return None

    # -- snapshots -------------------------------------------------------------------------

    snapshot_name = "language_desk.calls"
    snapshot_version = 1

    def snapshot(self) -> DeskSnapshot:
        """What the fold has gathered now: copies of the calls' hints, the backlog, counters."""
        return DeskSnapshot(
            calls=tuple(map(_hint_values, self.calls.values())),
            pending=tuple(self._pending),
            last_seq=self.last_seq,
            skipped=self.skipped,
            skipped_in_row=self._skipped_in_row,
            invalid_hints=self.invalid_hints,
        )

    def restore(self, state: object) -> None:
        """Replace what the fold gathered with a :meth:`snapshot`; a backlog wakes the worker."""
        if not isinstance(state, DeskSnapshot):
            raise TypeError("not a language desk snapshot")
        self.calls = OrderedDict()
        for values in state.calls:
            hints = _hints_from(values)
            self.calls[hints.call_id] = hints
        self._pending = OrderedDict.fromkeys(state.pending)
        self.last_seq = state.last_seq
        self.skipped = state.skipped
        self._skipped_in_row = state.skipped_in_row
        self.invalid_hints = state.invalid_hints
        if self._pending:
            self._idle.clear()
            self._wake.set()

    # -- the worker ------------------------------------------------------------------------

    async def run(self) -> None:
        """Detect and route queued calls until cancelled (a task of the lifespan)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                decided = self._decide_some()
                if not decided:
                    continue
                events = [event for _, call_events in decided for event in call_events]
                try:
                    await self.engine.record(events)
                except Exception:  # a refused commit is logged; it must not stop the desk
                    self.failures += len(decided)
                    logger.exception(
                        "language routing of %d calls not committed (first %s)",
                        len(decided),
                        decided[0][0],
                    )
                else:
                    self.detections += len(decided)
            self._idle.set()

    def _decide_some(self) -> list[tuple[CallId, list[Event]]]:
        """Decide up to ``commit_batch`` waiting calls, to be committed in one append."""
        decided: list[tuple[CallId, list[Event]]] = []
        while self._pending and len(decided) < self.settings.commit_batch:
            call_id, _ = self._pending.popitem(last=False)
            hints = self.calls.get(call_id)
            if hints is None or hints.detected >= hints.revision:
                continue
            try:
                decided.append((call_id, self.decide(hints)))
            except LanguageDeskError:
                self.failures += 1
                logger.exception("language routing of call %s not decided", call_id)
        return decided

    @property
    def backlog(self) -> int:
        """Calls waiting for detection now."""
        return len(self._pending)

    async def settled(self) -> None:
        """Wait until every queued call has been detected and routed (for tests, drains)."""
        while self._pending or not self._idle.is_set():
            await self._idle.wait()

    def verdict(self, hints: CallHints) -> LanguageVerdict:
        """The language verdict from the call's hints now."""
        return detect_language(
            text=hints.text,
            mcc=hints.mcc,
            caller_choice=hints.caller_choice,
            ivr_digit=hints.ivr_digit,
            operator_flag=hints.operator_flag,
            settings=self.settings.detection,
            identifier=self.identifier or _NoText(self.settings.detection.home_language),
        )

    def decide(self, hints: CallHints) -> list[Event]:
        """``LanguageDetected`` and, when the call must move, its routing event."""
        now = self.engine.clock.now()
        try:
            verdict = self.verdict(hints)
        except InvalidLanguageHint:
            self.invalid_hints += 1
            hints.operator_flag = None
            verdict = self.verdict(hints)
        detected = LanguageDetected(
            occurred_at=now,
            plate=hints.plate,
            call_id=hints.call_id,
            incident_id=hints.incident_id,
            language=verdict.language,
            confidence=round(verdict.confidence, 4),
            decided_by=verdict.decided_by.value if verdict.decided_by else None,
            reason=verdict.reason,
            evidence=tuple(
                LanguageHint(
                    source=e.source.value,
                    language=e.language,
                    confidence=round(e.confidence, 4),
                    detail=e.detail,
                )
                for e in verdict.evidence
            ),
            revision=hints.revision,
        )
        events: list[Event] = [detected]
        if hints.handed_back:
            return events
        known = hints.province != CENTRAL_DESK
        route = route_call(
            verdict,
            province_centre=hints.province if known else _ANKARA,
            settings=self.settings.desk,
        )
        now_route = (route.destination, route.language, route.queue_language)
        if now_route == (hints.destination, hints.route_language, hints.queue_language):
            return events
        if route.destination is Destination.PROVINCE:
            events.append(
                CallRoutedToProvince(
                    occurred_at=now,
                    plate=hints.plate,
                    call_id=hints.call_id,
                    incident_id=hints.incident_id,
                    language=route.language,
                    province_centre=hints.province,
                    reason=verdict.reason,
                )
            )
        else:
            events.append(
                CallRoutedToDesk(
                    occurred_at=now,
                    plate=hints.plate,
                    call_id=hints.call_id,
                    incident_id=hints.incident_id,
                    language=route.language,
                    queue_language=route.queue_language,
                    province_centre=hints.province if known else None,
                    fallback=route.destination is Destination.DESK_FALLBACK,
                    reason=route.reason,
                )
            )
        return events

    # -- the hand-back -------------------------------------------------------------------

    async def hand_back(
        self,
        call_id: CallId,
        *,
        incident_type: str,
        address: str,
        location: Location | None,
        principal: Principal,
    ) -> CaseHandedBack:
        """The desk returns the case to the province of the incident (see the module doc).

        The province comes from ``location`` (placed by the engine's locator), else the
        incident's own placement, else the caller's province.
        """
        if principal.role not in {Role.LANGUAGE_DESK_OPERATOR, Role.ADMINISTRATOR}:
            raise AccessDenied(f"role {principal.role} may not hand cases back")
        hints = self.calls.get(call_id)
        if hints is None:
            raise UnknownDeskCall("no call with this id is known to the desk")
        if hints.handed_back:
            raise NotAtDesk("the case was handed back already")
        if hints.destination is Destination.PROVINCE:
            raise NotAtDesk("the call is not at the central desk")
        if (
            hints.answered_at is None
            or hints.answered_by is None
            or hints.answered_centre != CENTRAL_DESK
        ):
            raise NotAtDesk("the desk has not answered the call yet")
        placement = None
        plate: int | None = None
        if location is not None:
            placement = self.engine.locator.place(location.lat, location.lon, location.radius_m)
            plate = placement.plate
        if plate is None:
            incident = self.engine.state.incidents.get(hints.incident_id)
            plate = incident.plate if incident is not None else None
        if plate is None and hints.province == CENTRAL_DESK:
            raise IncompleteCase("the incident's province is not known: give its location")
        now = self.engine.clock.now()
        case = hand_back(
            call_id=call_id,
            incident_id=hints.incident_id,
            incident_plate=plate,
            province_centre=hints.province,
            language=hints.verdict.language if hints.verdict else hints.route_language,
            desk_operator=hints.answered_by,
            address=address,
            offered_at=hints.offered_at,
            answered_at=hints.answered_at,
            handed_back_at=now,
        )
        events: list[Event] = []
        if location is not None:
            events.append(
                CallLocated(
                    occurred_at=now,
                    plate=placement.plate if placement else None,
                    call_id=call_id,
                    evidence=location,
                    best=location,
                    placement=placement,
                )
            )
        handed = CaseHandedBack(
            occurred_at=now,
            plate=int(case.to_centre),
            call_id=call_id,
            incident_id=case.incident_id,
            from_centre=case.from_centre,
            to_centre=case.to_centre,
            language=case.language,
            interpreter=case.interpreter,
            caller_attached=case.caller_attached,
            incident_type=incident_type,
            address=case.address,
            offered_at=case.offered_at,
            answered_at=case.answered_at,
            reason=case.reason,
            actor=principal.subject,
            location=location,
        )
        events.append(handed)
        await self.engine.record(events)
        return handed


def _has_evidence(hints: CallHints) -> bool:
    """Whether anything about the call could point to a language other than the home one."""
    return bool(
        hints.text or hints.caller_choice or hints.ivr_digit or hints.mcc or hints.operator_flag
    )
