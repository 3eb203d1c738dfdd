"""Sign-language (TİD) video sessions: the WebRTC signalling relay's state (pure).

ng112 does not carry the video: the app and the signing operator's console exchange WebRTC
signalling through ng112 (an SDP offer, an SDP answer, ICE candidates) and the media flows
between them. `SignallingRelay` checks each message and decides where it goes:

* an `offer` may come from either end; while one end's offer waits for its answer, a
  competing offer from the other end is refused (glare is resolved by the first offer);
  an offer after a completed negotiation renegotiates;
* an `answer` must answer a waiting offer and come from the other end; it completes the
  negotiation (the service records that media may flow, never the SDP);
* an `ice` candidate is relayed once an offer exists; an empty candidate means end of
  candidates;
* SDP and candidates are opaque strings with size limits (SDP must start with `v=0`, the
  first line every SDP has, and a candidate with `candidate:`);
* a message for an end that is not connected is kept, in order, up to `buffer_max`, and
  handed over when it connects (the app usually offers before an operator has joined).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from intake.errors import SignallingError
from intake.text_chat import Party, SignalFrame

__all__ = ["NegotiationState", "Signal", "SignalKind", "SignallingRelay"]

_MAX_MID: Final = 64
_MAX_MLINE: Final = 64


class SignalKind(enum.StrEnum):
    """The WebRTC signalling messages ng112 relays."""

    OFFER = "offer"
    ANSWER = "answer"
    ICE = "ice"


class NegotiationState(enum.StrEnum):
    """Where the offer/answer exchange is."""

    IDLE = "idle"
    OFFERED = "offered"
    CONNECTED = "connected"


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """A checked signalling message on its way to `to`."""

    sender: Party
    to: Party
    kind: SignalKind
    sdp: str | None = None
    candidate: str | None = None
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None

    def to_json_dict(self) -> dict[str, object]:
        """The message as the receiving end gets it."""
        out: dict[str, object] = {
            "type": "signal",
            "from": str(self.sender),
            "kind": str(self.kind),
        }
        if self.kind is SignalKind.ICE:
            out.update(
                candidate=self.candidate,
                sdp_mid=self.sdp_mid,
                sdp_mline_index=self.sdp_mline_index,
            )
        else:
            out["sdp"] = self.sdp
        return out


@dataclass(slots=True, kw_only=True)
class SignallingRelay:
    """One video session's signalling state; see the module docstring."""

    sdp_max_bytes: int = 16_384
    ice_max_bytes: int = 2_048
    buffer_max: int = 64
    state: NegotiationState = NegotiationState.IDLE
    offerer: Party | None = None
    negotiations: int = 0
    _present: set[Party] = field(default_factory=set)
    _buffers: dict[Party, deque[Signal]] = field(
        default_factory=lambda: {Party.CALLER: deque(), Party.OPERATOR: deque()}
    )

    def _check_sdp(self, frame: SignalFrame) -> str:
        sdp = frame.sdp
        if sdp is None:
            raise SignallingError(f"a {frame.kind} needs an 'sdp' string")
        if len(sdp.encode()) > self.sdp_max_bytes:
            raise SignallingError(f"an SDP is at most {self.sdp_max_bytes} bytes")
        if not sdp.startswith("v=0"):
            raise SignallingError("an SDP must start with its 'v=0' line")
        return sdp

    def _check_ice(self, frame: SignalFrame) -> str:
        candidate = frame.candidate
        if candidate is None:
            raise SignallingError("an ice message needs a 'candidate' string (empty at the end)")
        if len(candidate.encode()) > self.ice_max_bytes:
            raise SignallingError(f"an ICE candidate is at most {self.ice_max_bytes} bytes")
        if candidate and not candidate.startswith("candidate:"):
            raise SignallingError("an ICE candidate must start with 'candidate:'")
        if frame.sdp_mid is not None and len(frame.sdp_mid) > _MAX_MID:
            raise SignallingError(f"sdp_mid is at most {_MAX_MID} characters")
        index = frame.sdp_mline_index
        if index is not None and not 0 <= index <= _MAX_MLINE:
            raise SignallingError(f"sdp_mline_index must be within 0..{_MAX_MLINE}")
        return candidate

    def receive(self, sender: Party, frame: SignalFrame) -> tuple[Signal, bool]:
        """Check a message from `sender`; returns it for the other end and whether it
        completed a negotiation. Raises `SignallingError` with the reason."""
        try:
            kind = SignalKind(frame.kind)
        except ValueError:
            raise SignallingError("a signal's kind is 'offer', 'answer' or 'ice'") from None
        completed = False
        if kind is SignalKind.OFFER:
            sdp = self._check_sdp(frame)
            if self.state is NegotiationState.OFFERED and self.offerer is not sender:
                raise SignallingError("an offer from the other end is waiting for its answer")
            self.state = NegotiationState.OFFERED
            self.offerer = sender
            signal = Signal(sender=sender, to=sender.peer, kind=kind, sdp=sdp)
        elif kind is SignalKind.ANSWER:
            sdp = self._check_sdp(frame)
            if self.state is not NegotiationState.OFFERED:
                raise SignallingError("an answer needs a waiting offer")
            if self.offerer is sender:
                raise SignallingError("an answer must come from the end that got the offer")
            self.state = NegotiationState.CONNECTED
            self.negotiations += 1
            completed = True
            signal = Signal(sender=sender, to=sender.peer, kind=kind, sdp=sdp)
        else:
            candidate = self._check_ice(frame)
            if self.state is NegotiationState.IDLE:
                raise SignallingError("ICE candidates need an offer first")
            signal = Signal(
                sender=sender,
                to=sender.peer,
                kind=kind,
                candidate=candidate,
                sdp_mid=frame.sdp_mid,
                sdp_mline_index=frame.sdp_mline_index,
            )
        if signal.to not in self._present:
            buffer = self._buffers[signal.to]
            if len(buffer) >= self.buffer_max:
                raise SignallingError("too many signalling messages wait for the other end")
            buffer.append(signal)
        return signal, completed

    def is_present(self, party: Party) -> bool:
        """Whether `party` is connected (its messages are delivered at once)."""
        return party in self._present

    def connected(self, party: Party) -> list[Signal]:
        """`party` connected: the messages kept for it, in order (now handed over)."""
        self._present.add(party)
        kept = list(self._buffers[party])
        self._buffers[party].clear()
        return kept

    def disconnected(self, party: Party) -> None:
        """`party` left: messages for it are kept again until it comes back."""
        self._present.discard(party)
