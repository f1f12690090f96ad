"""``vft_mottakere``: welfare-technology services, calibrated to the national series.

Distinct recipients per year equal the calibration exactly (:mod:`synthetic.careers`). Each
recipient has one *base* episode covering their whole period of use (usually a safety alarm,
6) and may get further technologies: in each year, episodes of 26/27/28 (and 6 for the few
without one) are added until each technology's count of recipients reaches its share of the
year's total (:func:`synthetic.calibration.vft_tech_shares`). Recipients are old: the draw is
weighted strongly towards 80+, and 2.5 × towards persons who also receive care services.

``via_vkp`` is true for episodes that start after their kommune took the national hub (VKP)
into use (90 % of them): 72 kommuner by 2024, rolled out from 2021.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic.calibration import (
    VFT_MEAN_YEARS, VFT_NEW_TECHS_FROM, VFT_STOCK_SHARE, VFT_TECHS, VKP_EPISODE_SHARE,
    VKP_KOMMUNER_BY_YEAR_END, YEARS, scaled, vft_tech_shares, vft_unique_recipients,
)
from synthetic.careers import Careers, assign_persons, calibrated_careers
from synthetic.episodes import episode_frame
from synthetic.geography import Geography
from synthetic.population import Population, day_number_of_year

#: Relative chance per inhabitant of becoming a user, by age (*synthetic assumption*).
AGE_BREAKS = np.array([50, 67, 75, 80, 85, 90])
AGE_WEIGHTS = np.array([0.0005, 0.004, 0.03, 0.07, 0.16, 0.30, 0.45])
#: Extra chance for persons who also receive care services.
CARE_RECIPIENT_BOOST = 2.5
#: Share of added technologies that end before the base episode.
EARLY_END_SHARE = 0.25
EARLY_END_MEAN_DAYS = 365.0
NO_EPISODE = np.iinfo(np.int64).min


def age_weight(age: np.ndarray) -> np.ndarray:
    return AGE_WEIGHTS[np.searchsorted(AGE_BREAKS, age, side="right")]


def technology_episodes(careers: Careers, targets: dict[int, int], rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(career, tjenestetype, start, end) of all episodes: one base episode per career plus additions."""
    n = len(careers)
    shares = vft_tech_shares()
    base = np.full(n, 6, dtype=np.int64)
    decided = np.zeros(n, dtype=bool)
    extra_end = {t: np.full(n, NO_EPISODE) for t in VFT_TECHS}
    added: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
    for year in YEARS:
        jan1, dec31 = day_number_of_year(year), day_number_of_year(year + 1) - 1
        active = careers.active_in(year)
        want = {t: round(shares[year][t] * targets[year]) for t in VFT_TECHS}
        holding = {t: active & ((decided & (base == t)) | (extra_end[t] >= jan1)) for t in VFT_TECHS}
        new = np.flatnonzero(active & ~decided)
        # Careers starting now get a base technology; enough non-alarm bases to match the
        # published number of users without an alarm.
        without_alarm = int(active.sum()) - want[6] - int((active & decided & (base != 6)).sum())
        k = int(np.clip(without_alarm, 0, new.size))
        techs = [26] if year < VFT_NEW_TECHS_FROM else [26, 27, 28]
        gap = np.array([max(want[t] - int(holding[t].sum()), 1) for t in techs], dtype=float)
        picked = rng.choice(new, size=k, replace=False)
        base[picked] = rng.choice(techs, size=k, p=gap / gap.sum())
        decided[new] = True
        for t in VFT_TECHS:
            has = active & ((base == t) | (extra_end[t] >= jan1))
            need = want[t] - int(has.sum())
            if need <= 0:
                continue
            candidates = np.flatnonzero(active & ~has)
            chosen = rng.choice(candidates, size=min(need, candidates.size), replace=False)
            low = np.maximum(careers.start[chosen], jan1)
            high = np.minimum(careers.end[chosen], dec31)
            start = low + np.floor(rng.random(chosen.size) * (high - low + 1)).astype(np.int64)
            end = careers.end[chosen].copy()
            early = start + np.floor(rng.exponential(EARLY_END_MEAN_DAYS, chosen.size)).astype(np.int64)
            shorten = (rng.random(chosen.size) < EARLY_END_SHARE) & (early < end)
            end[shorten] = early[shorten]
            extra_end[t][chosen] = end
            added.append((chosen, t, start, end))
    career = np.concatenate([np.arange(n)] + [a[0] for a in added])
    tech = np.concatenate([base] + [np.full(a[0].size, a[1]) for a in added])
    start = np.concatenate([careers.start] + [a[2] for a in added])
    end = np.concatenate([careers.end] + [a[3] for a in added])
    return career, tech, start, end


def vkp_adoption_days(population: Population, geo: Geography, rng: np.random.Generator) -> np.ndarray:
    """Day each 2024 kommune took VKP into use (a far-future day for the others).

    Kommuner are drawn in waves, larger ones more likely early (weight √population).
    """
    never = np.iinfo(np.int64).max
    days = np.full(len(geo.kommuner), never, dtype=np.int64)
    size = np.bincount(population.kommune, minlength=len(geo.kommuner)).astype(float) + 1.0
    weight = np.sqrt(size)
    keys = rng.exponential(size=weight.size) / weight
    order = np.argsort(keys, kind="stable")
    done = 0
    for year, total in sorted(VKP_KOMMUNER_BY_YEAR_END.items()):
        wave = order[done:total]
        jan1, next_jan1 = day_number_of_year(year), day_number_of_year(year + 1)
        days[wave] = jan1 + np.floor(rng.random(wave.size) * (next_jan1 - jan1)).astype(np.int64)
        done = total
    return days


def vft_frame(population: Population, geo: Geography, scale: float, rng: np.random.Generator,
              care_recipient: np.ndarray) -> pl.DataFrame:
    """All vft_mottakere rows (small enough to hold: ~0.5 M rows at scale 1)."""
    targets = scaled(vft_unique_recipients(), scale)
    careers = calibrated_careers(targets, VFT_MEAN_YEARS, VFT_STOCK_SHARE, rng)
    boost = np.where(care_recipient, CARE_RECIPIENT_BOOST, 1.0)
    person = assign_persons(careers, population, age_weight, rng, boost=boost)
    career, tech, start, end = technology_episodes(careers, targets, rng)
    frame = episode_frame(population, geo, person[career], tech, start, end)
    adoption = vkp_adoption_days(population, geo, rng)
    start_day = frame["startdato"].to_numpy().astype("datetime64[D]").astype(np.int64)
    via = (adoption[frame["_kommune"].to_numpy()] <= start_day) & (rng.random(frame.height) < VKP_EPISODE_SHARE)
    return frame.with_columns(via_vkp=pl.Series(via)).drop("_kommune")
