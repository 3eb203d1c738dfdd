"""Location fusion: table tests for freshness, precision, trust, pins, ageing and conflicts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.errors import InvalidEvidence
from routing.fusion import (
    Evidence,
    EvidenceKind,
    FusionPolicy,
    FusionReason,
    LocationEstimate,
    fuse,
)

NOW = datetime(2026, 2, 6, 1, 17, 30, tzinfo=UTC)
K = EvidenceKind


def ev(
    kind: EvidenceKind,
    radius_m: float,
    age_s: float = 0.0,
    *,
    lat: float = 41.0,
    lon: float = 29.0,
    trusted: bool = True,
    evidence_id: str | None = None,
    method: str | None = None,
) -> Evidence:
    """A piece of evidence taken ``age_s`` seconds before NOW."""
    return Evidence(
        kind=kind,
        lat=lat,
        lon=lon,
        radius_m=radius_m,
        at=NOW - timedelta(seconds=age_s),
        trusted=trusted,
        evidence_id=evidence_id,
        method=method,
    )


# (label, evidence, expected index, expected reason)
TABLE: list[tuple[str, list[Evidence], int, FusionReason]] = [
    ("single AML fix", [ev(K.AML, 20, 5)], 0, FusionReason.ONLY_EVIDENCE),
    ("precise AML beats cell", [ev(K.CELL, 2000), ev(K.AML, 15)], 1, FusionReason.BEST_SCORE),
    (
        "fresh cell beats hour-old AML (aged 5.4 km)",
        [ev(K.AML, 10, 3600), ev(K.CELL, 1500)],
        1,
        FusionReason.BEST_SCORE,
    ),
    (
        "two-minute-old AML still beats cell",
        [ev(K.AML, 10, 120), ev(K.CELL, 1500)],
        0,
        FusionReason.BEST_SCORE,
    ),
    (
        "trusted eCall beats untrusted app of equal radius",
        [ev(K.APP, 30, trusted=False), ev(K.ECALL, 30)],
        1,
        FusionReason.BEST_SCORE,
    ),
    (
        "untrusted counts double: 15 m untrusted loses to 25 m trusted",
        [ev(K.ECALL, 15, trusted=False), ev(K.AML, 25)],
        1,
        FusionReason.BEST_SCORE,
    ),
    (
        "untrusted but much more precise wins",
        [ev(K.ECALL, 10, trusted=False), ev(K.CELL, 900)],
        0,
        FusionReason.BEST_SCORE,
    ),
    (
        "tie goes to the newer piece",
        [ev(K.AML, 20, 0), ev(K.CIVIC, 20, 10)],
        0,
        FusionReason.BEST_SCORE,
    ),
    (
        "exact tie goes to the later piece",
        [ev(K.AML, 20), ev(K.PIDF, 20)],
        1,
        FusionReason.BEST_SCORE,
    ),
    (
        "a crashed car's position ages slowly",
        [ev(K.ECALL, 20, 600), ev(K.AML, 200, 0)],
        1,
        FusionReason.BEST_SCORE,
    ),
    (
        "civic address does not age",
        [ev(K.CIVIC, 50, 3600), ev(K.CELL, 800)],
        0,
        FusionReason.BEST_SCORE,
    ),
    (
        "operator pin beats a precise fresh AML",
        [ev(K.OPERATOR_PIN, 100, 60), ev(K.AML, 5, 0)],
        0,
        FusionReason.OPERATOR_PIN,
    ),
    (
        "newest pin wins among pins",
        [ev(K.OPERATOR_PIN, 10, 60), ev(K.OPERATOR_PIN, 300, 5)],
        1,
        FusionReason.OPERATOR_PIN,
    ),
    (
        "future timestamp counts as now",
        [ev(K.AML, 20, -30), ev(K.AML, 25, 0)],
        0,
        FusionReason.BEST_SCORE,
    ),
]


@pytest.mark.parametrize("case", TABLE, ids=[c[0] for c in TABLE])
def test_fusion_table(case: tuple[str, list[Evidence], int, FusionReason]) -> None:
    """Each row: the expected piece of evidence is chosen, for the expected reason."""
    _, evidence, index, reason = case
    estimate = fuse(evidence, now=NOW)
    assert estimate is not None
    assert estimate.evidence_index == index
    assert estimate.reason is reason
    assert estimate.source is evidence[index].kind


def test_no_evidence() -> None:
    """No evidence, or only withdrawn evidence, gives no estimate."""
    assert fuse([], now=NOW) is None
    assert fuse([ev(K.OPERATOR_PIN, 10, evidence_id="p1")], now=NOW, withdrawn={"p1"}) is None


def test_ageing_grows_radius() -> None:
    """The radius grows by the kind's speed times the age; the age is reported."""
    estimate = fuse([ev(K.AML, 20, 100)], now=NOW)
    assert estimate is not None
    assert estimate.radius_m == pytest.approx(20 + 1.5 * 100)
    assert estimate.age_s == pytest.approx(100)
    slow = fuse([ev(K.AML, 20, 100)], now=NOW, policy=FusionPolicy(ageing_m_per_s={}))
    assert slow is not None
    assert slow.radius_m == pytest.approx(20 + 1.5 * 100)
    still = fuse([ev(K.AML, 20, 100)], now=NOW, policy=FusionPolicy(ageing_m_per_s={K.AML: 0}))
    assert still is not None
    assert still.radius_m == 20


def test_pin_is_never_silently_replaced() -> None:
    """A pin stays the estimate when newer evidence arrives, which is flagged, not swapped in."""
    pin = ev(K.OPERATOR_PIN, 50, 120, lat=41.01, evidence_id="pin-1")
    aml = ev(K.AML, 5, 0, evidence_id="aml-2")
    estimate = fuse([pin, aml], now=NOW)
    assert estimate is not None
    assert estimate.evidence_id == "pin-1"
    assert estimate.reason is FusionReason.OPERATOR_PIN
    assert estimate.newer_evidence == 1
    assert estimate.radius_m == 50  # a pin does not age
    older = fuse([ev(K.AML, 5, 300), pin], now=NOW)
    assert older is not None
    assert older.newer_evidence is None


def test_withdrawn_pin_hands_back_to_evidence() -> None:
    """Once the operator removes the pin, the best automatic evidence is the estimate again."""
    evidence = [ev(K.OPERATOR_PIN, 50, 120, evidence_id="pin-1"), ev(K.AML, 5, 0)]
    estimate = fuse(evidence, now=NOW, withdrawn={"pin-1"})
    assert estimate is not None
    assert estimate.source is K.AML
    assert estimate.reason is FusionReason.ONLY_EVIDENCE


def test_conflicting_evidence_is_reported() -> None:
    """Evidence whose circle does not touch the estimate's circle is listed as a conflict."""
    near = ev(K.CELL, 2000, lat=41.005)  # about 550 m away, inside the cell
    far = ev(K.ECALL, 30, lat=41.2, trusted=False)  # about 22 km away
    estimate = fuse([ev(K.AML, 10), near, far], now=NOW)
    assert estimate is not None
    assert estimate.evidence_index == 0
    assert estimate.conflicts == (2,)


def test_evidence_list_is_untouched() -> None:
    """Fusion keeps every piece: the input is not changed or reordered."""
    evidence = (ev(K.CELL, 900), ev(K.AML, 10), ev(K.OPERATOR_PIN, 40, 10))
    copy = tuple(evidence)
    fuse(evidence, now=NOW)
    assert evidence == copy


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lat": math.nan}, "latitude"),
        ({"lat": 91.0}, "latitude"),
        ({"lon": math.inf}, "longitude"),
        ({"radius_m": -1.0}, "radius"),
        ({"radius_m": math.nan}, "radius"),
        ({"at": datetime(2026, 2, 6, 1, 17)}, "timezone-aware"),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_invalid_evidence(kwargs: dict[str, object], message: str) -> None:
    """Unusable evidence is rejected with a precise reason."""
    base: dict[str, object] = {
        "kind": K.AML,
        "lat": 41.0,
        "lon": 29.0,
        "radius_m": 10.0,
        "at": NOW,
    }
    base.update(kwargs)
    with pytest.raises(InvalidEvidence, match=message):
        Evidence(**base)  # type: ignore[arg-type]


def test_naive_now_rejected() -> None:
    """Fusion needs an aware ``now``."""
    with pytest.raises(InvalidEvidence, match="timezone-aware"):
        fuse([ev(K.AML, 10)], now=datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose


_evidence = st.builds(
    ev,
    st.sampled_from(list(EvidenceKind)),
    st.floats(min_value=0, max_value=100_000),
    st.floats(min_value=-600, max_value=86_400),
    lat=st.floats(min_value=-90, max_value=90),
    lon=st.floats(min_value=-180, max_value=180),
    trusted=st.booleans(),
)


@given(st.lists(_evidence, max_size=8))
def test_fusion_properties(evidence: list[Evidence]) -> None:
    """Any evidence list: an estimate from one of its pieces, a pin when any, radius >= own."""
    estimate = fuse(evidence, now=NOW)
    if not evidence:
        assert estimate is None
        return
    assert isinstance(estimate, LocationEstimate)
    chosen = evidence[estimate.evidence_index]
    assert (estimate.lat, estimate.lon) == (chosen.lat, chosen.lon)
    assert estimate.radius_m >= chosen.radius_m
    has_pin = any(e.kind is K.OPERATOR_PIN for e in evidence)
    assert (estimate.reason is FusionReason.OPERATOR_PIN) == has_pin
    assert estimate.evidence_index not in estimate.conflicts
