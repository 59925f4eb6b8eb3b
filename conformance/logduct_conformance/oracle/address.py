"""``host_ip``: REC-9, written from RFC 4291 §2.2 (the text forms of IPv6) and RFC 5952 (the one
form to store), not with Python's ``ipaddress``, which the reference uses."""

from __future__ import annotations

import re

# REC-9: "four decimal numbers 0 to 255, no leading zeros" (RFC 3986's dec-octet).
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = re.compile(rf"{_DEC_OCTET}(?:\.{_DEC_OCTET}){{3}}")
# RFC 4291 §2.2: "x:x:x:x:x:x:x:x, where the 'x's are one to four hexadecimal digits".
_HEX_GROUP = re.compile(r"[0-9A-Fa-f]{1,4}")
_GROUPS = 8


def canonical_ip(text: str) -> str | None:
    """The form REC-9 stores ``text`` in, or None when ``text`` is no IPv4 or IPv6 address literal."""
    if _IPV4.fullmatch(text):
        return text  # REC-9: "IPv4 as four decimal numbers", as it already is
    groups = _ipv6_groups(text)
    return None if groups is None else _rfc5952(groups)


def _ipv6_groups(text: str) -> list[int] | None:
    """The eight 16-bit groups of an IPv6 address in any of RFC 4291 §2.2's three forms."""
    if "%" in text or "/" in text:
        return None  # REC-9: a zone index or a prefix length is not an address
    # Form 2: "The use of '::' indicates one or more groups of 16 bits of zeros. The '::' can only
    # appear once in an address."
    if text.count("::") > 1:
        return None
    if "::" in text:
        before, after = text.split("::")
        head = _parse_groups(before, may_end_in_ipv4=False) if before else []
        tail = _parse_groups(after, may_end_in_ipv4=True) if after else []
        if head is None or tail is None or len(head) + len(tail) > _GROUPS - 1:
            return None
        return head + [0] * (_GROUPS - len(head) - len(tail)) + tail
    groups = _parse_groups(text, may_end_in_ipv4=True)
    return groups if groups is not None and len(groups) == _GROUPS else None


def _parse_groups(text: str, *, may_end_in_ipv4: bool) -> list[int] | None:
    """``x:x:...:x``, whose last piece may be form 3's ``d.d.d.d``, "the decimal values of the four
    low-order 8-bit pieces of the address"."""
    pieces = text.split(":")
    groups = []
    for n, piece in enumerate(pieces):
        if may_end_in_ipv4 and n == len(pieces) - 1 and _IPV4.fullmatch(piece):
            a, b, c, d = (int(octet) for octet in piece.split("."))
            groups += [a << 8 | b, c << 8 | d]
        elif _HEX_GROUP.fullmatch(piece):
            groups.append(int(piece, 16))
        else:
            return None
    return groups


def _rfc5952(groups: list[int]) -> str:
    # REC-9: "an IPv4-mapped address in mixed notation ::ffff:192.0.2.1" (RFC 5952 §5; RFC 4291
    # §2.5.5.2: 80 zero bits, 16 one bits, then the IPv4 address).
    if groups[:6] == [0, 0, 0, 0, 0, 0xFFFF]:
        octets = (groups[6] >> 8, groups[6] & 0xFF, groups[7] >> 8, groups[7] & 0xFF)
        return "::ffff:" + ".".join(map(str, octets))
    # RFC 5952 §4.2: "::" shortens the longest run of two or more zero groups, the first of equal runs.
    start, length = _longest_zero_run(groups)
    # §4.1 and §4.3: no leading zeros, lower case.
    text = [f"{group:x}" for group in groups]
    if length < 2:
        return ":".join(text)
    return ":".join(text[:start]) + "::" + ":".join(text[start + length:])


def _longest_zero_run(groups: list[int]) -> tuple[int, int]:
    best_start, best_length, n = 0, 0, 0
    while n < len(groups):
        if groups[n] == 0:
            run = n
            while n < len(groups) and groups[n] == 0:
                n += 1
            if n - run > best_length:
                best_start, best_length = run, n - run
        else:
            n += 1
    return best_start, best_length
