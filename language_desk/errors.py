"""The errors of the language desk: one root, one class per refusal.

::

    LanguageDeskError
     ├── InvalidLanguageHint    a language hint is malformed (code, MCC, IVR digit, flag)
     ├── InvalidDeskSettings    desk or detection settings contradict themselves
     ├── IdentifierUnavailable  the text language-identification model cannot be loaded
     ├── IncompleteCase         a hand-back lacks the incident, the address or its times
     ├── NotAtDesk              the call is not the desk's to hand back (not there, not
     │                          answered there, or handed back already)
     └── UnknownDeskCall        no call with this id is known to the desk

Messages name the field at fault, never the value: hints come from callers' devices.
"""

from __future__ import annotations


class LanguageDeskError(Exception):
    """Root of the language desk's errors."""


class InvalidLanguageHint(LanguageDeskError, ValueError):  # noqa: N818 - names the refusal
    """A language hint does not have the documented shape; the message names the source."""

    def __init__(self, source: str, expected: str) -> None:
        self.source = source
        super().__init__(f"invalid {source}: expected {expected}")


class InvalidDeskSettings(LanguageDeskError, ValueError):  # noqa: N818 - names the refusal
    """Settings of the desk or of detection are inconsistent."""


class IdentifierUnavailable(LanguageDeskError):  # noqa: N818 - names the refusal
    """The offline language-identification model could not be loaded from its wheel."""


class IncompleteCase(LanguageDeskError, ValueError):  # noqa: N818 - names the refusal
    """The desk cannot hand the case back yet: something the province needs is missing."""


class NotAtDesk(LanguageDeskError):  # noqa: N818 - names the refusal
    """The call is not the desk's to hand back: not routed there, not answered, or done."""


class UnknownDeskCall(LanguageDeskError, LookupError):  # noqa: N818 - names the refusal
    """No call with this id is known to the desk (never received, or long forgotten)."""
