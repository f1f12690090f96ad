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

    def running_on_31_december(self, year: int) -> np.ndarray:
        dec31 = day_number_of_year(year + 1) - 1
        return (self.start <= dec31) & (self.end >= dec31)


def calibrated_careers(targets: Mapping[int, int], mean_years: float, stock_share: float,
                       rng: np.random.Generator, year_end: Mapping[int, int] | None = None) -> Careers:
    """Careers whose count active in each year equals ``targets[year]``.

    :param year_end: optional count still running on 31 December of each year (a person counted
        on 31 December carries over into the next year). When given, exactly that many careers of
        each year run on past it and the others end before 31 December.

    >>> c = calibrated_careers({2017: 50, 2018: 20, 2019: 70}, 3.0, 0.7, np.random.default_rng(0))
    >>> [int(c.active_in(y).sum()) for y in (2017, 2018, 2019)]
    [50, 20, 70]
    >>> c = calibrated_careers({2017: 50, 2018: 60}, 3.0, 0.7, np.random.default_rng(0), {2017: 40, 2018: 45})
    >>> [int(c.running_on_31_december(y).sum()) for y in (2017, 2018)]
    [40, 45]
    """
    years = sorted(targets)
    if years != list(range(years[0], years[-1] + 1)) or min(targets.values()) < 0:
        raise ValueError("targets must be non-negative counts for consecutive years")
    if year_end is not None and any(not 0 <= year_end[y] <= targets[y] for y in years):
        raise ValueError("each year's 31 December count must be between 0 and the year's target")
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
        # New careers start before 31 December, so each can still end within its first year.
        start_new = jan1 + np.floor(rng.random(n_new) * (next_jan1 - 1 - jan1)).astype(np.int64)
        starts.append(start_new)
        ends.append(start_new + np.floor(rng.exponential(mean_days, n_new)).astype(np.int64))
        if year_end is not None:
            start, end = np.concatenate(starts), np.concatenate(ends)
            _fix_year_end(start, end, year, year_end[year], mean_days, rng)
            starts, ends = [start], [end]
    return Careers(start=np.concatenate(starts), end=np.concatenate(ends))


def _fix_year_end(start: np.ndarray, end: np.ndarray, year: int, want: int, mean_days: float,
                  rng: np.random.Generator) -> None:
    """Make exactly ``want`` of the careers active in ``year`` run past 31 December (in place).

    Surplus runners end at a uniform day before 31 December; missing ones are prolonged by an
    exponential length from 1 January. Nobody ends on 31 December itself, so "on 31 December"
    and "carried into next year" are the same persons.
    """
    jan1, dec31 = day_number_of_year(year), day_number_of_year(year + 1) - 1
    active = (start <= dec31) & (end >= jan1)
    end[active & (end == dec31) & (start < dec31)] = dec31 - 1
    end[active & (end == dec31)] = dec31 + 1  # one-day careers starting on 31 December run on
    running = np.flatnonzero(active & (end >= dec31))
    if running.size > want:
        stoppable = running[start[running] < dec31]
        stop = rng.choice(stoppable, size=running.size - want, replace=False)
        low = np.maximum(start[stop], jan1)
        end[stop] = low + np.floor(rng.random(stop.size) * (dec31 - low)).astype(np.int64)
    elif running.size < want:
        ending = np.flatnonzero(active & (end < dec31))
        prolong = rng.choice(ending, size=want - running.size, replace=False)
        end[prolong] = dec31 + 1 + np.floor(rng.exponential(mean_days, prolong.size)).astype(np.int64)


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
