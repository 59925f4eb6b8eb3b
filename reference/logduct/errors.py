"""Every error logduct raises on purpose, each with the SPEC.md rule it enforces.

Like wsproto's, every error carries a code: ``error.rule`` is the rule's ID (``None`` only where no
rule of the protocol is at stake, such as a port already in use), and the message begins with it:
``REC-5: time: no UTC offset (got '2024-01-01T00:00:00')``. Tests assert on ``error.rule``.

Two branches, because what to do about an error depends on whose fault it is:

- ``ProtocolError``: the *input* breaks a rule. A collector quarantines it with its rule and goes on
  (COL-1); an emitter refuses that record and sends the next (EMIT-1).
- ``LocalError``: the fault is *here*, in configuration or environment: a path that is not a FIFO, an
  endpoint the collector must not bind, a database out of reach at start. No input causes one; the
  operator fixes it. ``logduct`` prints it and exits 2 (CLI-1).
"""

from __future__ import annotations

from typing import NamedTuple

#: How much of an offending value an error message shows; values can be 64 KiB long.
_SHOWN_VALUE_CHARS = 80

_NOTHING = object()


class LogductError(Exception):
    """The root of every error logduct raises on purpose: a rule ID and a reason."""

    def __init__(self, rule: str | None, reason: str) -> None:
        self.rule = rule
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.rule}: {self.reason}" if self.rule else self.reason


class ProtocolError(LogductError):
    """Input breaks a numbered rule of SPEC.md: the peer's fault, quarantined or refused, never fatal.

    ``field`` names the member at fault when there is one, ``value`` the offending value.
    """

    rule: str

    def __init__(self, rule: str, reason: str, *, field: str | None = None, value: object = _NOTHING):
        self.field = field
        self.value = None if value is _NOTHING else value
        self._has_value = value is not _NOTHING
        super().__init__(rule, reason)

    def __str__(self) -> str:
        # A member name can hold U+0000 or a lone surrogate (REC-3, REC-4): shown escaped, so that the
        # message can be printed and stored anywhere.
        field = self.field if self.field is None or self.field.isprintable() else repr(self.field)
        where = f"{field}: " if field else ""
        shown = f" (got {_show(self.value)})" if self._has_value else ""
        return f"{self.rule}: {where}{self.reason}{shown}"


class LocalError(LogductError):
    """The fault is local, not the peer's: the operator's to fix."""


class ConfigurationError(LocalError):
    """An option, path, endpoint or key the transport cannot work with (FIFO-1, ZMQ-1, ZMQ-2, ZMQ-10)."""


class DatabaseUnavailable(LocalError):
    """PostgreSQL cannot be reached at start, or was still failing when the collector was told to
    stop (COL-9: between those two moments no database fault is an error, only a wait)."""


def _show(value: object) -> str:
    """A repr short enough for one line of a log; it escapes NUL, surrogates and control bytes."""
    text = repr(value)
    if len(text) <= _SHOWN_VALUE_CHARS:
        return text
    return f"{text[:_SHOWN_VALUE_CHARS]}... ({len(text):,} characters in all)"


class Refused(NamedTuple):
    """Input refused before it could be a record, and what of it the quarantine keeps (COL-1)."""

    error: ProtocolError
    raw: bytes
