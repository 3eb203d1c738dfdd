"""The event loop the engine runs on: uvloop by default, asyncio's own on request."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from dispatch.app import event_loop
from dispatch.app.settings import load_settings


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_uvloop_runs_the_engine_by_default() -> None:
    """``run`` with the default setting gives a uvloop loop; ``asyncio`` gives the stdlib's."""
    assert event_loop.uvloop_available()
    assert issubclass(event_loop.run(_loop_type()), uvloop.Loop)
    stdlib = event_loop.run(_loop_type(), "asyncio")
    assert not issubclass(stdlib, uvloop.Loop)
    assert issubclass(stdlib, asyncio.BaseEventLoop)


def test_the_setting_comes_from_the_environment_and_refuses_other_loops() -> None:
    """``NG112_EVENT_LOOP`` chooses; an unknown loop is refused at start."""
    assert load_settings(config_file=None, environ={}).event_loop == "uvloop"
    chosen = load_settings(config_file=None, environ={"NG112_EVENT_LOOP": "asyncio"})
    assert chosen.event_loop == "asyncio"
    with pytest.raises(ValueError, match="event_loop"):
        load_settings(config_file=None, environ={"NG112_EVENT_LOOP": "trio"})
