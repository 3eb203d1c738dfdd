"""Turkish case rules, ASCII folding, district names and the province table."""

from __future__ import annotations

import pytest

from routing.names import PROVINCES, ascii_fold, district_name, turkish_lower, turkish_title


@pytest.mark.parametrize(
    ("upper", "proper"),
    [
        ("BEYOĞLU", "Beyoğlu"),
        ("IĞDIR", "Iğdır"),
        ("İSTANBUL", "İstanbul"),
        ("ŞEHİTKAMİL", "Şehitkamil"),
        ("KIZILCAHAMAM", "Kızılcahamam"),
        ("19 MAYIS", "19 Mayıs"),
        ("ISPARTA", "Isparta"),
        ("iğneada", "İğneada"),
    ],
)
def test_turkish_title(upper: str, proper: str) -> None:
    """Title case keeps the dotted and dotless i apart."""
    assert turkish_title(upper) == proper


def test_turkish_lower_and_fold() -> None:
    """Lower case maps I to ı and İ to i; folding gives matchable ASCII."""
    assert turkish_lower("DİYARBAKIR") == "diyarbakır"
    assert ascii_fold("Şanlıurfa") == "SANLIURFA"
    assert ascii_fold("Kâhta") == "KAHTA"
    assert ascii_fold("Gazi Osmanpaşa") == ascii_fold("Gaziosmanpaşa")


@pytest.mark.parametrize(
    ("pcode", "hdx", "central", "name"),
    [
        ("TUR002006", "KÂHTA", False, "Kahta"),
        ("TUR017011", "LÂPSEKİ", False, "Lapseki"),
        ("TUR034021", "GAZİ OSMANPAŞA", False, "Gaziosmanpaşa"),
        ("TUR058014", "SARKIŞLA", False, "Şarkışla"),
        ("TUR071001", "BAHŞİLİ", False, "Bahşılı"),
        ("TUR008003", "ARTVIN", True, "Merkez"),
        ("TUR034013", "BEYOĞLU", False, "Beyoğlu"),
    ],
)
def test_district_name(pcode: str, hdx: str, central: bool, name: str) -> None:
    """HDX upper-case names become official names; central districts are "Merkez"."""
    assert district_name(pcode, hdx, central=central) == name


def test_province_table() -> None:
    """81 provinces with plates 1..81, unique names, 30 metropolitan, three named seats."""
    assert [p.plate for p in PROVINCES] == list(range(1, 82))
    assert len({p.name for p in PROVINCES}) == 81
    assert sum(p.metropolitan for p in PROVINCES) == 30
    seats = {p.name: p.capital for p in PROVINCES if p.capital != p.name}
    assert seats == {"Hatay": "Antakya", "Kocaeli": "İzmit", "Sakarya": "Adapazarı"}
