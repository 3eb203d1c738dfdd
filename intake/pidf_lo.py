# Copyright 2025 the ng112 authors. Licensed under the Apache License 2.0.
"""PIDF-LO (RFC 4119, RFC 5491, RFC 5139) parser: location by value from NG112 / NENA i3 gateways.

An NG112 call arrives with a SIP `Geolocation: <cid:...>` header pointing at a body part of type
`application/pidf+xml` inside a `multipart/mixed` SIP body. `extract_pidf_from_multipart` finds that
part; `parse_pidf_lo` turns the document into a `PidfLocation`: the geodetic shapes in document
order, the civic address as a dict, and the positioning method (`gp:method`). It is sans-I/O (no
clock, no network, no logging); every rejection is a documented `intake.errors.PidfError` whose
message never echoes caller data.

Safety: the XML is parsed with defusedxml with DTDs, entity declarations and external references
forbidden. Any `<!DOCTYPE` (which every billion-laughs and XXE document needs) is refused before a
single entity is read: `PidfUnsafeXml(construct="dtd")`. Sizes are bounded: `MAX_PIDF_BYTES`,
`MAX_ELEMENTS`, `MAX_SHAPES`, `MAX_VERTICES`, `MAX_CIVIC_ELEMENTS`, `MAX_VALUE_CHARS`.

Shapes read (RFC 5491 §5.2, namespaces `gml` = http://www.opengis.net/gml and `gs` =
http://www.opengis.net/pidflo/1.0) and how each maps to the JSON `lat`/`lon`/`radius_m`:

=========  ===============================================================================
Point      the position; `radius_m` null; `altitude_m` when 3D (EPSG::4979)
Circle     the centre; `radius_m` = `gs:radius`
Ellipse    the centre; `radius_m` = semi-major axis; also semi-minor axis and orientation
Polygon    the area centroid (local equirectangular projection, fine at call scale);
           `radius_m` = largest great-circle distance from it to a vertex; `vertices`
ArcBand    the arc centre; `radius_m` = outer radius; also inner radius, start and opening angles
Sphere     the centre; `radius_m` = `gs:radius`; `altitude_m`
Ellipsoid  the centre; `radius_m` = semi-major axis; semi-minor, vertical axis, orientation
Prism      the base polygon as for Polygon; `height_m`; `altitude_m` of the first base vertex
=========  ===============================================================================

Coordinates: `gml:pos` / `gml:posList` are latitude then longitude (EPSG::4326 2D or EPSG::4979 3D,
any of the URN, `http://www.opengis.net/def/crs/EPSG/0/` or `EPSG:` spellings; a missing `srsName`
means 4326). Distances in metres (`urn:ogc:def:uom:EPSG::9001`), angles in degrees (`...::9102`); a
missing `uom` means those. Older RFC 4119 documents wrap a GML 3.0 `gml:Point` in `gml:location`
with `gml:coordinates` in degrees-minutes-seconds and hemisphere letters (`37:46:30N 122:25:10W`):
read when every value carries its hemisphere letter, so latitude and longitude cannot be swapped;
bare decimal `gml:coordinates` are ambiguous and refused (`PidfUnsupportedShape`). Polygon interior
rings are ignored (the outer ring bounds the caller).

Civic addresses (`ca:civicAddress`, RFC 5139, or the RFC 4119 `cl:civicAddress`) become a dict of
element name to value (`country`, `A1`..`A6`, `PRD`, `POD`, `STS`, `HNO`, `HNS`, `LMK`, `LOC`,
`NAM`, `PC`, `RD`, `FLR`, ...); values are kept as given (right-to-left text and emoji included)
with outer whitespace trimmed; the first of a repeated element is kept; an extension element from
another namespace is keyed by its `{namespace}name`. The first civic address in the document is
returned.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import re
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from intake.errors import (
    PidfMultipartError,
    PidfSyntaxError,
    PidfTooLarge,
    PidfUnsafeXml,
    PidfUnsupportedShape,
    PidfValueError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = [
    "MAX_CIVIC_ELEMENTS",
    "MAX_ELEMENTS",
    "MAX_MULTIPART_BYTES",
    "MAX_PARTS",
    "MAX_PIDF_BYTES",
    "MAX_SHAPES",
    "MAX_VALUE_CHARS",
    "MAX_VERTICES",
    "PidfLocation",
    "PidfShape",
    "ShapeKind",
    "extract_pidf_from_multipart",
    "parse_pidf_lo",
]

MAX_PIDF_BYTES: Final = 65_536
"""Largest PIDF-LO document accepted (UTF-8 bytes); real ones are a few kilobytes."""
MAX_ELEMENTS: Final = 4_096
"""Most XML elements in one document."""
MAX_SHAPES: Final = 16
"""Most geodetic shapes in one document."""
MAX_VERTICES: Final = 1_000
"""Most vertices in one polygon or prism base."""
MAX_CIVIC_ELEMENTS: Final = 64
"""Most elements in one civic address."""
MAX_VALUE_CHARS: Final = 1_024
"""Longest text of one element (a civic value, a `gml:pos`, a method)."""
MAX_MULTIPART_BYTES: Final = 262_144
"""Largest multipart SIP body accepted."""
MAX_PARTS: Final = 16
"""Most body parts in one multipart SIP body."""

NS_PIDF: Final = "urn:ietf:params:xml:ns:pidf"
NS_GP: Final = "urn:ietf:params:xml:ns:pidf:geopriv10"
NS_GML: Final = "http://www.opengis.net/gml"
NS_GML_30: Final = "urn:opengis:specification:gml:schema-xsd:feature:v3.0"
"""The GML 3.0 namespace of RFC 4119's examples, read as `NS_GML`."""
NS_GS: Final = "http://www.opengis.net/pidflo/1.0"
NS_CA: Final = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
NS_CL: Final = "urn:ietf:params:xml:ns:pidf:geopriv10:civicLoc"
PIDF_CONTENT_TYPE: Final = "application/pidf+xml"

_EARTH_RADIUS_M: Final = 6_371_008.8
_MAX_DISTANCE_M: Final = 20_037_509.0
_MAX_ALTITUDE_M: Final = 100_000.0
_MIN_ALTITUDE_M: Final = -12_000.0
_EPSILON_AREA: Final = 1e-18

_CRS = re.compile(
    r"(?:urn:ogc:def:crs:EPSG:[0-9.]*:|https?://www\.opengis\.net/def/crs/EPSG/0/|EPSG:{1,2})"
    r"(4326|4979)",
    re.IGNORECASE,
)
_UOM_METRE = re.compile(r"urn:ogc:def:uom:EPSG:[0-9.]*:9001", re.IGNORECASE)
_UOM_DEGREE = re.compile(r"urn:ogc:def:uom:EPSG:[0-9.]*:9102", re.IGNORECASE)
_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]{1,12}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})(?:[eE][+-]?[0-9]{1,3})?"
)
_DMS = re.compile(
    r"([0-9]{1,3})(?::([0-9]{1,2})(?::([0-9]{1,2}(?:\.[0-9]{1,9})?))?)?([NSEWnsew])"
    r"|([0-9]{1,3}\.[0-9]{1,12})([NSEWnsew])"
)


class ShapeKind(StrEnum):
    """RFC 5491 shape names, as they appear in the JSON `shape` field."""

    POINT = "Point"
    CIRCLE = "Circle"
    ELLIPSE = "Ellipse"
    POLYGON = "Polygon"
    ARC_BAND = "ArcBand"
    SPHERE = "Sphere"
    ELLIPSOID = "Ellipsoid"
    PRISM = "Prism"


_EXTRA_KEYS: Final[Mapping[ShapeKind, tuple[str, ...]]] = MappingProxyType(
    {
        ShapeKind.POINT: ("altitude_m",),
        ShapeKind.CIRCLE: (),
        ShapeKind.ELLIPSE: ("semi_major_m", "semi_minor_m", "orientation_deg"),
        ShapeKind.POLYGON: ("vertices",),
        ShapeKind.ARC_BAND: (
            "inner_radius_m",
            "outer_radius_m",
            "start_angle_deg",
            "opening_angle_deg",
        ),
        ShapeKind.SPHERE: ("altitude_m",),
        ShapeKind.ELLIPSOID: (
            "altitude_m",
            "semi_major_m",
            "semi_minor_m",
            "vertical_axis_m",
            "orientation_deg",
        ),
        ShapeKind.PRISM: ("altitude_m", "height_m", "vertices"),
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PidfShape:
    """One geodetic shape: its reference point and radius, plus the fields of its kind.

    `lat`/`lon` are WGS 84 degrees and `radius_m` metres as tabled in the module docstring;
    `vertices` are (lat, lon) pairs of a polygon's outer ring without the closing repeat.
    """

    kind: ShapeKind
    lat: float
    lon: float
    radius_m: float | None = None
    altitude_m: float | None = None
    semi_major_m: float | None = None
    semi_minor_m: float | None = None
    vertical_axis_m: float | None = None
    orientation_deg: float | None = None
    inner_radius_m: float | None = None
    outer_radius_m: float | None = None
    start_angle_deg: float | None = None
    opening_angle_deg: float | None = None
    height_m: float | None = None
    vertices: tuple[tuple[float, float], ...] = ()

    def to_json_dict(self) -> dict[str, object]:
        """`{"shape", "lat", "lon", "radius_m"}` and the fields of this kind, always present."""
        out: dict[str, object] = {
            "shape": str(self.kind),
            "lat": self.lat,
            "lon": self.lon,
            "radius_m": self.radius_m,
        }
        for key in _EXTRA_KEYS[self.kind]:
            value = getattr(self, key)
            out[key] = [list(v) for v in value] if key == "vertices" else value
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class PidfLocation:
    """A parsed PIDF-LO document: shapes in document order, the civic address, the method."""

    shapes: tuple[PidfShape, ...] = ()
    civic: Mapping[str, str] | None = None
    method: str | None = None

    def to_json_dict(self) -> dict[str, object]:
        """The object of the `ng112 pidf parse` contract."""
        return {
            "shapes": [s.to_json_dict() for s in self.shapes],
            "civic": None if self.civic is None else dict(self.civic),
            "method": self.method,
        }


# --- XML --------------------------------------------------------------------------------------


def _parse_xml(xml: bytes | str) -> Element:
    size = len(xml.encode("utf-8")) if isinstance(xml, str) else len(xml)
    if size > MAX_PIDF_BYTES:
        raise PidfTooLarge(f"PIDF-LO: document larger than {MAX_PIDF_BYTES} bytes")
    try:
        root: Element = SafeElementTree.fromstring(
            xml, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DTDForbidden as exc:
        raise PidfUnsafeXml(
            "PIDF-LO: a document type declaration (DTD) is refused; DTDs, entities and external "
            "references are never processed",
            construct="dtd",
        ) from exc
    except EntitiesForbidden as exc:
        raise PidfUnsafeXml(
            "PIDF-LO: an entity declaration is refused; entities are never expanded",
            construct="entity",
        ) from exc
    except ExternalReferenceForbidden as exc:
        raise PidfUnsafeXml(
            "PIDF-LO: an external reference is refused; nothing outside the document is read",
            construct="external-reference",
        ) from exc
    except DefusedXmlException as exc:
        raise PidfUnsafeXml(
            "PIDF-LO: an XML construct outside plain elements is refused", construct="dtd"
        ) from exc
    except ParseError as exc:
        line, column = exc.position
        raise PidfSyntaxError(
            f"PIDF-LO: not well-formed XML (line {line}, column {column})"
        ) from exc
    except (ValueError, TypeError) as exc:  # a str with an unusable encoding declaration
        raise PidfSyntaxError("PIDF-LO: the document cannot be decoded") from exc
    old_gml = f"{{{NS_GML_30}}}"
    for count, element in enumerate(root.iter(), start=1):
        if count > MAX_ELEMENTS:
            raise PidfTooLarge(f"PIDF-LO: more than {MAX_ELEMENTS} elements")
        if element.tag.startswith(old_gml):
            element.tag = _q(NS_GML, element.tag.removeprefix(old_gml))
    return root


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _text(element: Element, field: str) -> str:
    text = "".join(element.itertext()).strip()
    if len(text) > MAX_VALUE_CHARS:
        raise PidfTooLarge(f"PIDF-LO: {field} longer than {MAX_VALUE_CHARS} characters")
    return text


def _child(element: Element, ns: str, name: str) -> Element | None:
    return element.find(_q(ns, name))


# --- numbers and units -----------------------------------------------------------------------


def _float(text: str, field: str) -> float:
    if _DECIMAL.fullmatch(text) is None:
        raise PidfValueError(field, "must be a decimal number")
    value = float(text)
    if not math.isfinite(value):
        raise PidfValueError(field, "must be a finite number")
    return value


def _measure(
    parent: Element, name: str, shape: str, *, angle: bool, low: float, high: float
) -> float:
    element = _child(parent, NS_GS, name)
    field = f"gs:{name}"
    if element is None:
        raise PidfValueError(field, f"is required in a {shape}")
    uom = element.get("uom")
    pattern, unit = (_UOM_DEGREE, "degrees (EPSG::9102)") if angle else (_UOM_METRE, "metres")
    if uom is not None and pattern.fullmatch(uom.strip()) is None:
        raise PidfUnsupportedShape(f"PIDF-LO: {field} must be in {unit}")
    value = _float(_text(element, field), field)
    if not low <= value <= high:
        raise PidfValueError(field, f"must be within [{low:g}, {high:g}]")
    return value


def _distance(parent: Element, name: str, shape: str) -> float:
    return _measure(parent, name, shape, angle=False, low=0.0, high=_MAX_DISTANCE_M)


def _angle(parent: Element, name: str, shape: str) -> float:
    return _measure(parent, name, shape, angle=True, low=0.0, high=360.0)


def _crs_dimension(element: Element, inherited: int | None) -> int | None:
    srs = element.get("srsName")
    if srs is None:
        return inherited
    match = _CRS.fullmatch(srs.strip())
    if match is None:
        raise PidfUnsupportedShape(
            "PIDF-LO: srsName must be EPSG 4326 (2D) or 4979 (3D) latitude/longitude"
        )
    return 3 if match.group(1) == "4979" else 2


@dataclass(frozen=True, slots=True)
class _Position:
    lat: float
    lon: float
    alt: float | None


def _position(numbers: list[float], field: str) -> _Position:
    lat, lon = numbers[0], numbers[1]
    if not -90.0 <= lat <= 90.0:
        raise PidfValueError(field, "latitude must be within [-90, 90] (latitude comes first)")
    if not -180.0 <= lon <= 180.0:
        raise PidfValueError(field, "longitude must be within [-180, 180]")
    alt = numbers[2] if len(numbers) == 3 else None
    if alt is not None and not _MIN_ALTITUDE_M <= alt <= _MAX_ALTITUDE_M:
        raise PidfValueError(field, "altitude must be within [-12000, 100000] metres")
    return _Position(lat, lon, alt)


def _pos(element: Element, dimension: int | None) -> _Position:
    dimension = _crs_dimension(element, dimension)
    parts = _text(element, "gml:pos").split()
    numbers = [_float(p, "gml:pos") for p in parts]
    if len(numbers) not in {2, 3} or (dimension is not None and len(numbers) != dimension):
        raise PidfValueError("gml:pos", "must hold latitude, longitude (and altitude in 3D)")
    return _position(numbers, "gml:pos")


def _centre(shape: Element, name: str, dimension: int | None) -> _Position:
    pos = _child(shape, NS_GML, "pos")
    if pos is None:
        raise PidfValueError("gml:pos", f"is required in a {name}")
    return _pos(pos, dimension)


def _dms(token: str) -> tuple[str, float]:
    match = _DMS.fullmatch(token)
    if match is None:
        raise PidfUnsupportedShape(
            "PIDF-LO: gml:coordinates must carry hemisphere letters (37:46:30N 122:25:10W); "
            "bare decimals are ambiguous"
        )
    if match.group(5) is not None:
        return match.group(6).upper(), float(match.group(5))
    degrees = int(match.group(1))
    minutes = int(match.group(2) or 0)
    seconds = float(match.group(3) or 0)
    if minutes >= 60 or seconds >= 60:
        raise PidfValueError("gml:coordinates", "minutes and seconds must be below 60")
    return match.group(4).upper(), degrees + minutes / 60 + seconds / 3600


def _coordinates(element: Element) -> _Position:
    tokens = _text(element, "gml:coordinates").replace(",", " ").split()
    if len(tokens) != 2:
        raise PidfUnsupportedShape("PIDF-LO: gml:coordinates must hold one latitude and longitude")
    values = dict(_dms(t) for t in tokens)
    lat = next((v if h == "N" else -v for h, v in values.items() if h in "NS"), None)
    lon = next((v if h == "E" else -v for h, v in values.items() if h in "EW"), None)
    if lat is None or lon is None or len(values) != 2:
        raise PidfUnsupportedShape(
            "PIDF-LO: gml:coordinates needs one N/S latitude and one E/W longitude"
        )
    return _position([lat, lon], "gml:coordinates")


# --- geometry ---------------------------------------------------------------------------------


def _haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def _centroid(vertices: list[tuple[float, float]]) -> tuple[float, float]:
    """Area centroid in a local equirectangular projection around the first vertex."""
    lat0, lon0 = vertices[0]
    scale = max(math.cos(math.radians(lat0)), 1e-9)
    xy = [(_wrap(lon - lon0) * scale, lat - lat0) for lat, lon in vertices]
    area = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(xy, xy[1:] + xy[:1], strict=True):
        cross = x1 * y2 - x2 * y1
        area += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if abs(area) < _EPSILON_AREA:  # degenerate ring: the mean of its vertices
        cx = sum(x for x, _ in xy) / len(xy)
        cy = sum(y for _, y in xy) / len(xy)
    else:
        cx, cy = cx / (3 * area), cy / (3 * area)
    return lat0 + cy, _wrap(lon0 + cx / scale)


def _ring(polygon: Element, dimension: int | None) -> list[_Position]:
    dimension = _crs_dimension(polygon, dimension)
    ring = polygon.find(f"{_q(NS_GML, 'exterior')}/{_q(NS_GML, 'LinearRing')}")
    if ring is None:
        raise PidfValueError("gml:exterior", "a Polygon needs an exterior LinearRing")
    positions: list[_Position] = []
    pos_list = _child(ring, NS_GML, "posList")
    if pos_list is not None:
        step_text = pos_list.get("srsDimension")
        step = dimension or 2
        if step_text is not None:
            if step_text.strip() not in {"2", "3"}:
                raise PidfValueError("gml:posList", "srsDimension must be 2 or 3")
            step = int(step_text)
        text = "".join(pos_list.itertext())
        if len(text) > MAX_VERTICES * 3 * 32:
            raise PidfTooLarge(f"PIDF-LO: a polygon has more than {MAX_VERTICES} vertices")
        numbers = [_float(p, "gml:posList") for p in text.split()]
        if len(numbers) % step:
            raise PidfValueError("gml:posList", "must hold whole coordinate tuples")
        if len(numbers) // step > MAX_VERTICES + 1:
            raise PidfTooLarge(f"PIDF-LO: a polygon has more than {MAX_VERTICES} vertices")
        positions = [
            _position(numbers[i : i + step], "gml:posList") for i in range(0, len(numbers), step)
        ]
    else:
        for pos in ring.iterfind(_q(NS_GML, "pos")):
            if len(positions) > MAX_VERTICES:
                raise PidfTooLarge(f"PIDF-LO: a polygon has more than {MAX_VERTICES} vertices")
            positions.append(_pos(pos, dimension))
    if len(positions) > 1 and positions[0] == positions[-1]:
        positions.pop()
    if len({(p.lat, p.lon) for p in positions}) < 3:
        raise PidfValueError("gml:LinearRing", "a polygon needs at least 3 distinct vertices")
    if len(positions) > MAX_VERTICES:
        raise PidfTooLarge(f"PIDF-LO: a polygon has more than {MAX_VERTICES} vertices")
    return positions


def _polygon_shape(
    polygon: Element, dimension: int | None, kind: ShapeKind, **fields: float | None
) -> PidfShape:
    positions = _ring(polygon, dimension)
    vertices = [(p.lat, p.lon) for p in positions]
    lat, lon = _centroid(vertices)
    radius = max(_haversine_m((lat, lon), v) for v in vertices)
    return PidfShape(
        kind=kind, lat=lat, lon=lon, radius_m=radius, vertices=tuple(vertices), **fields
    )


def _shape(element: Element, dimension: int | None) -> PidfShape:
    """One RFC 5491 shape element (`gml:Point`, `gml:Polygon` or a `gs:` shape)."""
    tag = element.tag
    dimension = _crs_dimension(element, dimension)
    if tag == _q(NS_GML, "Point"):
        coordinates = _child(element, NS_GML, "coordinates")
        if _child(element, NS_GML, "pos") is None and coordinates is not None:
            p = _coordinates(coordinates)
        else:
            p = _centre(element, "Point", dimension)
        return PidfShape(kind=ShapeKind.POINT, lat=p.lat, lon=p.lon, altitude_m=p.alt)
    if tag == _q(NS_GML, "Polygon"):
        return _polygon_shape(element, dimension, ShapeKind.POLYGON)
    if tag == _q(NS_GS, "Circle"):
        p = _centre(element, "Circle", dimension)
        radius = _distance(element, "radius", "Circle")
        return PidfShape(kind=ShapeKind.CIRCLE, lat=p.lat, lon=p.lon, radius_m=radius)
    if tag == _q(NS_GS, "Sphere"):
        p = _centre(element, "Sphere", dimension)
        radius = _distance(element, "radius", "Sphere")
        return PidfShape(
            kind=ShapeKind.SPHERE, lat=p.lat, lon=p.lon, radius_m=radius, altitude_m=p.alt
        )
    if tag == _q(NS_GS, "Ellipse"):
        p = _centre(element, "Ellipse", dimension)
        major = _distance(element, "semiMajorAxis", "Ellipse")
        return PidfShape(
            kind=ShapeKind.ELLIPSE,
            lat=p.lat,
            lon=p.lon,
            radius_m=major,
            semi_major_m=major,
            semi_minor_m=_distance(element, "semiMinorAxis", "Ellipse"),
            orientation_deg=_angle(element, "orientation", "Ellipse"),
        )
    if tag == _q(NS_GS, "Ellipsoid"):
        p = _centre(element, "Ellipsoid", dimension)
        major = _distance(element, "semiMajorAxis", "Ellipsoid")
        return PidfShape(
            kind=ShapeKind.ELLIPSOID,
            lat=p.lat,
            lon=p.lon,
            radius_m=major,
            altitude_m=p.alt,
            semi_major_m=major,
            semi_minor_m=_distance(element, "semiMinorAxis", "Ellipsoid"),
            vertical_axis_m=_distance(element, "verticalAxis", "Ellipsoid"),
            orientation_deg=_angle(element, "orientation", "Ellipsoid"),
        )
    if tag == _q(NS_GS, "ArcBand"):
        p = _centre(element, "ArcBand", dimension)
        inner = _distance(element, "innerRadius", "ArcBand")
        outer = _distance(element, "outerRadius", "ArcBand")
        if inner > outer:
            raise PidfValueError("gs:innerRadius", "must not exceed gs:outerRadius")
        return PidfShape(
            kind=ShapeKind.ARC_BAND,
            lat=p.lat,
            lon=p.lon,
            radius_m=outer,
            inner_radius_m=inner,
            outer_radius_m=outer,
            start_angle_deg=_angle(element, "startAngle", "ArcBand"),
            opening_angle_deg=_angle(element, "openingAngle", "ArcBand"),
        )
    if tag == _q(NS_GS, "Prism"):
        base = element.find(f"{_q(NS_GS, 'base')}/{_q(NS_GML, 'Polygon')}")
        if base is None:
            raise PidfValueError("gs:base", "a Prism needs a gml:Polygon base")
        height = _distance(element, "height", "Prism")
        first = _ring(base, dimension)[0]
        return _polygon_shape(
            base, dimension, ShapeKind.PRISM, height_m=height, altitude_m=first.alt
        )
    raise PidfUnsupportedShape(
        "PIDF-LO: a gml/gs shape other than Point, Circle, Ellipse, Polygon, ArcBand, Sphere, "
        "Ellipsoid or Prism"
    )


# --- civic ------------------------------------------------------------------------------------


def _civic(element: Element) -> Mapping[str, str]:
    values: dict[str, str] = {}
    children = list(element)
    if len(children) > MAX_CIVIC_ELEMENTS:
        raise PidfTooLarge(f"PIDF-LO: a civic address has more than {MAX_CIVIC_ELEMENTS} elements")
    for child in children:  # the parser drops comments and processing instructions
        ns, _, local = child.tag[1:].partition("}")
        key = local if ns in {NS_CA, NS_CL} else child.tag
        value = _text(child, "a civic address element")
        if value and key not in values:
            values[key] = value
    return MappingProxyType(values)


# --- document ---------------------------------------------------------------------------------


def _location_children(location_info: Element) -> Iterator[Element]:
    for child in location_info:
        if child.tag == _q(NS_GML, "location"):  # RFC 4119 GML 3.0 wrapper
            yield from child
        else:
            yield child


def parse_pidf_lo(xml: bytes | str) -> PidfLocation:
    """Parse a PIDF-LO document (location by value) into shapes, a civic address and a method.

    Raises a `PidfError` subclass documented in `intake.errors`. A document without location
    gives an empty `PidfLocation` (no shapes, no civic address).
    """
    root = _parse_xml(xml.lstrip())  # a SIP body part may indent the XML declaration
    if root.tag != _q(NS_PIDF, "presence"):
        raise PidfSyntaxError("PIDF-LO: the root element is not a PIDF presence element")
    shapes: list[PidfShape] = []
    civic: Mapping[str, str] | None = None
    method: str | None = None
    for geopriv in root.iter(_q(NS_GP, "geopriv")):
        for location_info in geopriv.iterfind(_q(NS_GP, "location-info")):
            for element in _location_children(location_info):
                ns = element.tag[1:].partition("}")[0]
                if ns in {NS_CA, NS_CL} and element.tag.endswith("}civicAddress"):
                    if civic is None:
                        civic = _civic(element)
                elif ns in {NS_GML, NS_GS}:
                    if len(shapes) >= MAX_SHAPES:
                        raise PidfTooLarge(f"PIDF-LO: more than {MAX_SHAPES} shapes")
                    shapes.append(_shape(element, None))
        method_element = _child(geopriv, NS_GP, "method")
        if method is None and method_element is not None:
            method = _text(method_element, "gp:method") or None
    return PidfLocation(shapes=tuple(shapes), civic=civic, method=method)


# --- multipart SIP bodies ---------------------------------------------------------------------


def _normalise_cid(value: str) -> str:
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    if value[:4].lower() == "cid:":
        value = unquote(value[4:])  # RFC 2392: the cid URL is percent-encoded
    return value


def _part_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    name = ""
    for raw_line in block.split(b"\n"):
        line = raw_line.rstrip(b"\r").decode("utf-8", errors="replace")
        if not line:
            continue
        if line[0] in " \t" and name:  # folded header line
            headers[name] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise PidfMultipartError("multipart body: a part header line is not Name: value")
        name = name.strip().lower()
        headers.setdefault(name, value.strip())
    return headers


def _content_type(value: str) -> tuple[str, str | None]:
    message = Message()
    message["content-type"] = value
    boundary = message.get_param("boundary")
    return message.get_content_type(), boundary if isinstance(boundary, str) else None


def _parts(body: bytes, boundary: str) -> Iterator[tuple[dict[str, str], bytes]]:
    delimiter = b"--" + boundary.encode("ascii")
    data = b"\r\n" + body
    pattern = re.compile(rb"\r?\n" + re.escape(delimiter) + rb"(--)?[ \t]*(?:\r?\n|\Z)")
    matches = list(pattern.finditer(data))
    if not matches:
        raise PidfMultipartError("multipart body: the boundary never appears")
    if len(matches) - 1 > MAX_PARTS:
        raise PidfMultipartError(f"multipart body: more than {MAX_PARTS} parts")
    for start, end in itertools.pairwise(matches):
        if start.group(1):  # the close delimiter: what follows is the epilogue
            return
        part = data[start.end() : end.start()]
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = part.partition(b"\n\n")
        if not sep:  # a part with no headers at all starts with its blank line
            head, content = b"", part.removeprefix(b"\r\n").removeprefix(b"\n")
        yield _part_headers(head), content
    if not matches[-1].group(1):
        raise PidfMultipartError("multipart body: the closing boundary is missing")


def _decode_part(headers: dict[str, str], content: bytes) -> bytes:
    encoding = headers.get("content-transfer-encoding", "binary").strip().lower()
    if encoding in {"binary", "8bit", "7bit"}:
        return content
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=False)
        except binascii.Error as exc:
            raise PidfMultipartError(
                "multipart body: the PIDF-LO part is not valid base64"
            ) from exc
    raise PidfMultipartError("multipart body: the part's transfer encoding is not supported")


def extract_pidf_from_multipart(body: bytes, content_type: str, content_id: str | None) -> bytes:
    """Return the PIDF-LO document inside a SIP message body.

    `content_type` is the SIP message's Content-Type header value. For `multipart/*` the part whose
    Content-ID matches `content_id` is returned (`content_id` may be given as in the Geolocation
    header, `<cid:abc@example.com>` or `cid:abc%40example.com`, or bare `abc@example.com`); with
    `content_id=None` the first `application/pidf+xml` part is. A body that is itself
    `application/pidf+xml` is returned as is. Nested multiparts are not searched. Raises
    `PidfMultipartError` (or `PidfTooLarge`) with the reason.
    """
    if len(body) > MAX_MULTIPART_BYTES:
        raise PidfTooLarge(f"multipart body: larger than {MAX_MULTIPART_BYTES} bytes")
    media_type, boundary = _content_type(content_type)
    if media_type == PIDF_CONTENT_TYPE:
        return body
    if not media_type.startswith("multipart/"):
        raise PidfMultipartError("SIP body: neither multipart nor application/pidf+xml")
    if boundary is None or not 1 <= len(boundary) <= 70 or not boundary.isascii():
        raise PidfMultipartError("multipart body: the boundary parameter is missing or invalid")
    wanted = None if content_id is None else _normalise_cid(content_id)
    for headers, content in _parts(body, boundary):
        part_type, _ = _content_type(headers.get("content-type", "text/plain"))
        if wanted is None:
            if part_type == PIDF_CONTENT_TYPE:
                return _decode_part(headers, content)
            continue
        if _normalise_cid(headers.get("content-id", "")) == wanted:
            if part_type != PIDF_CONTENT_TYPE:
                raise PidfMultipartError(
                    "multipart body: the part with that Content-ID is not application/pidf+xml"
                )
            return _decode_part(headers, content)
    if wanted is None:
        raise PidfMultipartError("multipart body: no application/pidf+xml part")
    raise PidfMultipartError("multipart body: no part carries the wanted Content-ID")
