"""The eCall desk's rules and dedupe, against the real engine and event log (SQLite, PostgreSQL).

The locator and the clock are hand-written fakes injected at the engine's ports; the
engine, its log and the projections are the real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest

from dispatch.adapters.store import EventLog, create_engine
from dispatch.model.access import AccessDenied, Principal
from dispatch.model.centres import CENTRAL_DESK
from dispatch.model.events import CallReceived, Event
from dispatch.model.ids import CentreId
from dispatch.model.values import Placement
from dispatch.model.vocabulary import Agency, Ground, Priority, Role
from dispatch.service import Engine
from ecall.bench_ingest import fleet_msd, vin_for
from ecall.events import EcallCaseOpened, EcallHandedOff, EcallMsdUpdated, EcallTestCallLogged
from ecall.msd import PropulsionStorage, decode_msd
from ecall.service import (
    GATEWAY_PRINCIPAL,
    AckStatus,
    EcallService,
    agencies_for,
    hazards_of,
    plan_case,
    priority_for,
    rejection_code,
    track_of,
)
from ecall.settings import EcallSettings, load_ecall_settings
from tests.conftest import Database

ANKARA = (143_538_120, 118_208_160)  # 39.8717 N, 32.8356 E
RURAL = (140_000_000, 118_000_000)  # 38.8889 N: the fake locator calls it gendarmerie ground
ABROAD = (180_000_000, 36_000_000)  # 50 N, 10 E: outside Türkiye


class FakeLocator:
    """Latitude above 39.5 N is Ankara city (police), 36-39.5 N rural Konya, else abroad."""

    def place(self, lat: float, lon: float, radius_m: float | None) -> Placement:
        del lon, radius_m
        if 39.5 <= lat < 40.5:
            return Placement(
                in_service_area=True,
                at_sea=False,
                plate=6,
                province="Ankara",
                district="Çankaya",
                ground=Ground.POLICE,
            )
        if 36.0 <= lat < 39.5:
            return Placement(
                in_service_area=True,
                at_sea=False,
                plate=42,
                province="Konya",
                ground=Ground.GENDARMERIE,
            )
        return Placement(in_service_area=False, at_sea=False)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.time = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.time


@asynccontextmanager
async def running(
    database: Database, clock: FakeClock, settings: EcallSettings | None = None
) -> AsyncIterator[tuple[Engine, EcallService]]:
    """An engine on the test database with the eCall service subscribed before replay."""
    db = create_engine(database.url, schema=database.schema)
    log = EventLog(db)
    engine = Engine(log, locator=FakeLocator(), clock=clock)
    service = EcallService(engine, settings or EcallSettings())
    await log.open()
    await engine.rebuild()
    try:
        async with asyncio.TaskGroup() as tasks:
            writer = tasks.create_task(log.run_writer(), name="test-writer")
            try:
                yield engine, service
            finally:
                writer.cancel()
    finally:
        await db.dispose()


E = TypeVar("E", bound=Event)


def events_of(engine: Engine, kind: type[E]) -> list[E]:
    return [
        r.event
        for incident in engine.state.incidents.values()
        for r in incident.timeline
        if isinstance(r.event, kind)
    ]


# -- pure rules ---------------------------------------------------------------------------------


def test_priority_follows_activation() -> None:
    """Automatic activation is priority 1, a manual button press priority 2."""
    assert priority_for(decode_msd(fleet_msd(vin_for(1), automatic=True))) is Priority.IMMEDIATE
    assert priority_for(decode_msd(fleet_msd(vin_for(1), automatic=False))) is Priority.URGENT


@pytest.mark.parametrize(
    ("flags", "hazards"),
    [
        ({PropulsionStorage.GASOLINE_TANK_PRESENT}, ()),
        ({PropulsionStorage.DIESEL_TANK_PRESENT, PropulsionStorage.OTHER_STORAGE}, ()),
        ({PropulsionStorage.ELECTRIC_ENERGY_STORAGE}, ("electricEnergyStorage",)),
        ({PropulsionStorage.HYDROGEN_STORAGE}, ("hydrogenStorage",)),
        ({PropulsionStorage.COMPRESSED_NATURAL_GAS}, ("compressedNaturalGas",)),
        (
            {PropulsionStorage.GASOLINE_TANK_PRESENT, PropulsionStorage.LIQUID_PROPANE_GAS},
            ("liquidPropaneGas",),
        ),
    ],
)
def test_hazards_are_electric_hydrogen_cng_lpg(
    flags: set[PropulsionStorage], hazards: tuple[str, ...]
) -> None:
    """Only electric, hydrogen, CNG and LPG storage are hazards, and they add fire."""
    msd = decode_msd(fleet_msd(vin_for(2), propulsion=frozenset(flags)))
    assert hazards_of(msd) == hazards
    assert (Agency.FIRE in agencies_for(msd, Ground.POLICE)) == bool(hazards)


@pytest.mark.parametrize(
    ("ground", "agencies"),
    [
        (Ground.POLICE, (Agency.HEALTH, Agency.POLICE)),
        (Ground.GENDARMERIE, (Agency.HEALTH, Agency.GENDARMERIE)),
        (Ground.COAST_GUARD, (Agency.HEALTH, Agency.COAST_GUARD)),
        (None, (Agency.HEALTH, Agency.POLICE, Agency.GENDARMERIE)),
    ],
)
def test_agencies_by_ground(ground: Ground | None, agencies: tuple[Agency, ...]) -> None:
    """Health always; police or gendarmerie by ground; both when the ground is unknown."""
    assert agencies_for(decode_msd(fleet_msd(vin_for(3))), ground) == agencies


def test_track_makes_deltas_absolute_oldest_first() -> None:
    """N1 is relative to the current position, N2 to N1, in 100 mas units; oldest first."""
    track = track_of(decode_msd(fleet_msd(vin_for(4), 7)))
    assert [p.source for p in track] == ["n2", "n1", "current"]
    assert {p.message_identifier for p in track} == {7}
    # fleet_msd: N1 = (-12, +7), N2 = (-11, +6)
    assert track[2].lat == pytest.approx(143_538_120 / 3_600_000)
    assert track[1].lat == pytest.approx((143_538_120 - 1200) / 3_600_000)
    assert track[1].lon == pytest.approx((118_208_160 + 700) / 3_600_000)
    assert track[0].lat == pytest.approx((143_538_120 - 2300) / 3_600_000)
    assert track[0].lon == pytest.approx((118_208_160 + 1300) / 3_600_000)


def test_unknown_position_has_no_track() -> None:
    """positionLatitude 2147483647 (unknown) gives an empty track."""
    msd = decode_msd(fleet_msd(vin_for(5), lat_mas=2147483647, lon_mas=2147483647))
    assert track_of(msd) == ()


def test_rejection_codes_name_the_codec_error() -> None:
    """Metric codes are the codec exception's name in snake case."""
    with pytest.raises(Exception) as caught:
        decode_msd(b"\x03\x05\x01")
    assert rejection_code(caught.value) == "msd_truncated"


def test_settings_refuse_unknown_keys_and_wildcards() -> None:
    """The [ecall] table forbids unknown keys, wildcard prefixes and inverted back-off."""
    assert load_ecall_settings({}).update_window_s == 3600
    for bad in (
        {"topic": "x"},
        {"topic_prefix": "ng112/+"},
        {"topic_prefix": "ng112/ecall/"},
        {"update_window_s": 0},
        {"reconnect_min_s": 5, "reconnect_max_s": 1},
    ):
        with pytest.raises(ValueError):
            load_ecall_settings(bad)


# -- against the engine -------------------------------------------------------------------------


async def test_crash_opens_case_at_central_then_hands_off(database: Database) -> None:
    """A trusted crash in Ankara: call at the central desk, case handed to centre 06."""
    async with running(database, FakeClock()) as (engine, service):
        ack = await service.ingest(fleet_msd(vin_for(10)), GATEWAY_PRINCIPAL)
        assert ack.status is AckStatus.ACCEPTED
        assert ack.incident_id is not None
        incident = engine.state.incidents[ack.incident_id]
        assert ack.call_id is not None
        assert engine.state.calls[ack.call_id].centre == CENTRAL_DESK
        assert incident.centre == "06"
        assert incident.plate == 6
        assert incident.incident_type == "traffic_collision"
        assert incident.priority is Priority.IMMEDIATE
        assert incident.agencies == (Agency.HEALTH, Agency.POLICE)
        kinds = [type(r.event).__name__ for r in incident.timeline]
        assert kinds == ["CallReceived", "IncidentOpened", "EcallCaseOpened", "EcallHandedOff"]
        opened = events_of(engine, EcallCaseOpened)[0]
        assert opened.occupants == 3
        assert opened.direction_deg == 90
        assert opened.vehicle_type == "passengerVehicleClassM1"
        assert len(opened.track) == 3
        handoff = events_of(engine, EcallHandedOff)[0]
        assert (handoff.from_centre, handoff.to_centre, handoff.plate) == (CENTRAL_DESK, "06", 6)
        assert engine.state.open_by_centre[CentreId("06")] == 1
        assert engine.state.open_by_centre[CENTRAL_DESK] == 0


async def test_manual_electric_rural_crash(database: Database) -> None:
    """Manual press, electric car, rural ground: priority 2, gendarmerie, fire, hazard shown."""
    msd = fleet_msd(
        vin_for(11),
        lat_mas=RURAL[0],
        lon_mas=RURAL[1],
        automatic=False,
        propulsion=frozenset({PropulsionStorage.ELECTRIC_ENERGY_STORAGE}),
    )
    async with running(database, FakeClock()) as (engine, service):
        ack = await service.ingest(msd, GATEWAY_PRINCIPAL)
        assert ack.incident_id is not None
        incident = engine.state.incidents[ack.incident_id]
        assert incident.centre == "42"
        assert incident.priority is Priority.URGENT
        assert incident.agencies == (Agency.HEALTH, Agency.GENDARMERIE, Agency.FIRE)
        assert events_of(engine, EcallCaseOpened)[0].hazards == ("electricEnergyStorage",)
        assert ack.call_id is not None
        received = engine.state.calls[ack.call_id].received
        assert received is not None
        assert isinstance(received.event, CallReceived)
        assert received.event.details["hazards"] == "electricEnergyStorage"


@pytest.mark.parametrize(
    ("trusted", "position"), [(False, ANKARA), (True, ABROAD)], ids=["untrusted", "abroad"]
)
async def test_unplaceable_case_stays_at_central_desk(
    database: Database, trusted: bool, position: tuple[int, int]
) -> None:
    """Untrusted or outside every province: no hand-off, the case waits at the central desk."""
    msd = fleet_msd(vin_for(12), lat_mas=position[0], lon_mas=position[1], trusted=trusted)
    async with running(database, FakeClock()) as (engine, service):
        ack = await service.ingest(msd, GATEWAY_PRINCIPAL)
        assert ack.incident_id is not None
        incident = engine.state.incidents[ack.incident_id]
        assert incident.centre == CENTRAL_DESK
        assert incident.plate is None
        assert events_of(engine, EcallHandedOff) == []
        opened = events_of(engine, EcallCaseOpened)[0]
        assert opened.position_can_be_trusted is trusted
        assert len(opened.track) == 3  # the reported track travels with the case anyway
        assert (incident.location is None) is (not trusted)


async def test_test_call_is_logged_never_an_incident(database: Database) -> None:
    """testCall true: acknowledged as "test", logged, no call or incident opened."""
    async with running(database, FakeClock()) as (engine, service):
        ack = await service.ingest(fleet_msd(vin_for(13), test_call=True), GATEWAY_PRINCIPAL)
        again = await service.ingest(fleet_msd(vin_for(13), test_call=True), GATEWAY_PRINCIPAL)
        assert ack.status is AckStatus.TEST
        assert ack.incident_id is None
        assert (again.status, again.original_status) == (AckStatus.DUPLICATE, AckStatus.TEST)
        assert again.call_id == ack.call_id
        assert engine.state.incidents == {}
        assert engine.state.calls == {}
        assert service.ledger.test_calls == 1
        original = engine.state.original(f"ecall:{vin_for(13)}:1")
        assert original is not None
        assert isinstance(original.event, EcallTestCallLogged)


async def test_retransmission_is_the_same_call(database: Database) -> None:
    """The same VIN and messageIdentifier again: the original ids, status duplicate, no write."""
    async with running(database, FakeClock()) as (engine, service):
        first = await service.ingest(fleet_msd(vin_for(14)), GATEWAY_PRINCIPAL)
        head = engine.log.head
        again = await asyncio.gather(
            *(service.ingest(fleet_msd(vin_for(14)), GATEWAY_PRINCIPAL) for _ in range(5))
        )
        assert {(a.call_id, a.incident_id, a.status) for a in again} == {
            (first.call_id, first.incident_id, AckStatus.DUPLICATE)
        }
        assert engine.log.head == head
        assert len(engine.state.incidents) == 1


async def test_update_within_window_extends_the_same_case(database: Database) -> None:
    """A new messageIdentifier within the window updates the case; later it opens a new one."""
    clock = FakeClock()
    vin = vin_for(15)
    async with running(database, clock) as (engine, service):
        first = await service.ingest(fleet_msd(vin, 1), GATEWAY_PRINCIPAL)
        clock.time += timedelta(minutes=10)
        moved = fleet_msd(vin, 2, lat_mas=ANKARA[0] + 3600, lon_mas=ANKARA[1])
        update = await service.ingest(moved, GATEWAY_PRINCIPAL)
        assert update.status is AckStatus.UPDATED
        assert (update.call_id, update.incident_id) == (first.call_id, first.incident_id)
        assert first.incident_id is not None
        case = service.ledger.by_incident[first.incident_id]
        assert case.message_identifiers == [1, 2]
        assert len(case.track) == 6
        assert [p.message_identifier for p in case.track] == [1, 1, 1, 2, 2, 2]
        assert len(engine.state.incidents) == 1
        updated = events_of(engine, EcallMsdUpdated)
        assert len(updated) == 1
        assert engine.state.incidents[first.incident_id].location is not None
        # A window (one hour after the last MSD) later, a new identifier is a new case.
        clock.time += timedelta(hours=1, seconds=1)
        later = await service.ingest(fleet_msd(vin, 3), GATEWAY_PRINCIPAL)
        assert later.status is AckStatus.ACCEPTED
        assert later.incident_id != first.incident_id
        assert len(engine.state.incidents) == 2


async def test_trusted_update_hands_off_an_untrusted_case(database: Database) -> None:
    """A case kept at the central desk is handed off once an update brings a trusted position."""
    vin = vin_for(16)
    async with running(database, FakeClock()) as (engine, service):
        first = await service.ingest(fleet_msd(vin, 1, trusted=False), GATEWAY_PRINCIPAL)
        assert first.incident_id is not None
        assert engine.state.incidents[first.incident_id].centre == CENTRAL_DESK
        await service.ingest(fleet_msd(vin, 2, trusted=True), GATEWAY_PRINCIPAL)
        incident = engine.state.incidents[first.incident_id]
        assert incident.centre == "06"
        assert incident.plate == 6
        assert service.ledger.by_incident[first.incident_id].centre == "06"


async def test_bad_msd_and_vin_mismatch_write_nothing(database: Database) -> None:
    """A malformed MSD or a topic VIN that is not the MSD's: rejected with a reason, no event."""
    async with running(database, FakeClock()) as (engine, service):
        truncated = await service.ingest(fleet_msd(vin_for(17))[:12], GATEWAY_PRINCIPAL)
        version = await service.ingest(b"\x07" + bytes(30), GATEWAY_PRINCIPAL)
        huge = await service.ingest(bytes(10_000), GATEWAY_PRINCIPAL)
        mismatch = await service.ingest(
            fleet_msd(vin_for(17)), GATEWAY_PRINCIPAL, topic_vin=vin_for(18)
        )
        assert [a.status for a in (truncated, version, huge, mismatch)] == [AckStatus.REJECTED] * 4
        assert truncated.code == "msd_truncated"
        assert version.code == "unsupported_msd_version"
        assert huge.code == "msd_too_long"
        assert mismatch.code == "vin_mismatch"
        assert mismatch.message_identifier == 1
        for ack in (truncated, version, mismatch):
            assert ack.reason
            assert vin_for(17) not in ack.reason
        assert engine.log.head == 0
        assert service.rejections["msd_truncated"] == 1


async def test_principals_that_may_not_ingest_are_refused(database: Database) -> None:
    """Only ingesting roles may submit an eCall."""
    coordinator = Principal(subject="c", role=Role.PROVINCIAL_COORDINATOR, province=6)
    async with running(database, FakeClock()) as (engine, service):
        with pytest.raises(AccessDenied, match="may not submit"):
            await service.ingest(fleet_msd(vin_for(19)), coordinator)
        assert engine.log.head == 0


async def test_cases_and_answers_survive_a_restart(database: Database) -> None:
    """After a restart the ledger is rebuilt: a resend is a duplicate, an update joins the case."""
    clock = FakeClock()
    vin = vin_for(20)
    async with running(database, clock) as (_engine, service):
        first = await service.ingest(fleet_msd(vin, 1), GATEWAY_PRINCIPAL)
    async with running(database, clock) as (engine, service):
        again = await service.ingest(fleet_msd(vin, 1), GATEWAY_PRINCIPAL)
        update = await service.ingest(fleet_msd(vin, 2), GATEWAY_PRINCIPAL)
        assert (again.status, again.call_id) == (AckStatus.DUPLICATE, first.call_id)
        assert (update.status, update.incident_id) == (AckStatus.UPDATED, first.incident_id)
        assert engine.state.incidents[update.incident_id].centre == "06"  # type: ignore[index]


async def test_call_committed_without_case_events_is_completed_on_resend(
    database: Database,
) -> None:
    """If the process died between the call and the eCall events, the resend completes them."""
    vin = vin_for(21)
    async with running(database, FakeClock()) as (engine, service):
        plan_msd = decode_msd(fleet_msd(vin))
        call = await engine.receive_call(
            plan_case(plan_msd, engine.locator.place(39.87, 32.83, 50)).command,
            GATEWAY_PRINCIPAL,
        )
        ack = await service.ingest(fleet_msd(vin), GATEWAY_PRINCIPAL)
        assert ack.status is AckStatus.ACCEPTED
        assert (ack.call_id, ack.incident_id) == (call.call_id, call.incident_id)
        assert len(engine.state.incidents) == 1
        assert len(events_of(engine, EcallCaseOpened)) == 1
        assert engine.state.incidents[call.incident_id].centre == "06"


async def test_the_ledger_comes_back_from_a_snapshot(database: Database) -> None:
    """A snapshot saved mid-way restores the ledger; only the events after it are folded, and
    the update that follows joins the case the snapshot held."""
    clock = FakeClock()
    vin = vin_for(22)
    async with running(database, clock) as (engine, service):
        first = await service.ingest(fleet_msd(vin, 1), GATEWAY_PRINCIPAL)
        await service.ingest(fleet_msd(vin_for(23), 1, test_call=True), GATEWAY_PRINCIPAL)
        saved = await engine.save_snapshot()
        clock.time += timedelta(minutes=5)
        await service.ingest(fleet_msd(vin, 2), GATEWAY_PRINCIPAL)
        before = service.ledger.snapshot()
    async with running(database, clock) as (engine, service):
        assert engine.restored_seq == saved
        assert service.ledger.snapshot() == before
        update = await service.ingest(fleet_msd(vin, 3), GATEWAY_PRINCIPAL)
        assert (update.status, update.incident_id) == (AckStatus.UPDATED, first.incident_id)
        assert first.incident_id is not None
        assert service.ledger.by_incident[first.incident_id].message_identifiers == [1, 2, 3]
