"""Norwegian identity numbers (fodselsnummer, D-, H- and synthetic test numbers).

An identity number has 11 digits: date of birth ``DDMMYY``, a 3-digit individual number and two
mod-11 check digits. Variants shift a date digit so the number can never collide with a real
birth number:

* D-number: 4 added to the first day digit (day + 40);
* H-number: 4 added to the first month digit (month + 40);
* synthetic test number (as issued by the national test environment): 8 added to the first month
  digit (month + 80). A synthetic number may also be a D-number (day + 40).

The individual number gives the century; the ninth digit's parity gives legal sex (odd: male).
This module is the reference definition: :mod:`ingestion.fnr_polars` implements the same rules
as vectorised Polars expressions and is tested against it.

>>> parse("13880012345").kind if is_valid("13880012345") else "invalid"
'invalid'
>>> n = parse(with_check_digits("138880122"))
>>> (n.kind, n.birth_date.isoformat(), n.sex)
('syntetisk', '1980-08-13', 'K')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WEIGHTS_FIRST = (3, 7, 6, 1, 8, 9, 4, 5, 2)
WEIGHTS_SECOND = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

#: Offsets added to the date digits by each kind of number.
D_NUMBER_DAY_OFFSET = 40
H_NUMBER_MONTH_OFFSET = 40
SYNTHETIC_MONTH_OFFSET = 80


class InvalidIdentityNumber(ValueError):
    """Raised with ``rule`` naming the first rule the number breaks."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class IdentityNumber:
    kind: str  # fodselsnummer | d_nummer | h_nummer | syntetisk | syntetisk_d_nummer
    birth_date: dt.date
    sex: str  # "M" (ninth digit odd) or "K" (even)

    @property
    def birth_year(self) -> int:
        return self.birth_date.year


def mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """The mod-11 check digit for ``digits``, or None where the remainder makes it impossible."""
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def with_check_digits(first_nine: str) -> str:
    """Append both check digits to nine digits; raises ``InvalidIdentityNumber`` if none exist.

    >>> with_check_digits("010180123")
    '01018012371'
    """
    first = mod11(first_nine, WEIGHTS_FIRST)
    if first is None:
        raise InvalidIdentityNumber("fnr_check_digits", f"no valid first check digit for {first_nine}")
    second = mod11(first_nine + str(first), WEIGHTS_SECOND)
    if second is None:
        raise InvalidIdentityNumber("fnr_check_digits", f"no valid second check digit for {first_nine}")
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


def parse(number: str) -> IdentityNumber:
    """Validate ``number`` and derive what it says; raises ``InvalidIdentityNumber`` naming the rule."""
    if len(number) != 11 or not number.isascii() or not number.isdigit():
        raise InvalidIdentityNumber("fnr_format", "identity number is not 11 digits")
    if with_check_digits_or_none(number[:9]) != number:
        raise InvalidIdentityNumber("fnr_check_digits", "identity number check digits do not match")
    day, month = int(number[0:2]), int(number[2:4])
    kind = "fodselsnummer"
    if day > D_NUMBER_DAY_OFFSET:
        day -= D_NUMBER_DAY_OFFSET
        kind = "d_nummer"
    if month > SYNTHETIC_MONTH_OFFSET:
        month -= SYNTHETIC_MONTH_OFFSET
        kind = "syntetisk" if kind == "fodselsnummer" else "syntetisk_d_nummer"
    elif month > H_NUMBER_MONTH_OFFSET:
        if kind == "d_nummer":
            raise InvalidIdentityNumber("fnr_birth_date", "a number cannot be both a D- and an H-number")
        month -= H_NUMBER_MONTH_OFFSET
        kind = "h_nummer"
    yy, individual = int(number[4:6]), int(number[6:9])
    hundred = century(yy, individual)
    if hundred is None:
        raise InvalidIdentityNumber("fnr_birth_date", "individual number is not used for that birth year")
    try:
        birth_date = dt.date(hundred + yy, month, day)
    except ValueError:
        raise InvalidIdentityNumber("fnr_birth_date", "identity number does not contain a valid date") from None
    return IdentityNumber(kind=kind, birth_date=birth_date, sex="M" if int(number[8]) % 2 else "K")


def with_check_digits_or_none(first_nine: str) -> str | None:
    try:
        return with_check_digits(first_nine)
    except InvalidIdentityNumber:
        return None


def is_valid(number: str) -> bool:
    try:
        parse(number)
    except InvalidIdentityNumber:
        return False
    return True
