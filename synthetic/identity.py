"""Synthetic identity numbers, vectorised (the rules of :mod:`ingestion.fnr`).

Only synthetic numbers are made: month + 80, as the national test environment issues them, so
no number can belong to a real person. A share of persons get a synthetic D-number as well
(day + 40). The individual number is chosen in the range that gives the right century and its
last digit's parity gives the sex; numbers whose check digits would be 10 are redrawn, as are
duplicates, so every person has one unique, valid number.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingestion.fnr import D_NUMBER_DAY_OFFSET, SYNTHETIC_MONTH_OFFSET, WEIGHTS_FIRST, WEIGHTS_SECOND

#: Give up after this many redraw rounds (each round redraws only the numbers still missing).
MAX_ROUNDS = 200


def _weighted_sum(numbers: np.ndarray, width: int, weights: tuple[int, ...]) -> np.ndarray:
    """Σ digit × weight over the ``width`` decimal digits of ``numbers`` (one pass per digit,
    so memory stays at a few arrays of the input's size)."""
    total = np.zeros(numbers.shape, dtype=np.int64)
    rest = numbers.astype(np.int64)
    for weight in reversed(weights[:width]):
        total += (rest % 10) * weight
        rest = rest // 10
    return total


def check_digits(first_nine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both mod-11 check digits for 9-digit integers; 10 marks "no valid digit".

    >>> k1, k2 = check_digits(np.array([10180123]))   # 010180123 → 01018012371
    >>> int(k1[0]), int(k2[0])
    (7, 1)
    """
    k1 = (11 - _weighted_sum(first_nine, 9, WEIGHTS_FIRST) % 11) % 11
    k2 = (11 - _weighted_sum(first_nine * 10 + k1, 10, WEIGHTS_SECOND) % 11) % 11
    return k1, k2


def _individual(birth_year: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An individual number in the range of the birth century, odd for men, even for women."""
    # 1900–1999: 000–499; 2000–2039: 500–999 (ingestion.fnr.century).
    low = np.where(birth_year >= 2000, 500, 0)
    half = rng.integers(0, 250, size=birth_year.shape)
    return low + 2 * half + male.astype(np.int64)


def synthetic_numbers(birth: np.ndarray, male: np.ndarray, d_number: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Unique synthetic identity numbers as int64 (format with ``%011d``).

    :param birth: birth dates, ``datetime64[D]``; years 1900–2039.
    :param male: legal sex (odd individual number when true).
    :param d_number: make a synthetic D-number (day + 40) for these persons.
    """
    birth = birth.astype("datetime64[D]")
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    if years.size and (years.min() < 1900 or years.max() > 2039):
        raise ValueError("synthetic identity numbers need birth years 1900–2039")
    months = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    days = days + np.where(d_number, D_NUMBER_DAY_OFFSET, 0)
    date_part = (days * 10_000 + (months + SYNTHETIC_MONTH_OFFSET) * 100 + years % 100) * 1000
    result = np.full(birth.shape, -1, dtype=np.int64)
    pending = np.arange(birth.size)
    taken: set[int] = set()
    for _ in range(MAX_ROUNDS):
        nine = date_part[pending] + _individual(years[pending], male[pending], rng)
        k1, k2 = check_digits(nine)
        candidate = nine * 100 + k1 * 10 + k2
        ok = (k1 != 10) & (k2 != 10) & _first_occurrence(candidate)
        if taken:  # later rounds are small: a set lookup beats sorting every number again
            ok &= np.fromiter((c not in taken for c in candidate.tolist()), dtype=bool, count=candidate.size)
        result[pending[ok]] = candidate[ok]
        taken.update(candidate[ok].tolist())
        pending = pending[~ok]
        if pending.size == 0:
            return result
    raise RuntimeError(f"could not find unique identity numbers for {pending.size} persons; lower the scale")


def _first_occurrence(values: np.ndarray) -> np.ndarray:
    """True where a value occurs for the first time (in array order)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    repeat = np.zeros(values.size, dtype=bool)
    repeat[1:] = ordered[1:] == ordered[:-1]
    out = np.empty(values.size, dtype=bool)
    out[order] = ~repeat
    return out


def format_numbers(numbers: np.ndarray) -> pl.Series:
    """11-character strings with leading zeros (Polars: much faster than NumPy strings).

    >>> format_numbers(np.array([1018012371])).to_list()
    ['01018012371']
    """
    return pl.Series(numbers.astype(np.int64)).cast(pl.String).str.zfill(11)
