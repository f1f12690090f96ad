"""``registry_reporting``: monthly deliveries per reporting unit to each health registry.

Registries whose reporting unit is a kommune report from every kommune with the code valid on
the month's first day; the others from 20–60 synthetic organisations (nine-digit numbers with
a valid mod-11 check digit, beginning with 3 so they look like test-environment numbers rather
than real ones, which begin with 8 or 9). This source is aggregate, so it does not scale with
``--scale``.

Each unit has a profile (*synthetic assumptions*): registries fed automatically and near real
time (NPR, KPR, LMR, SYSVAK, MSIS) are ~100 % digital and ~99 % on time; the others start lower
and improve year by year, some units stay late or below 95 % digital, and some months miss
deliveries. By construction ``0 ≤ mottatt_innen_frist ≤ mottatt``, ``0 ≤ mottatt_digitalt ≤
mottatt`` and ``mottatt ≤ forventet``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from ingestion.orgnr import check_digit
from kernel.codelists import read_seed
from kernel.kommuner import version_index, versions
from synthetic.calibration import YEARS
from synthetic.geography import Geography

#: Registries fed automatically, near real time.
AUTOMATED = frozenset({"NPR", "KPR", "LMR", "SYSVAK", "MSIS"})
#: Expected deliveries per 10 000 inhabitants per month, kommune registries.
PER_10K_PER_MONTH = {"KPR": 25.0, "DAR": 6.5, "SYSVAK": 60.0, "MSIS": 4.0}
ORG_UNITS_MIN, ORG_UNITS_MAX = 20, 60
ORG_VOLUME_MEDIAN, ORG_VOLUME_SIGMA = 300.0, 1.0
#: Yearly factor on the shortfall (1 − rate) for improving units, and for laggards.
IMPROVEMENT, LAGGARD_IMPROVEMENT = 0.80, 0.97
LAGGARD_SHARE = 0.12


@dataclass(frozen=True)
class Profile:
    digital: tuple[float, float]  # range of a unit's digital share in the first year
    on_time: tuple[float, float]
    gap_months: tuple[float, float]  # range of a unit's chance per month of missing deliveries


PROFILES = {
    True: Profile(digital=(0.985, 0.999), on_time=(0.97, 0.995), gap_months=(0.0, 0.004)),
    False: Profile(digital=(0.55, 0.97), on_time=(0.55, 0.95), gap_months=(0.005, 0.06)),
}


def months() -> list[dt.date]:
    return [dt.date(y, m, 1) for y in YEARS for m in range(1, 13)]


def organisation_numbers(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct synthetic organisation numbers (3 + 7 random digits + check digit)."""
    out: list[str] = []
    while len(out) < n:
        first_eight = f"3{int(rng.integers(0, 10_000_000)):07d}"
        check = check_digit(first_eight)
        if check is not None and f"{first_eight}{check}" not in out:
            out.append(f"{first_eight}{check}")
    return out


def code_population(geo: Geography) -> dict[tuple[int, str], float]:
    """Inhabitants per (version, code), from the 2024 population split along the lineages."""
    rows = read_seed("population_kommune")
    pop = {r["kommunenummer"]: float(r["pop_total"]) for r in rows if r["year"] == "2024"}
    out: dict[tuple[int, str], float] = {}
    for lineage in range(geo.lineage_codes.shape[0]):
        people = pop[geo.kommuner[geo.lineage_kommune[lineage]]] * geo.lineage_weight[lineage]
        for v, code_id in enumerate(geo.lineage_codes[lineage]):
            key = (v, str(geo.codes[code_id]))
            out[key] = out.get(key, 0.0) + people
    return out


def _rates(start: np.ndarray, laggard: np.ndarray, years_in: np.ndarray) -> np.ndarray:
    factor = np.where(laggard, LAGGARD_IMPROVEMENT, IMPROVEMENT) ** years_in
    return 1.0 - (1.0 - start) * factor


def registry_frame(geo: Geography, seed: int) -> pl.DataFrame:
    """All registry_reporting rows, 2017-01 … 2024-12."""
    frames = []
    population = code_population(geo)
    all_months = months()
    for r_index, reg in enumerate(read_seed("codelist_register")):
        rng = np.random.default_rng([seed, 4, r_index])
        register = reg["register"]
        automated = register in AUTOMATED
        if reg["rapporteringsenhet_type"] == "kommunenummer":
            units = sorted({c for v in versions() for c in v.codes})
            grid = [(u, m) for m in all_months for u in sorted(versions()[version_index(m)].codes)]
            volume = {u: 0.0 for u in units}
            for (_, code), people in population.items():
                volume[code] = max(volume[code], people * PER_10K_PER_MONTH[register] / 10_000)
        else:
            units = organisation_numbers(int(rng.integers(ORG_UNITS_MIN, ORG_UNITS_MAX + 1)), rng)
            grid = [(u, m) for m in all_months for u in units]
            volume = dict(zip(units, rng.lognormal(np.log(ORG_VOLUME_MEDIAN), ORG_VOLUME_SIGMA, len(units))))
        frames.append(_unit_months(register, automated, units, grid, volume, rng))
    return pl.concat(frames)


def _unit_months(register: str, automated: bool, units: list[str], grid: list[tuple[str, dt.date]],
                 volume: dict[str, float], rng: np.random.Generator) -> pl.DataFrame:
    profile = PROFILES[automated]
    n_units = len(units)
    uid = {u: i for i, u in enumerate(units)}
    digital0 = rng.uniform(*profile.digital, n_units)
    on_time0 = rng.uniform(*profile.on_time, n_units)
    gap_p = rng.uniform(*profile.gap_months, n_units)
    laggard = (rng.random(n_units) < LAGGARD_SHARE) & (not automated)
    on_time0 = np.where(laggard, on_time0 * 0.6, on_time0)
    unit = np.array([uid[u] for u, _ in grid])
    years_in = np.array([m.year - YEARS[0] + (m.month - 1) / 12 for _, m in grid])
    base = np.array([volume[u] for u, _ in grid])
    forventet = 1 + rng.poisson(base)
    gap = rng.random(unit.size) < gap_p[unit] * IMPROVEMENT ** years_in
    missing = np.where(gap, rng.binomial(forventet, rng.uniform(0.2, 1.0, unit.size)), 0)
    mottatt = forventet - missing
    digital = rng.binomial(mottatt, _rates(digital0[unit], laggard[unit], years_in))
    on_time = rng.binomial(mottatt, _rates(on_time0[unit], laggard[unit], years_in))
    return pl.DataFrame({
        "register": [register] * unit.size,
        "rapporteringsenhet": [u for u, _ in grid],
        "periode": [m.strftime("%Y-%m") for _, m in grid],
        "forventet": forventet.astype(np.int64),
        "mottatt": mottatt.astype(np.int64),
        "mottatt_digitalt": digital.astype(np.int64),
        "mottatt_innen_frist": on_time.astype(np.int64),
    })
