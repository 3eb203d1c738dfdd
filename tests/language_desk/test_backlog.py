"""The detection backlog: bounded, and a full backlog is reported once, not once per call."""

from __future__ import annotations

import logging
from typing import cast

import pytest

from dispatch.ports import EnginePort
from language_desk.service import LanguageDeskService, LanguageDeskSettings
from tests.gamer_coordination.events import Log


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
        "language detection backlog has room again: 7 calls were left undetected"
    ]
