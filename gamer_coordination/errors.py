"""The exceptions of GAMER coordination, one root for the package.

Tree::

    GamerError
    ├── InvalidPeriod        a situation report's period is empty, reversed or too long
    ├── InvalidScope         a province outside 1..81, or a scope the principal may not see
    └── PushRefused          a push to units names no unit, or text that is empty or too long

Messages say which rule refused the input and never echo it.
"""

from __future__ import annotations


class GamerError(Exception):
    """Root of every GAMER coordination error."""


class InvalidPeriod(GamerError):  # noqa: N818 - names the refusal
    """A report period that is empty, reversed or longer than allowed."""


class InvalidScope(GamerError):  # noqa: N818 - names the refusal
    """A province that does not exist or that the principal may not see."""


class PushRefused(GamerError):  # noqa: N818 - names the refusal
    """A push that reaches no unit or carries no usable text."""
