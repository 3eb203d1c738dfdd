"""Tests of intake.sign_video: the WebRTC signalling relay's rules and buffering."""

from __future__ import annotations

import pytest

from intake.errors import SignallingError
from intake.sign_video import NegotiationState, SignalKind, SignallingRelay
from intake.text_chat import Party, SignalFrame

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"


def offer(sdp: str = SDP) -> SignalFrame:
    return SignalFrame(request_id="s", kind="offer", sdp=sdp)


def answer(sdp: str = SDP) -> SignalFrame:
    return SignalFrame(request_id="s", kind="answer", sdp=sdp)


def ice(candidate: str = "candidate:1 1 udp 1 192.0.2.1 5000 typ host") -> SignalFrame:
    return SignalFrame(request_id="s", kind="ice", candidate=candidate, sdp_mline_index=0)


def test_offer_answer_ice_with_buffering() -> None:
    """The app offers before the operator is there: the offer and its ICE wait, in order,
    and are handed over on connect; the operator's answer completes the negotiation."""
    relay = SignallingRelay()
    relay.connected(Party.CALLER)
    relay.receive(Party.CALLER, offer())
    relay.receive(Party.CALLER, ice())
    kept = relay.connected(Party.OPERATOR)
    assert [s.kind for s in kept] == [SignalKind.OFFER, SignalKind.ICE]
    assert kept[0].to_json_dict() == {
        "type": "signal",
        "from": "caller",
        "kind": "offer",
        "sdp": SDP,
    }
    signal, completed = relay.receive(Party.OPERATOR, answer())
    assert (signal.to, completed, relay.state) == (Party.CALLER, True, NegotiationState.CONNECTED)
    assert relay.connected(Party.OPERATOR) == []
    relay.receive(Party.OPERATOR, ice(""))  # end of candidates
    relay.receive(Party.OPERATOR, offer())  # renegotiation
    assert relay.offerer is Party.OPERATOR


@pytest.mark.parametrize(
    ("steps", "match"),
    [
        ([(Party.CALLER, SignalFrame(request_id=None, kind="bye"))], "kind"),
        ([(Party.CALLER, answer())], "waiting offer"),
        ([(Party.CALLER, ice())], "offer first"),
        ([(Party.CALLER, offer()), (Party.CALLER, answer())], "end that got the offer"),
        ([(Party.CALLER, offer()), (Party.OPERATOR, offer())], "waiting for its answer"),
        ([(Party.CALLER, offer("o=nope"))], "v=0"),
        ([(Party.CALLER, offer("v=0" + "x" * 20_000))], "at most"),
        ([(Party.CALLER, SignalFrame(request_id=None, kind="offer"))], "needs an 'sdp'"),
        ([(Party.CALLER, offer()), (Party.CALLER, ice("a=candidate"))], "candidate:"),
        ([(Party.CALLER, offer()), (Party.CALLER, ice("candidate:" + "x" * 3000))], "at most"),
    ],
)
def test_refusals(steps: list[tuple[Party, SignalFrame]], match: str) -> None:
    """Each rule breaks with a precise `SignallingError`."""
    relay = SignallingRelay()
    relay.connected(Party.CALLER)
    relay.connected(Party.OPERATOR)
    *ok, (party, last) = steps
    for sender, step in ok:
        relay.receive(sender, step)
    with pytest.raises(SignallingError, match=match):
        relay.receive(party, last)


def test_buffer_is_bounded() -> None:
    """No more than buffer_max messages wait for an absent end."""
    relay = SignallingRelay(buffer_max=2)
    relay.receive(Party.CALLER, offer())
    relay.receive(Party.CALLER, ice())
    with pytest.raises(SignallingError, match="too many"):
        relay.receive(Party.CALLER, ice())
    relay.connected(Party.OPERATOR)
    relay.disconnected(Party.OPERATOR)
    assert not relay.is_present(Party.OPERATOR)
