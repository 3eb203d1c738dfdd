"""Tests for language_desk.mcc: the E.212 country table and its language hints."""

from __future__ import annotations

import pytest

from language_desk import (
    HOME_MCC,
    MOBILE_COUNTRIES,
    InvalidLanguageHint,
    check_language_code,
    country_for_mcc,
    languages_for_mcc,
)


@pytest.mark.parametrize(
    ("mcc", "country", "first_language"),
    [
        ("286", "TR", "tr"),
        ("262", "DE", "de"),
        ("250", "RU", "ru"),
        ("234", "GB", "en"),
        ("235", "GB", "en"),
        ("310", "US", "en"),
        ("316", "US", "en"),
        ("420", "SA", "ar"),
        ("424", "AE", "ar"),
        ("415", "LB", "ar"),
        ("417", "SY", "ar"),
        ("418", "IQ", "ar"),
        ("419", "KW", "ar"),
        ("432", "IR", "fa"),
        ("255", "UA", "uk"),
    ],
)
def test_known_codes(mcc: str, country: str, first_language: str) -> None:
    """The table maps E.212 codes to their country and most likely language."""
    entry = country_for_mcc(mcc)
    assert entry is not None
    assert entry.country == country
    assert languages_for_mcc(mcc)[0] == first_language


def test_table_is_well_formed() -> None:
    """Every entry has a three-digit MCC, an alpha-2 country and valid language codes."""
    assert HOME_MCC in MOBILE_COUNTRIES
    for mcc, entry in MOBILE_COUNTRIES.items():
        assert mcc == entry.mcc
        assert len(mcc) == 3
        assert mcc.isdigit()
        assert len(entry.country) == 2
        assert entry.country.isupper()
        assert entry.languages
        for code in entry.languages:
            check_language_code(code)


def test_unknown_and_malformed_codes() -> None:
    """An unlisted MCC gives no languages; a malformed one is refused without echo."""
    assert country_for_mcc("999") is None
    assert languages_for_mcc("999") == ()
    with pytest.raises(InvalidLanguageHint, match="expected three digits"):
        country_for_mcc("2620")
    with pytest.raises(InvalidLanguageHint):
        country_for_mcc("٢٨٦")  # Arabic-Indic digits are digits to str.isdigit, not to E.212
