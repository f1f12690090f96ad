"""Exact privacy-budget arithmetic and the ledger.

Budgets and charges are ε values kept as exact rationals (:class:`fractions.Fraction`), stored in
SQLite as numerator/denominator integer *strings* (so no 64-bit overflow and no float rounding).
Users write ε as a decimal (``0.1``, ``1e-3``) or a fraction (``1/3``); ``0.1`` is exactly 1/10,
so ten charges of 0.1 spend a budget of 1 exactly, and three of 1/3 do too.

Budget rule (docs/analysis-room.md): a charge is committed — in the same ``BEGIN IMMEDIATE`` transaction as its
audit entry, which writes it (:func:`privacy.state.apply_change`) — only if ``spent + ε ≤ budget``, and before any result is released. Charges are never
refunded, edited or deleted (triggers in :mod:`privacy.state` enforce append-only).
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from kernel.errors import UserInputError

#: Largest ε a single permit may be granted. Above ~10 the guarantee says little; a reviewer who
#: needs more should split the work into separate applications that are each justified.
MAX_PERMIT_EPSILON = Fraction(10)
#: Most digits accepted in a numerator or denominator (keeps exact sums cheap).
MAX_EPSILON_DIGITS = 30


def parse_epsilon(text: str | int | Fraction) -> Fraction:
    """Parse a positive, finite ε given as a decimal string or ``p/q``, exactly.

    >>> parse_epsilon("0.1")
    Fraction(1, 10)
    >>> parse_epsilon("1/3")
    Fraction(1, 3)
    >>> parse_epsilon("2.5e-1")
    Fraction(1, 4)
    >>> parse_epsilon("nan")
    Traceback (most recent call last):
    ...
    kernel.errors.UserInputError: epsilon må være et positivt, endelig tall som 0.5 eller 1/3, ikke 'nan'
    """
    if isinstance(text, Fraction):
        value = text
    elif isinstance(text, int) and not isinstance(text, bool):
        value = Fraction(text)
    else:
        raw = str(text).strip()
        try:
            parts = [_decimal(p) for p in raw.split("/")]
            if len(parts) > 2:
                raise ValueError
            value = parts[0] / parts[1] if len(parts) == 2 else parts[0]
        except (InvalidOperation, ValueError, ZeroDivisionError):
            raise UserInputError(f"epsilon må være et positivt, endelig tall som 0.5 eller 1/3, ikke {raw!r}") from None
    if value <= 0:
        raise UserInputError(f"epsilon må være større enn null, ikke {format_epsilon(value)}")
    if len(str(value.numerator)) > MAX_EPSILON_DIGITS or len(str(value.denominator)) > MAX_EPSILON_DIGITS:
        raise UserInputError(f"epsilon {text!r} har for mange sifre (høyst {MAX_EPSILON_DIGITS})")
    return value


def _decimal(text: str) -> Fraction:
    """One finite decimal as a Fraction, refusing exponents that would make huge integers."""
    d = Decimal(text.strip())
    if not d.is_finite() or abs(d.as_tuple().exponent) > MAX_EPSILON_DIGITS or len(d.as_tuple().digits) > MAX_EPSILON_DIGITS:
        raise InvalidOperation
    return Fraction(d)


def format_epsilon(value: Fraction) -> str:
    """Exact text form: ``"1/3"``, ``"1/10"``, ``"2"``.

    >>> format_epsilon(Fraction(1, 3)), format_epsilon(Fraction(2))
    ('1/3', '2')
    """
    return str(value)


def to_columns(value: Fraction) -> tuple[str, str]:
    """(numerator, denominator) as stored in SQLite."""
    return str(value.numerator), str(value.denominator)


def from_columns(num: str, den: str) -> Fraction:
    return Fraction(int(num), int(den))


def spent(conn: sqlite3.Connection, permit_id: str) -> Fraction:
    """Exact sum of every charge on ``permit_id``.

    Read it inside the write transaction that will add a charge, so the sum cannot change
    between reading and writing.
    """
    rows = conn.execute(
        "select epsilon_num, epsilon_den from ledger where permit_id = ?", (permit_id,)
    ).fetchall()
    return sum((from_columns(n, d) for n, d in rows), Fraction(0))

