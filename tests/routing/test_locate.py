"""Lookup on the built boundaries: landmarks, references, snapping, sea, abroad, properties."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st

from routing import Ground, InvalidCoordinates, InvalidRadius, UnknownProvince
from routing.locate import Gazetteer, LocateResult

# (label, lat, lon, plate, district name, ground or None to not check it)
INLAND = [
    ("Anıtkabir", 39.9250, 32.8369, 6, "Çankaya", Ground.POLICE),
    ("Sultanahmet", 41.0054, 28.9768, 34, "Fatih", Ground.POLICE),
    ("Konak, İzmir", 38.4189, 27.1287, 35, "Konak", Ground.POLICE),
    ("Mevlana Museum", 37.8707, 32.5048, 42, "Karatay", Ground.POLICE),
    ("Bursa Ulu Cami", 40.1840, 29.0617, 16, "Osmangazi", Ground.POLICE),
    ("Trabzon Ayasofya", 41.0050, 39.6956, 61, "Ortahisar", Ground.POLICE),
    ("Pamukkale", 37.9204, 29.1205, 20, "Pamukkale", None),
    ("Mount Nemrut", 37.9808, 38.7408, 2, "Kahta", Ground.GENDARMERIE),
    ("Sumela Monastery", 40.6903, 39.6580, 61, "Maçka", Ground.GENDARMERIE),
    ("Ani ruins", 40.5075, 43.5728, 36, "Merkez", Ground.GENDARMERIE),
    ("İshak Paşa Palace", 39.5206, 44.1156, 4, "Doğubayazıt", None),
    ("Akdamar island, Lake Van", 38.3406, 43.0364, 65, "Gevaş", Ground.GENDARMERIE),
    ("Göreme", 38.6431, 34.8289, 50, "Merkez", None),
    ("Hakkari", 37.5744, 43.7408, 30, "Merkez", Ground.POLICE),
    ("Iğdır", 39.9196, 44.0450, 76, "Merkez", Ground.POLICE),
    ("Antakya", 36.2021, 36.1600, 31, "Antakya", Ground.POLICE),
    ("Kilis", 36.7184, 37.1212, 79, "Merkez", Ground.POLICE),
    ("Edirne Selimiye", 41.6778, 26.5594, 22, "Merkez", Ground.POLICE),
    ("Kapıkule border gate", 41.7140, 26.3640, 22, "Merkez", None),
    ("Akçakale (Tell Abyad across)", 36.7113, 38.9475, 63, "Akçakale", Ground.POLICE),
    ("Ceylanpınar (Ras al-Ayn across)", 36.8467, 40.0494, 63, "Ceylanpınar", Ground.POLICE),
    ("Nusaybin (Qamishli across)", 37.0750, 41.2150, 47, "Nusaybin", Ground.POLICE),
    ("Sarp border village", 41.5160, 41.5510, 8, "Kemalpaşa", None),
]

COASTAL = [
    ("Bodrum Castle", 37.0320, 27.4295, 48, "Bodrum"),
    ("Alanya harbour", 36.5407, 31.9990, 7, "Alanya"),
    ("Sinop harbour", 42.0240, 35.1530, 57, "Merkez"),
    ("Hopa", 41.3900, 41.4190, 8, "Hopa"),
    ("Çeşme marina", 38.3230, 26.3030, 35, "Çeşme"),
    ("Ayvalık", 39.3180, 26.6940, 10, "Ayvalık"),
    ("Kaş harbour", 36.1990, 29.6390, 7, "Kaş"),
    ("Kadıköy pier", 40.9925, 29.0230, 34, "Kadıköy"),
    ("Bozcaada town", 39.8390, 26.0700, 17, "Bozcaada"),
    ("Gökçeada", 40.1900, 25.8500, 17, "Gökçeada"),
]

# (label, lat, lon, nearest plate): at sea in Turkish waters, coast guard ground.
TURKISH_SEA = [
    ("Sea of Marmara, middle", 40.75, 28.20, 59),
    ("Gulf of Antalya, 20 km out", 36.70, 30.75, 7),
    ("Black Sea, 30 km north of Sinop", 42.30, 35.20, 57),
    ("Off Mersin, 20 km", 36.60, 34.60, 33),
    ("Off Samsun", 41.50, 36.30, 55),
    ("Gulf of İzmit", 40.72, 29.60, 41),
    ("Bosphorus", 41.045, 29.03, 34),
    ("Strait between Kaş and Meis", 36.17, 29.62, 7),
    ("Gulf of Marmaris", 36.83, 28.28, 48),
]

# (label, lat, lon, country): on a neighbour's land.
ABROAD = [
    ("Lesbos, Mytilene", 39.1040, 26.5550, "Greece"),
    ("Samos", 37.7570, 26.9770, "Greece"),
    ("Kos", 36.8930, 27.2880, "Greece"),
    ("Rhodes", 36.4340, 28.2170, "Greece"),
    ("Meis / Kastellorizo", 36.1497, 29.5936, "Greece"),
    ("Chios", 38.3680, 26.1360, "Greece"),
    ("Oinousses", 38.5146, 26.2224, "Greece"),
    ("Kastanies, across the Meriç from Edirne", 41.6455, 26.4768, "Greece"),
    ("Orestiada", 41.5033, 26.5300, "Greece"),
    ("Svilengrad", 41.7667, 26.2000, "Bulgaria"),
    ("Sofia", 42.6977, 23.3219, "Bulgaria"),
    ("Nicosia (north)", 35.1860, 33.3640, "N. Cyprus"),
    ("Limassol", 34.6840, 33.0380, "Cyprus"),
    ("Kyrenia", 35.3350, 33.3200, "N. Cyprus"),
    ("Aleppo", 36.2021, 37.1343, "Syria"),
    ("Tell Abyad", 36.6900, 38.9560, "Syria"),
    ("Qamishli", 37.0522, 41.2311, "Syria"),
    ("Tbilisi", 41.7151, 44.8271, "Georgia"),
    ("Batumi", 41.6168, 41.6367, "Georgia"),
    ("Yerevan", 40.1792, 44.4991, "Armenia"),
    ("Nakhchivan", 39.2089, 45.4122, "Azerbaijan"),
    ("Tabriz", 38.0800, 46.2919, "Iran"),
    ("Erbil", 36.1911, 44.0092, "Iraq"),
]


@pytest.mark.parametrize("case", INLAND, ids=[c[0] for c in INLAND])
def test_inland_landmarks(
    gazetteer: Gazetteer, case: tuple[str, float, float, int, str, Ground | None]
) -> None:
    """Inland landmarks and border towns resolve to their province, district and ground."""
    label, lat, lon, plate, district, ground = case
    result = gazetteer.locate(lat, lon)
    assert result.in_service_area, label
    assert not result.at_sea
    assert result.province is not None
    assert result.province.plate == plate, label
    assert result.district is not None
    assert result.district.name == district, label
    assert result.snapped_km is None
    assert result.nearest_province is None
    if ground is not None:
        assert result.ground is ground, label
    else:
        assert result.ground in {Ground.POLICE, Ground.GENDARMERIE}


@pytest.mark.parametrize("case", COASTAL, ids=[c[0] for c in COASTAL])
def test_coastal_landmarks(gazetteer: Gazetteer, case: tuple[str, float, float, int, str]) -> None:
    """Harbours, piers and island towns resolve to the land province (snapped if just off it)."""
    label, lat, lon, plate, district = case
    result = gazetteer.locate(lat, lon)
    assert result.in_service_area, label
    assert not result.at_sea
    assert result.province is not None
    assert result.province.plate == plate
    assert result.district is not None
    assert result.district.name == district
    assert result.ground in {Ground.POLICE, Ground.GENDARMERIE}
    if result.snapped_km is not None:
        assert result.snapped_km <= 0.3
        assert result.nearest_province == result.province


@pytest.mark.parametrize("case", TURKISH_SEA, ids=[c[0] for c in TURKISH_SEA])
def test_turkish_waters(gazetteer: Gazetteer, case: tuple[str, float, float, int]) -> None:
    """A point clearly at sea in Turkish waters is the coast guard's, for the nearest province."""
    label, lat, lon, plate = case
    result = gazetteer.locate(lat, lon)
    assert result.at_sea, label
    assert result.in_service_area
    assert result.ground is Ground.COAST_GUARD
    assert result.province is None
    assert result.district is None
    assert result.nearest_province is not None
    assert result.nearest_province.plate == plate, label
    assert gazetteer.province(plate).coastal


@pytest.mark.parametrize("case", ABROAD, ids=[c[0] for c in ABROAD])
def test_abroad(gazetteer: Gazetteer, case: tuple[str, float, float, str]) -> None:
    """A neighbour's land (islands off the coast, border towns) is outside the service area."""
    label, lat, lon, country = case
    result = gazetteer.locate(lat, lon, radius_m=50)
    assert not result.in_service_area, label
    assert not result.at_sea
    assert result.province is None
    assert result.district is None
    assert result.ground is None
    assert result.foreign_country == country
    assert result.to_json_dict()["nearest_province"] is None


@pytest.mark.parametrize(
    ("label", "lat", "lon"),
    [
        ("Aegean, west of Lesbos", 39.25, 25.55),
        ("Black Sea, off Crimea", 44.00, 33.50),
        ("South of Cyprus", 34.30, 33.00),
        ("Atlantic", 30.00, -40.00),
        ("South Pacific", -40.0, -120.0),
    ],
)
def test_foreign_sea(gazetteer: Gazetteer, label: str, lat: float, lon: float) -> None:
    """Sea nearer to foreign land than to Türkiye (or far away) is at sea, outside the area."""
    result = gazetteer.locate(lat, lon)
    assert result.at_sea, label
    assert not result.in_service_area
    assert result.ground is None
    assert result.province is None


def test_json_shape(gazetteer: Gazetteer) -> None:
    """The wire form has exactly the issue's keys and plain JSON values."""
    result = gazetteer.locate(41.0369, 28.9850)
    data = result.to_json_dict()
    assert list(data) == [
        "in_service_area",
        "at_sea",
        "province",
        "district",
        "nearest_province",
        "snapped_km",
        "ground",
    ]
    assert data["province"] == {"plate": 34, "name": "İstanbul"}
    assert data["district"] == {"code": "TUR034013", "name": "Beyoğlu"}
    assert data["ground"] == "police"
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


# --- snapping ---------------------------------------------------------------------------------


def _offshore(gazetteer: Gazetteer, lat: float, lon: float) -> tuple[float, str]:
    """Distance in km to the nearest district and its code (independent of the gazetteer)."""
    best = (math.inf, "")
    for info in gazetteer.districts():
        geom = gazetteer.district_geometry(info.code)
        if geom.distance(shapely.Point(lon, lat)) > 0.2:
            continue
        near = shapely.shortest_line(geom, shapely.Point(lon, lat)).coords[0]
        km = _haversine(lat, lon, near[1], near[0])
        best = min(best, (km, info.code))
    return best


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def test_snap_beach_without_radius(gazetteer: Gazetteer) -> None:
    """A point a few tens of metres off the coast resolves to land with the snapping distance."""
    lat, lon = 40.6600, 29.2700  # just off the Yalova shore
    expected_km, code = _offshore(gazetteer, lat, lon)
    assert 0 < expected_km < 0.3
    result = gazetteer.locate(lat, lon)
    assert result.in_service_area
    assert not result.at_sea
    assert result.district is not None
    assert result.district.code == code
    assert result.province is not None
    assert result.province.plate == 77
    assert result.nearest_province == result.province
    assert result.snapped_km == pytest.approx(expected_km, abs=0.005)


def test_snap_within_radius_only(gazetteer: Gazetteer) -> None:
    """A point 2-3 km out is at sea, but snaps to land when its radius reaches the coast."""
    lat, lon = 36.8500, 30.7000  # Gulf of Antalya, south of Kaleiçi
    expected_km, _ = _offshore(gazetteer, lat, lon)
    assert 1.0 < expected_km < 3.0
    at_sea = gazetteer.locate(lat, lon)
    assert at_sea.at_sea
    assert at_sea.ground is Ground.COAST_GUARD
    assert at_sea.snapped_km is None
    near = gazetteer.locate(lat, lon, radius_m=expected_km * 1000 + 200)
    assert not near.at_sea
    assert near.province is not None
    assert near.province.plate == 7
    assert near.snapped_km == pytest.approx(expected_km, abs=0.01)
    short = gazetteer.locate(lat, lon, radius_m=expected_km * 1000 - 200)
    assert short.at_sea


def test_foreign_land_is_never_snapped(gazetteer: Gazetteer) -> None:
    """A wide radius on a Greek island does not pull the call onto the Turkish coast."""
    result = gazetteer.locate(36.1497, 29.5936, radius_m=20_000)
    assert not result.in_service_area
    assert result.foreign_country == "Greece"


# --- references -------------------------------------------------------------------------------


def test_every_province_centre_resolves_to_its_province(
    gazetteer: Gazetteer, shared_data: Path
) -> None:
    """All 81 admin-centre coordinates of turkiye-api fall in their own province."""
    rows = json.loads(
        (shared_data / "admin" / "turkiyeapi_provinces_2025.json").read_text(encoding="utf-8")
    )
    assert len(rows) == 81
    for row in rows:
        where = gazetteer.locate(row["coordinates"]["latitude"], row["coordinates"]["longitude"])
        assert where.province is not None, row["name"]
        assert where.province.plate == row["id"], row["name"]
        assert where.province.name == row["name"]
        assert where.snapped_km is None
        info = gazetteer.province(row["id"])
        assert info.coastal == row["isCoastal"], row["name"]
        assert info.metropolitan == row["isMetropolitan"], row["name"]
        seat_km = _haversine(
            info.centre_lat,
            info.centre_lon,
            row["coordinates"]["latitude"],
            row["coordinates"]["longitude"],
        )
        assert seat_km < 10, row["name"]


def test_districts_agree_with_reference(gazetteer: Gazetteer, shared_data: Path) -> None:
    """Each reference COD-AB district's interior point resolves to it, with the same area."""
    document = json.loads(
        (shared_data / "boundaries" / "tr_districts_codab.geojson").read_text(encoding="utf-8")
    )
    features = document["features"]
    assert len(features) == len(gazetteer.districts()) == 973
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    points = shapely.point_on_surface(shapely.buffer(geoms, -0.003))
    points = np.where(shapely.is_empty(points), shapely.point_on_surface(geoms), points)
    xy = shapely.get_coordinates(points)
    bulk = gazetteer.locate_many(xy[:, 1], xy[:, 0])
    codes = [d.code for d in gazetteer.districts()]
    for k, feature in enumerate(features):
        props = feature["properties"]
        assert codes[bulk.district[k]] == props["pcode"]
        assert bulk.plate[k] == props["plate"]
        mine = gazetteer.district_geometry(props["pcode"])
        assert mine.area == pytest.approx(geoms[k].area, rel=0.02), props["pcode"]


def test_district_names_match_crosswalk(gazetteer: Gazetteer, shared_data: Path) -> None:
    """All 973 proper names and the 51 central ("Merkez") districts match the crosswalk."""
    with (shared_data / "admin" / "tr_districts_crosswalk.csv").open(encoding="utf-8") as f:
        crosswalk = {row["pcode"]: row for row in csv.DictReader(f)}
    districts = gazetteer.districts()
    assert {d.code for d in districts} == set(crosswalk)
    for d in districts:
        row = crosswalk[d.code]
        assert d.name == row["district"], d.code
        assert d.plate == int(row["plate"])
        assert d.central == (row["is_central"] == "1")
        assert gazetteer.province_name(d.plate) == row["province"]
    assert sum(d.central for d in districts) == 51


def test_map_layers_are_small_and_complete(gazetteer: Gazetteer) -> None:
    """The browser base layers hold every province/district and stay small."""
    provinces = gazetteer.province_geojson()
    assert len(provinces) < 500_000
    document = json.loads(provinces)
    assert sorted(f["properties"]["plate"] for f in document["features"]) == list(range(1, 82))
    assert {"plate": 34, "name": "İstanbul"} in [f["properties"] for f in document["features"]]
    districts = json.loads(gazetteer.district_geojson())
    assert len(districts["features"]) == 973
    assert len(gazetteer.district_geojson()) < 2_000_000


def test_provinces_and_names(gazetteer: Gazetteer) -> None:
    """Province reference data: 81 plates, proper names, errors for unknown plates."""
    provinces = gazetteer.provinces()
    assert [p.plate for p in provinces] == list(range(1, 82))
    assert gazetteer.province_name(34) == "İstanbul"
    assert gazetteer.province_name(63) == "Şanlıurfa"
    assert gazetteer.province_name(76) == "Iğdır"
    assert gazetteer.province(41).capital == "İzmit"
    for bad in (0, 82, -1):
        with pytest.raises(UnknownProvince, match=r"1\.\.81"):
            gazetteer.province_name(bad)
    with pytest.raises(UnknownProvince):
        gazetteer.province(True)


# --- validation and properties ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        (math.nan, 30.0, "latitude is NaN"),
        (40.0, math.nan, "longitude is NaN"),
        (math.inf, 30.0, "latitude is infinite"),
        (40.0, -math.inf, "longitude is infinite"),
        (90.0001, 30.0, "latitude must be within -90..90"),
        (-91.0, 30.0, "latitude must be within -90..90"),
        (40.0, 180.5, "longitude must be within -180..180"),
        (40.0, -200.0, "longitude must be within -180..180"),
    ],
)
def test_invalid_coordinates(gazetteer: Gazetteer, lat: float, lon: float, message: str) -> None:
    """NaN, infinities and out-of-range coordinates are rejected with a precise reason."""
    with pytest.raises(InvalidCoordinates, match=message):
        gazetteer.locate(lat, lon)
    with pytest.raises(ValueError, match=message):
        gazetteer.locate(lat, lon)


@pytest.mark.parametrize(
    ("radius", "message"),
    [
        (math.nan, "radius is NaN"),
        (math.inf, "radius is infinite"),
        (-1.0, "must not be negative"),
        (1_000_001.0, "at most 1,000,000"),
    ],
)
def test_invalid_radius(gazetteer: Gazetteer, radius: float, message: str) -> None:
    """A radius that is NaN, infinite, negative or huge is rejected with a precise reason."""
    with pytest.raises(InvalidRadius, match=message):
        gazetteer.locate(40.0, 30.0, radius)


def test_invalid_bulk(gazetteer: Gazetteer) -> None:
    """Bulk lookup rejects the whole batch when any coordinate is impossible."""
    with pytest.raises(InvalidCoordinates, match="finite"):
        gazetteer.locate_many([40.0, math.nan], [30.0, 30.0])
    with pytest.raises(InvalidCoordinates, match="within"):
        gazetteer.locate_many([40.0, 95.0], [30.0, 30.0])
    with pytest.raises(InvalidCoordinates, match="differ"):
        gazetteer.locate_many([40.0], [30.0, 31.0])


def _consistent(gazetteer: Gazetteer, lat: float, lon: float, result: LocateResult) -> None:
    point = shapely.Point(lon, lat)
    if result.district is not None:
        geom = gazetteer.district_geometry(result.district.code)
        assert result.province is not None
        assert gazetteer.province_geometry(result.province.plate).covers(
            geom.representative_point()
        )
        if result.snapped_km is None:
            assert geom.intersects(point)
        else:
            assert not geom.contains(point)
            assert result.nearest_province == result.province
            # snapped_km is a great-circle distance to the boundary: no farther than the
            # planar nearest point, and no boundary vertex (densified to ~100 m) is closer.
            near = shapely.shortest_line(geom, point).coords[0]
            assert result.snapped_km <= _haversine(lat, lon, near[1], near[0]) + 0.01
            ring = shapely.get_coordinates(shapely.segmentize(geom.boundary, 0.001))
            closest = min(_haversine(lat, lon, y, x) for x, y in ring)
            assert result.snapped_km >= closest - 0.11
    else:
        assert result.snapped_km is None
    if result.in_service_area:
        assert result.ground is not None
        assert (result.ground is Ground.COAST_GUARD) == result.at_sea
    else:
        assert result.ground is None
        assert result.province is None


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(min_value=-90, max_value=90, allow_nan=False),
    lon=st.floats(min_value=-180, max_value=180, allow_nan=False),
    radius=st.none() | st.floats(min_value=0, max_value=1_000_000),
)
def test_anywhere_never_raises(
    gazetteer: Gazetteer, lat: float, lon: float, radius: float | None
) -> None:
    """Any valid point on Earth gets a consistent answer, never an exception."""
    result = gazetteer.locate(lat, lon, radius)
    _consistent(gazetteer, lat, lon, result)


@settings(max_examples=400, deadline=None)
@given(
    lat=st.floats(min_value=35.7, max_value=42.2, allow_nan=False),
    lon=st.floats(min_value=25.5, max_value=45.0, allow_nan=False),
    radius=st.none() | st.floats(min_value=0, max_value=5_000),
)
@example(lat=42.0078125, lon=33.265625, radius=1405.0)  # nearest shore is not the planar one
def test_around_turkiye_consistent(
    gazetteer: Gazetteer, lat: float, lon: float, radius: float | None
) -> None:
    """Around Türkiye a result's district contains the point (or it was snapped to it)."""
    result = gazetteer.locate(lat, lon, radius)
    _consistent(gazetteer, lat, lon, result)
    bulk = gazetteer.locate_many([lat], [lon])
    if result.district is not None and result.snapped_km is None:
        assert gazetteer.districts()[bulk.district[0]].code == result.district.code
    elif result.snapped_km is None:
        assert bulk.district[0] == -1


@given(
    lat=st.floats(allow_nan=True, allow_infinity=True),
    lon=st.floats(allow_nan=True, allow_infinity=True),
)
def test_any_float_returns_or_rejects(gazetteer: Gazetteer, lat: float, lon: float) -> None:
    """Any pair of floats gives a result or InvalidCoordinates, never another error."""
    valid = math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
    if valid:
        assert isinstance(gazetteer.locate(lat, lon), LocateResult)
    else:
        with pytest.raises(InvalidCoordinates):
            gazetteer.locate(lat, lon)


def test_bulk_matches_single(gazetteer: Gazetteer) -> None:
    """Vectorised lookup agrees with the single lookup on 5,000 random points and the world."""
    rng = np.random.default_rng(7)
    lats = np.concatenate([rng.uniform(35.8, 42.1, 4000), rng.uniform(-89, 89, 1000)])
    lons = np.concatenate([rng.uniform(25.7, 44.8, 4000), rng.uniform(-179, 179, 1000)])
    bulk = gazetteer.locate_many(lats, lons)
    codes = [d.code for d in gazetteer.districts()]
    for k in range(len(lats)):
        single = gazetteer._district_at(float(lats[k]), float(lons[k]))
        assert bulk.district[k] == single
        if single >= 0:
            assert bulk.plate[k] == int(codes[single][3:6])
    assert (bulk.district >= 0).sum() > 2000
