"""The straightforward classifier, kept as the reference for the fast one.

:func:`reference_classify` finds the rules a text satisfies as ``classify`` first did: the
whole text folded character by character (no ASCII shortcut), every token matched on its
own, every rule of the table tried keyword by keyword, each keyword searched through the
whole text with ``Lexicon.found``. The rules found are then scored afresh by
``classification._suggest``, never from the fast path's memory (scoring, ranking and
answers were not changed by the fast path, so they are not copied here). Tests feed both
many texts and compare.

:func:`realistic_texts` makes the texts: the simulators' phrases, and the table's own
keywords as callers type them (capitals, no Turkish letters, suffixes, one typing error,
a negation after them, stray punctuation).
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

from dispatch.core import classification as fast
from dispatch.core.classification import Suggestion
from dispatch.core.lexicon import (
    FUZZY_MIN_LEN,
    MAX_TEXT_CHARS,
    Lexicon,
    _fold_every_character,
)
from dispatch.model.vocabulary import Channel
from simulators import texts as simulated

_TOKEN = re.compile(r"\w+")

#: Folding as first written: every character looked at, ASCII or not.
reference_fold = _fold_every_character


def reference_tokens(text: str) -> list[str]:
    """The folded word tokens of the whole text, folded in one piece."""
    return _TOKEN.findall(reference_fold(text[:MAX_TEXT_CHARS]))


def reference_word_matches(lexicon: Lexicon, words: Sequence[str]) -> list[AbstractSet[int]]:
    """Each token's keyword words (exactly, else with one typing error), one token at a time."""
    return [_token_ids(lexicon, token) for token in words]


@functools.lru_cache(maxsize=100_000)
def _token_ids(lexicon: Lexicon, token: str) -> frozenset[int]:
    ids = lexicon._exact_ids(token)
    if not ids and len(token) >= FUZZY_MIN_LEN - 1:
        ids = lexicon._fuzzy_ids(token)
    return frozenset(ids)


def reference_rules(text: str | None) -> tuple[int, ...]:
    """The indexes of the table's rules whose every group has a keyword in the text."""
    if not text:
        return ()
    words = reference_tokens(text)
    matched = reference_word_matches(fast._LEXICON, words)
    return tuple(
        index
        for index, rule in enumerate(fast._RULES)
        if all(any(Lexicon.found(k, words, matched) for k in group) for group in rule.groups)
    )


def reference_classify(
    *,
    channel: Channel,
    dialled: str | None,
    text: str | None,
    answers: Mapping[str, bool] | None = None,
    language: str | None = None,
) -> Suggestion:
    """The suggestion worked out afresh: every rule tried, every keyword searched."""
    hint = (language or "").lower()[:2] or None if text else None
    return fast._suggest(
        channel=channel, dialled=dialled, rules=reference_rules(text), hint=hint, answers=answers
    )


def _simulated_phrases() -> list[str]:
    phrases = [phrase for group in simulated.TURKISH.values() for phrase in group]
    phrases += [phrase for group in simulated.FOREIGN.values() for phrase in group]
    phrases += [phrase for group in simulated.FALSE_CALLS.values() for phrase in group]
    phrases += [p.format(place="Kahramanmaraş") for p in simulated.EARTHQUAKE_COLLAPSE]
    phrases += list(simulated.EARTHQUAKE_OTHER)
    phrases += [opener + simulated.TURKISH["fire.building"][0] for opener in simulated.TEXT_OPENERS]
    phrases.append(simulated.PANIC_TEXT)
    return phrases


def table_keywords() -> list[str]:
    """Every keyword spec of the classifier's table, as written (``$``, ``*``, ``@w`` removed)."""
    entries = [entry for by_language in fast._KEYWORDS.values() for entry in by_language.values()]
    entries += [
        group.get(language, "")
        for _, _, groups in fast._COMBINATIONS
        for group in groups
        for language in fast.LANGUAGES
    ]
    found: list[str] = []
    for entry in entries:
        for raw in entry.split(";"):
            spec = raw.partition("@")[0].strip().replace("$", "").replace("*", "")
            if spec:
                found.append(spec)
    return sorted(set(found))


PHRASES = _simulated_phrases()
KEYWORDS = table_keywords()
_FILLERS = ("var", "yok", "değil", "acil", "lütfen", "the", "und", "и", "في", "bir", "çok", "ve")
_SUFFIXES = ("", "", "", "i", "ı", "da", "dan", "ler", "ini", "yor", "s", "en", "а", "ом", "ها")
_TURKISH_PLAIN = str.maketrans("ıİşŞğĞçÇöÖüÜâ", "iIsSgGcCoOuUa")
_PUNCTUATION = (" ", " ", " ", ", ", ". ", "! ", "\n", " - ", "  ", "\u00a0")


def _misspell(rng: random.Random, word: str) -> str:
    """One typing error: a letter dropped, doubled, replaced or swapped with its neighbour."""
    if len(word) < 2:
        return word
    i = rng.randrange(len(word) - 1)
    match rng.randrange(4):
        case 0:
            return word[:i] + word[i + 1 :]
        case 1:
            return word[:i] + word[i] + word[i:]
        case 2:
            return word[:i] + rng.choice("aeiknrsyz") + word[i + 1 :]
        case _:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _keyword_as_typed(rng: random.Random, spec: str) -> str:
    words = spec.split()
    if rng.random() < 0.3:
        words[-1] += rng.choice(_SUFFIXES)
    if rng.random() < 0.3:
        k = rng.randrange(len(words))
        words[k] = _misspell(rng, words[k])
    if len(words) > 1 and rng.random() < 0.2:
        words.insert(rng.randrange(1, len(words)), rng.choice(_FILLERS))
    return " ".join(words)


def realistic_text(rng: random.Random) -> str:
    """One text as a caller says it or a call-taker types it (see the module docstring)."""
    pieces: list[str] = []
    if rng.random() < 0.4:
        pieces.append(rng.choice(PHRASES))
    for _ in range(rng.randrange(1 if not pieces else 0, 5)):
        pieces.append(_keyword_as_typed(rng, rng.choice(KEYWORDS)))
        if rng.random() < 0.3:
            pieces.append(rng.choice(_FILLERS))
    rng.shuffle(pieces)
    text = "".join(piece + rng.choice(_PUNCTUATION) for piece in pieces).strip()
    roll = rng.random()
    if roll < 0.2:
        text = text.translate(_TURKISH_PLAIN)
    elif roll < 0.3:
        text = text.upper()
    elif roll < 0.35:
        text = text.title()
    return text


def realistic_texts(seed: int, count: int) -> list[str]:
    """``count`` texts from :func:`realistic_text`, the same ones for the same seed."""
    rng = random.Random(seed)
    return [realistic_text(rng) for _ in range(count)]
