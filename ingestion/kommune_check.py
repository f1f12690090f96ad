"""Is a kommunenummer valid on a given date? — for a whole column at once.

The rule itself (which codes were valid when, across the 2020 and 2024 reforms) is defined once
in :mod:`kernel.kommuner`. A batch has millions of rows but only a few thousand distinct dates,
and the set of valid codes only changes at reform dates; so the calendar asks
:func:`kernel.kommuner.valid_kommunenummer` once per distinct date (remembered across batches),
numbers each distinct set of codes, and answers for the column with two joins.
"""

from __future__ import annotations

import datetime as dt

import polars as pl


class KommuneCalendar:
    """Memoised ``valid_kommunenummer`` lookups, answered for Polars columns."""

    def __init__(self) -> None:
        from kernel.kommuner import valid_kommunenummer

        self._valid_on = valid_kommunenummer
        self._set_ids: dict[frozenset[str], int] = {}
        self._date_set: dict[dt.date, int] = {}
        self._pairs: list[tuple[int, str]] = []
        self._ever: list[str] | None = None

    def ever_valid(self, kommunenummer: pl.Series) -> pl.Series:
        """Boolean column: the code was a kommunenummer at some time (a public code, whatever the date)."""
        if self._ever is None:
            from kernel.kommuner import kommune_validity

            self._ever = sorted({v.kommunenummer for v in kommune_validity()})
        return kommunenummer.cast(pl.String).is_in(self._ever).fill_null(False).rename("kommune_ever_valid")

    def _set_id(self, day: dt.date) -> int:
        if day not in self._date_set:
            codes = frozenset(self._valid_on(day))
            if codes not in self._set_ids:
                self._set_ids[codes] = len(self._set_ids)
                self._pairs.extend((self._set_ids[codes], code) for code in codes)
            self._date_set[day] = self._set_ids[codes]
        return self._date_set[day]

    def valid(self, kommunenummer: pl.Series, on: pl.Series) -> pl.Series:
        """Boolean column: ``kommunenummer[i]`` was a valid code on ``on[i]`` (false for nulls)."""
        days = on.drop_nulls().unique().to_list()
        dates = pl.DataFrame({"d": days, "s": [self._set_id(d) for d in days]},
                             schema={"d": pl.Date, "s": pl.Int64})
        pairs = pl.DataFrame(self._pairs, schema={"s": pl.Int64, "k": pl.String}, orient="row").with_columns(ok=pl.lit(True))
        frame = pl.DataFrame({"k": kommunenummer.cast(pl.String), "d": on.cast(pl.Date)})
        joined = (frame.join(dates, on="d", how="left", maintain_order="left")
                  .join(pairs, on=["s", "k"], how="left", maintain_order="left"))
        return joined["ok"].fill_null(False).rename("kommune_valid")
