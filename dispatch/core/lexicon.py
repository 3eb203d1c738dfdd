"""Folding and keyword matching for call texts in Turkish, English, German, Arabic and Russian.

Callers and call-takers type fast: "yangin var" for "yangın var", "HASTANEYE" in capitals,
"yanign" with two letters swapped. This module folds text so that such variants compare equal
and matches keyword stems against it, robust to suffixes (Turkish and Russian inflect, Arabic
attaches the article and conjunctions) and to one typing error in longer words.

Folding (:func:`fold`): Turkish case rules (``İ`` → ``i``, ``I`` → ``ı``) before lowering, then
compatibility decomposition with every combining mark dropped (``ş`` → ``s``, ``ü`` → ``u``,
Arabic short vowels and hamza seats, Russian ``ё`` → ``е``), dotless ``ı`` → ``i``, ``ß`` →
``ss``, Arabic ``ة`` → ``ه``, ``ى`` → ``ي`` and the tatweel removed.

Keyword specs (the classifier's table is written in them):

- ``word`` matches any token that starts with the folded stem (``yangin`` matches
  ``yangini``); stems of six letters or more also match with one edit (insertion, deletion,
  substitution or swap of neighbours) when the token matches no stem exactly;
- ``word$`` matches only that exact token (``kaza$`` does not match ``kazan``);
- ``*word`` matches any token that contains the stem, for German compounds
  (``*unfall`` matches ``verkehrsunfall``);
- ``two words`` is a phrase: its parts in order, with at most one other token between them;
- a match directly followed by the Turkish negation ``yok`` or ``değil`` does not count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

#: Longest text that is looked at; the rest is ignored (a call-taker's note is far shorter).
MAX_TEXT_CHARS = 4_000

#: Shortest stem that also matches with one typing error.
FUZZY_MIN_LEN = 6

_TOKEN = re.compile(r"\w+")
_NEGATIONS = frozenset({"yok", "yoktur", "degil", "degildir", "degilim", "degiliz"})
_ARABIC_ARTICLE = "ال"
_ARABIC_PREFIXES = ("وبال", "وال", "بال", "فال", "كال", "لل", "و", "ف", "ب")
_LATE_MAP = str.maketrans({"ı": "i", "ß": "ss", "ة": "ه", "ى": "ي", "ـ": None, "’": "'"})


def fold(text: str) -> str:
    """Fold text for matching: Turkish-aware lower case without diacritics (see module doc)."""
    if text.isascii():
        # Nothing to decompose or strip; ``I`` → ``ı`` → ``i`` is plain lower case.
        return text.lower()
    return _fold_every_character(text)


def _fold_every_character(text: str) -> str:
    """:func:`fold` without the ASCII shortcut."""
    decomposed = unicodedata.normalize("NFKD", text.replace("İ", "i"))
    lowered = decomposed.replace("I", "ı").lower()
    stripped = "".join(ch for ch in lowered if not unicodedata.combining(ch))
    return stripped.translate(_LATE_MAP)


def tokens(text: str) -> list[str]:
    """The folded word tokens of a text (at most :data:`MAX_TEXT_CHARS` characters read)."""
    return _TOKEN.findall(fold(text[:MAX_TEXT_CHARS]))


def chunks(text: str) -> list[str]:
    """The text's whitespace-separated pieces, whose tokens together are :func:`tokens`.

    Folding never carries across whitespace: it decomposes and maps character by character,
    combining marks are not reordered across a space, and Greek final sigma, the one
    context-dependent lower case, looks no further than the next space. So each piece can
    be folded, tokenised and matched once and remembered.
    """
    return text[:MAX_TEXT_CHARS].split()


def _variants(token: str) -> tuple[str, ...]:
    """A token and, for Arabic, the token without its attached article and conjunctions."""
    if not token or not ("\u0600" <= token[0] <= "\u06ff"):
        return (token,)
    found = [token]
    for prefix in _ARABIC_PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            rest = token[len(prefix) :]
            found.append(rest)
            if rest.startswith(_ARABIC_ARTICLE) and len(rest) > 3:
                found.append(rest[2:])
    if token.startswith(_ARABIC_ARTICLE) and len(token) > 3:
        found.append(token[2:])
    return tuple(dict.fromkeys(found))


#: Tokens (and text pieces) whose matches are remembered (words repeat across callers;
#: each cache is bounded).
_TOKEN_CACHE_SIZE = 50_000

#: Longest token or text piece remembered; longer ones (no word is) are matched every time.
_CACHED_MAX_CHARS = 64


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))} | {word}


def within_one_edit(a: str, b: str) -> bool:
    """Whether two strings differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


@dataclass(frozen=True, slots=True)
class _Word:
    form: str
    exact: bool
    infix: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Keyword:
    """A compiled keyword spec: the folded phrase parts as word ids, and the spec itself."""

    spec: str
    parts: tuple[int, ...]


class Lexicon:
    """A set of keyword specs compiled for fast matching against many texts.

    Build it once (at import, from a static table); :meth:`match` is then pure and cheap:
    one dictionary look-up per token prefix, plus a one-edit neighbourhood search for tokens
    that match nothing exactly.
    """

    __slots__ = (
        "_by_exact",
        "_by_prefix",
        "_chunk_cache",
        "_fuzzy",
        "_fuzzy_lengths",
        "_infixes",
        "_token_cache",
        "_words",
    )

    def __init__(self) -> None:
        self._token_cache: dict[str, frozenset[int]] = {}
        self._chunk_cache: dict[str, tuple[tuple[str, ...], tuple[frozenset[int], ...]]] = {}
        self._words: list[_Word] = []
        self._by_exact: dict[str, list[int]] = {}
        self._by_prefix: dict[str, list[int]] = {}
        self._fuzzy: dict[tuple[int, str], set[int]] = {}
        self._fuzzy_lengths: set[int] = set()
        self._infixes: list[tuple[str, int]] = []

    def _word_id(self, raw: str) -> int:
        exact = raw.endswith("$")
        infix = raw.startswith("*")
        form = fold(raw.rstrip("$").lstrip("*"))
        if not _TOKEN.fullmatch(form):
            raise ValueError("a keyword part must be one word")
        word = _Word(form, exact, infix)
        for index, known in enumerate(self._words):
            if known == word:
                return index
        index = len(self._words)
        self._words.append(word)
        if infix:
            self._infixes.append((form, index))
        elif exact:
            self._by_exact.setdefault(form, []).append(index)
        else:
            self._by_prefix.setdefault(form, []).append(index)
            if len(form) >= FUZZY_MIN_LEN:
                self._fuzzy_lengths.add(len(form))
                for variant in _deletions(form):
                    self._fuzzy.setdefault((len(form), variant), set()).add(index)
        return index

    def compile(self, spec: str) -> Keyword:
        """Compile one keyword spec (see the module docstring for the syntax)."""
        parts = spec.split()
        if not parts:
            raise ValueError("a keyword spec must not be empty")
        return Keyword(spec=spec, parts=tuple(self._word_id(part) for part in parts))

    def _exact_ids(self, token: str) -> set[int]:
        ids: set[int] = set()
        for variant in _variants(token):
            ids.update(self._by_exact.get(variant, ()))
            for end in range(1, len(variant) + 1):
                ids.update(self._by_prefix.get(variant[:end], ()))
            ids.update(index for form, index in self._infixes if form in variant)
        return ids

    def _fuzzy_ids(self, token: str) -> set[int]:
        ids: set[int] = set()
        for variant in _variants(token):
            for length in self._fuzzy_lengths:
                if len(variant) < length - 1:
                    continue
                for cut in (length - 1, length, length + 1):
                    piece = variant[:cut]
                    if len(piece) != cut:
                        continue
                    for deleted in _deletions(piece):
                        for word_id in self._fuzzy.get((length, deleted), ()):
                            if within_one_edit(self._words[word_id].form, piece):
                                ids.add(word_id)
        return ids

    def word_matches(self, words: Sequence[str]) -> list[AbstractSet[int]]:
        """For each token, the ids of the keyword words it matches (exactly, else fuzzily)."""
        matched: list[AbstractSet[int]] = []
        for token in words:
            cached = self._token_cache.get(token)
            if cached is None:
                ids = self._exact_ids(token)
                if not ids and len(token) >= FUZZY_MIN_LEN - 1:
                    ids = self._fuzzy_ids(token)
                cached = frozenset(ids)
                if len(token) <= _CACHED_MAX_CHARS:
                    if len(self._token_cache) >= _TOKEN_CACHE_SIZE:
                        self._token_cache.clear()  # bounded: callers' words are hostile input
                    self._token_cache[token] = cached
            matched.append(cached)
        return matched

    def text_matches(self, text: str) -> tuple[list[str], list[AbstractSet[int]]]:
        """A text's :func:`tokens` and their :meth:`word_matches`, remembered per :func:`chunks`.

        Callers' texts differ but their words repeat, so a call mostly costs one look-up per
        word instead of folding, tokenising and matching it again.
        """
        words: list[str] = []
        matched: list[AbstractSet[int]] = []
        cache = self._chunk_cache
        for chunk in chunks(text):
            entry = cache.get(chunk)
            if entry is None:
                found = tuple(_TOKEN.findall(fold(chunk)))
                entry = (found, tuple(frozenset(ids) for ids in self.word_matches(found)))
                if len(chunk) <= _CACHED_MAX_CHARS:
                    if len(cache) >= _TOKEN_CACHE_SIZE:
                        cache.clear()  # bounded, as the token cache
                    cache[chunk] = entry
            words += entry[0]
            matched += entry[1]
        return words, matched

    @staticmethod
    def found(keyword: Keyword, words: Sequence[str], matched: Sequence[AbstractSet[int]]) -> bool:
        """Whether a compiled keyword occurs in tokens already run through :meth:`word_matches`."""
        first, rest = keyword.parts[0], keyword.parts[1:]
        return any(
            first in ids and _occurs_at(rest, words, matched, start)
            for start, ids in enumerate(matched)
        )


class KeywordSet:
    """A fixed list of compiled keywords, indexed by first word, searched in one pass.

    :meth:`occurring` answers :meth:`Lexicon.found` for every keyword of the list at once:
    it walks the text's tokens and tries only the keywords whose first word a token
    matches, instead of scanning the text once per keyword.
    """

    __slots__ = ("_by_first",)

    def __init__(self, keywords: Sequence[Keyword]) -> None:
        by_first: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        for number, keyword in enumerate(keywords):
            by_first.setdefault(keyword.parts[0], []).append((number, keyword.parts[1:]))
        self._by_first = {word: tuple(entries) for word, entries in by_first.items()}

    def occurring(self, words: Sequence[str], matched: Sequence[AbstractSet[int]]) -> set[int]:
        """The positions, in the list given at construction, of the keywords that occur."""
        hits: set[int] = set()
        by_first = self._by_first
        count = len(words)
        for start, ids in enumerate(matched):
            if not ids:
                continue
            negated = start + 1 < count and words[start + 1] in _NEGATIONS
            for word in ids:
                for number, rest in by_first.get(word, ()):
                    if number in hits:
                        continue
                    if _occurs_at(rest, words, matched, start) if rest else not negated:
                        hits.add(number)
        return hits


def _occurs_at(
    rest: Sequence[int], words: Sequence[str], matched: Sequence[AbstractSet[int]], start: int
) -> bool:
    """Whether a phrase whose first word is at ``start`` goes on with ``rest``, not negated."""
    end = _follow(rest, matched, start)
    return end is not None and not (end + 1 < len(words) and words[end + 1] in _NEGATIONS)


def _follow(rest: Iterable[int], matched: Sequence[AbstractSet[int]], start: int) -> int | None:
    """Where a phrase that begins at ``start`` ends, allowing one token between parts."""
    position = start
    for part in rest:
        for step in (1, 2):
            candidate = position + step
            if candidate < len(matched) and part in matched[candidate]:
                position = candidate
                break
        else:
            return None
    return position
