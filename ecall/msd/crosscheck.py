"""A second, independent UPER implementation of the MSD modules, built with pycrate.

The codec uses asn1tools with ``additionalData.oid`` read as an OCTET STRING; pycrate compiles
the very same ``asn1/msd_v*.asn`` files with a real RELATIVE-OID and the real
``OCTET STRING (CONTAINING MSDMessage)`` wrapper. The golden tests require both to agree bit
for bit, and ``ng112 bench msd`` uses pycrate as the baseline decoder. pycrate is a test-extra
dependency: importing this module without it raises ``ModuleNotFoundError``.

pycrate compiles to Python source; ``pycrate_module`` writes that source to a temporary
directory, imports it and caches the result per version (development use only: no runtime
path of ng112 touches this module).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import tempfile
from pathlib import Path
from typing import Any

from pycrate_asn1c.asnproc import (  # type: ignore[import-untyped]
    GLOBAL,
    PycrateGenerator,
    compile_text,
    generate_modules,
)
from pycrate_asn1rt.codecs import ASN1CodecPER  # type: ignore[import-untyped]

from ecall.msd.codec import schema_text

__all__ = ["pycrate_decode", "pycrate_encode", "pycrate_module"]

_MODULE_NAMES = {1: "MSDASN1ModuleV1", 2: "MSDASN1Module", 3: "MSDASN1ModuleV3"}


@functools.cache
def pycrate_module(version: int) -> Any:
    """The pycrate runtime module compiled from ``asn1/msd_v{version}.asn``."""
    GLOBAL.clear()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        compile_text(schema_text(version))
        path = Path(tmp) / f"ng112_msd_v{version}_pycrate.py"
        generate_modules(PycrateGenerator, str(path))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:  # pragma: no cover - a file we just wrote
            raise ImportError(path.stem)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    GLOBAL.clear()
    return getattr(module, _MODULE_NAMES[version])


def pycrate_decode(data: bytes) -> dict[str, Any]:
    """The ``ECallMessage`` value pycrate reads from ``data`` (version from octet 0).

    For versions 2 and 3 the ``msd`` element is pycrate's ``("MSDMessage", {...})`` pair.
    """
    message = pycrate_module(data[0]).ECallMessage
    message.from_uper(data)
    value: dict[str, Any] = message.get_val()
    return value


def pycrate_encode(value: dict[str, Any], *, explicit_defaults: bool = False) -> bytes:
    """UPER of an ``ECallMessage`` value (version from ``value["id"]``).

    With ``explicit_defaults`` pycrate codes DEFAULT elements present in ``value`` even when
    they equal the default, as some in-vehicle encoders do (the non-canonical, valid form).
    """
    message = pycrate_module(value["id"]).ECallMessage
    canonical = ASN1CodecPER.CANONICAL
    ASN1CodecPER.CANONICAL = not explicit_defaults
    try:
        message.set_val(value)
        encoded: bytes = message.to_uper()
    finally:
        ASN1CodecPER.CANONICAL = canonical
    return encoded
