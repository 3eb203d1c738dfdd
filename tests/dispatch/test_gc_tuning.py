"""Freezing long-lived objects: survivors leave the collector's generations."""

from __future__ import annotations

import gc

from dispatch.app.gc_tuning import freeze_survivors


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
