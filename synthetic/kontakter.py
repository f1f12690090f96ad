"""``kpr_kontakter``: contacts with municipal health services, streamed in chunks of persons.

Every person has contacts each year they are alive (Poisson, rate by age, scaled so the
national total is :data:`~synthetic.calibration.CONTACTS_PER_YEAR`). The service
(``tjenesteyter``) depends on age (health station for small children, GP dominant for
adults). The form (``kontaktform``): the national digital share (video + e-konsultasjon) of the
month (the rise starts in March 2020, :func:`~synthetic.calibration.digital_share_by_month`),
times a fixed per-kommune multiplier (lognormal, so some kommuner are far ahead), times a
per-service factor (GP and mental health more digital than out-of-hours or physiotherapy).
Weekday services move weekend contacts to the nearest weekday.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import polars as pl

from kernel.codelists import read_seed
from synthetic.calibration import (
    CONTACTS_PER_YEAR,
    DIGITAL_KOMMUNE_SIGMA,
    PHONE_SHARE,
    VIDEO_OF_DIGITAL,
    digital_share_by_month,
)
from synthetic.geography import Geography
from synthetic.identity import format_numbers
from synthetic.population import POPULATION_YEAR, Population, day_number_of_year

#: Persons per chunk: bounds memory (≈1 M contact rows per chunk and year at most).
CHUNK_PERSONS = 250_000

#: The code lists in their seed's order: SERVICE_MIX's columns and the form numbers of
#: :func:`_contacts` (0 oppmote, 1 telefon, 2 video, 3 e-konsultasjon) follow it.
TJENESTEYTERE = tuple(r["tjenesteyter"] for r in read_seed("codelist_tjenesteyter"))
KONTAKTFORMER = tuple(r["kontaktform"] for r in read_seed("codelist_kontaktform"))
_TJENESTEYTERE = pl.Series(TJENESTEYTERE)
_KONTAKTFORMER = pl.Series(KONTAKTFORMER)
#: Age bands (lower bounds of the next band) and relative contacts per person-year.
AGE_BREAKS = np.array([5, 18, 45, 67, 80])
CONTACT_RATE = np.array([3.0, 1.6, 2.6, 3.6, 6.0, 8.0])
#: Service mix per age band, columns in TJENESTEYTERE order.
SERVICE_MIX = np.array([
    [0.30, 0.10, 0.55, 0.05, 0.00],
    [0.45, 0.12, 0.25, 0.10, 0.08],
    [0.66, 0.09, 0.03, 0.13, 0.09],
    [0.70, 0.06, 0.01, 0.17, 0.06],
    [0.75, 0.06, 0.00, 0.16, 0.03],
    [0.78, 0.09, 0.00, 0.12, 0.01],
])
#: How digital each service is relative to the national share (normalised to the mix below).
DIGITAL_FACTOR = np.array([1.15, 0.45, 0.5, 0.35, 1.3])
PHONE_FACTOR = np.array([1.0, 1.6, 0.8, 0.4, 1.2])
MAX_DIGITAL = 0.85
#: Services that keep office hours (weekend contacts move to Friday or Monday).
WEEKDAY_ONLY = np.array([True, False, True, True, True])


def kommune_multipliers(n_kommuner: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-kommune digital multiplier, lognormal, population-weighted mean 1."""
    m = rng.lognormal(0.0, DIGITAL_KOMMUNE_SIGMA, n_kommuner)
    return m / np.average(m, weights=weights + 1e-12)


def _alive_days(birth: np.ndarray, year: int) -> tuple[np.ndarray, np.ndarray]:
    jan1, next_jan1 = day_number_of_year(year), day_number_of_year(year + 1)
    first = np.maximum(birth, jan1)
    return first, np.clip(next_jan1 - first, 0, None)


def rate_factors(population: Population, scale: float, years: tuple[int, ...]) -> dict[int, float]:
    """Per-year multiplier on CONTACT_RATE that makes the expected total the calibration."""
    out = {}
    for year in years:
        _, days = _alive_days(population.birth, year)
        band = np.searchsorted(AGE_BREAKS, population.age_on(day_number_of_year(year, 7, 1)), side="right")
        expected = float((CONTACT_RATE[band] * days).sum()) / 365.25
        out[year] = CONTACTS_PER_YEAR[year] * scale / expected if expected else 0.0
    return out


def _national_service_mix(population: Population) -> np.ndarray:
    """Share of contacts per service nationally (so the service factors keep the national share)."""
    band = np.searchsorted(AGE_BREAKS, population.age_on(day_number_of_year(POPULATION_YEAR, 7, 1)), side="right")
    contacts = np.bincount(band, minlength=CONTACT_RATE.size) * CONTACT_RATE
    mix = contacts @ SERVICE_MIX
    return mix / mix.sum()


def contact_chunks(population: Population, geo: Geography, scale: float, seed: int, years: tuple[int, ...]
                   ) -> Iterator[Callable[[], Iterator[tuple[int, pl.DataFrame]]]]:
    """One job per chunk of persons; each yields (year, rows) for every one of ``years``, one at a time.

    Each chunk has its own random stream (seed, chunk), so the output does not depend on
    how the work is scheduled.
    """
    factors = rate_factors(population, scale, years)
    setup = np.random.default_rng([seed, 3, 0])
    national_mix = _national_service_mix(population)
    mix_digital = DIGITAL_FACTOR / float(national_mix @ DIGITAL_FACTOR)
    mix_phone = PHONE_FACTOR / float(national_mix @ PHONE_FACTOR)
    per_kommune = np.bincount(population.kommune, minlength=len(geo.kommuner)).astype(float)
    multiplier = kommune_multipliers(len(geo.kommuner), per_kommune, setup)
    cumulative_mix = np.cumsum(SERVICE_MIX, axis=1)
    for chunk, first in enumerate(range(0, len(population), CHUNK_PERSONS)):
        persons = np.arange(first, min(first + CHUNK_PERSONS, len(population)))

        def job(persons: np.ndarray = persons, chunk: int = chunk) -> Iterator[tuple[int, pl.DataFrame]]:
            rng = np.random.default_rng([seed, 3, chunk + 1])
            for year in years:
                yield year, _contacts(population, geo, persons, year, factors[year], multiplier,
                                      cumulative_mix, mix_digital, mix_phone, rng)

        yield job


def _contacts(population: Population, geo: Geography, persons: np.ndarray, year: int, factor: float,
              multiplier: np.ndarray, cumulative_mix: np.ndarray, mix_digital: np.ndarray,
              mix_phone: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    birth = population.birth[persons]
    first_day, days = _alive_days(birth, year)
    age = population.age_on(day_number_of_year(year, 7, 1))[persons]
    band = np.searchsorted(AGE_BREAKS, age, side="right")
    count = rng.poisson(CONTACT_RATE[band] * factor * days / 365.25)
    row = np.repeat(np.arange(persons.size), count)
    day = first_day[row] + np.floor(rng.random(row.size) * days[row]).astype(np.int64)
    service = (rng.random(row.size)[:, None] > cumulative_mix[band[row]]).sum(axis=1).clip(max=len(TJENESTEYTERE) - 1)
    # 1970-01-01 was a Thursday: weekday = (day + 3) % 7, Monday = 0. Office-hours services
    # move a weekend contact to a random weekday of the same week.
    weekday = (day + 3) % 7
    move = (weekday >= 5) & WEEKDAY_ONLY[service]
    day = np.where(move, day - weekday + rng.integers(0, 5, size=row.size), day)
    day = np.clip(day, first_day[row], day_number_of_year(year + 1) - 1)
    kommune = population.kommune[persons][row]
    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    national = np.asarray(digital_share_by_month(year))[month]
    p_digital = np.minimum(national * multiplier[kommune] * mix_digital[service], MAX_DIGITAL)
    p_phone = np.minimum(PHONE_SHARE[year] * mix_phone[service], 1.0 - p_digital)
    u = rng.random(row.size)
    form = np.where(u < p_digital * VIDEO_OF_DIGITAL[year], 2,
                    np.where(u < p_digital, 3, np.where(u < p_digital + p_phone, 1, 0)))
    # A person has at most one contact per day, service and form: ingestion quarantines exact
    # duplicate rows, and a second identical row carries no information.
    key = ((row * 366 + (day - day_number_of_year(year))) * len(TJENESTEYTERE) + service) * len(KONTAKTFORMER) + form
    keep = np.unique(key, return_index=True)[1]
    row, day, service, form = row[keep], day[keep], service[keep], form[keep]
    order = np.argsort(day, kind="stable")
    row, day, service, form = row[order], day[order], service[order], form[order]
    person = persons[row]
    return pl.DataFrame({
        "fodselsnummer": format_numbers(population.fnr[person]),
        "kommunenummer": geo.code_series.gather(geo.code_ids(population.lineage[person], day)),
        "kontaktdato": pl.Series(day.astype("datetime64[D]")).cast(pl.Date),
        "tjenesteyter": _TJENESTEYTERE.gather(service),
        "kontaktform": _KONTAKTFORMER.gather(form),
    })
