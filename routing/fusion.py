"""Location fusion: one best position estimate from everything a call has told us (pure).

A call gathers evidence over time: the handset's AML fix (radius, time, method), an eCall
MSD position (trusted or not), the serving cell's centroid, a PIDF-LO shape reduced to a
centre and radius by its codec, a geocoded civic address, a panic app's updates, and the
operator's own pin. :func:`fuse` picks the estimate the operator should see:

* **The operator's pin wins.** The newest pin that has not been withdrawn is the estimate,
  whatever else arrives; newer automatic evidence is *reported* (``newer_evidence``) so the
  console can offer it, never swapped in silently. It stops winning only when the operator
  removes it (its ``evidence_id`` in ``withdrawn``).
* **Otherwise fresh, precise, trusted evidence wins.** Each piece ages: its radius grows by
  ``policy.ageing_m_per_s[kind]`` metres for every second since it was taken (a walking
  caller moves about 1.5 m/s; a crashed car or an address does not move). The *score* is the
  aged radius, multiplied by ``policy.untrusted_factor`` for untrusted evidence (an MSD the
  vehicle could not vouch for, a spoofable app). The lowest score wins; ties go to the
  newer piece, then to the later one in the list.
* Evidence stamped in the future (clock skew) counts as taken ``now``.
* ``conflicts`` lists the evidence whose circle does not even touch the estimate's circle:
  the console should show both.

The function takes ``now`` and never reads a clock; the evidence list is not changed, so the
call's timeline keeps every piece.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from routing.errors import InvalidEvidence

__all__ = [
    "DEFAULT_POLICY",
    "Evidence",
    "EvidenceKind",
    "FusionPolicy",
    "FusionReason",
    "LocationEstimate",
    "fuse",
]


class EvidenceKind(enum.StrEnum):
    """Where a piece of location evidence came from."""

    AML = "aml"
    ECALL = "ecall"
    CELL = "cell"
    PIDF = "pidf"
    CIVIC = "civic"
    OPERATOR_PIN = "operator_pin"
    APP = "app"


class FusionReason(enum.StrEnum):
    """Why the estimate is what it is."""

    OPERATOR_PIN = "operator_pin"  # the operator's pin is in force
    ONLY_EVIDENCE = "only_evidence"  # a single usable piece
    BEST_SCORE = "best_score"  # the smallest aged (and trust-weighted) radius


_MAX_RADIUS_M = 1_000_000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One position report: WGS84 centre, radius in metres, when it was taken, how, trust.

    ``evidence_id`` identifies the piece in the call's timeline (needed to withdraw a pin).
    A civic address counts once it is geocoded (centre and precision from the geocoder).
    """

    kind: EvidenceKind
    lat: float
    lon: float
    radius_m: float
    at: datetime
    method: str | None = None
    trusted: bool = True
    evidence_id: str | None = None

    def __post_init__(self) -> None:
        """Reject evidence that cannot be used, with a precise reason."""
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise InvalidEvidence("evidence latitude must be a finite number within -90..90")
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise InvalidEvidence("evidence longitude must be a finite number within -180..180")
        if not (math.isfinite(self.radius_m) and 0.0 <= self.radius_m <= _MAX_RADIUS_M):
            raise InvalidEvidence("evidence radius must be a finite number within 0..1,000,000 m")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise InvalidEvidence("evidence time must be timezone-aware")


_DEFAULT_AGEING: Mapping[EvidenceKind, float] = MappingProxyType(
    {
        EvidenceKind.AML: 1.5,
        EvidenceKind.APP: 1.5,
        EvidenceKind.PIDF: 1.5,
        EvidenceKind.CELL: 1.5,
        EvidenceKind.ECALL: 0.5,
        EvidenceKind.CIVIC: 0.0,
        EvidenceKind.OPERATOR_PIN: 0.0,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FusionPolicy:
    """How evidence ages and how much less untrusted evidence counts."""

    ageing_m_per_s: Mapping[EvidenceKind, float] = field(default_factory=lambda: _DEFAULT_AGEING)
    untrusted_factor: float = 2.0


DEFAULT_POLICY = FusionPolicy()


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationEstimate:
    """The best estimate: centre, aged radius, and which evidence it came from and why."""

    lat: float
    lon: float
    radius_m: float
    source: EvidenceKind
    evidence_index: int
    evidence_id: str | None
    at: datetime
    age_s: float
    trusted: bool
    method: str | None
    reason: FusionReason
    newer_evidence: int | None = None
    conflicts: tuple[int, ...] = ()


def _age_s(piece: Evidence, now: datetime) -> float:
    return max(0.0, (now - piece.at).total_seconds())


def _aged_radius(piece: Evidence, now: datetime, policy: FusionPolicy) -> float:
    speed = policy.ageing_m_per_s.get(piece.kind, 1.5)
    return piece.radius_m + speed * _age_s(piece, now)


def _distance_m(a: Evidence, b: Evidence) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, h)))


def fuse(
    evidence: Sequence[Evidence],
    *,
    now: datetime,
    withdrawn: Collection[str] = (),
    policy: FusionPolicy = DEFAULT_POLICY,
) -> LocationEstimate | None:
    """The best estimate from ``evidence`` at ``now`` (aware), or ``None`` if there is none."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidEvidence("fusion time must be timezone-aware")
    usable = [
        (k, piece)
        for k, piece in enumerate(evidence)
        if piece.evidence_id is None or piece.evidence_id not in withdrawn
    ]
    if not usable:
        return None
    radii = {k: _aged_radius(piece, now, policy) for k, piece in usable}
    automatic = [(k, p) for k, p in usable if p.kind is not EvidenceKind.OPERATOR_PIN]
    best_auto: int | None = None
    if automatic:
        best_auto = min(
            automatic,
            key=lambda kp: (
                radii[kp[0]] * (1.0 if kp[1].trusted else policy.untrusted_factor),
                -kp[1].at.timestamp(),
                -kp[0],
            ),
        )[0]
    pins = [(k, p) for k, p in usable if p.kind is EvidenceKind.OPERATOR_PIN]
    newer: int | None = None
    if pins:
        chosen = max(pins, key=lambda kp: (kp[1].at.timestamp(), kp[0]))[0]
        reason = FusionReason.OPERATOR_PIN
        if best_auto is not None and evidence[best_auto].at > evidence[chosen].at:
            newer = best_auto
    elif best_auto is not None:
        chosen = best_auto
        reason = FusionReason.ONLY_EVIDENCE if len(usable) == 1 else FusionReason.BEST_SCORE
    else:  # pragma: no cover - usable is non-empty, so there is a pin or an automatic piece
        return None
    piece = evidence[chosen]
    conflicts = tuple(
        k
        for k, other in usable
        if k != chosen and _distance_m(piece, other) > radii[chosen] + radii[k]
    )
    return LocationEstimate(
        lat=piece.lat,
        lon=piece.lon,
        radius_m=radii[chosen],
        source=piece.kind,
        evidence_index=chosen,
        evidence_id=piece.evidence_id,
        at=piece.at,
        age_s=_age_s(piece, now),
        trusted=piece.trusted,
        method=piece.method,
        reason=reason,
        newer_evidence=newer,
        conflicts=conflicts,
    )
