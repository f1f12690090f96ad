"""Norwegian organisation numbers (organisasjonsnummer, Enhetsregisteret).

Nine digits; the ninth is a mod-11 check digit over the first eight with weights
3 2 7 6 5 4 3 2. A remainder that would give check digit 10 makes the eight digits unusable
(no number is issued with them). Registry reporting units that are not kommuner are
identified this way (docs/ingestion.md, ``registry_reporting.rapporteringsenhet``).

>>> is_valid("974760673")   # Brønnøysundregistrene
True
>>> is_valid("974760674")
False
"""

from __future__ import annotations

from ingestion.fnr import mod11

WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def check_digit(first_eight: str) -> int | None:
    """The check digit for eight digits, or None when the remainder makes it impossible.

    >>> check_digit("97476067")
    3
    >>> check_digit("40000000") is None   # 4×3 = 12, remainder 1 → 10: impossible
    True
    """
    if len(first_eight) != 8 or not first_eight.isascii() or not first_eight.isdigit():
        raise ValueError(f"expected eight digits, got {first_eight!r}")
    return mod11(first_eight, WEIGHTS)


def with_check_digit(first_eight: str) -> str:
    """Append the check digit; raises ``ValueError`` when no valid one exists.

    >>> with_check_digit("97476067")
    '974760673'
    """
    check = check_digit(first_eight)
    if check is None:
        raise ValueError(f"no valid check digit exists for {first_eight}; choose other digits")
    return f"{first_eight}{check}"


def is_valid(number: str) -> bool:
    """True for nine ASCII digits whose last digit is the right check digit.

    >>> is_valid("97476067"), is_valid("97476067x")
    (False, False)
    """
    if len(number) != 9 or not number.isascii() or not number.isdigit():
        return False
    return check_digit(number[:8]) == int(number[8])
