"""COL-8's budget without I/O: what is stored, what is counted, and the summary rows owed."""

from __future__ import annotations

from logduct.quarantine import QuarantineBudget


def test_budget_admits_the_first_rows_of_each_second_and_owes_one_summary_per_second_over() -> None:
    """COL-8: 100 rows a second are admitted; the rest are counted by rule and summed up once."""
    budget = QuarantineBudget(rows_per_s=100)
    admitted = [budget.admit("REC-1" if n % 2 else "ENC-1", 10, now=1000.5) for n in range(250)]
    assert admitted == [True] * 100 + [False] * 150
    assert budget.summaries(now=1000.9) == []  # the second is not over
    [summary] = budget.summaries(now=1001.0)
    assert summary.startswith("150 rejections not stored in the second from 1970-01-01T00:16:40Z")
    assert summary.endswith("ENC-1 75, REC-1 75")
    assert budget.summaries(now=1001.5) == []
    assert budget.admit("REC-1", 10, now=1001.5)


def test_budget_bounds_raw_bytes_too() -> None:
    """COL-8: at most raw_bytes_per_s of raw input is stored a second, however few the rows."""
    budget = QuarantineBudget(rows_per_s=100, raw_bytes_per_s=100_000)
    assert [budget.admit("ENC-3", 65_536, now=5.0) for _ in range(3)] == [True, False, False]
    assert budget.admit("ENC-3", 65_536, now=6.0)
    assert budget.summaries(now=6.0)[0].startswith("2 rejections")


def test_a_final_call_owes_the_current_second_too() -> None:
    """COL-8: a collector that stops still writes the summary of its last second."""
    budget = QuarantineBudget(rows_per_s=1)
    budget.admit("REC-1", 1, now=7.2)
    budget.admit("REC-1", 1, now=7.3)
    assert budget.summaries(now=7.4) == []
    assert budget.summaries(now=7.4, final=True)[0].startswith("1 rejections")
