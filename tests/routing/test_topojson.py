"""TopoJSON decoding: quantised delta arcs, reversed arcs, multipolygons, null geometries."""

from __future__ import annotations

from typing import Any

import pytest
import shapely

from routing.errors import DataBuildError
from routing.topojson import decode_arcs, decode_object

# Two unit squares side by side sharing the arc x=1; quantised with scale 0.5, translate (10, 20).
TOPOLOGY: dict[str, Any] = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.5], "translate": [10, 20]},
    "arcs": [
        [[2, 0], [0, 2]],  # shared edge (1,0)->(1,1) in units: (2,0)->(2,2)
        [[2, 2], [-2, 0], [0, -2], [2, 0]],  # left square rest: (2,2)->(0,2)->(0,0)->(2,0)
        [[2, 0], [2, 0], [0, 2], [-2, 0]],  # right square rest: (2,0)->(4,0)->(4,2)->(2,2)
    ],
    "objects": {
        "countries": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Polygon", "arcs": [[0, 1]], "properties": {"name": "Left"}},
                {"type": "MultiPolygon", "arcs": [[[2, -1]]], "properties": {"name": "Right"}},
                {"type": None, "properties": {"name": "Nothing"}},
            ],
        },
        "bad": {
            "type": "GeometryCollection",
            "geometries": [{"type": "Point", "coordinates": [0, 0]}],
        },
    },
}


def test_arcs_are_dequantised() -> None:
    """Delta-encoded integer positions become absolute longitude/latitude."""
    arcs = decode_arcs(TOPOLOGY)
    assert arcs[0].tolist() == [[11.0, 20.0], [11.0, 21.0]]


def test_polygons_share_their_border() -> None:
    """Both squares decode with area 1 and touch along the shared, reversed arc."""
    features = decode_object(TOPOLOGY, "countries")
    assert [props["name"] for props, _ in features] == ["Left", "Right"]
    left, right = (shape for _, shape in features)
    assert left.area == pytest.approx(1.0)
    assert right.area == pytest.approx(1.0)
    assert left.touches(right)
    assert shapely.union_all([left, right]).equals(shapely.box(10, 20, 12, 21))


def test_unsupported_geometry() -> None:
    """Geometry types other than polygons are refused; a missing object too."""
    with pytest.raises(DataBuildError, match="not supported"):
        decode_object(TOPOLOGY, "bad")
    with pytest.raises(DataBuildError, match="missing"):
        decode_object(TOPOLOGY, "land")
