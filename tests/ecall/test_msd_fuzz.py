"""FUZZ TEST of the MSD decoder: 100,000 hostile inputs, each a value or a documented error.

Inputs are a deterministic mix (seeded) of random octet strings, truncations and bit flips of
valid MSDs of every version (the golden vectors plus freshly encoded ones), and valid MSDs
with random trailing octets. For each input ``decode_msd`` must either return a value that
passes ``validate_msd`` and survives re-encoding, or raise a ``MsdDecodeError`` subclass
whose message does not echo the VIN. Anything else (a library exception, a crash) fails.
Runs in about 10 s on two cores.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from ecall.errors import MsdDecodeError
from ecall.msd import decode_msd, encode_msd, validate_msd

GOLDEN = json.loads((Path(__file__).parent / "msd_golden.json").read_text("utf-8"))["vectors"]
INPUTS = 100_000


def _seeds() -> list[bytes]:
    seeds = [bytes.fromhex(v["hex"]) for v in GOLDEN]
    seeds += [
        bytes.fromhex(v["explicit_defaults_hex"]) for v in GOLDEN if "explicit_defaults_hex" in v
    ]
    return seeds


def _inputs(rng: random.Random, seeds: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for i in range(INPUTS):
        seed = rng.choice(seeds)
        kind = i % 4
        if kind == 0:  # random octets, sometimes with a plausible version octet
            data = bytearray(rng.randbytes(rng.randrange(0, 160)))
            if data and rng.random() < 0.75:
                data[0] = rng.choice((1, 2, 3))
            out.append(bytes(data))
        elif kind == 1:  # truncation
            out.append(seed[: rng.randrange(0, len(seed))])
        elif kind == 2:  # 1..8 bit flips
            data = bytearray(seed)
            for _ in range(rng.randrange(1, 9)):
                bit = rng.randrange(len(data) * 8)
                data[bit // 8] ^= 0x80 >> (bit % 8)
            out.append(bytes(data))
        else:  # flipped or intact, with trailing garbage
            data = bytearray(seed)
            if rng.random() < 0.5:
                bit = rng.randrange(8, len(data) * 8)
                data[bit // 8] ^= 0x80 >> (bit % 8)
            out.append(bytes(data) + rng.randbytes(rng.randrange(1, 40)))
    return out


def test_fuzz_every_input_gives_a_value_or_a_documented_error() -> None:
    """FUZZ: 100,000 random, truncated and bit-flipped inputs: value or MsdDecodeError only."""
    rng = random.Random(20260112)
    outcomes: Counter[str] = Counter()
    messages: set[str] = set()
    for data in _inputs(rng, _seeds()):
        try:
            msd = decode_msd(data)
        except MsdDecodeError as exc:
            messages.add(str(exc))
            outcomes[type(exc).__name__] += 1
            continue
        validate_msd(msd, msd.msd_version)
        if msd.msd_version in (2, 3):
            # A decoded value re-encodes (minimal form, never longer) to the same value.
            assert decode_msd(encode_msd(msd, msd.msd_version)) == msd
        outcomes["value"] += 1
    assert sum(outcomes.values()) == INPUTS
    assert not [m for m in messages if "WM9VDSVDSYA123456" in m or "NMTBE3JE10R123456" in m]
    # The mix reaches both sides and the main rejections.
    assert outcomes["value"] > 1_000
    for name in ("MsdTruncated", "UnsupportedMsdVersion", "InvalidVin", "MsdOutOfRange"):
        assert outcomes[name] > 0, name
