"""Phone calls from a CTI gateway: numbers, call events to commands, the callback list (pure).

A telephony or CTI gateway (Asterisk, FreeSWITCH, a carrier's SIP platform) reports each call
as `offered` (caller number, dialled number, trunk, serving cell and its centroid), then
`answered` (by which operator), `abandoned` (the caller hung up before an answer) or `ended`.
This module turns those reports into dispatch commands and events; the adapters parse the
wire and the service commits. The dialled legacy number (110, 155, 156, 177, 178, 122) is a
classification hint kept on the call: every call reaches a 112 call-taker.

Numbers are normalised (`normalise_number`) so that the gateway's `05321234567`, an SMS
sender's `+905321234567` and a form's `905321234567` name the same caller (the AML join and
the flood buckets depend on it).

Abandoned calls with a number go to the callback list (`CallbackBook`), a projection folded
from the log: an entry leaves it when an operator records the callback's outcome, when the
same number calls again (the new call supersedes the callback), or when its incident is
archived (`forget`).
"""

from __future__ import annotations

import enum
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from dispatch.core.decide import ReceiveCall
from dispatch.model.events import CallStatusChanged
from dispatch.model.ids import CallId, CentreId, IncidentId, OperatorId
from dispatch.model.values import Caller, Location
from dispatch.model.vocabulary import CallStatus, Channel
from intake.errors import CallAlreadyEnded, InvalidNumber

__all__ = [
    "Callback",
    "CallbackBook",
    "GatewayEventKind",
    "GatewayOffer",
    "GatewayStatusReport",
    "gateway_request_id",
    "normalise_number",
    "offer_command",
    "status_event",
]

_SEPARATORS = re.compile(r"[\s\-().]")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_DIGITS = re.compile(r"[0-9]{7,16}")
_FINAL: Final = frozenset({CallStatus.ENDED, CallStatus.ABANDONED})


def normalise_number(text: str) -> str:
    """The E.164 form (`+905321234567`) of a caller number, or `InvalidNumber`.

    Accepts E.164 with `+` or `00`, and Turkish national forms: `0` + ten digits, ten digits
    starting with a non-zero digit, or `90` + ten digits.
    """
    if len(text) > 32:
        raise InvalidNumber("a phone number is at most 32 characters")
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+"):
        if _E164.fullmatch(compact) is None:
            raise InvalidNumber("an international number is + and 7..15 digits")
        return compact
    if _DIGITS.fullmatch(compact) is None:
        raise InvalidNumber("a phone number is digits, optionally with + or 00")
    if len(compact) == 11 and compact.startswith("0") and compact[1] != "0":
        return "+90" + compact[1:]
    if len(compact) == 10 and compact[0] != "0":
        return "+90" + compact
    if len(compact) == 12 and compact.startswith("90"):
        return "+" + compact
    raise InvalidNumber("a national number is 0 and ten digits (or ten digits)")


class GatewayEventKind(enum.StrEnum):
    """What a gateway reports about a call."""

    OFFERED = "offered"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    ENDED = "ended"


_STATUS: Final = {
    GatewayEventKind.ANSWERED: CallStatus.ANSWERED,
    GatewayEventKind.ABANDONED: CallStatus.ABANDONED,
    GatewayEventKind.ENDED: CallStatus.ENDED,
}


def gateway_request_id(gateway: str, gateway_call_id: str) -> str:
    """The client request id of a gateway's call (the call's idempotency key derives from it)."""
    return f"{gateway}:{gateway_call_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayOffer:
    """An `offered` event, checked: the number normalised, the cell centroid a `Location`."""

    gateway: str
    gateway_call_id: str
    number: str | None
    dialled: str
    time: datetime
    trunk: str | None = None
    cell_id: str | None = None
    cell: Location | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayStatusReport:
    """An `answered`, `abandoned` or `ended` event about an offered call."""

    kind: GatewayEventKind
    gateway: str
    gateway_call_id: str
    time: datetime
    operator: str | None = None

    @property
    def request_id(self) -> str:
        """The offered call's client request id."""
        return gateway_request_id(self.gateway, self.gateway_call_id)


def offer_command(offer: GatewayOffer) -> ReceiveCall:
    """The dispatch command that records an offered call (idempotent on the gateway call id)."""
    details = {"gateway": offer.gateway, "gateway_call_id": offer.gateway_call_id}
    if offer.trunk is not None:
        details["trunk"] = offer.trunk
    if offer.cell_id is not None:
        details["cell_id"] = offer.cell_id
    details["offered_at"] = offer.time.isoformat()
    return ReceiveCall(
        channel=Channel.PHONE,
        caller=Caller(number=offer.number),
        dialled=offer.dialled,
        location=offer.cell,
        client_request_id=gateway_request_id(offer.gateway, offer.gateway_call_id),
        details=details,
    )


def status_event(
    *,
    call_id: CallId,
    current: CallStatus,
    kind: GatewayEventKind,
    request_id: str,
    now: datetime,
    plate: int | None,
    operator: str | None = None,
) -> CallStatusChanged | None:
    """The status change a later gateway event makes, or None when it changes nothing.

    A repeated final status is None (a retry); a different status after the call ended or was
    abandoned is `CallAlreadyEnded`. `answered` after `answered` by another operator is a
    transfer and is recorded.
    """
    status = _STATUS[kind]
    if current in _FINAL:
        if status is current:
            return None
        raise CallAlreadyEnded("the call has already ended or been abandoned")
    suffix = f":{operator}" if kind is GatewayEventKind.ANSWERED and operator else ""
    return CallStatusChanged(
        occurred_at=now,
        idempotency_key=f"phone:{request_id}:{kind}{suffix}",
        plate=plate,
        call_id=call_id,
        status=status,
        operator=OperatorId(operator) if operator else None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Callback:
    """An abandoned call waiting for an operator to call back."""

    call_id: CallId
    incident_id: IncidentId
    number: str
    abandoned_at: datetime
    centre: CentreId | None = None
    plate: int | None = None
    dialled: str = "112"

    def to_json_dict(self) -> dict[str, object]:
        """The entry as `GET /api/v1/callbacks` lists it."""
        return {
            "call_id": self.call_id,
            "incident_id": self.incident_id,
            "number": self.number,
            "abandoned_at": self.abandoned_at.isoformat(),
            "centre": self.centre,
            "plate": self.plate,
            "dialled": self.dialled,
        }


@dataclass(slots=True)
class CallbackBook:
    """The callback list, folded from the log in order (see the module docstring)."""

    _open: OrderedDict[CallId, Callback] = field(default_factory=OrderedDict)
    _by_number: dict[str, set[CallId]] = field(default_factory=dict)
    superseded: int = 0
    completed: int = 0

    def __len__(self) -> int:
        return len(self._open)

    def abandoned(self, callback: Callback) -> None:
        """An abandoned call with a number joins the list."""
        self._open[callback.call_id] = callback
        self._by_number.setdefault(callback.number, set()).add(callback.call_id)

    def call_received(self, number: str) -> None:
        """The number called again: its waiting callbacks are superseded by the new call."""
        for call_id in self._by_number.pop(number, set()):
            del self._open[call_id]
            self.superseded += 1

    def complete(self, call_id: CallId) -> None:
        """An operator recorded the callback's outcome."""
        if self._drop(call_id):
            self.completed += 1

    def forget(self, call_ids: Iterable[CallId]) -> None:
        """These calls' incident was archived: their callbacks leave the list."""
        for call_id in call_ids:
            self._drop(call_id)

    def _drop(self, call_id: CallId) -> bool:
        callback = self._open.pop(call_id, None)
        if callback is None:
            return False
        waiting = self._by_number.get(callback.number)
        if waiting is not None:
            waiting.discard(call_id)
            if not waiting:
                del self._by_number[callback.number]
        return True

    def copy(self) -> CallbackBook:
        """A book of its own with the same entries and counters (for snapshots)."""
        return CallbackBook(
            _open=OrderedDict(self._open),
            _by_number={number: set(calls) for number, calls in self._by_number.items()},
            superseded=self.superseded,
            completed=self.completed,
        )

    def get(self, call_id: CallId) -> Callback | None:
        """The waiting callback of a call, if any."""
        return self._open.get(call_id)

    def entries(self) -> list[Callback]:
        """Waiting callbacks, the longest waiting first."""
        return list(self._open.values())
