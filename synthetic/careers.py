"""Service careers calibrated to a published count of distinct recipients per year.

A *career* is the period during which one person receives a kind of service (welfare
technology, or municipal care). Episodes (rows) are laid inside careers so that their union
covers the career; then "distinct persons with an episode active in year Y" equals "careers
active in year Y", which this module makes equal to the target **exactly**:

* a stock of careers already running on 1 January of the first year (their start is drawn
  back in time, their remaining length forward);
* each year: careers still running on 1 January carry over; if more carry over than the year's
  target, the excess end during the previous year; the rest of the target starts during the
  year, with an exponential length.

Each career is then given a distinct person, drawn with weights by age in the career's start
year (Efraimidis–Spirakis keys, so the draw is weighted and without replacement).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from synthetic.population import Population, day_number_of_year

DAYS_PER_YEAR = 365.25
#: Stock careers started at most this many years before the first year.
MAX_STOCK_YEARS = 10


@dataclass(frozen=True)
class Careers:
    start: np.ndarray  # int64 day number of the first day
    end: np.ndarray  # int64 day number of the last day (after the horizon: still running)

    def __len__(self) -> int:
        return int(self.start.size)

    def active_in(self, year: int) -> np.ndarray:
        return (self.start <= day_number_of_year(year + 1) - 1) & (self.end >= day_number_of_year(year))


def calibrated_careers(targets: Mapping[int, int], mean_years: float, stock_share: float,
                       rng: np.random.Generator) -> Careers:
    """Careers whose count active in each year equals ``targets[year]``.

    >>> c = calibrated_careers({2017: 50, 2018: 20, 2019: 70}, 3.0, 0.7, np.random.default_rng(0))
    >>> [int(c.active_in(y).sum()) for y in (2017, 2018, 2019)]
    [50, 20, 70]
    """
    years = sorted(targets)
    if years != list(range(years[0], years[-1] + 1)) or min(targets.values()) < 0:
        raise ValueError("targets must be non-negative counts for consecutive years")
    mean_days = mean_years * DAYS_PER_YEAR
    first = day_number_of_year(years[0])
    n_stock = round(targets[years[0]] * stock_share)
    back = np.ceil(np.clip(rng.exponential(mean_days, n_stock), 1, MAX_STOCK_YEARS * DAYS_PER_YEAR))
    starts = [first - back.astype(np.int64)]
    ends = [first + np.floor(rng.exponential(mean_days, n_stock)).astype(np.int64)]
    carried = n_stock
    for year in years:
        jan1, next_jan1 = day_number_of_year(year), day_number_of_year(year + 1)
        if year > years[0]:
            start, end = np.concatenate(starts), np.concatenate(ends)
            running = np.flatnonzero(end >= jan1)
            excess = running.size - targets[year]
            if excess > 0:  # more carry over than the target: end some during last year
                stop = rng.choice(running, size=excess, replace=False)
                low = np.maximum(start[stop], day_number_of_year(year - 1))
                end[stop] = low + np.floor(rng.random(excess) * (jan1 - low)).astype(np.int64)
            starts, ends = [start], [end]
            carried = min(running.size, targets[year])
        n_new = targets[year] - carried
        start_new = jan1 + np.floor(rng.random(n_new) * (next_jan1 - jan1)).astype(np.int64)
        starts.append(start_new)
        ends.append(start_new + np.floor(rng.exponential(mean_days, n_new)).astype(np.int64))
    return Careers(start=np.concatenate(starts), end=np.concatenate(ends))


def assign_persons(careers: Careers, population: Population, weight_by_age: Callable[[np.ndarray], np.ndarray],
                   rng: np.random.Generator, boost: np.ndarray | None = None) -> np.ndarray:
    """A distinct person for each career, drawn by age in the career's start year.

    :param weight_by_age: relative chance by age in whole years (vectorised).
    :param boost: optional per-person multiplier (e.g. more likely for care recipients).
    Persons born after 1 January of the start year are never drawn for it.
    """
    person = np.full(len(careers), -1, dtype=np.int64)
    used = np.zeros(len(population), dtype=bool)
    start_year = (careers.start.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)
    for year in np.unique(start_year):
        idx = np.flatnonzero(start_year == year)
        jan1 = day_number_of_year(int(year))
        weight = weight_by_age(population.age_on(jan1)).astype(float)
        weight[(population.birth >= jan1) | used] = 0.0
        if boost is not None:
            weight *= boost
        eligible = int((weight > 0).sum())
        if eligible < idx.size:
            raise ValueError(f"only {eligible} persons can start a career in {year}, need {idx.size}; raise the scale")
        keys = rng.exponential(size=weight.size) / np.where(weight > 0, weight, np.nan)
        keys = np.nan_to_num(keys, nan=np.inf)
        chosen = np.argpartition(keys, idx.size - 1)[: idx.size] if idx.size else idx
        person[idx] = rng.permutation(chosen)
        used[chosen] = True
    return person
