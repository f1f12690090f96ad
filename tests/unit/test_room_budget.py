"""Exact ε parsing and arithmetic (privacy/budget.py)."""

from fractions import Fraction

import pytest

from kernel.errors import UserInputError
from privacy.budget import from_columns, parse_epsilon, to_columns


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", Fraction(1)), ("0.1", Fraction(1, 10)), ("1/3", Fraction(1, 3)), (" 2/6 ", Fraction(1, 3)),
     ("1e-3", Fraction(1, 1000)), ("0.5/2", Fraction(1, 4)), ("10", Fraction(10))],
)
def test_parse_epsilon_is_exact(text, expected):
    assert parse_epsilon(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "-0.1", "nan", "NaN", "inf", "-inf", "Infinity", "1/0", "", "abc",
                                  "1/3/4", "0/5", "1e-999999999999"])
def test_parse_epsilon_refuses_non_positive_or_non_finite(text):
    with pytest.raises(UserInputError):
        parse_epsilon(text)


def test_decimal_tenths_sum_to_exactly_one():
    assert sum((parse_epsilon("0.1") for _ in range(10)), Fraction(0)) == 1
    # the float version would not: the reason ε is never kept as a float
    assert sum(0.1 for _ in range(10)) != 1


def test_storage_round_trip_keeps_huge_denominators():
    value = parse_epsilon("1/123456789012345678901234567")
    assert from_columns(*to_columns(value)) == value
