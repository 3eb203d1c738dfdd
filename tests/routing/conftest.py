"""Shared fixtures for the routing tests: one gazetteer per session, the ../shared reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.build_data import build
from routing.locate import Gazetteer

#: The reference copies next to the repository (only on machines that have them).
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    """The gazetteer over the built data (built first if needed; a no-op when up to date)."""
    build()
    return Gazetteer.load()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that cross-check against it skip where it does not exist."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA.resolve()
