"""Freezing long-lived objects: survivors leave the collector's generations."""

from __future__ import annotations

import contextlib
import gc

from aiohttp import web

from dispatch.app.gc_tuning import bulk_load, freeze_survivors, gc_lifespan


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


def test_a_bulk_load_collects_nothing_and_freezes_what_it_built() -> None:
    """While the log is replayed nothing is collected; after it, what it built is frozen
    and the collector is as it was (on, or off if it was off)."""
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    try:
        before = gc.get_freeze_count()
        with bulk_load():
            built = [{"seq": i, "payload": [i]} for i in range(200_000)]
            assert not gc.isenabled()
        assert collections == []
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + 2 * len(built)
    finally:
        gc.callbacks.remove(count)
        gc.unfreeze()
    gc.disable()
    try:
        with bulk_load():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
