"""One root for every error logduct raises.

Every protocol error carries the ID of the SPEC.md rule it breaks, the field at fault when there is
one, and the offending value, so that a message reads like
``REC-5: time: no UTC offset (got '2024-01-01T00:00:00')`` and tests can assert on ``error.rule``.
"""

from __future__ import annotations

#: How much of an offending value an error message shows; values can be 64 KiB long.
_SHOWN_VALUE_CHARS = 80

_NOTHING = object()


class LogductError(Exception):
    """The root of every error logduct raises on purpose."""


class ProtocolError(LogductError):
    """Input breaks a numbered rule of SPEC.md."""

    def __init__(self, rule: str, reason: str, *, field: str | None = None, value: object = _NOTHING):
        self.rule = rule
        self.reason = reason
        self.field = field
        self.value = None if value is _NOTHING else value
        self._has_value = value is not _NOTHING
        super().__init__(str(self))

    def __str__(self) -> str:
        # A member name can hold U+0000 or a lone surrogate (REC-3, REC-4): shown escaped, so that the
        # message can be printed and stored anywhere.
        field = self.field if self.field is None or self.field.isprintable() else repr(self.field)
        where = f"{field}: " if field else ""
        shown = f" (got {_show(self.value)})" if self._has_value else ""
        return f"{self.rule}: {where}{self.reason}{shown}"


def _show(value: object) -> str:
    """A repr short enough for one line of a log; it escapes NUL, surrogates and control bytes."""
    text = repr(value)
    if len(text) <= _SHOWN_VALUE_CHARS:
        return text
    return f"{text[:_SHOWN_VALUE_CHARS]}... ({len(text):,} characters in all)"
