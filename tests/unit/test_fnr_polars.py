"""The vectorised identity-number rules agree with the reference :mod:`ingestion.fnr`.

Valid numbers of every kind are generated from their parts (date, kind, individual number) and
must be accepted with the right birth year and sex; corrupted numbers (a changed digit, two
digits swapped, wrong length, non-digits, an impossible date) must be rejected under the same rule
the reference names. Every comparison runs the Polars expressions over a whole generated batch.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ingestion import fnr, orgnr
from ingestion.fnr_polars import BIRTH_YEAR, KIND, RULE, SEX, with_fnr_fields
from ingestion.orgnr_polars import orgnr_valid

KINDS = ("fodselsnummer", "d_nummer", "h_nummer", "syntetisk", "syntetisk_d_nummer")


def vectorised(numbers: list[str]) -> list[tuple]:
    """(rule, birth year, sex, kind) per number, from the Polars expressions."""
    frame = with_fnr_fields(pl.DataFrame({"n": numbers}, schema={"n": pl.String}), "n")
    rows = frame.select(RULE, BIRTH_YEAR, SEX, KIND).iter_rows()
    return [(r, y, s, k) if r is None else (r, None, None, None) for r, y, s, k in rows]


def reference(number: str) -> tuple:
    try:
        parsed = fnr.parse(number)
    except fnr.InvalidIdentityNumber as e:
        return (e.rule, None, None, None)
    return (None, parsed.birth_year, parsed.sex, parsed.kind)


def individual_for(year: int) -> st.SearchStrategy[int]:
    """Individual numbers the century rules assign to ``year`` (NAV/Skatteetaten ranges)."""
    if 1854 <= year <= 1899:
        return st.integers(500, 749)
    if 1900 <= year <= 1999:
        return st.integers(0, 499) if year < 1940 else st.one_of(st.integers(0, 499), st.integers(900, 999))
    return st.integers(500, 999)  # 2000–2039


@st.composite
def valid_numbers(draw) -> tuple[str, dt.date, str, str]:
    """(number, birth date, sex, kind) for a valid number of any kind."""
    kind = draw(st.sampled_from(KINDS))
    birth = draw(st.dates(dt.date(1854, 1, 1), dt.date(2039, 12, 31)))
    individual = draw(individual_for(birth.year))
    day = birth.day + (fnr.D_NUMBER_DAY_OFFSET if kind in ("d_nummer", "syntetisk_d_nummer") else 0)
    month = birth.month + {"h_nummer": fnr.H_NUMBER_MONTH_OFFSET, "syntetisk": fnr.SYNTHETIC_MONTH_OFFSET,
                           "syntetisk_d_nummer": fnr.SYNTHETIC_MONTH_OFFSET}.get(kind, 0)
    first_nine = f"{day:02d}{month:02d}{birth.year % 100:02d}{individual:03d}"
    number = fnr.with_check_digits_or_none(first_nine)
    assume(number is not None)
    return number, birth, "M" if individual % 2 else "K", kind


@settings(max_examples=60, deadline=None)
@given(st.lists(valid_numbers(), min_size=1, max_size=200))
def test_valid_numbers_of_every_kind_are_accepted_with_birth_year_and_sex(cases):
    got = vectorised([number for number, *_ in cases])
    for (number, birth, sex, kind), result in zip(cases, got, strict=True):
        assert result == (None, birth.year, sex, kind), number
        assert result == reference(number)


def _change_digit(number: str, position: int, delta: int) -> str:
    return number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]


@st.composite
def corrupted_numbers(draw) -> str:
    number = draw(valid_numbers())[0]
    how = draw(st.sampled_from(["digit", "transpose", "length", "non_digit", "date"]))
    if how == "digit":
        return _change_digit(number, draw(st.integers(0, 10)), draw(st.integers(1, 9)))
    if how == "transpose":
        i = draw(st.integers(0, 9))
        return number[:i] + number[i + 1] + number[i] + number[i + 2:]
    if how == "length":
        return draw(st.sampled_from([number[:-1], number + draw(st.sampled_from("0123456789")), number[:6], ""]))
    if how == "non_digit":
        i = draw(st.integers(0, 10))
        return number[:i] + draw(st.sampled_from(["a", " ", "-", "٣", "½"])) + number[i + 1:]
    # an impossible date with valid check digits: day 32, month 13, 30 February, D+H at once
    first_six = draw(st.sampled_from(["320190", "011390", "300290", "415190", "009090"]))
    return fnr.with_check_digits_or_none(first_six + number[6:9]) or number[:6] + "x" * 5


@settings(max_examples=100, deadline=None)
@given(st.lists(corrupted_numbers(), min_size=1, max_size=200))
def test_corrupted_numbers_get_the_reference_rule(numbers):
    for number, result in zip(numbers, vectorised(numbers), strict=True):
        assert result == reference(number), number


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet="0123456789", min_size=11, max_size=11), st.text(max_size=13)),
                min_size=1, max_size=200))
def test_any_string_gets_the_same_verdict_as_the_reference(numbers):
    assert vectorised(numbers) == [reference(n) for n in numbers]


@pytest.mark.parametrize(("number", "rule"), [
    ("13888012235", None),  # synthetic, born 1980-08-13
    ("01015450068", None),  # individual 500, year 54: the 1800s
    ("1234567890", "fnr_format"),  # 10 digits
    ("123456789012", "fnr_format"),  # 12 digits
    ("1388801223a", "fnr_format"),
    ("13888012236", "fnr_check_digits"),
    ("30028012345", "fnr_birth_date"),  # 30 February
    ("32018012323", "fnr_birth_date"),  # day 32
    ("01138012480", "fnr_birth_date"),  # month 13
    ("41518012396", "fnr_birth_date"),  # D- and H-number at once
    ("01014060029", "fnr_birth_date"),  # individual 600 is not used for year 40
])
def test_named_examples(number, rule):
    assert reference(number)[0] == rule
    assert vectorised([number])[0][0] == rule


def test_missing_number_is_a_format_error():
    assert vectorised([None])[0][0] == "fnr_format"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet="0123456789", min_size=9, max_size=9), st.text(max_size=10)),
                min_size=1, max_size=200))
def test_orgnr_expression_agrees_with_the_reference(numbers):
    got = pl.DataFrame({"o": numbers}, schema={"o": pl.String}).select(orgnr_valid(pl.col("o")))["o"].to_list()
    assert got == [orgnr.is_valid(n) for n in numbers]


@settings(max_examples=200, deadline=None)
@given(valid_numbers(), st.integers(0, 10), st.integers(1, 9))
def test_any_single_changed_digit_is_caught_by_the_check_digits(case, position, delta):
    changed = _change_digit(case[0], position, delta)
    assert vectorised([changed])[0][0] == "fnr_check_digits"


@settings(max_examples=100, deadline=None)
@given(valid_numbers(), st.integers(0, 7))
def test_swapping_two_different_adjacent_digits_is_caught(case, position):
    number = case[0]
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2:]
    assume(swapped != number)
    assert vectorised([swapped])[0][0] == "fnr_check_digits"
