"""Freezing long-lived objects: survivors leave the collector's generations."""

from __future__ import annotations

import contextlib
import gc

from aiohttp import web

from dispatch.app.gc_tuning import freeze_survivors, gc_lifespan


def test_freeze_moves_survivors_to_the_permanent_generation() -> None:
    """Objects alive at a freeze are no longer walked by collections, until unfrozen."""
    keep = [{"n": i} for i in range(1000)]
    try:
        before = gc.get_freeze_count()
        freeze_survivors()
        assert gc.get_freeze_count() >= before + len(keep)
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
    del keep


async def test_the_lifespan_makes_full_collections_rare_and_restores_the_thresholds() -> None:
    """While the engine runs, a full collection waits for ``full_every`` young ones; after
    it stops, CPython's thresholds are back and nothing stays frozen."""
    before = gc.get_threshold()
    lifespan = gc_lifespan(interval_s=3600, full_every=250)
    running = lifespan(web.Application()).__aiter__()
    await running.__anext__()
    try:
        assert gc.get_threshold() == (before[0], before[1], 250)
        assert gc.get_freeze_count() > 0
    finally:
        with contextlib.suppress(StopAsyncIteration):
            await running.__anext__()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
