"""Identity-number rules as vectorised Polars expressions.

:mod:`ingestion.fnr` is the reference definition, one number at a time. Ingestion validates
millions of rows, so the same rules are written here over whole columns, without a Python call
per row. ``tests/unit/test_fnr_polars.py`` proves with Hypothesis that both agree on every valid
kind and on corrupted numbers.

The number is read once as an integer and every part (day, month, individual number, each
digit) is integer arithmetic on it; the parts are materialised in stages so Polars computes each
once, however many rules use it.

>>> import polars as pl
>>> df = pl.DataFrame({"fnr": ["13888012235", "13888012236", "1388"]})
>>> with_fnr_fields(df, "fnr")["__fnr_rule"].to_list()
[None, 'fnr_check_digits', 'fnr_format']
"""

from __future__ import annotations

import polars as pl

from ingestion.fnr import (
    D_NUMBER_DAY_OFFSET,
    H_NUMBER_MONTH_OFFSET,
    SYNTHETIC_MONTH_OFFSET,
    WEIGHTS_FIRST,
    WEIGHTS_SECOND,
)

#: Rule names, in the order they are checked (the first broken one is reported).
FNR_RULES = ("fnr_format", "fnr_check_digits", "fnr_birth_date")
FNR_RULE_DETAILS = {
    "fnr_format": "identity number is not 11 digits",
    "fnr_check_digits": "identity number check digits do not match",
    "fnr_birth_date": "identity number does not contain a valid birth date for its kind and individual number",
}
#: Output columns of :func:`with_fnr_fields`.
RULE, BIRTH_YEAR, SEX, KIND = "__fnr_rule", "__fnr_birth_year", "__fnr_sex", "__fnr_kind"


def _p(name: str) -> pl.Expr:
    return pl.col(f"__fnr_{name}")


def _digit(number: pl.Expr, position: int) -> pl.Expr:
    """Digit ``position`` (0 = leftmost) of an 11-digit integer."""
    return number // 10 ** (10 - position) % 10


def _check_digit(number: pl.Expr, weights: tuple[int, ...]) -> pl.Expr:
    """Mod-11 check digit over the first ``len(weights)`` digits; 10 means "no valid digit"."""
    total = pl.sum_horizontal([_digit(number, i) * w for i, w in enumerate(weights)])
    return (11 - total % 11) % 11


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return (
        pl.when(month == 2).then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11])).then(30)
        .otherwise(31)
    )


def with_fnr_fields(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``frame`` plus ``__fnr_rule`` (first broken rule, null when valid), ``__fnr_birth_year``,
    ``__fnr_sex`` (M/K) and ``__fnr_kind`` for the identity numbers in ``column``.

    Year, sex and kind are only meaningful where the rule is null.
    """
    text = pl.col(column)
    well_formed = text.str.contains(r"^[0-9]{11}$").fill_null(False)
    staged = (
        frame.lazy()
        .with_columns(pl.when(well_formed).then(text.cast(pl.Int64, strict=False)).alias("__fnr_n"))
        .with_columns(
            _check_digit(_p("n"), WEIGHTS_FIRST).alias("__fnr_c1"),
            _check_digit(_p("n"), WEIGHTS_SECOND).alias("__fnr_c2"),
            (_p("n") // 10**9).alias("__fnr_rawday"),
            (_p("n") // 10**7 % 100).alias("__fnr_rawmonth"),
            (_p("n") // 10**5 % 100).alias("__fnr_yy"),
            (_p("n") // 100 % 1000).alias("__fnr_individual"),
        )
        .with_columns(
            (_p("rawday") > D_NUMBER_DAY_OFFSET).alias("__fnr_is_d"),
            (_p("rawmonth") > SYNTHETIC_MONTH_OFFSET).alias("__fnr_is_syn"),
            ((_p("rawmonth") > H_NUMBER_MONTH_OFFSET) & (_p("rawmonth") <= SYNTHETIC_MONTH_OFFSET)).alias("__fnr_is_h"),
            # Same ranges as ingestion.fnr.century; null for an unused range.
            pl.when(_p("individual") <= 499).then(1900)
            .when((_p("individual") <= 749) & (_p("yy") >= 54)).then(1800)
            .when(_p("yy") <= 39).then(2000)
            .when(_p("individual") >= 900).then(1900)
            .alias("__fnr_century"),
        )
        .with_columns(
            pl.when(_p("is_d")).then(_p("rawday") - D_NUMBER_DAY_OFFSET).otherwise(_p("rawday")).alias("__fnr_day"),
            pl.when(_p("is_syn")).then(_p("rawmonth") - SYNTHETIC_MONTH_OFFSET)
            .when(_p("is_h")).then(_p("rawmonth") - H_NUMBER_MONTH_OFFSET)
            .otherwise(_p("rawmonth")).alias("__fnr_month"),
            (_p("century") + _p("yy")).alias(BIRTH_YEAR),
        )
        .with_columns(
            (_p("is_d") & _p("is_h")
             | _p("century").is_null()
             | ~_p("month").is_between(1, 12)
             | (_p("day") < 1)
             | (_p("day") > _days_in_month(pl.col(BIRTH_YEAR), _p("month")))).alias("__fnr_bad_date"),
        )
        .with_columns(
            pl.when(_p("n").is_null()).then(pl.lit("fnr_format"))
            .when((_p("c1") == 10) | (_p("c1") != _digit(_p("n"), 9))
                  | (_p("c2") == 10) | (_p("c2") != _digit(_p("n"), 10))).then(pl.lit("fnr_check_digits"))
            .when(_p("bad_date")).then(pl.lit("fnr_birth_date"))
            .alias(RULE),
            pl.when(_digit(_p("n"), 8) % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("K")).alias(SEX),
            pl.when(_p("is_syn") & _p("is_d")).then(pl.lit("syntetisk_d_nummer"))
            .when(_p("is_syn")).then(pl.lit("syntetisk"))
            .when(_p("is_h")).then(pl.lit("h_nummer"))
            .when(_p("is_d")).then(pl.lit("d_nummer"))
            .otherwise(pl.lit("fodselsnummer")).alias(KIND),
        )
    )
    helpers = ["n", "c1", "c2", "rawday", "rawmonth", "yy", "individual", "is_d", "is_syn", "is_h", "century",
               "day", "month", "bad_date"]
    return staged.drop([f"__fnr_{h}" for h in helpers]).collect()
