"""GAMER on the real engine: the archivist empties it, a restart from a snapshot restores it."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from dispatch.core.projections import Recorded
from dispatch.model.events import IncidentArchived
from dispatch.service import Engine
from gamer_coordination.adapters.ws import DashboardHub, HubSnapshots
from gamer_coordination.periods import hour_of, hour_start
from gamer_coordination.projections import Coordination, incident_key
from gamer_coordination.push import PushLedger
from gamer_coordination.sitrep import report_of
from tests.conftest import Database
from tests.dispatch.test_archive import T0, engine_on
from tests.dispatch.test_snapshots import _traffic as traffic
from tests.dispatch.test_units_support import ControlledClock


@dataclass
class Gamer:
    """GAMER's two folds, subscribed as ``gamer_coordination.lifespan`` does."""

    hub: DashboardHub = field(default_factory=lambda: DashboardHub(Coordination()))
    ledger: PushLedger = field(default_factory=PushLedger)

    def install(self, engine: Engine, *, snapshot: bool = True) -> None:
        engine.subscribe(self.hub.on_records, snapshot=HubSnapshots(self.hub) if snapshot else None)
        engine.subscribe(self.fold_pushes, snapshot=self.ledger if snapshot else None)

    def fold_pushes(self, records: Sequence[Recorded]) -> None:
        """The ledger's listener (as ``GamerRuntime.on_records`` without a broker)."""
        self.ledger.apply(records)


def _engine(
    database: Database, gamer: Gamer, clock: ControlledClock | None = None, *, snapshot: bool = True
) -> AbstractAsyncContextManager[Engine]:
    return engine_on(
        database, clock or ControlledClock(T0), lambda e: gamer.install(e, snapshot=snapshot)
    )


async def _archived(engine: Engine) -> list[str]:
    """The incidents the archivist archived, read back from the log."""
    found: list[str] = []
    async for page in engine.log.replay(after=0):
        found += [r.event.incident_id for r in page if isinstance(r.event, IncidentArchived)]
    return found


async def test_archived_incidents_leave_gamer_and_a_restart_restores_it(
    database: Database,
) -> None:
    """Archived incidents are gone but counted; restored from a snapshot == folded whole."""
    gamer, clock = Gamer(), ControlledClock(T0)
    async with _engine(database, gamer, clock) as engine:
        await traffic(engine, clock, 0, 12)
        at = await engine.save_snapshot()
        await traffic(engine, clock, 12, 9)
        head = engine.state.last_seq
        archived = await _archived(engine)
    assert archived, "the archivist archived some"
    projection = gamer.hub.projection
    for incident_id in archived:
        assert projection.view(incident_key(incident_id)) is None
    assert projection.held == (21 - len(archived), 21 - len(archived))
    start = hour_start(hour_of(T0))
    report = report_of(
        projection, plate=None, start=start, end=start + timedelta(days=1), generated_at=T0
    )
    assert report.incidents == 21
    assert report.by_status == {"new": 11, "unfounded": 10}

    restarted = Gamer()
    async with _engine(database, restarted) as engine:
        assert engine.restored_seq == at
        assert at is not None
        assert at < head
    whole = Gamer()
    async with _engine(database, whole, snapshot=False) as engine:
        assert engine.restored_seq == 0
    for folded in (restarted, whole):
        assert folded.hub.projection._saved() == projection._saved()
        assert folded.ledger.messages == gamer.ledger.messages
        assert set(folded.hub._versions) == set(projection.current_keys())
