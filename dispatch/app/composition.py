"""Wiring every package into one runnable ng112 process (the only module that imports all)."""

from __future__ import annotations

import logging

from aiohttp import web

from dispatch.app.settings import Settings
from dispatch.app.web import build_app
from dispatch.ports import Clock

logger = logging.getLogger(__name__)


def compose(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """The application with every package's lifespan and routes."""
    return build_app(settings, clock=clock)
