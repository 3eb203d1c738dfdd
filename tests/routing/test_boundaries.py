"""Settings and loading: TOML validation, missing data, a deployment's own datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from routing import Ground
from routing.boundaries import RoutingSettings, load_boundaries
from routing.errors import BoundaryDataError, RoutingSettingsError
from routing.locate import Gazetteer


def test_settings_from_routing_table(tmp_path: Path) -> None:
    """The [routing] table is read; relative paths are relative to the settings file."""
    path = tmp_path / "ng112.toml"
    path.write_text(
        '[server]\nport = 8112\n[routing]\nsnap_tolerance_m = 150\ndata_dir = "data"\n',
        encoding="utf-8",
    )
    settings = RoutingSettings.from_toml(path)
    assert settings.snap_tolerance_m == 150
    assert settings.data_dir == tmp_path / "data"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[routing]\nsnap_radius = 3\n", "invalid: snap_radius"),
        ("[routing]\nsea_reach_km = -1\n", "invalid: sea_reach_km"),
        ("[routing\n", "not valid TOML"),
    ],
)
def test_bad_settings(tmp_path: Path, text: str, message: str) -> None:
    """Unknown keys, out-of-range values and broken TOML are refused with the field named."""
    path = tmp_path / "ng112.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RoutingSettingsError, match=message):
        RoutingSettings.from_toml(path)


def test_unreadable_settings(tmp_path: Path) -> None:
    """A missing settings file is a settings error."""
    with pytest.raises(RoutingSettingsError, match="cannot be read"):
        Gazetteer.load(tmp_path / "absent.toml")


def test_missing_data_says_how_to_build(tmp_path: Path) -> None:
    """Without built data, loading names the files and the command that builds them."""
    with pytest.raises(BoundaryDataError, match=r"python -m routing\.build_data"):
        load_boundaries(RoutingSettings(data_dir=tmp_path))


def _feature(geom: object, **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": json.loads(shapely.to_geojson(geom)),
    }


def test_own_district_dataset(gazetteer: Gazetteer, tmp_path: Path) -> None:
    """A deployment's district file replaces the built-in set; provinces follow from it."""
    beyoglu = gazetteer.district_geometry("TUR034013")
    cankaya = gazetteer.district_geometry("TUR006007")
    path = tmp_path / "ilce.geojson"
    document = {
        "type": "FeatureCollection",
        "features": [
            _feature(beyoglu, kod="IST-BEY", ad="Beyoğlu (resmî)", il=34),
            _feature(cankaya, kod="ANK-CAN", ad="Çankaya (resmî)", il=6),
        ],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    settings_path = tmp_path / "ng112.toml"
    settings_path.write_text(
        "[routing.districts]\n"
        f'path = "{path}"\ncode_field = "kod"\nname_field = "ad"\nplate_field = "il"\n',
        encoding="utf-8",
    )
    own = Gazetteer.load(settings_path)
    assert own.source == str(path)
    result = own.locate(41.0369, 28.9850)
    assert result.district is not None
    assert result.district.code == "IST-BEY"
    assert result.province is not None
    assert result.province.name == "İstanbul"
    assert own.locate(39.9250, 32.8369).district is not None
    assert json.loads(own.district_geojson())["features"][0]["properties"]["code"] == "IST-BEY"
    konya = own.locate(37.8707, 32.5048)  # not in the two-district set: not Turkish land there
    assert konya.district is None


def test_own_district_dataset_errors(tmp_path: Path) -> None:
    """A district file without the named fields, or with bad plates, is refused."""
    path = tmp_path / "ilce.geojson"
    square = shapely.box(30, 39, 30.1, 39.1)
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [_feature(square, pcode="X", name="Y", plate=99)],
            }
        ),
        encoding="utf-8",
    )
    settings = RoutingSettings.model_validate({"districts": {"path": path}})
    with pytest.raises(BoundaryDataError, match="plate outside"):
        load_boundaries(settings)
    settings = RoutingSettings.model_validate({"districts": {"path": path, "code_field": "kod"}})
    with pytest.raises(BoundaryDataError, match="no field 'kod'"):
        load_boundaries(settings)
    settings = RoutingSettings.model_validate({"districts": {"path": tmp_path / "none.gpkg"}})
    with pytest.raises(BoundaryDataError, match="cannot be read"):
        load_boundaries(settings)


def test_own_ground_polygons(gazetteer: Gazetteer, tmp_path: Path) -> None:
    """Real responsibility areas win where they exist; the approximation answers elsewhere."""
    lat, lon = 37.9808, 38.7408  # Mount Nemrut: gendarmerie in the approximation
    assert gazetteer.locate(lat, lon).ground is Ground.GENDARMERIE
    police = shapely.Point(lon, lat).buffer(0.05)
    gendarmerie = shapely.Point(29.0, 41.04).buffer(0.01)  # a patch of central İstanbul
    path = tmp_path / "sorumluluk.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    _feature(police, ground="police"),
                    _feature(gendarmerie, ground="gendarmerie"),
                ],
            }
        ),
        encoding="utf-8",
    )
    own = Gazetteer.from_settings(RoutingSettings.model_validate({"ground": {"path": path}}))
    assert own.locate(lat, lon).ground is Ground.POLICE
    assert own.locate(41.04, 29.0).ground is Ground.GENDARMERIE
    assert own.locate(39.9250, 32.8369).ground is Ground.POLICE  # Anıtkabir: approximation


def test_bad_ground_values(tmp_path: Path) -> None:
    """Ground polygons must say police or gendarmerie."""
    path = tmp_path / "sorumluluk.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [_feature(shapely.box(30, 39, 31, 40), ground="army")],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(BoundaryDataError, match="police' or 'gendarmerie"):
        load_boundaries(RoutingSettings.model_validate({"ground": {"path": path}}))
