"""Where is it: il/ilçe and jurisdiction lookup on real boundaries, location fusion, travel times.

Load a :class:`Gazetteer` once at start (``Gazetteer.load()``), then call
``gazetteer.locate(lat, lon, radius_m)`` per call. :func:`fuse` combines a call's location
evidence into one estimate. The data comes from ``python -m routing.build_data`` (see
``routing/DATA.md``).
"""

from routing.boundaries import DistrictDataset, GroundDataset, RoutingSettings
from routing.errors import (
    BoundaryDataError,
    DataBuildError,
    InvalidCoordinates,
    InvalidEvidence,
    InvalidRadius,
    RoadGraphError,
    RoutingError,
    RoutingSettingsError,
    UnknownProvince,
)
from routing.fusion import (
    DEFAULT_POLICY,
    Evidence,
    EvidenceKind,
    FusionPolicy,
    FusionReason,
    LocationEstimate,
    fuse,
)
from routing.ground import Ground
from routing.locate import (
    BulkLocation,
    DistrictInfo,
    DistrictRef,
    Gazetteer,
    LocateResult,
    ProvinceInfo,
    ProvinceRef,
)

__all__ = [
    "DEFAULT_POLICY",
    "BoundaryDataError",
    "BulkLocation",
    "DataBuildError",
    "DistrictDataset",
    "DistrictInfo",
    "DistrictRef",
    "Evidence",
    "EvidenceKind",
    "FusionPolicy",
    "FusionReason",
    "Gazetteer",
    "Ground",
    "GroundDataset",
    "InvalidCoordinates",
    "InvalidEvidence",
    "InvalidRadius",
    "LocateResult",
    "LocationEstimate",
    "ProvinceInfo",
    "ProvinceRef",
    "RoadGraphError",
    "RoutingError",
    "RoutingSettings",
    "RoutingSettingsError",
    "UnknownProvince",
    "fuse",
]
