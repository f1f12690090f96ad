"""Norwegian identity numbers (fodselsnummer, D-, H- and synthetic test numbers).

An identity number has 11 digits: date of birth ``DDMMYY``, a 3-digit individual number and two
mod-11 control digits ``k1 k2``. Variants shift a date digit so the number can never collide with
a real birth number:

* D-number: 4 added to the first day digit (day + 40);
* H-number: 4 added to the first month digit (month + 40);
* synthetic test number (as issued by the national test environment): 8 added to the first month
  digit (month + 80). A synthetic number may also be a D-number (day + 40).

**Control digits.** With weights ``3 7 6 1 8 9 4 5 2 1`` over the first ten digits (``k1``
included, weight 1) and ``5 4 3 2 7 6 5 4 3 2 1`` over all eleven, today's numbers leave
remainder 0 mod 11 in both sums. Skatteetaten's *ny kontrollberegning* for fødselsnumre and
D-numre issued from 1 January 2032 (folkeregisteret-api-dokumentasjon, "Nytt fødselsnummer fra
2032") accepts remainder 0, 1, 2 or 3 in the first sum — ``k1 = {11, 12, 13, 14} − (S mod 11)``
taken mod 11, where S is the weighted sum of the nine first digits — and keeps the second
unchanged. A first remainder of 1–3 therefore marks a number of the new kind; those are only
accepted when the reference day is on or after :data:`NEW_CALCULATION_FROM` (none can exist
before), never for H-numbers (the new rule is announced for fødselsnumre and D-numre only).

**What a number says.** For today's numbers the individual number gives the century and the
ninth digit's parity legal sex (odd: male). Numbers issued from 2032 are gender-neutral and their
individual number no longer gives the century, so for them :attr:`IdentityNumber.sex` is None
(unknown) and the birth year is the latest one with those two digits not after the reference
day. A number read the old way whose birth date is on or after 1 January 2032 was necessarily
issued under the new rules, so its sex is unknown too. A birth date after the reference day is
invalid (rule ``fnr_birth_date``).

Surrounding blanks (space, tab, no-break spaces) are removed before anything else
(:func:`normalise`); the normalised form is what ingestion pseudonymises.

This module is the reference definition: :mod:`ingestion.fnr_polars` implements the same rules
as vectorised Polars expressions and is tested against it.

>>> today = dt.date(2026, 11, 29)
>>> is_valid("13880012345", today)
False
>>> n = parse(" " + with_check_digits("138880122"), today)
>>> (n.kind, n.birth_date.isoformat(), n.sex)
('syntetisk', '1980-08-13', 'K')
>>> is_valid("30108299939", today), parse("30108299939", dt.date(2032, 1, 1)).sex is None
(False, True)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WEIGHTS_FIRST = (3, 7, 6, 1, 8, 9, 4, 5, 2)
WEIGHTS_SECOND = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
#: The same weights with the control digit itself included (weight 1): a valid number's sums.
CONTROL_WEIGHTS_FIRST = (*WEIGHTS_FIRST, 1)
CONTROL_WEIGHTS_SECOND = (*WEIGHTS_SECOND, 1)
#: First-sum remainders of the new control calculation (today's numbers: only 0).
NEW_CALCULATION_REMAINDERS = (0, 1, 2, 3)
#: Skatteetaten issues numbers under the new calculation, gender-neutral, from this day.
NEW_CALCULATION_FROM = dt.date(2032, 1, 1)

#: Offsets added to the date digits by each kind of number.
D_NUMBER_DAY_OFFSET = 40
H_NUMBER_MONTH_OFFSET = 40
SYNTHETIC_MONTH_OFFSET = 80

#: Removed from both ends before validation: a stray space, a tab, no-break spaces from spreadsheets.
SURROUNDING_BLANKS = " \t\u00a0\u202f"


class InvalidIdentityNumber(ValueError):
    """Raised with ``rule`` naming the first rule the number breaks."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class IdentityNumber:
    kind: str  # fodselsnummer | d_nummer | h_nummer | syntetisk | syntetisk_d_nummer
    birth_date: dt.date
    sex: str | None  # "M" (ninth digit odd), "K" (even); None for gender-neutral (2032) numbers

    @property
    def birth_year(self) -> int:
        return self.birth_date.year


def normalise(number: str) -> str:
    """``number`` without surrounding blanks: ``" 01018012371 "`` and ``"01018012371"`` are one person."""
    return number.strip(SURROUNDING_BLANKS)


def mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """The mod-11 check digit for ``digits``, or None where the remainder makes it impossible."""
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def control_remainders(number: str) -> tuple[int, int]:
    """The two control sums of an 11-digit number, mod 11 (both 0 for today's numbers)."""
    first = sum(int(d) * w for d, w in zip(number[:10], CONTROL_WEIGHTS_FIRST, strict=True)) % 11
    second = sum(int(d) * w for d, w in zip(number, CONTROL_WEIGHTS_SECOND, strict=True)) % 11
    return first, second


def with_check_digits(first_nine: str, remainder: int = 0) -> str:
    """Append both check digits to nine digits; raises ``InvalidIdentityNumber`` if none exist.

    :param remainder: the first sum's remainder: 0 today, 0–3 under the new calculation.

    >>> with_check_digits("010180123")
    '01018012371'
    >>> with_check_digits("301082999", remainder=1)   # Skatteetaten's own example
    '30108299939'
    """
    first = (remainder - sum(int(d) * w for d, w in zip(first_nine, WEIGHTS_FIRST, strict=True))) % 11
    if first == 10:
        raise InvalidIdentityNumber("fnr_check_digits", "no valid first check digit for these nine digits")
    second = mod11(first_nine + str(first), WEIGHTS_SECOND)
    if second is None:
        raise InvalidIdentityNumber("fnr_check_digits", "no valid second check digit for these nine digits")
    return f"{first_nine}{first}{second}"


def century(two_digit_year: int, individual: int) -> int | None:
    """The century of birth given by the individual number ranges, or None for an unused range."""
    if individual <= 499:
        return 1900
    if individual <= 749 and two_digit_year >= 54:
        return 1800
    if two_digit_year <= 39:
        return 2000
    if individual >= 900:
        return 1900
    return None


def latest_year(two_digit_year: int, month: int, day: int, today: dt.date) -> int:
    """The latest year ending in ``two_digit_year`` whose ``day.month`` is not after ``today``."""
    year = today.year - today.year % 100 + two_digit_year
    return year - 100 if (year, month, day) > (today.year, today.month, today.day) else year


def parse(number: str, today: dt.date) -> IdentityNumber:
    """Validate ``number`` and derive what it says; raises ``InvalidIdentityNumber`` naming the rule.

    :param today: the reference day: birth dates after it are invalid, and numbers under the new
        control calculation are only valid from :data:`NEW_CALCULATION_FROM` on.
    """
    number = normalise(number)
    if len(number) != 11 or not number.isascii() or not number.isdigit():
        raise InvalidIdentityNumber("fnr_format", "identity number is not 11 digits")
    day, month, yy, individual = int(number[0:2]), int(number[2:4]), int(number[4:6]), int(number[6:9])
    is_d, is_syn = day > D_NUMBER_DAY_OFFSET, month > SYNTHETIC_MONTH_OFFSET
    is_h = H_NUMBER_MONTH_OFFSET < month <= SYNTHETIC_MONTH_OFFSET
    first, second = control_remainders(number)
    new_calculation = first != 0
    if second != 0 or first not in NEW_CALCULATION_REMAINDERS or \
            (new_calculation and (today < NEW_CALCULATION_FROM or is_h)):
        raise InvalidIdentityNumber("fnr_check_digits", "identity number check digits do not match")
    if is_d and is_h:
        raise InvalidIdentityNumber("fnr_birth_date", "a number cannot be both a D- and an H-number")
    day -= D_NUMBER_DAY_OFFSET if is_d else 0
    month -= SYNTHETIC_MONTH_OFFSET if is_syn else H_NUMBER_MONTH_OFFSET if is_h else 0
    if new_calculation:
        year = latest_year(yy, month, day, today)
    else:
        hundred = century(yy, individual)
        if hundred is None:
            raise InvalidIdentityNumber("fnr_birth_date", "individual number is not used for that birth year")
        year = hundred + yy
    try:
        birth_date = dt.date(year, month, day)
    except ValueError:
        raise InvalidIdentityNumber("fnr_birth_date", "identity number does not contain a valid date") from None
    if birth_date > today:
        raise InvalidIdentityNumber("fnr_birth_date", "identity number's birth date is after the reference day")
    gender_neutral = new_calculation or birth_date >= NEW_CALCULATION_FROM
    sex = None if gender_neutral else "M" if int(number[8]) % 2 else "K"
    return IdentityNumber(kind=_kind(is_d, is_h, is_syn), birth_date=birth_date, sex=sex)


def _kind(is_d: bool, is_h: bool, is_syn: bool) -> str:
    if is_h:
        return "h_nummer"
    if is_syn:
        return "syntetisk_d_nummer" if is_d else "syntetisk"
    return "d_nummer" if is_d else "fodselsnummer"


def with_check_digits_or_none(first_nine: str, remainder: int = 0) -> str | None:
    try:
        return with_check_digits(first_nine, remainder)
    except InvalidIdentityNumber:
        return None


def is_valid(number: str, today: dt.date) -> bool:
    try:
        parse(number, today)
    except InvalidIdentityNumber:
        return False
    return True
