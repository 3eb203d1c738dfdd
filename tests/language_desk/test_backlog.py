"""The detection backlog: bounded, and a full backlog is reported once, not once per call."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import cast

import pytest

from dispatch.core.projections import Recorded
from dispatch.model.call_taking_events import LanguageFlagged
from dispatch.model.events import CallReceived
from dispatch.model.ids import CallId, IncidentId
from dispatch.ports import EnginePort
from language_desk.service import LanguageDeskService, LanguageDeskSettings
from tests.gamer_coordination.events import T0, Log


def test_a_full_backlog_skips_calls_and_warns_once_per_episode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Replaying a long log queues every undetected call: past the bound calls are skipped,
    counted, and the log gets one warning when it fills and one when it drains."""
    # The service only reads events here; the worker (the engine's user) never runs.
    service = LanguageDeskService(cast("EnginePort", object()), LanguageDeskSettings(max_pending=3))
    log = Log()
    with caplog.at_level(logging.WARNING, logger="language_desk.service"):
        for number in range(1, 11):
            service.on_committed(log.call(number, 34))
    assert service.backlog == 3
    assert service.skipped == 7
    full = [r for r in caplog.records if "backlog full" in r.getMessage()]
    assert len(full) == 1
    caplog.clear()
    service._pending.clear()
    with caplog.at_level(logging.WARNING, logger="language_desk.service"):
        service.on_committed(log.call(11, 34))
    assert service.backlog == 1
    assert [r.getMessage() for r in caplog.records] == [
        "language detection backlog half drained: 7 calls were left undetected"
    ]


def test_a_call_with_no_evidence_waits_for_some() -> None:
    """No text, no caller choice, no IVR digit, no MCC: the home language holds and the desk
    records nothing; a call-taker's flag later puts the call up for a decision."""
    service = LanguageDeskService(cast("EnginePort", object()))
    log = Log()
    received, opened = log.call(1, 34)
    assert isinstance(received.event, CallReceived)
    silent = replace(received.event, text=None)
    service.on_committed([Recorded(received.seq, silent), opened])
    assert service.backlog == 0
    assert service.calls[CallId("call-1")].route_language == "tr"
    service.on_committed(
        log.add(
            LanguageFlagged(
                occurred_at=T0,
                plate=34,
                call_id=CallId("call-1"),
                incident_id=IncidentId("inc-1"),
                flag="foreign",
                actor="op-7",
            )
        )
    )
    assert service.backlog == 1
    assert service.verdict(service.calls[CallId("call-1")]).language == "und"
