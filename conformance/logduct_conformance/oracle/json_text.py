"""The bytes of a line as RFC 3629 (UTF-8) and RFC 8259 (JSON) define them, written from those RFCs.

Not ``json.loads``: the reference reads lines with Python's json module, and an oracle that shared
its reader would share its faults. This reader also keeps what json.loads throws away and SPEC.md
needs: every name of an object, duplicates included (REC-4), and every number as it was written
(REC-13, ENC-5 item 7). It never recurses, so no nesting, however deep, changes its verdict.

It judges the rules that hold for the JSON text as a whole, at any depth: ENC-1, ENC-2, REC-4,
REC-12, REC-13. What holds for the record's members is record.py's to judge, from the value read
and from ``Reading.depths`` (REC-11). A text that breaks off (ENC-2) still yields what was read
before it did: a reader that checks as it reads finds the faults there first, so they are broken too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Union

from .breach import Breach
from .limits import MAX_INTEGER, MIN_INTEGER

# RFC 3629 §4, the syntax of UTF-8 byte sequences: no overlong forms, no surrogates (U+D800 to
# U+DFFF), nothing above U+10FFFF (ENC-1).
#   UTF8-2 = %xC2-DF UTF8-tail
#   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) / %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
#   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) / %xF4 %x80-8F 2( UTF8-tail )
_UTF8 = re.compile(rb"""(?:
    [\x00-\x7f]
  | [\xc2-\xdf][\x80-\xbf]
  | \xe0[\xa0-\xbf][\x80-\xbf] | [\xe1-\xec\xee\xef][\x80-\xbf]{2} | \xed[\x80-\x9f][\x80-\xbf]
  | \xf0[\x90-\xbf][\x80-\xbf]{2} | [\xf1-\xf3][\x80-\xbf]{3} | \xf4[\x80-\x8f][\x80-\xbf]{2}
)*""", re.VERBOSE)
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"


def utf8_breaches(body: bytes) -> list[Breach]:
    """ENC-1: "encoded in UTF-8 (RFC 8259 §8.1), without a byte order mark"."""
    found = []
    if body.startswith(_BYTE_ORDER_MARK):
        found.append(Breach("ENC-1", "byte 0", "a byte order mark"))
    well_formed = _UTF8.match(body)
    assert well_formed is not None  # the pattern matches the empty prefix of anything
    if well_formed.end() != len(body):
        at = well_formed.end()
        found.append(Breach("ENC-1", f"byte {at}", f"not UTF-8: {body[at:at + 4]!r}"))
    return found


@dataclass(frozen=True)
class Number:
    """A JSON number as written: RFC 8259 §6 gives it no type, SPEC.md REC-13 gives the lexeme one."""

    lexeme: str

    @property
    def is_integer(self) -> bool:
        """REC-13: "An integer literal (no fraction, no exponent)"."""
        return not any(mark in self.lexeme for mark in ".eE")

    def value(self) -> int | float:
        return int(self.lexeme) if self.is_integer else float(self.lexeme)


@dataclass(frozen=True)
class NotANumber:
    """``NaN``, ``Infinity`` or ``-Infinity``: not JSON (REC-13), but read on, so that the rest of
    the line is judged too."""

    lexeme: str


@dataclass(frozen=True)
class Members:
    """A JSON object as written: its members in order, a name given twice kept twice (REC-4)."""

    pairs: tuple[tuple[str, Node], ...]
    closed: bool = True  # False: the text broke off inside it, and members may be missing


class Unread:
    """Where a text broke off: the value of a member whose name was read, or the text itself when
    nothing of it could be read."""

    def __repr__(self) -> str:
        return "UNREAD"


UNREAD = Unread()

Node = Union[None, bool, str, Number, NotANumber, list["Node"], Members, Unread]  # noqa: UP007 (a runtime alias)


@dataclass
class Reading:
    """What a JSON text holds, and the rules its text breaks."""

    value: Node  # as far as it could be read: objects not closed, UNREAD where the text broke off
    complete: bool  # False: the text is not one JSON value (ENC-2)
    breaches: list[Breach]
    #: For each member of a top-level object, how deep containers nest in its value: a container
    #: that is the value is level 1 (REC-11). Known as far as the text could be read.
    depths: dict[str, int] = field(default_factory=dict)


def read_json(text: str) -> Reading:
    """Read ``text`` as one JSON text (RFC 8259 §2: ``JSON-text = ws value ws``)."""
    reader = _Reader(text)
    try:
        value = reader.document()
    except _SyntaxFault as fault:
        reader.breaches.append(Breach("ENC-2", f"character {fault.position}", f"not one JSON text: {fault.what}"))
        return Reading(reader.what_was_read(), False, reader.breaches, reader.depths)
    return Reading(value, True, reader.breaches, reader.depths)


class _SyntaxFault(Exception):
    def __init__(self, position: int, what: str) -> None:
        super().__init__(what)
        self.position = position
        self.what = what


# RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D )
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# RFC 8259 §6: number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT )
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
# RFC 8259 §7: unescaped = %x20-21 / %x23-5B / %x5D-10FFFF
_UNESCAPED = re.compile(r'[^"\\\x00-\x1f]*')
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_SHORT_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS: tuple[tuple[str, Node], ...] = (("true", True), ("false", False), ("null", None))
# REC-13 names them: "NaN, Infinity and -Infinity are not JSON".
_NOT_NUMBERS = ("NaN", "Infinity", "-Infinity")
# REC-12: "U+0000 or a surrogate code point (U+D800 to U+DFFF, which only a \u escape can produce)".
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# REC-13: an integer literal in range has at most 20 digits; a longer one is out of range, and is
# never handed to int(), which refuses more than 4,300 digits.
_MOST_INTEGER_DIGITS = len(str(MAX_INTEGER))


class _Open:
    """An array or object whose closing bracket has not come yet."""

    def __init__(self, is_object: bool) -> None:
        self.is_object = is_object
        self.items: list[Node] = []
        self.pairs: list[tuple[str, Node]] = []
        self.name = ""  # the member whose value is being read
        self.pending = False  # its name is read and its value is not
        self.names: set[str] = set()

    def step(self) -> str:
        """The step of a path to the value being read in it: ``.user`` or ``[2]``."""
        return f".{self.name}" if self.is_object else f"[{len(self.items)}]"

    def add(self, value: Node) -> None:
        if self.is_object:
            self.pairs.append((self.name, value))
            self.pending = False
        else:
            self.items.append(value)

    def close(self, closed: bool = True) -> Node:
        return Members(tuple(self.pairs), closed) if self.is_object else self.items


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.breaches: list[Breach] = []
        self.depths: dict[str, int] = {}
        self.stack: list[_Open] = []  # the containers open where the reader is
        self.whole: Node = UNREAD  # the first value, once read whole

    def document(self) -> Node:
        self.skip_whitespace()
        self.whole = self.value()
        self.skip_whitespace()
        if self.at != len(self.text):
            raise _SyntaxFault(self.at, "more after the JSON value")
        return self.whole

    def what_was_read(self) -> Node:
        """After a fault: the first value, its open containers closed where the text broke off."""
        if self.whole is not UNREAD:
            return self.whole
        value: Node = UNREAD
        for opened in reversed(self.stack):
            if value is not UNREAD or (opened.is_object and opened.pending):
                opened.add(value)
            value = opened.close(closed=False)
        return value

    def skip_whitespace(self) -> None:
        match = _WHITESPACE.match(self.text, self.at)
        assert match is not None  # it matches the empty string
        self.at = match.end()

    def value(self) -> Node:
        """One value, its containers kept on a stack of our own rather than Python's."""
        stack = self.stack
        while True:
            char = self.text[self.at:self.at + 1]
            value: Node
            if char in ("{", "["):
                self.at += 1
                self.note_depth(stack)
                opened = _Open(char == "{")
                self.skip_whitespace()
                if self.text.startswith("}" if opened.is_object else "]", self.at):
                    self.at += 1
                    value = opened.close()
                else:
                    stack.append(opened)
                    if opened.is_object:
                        self.member_name(opened)
                    continue
            else:
                value = self.scalar()
            # A value is complete: it goes into its container, which may then be complete in turn.
            while stack:
                top = stack[-1]
                top.add(value)
                self.skip_whitespace()
                char = self.text[self.at:self.at + 1]
                if char == ",":
                    self.at += 1
                    self.skip_whitespace()
                    if top.is_object:
                        self.member_name(top)
                    break
                if char == ("}" if top.is_object else "]"):
                    self.at += 1
                    value = stack.pop().close()
                    continue
                raise _SyntaxFault(self.at, f"expected ',' or {'}' if top.is_object else ']'!r}")
            else:
                return value
            self.skip_whitespace()

    def where(self, levels: int | None = None) -> str:
        """The path to the value being read (in the first ``levels`` containers): ``data.list[2]``.
        Made only for a breach: made at every value, paths would cost the square of the depth."""
        path = "".join(opened.step() for opened in self.stack[:levels]).removeprefix(".")
        return path or "the record"

    def note_depth(self, stack: list[_Open]) -> None:
        """A container opens: how deep inside a top-level member it lies (REC-11 reads this)."""
        if stack and stack[0].is_object:
            member = stack[0].name
            self.depths[member] = max(self.depths.get(member, 0), len(stack))

    def member_name(self, members: _Open) -> None:
        """RFC 8259 §4: ``member = string name-separator value``."""
        if not self.text.startswith('"', self.at):
            raise _SyntaxFault(self.at, "expected a member name")
        name = self.string(naming=True)
        if name in members.names:
            self.breaches.append(Breach("REC-4", self.where(-1), f"member {name!r} given twice"))
        members.names.add(name)
        members.name, members.pending = name, True
        self.skip_whitespace()
        if not self.text.startswith(":", self.at):
            raise _SyntaxFault(self.at, "expected ':' after a member name")
        self.at += 1
        self.skip_whitespace()

    def scalar(self) -> Node:
        text, at = self.text, self.at
        if text.startswith('"', at):
            return self.string()
        for name, literal in _LITERALS:
            if text.startswith(name, at):
                self.at += len(name)
                return literal
        for name in _NOT_NUMBERS:
            if text.startswith(name, at):
                self.at += len(name)
                self.breaches.append(Breach("REC-13", self.where(), f"{name} is not a JSON number"))
                return NotANumber(name)
        number = _NUMBER.match(text, at)
        if number is None:
            raise _SyntaxFault(at, "expected a value" if at < len(text) else "the text ends where a value should be")
        self.at = number.end()
        return self.judged_number(Number(number.group()))

    def judged_number(self, number: Number) -> Number:
        """REC-13: an integer literal in -2^63 to 2^64-1; any other number finite as a binary64."""
        if number.is_integer:
            digits = number.lexeme.lstrip("-")
            if len(digits) > _MOST_INTEGER_DIGITS or not MIN_INTEGER <= int(number.lexeme) <= MAX_INTEGER:
                self.breaches.append(Breach("REC-13", self.where(), f"integer literal outside -2^63 to 2^64-1 "
                                            f"({len(digits):,} digits)"))
        elif not math.isfinite(float(number.lexeme)):
            self.breaches.append(Breach("REC-13", self.where(), f"{number.lexeme[:40]} is beyond binary64"))
        return number

    def string(self, naming: bool = False) -> str:
        """RFC 8259 §7: ``string = quotation-mark *char quotation-mark``; then REC-12 on what it holds."""
        start = self.at
        self.at += 1
        parts = []
        while True:
            run = _UNESCAPED.match(self.text, self.at)
            assert run is not None  # it matches the empty string
            parts.append(run.group())
            self.at = run.end()
            char = self.text[self.at:self.at + 1]
            if char == '"':
                self.at += 1
                break
            if char == "":
                raise _SyntaxFault(start, "a string that never ends")
            if char != "\\":
                raise _SyntaxFault(self.at, f"U+{ord(char):04X} unescaped in a string")
            parts.append(self.escape())
        value = "".join(parts)
        unstorable = _UNSTORABLE.search(value)
        if unstorable is not None:
            what = "U+0000" if unstorable.group() == "\x00" else f"the lone surrogate U+{ord(unstorable.group()):04X}"
            where = f"{self.where(-1)}: a member name" if naming else self.where()
            self.breaches.append(Breach("REC-12", where, f"{what}, which PostgreSQL cannot store"))
        return value

    def escape(self) -> str:
        """At a backslash: ``escape ( %x22 / %x5C / %x2F / %x62 / %x66 / %x6E / %x72 / %x74 / %x75 4HEXDIG )``."""
        kind = self.text[self.at + 1:self.at + 2]
        if kind in _SHORT_ESCAPES:
            self.at += 2
            return _SHORT_ESCAPES[kind]
        if kind != "u":
            raise _SyntaxFault(self.at, f"no such escape: \\{kind}")
        code = self.hex4(self.at + 2)
        self.at += 6
        # "a character outside the Basic Multilingual Plane ... is represented as a twelve-character
        # sequence, encoding the UTF-16 surrogate pair". A surrogate that is not half of a pair stays
        # alone, for REC-12 to refuse.
        if 0xD800 <= code <= 0xDBFF and self.text.startswith("\\u", self.at):
            low = self.hex4(self.at + 2)
            if 0xDC00 <= low <= 0xDFFF:
                self.at += 6
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
        return chr(code)

    def hex4(self, at: int) -> int:
        digits = self.text[at:at + 4]
        if not _HEX4.fullmatch(digits):
            raise _SyntaxFault(at, "\\u needs four hex digits")
        return int(digits, 16)
