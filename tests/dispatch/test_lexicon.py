"""Folding and keyword matching: Turkish case, diacritics, suffixes, one typing error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.lexicon import MAX_TEXT_CHARS, Lexicon, fold, tokens, within_one_edit


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("İSTANBUL", "istanbul"),
        ("ISPARTA", "isparta"),
        ("Yangın Var", "yangin var"),
        ("ŞOFÖR ÇIĞLIK ATIYOR", "sofor ciglik atiyor"),
        ("Straße Überschwemmung", "strasse uberschwemmung"),
        ("أُمّي", "امي"),
        ("مدرسة", "مدرسه"),
        ("Ёлка", "елка"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    """Turkish capitals fold to plain letters; diacritics and Arabic vowels are dropped."""
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("yangin", "yangin", True),
        ("yangin", "yanign", True),
        ("yangin", "yangn", True),
        ("yangin", "yangiin", True),
        ("yangin", "yamgin", True),
        ("yangin", "yagnin", True),
        ("yangin", "ynagni", False),
        ("yangin", "yan", False),
    ],
)
def test_within_one_edit(a: str, b: str, expected: bool) -> None:
    """One insertion, deletion, substitution or neighbour swap is tolerated, two are not."""
    assert within_one_edit(a, b) is expected
    assert within_one_edit(b, a) is expected


def _found(spec: str, text: str) -> bool:
    lexicon = Lexicon()
    keyword = lexicon.compile(spec)
    words = tokens(text)
    return Lexicon.found(keyword, words, lexicon.word_matches(words))


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        ("yangın", "yangını gördüm", True),
        ("yangın", "yagnın var", True),
        ("yangın", "yangın yok", False),
        ("kaza$", "kazandım", False),
        ("kaza$", "büyük kaza", True),
        ("kalp krizi", "kalp krizi geçiriyor", True),
        ("kalp krizi", "kalp ve krizi", True),
        ("kalp krizi", "krizi kalp", False),
        ("*unfall", "Verkehrsunfall", True),
        ("حريق", "والحريق", True),
        ("пожар", "пожалуйста", False),
    ],
)
def test_keyword_matching(spec: str, text: str, expected: bool) -> None:
    """Stems match suffixed and misspelt words, exact words and phrases as documented."""
    assert _found(spec, text) is expected


def test_long_text_is_cut() -> None:
    """Only the first MAX_TEXT_CHARS characters are read."""
    assert len(tokens("a " * MAX_TEXT_CHARS)) == MAX_TEXT_CHARS // 2


def test_bad_spec_is_refused() -> None:
    """A keyword part that is not one word is a programming error, refused at build time."""
    lexicon = Lexicon()
    with pytest.raises(ValueError, match="one word"):
        lexicon.compile("a-b")
    with pytest.raises(ValueError, match="empty"):
        lexicon.compile("   ")


@given(st.text(max_size=200))
def test_fold_is_idempotent(text: str) -> None:
    """Folding twice is folding once, so stems and texts can be folded independently."""
    assert fold(fold(text)) == fold(text)
