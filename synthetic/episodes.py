"""Turn episode arrays (person, type, start, end) into extract rows of an episode source."""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic.geography import Geography
from synthetic.identity import format_numbers
from synthetic.population import Population, day_number_of_year


def horizon_day(last_year: int) -> int:
    """Last day the extracts cover (31 December of ``last_year``): later episodes are not written
    and episodes still running then have an empty sluttdato."""
    return day_number_of_year(last_year + 1) - 1


def episode_frame(population: Population, geo: Geography, person: np.ndarray, tjenestetype: np.ndarray,
                  start: np.ndarray, end: np.ndarray, last_year: int,
                  extra: dict[str, np.ndarray] | None = None) -> pl.DataFrame:
    """Rows sorted by start date; episodes starting after the horizon are dropped.

    The kommunenummer is the code valid on the start date (the source's kommune date column).
    ``extra`` columns (one value per episode) are filtered and sorted with the episodes.
    """
    last = horizon_day(last_year)
    keep = start <= last
    order = np.lexsort((population.fnr[person[keep]], start[keep]))
    pick = np.flatnonzero(keep)[order]
    person, tjenestetype, start, end = person[pick], tjenestetype[pick], start[pick], end[pick]
    columns = {name: values[pick] for name, values in (extra or {}).items()}
    code = geo.code_series.gather(geo.code_ids(population.lineage[person], start))
    return pl.DataFrame({
        "fodselsnummer": format_numbers(population.fnr[person]),
        "kommunenummer": code,
        "tjenestetype": tjenestetype.astype(np.int64),
        "startdato": start.astype("datetime64[D]"),
        "sluttdato": pl.Series(end.astype("datetime64[D]")).cast(pl.Date),
        "_ongoing": end > last,
        "_kommune": population.kommune[person],
        **columns,
    }).with_columns(
        pl.col("startdato").cast(pl.Date),
        sluttdato=pl.when(pl.col("_ongoing")).then(None).otherwise(pl.col("sluttdato")),
    ).drop("_ongoing")


def start_year() -> pl.Expr:
    """File year of an episode: its start year (earlier starts go to the first year's file)."""
    return pl.col("startdato").dt.year()
