"""The suite looks at what an implementation stored or printed as it is: nothing read back is put in
canonical form before it is compared, so a fault in canonical form shows (issue 12)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from logduct_conformance.checks.conftest import complete_lines, printed_record
from logduct_conformance.compare import records_equal
from logduct_conformance.oracle import encode, matches_canonical
from logduct_conformance.strategies import record

EXPECTED = record(1, host_ip="2001:db8::1", data={"x": 1e300, "n": 7})


def test_a_row_is_the_record_only_with_host_ip_in_canonical_form() -> None:
    """REC-9: the expected side is put in stored form, the stored side never is."""
    assert records_equal(replace(EXPECTED, host_ip="2001:DB8::1"), EXPECTED)
    assert not records_equal(EXPECTED, replace(EXPECTED, host_ip="2001:DB8::1"))
    assert not records_equal(EXPECTED, replace(EXPECTED, host_ip="2001:db8:0:0:0:0:0:1"))


def test_a_row_holds_the_same_instant_in_any_zone() -> None:
    """PG-7: timestamptz comes back in the session's zone; it is the instant that must match."""
    elsewhere = EXPECTED.time.astimezone(timezone(timedelta(hours=-5)))
    assert records_equal(EXPECTED, replace(EXPECTED, time=elsewhere))
    assert not records_equal(EXPECTED, replace(EXPECTED, time=EXPECTED.time + timedelta(microseconds=1)))


def test_an_integer_is_stored_exactly() -> None:
    """REC-13: "An integer literal ... is stored exactly": not as the binary64 nearest to it."""
    big = record(1, data={"id": 2**64 - 1})
    assert records_equal(big, replace(big, data={"id": 2**64 - 1}))
    assert not records_equal(big, replace(big, data={"id": float(2**64 - 1)}))
    assert not records_equal(EXPECTED, replace(EXPECTED, data={"x": 1e300, "n": 7.0}))
    assert records_equal(EXPECTED, replace(EXPECTED, data={"n": 7, "x": 10**300}))  # how jsonb prints 1e300


@pytest.mark.parametrize("wrong", [
    lambda line: line.replace(b"2001:db8::1", b"2001:DB8::1"),  # REC-9's form, ENC-5 item 4
    lambda line: line.replace(b"T00:00:01.000000Z", b"T01:00:01.000000+01:00"),  # ENC-5 item 3
    lambda line: line.replace(b'","', b'", "', 1),  # item 2
], ids=["host_ip", "time", "whitespace"])
def test_a_printed_line_must_be_the_canonical_line_byte_for_byte(wrong: object) -> None:
    """COL-7: a standard-output line that reads as the right record but is not its canonical line fails."""
    canonical = encode(EXPECTED)
    assert printed_record(canonical) == EXPECTED
    damaged = wrong(canonical)  # type: ignore[operator]
    assert damaged != canonical
    with pytest.raises(AssertionError, match="COL-7"):
        printed_record(damaged)


def test_a_non_integer_may_be_spelt_any_way_that_reads_back_as_the_same_binary64() -> None:
    """ENC-5 item 7, and not one bit more: 1e300 as 1E300 or 1.0e+300 is the same number, -0.0 is not 0.0."""
    canonical = encode(EXPECTED)
    assert matches_canonical(canonical.replace(b"1e+300", b"1.0E300"), canonical)
    assert printed_record(canonical.replace(b"1e+300", b"1" + b"0" * 300 + b".0")) == EXPECTED
    zero = encode(replace(EXPECTED, data={"z": 0.0}))
    assert not matches_canonical(zero.replace(b"0.0", b"-0.0"), zero)


def test_only_complete_lines_are_read() -> None:
    """A line still being written when the output is read is not taken for a faulty one."""
    assert complete_lines(b'{"a"}\n{"b') == [b'{"a"}\n']
