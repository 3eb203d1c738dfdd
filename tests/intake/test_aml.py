"""Tests of intake.aml: published AML examples, every documented rejection, and fuzzing."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.aml import (
    MAX_HTTPS_BYTES,
    MAX_HTTPS_FIELDS,
    MAX_SMS_CHARS,
    MAX_SMS_FIELDS,
    AmlMethod,
    AmlReport,
    AmlTransport,
    AmlWarning,
    parse_aml,
    parse_aml_https,
)
from intake.errors import (
    AmlError,
    AmlHmacMismatch,
    AmlSyntaxError,
    AmlTooLong,
    AmlUnsupportedVersion,
    AmlValueError,
    IntakeError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

# Google ELS SMS page (developers.google.com/android/els/reference/sms-spec), "Examples".
ELS_NO_LOCATION = (
    'A"ML=1;lt=+00.00000;lg=+000.00000;rd=N;top=20220131173734;lc=0;pm=N;'
    "si=234159000000000;ei=123456789012345;mcc=234;mnc=15;ml=127"
)
# Same page, "Calculated location": the published ml=126 is one short of the text's 127 characters.
ELS_CALCULATED = (
    'A"ML=1;lt=+51.53321;lg=-0.12601;rd=14;top=20220131171748;lc=68;pm=W;'
    "si=234159000000000;ei=123456789012345;mcc=234;mnc=15;ml=126"
)
# cpilatre/aml-lib tests/verify.rs (an ETSI TS 103 625 v1 text), published with ml=128 for 126.
AML_LIB_V1 = (
    'A"ML=1;lt=48.82639;lg=-2.36619;rd=52;top=20191112112928;lc=68;pm=G;'
    "si=208201771948415;ei=353472104343540;mcc=208;mnc=20;ml=128"
)
# cpilatre/aml-lib tests/verify.rs: Google ELS beta (version 2) text.
ELS_V2 = (
    'A"ML=2;en=+15555555555;et=1593187189;lo=-37.42175,-122.08461,2000.1;lt=-9999;lc=68;'
    "lz=-100.1,100.1;ls=G;ei=358239059042542;nc=310260;hc=310260;lg=en-US"
)
# The ETSI TS 103 625 HTTPS example as quoted in cpilatre/aml-lib tests/verify.rs.
ETSI_HTTPS = (
    "v=1&device_number=%2B447477593102&location_latitude=55.85732&location_longitude=-4.26325"
    "&location_time=1476189444435&location_accuracy=10.4&location_source=GPS"
    "&location_certainty=83&location_altitude=0.0&location_floor=5"
    "&device_model=ABC+ABC+Detente+530&device_imei=354773072099116"
    "&device_imsi=234159176307582&device_os=AOS&cell_carrier=&cell_home_mcc=234"
    "&cell_home_mnc=15&cell_network_mcc=234&cell_network_mnc=15&cell_id=0213454321"
)
# cpilatre/aml-lib src/https.rs: a body signed with HMAC-SHA1 under the key "AML".
SIGNED_HTTPS = (
    "v=1&device_number=%2B33611223344&location_latitude=0.85732&location_longitude=-4.26325"
    "&location_time=1604912121000&location_accuracy=10.4&location_source=GPS"
    "&location_certainty=83&hmac=f64c70eb238bb239e00e8ac8c023bf2b5d3c41dd"
)
CONTRACT_KEYS = {
    "version",
    "latitude",
    "longitude",
    "radius_m",
    "time",
    "confidence",
    "method",
    "imsi",
    "imei",
    "mcc",
    "mnc",
    "length_ok",
}


def v1(**fields: str) -> str:
    """A v1 text with a correct ml, from the computed ELS example with fields replaced or added."""
    base = {
        "lt": "+51.53321",
        "lg": "-0.12601",
        "rd": "14",
        "top": "20220131171748",
        "lc": "68",
        "pm": "W",
        "si": "234159000000000",
        "ei": "123456789012345",
        "mcc": "234",
        "mnc": "15",
    }
    base.update(fields)
    body = 'A"ML=1;' + ";".join(f"{k}={v}" for k, v in base.items() if v != "<drop>") + ";ml="
    for digits in (2, 3, 4):
        candidate = len(body) + digits
        if len(str(candidate)) == digits:
            return body + str(candidate)
    raise AssertionError


# --- SMS v1 ---------------------------------------------------------------------------------


def test_els_no_location_example_has_no_fix() -> None:
    """rd=N (Google's null location) gives no position, although lt/lg hold zero placeholders."""
    report = parse_aml(ELS_NO_LOCATION)
    assert report.version == 1
    assert (report.latitude, report.longitude, report.radius_m) == (None, None, None)
    assert not report.has_fix
    assert report.method is None
    assert report.confidence == 0
    assert report.time == datetime(2022, 1, 31, 17, 37, 34, tzinfo=UTC)
    assert report.length_ok is True
    assert report.warnings == ()


def test_els_calculated_example_with_wrong_ml_warns_and_parses() -> None:
    """The published ml=126 is wrong (127 characters): a warning, length_ok False, values kept."""
    report = parse_aml(ELS_CALCULATED)
    assert report.length_ok is False
    assert report.warnings == (AmlWarning.LENGTH_MISMATCH,)
    assert report.latitude == pytest.approx(51.53321)
    assert report.longitude == pytest.approx(-0.12601)
    assert report.radius_m == 14.0
    assert report.method is AmlMethod.WIFI
    assert report.confidence == 68


@pytest.mark.parametrize(
    ("text", "length_ok"),
    [
        pytest.param(AML_LIB_V1, False, id="published-ml-128"),
        pytest.param(AML_LIB_V1.replace("ml=128", "ml=126"), True, id="corrected-ml-126"),
        pytest.param(AML_LIB_V1.replace(";ml=128", ""), None, id="no-ml"),
        pytest.param(AML_LIB_V1.replace("ml=128", "ml=abc"), False, id="ml-not-a-number"),
    ],
)
def test_ml_is_checked_but_never_fatal(text: str, length_ok: bool | None) -> None:
    """ml is compared to the text's length; a mismatch or a malformed ml only warns."""
    report = parse_aml(text)
    assert report.length_ok is length_ok
    assert report.latitude == pytest.approx(48.82639)
    assert report.imei == "353472104343540"


def test_v1_json_has_exactly_the_contract_types() -> None:
    """to_json_dict keeps every contract key with its JSON type; extra keys are only added."""
    out = parse_aml(AML_LIB_V1).to_json_dict()
    assert out.keys() >= CONTRACT_KEYS
    assert out["version"] == 1
    assert out["latitude"] == pytest.approx(48.82639)
    assert out["longitude"] == pytest.approx(-2.36619)
    assert out["radius_m"] == 52.0
    assert out["time"] == "2019-11-12T11:29:28Z"
    assert out["confidence"] == 68
    assert out["method"] == "gps"
    assert out["imsi"] == "208201771948415"
    assert out["imei"] == "353472104343540"
    assert (out["mcc"], out["mnc"]) == ("208", "20")
    assert out["length_ok"] is False
    assert out["home_mcc"] == "208"
    assert out["warnings"] == ["length_mismatch"]


def test_mnc_keeps_its_leading_zero_and_home_mcc_comes_from_the_imsi() -> None:
    """mnc=01 stays the string "01"; a Turkish SIM roaming elsewhere shows home MCC 286."""
    report = parse_aml(v1(mcc="286", mnc="01", si="286011234567890"))
    assert (report.mcc, report.mnc) == ("286", "01")
    assert report.home_mcc == "286"
    assert report.length_ok is True


def test_truncated_imsi_is_kept_as_given_with_a_warning() -> None:
    """A six-digit si is kept, flagged imsi_short, and still gives the home MCC."""
    report = parse_aml(v1(si="234159"))
    assert report.imsi == "234159"
    assert report.home_mcc == "234"
    assert AmlWarning.IMSI_SHORT in report.warnings


def test_unknown_keys_are_kept_in_extra() -> None:
    """Keys outside the v1 table are kept, as given, in extra and in the JSON."""
    report = parse_aml(v1(xy="hello", fl="3"))
    assert dict(report.extra) == {"xy": "hello", "fl": "3"}
    assert report.to_json_dict()["extra"] == {"xy": "hello", "fl": "3"}


@pytest.mark.parametrize(
    ("pm", "method", "warned"),
    [
        ("G", AmlMethod.GPS, False),
        ("W", AmlMethod.WIFI, False),
        ("C", AmlMethod.CELL, False),
        ("F", AmlMethod.FUSED, False),
        ("Z", AmlMethod.UNKNOWN, True),
    ],
)
def test_positioning_method_letters(pm: str, method: AmlMethod, warned: bool) -> None:
    """pm letters map to one method vocabulary; an unknown letter warns instead of failing."""
    report = parse_aml(v1(pm=pm))
    assert report.method is method
    assert (AmlWarning.METHOD_UNKNOWN in report.warnings) is warned


def test_pm_n_means_no_fix_even_with_a_radius() -> None:
    """pm=N (null method) drops the placeholder position like rd=N."""
    report = parse_aml(v1(pm="N", lt="+00.00000", lg="+000.00000"))
    assert not report.has_fix
    assert report.radius_m is None


def test_missing_position_is_no_fix_not_an_error() -> None:
    """A v1 text without lt and lg is a report without position."""
    report = parse_aml(v1(lt="<drop>", lg="<drop>"))
    assert not report.has_fix
    assert report.radius_m is None


def test_surrounding_whitespace_and_one_trailing_separator_are_tolerated() -> None:
    """A gateway's trailing newline is stripped before ml is checked; a final ';' is allowed."""
    assert parse_aml(ELS_NO_LOCATION + "\r\n").length_ok is True
    assert parse_aml(ELS_NO_LOCATION[:-3] + "128;").length_ok is True


def test_report_is_frozen() -> None:
    """AmlReport is an immutable value."""
    report = parse_aml(AML_LIB_V1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.latitude = 0.0  # type: ignore[misc]


# --- SMS v2 (Google ELS beta) -----------------------------------------------------------------


def test_v2_reads_its_own_key_meanings() -> None:
    """Version 2: lt is a time offset, lg a language, lo carries the position; no ml."""
    report = parse_aml(ELS_V2)
    assert report.version == 2
    assert report.latitude == pytest.approx(-37.42175)
    assert report.longitude == pytest.approx(-122.08461)
    assert report.radius_m == pytest.approx(2000.1)
    assert report.call_time == datetime.fromtimestamp(1593187189, tz=UTC)
    assert report.time == datetime.fromtimestamp(1593187189 - 9999, tz=UTC)
    assert report.language == "en-US"
    assert report.altitude_m == pytest.approx(-100.1)
    assert report.method is AmlMethod.GPS
    assert (report.mcc, report.mnc, report.home_mcc, report.home_mnc) == (
        "310",
        "260",
        "310",
        "260",
    )
    assert report.emergency_number == "+15555555555"
    assert report.imsi is None
    assert report.length_ok is None


def test_v2_without_position_uses_call_time() -> None:
    """A v2 text without lo has no fix and its time is the call start, with a warning."""
    report = parse_aml('A"ML=2;et=1593187189;ei=358239059042542')
    assert not report.has_fix
    assert report.time == datetime.fromtimestamp(1593187189, tz=UTC)
    assert AmlWarning.TIME_FROM_CALL_START in report.warnings


def test_v2_zero_accuracy_means_unknown_radius() -> None:
    """lo accuracy 0 is "unknown": radius_m None."""
    report = parse_aml('A"ML=2;et=1593187189;lo=41.0,29.0,0;lt=3')
    assert report.radius_m is None
    assert report.time == datetime.fromtimestamp(1593187192, tz=UTC)


def test_v2_offset_beyond_a_day_is_ignored() -> None:
    """An lt offset of more than a day is not trusted: the call start is used, with a warning."""
    report = parse_aml('A"ML=2;et=1593187189;lo=41.0,29.0,5;lt=999999')
    assert report.time == datetime.fromtimestamp(1593187189, tz=UTC)
    assert AmlWarning.TIME_OFFSET_IGNORED in report.warnings


def test_v1_keys_are_not_read_with_v2_meanings() -> None:
    """The same lt/lg in a v1 text are latitude/longitude; in v2 lg=en-US is not a longitude."""
    assert parse_aml(v1(lt="+41.00000", lg="+029.00000")).longitude == 29.0
    with pytest.raises(AmlValueError) as caught:
        parse_aml('A"ML=1;lt=41.0;lg=en-US;rd=5;top=20220131171748')
    assert caught.value.field == "lg"


# --- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error", "field", "secret"),
    [
        pytest.param("", AmlSyntaxError, None, None, id="empty"),
        pytest.param("AML=1;lt=1;lg=2", AmlSyntaxError, None, None, id="no-header"),
        pytest.param('A"ML=1;lt', AmlSyntaxError, None, None, id="field-without-equals"),
        pytest.param('A"ML=1;;lt=1', AmlSyntaxError, None, None, id="empty-field"),
        pytest.param(v1(lt="+51.5") + ";lt=+52.0", AmlSyntaxError, None, None, id="duplicate"),
        pytest.param(v1(xy="a\x00b"), AmlSyntaxError, None, None, id="nul"),
        pytest.param(v1(xy="a\x1bb"), AmlSyntaxError, None, None, id="escape"),
        pytest.param(v1(xy="🚑"), AmlSyntaxError, None, None, id="emoji"),
        pytest.param(v1(xy="\u202eevil"), AmlSyntaxError, None, None, id="rtl-override"),
        pytest.param('A"ML=3;lt=1', AmlUnsupportedVersion, None, None, id="version-3"),
        pytest.param('A"ML=0', AmlUnsupportedVersion, None, None, id="version-0"),
        pytest.param('A"ML=x;lt=1', AmlUnsupportedVersion, None, None, id="version-text"),
        pytest.param(v1(lt="+91.12345"), AmlValueError, "lt", "91.12345", id="lat-range"),
        pytest.param(v1(lg="-181.54321"), AmlValueError, "lg", "181.54321", id="lon-range"),
        pytest.param(v1(lt="nan"), AmlValueError, "lt", None, id="lat-nan"),
        pytest.param(v1(lt="1e1"), AmlValueError, "lt", None, id="lat-exponent"),
        pytest.param(v1(lt="4_1.0"), AmlValueError, "lt", None, id="lat-underscore"),
        pytest.param(v1(lg="<drop>"), AmlValueError, "lg", None, id="lat-without-lon"),
        pytest.param(v1(rd="-14"), AmlValueError, "rd", None, id="negative-radius"),
        pytest.param(v1(rd="9999999"), AmlValueError, "rd", None, id="huge-radius"),
        pytest.param(v1(top="20221331000000"), AmlValueError, "top", None, id="month-13"),
        pytest.param(v1(top="2022013117"), AmlValueError, "top", None, id="short-top"),
        pytest.param(v1(top="<drop>"), AmlValueError, "top", None, id="no-top"),
        pytest.param(v1(lc="101"), AmlValueError, "lc", None, id="confidence-101"),
        pytest.param(v1(si="23415X"), AmlValueError, "si", "23415X", id="imsi-letters"),
        pytest.param(v1(ei="12345"), AmlValueError, "ei", None, id="imei-short"),
        pytest.param(v1(mcc="2345"), AmlValueError, "mcc", None, id="mcc-4-digits"),
        pytest.param(v1(mnc="1"), AmlValueError, "mnc", None, id="mnc-1-digit"),
        pytest.param('A"ML=2;lo=1,2,3', AmlValueError, "et", None, id="v2-no-et"),
        pytest.param('A"ML=2;et=1;lo=1', AmlValueError, "lo", None, id="v2-lo-one-number"),
        pytest.param('A"ML=2;et=1;lo=95,2,3', AmlValueError, "lo", None, id="v2-lat-range"),
        pytest.param('A"ML=2;et=1;nc=31', AmlValueError, "nc", None, id="v2-bad-nc"),
        pytest.param('A"ML=2;et=1;lg=en_US!', AmlValueError, "lg", None, id="v2-bad-language"),
        pytest.param('A"ML=1;' + "x" * MAX_SMS_CHARS, AmlTooLong, None, None, id="too-long"),
        pytest.param(
            'A"ML=1;' + ";".join(f"k{i}=1" for i in range(MAX_SMS_FIELDS)),
            AmlTooLong,
            None,
            None,
            id="too-many-fields",
        ),
        pytest.param(v1(xy="9" * 300), AmlTooLong, None, None, id="value-too-long"),
    ],
)
def test_sms_rejections_are_documented_and_do_not_echo(
    text: str, error: type[AmlError], field: str | None, secret: str | None
) -> None:
    """Each broken text raises its documented AmlError, naming the field, never echoing data."""
    with pytest.raises(error) as caught:
        parse_aml(text)
    assert isinstance(caught.value, AmlError)
    if field is not None:
        assert isinstance(caught.value, AmlValueError)
        assert caught.value.field == field
    if secret is not None:
        assert secret not in str(caught.value)


def test_unsupported_version_carries_the_number() -> None:
    """AmlUnsupportedVersion exposes the declared version for counting."""
    with pytest.raises(AmlUnsupportedVersion) as caught:
        parse_aml('A"ML=7;lt=1')
    assert caught.value.version == 7


def test_duplicate_unknown_key_is_not_named() -> None:
    """A repeated unknown key is refused without echoing its (caller-chosen) name."""
    with pytest.raises(AmlSyntaxError) as caught:
        parse_aml(v1(secretkey="1") + ";secretkey=2")
    assert "secretkey" not in str(caught.value)


# --- HTTPS ----------------------------------------------------------------------------------


def test_etsi_https_example() -> None:
    """The ETSI HTTPS body: position, ms time, method, certainty, identities, networks, extra."""
    report = parse_aml_https(ETSI_HTTPS)
    assert report.transport is AmlTransport.HTTPS
    assert report.version == 1
    assert report.latitude == pytest.approx(55.85732)
    assert report.longitude == pytest.approx(-4.26325)
    assert report.radius_m == pytest.approx(10.4)
    assert report.time == datetime(2016, 10, 11, 12, 37, 24, 435000, tzinfo=UTC)
    assert report.method is AmlMethod.GPS
    assert report.confidence == 83
    assert report.device_number == "+447477593102"
    assert report.imei == "354773072099116"
    assert report.imsi == "234159176307582"
    assert (report.mcc, report.mnc, report.home_mcc, report.home_mnc) == ("234", "15", "234", "15")
    assert report.altitude_m == 0.0
    assert report.length_ok is None
    assert dict(report.extra) == {
        "location_floor": "5",
        "device_model": "ABC ABC Detente 530",
        "device_os": "AOS",
        "cell_id": "0213454321",
    }
    out = report.to_json_dict()
    assert out.keys() >= CONTRACT_KEYS
    assert out["time"] == "2016-10-11T12:37:24.435000Z"


def test_https_bytes_and_str_give_the_same_report() -> None:
    """The body may be given as bytes or str."""
    assert parse_aml_https(ETSI_HTTPS.encode()) == parse_aml_https(ETSI_HTTPS)


def test_hmac_public_vector_is_accepted() -> None:
    """The aml-lib signed body verifies with key "AML"; hmac never lands in extra."""
    report = parse_aml_https(SIGNED_HTTPS, hmac_key=b"AML")
    assert report.latitude == pytest.approx(0.85732)
    assert "hmac" not in report.extra


def test_hmac_uppercase_hex_is_accepted() -> None:
    """The hex digest is compared case-insensitively."""
    body, _, mac = SIGNED_HTTPS.rpartition("&hmac=")
    assert parse_aml_https(f"{body}&hmac={mac.upper()}", hmac_key=b"AML").confidence == 83


def test_hmac_computed_here_is_accepted() -> None:
    """A body we sign ourselves with HMAC-SHA1 over the bytes before &hmac= verifies."""
    body = "v=1&location_latitude=41.0&location_longitude=29.0&location_time=1700000000000"
    mac = hmac.new(b"istanbul-key", body.encode(), hashlib.sha1).hexdigest()
    assert parse_aml_https(f"{body}&hmac={mac}", hmac_key=b"istanbul-key").has_fix


@pytest.mark.parametrize(
    ("body", "key"),
    [
        pytest.param(SIGNED_HTTPS, b"wrong", id="wrong-key"),
        pytest.param(SIGNED_HTTPS.replace("0.85732", "0.85733"), b"AML", id="tampered"),
        pytest.param(SIGNED_HTTPS.rpartition("&hmac=")[0], b"AML", id="missing"),
        pytest.param(SIGNED_HTTPS + "&x=1", b"AML", id="not-last"),
        pytest.param(SIGNED_HTTPS[:-2], b"AML", id="short-digest"),
        pytest.param(SIGNED_HTTPS[:-1] + "g", b"AML", id="not-hex"),
    ],
)
def test_hmac_failures(body: str, key: bytes) -> None:
    """With a key configured, a missing, misplaced, malformed or wrong hmac is refused."""
    with pytest.raises(AmlHmacMismatch):
        parse_aml_https(body, hmac_key=key)


def test_hmac_is_ignored_without_a_key() -> None:
    """Without a key the hmac field is not checked (nor kept)."""
    report = parse_aml_https(SIGNED_HTTPS.replace("0.85732", "0.85733"))
    assert report.latitude == pytest.approx(0.85733)
    assert "hmac" not in report.extra


def test_https_location_confidence_fraction_becomes_percent() -> None:
    """ELS posts location_confidence as 0..1; it becomes a whole percentage."""
    body = "v=1&location_time=1700000000000&location_confidence=0.6827"
    assert parse_aml_https(body).confidence == 68


def test_https_without_location_time_falls_back_to_call_time() -> None:
    """No location_time: the call start `time` is used, with a warning."""
    report = parse_aml_https("v=1&time=1438101600123&location_source=wifi")
    assert report.time == datetime(2015, 7, 28, 16, 40, 0, 123000, tzinfo=UTC)
    assert report.warnings == (AmlWarning.TIME_FROM_CALL_START,)
    assert report.method is AmlMethod.WIFI


def test_https_home_mcc_falls_back_to_the_imsi() -> None:
    """Without cell_home_mcc the IMSI's first three digits give the home network."""
    body = "v=1&location_time=1700000000000&device_imsi=286011234567890"
    assert parse_aml_https(body).home_mcc == "286"


def test_https_unknown_location_source_warns() -> None:
    """An unknown location_source is method unknown with a warning."""
    report = parse_aml_https("v=1&location_time=1700000000000&location_source=barometer")
    assert report.method is AmlMethod.UNKNOWN
    assert AmlWarning.METHOD_UNKNOWN in report.warnings


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        pytest.param("location_time=1", AmlUnsupportedVersion, None, id="no-version"),
        pytest.param("v=2&location_time=1", AmlUnsupportedVersion, None, id="version-2"),
        pytest.param("v=one&location_time=1", AmlUnsupportedVersion, None, id="version-text"),
        pytest.param("v=1", AmlValueError, "location_time", id="no-time"),
        pytest.param("v=1&location_time=1x", AmlValueError, "location_time", id="time-text"),
        pytest.param(
            "v=1&location_time=999999999999999", AmlValueError, "location_time", id="year-31690"
        ),
        pytest.param(
            "v=1&location_time=1&location_latitude=41.0",
            AmlValueError,
            "location_longitude",
            id="lat-only",
        ),
        pytest.param(
            "v=1&location_time=1&location_latitude=-90.5&location_longitude=1",
            AmlValueError,
            "location_latitude",
            id="lat-range",
        ),
        pytest.param(
            "v=1&location_time=1&location_certainty=150",
            AmlValueError,
            "location_certainty",
            id="certainty",
        ),
        pytest.param(
            "v=1&location_time=1&location_confidence=1.5",
            AmlValueError,
            "location_confidence",
            id="confidence-fraction",
        ),
        pytest.param(
            "v=1&location_time=1&device_number=%2B90+532", AmlValueError, "device_number", id="tel"
        ),
        pytest.param("v=1&location_time=1&x=a%00b", AmlValueError, "(an unknown field)", id="nul"),
        pytest.param("v=1&location_time=1&v=1", AmlSyntaxError, None, id="duplicate"),
        pytest.param("v=1&location_time", AmlSyntaxError, None, id="no-equals"),
        pytest.param("v=1&location_time=1&x=%FF", AmlSyntaxError, None, id="not-utf8"),
        pytest.param("v=1&location_time=1&x-y=1", AmlSyntaxError, None, id="bad-name"),
        pytest.param("v=1&location_time=1\n", AmlSyntaxError, None, id="raw-newline"),
        pytest.param("v=1&location_time=1&x=ş", AmlSyntaxError, None, id="raw-non-ascii"),
        pytest.param("v=1&x=" + "a" * MAX_HTTPS_BYTES, AmlTooLong, None, id="body-too-large"),
        pytest.param("v=1" + "&a=1" * MAX_HTTPS_FIELDS, AmlTooLong, None, id="too-many-fields"),
        pytest.param("v=1&location_time=1&x=" + "a" * 300, AmlTooLong, None, id="long-value"),
    ],
)
def test_https_rejections(body: str, error: type[AmlError], field: str | None) -> None:
    """Each broken HTTPS body raises its documented AmlError, naming the field when there is one."""
    with pytest.raises(error) as caught:
        parse_aml_https(body)
    if field is not None:
        assert isinstance(caught.value, AmlValueError)
        assert caught.value.field == field


def test_percent_encoded_non_ascii_values_are_kept() -> None:
    """A UTF-8 device model (percent-encoded) is kept as given in extra."""
    report = parse_aml_https("v=1&location_time=1&device_model=%C3%87%C4%B1nar+%F0%9F%9A%91")
    assert report.extra["device_model"] == "Çınar 🚑"


# --- idempotency ------------------------------------------------------------------------------


def test_idempotency_key_is_stable_and_distinguishes_reports() -> None:
    """Same report, same key; another time, transport or device gives another key."""
    first = parse_aml(AML_LIB_V1)
    assert first.idempotency_key == parse_aml(AML_LIB_V1).idempotency_key
    assert "353472104343540" in first.idempotency_key
    later = parse_aml(AML_LIB_V1.replace("top=20191112112928", "top=20191112112929"))
    assert later.idempotency_key != first.idempotency_key
    other = parse_aml(AML_LIB_V1.replace("ei=353472104343540", "ei=353472104343541"))
    assert other.idempotency_key != first.idempotency_key
    https = parse_aml_https(ETSI_HTTPS)
    assert https.idempotency_key.startswith("aml:https:1:354773072099116:")


def test_idempotency_key_without_identity_uses_the_position() -> None:
    """With no IMEI, IMSI or number, the position keeps two anonymous reports apart."""
    a = parse_aml_https("v=1&location_time=1&location_latitude=41&location_longitude=29")
    b = parse_aml_https("v=1&location_time=1&location_latitude=41&location_longitude=30")
    assert a.idempotency_key != b.idempotency_key


# --- properties -------------------------------------------------------------------------------


def _outcome_is_documented(call: Callable[[], AmlReport]) -> None:
    try:
        result = call()
    except IntakeError:
        return
    assert isinstance(result, AmlReport)
    assert result.time.tzinfo is not None
    assert result.to_json_dict().keys() >= CONTRACT_KEYS


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=800))
def test_any_text_gives_a_report_or_a_documented_error(text: str) -> None:
    """parse_aml on any text returns a report or raises an IntakeError subclass, nothing else."""
    _outcome_is_documented(lambda: parse_aml(text))


_KEYS = st.sampled_from(
    [
        *("lt", "lg", "rd", "top", "lc", "pm", "si", "ei", "mcc", "mnc", "ml"),
        *("en", "et", "lo", "lz", "ls", "nc", "hc", "zz"),
    ]
)
_VALUES = st.one_of(
    st.from_regex(r"[+-]?[0-9]{1,3}(\.[0-9]{1,6})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,16}", fullmatch=True),
    st.sampled_from(["N", "G", "W", "", "20220131171748", "1,2,3", "-37.4,122.1,0"]),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["1", "2", "3"]),
    st.lists(st.tuples(_KEYS, _VALUES), max_size=14),
)
def test_structured_texts_give_a_report_or_a_documented_error(
    version: str, pairs: list[tuple[str, str]]
) -> None:
    """Texts built from real keys and plausible values reach deep rules and stay documented."""
    text = f'A"ML={version};' + ";".join(f"{k}={v}" for k, v in pairs)
    _outcome_is_documented(lambda: parse_aml(text))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.one_of(st.none(), st.binary(max_size=16)))
def test_any_https_body_gives_a_report_or_a_documented_error(
    body: bytes, key: bytes | None
) -> None:
    """parse_aml_https on any bytes (with or without a key) returns a report or an IntakeError."""
    _outcome_is_documented(lambda: parse_aml_https(body, hmac_key=key))


_FORM_KEYS = st.sampled_from(
    [
        "v",
        "time",
        "location_latitude",
        "location_longitude",
        "location_time",
        "location_accuracy",
        "location_source",
        "location_certainty",
        "location_confidence",
        "device_imsi",
        "device_imei",
        "cell_home_mcc",
        "device_number",
        "device_languages",
        "hmac",
        "other",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_FORM_KEYS, _VALUES), max_size=12))
def test_structured_https_bodies_give_a_report_or_a_documented_error(
    pairs: list[tuple[str, str]],
) -> None:
    """Form bodies built from real field names stay within value-or-documented-error."""
    body = "v=1&" + "&".join(f"{k}={v}" for k, v in pairs)
    _outcome_is_documented(lambda: parse_aml_https(body))
