"""Organisation-number check as a vectorised Polars expression.

The reference definition is :mod:`ingestion.orgnr` (Brønnøysund's 9-digit number with a mod-11
check digit); its weights are used here, and ``tests/unit/test_fnr_polars.py`` checks this
expression agrees with it.

>>> import polars as pl
>>> pl.DataFrame({"o": ["974760673", "974760674", "97476067"]}).select(orgnr_valid(pl.col("o")))["o"].to_list()
[True, False, False]
"""

from __future__ import annotations

import polars as pl

from ingestion.orgnr import WEIGHTS


def orgnr_valid(number: pl.Expr) -> pl.Expr:
    """True where ``number`` is 9 digits whose last is the mod-11 check digit of the first 8."""
    digits = [number.str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(9)]
    total = pl.sum_horizontal([d * w for d, w in zip(digits, WEIGHTS)])
    check = (11 - total % 11) % 11
    well_formed = number.str.contains(r"^[0-9]{9}$").fill_null(False)
    return (well_formed & (check != 10) & (check == digits[8])).fill_null(False)
