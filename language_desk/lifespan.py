"""Installing the language desk in the engine: settings, the log subscriber, the worker.

``[language_desk]`` settings (all optional)::

    languages = ["en", "de", "ar", "ru"]    # what the central desk serves
    fallback_order = ["en"]                 # for a language it does not serve
    home_language = "tr"
    ivr_digits = {"1" = "tr", "2" = "en", "3" = "de", "4" = "ar", "5" = "ru"}
    text_languages = [...]                  # what the text model chooses among
    text_min_confidence = 0.5
    max_pending = 10000                     # calls waiting for detection
    max_calls = 100000                      # calls remembered

The subscriber is attached at install time, before the log is replayed, so the desk's
knowledge comes back after a restart (from the engine's snapshot and the events after it,
or the whole log); calls received but not yet detected when the process stopped are
detected when the worker starts.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from language_desk.adapters.http import add_routes
from language_desk.detection import DEFAULT_IVR_DIGITS, DEFAULT_TEXT_LANGUAGES, DetectionSettings
from language_desk.routing_rules import DeskSettings
from language_desk.service import LanguageDeskService, LanguageDeskSettings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp import web

    from dispatch.ports import PackageContext

logger = logging.getLogger(__name__)


class LanguageDeskSection(BaseModel):
    """The ``[language_desk]`` settings table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    languages: tuple[str, ...] = ("en", "de", "ar", "ru")
    fallback_order: tuple[str, ...] = ("en",)
    home_language: str = "tr"
    ivr_digits: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_IVR_DIGITS))
    text_languages: tuple[str, ...] = DEFAULT_TEXT_LANGUAGES
    text_min_confidence: float = Field(default=0.5, gt=0, le=1)
    max_pending: int = Field(default=10_000, ge=1)
    max_calls: int = Field(default=100_000, ge=1)

    def to_settings(self) -> LanguageDeskSettings:
        """The service's settings (the pure rules check them again)."""
        return LanguageDeskSettings(
            detection=DetectionSettings(
                home_language=self.home_language,
                text_languages=self.text_languages,
                ivr_digits=dict(self.ivr_digits),
                text_min_confidence=self.text_min_confidence,
            ),
            desk=DeskSettings(
                desk_languages=self.languages,
                fallback_order=self.fallback_order,
                home_language=self.home_language,
            ),
            max_pending=self.max_pending,
            max_calls=self.max_calls,
        )


def install(app: web.Application, context: PackageContext) -> None:
    """Subscribe the desk to the log, add its route and its worker's lifespan."""
    settings = LanguageDeskSection.model_validate(dict(context.section)).to_settings()
    service = LanguageDeskService(context.engine, settings)
    context.engine.subscribe(service.on_committed, snapshot=service)
    add_routes(app, service)

    async def lifespan(_app: web.Application) -> AsyncIterator[None]:
        await service.load_identifier()
        async with asyncio.TaskGroup() as tasks:
            worker = tasks.create_task(service.run(), name="ng112-language-desk")
            try:
                yield
            finally:
                worker.cancel()
                with suppress(asyncio.CancelledError):
                    await worker

    app.cleanup_ctx.append(lifespan)
    logger.info("language desk installed: serves %s", ", ".join(settings.desk.desk_languages))
