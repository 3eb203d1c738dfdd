"""The lexicon's fast paths answer as its plain definitions do.

- ``fold`` of ASCII text is plain lower case, otherwise the full Turkish-aware fold;
- ``Lexicon.text_matches`` (remembered per whitespace-separated piece) gives the tokens of
  the whole text folded in one piece, and their word matches;
- ``KeywordSet.occurring`` finds exactly the keywords ``Lexicon.found`` finds one by one.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dispatch.core import lexicon as lexicon_module
from dispatch.core.classification import _LEXICON, _RULES
from dispatch.core.lexicon import MAX_TEXT_CHARS, KeywordSet, Lexicon, fold, tokens
from tests.dispatch.classification_reference import (
    KEYWORDS,
    realistic_texts,
    reference_fold,
    reference_tokens,
    reference_word_matches,
)

# Letters whose folding depends on their neighbours or is easy to get wrong: Turkish
# dotted and dotless i, Greek sigma (final or not), combining marks after a blank,
# case-ignorable apostrophes and dots, and blanks NFKD maps to a space.
_TRICKY = "aAıIİiŞşsΣσςΑαßÜüـىة'’.:-_0١\u0301\u0308\u064e\u0651 \u00a0\u2003\n\t\u00a8\u2160"
_TRICKY_TEXT = st.text(alphabet=st.sampled_from(_TRICKY), max_size=60)
_TEXT = _TRICKY_TEXT | st.text(max_size=200) | st.sampled_from(KEYWORDS)

_KEYWORDS = tuple(
    dict.fromkeys(keyword for rule in _RULES for group in rule.groups for keyword in group)
)
_INDEX = KeywordSet(_KEYWORDS)


@given(_TEXT)
def test_fold_is_the_plain_fold(text: str) -> None:
    """The ASCII shortcut and the full fold agree with folding every character."""
    assert fold(text) == reference_fold(text)
    assert tokens(text) == reference_tokens(text)


@settings(max_examples=300)
@given(_TEXT)
@example("ΑΣ'Α ΑΣ Α ΑΣ.Α")  # sigma is final before a blank, not before ' or . and a letter
@example("Y\u0301ANGIN \u0301VAR")  # a combining mark after a blank is dropped, not joined
@example("\u2160STANBUL\u00a0YANGIN")  # Ⅰ folds to i; a no-break space is a blank
def test_text_matches_are_the_whole_texts(text: str) -> None:
    """Piece by piece, remembered or not, a text gives the tokens of its one-piece fold."""
    words = reference_tokens(text)
    for _ in range(2):  # the second time from memory
        assert _LEXICON.text_matches(text) == (words, reference_word_matches(_LEXICON, words))


def test_long_pieces_are_matched_but_not_remembered() -> None:
    """A piece longer than any word is matched every time and never fills the memory."""
    lexicon = Lexicon()
    keyword = lexicon.compile("yangın")
    long_piece = "x" * 100 + "-yangini"
    text = f"{long_piece} var"
    words, matched = lexicon.text_matches(text)
    assert words == reference_tokens(text)
    assert Lexicon.found(keyword, words, matched)
    assert long_piece not in lexicon._chunk_cache
    assert "x" * 100 not in lexicon._token_cache
    assert "var" in lexicon._chunk_cache


def test_text_is_read_up_to_the_limit() -> None:
    """Pieces stop where the text is cut, as tokens do."""
    text = "ab " * MAX_TEXT_CHARS
    words, _ = _LEXICON.text_matches(text)
    assert words == tokens(text)


def test_piece_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its size the piece memory starts again, and the answers do not change."""
    lexicon = Lexicon()
    keyword = lexicon.compile("kaza$")
    monkeypatch.setattr(lexicon_module, "_TOKEN_CACHE_SIZE", 3)
    for number in range(20):
        words, matched = lexicon.text_matches(f"kaza w{number} var")
        assert Lexicon.found(keyword, words, matched)
        assert len(lexicon._chunk_cache) <= 3
        assert len(lexicon._token_cache) <= 3


def _occurring_one_by_one(text: str) -> set[int]:
    words = reference_tokens(text)
    matched = reference_word_matches(_LEXICON, words)
    return {n for n, keyword in enumerate(_KEYWORDS) if Lexicon.found(keyword, words, matched)}


def test_keyword_set_finds_what_found_finds_on_realistic_texts() -> None:
    """On texts made of the table's keywords as typed, one pass finds the same keywords."""
    for text in realistic_texts(seed=155, count=1500):
        words, matched = _LEXICON.text_matches(text)
        assert _INDEX.occurring(words, matched) == _occurring_one_by_one(text), text


@settings(max_examples=200)
@given(st.lists(st.sampled_from([*KEYWORDS, "yok", "değil", "ve", "bir"]), max_size=8))
def test_keyword_set_finds_what_found_finds(parts: list[str]) -> None:
    """Keywords next to each other, negated or split by one word: found as one by one."""
    text = " ".join(parts)
    words, matched = _LEXICON.text_matches(text)
    assert _INDEX.occurring(words, matched) == _occurring_one_by_one(text)
