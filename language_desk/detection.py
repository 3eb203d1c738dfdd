"""Which language a caller speaks, from every hint a call carries, with the evidence kept.

Hints, strongest first:

1. the call-taker's flag (a language code, or ``"foreign"`` when they only know it is not
   Turkish): a person listened to the caller;
2. the caller's choice in the app, then the IVR digit from the gateway (the map is a
   setting: 1 = tr, 2 = en, 3 = de, 4 = ar, 5 = ru by default): the caller said so;
3. the caller's text, through an offline language-identification model (``py3langid``,
   whose model ships in its wheel), restricted to a configured set of languages and weighed
   by length: a short text is unreliable, so its confidence is scaled by
   ``min(1, sqrt(letters / text_full_letters))`` and it decides only above
   ``text_min_confidence``;
4. the SIM's home network (MCC from AML, :mod:`language_desk.mcc`): a hint only. A German
   SIM may belong to a Turkish speaker living in Germany, so a confident Turkish text wins;
   a weak text in one of the SIM country's languages picks that language among them.

With no usable hint the call is in the home language (Turkish): a Turkish call-taker
answers and flags it if needed. :func:`detect_language` returns a :class:`LanguageVerdict`
with the chosen language and every piece of evidence (source, language, confidence), for
the call's timeline. It is pure apart from the identifier, which loads its model once
(about 0.7 s: call :func:`default_identifier` at start-up) and then reads no files.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from language_desk.errors import IdentifierUnavailable, InvalidDeskSettings, InvalidLanguageHint
from language_desk.mcc import check_mcc, country_for_mcc

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: The ISO 639-2 code for an undetermined language (flagged foreign, nothing else known).
UNDETERMINED = "und"
#: What a call-taker's flag says when they only know the caller does not speak Turkish.
FOREIGN_FLAG = "foreign"

#: Languages the text model chooses among by default: Turkish, the desk's four, and those of
#: many visitors and residents. Bulgarian, Azerbaijani and Kurdish are left out on purpose:
#: the first is confused with Russian in short texts, and a call-taker who speaks Turkish
#: serves the other two best, so their texts had better be read as Turkish than as foreign.
DEFAULT_TEXT_LANGUAGES: tuple[str, ...] = (
    "tr",
    "en",
    "de",
    "ar",
    "ru",
    "fa",
    "uk",
    "fr",
    "nl",
    "es",
    "it",
    "pl",
    "ro",
    "el",
    "ka",
    "zh",
)

#: The default IVR menu of the gateway: digit -> language.
DEFAULT_IVR_DIGITS: dict[str, str] = {"1": "tr", "2": "en", "3": "de", "4": "ar", "5": "ru"}

_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


def check_language_code(code: str, source: str = "language code") -> str:
    """Return ``code`` if it is 2-3 lower-case ASCII letters, else raise (value not echoed)."""
    if not (2 <= len(code) <= 3 and set(code) <= _LOWER):
        raise InvalidLanguageHint(source, "2 or 3 lower-case letters (ISO 639)")
    return code


class EvidenceSource(enum.StrEnum):
    """Where a piece of language evidence came from."""

    TEXT = "text"
    SIM_HOME_NETWORK = "sim_home_network"
    CALLER_CHOICE = "caller_choice"
    IVR = "ivr"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageEvidence:
    """One hint: its source, the language it points to and how much it is worth (0..1)."""

    source: EvidenceSource
    language: str
    confidence: float
    detail: str | None = None
    """What the hint was, without caller data (``"MCC 262 (Germany)"``, ``"31 letters"``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageVerdict:
    """The language chosen for a call, why, and all the evidence seen."""

    language: str
    """ISO 639 code; ``"und"`` when flagged foreign with nothing else known."""
    confidence: float
    decided_by: EvidenceSource | None
    """The source that decided; ``None`` when nothing did and the home language applies."""
    reason: str
    evidence: tuple[LanguageEvidence, ...]
    home_language: str = "tr"

    @property
    def foreign(self) -> bool:
        """Whether the caller needs someone other than a home-language call-taker."""
        return self.language != self.home_language


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionSettings:
    """How hints are weighed; settings, not code."""

    home_language: str = "tr"
    text_languages: tuple[str, ...] = DEFAULT_TEXT_LANGUAGES
    ivr_digits: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_IVR_DIGITS))
    text_min_confidence: float = 0.5
    """A text decides when its length-weighted confidence reaches this."""
    text_full_letters: int = 24
    """Letters at which a text gets its model's full confidence."""
    text_max_chars: int = 2_000
    """Only the first this many characters are read (texts are hostile input)."""
    caller_choice_confidence: float = 0.95
    ivr_confidence: float = 0.9
    sim_confidence: float = 0.6
    """Confidence of the SIM country's first language; its other languages get half."""

    def __post_init__(self) -> None:
        check_language_code(self.home_language, "home language")
        if self.home_language not in self.text_languages:
            raise InvalidDeskSettings("text_languages must include the home language")
        for code in (*self.text_languages, *self.ivr_digits.values()):
            check_language_code(code, "language setting")
        if any(not (len(d) == 1 and d.isdigit()) for d in self.ivr_digits):
            raise InvalidDeskSettings("IVR digits are single digits 0-9")
        if not 0 < self.text_min_confidence <= 1 or self.text_full_letters < 1:
            raise InvalidDeskSettings("text thresholds out of range")
        if self.text_max_chars < 1:
            raise InvalidDeskSettings("text_max_chars must be positive")


class TextIdentifier(Protocol):
    """Ranks languages for a text, best first, with probabilities summing to 1."""

    def rank(self, text: str) -> list[tuple[str, float]]:
        """``[(language, probability), ...]`` best first."""
        ...


class Py3LangidIdentifier:
    """py3langid's naive Bayes model (shipped in its wheel), restricted to ``languages``."""

    def __init__(self, languages: Iterable[str] = DEFAULT_TEXT_LANGUAGES) -> None:
        codes = [check_language_code(code, "text language") for code in languages]
        try:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier  # noqa: PLC0415

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(codes)
        except ValueError as exc:
            raise InvalidDeskSettings("a text language is unknown to the model") from exc
        except (ImportError, OSError) as exc:
            raise IdentifierUnavailable("the py3langid model could not be loaded") from exc
        self._identifier = identifier
        self.languages = tuple(codes)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """``[(language, probability), ...]`` best first."""
        return [(str(lang), float(p)) for lang, p in self._identifier.rank(text)]


def default_identifier(
    languages: tuple[str, ...] = DEFAULT_TEXT_LANGUAGES,
) -> Py3LangidIdentifier:
    """One shared identifier per language set, loaded on first use (call it at start-up)."""
    return _shared_identifier(tuple(languages))


@functools.cache
def _shared_identifier(languages: tuple[str, ...]) -> Py3LangidIdentifier:
    return Py3LangidIdentifier(languages)


def _text_evidence(
    text: str, settings: DetectionSettings, identifier: TextIdentifier
) -> tuple[LanguageEvidence | None, list[tuple[str, float]]]:
    """The text's best language with length-weighted confidence, and the weighted ranking."""
    clipped = text[: settings.text_max_chars]
    letters = sum(1 for ch in clipped if ch.isalpha())
    if letters == 0:
        return None, []
    weight = min(1.0, math.sqrt(letters / settings.text_full_letters))
    ranking = [(lang, p * weight) for lang, p in identifier.rank(clipped)]
    language, confidence = ranking[0]
    detail = f"{letters} letters, weight {weight:.2f}"
    evidence = LanguageEvidence(
        source=EvidenceSource.TEXT, language=language, confidence=confidence, detail=detail
    )
    return evidence, ranking


def detect_language(
    *,
    text: str | None,
    mcc: str | None,
    caller_choice: str | None,
    ivr_digit: str | None,
    operator_flag: str | None,
    settings: DetectionSettings | None = None,
    identifier: TextIdentifier | None = None,
) -> LanguageVerdict:
    """The caller's language from every hint (see the module docstring for precedence).

    ``operator_flag`` is a language code or ``"foreign"``; ``caller_choice`` a language
    code; ``ivr_digit`` one digit (an unmapped digit is no hint); ``mcc`` three digits (an
    MCC outside the table is no hint). Malformed hints raise :class:`InvalidLanguageHint`.
    """
    settings = settings if settings is not None else DetectionSettings()
    home = settings.home_language
    evidence: list[LanguageEvidence] = []

    operator: LanguageEvidence | None = None
    if operator_flag is not None:
        flagged = (
            UNDETERMINED
            if operator_flag == FOREIGN_FLAG
            else check_language_code(operator_flag, "operator flag")
        )
        detail = "flagged foreign" if flagged == UNDETERMINED else "flagged by the call-taker"
        operator = LanguageEvidence(
            source=EvidenceSource.OPERATOR, language=flagged, confidence=1.0, detail=detail
        )
        evidence.append(operator)

    choice: LanguageEvidence | None = None
    if caller_choice is not None:
        choice = LanguageEvidence(
            source=EvidenceSource.CALLER_CHOICE,
            language=check_language_code(caller_choice, "caller choice"),
            confidence=settings.caller_choice_confidence,
            detail="chosen in the app",
        )
        evidence.append(choice)

    ivr: LanguageEvidence | None = None
    if ivr_digit is not None:
        if not (len(ivr_digit) == 1 and ivr_digit.isascii() and ivr_digit.isdigit()):
            raise InvalidLanguageHint("IVR digit", "one digit 0-9")
        mapped = settings.ivr_digits.get(ivr_digit)
        if mapped is not None:
            ivr = LanguageEvidence(
                source=EvidenceSource.IVR,
                language=mapped,
                confidence=settings.ivr_confidence,
                detail=f"IVR digit {ivr_digit}",
            )
            evidence.append(ivr)

    text_hint: LanguageEvidence | None = None
    ranking: list[tuple[str, float]] = []
    if text is not None and text.strip():
        if identifier is None:
            identifier = default_identifier(settings.text_languages)
        text_hint, ranking = _text_evidence(text, settings, identifier)
        if text_hint is not None:
            evidence.append(text_hint)

    sim: list[LanguageEvidence] = []
    if mcc is not None:
        country = country_for_mcc(check_mcc(mcc))
        if country is not None:
            for index, language in enumerate(country.languages):
                confidence = settings.sim_confidence * (1.0 if index == 0 else 0.5)
                sim.append(
                    LanguageEvidence(
                        source=EvidenceSource.SIM_HOME_NETWORK,
                        language=language,
                        confidence=confidence,
                        detail=f"MCC {country.mcc} ({country.name})",
                    )
                )
            evidence.extend(sim)

    def verdict(
        language: str, confidence: float, by: EvidenceSource | None, reason: str
    ) -> LanguageVerdict:
        return LanguageVerdict(
            language=language,
            confidence=confidence,
            decided_by=by,
            reason=reason,
            evidence=tuple(evidence),
            home_language=home,
        )

    confident_text = text_hint is not None and text_hint.confidence >= settings.text_min_confidence

    # 1. The call-taker heard the caller.
    if operator is not None and operator.language != UNDETERMINED:
        return verdict(operator.language, 1.0, EvidenceSource.OPERATOR, "call-taker's flag")
    if operator is not None:
        # Flagged foreign: the best hint that is not the home language.
        for hint in (choice, ivr):
            if hint is not None and hint.language != home:
                return verdict(
                    hint.language,
                    hint.confidence,
                    EvidenceSource.OPERATOR,
                    f"flagged foreign; language from {hint.source}",
                )
        foreign_text = [(lang, c) for lang, c in ranking if lang != home]
        if foreign_text and foreign_text[0][1] >= settings.text_min_confidence / 2:
            return verdict(
                foreign_text[0][0],
                foreign_text[0][1],
                EvidenceSource.OPERATOR,
                "flagged foreign; language from text",
            )
        foreign_sim = [hint for hint in sim if hint.language != home]
        if foreign_sim:
            return verdict(
                foreign_sim[0].language,
                foreign_sim[0].confidence,
                EvidenceSource.OPERATOR,
                "flagged foreign; language from the SIM's home network",
            )
        return verdict(
            UNDETERMINED, 1.0, EvidenceSource.OPERATOR, "flagged foreign; language unknown"
        )

    # 2. The caller said so.
    for hint, reason in ((choice, "caller's choice in the app"), (ivr, "IVR digit")):
        if hint is not None:
            return verdict(hint.language, hint.confidence, hint.source, reason)

    # 3. A text long and clear enough.
    if text_hint is not None and confident_text:
        return verdict(text_hint.language, text_hint.confidence, EvidenceSource.TEXT, "text")

    # 4. The SIM's home network, narrowed by a weak text among its languages.
    if sim:
        sim_languages = [hint.language for hint in sim]
        if text_hint is not None and text_hint.language in sim_languages:
            chosen = sim[sim_languages.index(text_hint.language)]
            return verdict(
                chosen.language,
                max(chosen.confidence, text_hint.confidence),
                EvidenceSource.SIM_HOME_NETWORK,
                "SIM's home network, narrowed by a short text",
            )
        return verdict(
            sim[0].language,
            sim[0].confidence,
            EvidenceSource.SIM_HOME_NETWORK,
            "SIM's home network (a hint)",
        )

    weak = text_hint.confidence if text_hint is not None and text_hint.language == home else 0.0
    return verdict(home, weak, None, "no decisive hint: home language")
