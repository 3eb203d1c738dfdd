"""Mobile country codes (MCC) → country → the languages a caller from there likely speaks.

AML (ETSI TS 103 625) carries the SIM's home network as ``mcc``/``mnc``. A foreign SIM is a
strong hint of a foreign caller, and only a hint: a German SIM may belong to a Turkish
speaker living in Germany (see :mod:`language_desk.detection`).

Sources. The MCC → country column follows the list of mobile country codes of
Recommendation ITU-T E.212 ("The international identification plan for public networks and
subscriptions"), as published by the ITU in the Annex to its Operational Bulletin (list of
MCCs and MNCs). The language column is ours, not part of E.212: the country's official or
majority languages (ISO 639-1), first the one most likely on a call to 112 in Türkiye; it
is a routing hint, reviewed like code. Countries that many visitors and residents of
Türkiye come from are covered; an MCC not in the table gives no hint.
"""

from __future__ import annotations

from dataclasses import dataclass

from language_desk.errors import InvalidLanguageHint


@dataclass(frozen=True, slots=True, kw_only=True)
class MobileCountry:
    """One E.212 mobile country code: the country and its likely languages, best first."""

    mcc: str
    country: str
    """ISO 3166-1 alpha-2 code."""
    name: str
    languages: tuple[str, ...]


def _c(mcc: str, country: str, name: str, *languages: str) -> MobileCountry:
    return MobileCountry(mcc=mcc, country=country, name=name, languages=languages)


_TABLE: tuple[MobileCountry, ...] = (
    # Europe
    _c("202", "GR", "Greece", "el"),
    _c("204", "NL", "Netherlands", "nl"),
    _c("206", "BE", "Belgium", "nl", "fr", "de"),
    _c("208", "FR", "France", "fr"),
    _c("212", "MC", "Monaco", "fr"),
    _c("213", "AD", "Andorra", "ca"),
    _c("214", "ES", "Spain", "es"),
    _c("216", "HU", "Hungary", "hu"),
    _c("218", "BA", "Bosnia and Herzegovina", "bs"),
    _c("219", "HR", "Croatia", "hr"),
    _c("220", "RS", "Serbia", "sr"),
    _c("221", "XK", "Kosovo", "sq"),
    _c("222", "IT", "Italy", "it"),
    _c("226", "RO", "Romania", "ro"),
    _c("228", "CH", "Switzerland", "de", "fr", "it"),
    _c("230", "CZ", "Czechia", "cs"),
    _c("231", "SK", "Slovakia", "sk"),
    _c("232", "AT", "Austria", "de"),
    _c("234", "GB", "United Kingdom", "en"),
    _c("235", "GB", "United Kingdom", "en"),
    _c("238", "DK", "Denmark", "da"),
    _c("240", "SE", "Sweden", "sv"),
    _c("242", "NO", "Norway", "no"),
    _c("244", "FI", "Finland", "fi"),
    _c("246", "LT", "Lithuania", "lt"),
    _c("247", "LV", "Latvia", "lv"),
    _c("248", "EE", "Estonia", "et"),
    _c("250", "RU", "Russian Federation", "ru"),
    _c("255", "UA", "Ukraine", "uk", "ru"),
    _c("257", "BY", "Belarus", "ru", "be"),
    _c("259", "MD", "Moldova", "ro", "ru"),
    _c("260", "PL", "Poland", "pl"),
    _c("262", "DE", "Germany", "de"),
    _c("266", "GI", "Gibraltar", "en"),
    _c("268", "PT", "Portugal", "pt"),
    _c("270", "LU", "Luxembourg", "fr", "de", "lb"),
    _c("272", "IE", "Ireland", "en"),
    _c("274", "IS", "Iceland", "is"),
    _c("276", "AL", "Albania", "sq"),
    _c("278", "MT", "Malta", "mt", "en"),
    _c("280", "CY", "Cyprus", "el"),
    _c("282", "GE", "Georgia", "ka"),
    _c("283", "AM", "Armenia", "hy"),
    _c("284", "BG", "Bulgaria", "bg"),
    _c("286", "TR", "Türkiye", "tr"),
    _c("293", "SI", "Slovenia", "sl"),
    _c("294", "MK", "North Macedonia", "mk"),
    _c("295", "LI", "Liechtenstein", "de"),
    _c("297", "ME", "Montenegro", "sr"),
    # North America
    _c("302", "CA", "Canada", "en", "fr"),
    *(_c(str(mcc), "US", "United States", "en") for mcc in range(310, 317)),
    _c("334", "MX", "Mexico", "es"),
    # Asia and the Middle East
    _c("400", "AZ", "Azerbaijan", "az"),
    _c("401", "KZ", "Kazakhstan", "kk", "ru"),
    _c("404", "IN", "India", "hi", "en"),
    _c("405", "IN", "India", "hi", "en"),
    _c("410", "PK", "Pakistan", "ur", "en"),
    _c("412", "AF", "Afghanistan", "fa", "ps"),
    _c("415", "LB", "Lebanon", "ar"),
    _c("416", "JO", "Jordan", "ar"),
    _c("417", "SY", "Syria", "ar"),
    _c("418", "IQ", "Iraq", "ar", "ku"),
    _c("419", "KW", "Kuwait", "ar"),
    _c("420", "SA", "Saudi Arabia", "ar"),
    _c("421", "YE", "Yemen", "ar"),
    _c("422", "OM", "Oman", "ar"),
    _c("424", "AE", "United Arab Emirates", "ar"),
    _c("425", "IL", "Israel (and Palestine)", "he", "ar"),
    _c("426", "BH", "Bahrain", "ar"),
    _c("427", "QA", "Qatar", "ar"),
    _c("430", "AE", "United Arab Emirates (Abu Dhabi)", "ar"),
    _c("431", "AE", "United Arab Emirates (Dubai)", "ar"),
    _c("432", "IR", "Iran", "fa"),
    _c("434", "UZ", "Uzbekistan", "uz", "ru"),
    _c("436", "TJ", "Tajikistan", "tg", "ru"),
    _c("437", "KG", "Kyrgyzstan", "ky", "ru"),
    _c("438", "TM", "Turkmenistan", "tk", "ru"),
    _c("440", "JP", "Japan", "ja"),
    _c("441", "JP", "Japan", "ja"),
    _c("450", "KR", "Korea (Republic of)", "ko"),
    _c("454", "HK", "Hong Kong, China", "zh", "en"),
    _c("460", "CN", "China", "zh"),
    _c("461", "CN", "China", "zh"),
    _c("466", "TW", "Taiwan, China", "zh"),
    _c("470", "BD", "Bangladesh", "bn"),
    # Oceania
    _c("505", "AU", "Australia", "en"),
    _c("530", "NZ", "New Zealand", "en"),
    # Africa
    _c("602", "EG", "Egypt", "ar"),
    _c("603", "DZ", "Algeria", "ar", "fr"),
    _c("604", "MA", "Morocco", "ar", "fr"),
    _c("605", "TN", "Tunisia", "ar", "fr"),
    _c("606", "LY", "Libya", "ar"),
    _c("609", "MR", "Mauritania", "ar"),
    _c("621", "NG", "Nigeria", "en"),
    _c("634", "SD", "Sudan", "ar"),
    _c("637", "SO", "Somalia", "so", "ar"),
    _c("655", "ZA", "South Africa", "en"),
    # South America
    _c("722", "AR", "Argentina", "es"),
    _c("724", "BR", "Brazil", "pt"),
)

#: Every MCC in the table.
MOBILE_COUNTRIES: dict[str, MobileCountry] = {entry.mcc: entry for entry in _TABLE}

#: Türkiye's mobile country code.
HOME_MCC = "286"


def check_mcc(mcc: str) -> str:
    """Return ``mcc`` if it is three ASCII digits, else raise :class:`InvalidLanguageHint`."""
    if not (len(mcc) == 3 and mcc.isascii() and mcc.isdigit()):
        raise InvalidLanguageHint("mcc", "three digits")
    return mcc


def country_for_mcc(mcc: str) -> MobileCountry | None:
    """The country of an MCC, ``None`` if the table does not list it."""
    return MOBILE_COUNTRIES.get(check_mcc(mcc))


def languages_for_mcc(mcc: str) -> tuple[str, ...]:
    """The likely languages of a caller whose SIM comes from ``mcc``, best first (or none)."""
    country = country_for_mcc(mcc)
    return country.languages if country is not None else ()
