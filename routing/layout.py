"""What the built data directory holds: its location, file names and format version.

Shared by the build (``routing.build_data``) and the loader (``routing.boundaries``) so that
loading never imports the build machinery.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_FORMAT", "DEFAULT_DATA_DIR", "MANIFEST", "OUTPUT_FILES"]

#: Bumped whenever the layout of the built files changes; the loader refuses other formats.
DATA_FORMAT = 1

#: ``routing/data`` next to the package (git-ignored).
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"

#: The files a complete build writes, besides the manifest.
OUTPUT_FILES = ("gazetteer.npz", "provinces.geojson", "districts.geojson")

MANIFEST = "manifest.json"
