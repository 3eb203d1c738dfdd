"""Language detection and the central foreign-language desk's routing and hand-back.

:func:`detect_language` weighs every hint a call carries (call-taker's flag, caller's
choice, IVR digit, text, SIM home network) into a :class:`LanguageVerdict`;
:func:`route_call` sends the call to its province or to the central desk's queue for its
language (or the fallback queue); :func:`hand_back` returns the desk's case to the
province of the incident with the caller attached and the original answer clock.
"""

from language_desk.detection import (
    DEFAULT_IVR_DIGITS,
    DEFAULT_TEXT_LANGUAGES,
    FOREIGN_FLAG,
    UNDETERMINED,
    DetectionSettings,
    EvidenceSource,
    LanguageEvidence,
    LanguageVerdict,
    Py3LangidIdentifier,
    TextIdentifier,
    check_language_code,
    default_identifier,
    detect_language,
)
from language_desk.errors import (
    IdentifierUnavailable,
    IncompleteCase,
    InvalidDeskSettings,
    InvalidLanguageHint,
    LanguageDeskError,
)
from language_desk.mcc import (
    HOME_MCC,
    MOBILE_COUNTRIES,
    MobileCountry,
    country_for_mcc,
    languages_for_mcc,
)
from language_desk.routing_rules import (
    DeskRoute,
    DeskSettings,
    Destination,
    HandBackCase,
    hand_back,
    moves,
    route_call,
)

__all__ = [
    "DEFAULT_IVR_DIGITS",
    "DEFAULT_TEXT_LANGUAGES",
    "FOREIGN_FLAG",
    "HOME_MCC",
    "MOBILE_COUNTRIES",
    "UNDETERMINED",
    "DeskRoute",
    "DeskSettings",
    "Destination",
    "DetectionSettings",
    "EvidenceSource",
    "HandBackCase",
    "IdentifierUnavailable",
    "IncompleteCase",
    "InvalidDeskSettings",
    "InvalidLanguageHint",
    "LanguageDeskError",
    "LanguageEvidence",
    "LanguageVerdict",
    "MobileCountry",
    "Py3LangidIdentifier",
    "TextIdentifier",
    "check_language_code",
    "country_for_mcc",
    "default_identifier",
    "detect_language",
    "hand_back",
    "languages_for_mcc",
    "moves",
    "route_call",
]
