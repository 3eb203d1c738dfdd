"""Proper Turkish names: the 81 provinces with their plate codes, and district names from HDX.

The province table is a public fact: plate codes and names as in ISO 3166-2:TR and the TÜİK
province list; ``capital`` is the seat of the province (il merkezi), which differs from the
province's name in three provinces (Hatay: Antakya, Kocaeli: İzmit, Sakarya: Adapazarı);
``metropolitan`` marks the 30 metropolitan municipalities (Law 5216 and Law 6360), whose
provinces have no district called "Merkez".

District names in the COD-AB data are upper case. :func:`district_name` turns them into the
official spelling with the Turkish case rules (``I`` → ``ı``, ``İ`` → ``i``), without the
circumflexes TÜİK no longer writes (``KÂHTA`` → ``Kahta``), and with a short table of
corrections for the few HDX spellings that differ from the official name.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "PROVINCES",
    "ProvinceFact",
    "ascii_fold",
    "district_name",
    "turkish_lower",
    "turkish_title",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvinceFact:
    """One row of the province table: plate code, name, seat and metropolitan status."""

    plate: int
    name: str
    capital: str
    metropolitan: bool


def _p(plate: int, name: str, *, metro: bool = False, capital: str | None = None) -> ProvinceFact:
    return ProvinceFact(plate=plate, name=name, capital=capital or name, metropolitan=metro)


#: The 81 provinces by plate code (ISO 3166-2:TR "TR-01".."TR-81"; names as TÜİK writes them).
PROVINCES: tuple[ProvinceFact, ...] = (
    _p(1, "Adana", metro=True),
    _p(2, "Adıyaman"),
    _p(3, "Afyonkarahisar"),
    _p(4, "Ağrı"),
    _p(5, "Amasya"),
    _p(6, "Ankara", metro=True),
    _p(7, "Antalya", metro=True),
    _p(8, "Artvin"),
    _p(9, "Aydın", metro=True),
    _p(10, "Balıkesir", metro=True),
    _p(11, "Bilecik"),
    _p(12, "Bingöl"),
    _p(13, "Bitlis"),
    _p(14, "Bolu"),
    _p(15, "Burdur"),
    _p(16, "Bursa", metro=True),
    _p(17, "Çanakkale"),
    _p(18, "Çankırı"),
    _p(19, "Çorum"),
    _p(20, "Denizli", metro=True),
    _p(21, "Diyarbakır", metro=True),
    _p(22, "Edirne"),
    _p(23, "Elazığ"),
    _p(24, "Erzincan"),
    _p(25, "Erzurum", metro=True),
    _p(26, "Eskişehir", metro=True),
    _p(27, "Gaziantep", metro=True),
    _p(28, "Giresun"),
    _p(29, "Gümüşhane"),
    _p(30, "Hakkari"),
    _p(31, "Hatay", metro=True, capital="Antakya"),
    _p(32, "Isparta"),
    _p(33, "Mersin", metro=True),
    _p(34, "İstanbul", metro=True),
    _p(35, "İzmir", metro=True),
    _p(36, "Kars"),
    _p(37, "Kastamonu"),
    _p(38, "Kayseri", metro=True),
    _p(39, "Kırklareli"),
    _p(40, "Kırşehir"),
    _p(41, "Kocaeli", metro=True, capital="İzmit"),
    _p(42, "Konya", metro=True),
    _p(43, "Kütahya"),
    _p(44, "Malatya", metro=True),
    _p(45, "Manisa", metro=True),
    _p(46, "Kahramanmaraş", metro=True),
    _p(47, "Mardin", metro=True),
    _p(48, "Muğla", metro=True),
    _p(49, "Muş"),
    _p(50, "Nevşehir"),
    _p(51, "Niğde"),
    _p(52, "Ordu", metro=True),
    _p(53, "Rize"),
    _p(54, "Sakarya", metro=True, capital="Adapazarı"),
    _p(55, "Samsun", metro=True),
    _p(56, "Siirt"),
    _p(57, "Sinop"),
    _p(58, "Sivas"),
    _p(59, "Tekirdağ", metro=True),
    _p(60, "Tokat"),
    _p(61, "Trabzon", metro=True),
    _p(62, "Tunceli"),
    _p(63, "Şanlıurfa", metro=True),
    _p(64, "Uşak"),
    _p(65, "Van", metro=True),
    _p(66, "Yozgat"),
    _p(67, "Zonguldak"),
    _p(68, "Aksaray"),
    _p(69, "Bayburt"),
    _p(70, "Karaman"),
    _p(71, "Kırıkkale"),
    _p(72, "Batman"),
    _p(73, "Şırnak"),
    _p(74, "Bartın"),
    _p(75, "Ardahan"),
    _p(76, "Iğdır"),
    _p(77, "Yalova"),
    _p(78, "Karabük"),
    _p(79, "Kilis"),
    _p(80, "Osmaniye"),
    _p(81, "Düzce"),
)

#: The official name of the central district of a non-metropolitan province.
CENTRAL_DISTRICT_NAME = "Merkez"

#: COD-AB spellings that differ from the official district name (İçişleri/TÜİK), by pcode.
#: HDX writes these with a wrong letter or splits a one-word official name.
DISTRICT_NAME_CORRECTIONS: dict[str, str] = {
    "TUR034021": "Gaziosmanpaşa",  # HDX "GAZİ OSMANPAŞA"
    "TUR046009": "Onikişubat",  # HDX "ONİKİ ŞUBAT"
    "TUR058014": "Şarkışla",  # HDX "SARKIŞLA"
    "TUR059007": "Marmaraereğlisi",  # HDX "MARMARA EREĞLİSİ"
    "TUR071001": "Bahşılı",  # HDX "BAHŞİLİ"
}

_LOWER = str.maketrans({"I": "ı", "İ": "i"})
_UPPER = str.maketrans({"i": "İ", "ı": "I"})
_NO_CIRCUMFLEX = str.maketrans({"â": "a", "Â": "A", "î": "i", "Î": "İ", "û": "u", "Û": "U"})
_ASCII = str.maketrans(
    {
        "ç": "c",
        "Ç": "C",
        "ğ": "g",
        "Ğ": "G",
        "ı": "i",
        "İ": "I",
        "ö": "o",
        "Ö": "O",
        "ş": "s",
        "Ş": "S",
        "ü": "u",
        "Ü": "U",
        "â": "a",
        "Â": "A",
        "î": "i",
        "Î": "I",
        "û": "u",
        "Û": "U",
    }
)


def turkish_lower(text: str) -> str:
    """Lower-case with the Turkish dotted and dotless i (``"IĞDIR"`` → ``"ığdır"``)."""
    return text.translate(_LOWER).lower()


def turkish_title(text: str) -> str:
    """Title-case each word with the Turkish rules (``"ŞEHİTKAMİL"`` → ``"Şehitkamil"``)."""
    words = []
    for word in text.split(" "):
        if not word:
            continue
        head = word[0].translate(_UPPER).upper()
        words.append(head + turkish_lower(word[1:]))
    return " ".join(words)


def ascii_fold(text: str) -> str:
    """Fold Turkish letters to ASCII and upper-case, for matching names across sources."""
    return text.translate(_ASCII).upper().replace(" ", "")


def district_name(pcode: str, hdx_name: str, *, central: bool) -> str:
    """The official name of a district from its COD-AB pcode and upper-case HDX name."""
    if central:
        return CENTRAL_DISTRICT_NAME
    corrected = DISTRICT_NAME_CORRECTIONS.get(pcode)
    if corrected is not None:
        return corrected
    return turkish_title(hdx_name.translate(_NO_CIRCUMFLEX))
