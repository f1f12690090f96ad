"""``vft_mottakere``: welfare-technology services, reproducing the published national series.

Persons in use during each year and on each 31 December equal the calibration exactly
(:mod:`synthetic.careers`). Each recipient has one *base* episode covering their whole period of
use (usually a safety alarm, 6) and may get further technologies: in each year, episodes of
26/27/28 (and 6 for the few without one) are added until each technology's count of recipients
reaches its share of the year's total (:func:`synthetic.calibration.vft_tech_shares`).
Recipients are old: the draw is weighted strongly towards 80+, and 2.5 × towards persons who
also receive care services.

The published 2019 dip is a reporting gap: the extract leaves out the 2019 users whose service
ended that year, first in the 13 merged kommuner, then elsewhere (:func:`unreported_careers`).

``via_vkp`` is true for episodes that start after their kommune took the national hub (VKP)
into use (90 % of them): 72 kommuner by 2024, rolled out from 2021, each with a VKP episode in
every year from its go-live (:func:`every_vkp_kommune_on_the_hub`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from kernel.codelists import read_seed
from synthetic.calibration import (
    VFT_MEAN_YEARS,
    VFT_NEW_TECHS_FROM,
    VFT_REPORTING_GAP_KOMMUNER,
    VFT_REPORTING_GAP_YEAR,
    VFT_STOCK_SHARE,
    VFT_TECHS,
    VKP_EPISODE_SHARE,
    VKP_KOMMUNER_BY_YEAR_END,
    scaled,
    vft_tech_shares,
    vft_unique_recipients,
    vft_users_in_use,
    vft_year_end_recipients,
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
#: Adoption day of a kommune that never takes VKP into use.
NEVER = np.iinfo(np.int64).max


def age_weight(age: np.ndarray) -> np.ndarray:
    return AGE_WEIGHTS[np.searchsorted(AGE_BREAKS, age, side="right")]


def _pick(rng: np.random.Generator, candidates: np.ndarray, preferred: np.ndarray, k: int) -> np.ndarray:
    """``k`` of ``candidates`` (indices), drawn from those ``preferred`` (a mask) first."""
    first = candidates[preferred[candidates]]
    if first.size >= k:
        return rng.choice(first, size=k, replace=False)
    rest = candidates[~preferred[candidates]]
    return np.concatenate([first, rng.choice(rest, size=min(k - first.size, rest.size), replace=False)])


def technology_episodes(careers: Careers, targets: dict[int, int], missing: dict[int, int], rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(career, tjenestetype, start, end) of all episodes: one base episode per career plus additions.

    ``targets`` are the reported recipients per year; ``missing[year]`` users will be left out of
    the extract (:func:`unreported_careers`). Those are alarm-only users whose use ended during the
    year, so the alarm target carries them and, in a gap year, other technologies go to users still
    running on 31 December: each technology's reported count stays the published one.
    """
    n = len(careers)
    shares = vft_tech_shares()
    base = np.full(n, 6, dtype=np.int64)
    decided = np.zeros(n, dtype=bool)
    extra_end = {t: np.full(n, NO_EPISODE) for t in VFT_TECHS}
    added: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
    for year in sorted(targets):
        jan1, dec31 = day_number_of_year(year), day_number_of_year(year + 1) - 1
        active = careers.active_in(year)
        runs_on = careers.running_on_31_december(year) if missing[year] else np.ones(n, dtype=bool)
        want = {t: round(shares[year][t] * targets[year]) + (missing[year] if t == 6 else 0) for t in VFT_TECHS}
        holding = {t: active & ((decided & (base == t)) | (extra_end[t] >= jan1)) for t in VFT_TECHS}
        new = np.flatnonzero(active & ~decided)
        # Careers starting now get a base technology; enough non-alarm bases to match the
        # published number of users without an alarm.
        without_alarm = int(active.sum()) - want[6] - int((active & decided & (base != 6)).sum())
        k = int(np.clip(without_alarm, 0, new.size))
        techs = [26] if year < VFT_NEW_TECHS_FROM else [26, 27, 28]
        gap = np.array([max(want[t] - int(holding[t].sum()), 1) for t in techs], dtype=float)
        picked = _pick(rng, new, runs_on, k)
        base[picked] = rng.choice(techs, size=k, p=gap / gap.sum())
        decided[new] = True
        for t in VFT_TECHS:
            has = active & ((base == t) | (extra_end[t] >= jan1))
            need = want[t] - int(has.sum())
            if need <= 0:
                continue
            candidates = np.flatnonzero(active & ~has)
            chosen = _pick(rng, candidates, runs_on, need)
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


def kommuner_with_users(kommune: np.ndarray, start: np.ndarray, end: np.ndarray, n_kommuner: int,
                        years: range) -> np.ndarray:
    """Per kommune id: true when some episode of the kommune is active in every one of ``years``."""
    out = np.ones(n_kommuner, dtype=bool)
    for year in years:
        active = (start <= day_number_of_year(year + 1) - 1) & (end >= day_number_of_year(year))
        out &= np.bincount(kommune[active], minlength=n_kommuner) > 0
    return out


def split_successors(geo: Geography) -> np.ndarray:
    """Per kommune id: true for the successors of a kommune split later (1507 Ålesund → 1508 Ålesund
    and 1580 Haram in 2024). The marts allocate a person under the old code to one successor at
    random, so a VKP episode there could count both kommuner: they are not drawn for VKP."""
    split = {r["kommunenummer_2024"] for r in read_seed("kommune_crosswalk_to_2024") if int(r["n_targets"]) > 1}
    return np.array([k in split for k in geo.kommuner])


def vkp_adoption_days(population: Population, geo: Geography, rng: np.random.Generator,
                      eligible: np.ndarray) -> np.ndarray:
    """Day each 2024 kommune took VKP into use (:data:`NEVER` for the others).

    Kommuner are drawn in waves, larger ones more likely early (weight √population), among the
    ``eligible`` ones first (kommuner with users in every roll-out year, so that the number of
    VKP kommuner is the calibration at any scale where enough kommuner have users).
    """
    days = np.full(len(geo.kommuner), NEVER, dtype=np.int64)
    size = np.bincount(population.kommune, minlength=len(geo.kommuner)).astype(float) + 1.0
    weight = np.sqrt(size) * np.where(eligible, 1.0, 1e-12)  # the others only at a tiny scale
    keys = rng.exponential(size=weight.size) / weight
    order = np.argsort(keys, kind="stable")
    done = 0
    for year, total in sorted(VKP_KOMMUNER_BY_YEAR_END.items()):
        wave = order[done:total]
        jan1, next_jan1 = day_number_of_year(year), day_number_of_year(year + 1)
        days[wave] = jan1 + np.floor(rng.random(wave.size) * (next_jan1 - jan1)).astype(np.int64)
        done = total
    return days


def gap_kommuner(population: Population, geo: Geography) -> np.ndarray:
    """Ids of the kommuner that did not report in the gap year: the most populous of those formed by
    the mergers of the next 1 January (weight: persons, as recipients follow the population)."""
    on = f"{VFT_REPORTING_GAP_YEAR + 1}-01-01"
    merged_into: dict[str, int] = {}
    for r in read_seed("kommune_changes"):
        if r["change_date"] == on and r["code_changed"] == "true":
            merged_into[r["new_kommunenummer"]] = merged_into.get(r["new_kommunenummer"], 0) + 1
    merged = {code for code, n in merged_into.items() if n > 1}
    to_2024 = {r["source_kommunenummer"]: r["kommunenummer_2024"] for r in read_seed("kommune_crosswalk_to_2024")
               if r["source_year"] == str(VFT_REPORTING_GAP_YEAR + 1)}
    k_id = {k: i for i, k in enumerate(geo.kommuner)}
    ids = np.array(sorted({k_id[to_2024[c]] for c in merged if to_2024.get(c) in k_id}), dtype=np.int64)
    size = np.bincount(population.kommune, minlength=len(geo.kommuner))[ids]
    return ids[np.argsort(-size, kind="stable")[:VFT_REPORTING_GAP_KOMMUNER]]


def unreported_careers(careers: Careers, episodes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                       kommune: np.ndarray, gap_ids: np.ndarray, missing: int, rng: np.random.Generator
                       ) -> np.ndarray:
    """Careers whose gap-year use the extract leaves out: ``missing`` alarm-only users whose use
    ended during the gap year, first in the non-reporting merged kommuner, then elsewhere
    (under-reporting after EPR changes). Their 31 December stock is unaffected by construction."""
    year = VFT_REPORTING_GAP_YEAR
    jan1, dec31 = day_number_of_year(year), day_number_of_year(year + 1) - 1
    career, tech, start, end = episodes
    other_tech = np.zeros(len(careers), dtype=bool)
    other_tech[career[(tech != 6) & (start <= dec31) & (end >= jan1)]] = True
    ended = careers.active_in(year) & ~careers.running_on_31_december(year) & ~other_tech
    return _pick(rng, np.flatnonzero(ended), np.isin(kommune, gap_ids), missing)


def leave_out(episodes: tuple[np.ndarray, ...], unreported: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cut the unreported careers' episodes at the end of the year before the gap (their earlier
    use was reported); episodes starting in the gap year are dropped."""
    career, tech, start, end = episodes[:4]
    gap_start = day_number_of_year(VFT_REPORTING_GAP_YEAR)
    hit = np.isin(career, unreported)
    end = np.where(hit & (end >= gap_start), gap_start - 1, end)
    keep = ~hit | (start < gap_start)
    return tuple(a[keep] for a in (career, tech, start, end, *episodes[4:]))


def every_vkp_kommune_on_the_hub(kommune: np.ndarray, episodes: tuple[np.ndarray, ...], via: np.ndarray,
                                 adoption: np.ndarray, last_year: int) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Each VKP kommune has a VKP episode in every year from its go-live, at any scale.

    At a small scale a kommune may start no new episode in a year; then one running episode is
    moved onto the hub (the one running longest): it ends the day before and continues, same person
    and technology, via VKP from that day. Counts of persons (per year, on 31 December, per technology) do not change.
    """
    career, tech, start, end = (a.copy() for a in episodes)
    kommune, via = kommune.copy(), via.copy()
    for k in np.flatnonzero(adoption < NEVER):
        go_live = int(adoption[k])
        for year in range(_year_of(go_live), last_year + 1):
            jan1, dec31 = day_number_of_year(year), day_number_of_year(year + 1) - 1
            in_k = kommune == k
            if (in_k & via & (start <= dec31) & (end >= jan1)).any():
                continue
            low = max(go_live, jan1)
            running = np.flatnonzero(in_k & ~via & (start < dec31) & (end > start) & (end >= low))
            if running.size == 0:
                continue  # no user in this kommune at this scale
            e = running[np.argmax(end[running])]
            split = max(low, int(start[e]) + 1)
            career, tech, start, end, kommune = (np.append(a, v) for a, v in (
                (career, career[e]), (tech, tech[e]), (start, split), (end, end[e]), (kommune, k)))
            via = np.append(via, True)
            end[e] = split - 1
    return (career, tech, start, end, kommune), via


def _year_of(day: int) -> int:
    return int(np.datetime64(day, "D").astype("datetime64[Y]").astype(np.int64)) + 1970


def vft_frame(population: Population, geo: Geography, scale: float, rng: np.random.Generator,
              care_recipient: np.ndarray, years: tuple[int, ...]) -> pl.DataFrame:
    """All vft_mottakere rows of ``years`` (small enough to hold: ~0.5 M rows at scale 1).

    Persons in use and on 31 December follow the calibration exactly; the extract then leaves
    out the gap year's unreported users, so the distinct recipients per year are the published
    (reported) series.
    """
    def calibration(series: dict[int, int]) -> dict[int, int]:
        return scaled({y: series[y] for y in years}, scale)

    reported, in_use = calibration(vft_unique_recipients()), calibration(vft_users_in_use())
    careers = calibrated_careers(in_use, VFT_MEAN_YEARS, VFT_STOCK_SHARE, rng, calibration(vft_year_end_recipients()))
    boost = np.where(care_recipient, CARE_RECIPIENT_BOOST, 1.0)
    person = assign_persons(careers, population, age_weight, rng, boost=boost)
    gap = {y: in_use[y] - reported[y] for y in years}
    episodes = technology_episodes(careers, reported, gap, rng)
    unreported = unreported_careers(careers, episodes, population.kommune[person], gap_kommuner(population, geo),
                                    gap.get(VFT_REPORTING_GAP_YEAR, 0), rng)
    career, tech, start, end = leave_out(episodes, unreported)
    kommune = population.kommune[person[career]]
    first_vkp_year = min(VKP_KOMMUNER_BY_YEAR_END)
    eligible = kommuner_with_users(kommune, start, end, len(geo.kommuner), range(first_vkp_year, years[-1] + 1))
    eligible &= ~split_successors(geo)
    adoption = vkp_adoption_days(population, geo, rng, eligible)
    via = (adoption[kommune] <= start) & (rng.random(start.size) < VKP_EPISODE_SHARE)
    (career, tech, start, end, _), via = every_vkp_kommune_on_the_hub(kommune, (career, tech, start, end), via,
                                                                      adoption, years[-1])
    return episode_frame(population, geo, person[career], tech, start, end, years[-1],
                         extra={"via_vkp": via}).drop("_kommune")
