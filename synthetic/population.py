"""The synthetic population: persons spread over the 357 kommuner by SSB's 2024 age/sex table.

Every person has a 2024 kommune, a lineage of older codes (:mod:`synthetic.geography`), a
birth date, a legal sex and one synthetic identity number used in every source and year. The
population is the 1 January 2024 population (SSB table 07459) scaled down; persons who died
before 2024 are not modelled, so early years have slightly too few of the very old.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from kernel.codelists import seed_path
from synthetic.geography import Geography, day_number
from synthetic.identity import synthetic_numbers

#: The population table year used (the reference data have 2024–2026).
POPULATION_YEAR = 2024
#: Share of persons with a synthetic D-number instead (*synthetic assumption*; D-numbers are
#: mostly held by working-age people from abroad).
D_NUMBER_SHARE_WORKING_AGE = 0.04
D_NUMBER_SHARE_OTHER = 0.005
#: The open age band ``90+`` is spread over ages 90..MAX_AGE with this yearly decay.
MAX_AGE = 105
OLDEST_DECAY = 0.72


@dataclass(frozen=True)
class Population:
    """Person attributes as parallel arrays; a person's id is their index."""

    kommune: np.ndarray  # int32 id into Geography.kommuner
    lineage: np.ndarray  # int32 id into Geography lineages
    birth: np.ndarray  # int64 day number (days since 1970-01-01)
    male: np.ndarray  # bool
    fnr: np.ndarray  # int64 synthetic identity number

    def __len__(self) -> int:
        return int(self.birth.size)

    def age_on(self, day: int) -> np.ndarray:
        """Age in whole years on day number ``day`` (approximate: 365.25-day years)."""
        return np.floor((day - self.birth) / 365.25).astype(np.int64)


def population_cells(geo: Geography) -> pl.DataFrame:
    """Kommune id, sex, age band (low, high) and population of the 2024 age/sex table."""
    table = pl.read_csv(seed_path("population_kommune_age_sex"), schema_overrides={"kommunenummer": pl.Utf8})
    table = table.filter(pl.col("year") == POPULATION_YEAR)
    k_id = {k: i for i, k in enumerate(geo.kommuner)}
    missing = set(geo.kommuner) - set(table["kommunenummer"])
    if missing:
        raise ValueError(f"no population for kommuner {sorted(missing)[:5]}")
    bands = table["age_group"].str.replace("+", f"-{MAX_AGE}", literal=True).str.split_exact("-", 1)
    return (
        table.with_columns(
            kommune=pl.col("kommunenummer").replace_strict(k_id, return_dtype=pl.Int32),
            male=pl.col("sex") == "male",
            age_low=bands.struct.field("field_0").cast(pl.Int64),
            age_high=bands.struct.field("field_1").cast(pl.Int64),
        )
        .select("kommune", "male", "age_low", "age_high", "population")
        .sort("kommune", "male", "age_low")
    )


def apportion(weights: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Whole numbers proportional to ``weights`` that sum to ``total`` (largest remainder).

    >>> apportion(np.array([5.0, 3.0, 2.0]), 5, np.random.default_rng(0)).tolist()
    [3, 1, 1]
    """
    quota = weights / weights.sum() * total
    base = np.floor(quota).astype(np.int64)
    remainder = quota - base + rng.random(weights.size) * 1e-9  # random tie-break
    extra = total - int(base.sum())
    if extra > 0:
        base[np.argsort(-remainder, kind="stable")[:extra]] += 1
    return base


def _ages(low: np.ndarray, high: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whole ages within each band; the open band decays with age instead of being uniform."""
    ages = low + np.floor(rng.random(low.size) * (high - low + 1)).astype(np.int64)
    oldest = high == MAX_AGE
    if oldest.any():
        span = np.arange(MAX_AGE - low[oldest][0] + 1)
        p = OLDEST_DECAY ** span
        ages[oldest] = low[oldest] + rng.choice(span, size=int(oldest.sum()), p=p / p.sum())
    return ages


def build_population(geo: Geography, scale: float, rng: np.random.Generator) -> Population:
    """About ``scale`` × 5.55 million persons, apportioned to kommune × sex × age-band cells."""
    cells = population_cells(geo)
    weights = cells["population"].to_numpy().astype(float)
    counts = apportion(weights, max(1, round(weights.sum() * scale)), rng)
    kommune = np.repeat(cells["kommune"].to_numpy(), counts)
    male = np.repeat(cells["male"].to_numpy(), counts)
    age = _ages(np.repeat(cells["age_low"].to_numpy(), counts), np.repeat(cells["age_high"].to_numpy(), counts), rng)
    # Age on 1 January 2024 is `age`: born in the 365 days ending on 1 January 2024 - age years.
    reference = day_number_of_year(POPULATION_YEAR)
    birth = reference - np.floor(age * 365.25).astype(np.int64) - rng.integers(1, 366, size=age.size)
    working_age = (age >= 18) & (age <= 66)
    d_share = np.where(working_age, D_NUMBER_SHARE_WORKING_AGE, D_NUMBER_SHARE_OTHER)
    d_number = rng.random(age.size) < d_share
    fnr = synthetic_numbers(birth.astype("datetime64[D]"), male, d_number, rng)
    return Population(kommune=kommune.astype(np.int32), lineage=geo.pick_lineages(kommune, rng),
                      birth=birth, male=male, fnr=fnr)


def day_number_of_year(year: int, month: int = 1, day: int = 1) -> int:
    """Day number of a date given as year (month, day)."""
    return day_number(dt.date(year, month, day))
