"""The intake service: every channel's input turned into committed calls and events.

Adapters hand it checked values (a gateway event, an AML report, a chat frame, an alarm);
it applies flood limits, looks up what the pure rules need, commits through the engine
(`EnginePort.receive_call` / `record`) and only then returns the acknowledgement. Its own
projections (the AML join, the callback list, chat sessions, registered devices) are folded
from the committed log by `on_commit`, also at start, so they survive a restart; the service
is a snapshot participant (`dispatch.ports.Snapshotting`), so a start may restore them and
fold only the log's tail. When an incident is archived (`IncidentArchived`) its calls leave
them (their AML join, callbacks, sessions and signalling relays): the service then answers
for those calls as for unknown ones, and ignores later events about them.

Writes that read a call's state are serialised per call (locations fuse over the evidence
committed so far); AML reports and offered calls are serialised per caller number, so a
report arriving while its call is being offered joins it exactly once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dispatch.core.decide import ReceiveCall
from dispatch.core.projections import CallView, Recorded
from dispatch.locks import KeyedLocks
from dispatch.model.access import AccessDenied, Principal
from dispatch.model.events import (
    CallLocated,
    CallReceived,
    CallStatusChanged,
    Event,
    IncidentArchived,
)
from dispatch.model.ids import CallId, IncidentId
from dispatch.model.values import Caller, Location
from dispatch.model.vocabulary import CallStatus, Channel, Role
from dispatch.ports import CallAck, EnginePort
from intake.aml import AmlReport
from intake.aml_join import AmlJoin, AmlJoinSnapshot, CallRef, JoinOrder, PendingReport
from intake.errors import (
    InvalidNumber,
    NotYourSession,
    PidfError,
    PidfValueError,
    SignallingError,
    SmsUnavailable,
    UnknownCall,
    UnknownGatewayCall,
)
from intake.events import (
    AmlReportJoined,
    AmlReportReceived,
    AppDeviceVerified,
    CallbackCompleted,
    CivicAddressReported,
    SignVideoNegotiated,
    TextMessageSent,
)
from intake.flood import TokenBuckets
from intake.panic import alarm_command, position_key
from intake.phone import (
    Callback,
    CallbackBook,
    GatewayOffer,
    GatewayStatusReport,
    normalise_number,
    offer_command,
    status_event,
)
from intake.pidf_lo import PidfLocation, extract_pidf_from_multipart, parse_pidf_lo
from intake.positions import check_position, fused_location
from intake.registration import Device, Registrations
from intake.settings import IntakeSettings
from intake.sign_video import Signal, SignallingRelay
from intake.text_chat import (
    ChatMessage,
    ChatSession,
    MessageFrame,
    OpenFrame,
    Party,
    PositionFrame,
    SignalFrame,
)

logger = logging.getLogger(__name__)

__all__ = ["Ack", "IntakeService", "IntakeSnapshot", "SmsGateway"]

_SWEEP_EVERY = 1024
_SESSION_CHANNELS = frozenset({Channel.TEXT, Channel.SIGN_VIDEO})
_TEXT_ROLES = frozenset(
    {
        Role.CALL_TAKER,
        Role.LANGUAGE_DESK_OPERATOR,
        Role.SIGN_LANGUAGE_OPERATOR,
        Role.ADMINISTRATOR,
    }
)
_VIDEO_ROLES = frozenset({Role.SIGN_LANGUAGE_OPERATOR, Role.ADMINISTRATOR})
MEDIA_SKILL = {Channel.TEXT: "text", Channel.SIGN_VIDEO: "tid"}
"""The operator skill each session channel queues for (as `dispatch.core.call_queue` names it)."""


class SmsGateway(Protocol):
    """Sends a text message to a phone number (a carrier's SMS gateway in production)."""

    async def send(self, number: str, text: str) -> None:
        """Send `text` to `number` (E.164); raise on failure."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    """What a channel answers once its input is committed."""

    seq: int
    call_id: CallId | None = None
    incident_id: IncidentId | None = None
    duplicate: bool = False

    def to_json_dict(self) -> dict[str, object]:
        """The acknowledgement's wire form."""
        return {
            "seq": self.seq,
            "call_id": self.call_id,
            "incident_id": self.incident_id,
            "duplicate": self.duplicate,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class IntakeSnapshot:
    """What `IntakeService.snapshot` saves: every projection the log feeds, copied.

    Signalling relays hold only connections' state: the calls that have one are saved, and
    they come back fresh (as after a replay of the log).
    """

    aml: AmlJoinSnapshot
    callbacks: CallbackBook
    devices: dict[str, Device]
    sessions: tuple[ChatSession, ...]
    relays: tuple[CallId, ...]


def _call_ack(ack: CallAck) -> Ack:
    return Ack(
        seq=ack.seq, call_id=ack.call_id, incident_id=ack.incident_id, duplicate=ack.duplicate
    )


class IntakeService:
    """Every intake channel over the engine port; see the module docstring."""

    def __init__(
        self,
        engine: EnginePort,
        settings: IntakeSettings,
        *,
        development_mode: bool,
        sms: SmsGateway | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.development_mode = development_mode
        self.sms = sms
        self.hmac_key = settings.aml_hmac_key.encode() if settings.aml_hmac_key else None
        self.flood = TokenBuckets(
            burst=settings.flood_burst,
            per_s=settings.flood_per_s,
            max_keys=settings.flood_numbers_max,
        )
        self.aml = AmlJoin(
            window_s=settings.aml_join_window_s,
            pending_ttl_s=settings.aml_pending_ttl_s,
            pending_max=settings.aml_pending_max,
        )
        self.callbacks = CallbackBook()
        self.registrations = Registrations(
            ttl_s=settings.otp_ttl_s,
            max_attempts=settings.otp_max_attempts,
            max_challenges=settings.otp_challenges_max,
        )
        self.sessions: dict[CallId, ChatSession] = {}
        self.relays: dict[CallId, SignallingRelay] = {}
        self._locks = KeyedLocks()
        self._operations = 0
        engine.subscribe(self.on_commit, snapshot=self)
        engine.hold_archive(self.callback_waits)

    # -- projections ----------------------------------------------------------------------

    def on_commit(self, records: Sequence[Recorded]) -> None:
        """Fold committed events into intake's projections (live and at start)."""
        for record in records:
            try:
                self._apply(record.seq, record.event)
            except Exception:  # a projection bug must not stop the others
                logger.exception("intake projection failed at seq %d", record.seq)

    def _apply(self, seq: int, event: Event) -> None:
        if isinstance(event, CallReceived):
            self._call_received(event)
        elif isinstance(event, CallStatusChanged):
            self._call_status(event)
            session = self.sessions.get(event.call_id)
            if session is not None:
                session.apply(seq, event)
        elif isinstance(event, TextMessageSent):
            session = self.sessions.get(event.call_id)
            if session is not None:
                session.apply(seq, event)
        elif isinstance(event, AmlReportReceived):
            self.aml.advance(event.occurred_at)
            if event.call_id is None:
                self.aml.hold(
                    PendingReport(
                        report_key=event.report_key,
                        number=event.number,
                        arrived_at=event.occurred_at,
                        evidence=_aml_location(event),
                        home_mcc=event.home_mcc,
                        home_mnc=event.home_mnc,
                        language=event.language,
                    )
                )
        elif isinstance(event, AmlReportJoined):
            self.aml.release(event.report_key)
        elif isinstance(event, CallbackCompleted):
            self.callbacks.complete(event.call_id)
        elif isinstance(event, AppDeviceVerified):
            self.registrations.apply(event)
        elif isinstance(event, IncidentArchived):
            self._archived(event.calls)

    def callback_waits(self, incident_id: IncidentId, calls: tuple[CallId, ...]) -> bool:
        """Whether one of these calls still waits for its callback (the archivist waits)."""
        del incident_id
        return any(self.callbacks.get(call_id) is not None for call_id in calls)

    def _archived(self, calls: tuple[CallId, ...]) -> None:
        """An archived incident's calls leave every projection."""
        self.aml.forget(calls)
        self.callbacks.forget(calls)
        for call_id in calls:
            self.sessions.pop(call_id, None)
            self.relays.pop(call_id, None)

    def _call_received(self, event: CallReceived) -> None:
        self.aml.advance(event.occurred_at)
        number = event.caller.number
        if number is not None:
            self.callbacks.call_received(number)
        if event.channel is Channel.PHONE and number is not None:
            self.aml.call_started(
                CallRef(
                    call_id=event.call_id,
                    incident_id=event.incident_id,
                    number=number,
                    started_at=event.occurred_at,
                )
            )
        device_id = event.details.get("device_id")
        if event.channel in _SESSION_CHANNELS and device_id is not None:
            self.sessions[event.call_id] = ChatSession(
                call_id=event.call_id,
                incident_id=event.incident_id,
                channel=event.channel,
                device_id=device_id,
                number=number,
            )
            if event.channel is Channel.SIGN_VIDEO:
                self.relays[event.call_id] = self._relay()

    def _relay(self) -> SignallingRelay:
        return SignallingRelay(
            sdp_max_bytes=self.settings.sdp_max_bytes,
            ice_max_bytes=self.settings.ice_max_bytes,
            buffer_max=self.settings.signal_buffer_max,
        )

    def _call_status(self, event: CallStatusChanged) -> None:
        if event.status in {CallStatus.ENDED, CallStatus.ABANDONED}:
            self.aml.call_ended(event.call_id, event.occurred_at)
        if event.status is not CallStatus.ABANDONED:
            return
        call = self.engine.state.calls.get(event.call_id)
        if call is None or call.caller.number is None or call.channel is not Channel.PHONE:
            return
        self.callbacks.abandoned(
            Callback(
                call_id=call.call_id,
                incident_id=call.incident_id,
                number=call.caller.number,
                abandoned_at=event.occurred_at,
                centre=call.centre,
                plate=call.placement.plate if call.placement else None,
                dialled=call.dialled,
            )
        )

    # -- snapshots ------------------------------------------------------------------------

    snapshot_name = "intake.projections"
    snapshot_version = 1

    def snapshot(self) -> IntakeSnapshot:
        """Intake's projections after the last folded event, copied."""
        return IntakeSnapshot(
            aml=self.aml.snapshot(),
            callbacks=self.callbacks.copy(),
            devices=self.registrations.devices(),
            sessions=tuple(session.copy() for session in self.sessions.values()),
            relays=tuple(self.relays),
        )

    def restore(self, state: object) -> None:
        """Replace intake's projections with a snapshot's (flood buckets and live
        registration challenges are not projections: they stay)."""
        if not isinstance(state, IntakeSnapshot):
            raise TypeError("not an intake snapshot")
        self.aml.restore(state.aml)
        self.callbacks = state.callbacks.copy()
        self.registrations.restore_devices(state.devices)
        self.sessions = {session.call_id: session.copy() for session in state.sessions}
        self.relays = {call_id: self._relay() for call_id in state.relays}

    # -- shared ---------------------------------------------------------------------------

    def now(self) -> datetime:
        """The engine's clock."""
        return self.engine.clock.now()

    def limit(self, key: str) -> None:
        """Take a token from `key`'s flood bucket (raises `FloodLimited`)."""
        self.flood.take(key, self.now().timestamp())
        self._operations += 1
        if self._operations % _SWEEP_EVERY == 0:
            self.aml.sweep(self.now())

    def call(self, call_id: str) -> CallView:
        """The call with this id, or `UnknownCall`."""
        call = self.engine.state.calls.get(CallId(call_id))
        if call is None:
            raise UnknownCall("no call has that id")
        return call

    def located(self, call: CallView, evidence: Location, *, key: str | None) -> CallLocated:
        """The `CallLocated` event for new evidence: fused estimate and its placement."""
        now = self.now()
        best = fused_location([*call.evidence, evidence], received_at=call.received_at, now=now)
        placement = self.engine.locator.place(best.lat, best.lon, best.radius_m)
        return CallLocated(
            occurred_at=now,
            idempotency_key=key,
            plate=placement.plate,
            call_id=call.call_id,
            evidence=evidence,
            best=best,
            placement=placement,
        )

    async def _known(self, key: str) -> Recorded | None:
        return await self.engine.original(key)

    async def locate(self, call_id: CallId, evidence: Location, *, key: str) -> Ack:
        """Commit new location evidence for a call (once per key)."""
        async with self._locks.hold(f"call:{call_id}"):
            call = self.call(call_id)
            known = await self._known(key)
            if known is not None:
                return Ack(
                    seq=known.seq, call_id=call_id, incident_id=call.incident_id, duplicate=True
                )
            records = await self.engine.record([self.located(call, evidence, key=key)])
            return Ack(seq=records[0].seq, call_id=call_id, incident_id=call.incident_id)

    # -- phone ----------------------------------------------------------------------------

    async def offered(
        self,
        offer: GatewayOffer,
        principal: Principal,
        *,
        location_document: bytes | None = None,
        content_type: str = "application/pidf+xml",
        content_id: str | None = None,
    ) -> tuple[Ack, PidfError | None]:
        """Commit an offered call, join waiting AML reports, then add PIDF-LO by value.

        The call is committed even when its PIDF-LO document is refused: the refusal is
        returned beside the call's acknowledgement (the adapter reports both).
        """
        principal.require_ingest()
        if offer.number is not None:
            self.limit(offer.number)
        lock_key = f"number:{offer.number or offer.gateway_call_id}"
        async with self._locks.hold(lock_key):
            ack = _call_ack(await self.engine.receive_call(offer_command(offer), principal))
            if offer.number is not None and not ack.duplicate and ack.call_id is not None:
                for report in self.aml.take_pending(offer.number, self.now()):
                    await self._join(ack.call_id, report, JoinOrder.BEFORE)
        refused: PidfError | None = None
        if location_document is not None and ack.call_id is not None:
            try:
                await self.location_by_value(
                    ack.call_id, location_document, content_type, content_id, principal
                )
            except PidfError as exc:
                refused = exc
        return ack, refused

    async def gateway_status(self, report: GatewayStatusReport, principal: Principal) -> Ack:
        """Commit an answered, abandoned or ended event about an offered call."""
        principal.require_ingest()
        original = await self._known(f"call:{report.request_id}")
        if original is None or not isinstance(original.event, CallReceived):
            raise UnknownGatewayCall("no call was offered under that gateway call id")
        call_id = original.event.call_id
        async with self._locks.hold(f"call:{call_id}"):
            call = self.call(call_id)
            event = status_event(
                call_id=call_id,
                current=call.status,
                kind=report.kind,
                request_id=report.request_id,
                now=self.now(),
                plate=call.placement.plate if call.placement else None,
                operator=report.operator,
            )
            if event is None or event.idempotency_key is None:
                return Ack(
                    seq=self.engine.state.last_seq,
                    call_id=call_id,
                    incident_id=call.incident_id,
                    duplicate=True,
                )
            known = await self._known(event.idempotency_key)
            if known is not None:
                return Ack(
                    seq=known.seq, call_id=call_id, incident_id=call.incident_id, duplicate=True
                )
            records = await self.engine.record([event])
            return Ack(seq=records[0].seq, call_id=call_id, incident_id=call.incident_id)

    # -- callbacks ------------------------------------------------------------------------

    def callback_list(self, principal: Principal) -> list[Callback]:
        """The abandoned calls this principal may call back, the longest waiting first."""
        principal.require_read(principal.province)
        return [c for c in self.callbacks.entries() if principal.sees_province(c.plate)]

    async def complete_callback(self, call_id: str, outcome: str, principal: Principal) -> Ack:
        """Record a callback's outcome; the call leaves the list."""
        callback = self.callbacks.get(CallId(call_id))
        if callback is None:
            raise UnknownCall("no waiting callback has that call id")
        principal.require_incident_action(callback.plate)
        key = f"callback:{call_id}"
        known = await self._known(key)
        if known is not None:
            return Ack(seq=known.seq, call_id=callback.call_id, duplicate=True)
        records = await self.engine.record(
            [
                CallbackCompleted(
                    occurred_at=self.now(),
                    idempotency_key=key,
                    plate=callback.plate,
                    call_id=callback.call_id,
                    incident_id=callback.incident_id,
                    actor=principal.subject,
                    outcome=outcome,
                )
            ]
        )
        return Ack(seq=records[0].seq, call_id=callback.call_id, incident_id=callback.incident_id)

    # -- AML ------------------------------------------------------------------------------

    async def aml_report(
        self, report: AmlReport, number: str | None, principal: Principal
    ) -> tuple[Ack, JoinOrder | None]:
        """Record an AML report and join it to its caller's call (or keep it waiting)."""
        principal.require_ingest()
        raw = number or report.device_number
        if raw is None:
            raise InvalidNumber("the caller's number is required (?from= or device_number)")
        caller = normalise_number(raw)
        self.limit(caller)
        key = report.idempotency_key
        known = await self._known(key)
        if known is not None:
            event = known.event
            joined = event.call_id if isinstance(event, AmlReportReceived) else None
            return Ack(seq=known.seq, call_id=joined, duplicate=True), None
        evidence = _report_location(report)
        async with self._locks.hold(f"number:{caller}"):
            now = self.now()
            found = self.aml.find_call(caller, now)
            received = AmlReportReceived(
                occurred_at=now,
                idempotency_key=key,
                report_key=key,
                number=caller,
                transport=str(report.transport),
                version=report.version,
                time=report.time,
                lat=evidence.lat if evidence else None,
                lon=evidence.lon if evidence else None,
                radius_m=evidence.radius_m if evidence else None,
                method=None if report.method is None else str(report.method),
                confidence=report.confidence,
                home_mcc=report.home_mcc,
                home_mnc=report.home_mnc,
                serving_mcc=report.mcc,
                serving_mnc=report.mnc,
                language=report.language,
                call_id=found[0].call_id if found else None,
                incident_id=found[0].incident_id if found else None,
            )
            if found is None:
                records = await self.engine.record([received])
                return Ack(seq=records[0].seq), None
            ref, order = found
            pending = PendingReport(
                report_key=key,
                number=caller,
                arrived_at=now,
                evidence=evidence,
                home_mcc=report.home_mcc,
                home_mnc=report.home_mnc,
                language=report.language,
            )
            seq = await self._join(ref.call_id, pending, order, first=received)
            return Ack(seq=seq, call_id=ref.call_id, incident_id=ref.incident_id), order

    async def _join(
        self,
        call_id: CallId,
        report: PendingReport,
        order: JoinOrder,
        *,
        first: Event | None = None,
    ) -> int:
        """Commit the evidence and the join of one report to its call; returns the first seq."""
        async with self._locks.hold(f"call:{call_id}"):
            call = self.call(call_id)
            plate = call.placement.plate if call.placement else None
            events: list[Event] = [] if first is None else [first]
            if report.evidence is not None:
                located = self.located(
                    call, report.evidence, key=f"aml-located:{report.report_key}"
                )
                plate = located.plate
                events.append(located)
            events.append(
                AmlReportJoined(
                    occurred_at=self.now(),
                    idempotency_key=f"aml-joined:{report.report_key}",
                    plate=plate,
                    report_key=report.report_key,
                    call_id=call_id,
                    incident_id=call.incident_id,
                    home_mcc=report.home_mcc,
                    home_mnc=report.home_mnc,
                    language=report.language,
                    order=str(order),
                )
            )
            records = await self.engine.record(events)
        return records[0].seq

    # -- PIDF-LO by value -----------------------------------------------------------------

    async def location_by_value(
        self,
        call_id: str,
        body: bytes,
        content_type: str,
        content_id: str | None,
        principal: Principal,
    ) -> Ack:
        """Turn a PIDF-LO document (or a SIP multipart body) into a call's location evidence."""
        principal.require_ingest()
        call = self.call(call_id)
        document = extract_pidf_from_multipart(body, content_type, content_id)
        location = parse_pidf_lo(document)
        digest = hashlib.sha256(document).hexdigest()[:32]
        evidence = self._pidf_evidence(location)
        if evidence is None and location.civic is None:
            raise PidfValueError("location-info", "no geodetic shape and no civic address")
        first_key = f"pidf:{call.call_id}:{digest}"
        async with self._locks.hold(f"call:{call.call_id}"):
            call = self.call(call_id)
            known = await self._known(first_key)
            if known is not None:
                return Ack(
                    seq=known.seq,
                    call_id=call.call_id,
                    incident_id=call.incident_id,
                    duplicate=True,
                )
            events: list[Event] = []
            plate = call.placement.plate if call.placement else None
            if evidence is not None:
                located = self.located(call, evidence, key=first_key)
                plate = located.plate
                events.append(located)
            if location.civic is not None:
                events.append(
                    CivicAddressReported(
                        occurred_at=self.now(),
                        idempotency_key=first_key if evidence is None else f"{first_key}:civic",
                        plate=plate,
                        call_id=call.call_id,
                        incident_id=call.incident_id,
                        civic=dict(location.civic),
                        method=location.method,
                    )
                )
            records = await self.engine.record(events)
        return Ack(seq=records[0].seq, call_id=call.call_id, incident_id=call.incident_id)

    def _pidf_evidence(self, location: PidfLocation) -> Location | None:
        """The most precise shape of a document as evidence (a point gets the default radius)."""
        if not location.shapes:
            return None
        default = self.settings.pidf_point_radius_m
        shape = min(location.shapes, key=lambda s: default if s.radius_m is None else s.radius_m)
        return check_position(
            shape.lat,
            shape.lon,
            shape.radius_m,
            source="pidf",
            at=self.now(),
            default_radius_m=default,
        )

    # -- registration ---------------------------------------------------------------------

    async def register(self, number: str) -> tuple[str, str | None]:
        """Issue a one-time code for `number`; returns the challenge id and, in development
        mode, the code itself (in production it goes by SMS and is never returned)."""
        caller = normalise_number(number)
        self.limit(f"register:{caller}")
        if not self.development_mode and self.sms is None:
            raise SmsUnavailable("no SMS gateway is configured to send the one-time code")
        digits = self.settings.otp_digits
        code = f"{secrets.randbelow(10**digits):0{digits}d}"
        challenge = self.registrations.start(
            caller, code=code, challenge_id=secrets.token_urlsafe(16), now=self.now()
        )
        if self.sms is not None:
            await self.sms.send(caller, f"112 uygulaması doğrulama kodunuz: {code}")
        return challenge.challenge_id, code if self.development_mode else None

    async def verify(self, challenge_id: str, code: str) -> tuple[Device, str]:
        """Check a one-time code; returns the new device and its token (shown once)."""
        self.limit(f"verify:{challenge_id}")
        token = secrets.token_urlsafe(32)
        device_id = f"dev-{secrets.token_hex(8)}"
        event = self.registrations.verify(
            challenge_id, code, now=self.now(), device_id=device_id, token=token
        )
        await self.engine.record([event])
        return Device(device_id=device_id, number=event.number), token

    def device(self, token: str | None) -> Device:
        """The device a token authenticates (raises `InvalidDeviceToken`)."""
        return self.registrations.authenticate(token)

    # -- panic ----------------------------------------------------------------------------

    async def panic_alarm(
        self, device: Device, alarm_id: str, position: Location, principal: Principal
    ) -> Ack:
        """Commit a panic alarm: priority 1, domestic violence, police or gendarmerie."""
        principal.require_ingest()
        self.limit(device.number)
        placement = self.engine.locator.place(position.lat, position.lon, position.radius_m)
        command = alarm_command(
            device_id=device.device_id,
            alarm_id=alarm_id,
            number=device.number,
            position=position,
            placement=placement,
        )
        return _call_ack(await self.engine.receive_call(command, principal))

    async def panic_position(
        self, device: Device, call_id: str, position_id: str, position: Location
    ) -> Ack:
        """Add a follow-up position to the device's own alarm (once per position id)."""
        self.limit(device.number)
        call = self.engine.state.calls.get(CallId(call_id))
        owner = _details(call).get("device_id") if call is not None else None
        if call is None or call.channel is not Channel.PANIC_APP or owner != device.device_id:
            raise UnknownCall("this device has no alarm with that id")
        return await self.locate(call.call_id, position, key=position_key(call_id, position_id))

    # -- text and sign-language video sessions -------------------------------------------

    async def open_session(
        self, frame: OpenFrame, channel: Channel, principal: Principal
    ) -> tuple[ChatSession, Ack]:
        """Open (or, on a resent open, find) the device's session: a call on `channel`."""
        principal.require_ingest()
        device = self.device(frame.device_token)
        self.limit(device.number)
        location = None
        if frame.lat is not None and frame.lon is not None:
            location = check_position(
                frame.lat,
                frame.lon,
                frame.radius_m,
                source="app",
                at=self.now(),
                default_radius_m=self.settings.app_default_radius_m,
            )
        command = ReceiveCall(
            channel=channel,
            caller=Caller(number=device.number, name=frame.name, language=frame.language),
            location=location,
            client_request_id=f"session:{device.device_id}:{frame.session_key}",
            details={
                "device_id": device.device_id,
                "session_key": frame.session_key,
                "media_skill": MEDIA_SKILL[channel],
            },
        )
        ack = _call_ack(await self.engine.receive_call(command, principal))
        session = self.sessions.get(CallId(ack.call_id or ""))
        if session is None or session.device_id != device.device_id:
            raise NotYourSession("this device may not use that session")
        return session, ack

    def resume_session(self, token: str, session_id: str) -> ChatSession:
        """The device's own session, to reconnect to after a dropped connection."""
        device = self.device(token)
        session = self.sessions.get(CallId(session_id))
        if session is None or session.device_id != device.device_id:
            raise NotYourSession("this device has no session with that id")
        return session

    def operator_session(self, session_id: str, principal: Principal) -> ChatSession:
        """The session an operator's console may join (skill and province checked)."""
        session = self.sessions.get(CallId(session_id))
        if session is None:
            raise UnknownCall("no session has that id")
        roles = _VIDEO_ROLES if session.channel is Channel.SIGN_VIDEO else _TEXT_ROLES
        if principal.role not in roles:
            raise AccessDenied("this role may not take sessions on this channel")
        call = self.call(session.call_id)
        principal.require_incident_action(call.placement.plate if call.placement else None)
        return session

    def _plate(self, session: ChatSession) -> int | None:
        call = self.engine.state.calls.get(session.call_id)
        return call.placement.plate if call is not None and call.placement else None

    async def join_session(self, session: ChatSession, principal: Principal) -> None:
        """An operator joins: the first join answers the call."""
        async with self._locks.hold(f"call:{session.call_id}"):
            events = session.join(principal.subject, now=self.now(), plate=self._plate(session))
            events = [
                e
                for e in events
                if e.idempotency_key is None or await self._known(e.idempotency_key) is None
            ]
            if events:
                await self.engine.record(events)

    async def session_message(
        self, session: ChatSession, sender: Party, frame: MessageFrame, actor: str | None
    ) -> tuple[ChatMessage | None, int]:
        """Store a chat message; returns its transcript line (None on a resend) and seq."""
        if sender is Party.CALLER and session.number is not None:
            self.limit(session.number)
        async with self._locks.hold(f"call:{session.call_id}"):
            event = session.message(
                sender, frame, now=self.now(), plate=self._plate(session), actor=actor
            )
            if event is None:
                line = next(
                    (
                        m
                        for m in session.transcript
                        if m.sender is sender and m.message_id == frame.request_id
                    ),
                    None,
                )
                return None, line.seq if line else 0
            records = await self.engine.record([event])
        line = next((m for m in reversed(session.transcript) if m.seq == records[0].seq), None)
        return line, records[0].seq

    async def session_position(self, session: ChatSession, frame: PositionFrame) -> Ack:
        """The app's position update for its session."""
        if session.number is not None:
            self.limit(session.number)
        evidence = check_position(
            frame.lat,
            frame.lon,
            frame.radius_m,
            source="app",
            at=frame.at or self.now(),
            default_radius_m=self.settings.app_default_radius_m,
        )
        key = f"session-position:{session.call_id}:{frame.request_id}"
        return await self.locate(session.call_id, evidence, key=key)

    async def close_session(self, session: ChatSession) -> None:
        """Either end closes the session: the call ends."""
        async with self._locks.hold(f"call:{session.call_id}"):
            events = session.close(now=self.now(), plate=self._plate(session))
            if events:
                await self.engine.record(events)

    async def signal(
        self, session: ChatSession, sender: Party, frame: SignalFrame, actor: str | None
    ) -> Signal:
        """Check and route one signalling message; a completed negotiation is recorded."""
        relay = self.relays.get(session.call_id)
        if relay is None:
            raise SignallingError("signalling is only for sign-language video sessions")
        signal, completed = relay.receive(sender, frame)
        if completed:
            await self.engine.record(
                [
                    SignVideoNegotiated(
                        occurred_at=self.now(),
                        plate=self._plate(session),
                        call_id=session.call_id,
                        incident_id=session.incident_id,
                        offerer=str(sender.peer),
                        answerer=str(sender),
                        actor=actor,
                    )
                ]
            )
        return signal


def _details(call: CallView | None) -> dict[str, str]:
    if call is None or call.received is None:
        return {}
    event = call.received.event
    return event.details if isinstance(event, CallReceived) else {}


def _report_location(report: AmlReport) -> Location | None:
    if not report.has_fix or report.latitude is None or report.longitude is None:
        return None
    return check_position(
        report.latitude, report.longitude, report.radius_m, source="aml", at=report.time
    )


def _aml_location(event: AmlReportReceived) -> Location | None:
    if event.lat is None or event.lon is None:
        return None
    return Location(
        lat=event.lat, lon=event.lon, radius_m=event.radius_m, source="aml", at=event.time
    )
