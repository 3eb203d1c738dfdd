"""Golden EN 15722 MSD vectors: public implementations' bytes and pycrate's, against our codec.

``msd_golden.json`` holds, per version, MSD bytes that did not come from ng112's encoder: two
version 1 MSDs published by independent implementations (jonesir/ecallmsdperencoder and
Sierra Wireless' legato-af, both carrying the EN 15722 example values), and version 2 and 3
MSDs encoded by pycrate from the ``asn1/`` modules with a real RELATIVE-OID. Each vector also
states the JSON the codec must print for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecall.msd import (
    AdditionalData,
    MinimumSetOfData,
    decode_msd,
    decode_relative_oid,
    encode_msd,
)
from ecall.msd.crosscheck import pycrate_decode, pycrate_encode

GOLDEN = json.loads((Path(__file__).parent / "msd_golden.json").read_text("utf-8"))["vectors"]
ENCODABLE = [vector for vector in GOLDEN if vector["version"] in (2, 3)]


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [vector["name"] for vector in vectors]


def test_golden_file_covers_every_version() -> None:
    """There is at least one golden vector per MSD version, and explicit-DEFAULT variants."""
    assert {vector["version"] for vector in GOLDEN} == {1, 2, 3}
    assert any(v["explicit_defaults_hex"] != v["hex"] for v in ENCODABLE)


@pytest.mark.parametrize("vector", GOLDEN, ids=_ids(GOLDEN))
def test_golden_vector_decodes_to_expected_json(vector: dict[str, Any]) -> None:
    """Each golden MSD decodes to exactly the JSON object stated next to it."""
    msd = decode_msd(bytes.fromhex(vector["hex"]))
    assert msd.to_json_dict() == vector["expected"]


@pytest.mark.parametrize("vector", ENCODABLE, ids=_ids(ENCODABLE))
def test_explicit_default_encoding_decodes_equal_to_minimal(vector: dict[str, Any]) -> None:
    """An MSD coding every DEFAULT FALSE flag explicitly decodes to the same value."""
    explicit = decode_msd(bytes.fromhex(vector["explicit_defaults_hex"]))
    minimal = decode_msd(bytes.fromhex(vector["hex"]))
    assert explicit == minimal


@pytest.mark.parametrize("vector", ENCODABLE, ids=_ids(ENCODABLE))
def test_encoder_agrees_with_pycrate_bit_for_bit(vector: dict[str, Any]) -> None:
    """asn1tools (with oid read as OCTET STRING) writes the very bits pycrate wrote."""
    msd = MinimumSetOfData.from_json_dict(vector["expected"])
    assert encode_msd(msd, version=vector["version"]).hex().upper() == vector["hex"]


@pytest.mark.parametrize("vector", GOLDEN, ids=_ids(GOLDEN))
def test_pycrate_reads_golden_bytes_as_we_do(vector: dict[str, Any]) -> None:
    """pycrate, with a real RELATIVE-OID, reads each golden MSD to the same elements."""
    data = bytes.fromhex(vector["hex"])
    value = pycrate_decode(data)
    message = value["msd"] if vector["version"] == 1 else value["msd"][1]
    structure = message["msdStructure"]
    expected = vector["expected"]
    assert value["id"] == expected["msdVersion"]
    assert structure["messageIdentifier"] == expected["messageIdentifier"]
    assert structure["control"]["vehicleType"] == expected["vehicleType"]
    vin = structure["vehicleIdentificationNumber"]
    assert (
        "".join(vin[k] for k in ("isowmi", "isovds", "isovisModelyear", "isovisSeqPlant"))
        == (expected["vin"])
    )
    assert structure["vehicleLocation"]["positionLatitude"] == expected["positionLatitude"]
    extra = message.get("optionalAdditionalData")
    if "additionalData" in expected:
        assert extra is not None
        assert ".".join(map(str, extra["oid"])) == expected["additionalData"]["oid"]
    else:
        assert extra is None


def test_public_v1_vector_with_trailing_octet_decodes_like_without() -> None:
    """legato-af's copy of the example carries one more octet than jonesir's: it is ignored."""
    jonesir, legato = GOLDEN[0], GOLDEN[1]
    assert len(bytes.fromhex(legato["hex"])) == len(bytes.fromhex(jonesir["hex"])) + 1
    assert decode_msd(bytes.fromhex(legato["hex"])) == decode_msd(bytes.fromhex(jonesir["hex"]))


@pytest.mark.parametrize("vector", ENCODABLE, ids=_ids(ENCODABLE))
def test_trailing_octets_after_wrapped_msd_are_ignored(vector: dict[str, Any]) -> None:
    """Octets after the v2/v3 wrapper (a padded transport frame) do not change the value."""
    data = bytes.fromhex(vector["hex"])
    assert decode_msd(data + bytes(20) + b"\xff") == decode_msd(data)


@pytest.mark.parametrize(
    ("arcs", "contents"),
    [
        ((8, 1), b"\x08\x01"),
        ((1, 2, 125), b"\x01\x02\x7d"),
        ((127, 128), b"\x7f\x81\x00"),
        ((200, 16384, 0), b"\x81\x48\x81\x80\x00\x00"),
        ((2**32 + 1,), b"\x90\x80\x80\x80\x01"),
    ],
)
def test_relative_oid_multi_octet_arcs(arcs: tuple[int, ...], contents: bytes) -> None:
    """additionalData.oid arcs are base-128 per X.690 8.20, with multi-octet arcs."""
    assert decode_relative_oid(contents) == arcs


def test_relative_oid_read_as_octet_string_matches_pycrate_relative_oid() -> None:
    """The OCTET STRING stand-in for RELATIVE-OID carries the X.690 contents pycrate writes.

    pycrate encodes a multi-octet-arc RELATIVE-OID; our decoder (asn1tools with the OCTET
    STRING declaration plus decode_relative_oid) reads back the same arcs and dotted text.
    """
    vector = next(v for v in GOLDEN if v["name"] == "v3-ankara-electric-multi-octet-oid")
    value = pycrate_decode(bytes.fromhex(vector["hex"]))
    value["msd"][1]["optionalAdditionalData"]["oid"] = (8, 1, 300, 2**21, 5)
    msd = decode_msd(pycrate_encode(value))
    assert msd.additional_data == AdditionalData(oid=(8, 1, 300, 2**21, 5), data=b"\x00\xff\x10")
    assert msd.to_json_dict()["additionalData"] == {
        "oid": "8.1.300.2097152.5",
        "data_hex": "00FF10",
    }
