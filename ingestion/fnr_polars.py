"""Identity-number rules as vectorised Polars expressions.

:mod:`ingestion.fnr` is the reference definition, one number at a time (and documents the rules,
including Skatteetaten's new control calculation from 2032). Ingestion validates millions of
rows, so the same rules are written here over whole columns, without a Python call per row.
``tests/unit/test_fnr_polars.py`` proves with Hypothesis that both agree on every valid kind and
on corrupted numbers, and checks both against python-stdnum.

The number is read once as an integer and every part (day, month, individual number, each
digit) is integer arithmetic on it; the parts are materialised in stages so Polars computes each
once, however many rules use it.

>>> import datetime as dt, polars as pl
>>> df = pl.DataFrame({"fnr": ["13888012235", "13888012236", "1388", " 13888012235"]})
>>> with_fnr_fields(df, "fnr", dt.date(2026, 11, 29))["__fnr_rule"].to_list()
[None, 'fnr_check_digits', 'fnr_format', None]
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ingestion.fnr import (
    CONTROL_WEIGHTS_FIRST,
    CONTROL_WEIGHTS_SECOND,
    D_NUMBER_DAY_OFFSET,
    H_NUMBER_MONTH_OFFSET,
    NEW_CALCULATION_FROM,
    NEW_CALCULATION_REMAINDERS,
    SURROUNDING_BLANKS,
    SYNTHETIC_MONTH_OFFSET,
)

#: Rule names, in the order they are checked (the first broken one is reported).
FNR_RULES = ("fnr_format", "fnr_check_digits", "fnr_birth_date")
FNR_RULE_DETAILS = {
    "fnr_format": "identity number is not 11 digits",
    "fnr_check_digits": "identity number check digits do not match",
    "fnr_birth_date": "identity number does not contain a valid birth date for its kind and individual number,"
                      " or the birth date is after the day of ingestion",
}
#: Output columns of :func:`with_fnr_fields`.
RULE, BIRTH_YEAR, SEX, KIND = "__fnr_rule", "__fnr_birth_year", "__fnr_sex", "__fnr_kind"


def _p(name: str) -> pl.Expr:
    return pl.col(f"__fnr_{name}")


def _digit(number: pl.Expr, position: int) -> pl.Expr:
    """Digit ``position`` (0 = leftmost) of an 11-digit integer."""
    return number // 10 ** (10 - position) % 10


def _remainder(number: pl.Expr, weights: tuple[int, ...]) -> pl.Expr:
    """Σ digit × weight over the first ``len(weights)`` digits, mod 11."""
    return pl.sum_horizontal([_digit(number, i) * w for i, w in enumerate(weights)]) % 11


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return (
        pl.when(month == 2).then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11])).then(30)
        .otherwise(31)
    )


def _yyyymmdd(year: pl.Expr | int, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """A date as one comparable integer (no date construction, so impossible dates cannot fail)."""
    return month * 100 + day + year * 10_000


def with_fnr_fields(frame: pl.DataFrame, column: str, today: dt.date) -> pl.DataFrame:
    """``frame`` plus ``__fnr_rule`` (first broken rule, null when valid), ``__fnr_birth_year``,
    ``__fnr_sex`` (M/K, null when the number is gender-neutral) and ``__fnr_kind`` for the
    identity numbers in ``column``, judged on the reference day ``today``.

    ``column`` itself is replaced by its normalised text (surrounding blanks removed): that is the
    form validated here, and the form the caller must pseudonymise, so that ``" 01018012371"``
    and ``"01018012371"`` get one ``person_id``. Year, sex and kind are only meaningful where the
    rule is null.
    """
    text = pl.col(column).str.strip_chars(SURROUNDING_BLANKS)
    well_formed = text.str.contains(r"^[0-9]{11}$").fill_null(False)
    new_allowed = today >= NEW_CALCULATION_FROM
    today_int = today.year * 10_000 + today.month * 100 + today.day
    staged = (
        frame.lazy()
        .with_columns(text.alias(column))
        .with_columns(pl.when(well_formed).then(pl.col(column).cast(pl.Int64, strict=False)).alias("__fnr_n"))
        .with_columns(
            _remainder(_p("n"), CONTROL_WEIGHTS_FIRST).alias("__fnr_r1"),
            _remainder(_p("n"), CONTROL_WEIGHTS_SECOND).alias("__fnr_r2"),
            (_p("n") // 10**9).alias("__fnr_rawday"),
            (_p("n") // 10**7 % 100).alias("__fnr_rawmonth"),
            (_p("n") // 10**5 % 100).alias("__fnr_yy"),
            (_p("n") // 100 % 1000).alias("__fnr_individual"),
        )
        .with_columns(
            (_p("rawday") > D_NUMBER_DAY_OFFSET).alias("__fnr_is_d"),
            (_p("rawmonth") > SYNTHETIC_MONTH_OFFSET).alias("__fnr_is_syn"),
            ((_p("rawmonth") > H_NUMBER_MONTH_OFFSET) & (_p("rawmonth") <= SYNTHETIC_MONTH_OFFSET)).alias("__fnr_is_h"),
            (_p("r1") != 0).alias("__fnr_is_new"),
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
            (today.year - today.year % 100 + _p("yy")).alias("__fnr_this_century"),
        )
        .with_columns(
            # New calculation: the century is not in the number; ingestion.fnr.latest_year.
            pl.when(_p("is_new"))
            .then(_p("this_century") - pl.when(_yyyymmdd(_p("this_century"), _p("month"), _p("day")) > today_int)
                  .then(100).otherwise(0))
            .otherwise(_p("century") + _p("yy")).alias(BIRTH_YEAR),
        )
        .with_columns(
            (_p("is_d") & _p("is_h")
             | pl.col(BIRTH_YEAR).is_null()
             | ~_p("month").is_between(1, 12)
             | (_p("day") < 1)
             | (_p("day") > _days_in_month(pl.col(BIRTH_YEAR), _p("month")))
             | (_yyyymmdd(pl.col(BIRTH_YEAR), _p("month"), _p("day")) > today_int)).alias("__fnr_bad_date"),
        )
        .with_columns(
            pl.when(_p("n").is_null()).then(pl.lit("fnr_format"))
            .when((_p("r2") != 0) | ~_p("r1").is_in(NEW_CALCULATION_REMAINDERS)
                  | (_p("is_new") & (pl.lit(not new_allowed) | _p("is_h")))).then(pl.lit("fnr_check_digits"))
            .when(_p("bad_date")).then(pl.lit("fnr_birth_date"))
            .alias(RULE),
            pl.when(_p("is_new") | (_yyyymmdd(pl.col(BIRTH_YEAR), _p("month"), _p("day")) >= _from_int()))
            .then(pl.lit(None, dtype=pl.String))
            .when(_digit(_p("n"), 8) % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("K")).alias(SEX),
            pl.when(_p("is_h")).then(pl.lit("h_nummer"))
            .when(_p("is_syn") & _p("is_d")).then(pl.lit("syntetisk_d_nummer"))
            .when(_p("is_syn")).then(pl.lit("syntetisk"))
            .when(_p("is_d")).then(pl.lit("d_nummer"))
            .otherwise(pl.lit("fodselsnummer")).alias(KIND),
        )
    )
    helpers = ["n", "r1", "r2", "rawday", "rawmonth", "yy", "individual", "is_d", "is_syn", "is_h", "is_new",
               "century", "day", "month", "this_century", "bad_date"]
    return staged.drop([f"__fnr_{h}" for h in helpers]).collect()


def _from_int() -> int:
    """:data:`ingestion.fnr.NEW_CALCULATION_FROM` as a ``yyyymmdd`` integer."""
    return NEW_CALCULATION_FROM.year * 10_000 + NEW_CALCULATION_FROM.month * 100 + NEW_CALCULATION_FROM.day
