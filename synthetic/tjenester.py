"""``kpr_tjenester``: care-service episodes, calibrated to KPR's recipients per year.

Distinct persons with an episode active in a year equal the published number of recipients of
municipal health and care services (scaled). Each recipient has a *base* service covering
their period as a recipient, chosen by age (home nursing 15 and practical help 1 for the old;
støttekontakt 9, relief care 7, care allowance 11 for children and younger adults …). On top:
practical help alongside home nursing, short stays (18/19/20), municipal acute beds (25), and
for many of the old a long-term nursing-home stay (21) that ends their period.
All shares are *synthetic assumptions* chosen to look like KPR's published mix.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic.calibration import CARE_MEAN_YEARS, CARE_RECIPIENTS, CARE_STOCK_SHARE, scaled
from synthetic.careers import Careers, assign_persons, calibrated_careers
from synthetic.episodes import episode_frame
from synthetic.geography import Geography
from synthetic.population import Population

#: Relative chance per inhabitant of becoming a recipient, by age.
AGE_BREAKS = np.array([18, 50, 67, 75, 80, 85, 90])
AGE_WEIGHTS = np.array([0.012, 0.025, 0.04, 0.08, 0.15, 0.30, 0.50, 0.70])

#: Base service by age group (0–17, 18–66, 67–79, 80+): (codes, probabilities).
BASE_SERVICE: tuple[tuple[tuple[int, ...], tuple[float, ...]], ...] = (
    ((9, 7, 11, 15, 4), (0.30, 0.30, 0.20, 0.15, 0.05)),
    ((15, 1, 9, 29, 4, 3), (0.42, 0.20, 0.13, 0.10, 0.10, 0.05)),
    ((15, 1, 5, 4), (0.60, 0.28, 0.07, 0.05)),
    ((15, 1, 5, 17), (0.66, 0.27, 0.04, 0.03)),
)
BASE_AGE_BREAKS = np.array([18, 67, 80])
#: Chance that a period ends with a long-term nursing-home stay, by the same age groups.
NURSING_HOME_SHARE = np.array([0.0, 0.01, 0.15, 0.35])
NURSING_HOME_MIN_DAYS, NURSING_HOME_MAX_DAYS = 60, 550
PRACTICAL_HELP_SHARE = 0.30  # extra practical help (1) with home nursing (15)
SHORT_STAY_SHARE = np.array([0.02, 0.05, 0.25, 0.35])  # a 2–6 week stay (18/19/20)
SHORT_STAY_TYPES, SHORT_STAY_P = (18, 19, 20), (0.35, 0.45, 0.20)
ACUTE_BED_SHARE = 0.04  # a 1–4 day municipal acute bed (25) among 67+


def age_weight(age: np.ndarray) -> np.ndarray:
    return AGE_WEIGHTS[np.searchsorted(AGE_BREAKS, age, side="right")]


def care_episodes(careers: Careers, age: np.ndarray, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(career, tjenestetype, start, end) for careers whose holders have ``age`` at the start."""
    n = len(careers)
    group = np.searchsorted(BASE_AGE_BREAKS, age, side="right")
    base = np.empty(n, dtype=np.int64)
    for g, (codes, p) in enumerate(BASE_SERVICE):
        mask = group == g
        base[mask] = rng.choice(codes, size=int(mask.sum()), p=p)
    length = careers.end - careers.start
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    # A nursing-home stay ends the period; the base service ends the day before it starts.
    nh = (rng.random(n) < NURSING_HOME_SHARE[group]) & (length > NURSING_HOME_MIN_DAYS)
    nh_len = rng.integers(NURSING_HOME_MIN_DAYS, NURSING_HOME_MAX_DAYS, size=n)
    nh_start = np.maximum(careers.end - nh_len, careers.start + NURSING_HOME_MIN_DAYS // 2)
    base_end = np.where(nh, nh_start - 1, careers.end)
    idx = np.arange(n)
    parts.append((idx, base, careers.start, base_end))
    parts.append((idx[nh], np.full(int(nh.sum()), 21), nh_start[nh], careers.end[nh]))
    # Practical help alongside home nursing, from some time into the period.
    ph = (base == 15) & (rng.random(n) < PRACTICAL_HELP_SHARE)
    ph_start = careers.start + np.floor(rng.random(n) * np.minimum(length, 365)).astype(np.int64)
    parts.append((idx[ph], np.full(int(ph.sum()), 1), ph_start[ph], base_end[ph].clip(min=ph_start[ph])))
    # Short stays and acute beds somewhere inside the period.
    for share, codes, p, low, high in (
        (SHORT_STAY_SHARE[group], SHORT_STAY_TYPES, SHORT_STAY_P, 14, 43),
        (np.where(group >= 2, ACUTE_BED_SHARE, 0.0), (25,), (1.0,), 1, 5),
    ):
        pick = idx[rng.random(n) < share]
        start = careers.start[pick] + np.floor(rng.random(pick.size) * (length[pick] + 1)).astype(np.int64)
        end = np.minimum(start + rng.integers(low, high, size=pick.size) - 1, careers.end[pick])
        parts.append((pick, rng.choice(codes, size=pick.size, p=p), start, end))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))  # type: ignore[return-value]


def care_frame(population: Population, geo: Geography, scale: float, rng: np.random.Generator,
               years: tuple[int, ...]) -> tuple[pl.DataFrame, np.ndarray]:
    """All kpr_tjenester rows of ``years``, and a per-person flag "received care at some time"."""
    targets = scaled({y: CARE_RECIPIENTS[y] for y in years}, scale)
    careers = calibrated_careers(targets, CARE_MEAN_YEARS, CARE_STOCK_SHARE, rng)
    person = assign_persons(careers, population, age_weight, rng)
    age = np.floor((careers.start - population.birth[person]) / 365.25).astype(np.int64)
    career, code, start, end = care_episodes(careers, age, rng)
    recipient = np.zeros(len(population), dtype=bool)
    recipient[person] = True
    return episode_frame(population, geo, person[career], code, start, end, years[-1]).drop("_kommune"), recipient
